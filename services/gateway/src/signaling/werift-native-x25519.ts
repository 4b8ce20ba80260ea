// werift's DTLS key exchange done by OpenSSL instead of JavaScript.
//
// werift 0.24.4 does the ECDHE of every DTLS handshake on X25519 (the group Chromium and Firefox choose) with
// tweetnacl: a key pair and a shared secret, each a scalar multiplication in JavaScript on the main thread, where
// nothing else moves meanwhile (no RTP, no ICE, no signaling). Profiled in the compose stack's simulated robot
// (22 sessions on the 2-core machine): 51 ms of the streamer's main thread in all, 2.3 ms per handshake on average
// and up to 16 ms in one (before the JIT has compiled it), right on the first frame's path; slower still on a
// robot's ARM CPU. Node's crypto does the same in OpenSSL in tens of microseconds (bench/streamer/dtls-key-exchange).
//
// werift calls `nacl.box.keyPair()` and `nacl.scalarMult(n, p)` through tweetnacl's module object at each
// handshake, and the root package.json pins one tweetnacl for the whole tree (`overrides`), so replacing those two
// functions on it switches werift over. Whatever OpenSSL refuses (a wrong length, a low-order peer key whose shared
// secret is all zeros) goes to tweetnacl's own function, so every result and error is the one werift got before.
// Shared with the streamer (exported as @robostream/gateway/werift-native-x25519).
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import nacl from 'tweetnacl';

// DER prefix of an X25519 private key (RFC 8410): the raw 32 bytes follow.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const KEY_LENGTH = 32;

let installed = false;

/**
 * The private keys of the pairs made here, by their secret key's own buffer: werift hands the secret back for the
 * shared secret, and importing it again costs ten times the exchange itself (a DER import: about 300 us).
 */
const ownKeys = new WeakMap<ArrayBufferLike, { raw: Uint8Array; key: KeyObject }>();

/** The bytes of a base64url JWK member, in an array of their own (werift reads keys through `.buffer`). */
function rawKey(base64url: string | undefined): Uint8Array {
  const bytes = new Uint8Array(Buffer.from(base64url ?? '', 'base64url'));
  if (bytes.length !== KEY_LENGTH) throw new RangeError('bad key size');
  return bytes;
}

function privateKeyOf(n: Uint8Array): KeyObject {
  const own = n.byteOffset === 0 && n.byteLength === KEY_LENGTH ? ownKeys.get(n.buffer) : undefined;
  if (own && Buffer.compare(own.raw, n) === 0) return own.key;
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, n]), format: 'der', type: 'pkcs8' });
}

/** X25519(n, p) in OpenSSL; throws where tweetnacl would not answer the same (the caller falls back). */
export function nativeScalarMult(n: Uint8Array, p: Uint8Array): Uint8Array {
  if (n.length !== KEY_LENGTH || p.length !== KEY_LENGTH) throw new RangeError('bad key size');
  const publicKey = createPublicKey({
    key: {
      kty: 'OKP',
      crv: 'X25519',
      x: Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('base64url'),
    },
    format: 'jwk',
  });
  return new Uint8Array(diffieHellman({ privateKey: privateKeyOf(n), publicKey }));
}

/** A fresh X25519 key pair from OpenSSL, shaped as tweetnacl's `box.keyPair()`. */
export function nativeKeyPair(): nacl.BoxKeyPair {
  const { privateKey } = generateKeyPairSync('x25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const secretKey = rawKey(jwk.d);
  ownKeys.set(secretKey.buffer, { raw: new Uint8Array(secretKey), key: privateKey });
  return { secretKey, publicKey: rawKey(jwk.x) };
}

/** Switches tweetnacl's X25519 (hence werift's DTLS key exchange) to OpenSSL; idempotent. */
export function useNativeX25519(): void {
  if (installed) return;
  installed = true;
  const jsScalarMult = nacl.scalarMult;
  const jsKeyPair = nacl.box.keyPair;
  const scalarMult = (n: Uint8Array, p: Uint8Array): Uint8Array => {
    try {
      return nativeScalarMult(n, p);
    } catch {
      return jsScalarMult(n, p);
    }
  };
  const keyPair = (): nacl.BoxKeyPair => {
    try {
      return nativeKeyPair();
    } catch {
      return jsKeyPair();
    }
  };
  // The functions carry properties (scalarMult.base, box.keyPair.fromSecretKey, lengths): kept as they were.
  nacl.scalarMult = Object.assign(scalarMult, jsScalarMult);
  nacl.box.keyPair = Object.assign(keyPair, jsKeyPair);
}
