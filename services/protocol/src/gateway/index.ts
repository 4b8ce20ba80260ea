/** The gateway envelope (v1): schemas, types, error codes and validating decoders. See docs/gateway.md. */
export * from './common.js';
export * from './errors.js';
export * from './messages.js';
export * from './codec.js';
export * from './tap.js';
export * from './voice.js';
export * from './chunk-frame.js';
export * from './chunk-writer.js';
export * from './chunk-reassembler.js';
export * from './chunked-sender.js';
export * from './large-message-link.js';
