import { SignJWT, type CryptoKey, type KeyObject } from 'jose';
import { parseGrantsClaim, type RobotGrants } from './grants.js';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER, ID_PATTERN, type Role } from './claims.js';

export interface MintOptions {
  role: Role;
  sub: string;
  /** App tokens: per robot id (or "*") what the holder may do. */
  grants?: RobotGrants;
  /**
   * App tokens, the old form: robot ids or "*", read by verifiers as every grant on them. Kept for tokens issued
   * by other systems and for tests of that reading; new tokens should carry `grants`.
   */
  robots?: string[] | '*';
  ttlSec: number;
  alg: 'EdDSA' | 'ES256';
  issuer?: string;
  audience?: string;
  /** Overrides "now" (seconds), for tests that need expired tokens. */
  nowSec?: number;
}

export async function mintToken(key: CryptoKey | KeyObject, o: MintOptions): Promise<string> {
  if (!ID_PATTERN.test(o.sub)) throw new Error(`invalid subject ${JSON.stringify(o.sub)}`);
  if (o.role === 'app' && (o.grants === undefined) === (o.robots === undefined))
    throw new Error('an app token needs grants (or, the old form, robots), not both');
  // Checked like a verifier would, so a typo fails here and not at every robot.
  if (o.grants !== undefined) parseGrantsClaim(o.grants);
  const now = o.nowSec ?? Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(
    o.role !== 'app'
      ? { role: o.role }
      : o.grants !== undefined
        ? { role: o.role, grants: o.grants }
        : { role: o.role, robots: o.robots },
  )
    .setProtectedHeader({ alg: o.alg, typ: 'JWT' })
    .setSubject(o.sub)
    .setIssuer(o.issuer ?? DEFAULT_ISSUER)
    .setAudience(o.audience ?? DEFAULT_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + o.ttlSec)
    .setJti(crypto.randomUUID());
  return jwt.sign(key);
}
