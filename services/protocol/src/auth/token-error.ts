/** Why a token was refused. `code` is one of the protocol's error codes. */
export type TokenErrorCode = 'token_expired' | 'token_invalid' | 'wrong_role';

export class TokenError extends Error {
  constructor(
    readonly code: TokenErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TokenError';
  }
}

export interface TokenRefusal {
  code: TokenErrorCode;
  message: string;
}

/**
 * The one mapping from a failed verification to the code the client is told: a TokenError keeps its own; anything
 * else thrown while verifying (a key or library error) counts as an invalid token.
 */
export function tokenRefusal(err: unknown): TokenRefusal {
  return {
    code: err instanceof TokenError ? err.code : 'token_invalid',
    message: err instanceof Error ? err.message : 'invalid token',
  };
}
