/**
 * Every error the signaling service sends is `{type:"error", code, message, ref}`; `ref` names the request that
 * caused it when the request carried one. Codes are a closed set so that clients can switch on them.
 */
export const ERROR_CODES = [
  'bad_json', // the frame is not JSON
  'bad_message', // JSON, but fields are missing or of the wrong type
  'unknown_type', // a `type` this version does not know
  'frame_too_large', // the frame exceeds the service's message size limit
  'rate_limited', // the connection sent faster than its token bucket allows
  'unauthenticated', // a message other than authenticate before authentication
  'already_authenticated',
  'auth_timeout', // no authenticate within the deadline
  'token_expired',
  'token_invalid', // forged, malformed, wrong issuer/audience/algorithm
  'wrong_role', // e.g. a robot message from an app connection
  'forbidden', // the token does not grant this robot
  'robot_offline', // no such robot endpoint is registered
  'unknown_session', // the session does not exist or is not this connection's
  'session_limit', // too many open sessions for this app
  'replaced', // another connection registered the same robot endpoint
  'shutting_down', // the instance is draining
  'unavailable', // the service cannot reach its shared store (Redis) for this request; retry shortly
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** WebSocket close codes (4000-4999 are the application's). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ServiceRestart: 1012,
  /** A client closes in order to reconnect at once (goaway, keepalive timeout): its sessions stay. */
  Reconnecting: 4000,
  BadRequest: 4400,
  Unauthorized: 4401,
  Forbidden: 4403,
  AuthTimeout: 4408,
  Replaced: 4409,
  TooManyRequests: 4429,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** The reasons clients before `CloseCode.Reconnecting` gave when they closed to reconnect. */
const LEGACY_RECONNECT_REASONS = new Set(['goaway', 'keepalive timeout']);

/**
 * Whether a client's close says it is done for good: 1000, or 1001 (what a browser sends when its page goes away).
 * An app's sessions then end at once, where a dropped connection (1006) or a reconnect leaves them running
 * (media needs no signaling) until the app is back or their path dies. docs/protocol.md "Leaving".
 */
export function closedForGood(code: number, reason: string): boolean {
  return (code === CloseCode.Normal || code === CloseCode.GoingAway) && !LEGACY_RECONNECT_REASONS.has(reason);
}
