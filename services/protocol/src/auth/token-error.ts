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
