export {
  ServiceClient,
  type ServiceClientOptions,
  type ServiceClientEvents,
  type CommandHandler,
} from './service-client.js';
export { DirectAppClient, GatewayError, type DirectAppClientOptions } from './app-client.js';
