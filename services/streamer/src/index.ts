// Public surface of the streamer's media core (no signaling): what the signaling layer and tests import.
export { loadConfig, defaultConfig, ConfigError, type StreamerConfig } from './config.js';
export {
  StreamerCore,
  NoMatchingCodecError,
  type ViewerOptions,
  type CoreSnapshot,
  type StreamerCoreDeps,
} from './core/streamer-core.js';
export { ViewerSession, type ViewerStats, type MediaBinding } from './core/viewer-session.js';
export { ThreadPoolTooSmallError } from './core/thread-budget.js';
export { detectEncoders, EncoderUnavailableError, type EncoderDetection } from './media/encoders.js';
export type {
  IceCandidateInit,
  PeerConnectionState,
  PeerSession,
  PeerSessionFactory,
} from './transport/peer-session.js';
