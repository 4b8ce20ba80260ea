/**
 * The signaling service as a library: robots embed it for direct (LAN) mode; tests and benchmarks start it.
 * Everything here is typed: configuration from code is SignalingServerOptions, from the environment loadConfig().
 */
export { createSignalingServer, type SignalingServer } from './server.js';
export {
  loadConfig,
  ConfigError,
  DEFAULT_SETTINGS,
  type Config,
  type Limits,
  type SignalingServerOptions,
  type TurnConfig,
} from './config/config.js';
export { turnRestCredential, type TurnCredential } from './turn/credentials.js';
