import { SignJWT, type CryptoKey, type KeyObject } from 'jose';
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER, ID_PATTERN, type Role } from './claims.js';

export interface MintOptions {
  role: Role;
  sub: string;
  /** App tokens only: robot ids, or "*" for every robot. */
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
  if (o.role === 'app' && o.robots === undefined) throw new Error('an app token needs a robots grant');
  const now = o.nowSec ?? Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(o.role === 'app' ? { role: o.role, robots: o.robots } : { role: o.role })
    .setProtectedHeader({ alg: o.alg, typ: 'JWT' })
    .setSubject(o.sub)
    .setIssuer(o.issuer ?? DEFAULT_ISSUER)
    .setAudience(o.audience ?? DEFAULT_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + o.ttlSec)
    .setJti(crypto.randomUUID());
  return jwt.sign(key);
}
