/** Node-only: loading and generating the deployment's signing key pair (PEM). */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

export type SigningAlg = 'EdDSA' | 'ES256';

export interface SigningKeys {
  alg: SigningAlg;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** The JWS algorithm a key implies: Ed25519 -> EdDSA, P-256 -> ES256; anything else is refused. */
export function algForKey(key: KeyObject): SigningAlg {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new Error(`unsupported key type ${key.asymmetricKeyType ?? 'unknown'}: use Ed25519 or EC P-256`);
}

export function publicKeyFromPem(pem: string): KeyObject {
  const key = createPublicKey(pem);
  algForKey(key);
  return key;
}

export function signingKeysFromPem(privatePem: string): SigningKeys {
  const privateKey = createPrivateKey(privatePem);
  return { alg: algForKey(privateKey), privateKey, publicKey: createPublicKey(privateKey) };
}

export function generateSigningKeys(alg: SigningAlg = 'EdDSA'): SigningKeys {
  const { privateKey, publicKey } =
    alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { alg, privateKey, publicKey };
}

/**
 * Development only: a key pair kept in `dir` (outside git), made on first use so that the dev stack,
 * the token command and local robots agree without anyone handling key material.
 */
export function loadOrCreateDevKeys(dir: string): SigningKeys {
  const file = join(dir, 'signing-key.pem');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const keys = generateSigningKeys('EdDSA');
    writeFileSync(file, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(dir, 'public-key.pem'), keys.publicKey.export({ type: 'spki', format: 'pem' }));
    chmodSync(file, 0o600);
    return keys;
  }
  return signingKeysFromPem(readFileSync(file, 'utf8'));
}

export function publicKeyPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}
