import { errors as joseErrors, jwtVerify, type CryptoKey, type KeyObject } from 'jose';
import { ID_PATTERN, DEFAULT_AUDIENCE, DEFAULT_ISSUER, type Role, type TokenClaims } from './claims.js';
import { appGrantsOf } from './grants.js';
import { TokenError } from './token-error.js';

export type VerifyKey = CryptoKey | KeyObject;

export interface VerifyOptions {
  issuer?: string;
  audience?: string;
  /** Refuse tokens of any other role. */
  role?: Role;
  /** Seconds of clock skew tolerated. */
  clockToleranceSec?: number;
}

const ALGORITHMS = ['EdDSA', 'ES256'];

/**
 * Verifies a token with the deployment's public key alone (robots can do this offline on a LAN)
 * and narrows its payload to TokenClaims. Every refusal is a TokenError with a protocol code.
 */
export async function verifyToken(
  token: string,
  key: VerifyKey,
  opts: VerifyOptions = {},
): Promise<TokenClaims> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ALGORITHMS,
      issuer: opts.issuer ?? DEFAULT_ISSUER,
      audience: opts.audience ?? DEFAULT_AUDIENCE,
      clockTolerance: opts.clockToleranceSec ?? 5,
      requiredClaims: ['exp', 'sub'],
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new TokenError('token_expired', 'token has expired');
    throw new TokenError('token_invalid', 'token signature or claims are invalid');
  }
  const claims = narrowClaims(payload);
  if (opts.role && claims.role !== opts.role) {
    throw new TokenError('wrong_role', `a ${claims.role} token cannot be used here; ${opts.role} required`);
  }
  return claims;
}

function narrowClaims(p: Record<string, unknown>): TokenClaims {
  const { role, sub, exp, iat, jti } = p;
  if (typeof sub !== 'string' || !ID_PATTERN.test(sub))
    throw new TokenError('token_invalid', 'token subject is not a valid id');
  if (typeof exp !== 'number') throw new TokenError('token_invalid', 'token has no expiry');
  const common = {
    sub,
    exp,
    ...(typeof iat === 'number' ? { iat } : {}),
    ...(typeof jti === 'string' ? { jti } : {}),
  };
  if (role === 'robot') return { role, ...common };
  if (role === 'app') {
    const { grants, legacy } = appGrantsOf(p);
    return { role, grants, ...(legacy ? { legacy: true as const } : {}), ...common };
  }
  throw new TokenError('token_invalid', 'token has no valid role');
}
