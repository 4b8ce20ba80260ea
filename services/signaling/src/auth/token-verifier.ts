import type { KeyObject } from 'node:crypto';
import { verifyToken, type TokenClaims } from '@robostream/protocol/auth';

export interface TokenVerifier {
  verify(token: string): Promise<TokenClaims>;
}

export function tokenVerifier(publicKey: KeyObject, issuer: string, audience: string): TokenVerifier {
  return { verify: (token) => verifyToken(token, publicKey, { issuer, audience }) };
}
