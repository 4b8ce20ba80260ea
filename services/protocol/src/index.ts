export * from './version.js';
export * from './errors.js';
export * from './messages/common.js';
export * from './validate.js';
export * from './json-depth.js';
export * from './url-host.js';
export {
  CLIENT_MESSAGE_SCHEMAS,
  SESSION_RELAY_TYPES,
  type ClientMessage,
  type ClientMessageOf,
  type ClientMessageType,
  type SessionRelayMessage,
  type SessionRelayType,
} from './messages/client-messages.js';
export {
  SERVER_MESSAGE_SCHEMAS,
  type ServerMessage,
  type ServerMessageOf,
  type ServerMessageType,
} from './messages/server-messages.js';
