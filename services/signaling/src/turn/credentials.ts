import { createHmac } from 'node:crypto';

/**
 * coturn's TURN REST credentials (use-auth-secret): username "<unix expiry>:<peer>", password
 * base64(HMAC-SHA1(shared secret, username)). coturn recomputes the password itself, so nothing
 * is stored and a credential dies on its own at its expiry.
 */
export interface TurnCredential {
  username: string;
  credential: string;
  /** Unix seconds after which coturn refuses the credential. */
  expiresAt: number;
}

export function turnRestCredential(
  secret: string,
  peer: string,
  ttlSec: number,
  nowSec = Math.floor(Date.now() / 1000),
): TurnCredential {
  if (peer.includes(':')) throw new Error('a TURN peer label cannot contain ":"');
  const expiresAt = nowSec + ttlSec;
  const username = `${expiresAt}:${peer}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential, expiresAt };
}
