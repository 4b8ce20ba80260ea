import type { ErrorCode } from '../errors.js';

/**
 * Codes the client itself raises, never sent by the service: the connection is not usable, a reply did not come,
 * or the other side of a session went away before it was accepted.
 */
export type ClientErrorCode = 'not_connected' | 'timeout' | 'closed' | 'peer_gone';

/** A typed error from the service (or from the client when the connection is not usable). */
export class SignalingError extends Error {
  constructor(
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    readonly ref?: string,
  ) {
    super(message);
    this.name = 'SignalingError';
  }
}
