/** The signaling service as a library: robots embed it for direct (LAN) mode; tests and benchmarks start it. */
export { buildSignalingServer, type SignalingServer, type BuildOptions } from './app.js';
export { loadConfig, ConfigError, type Config, type TurnConfig } from './config/config.js';
export { turnRestCredential, type TurnCredential } from './turn/credentials.js';
