/**
 * Every error the gateway sends is `{v:1, type:"error", code, message, ref?}`; `ref` names the command or request
 * that caused it. Codes are a closed set so that apps and services can switch on them. Codes shared with the
 * signaling protocol keep the same spelling and meaning.
 */
export const GATEWAY_ERROR_CODES = [
  'bad_json', // the frame is not JSON
  'bad_message', // JSON, but fields are missing or of the wrong type
  'unknown_type', // a `type` this envelope version does not know (or not allowed on this side)
  'frame_too_large', // the frame exceeds the gateway's max frame size
  'message_too_large', // a chunked message declares more bytes than its service accepts (checked at its first chunk)
  'incomplete_message', // a chunked message stopped arriving before its last chunk: dropped after the idle timeout
  'unauthenticated', // an app message other than auth before authentication
  'already_authenticated',
  'auth_timeout', // no auth within the deadline
  'token_expired',
  'token_invalid', // forged, malformed, wrong issuer/audience/algorithm
  'wrong_role', // e.g. a robot token on the app side
  'forbidden', // the app token does not grant this robot, or not the grant the action needs (drive, supervise)
  'hello_required', // a service sent something before its hello
  'already_registered', // a service sent a second hello
  'service_taken', // another connected program already uses this service name
  'unknown_service', // no program ever registered this service name
  'service_down', // the service registered before but is disconnected now
  'unknown_link', // a service addressed an app link that is gone
  'not_operator', // a command or lock release from a link that does not hold the control lock
  'lock_held', // lock.take while another link holds it (use lock.takeover)
  'queue_full', // a reliable message could not be queued for its destination: it was NOT delivered
  'shutting_down', // the gateway is stopping
  'internal',
] as const;
export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[number];

/** WebSocket close codes the gateway uses (4000-4999 are the application's; same numbers as signaling). */
export const GatewayCloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  Unauthorized: 4401,
  Forbidden: 4403,
  AuthTimeout: 4408,
  Replaced: 4409,
} as const;
export type GatewayCloseCode = (typeof GatewayCloseCode)[keyof typeof GatewayCloseCode];
