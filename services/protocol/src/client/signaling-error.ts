import type { ErrorCode } from '../errors.js';

/** A typed error from the service (or from the client when the connection is not usable). */
export class SignalingError extends Error {
  constructor(
    readonly code: ErrorCode | 'not_connected' | 'timeout' | 'closed',
    message: string,
    readonly ref?: string,
  ) {
    super(message);
    this.name = 'SignalingError';
  }
}
