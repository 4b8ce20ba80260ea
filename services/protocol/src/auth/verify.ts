import { errors as joseErrors, jwtVerify, type CryptoKey, type KeyObject } from 'jose';
import { ID_PATTERN, DEFAULT_AUDIENCE, DEFAULT_ISSUER, type Role, type TokenClaims } from './claims.js';
import { ALL_GRANTS, parseGrantsClaim } from './grants.js';
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
    const robots = p['robots'];
    const grants = p['grants'];
    // Both forms at once would leave it open which one the issuer meant.
    if (robots !== undefined && grants !== undefined)
      throw new TokenError('token_invalid', 'app token has both robots and grants; use grants alone');
    if (grants !== undefined) return { role, grants: parseGrantsClaim(grants), ...common };
    // The old form: what it allowed when it was issued (everything on those robots).
    if (robots === '*') return { role, grants: { '*': ALL_GRANTS }, legacy: true, ...common };
    if (
      Array.isArray(robots) &&
      robots.every((r): r is string => typeof r === 'string' && ID_PATTERN.test(r))
    ) {
      return {
        role,
        grants: Object.fromEntries(robots.map((r) => [r, ALL_GRANTS])),
        legacy: true,
        ...common,
      };
    }
    throw new TokenError('token_invalid', 'app token has no valid grants (or robots) claim');
  }
  throw new TokenError('token_invalid', 'token has no valid role');
}
