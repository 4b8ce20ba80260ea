export * from './signaling-client.js';
export * from './signaling-error.js';
export * from './backoff.js';
export * from './typed-emitter.js';
export * from './robot-endpoint.js';
export * from './robot-session.js';
export * from './receiver-rtt-sdp.js';
export * from './offer-check.js';
