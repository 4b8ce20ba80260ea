export {
  ServiceClient,
  type ServiceClientOptions,
  type ServiceClientEvents,
  type CommandHandler,
} from './service-client.js';
export { DirectAppClient, GatewayError, type DirectAppClientOptions } from './app-client.js';
export {
  VelocityGuard,
  type VelocityGuardOptions,
  type Velocity,
  type VelocityVerdict,
} from './velocity-guard.js';
