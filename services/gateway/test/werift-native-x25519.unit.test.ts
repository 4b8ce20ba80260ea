// werift's DTLS key exchange through OpenSSL: the same results as tweetnacl (RFC 7748's test vectors), key pairs
// werift can read, tweetnacl's answer wherever OpenSSL refuses, and a real werift DTLS handshake on top.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import nacl from 'tweetnacl';
import { RTCPeerConnection } from 'werift';
import { nativeKeyPair, nativeScalarMult, useNativeX25519 } from '../src/signaling/werift-native-x25519.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
// RFC 7748, section 6.1.
const alicePrivate = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
const alicePublic = hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
const bobPrivate = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
const bobPublic = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
const shared = hex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');

const jsScalarMult = nacl.scalarMult;
const jsKeyPair = nacl.box.keyPair;

test('OpenSSL gives the RFC 7748 shared secret, both ways, as tweetnacl does', () => {
  assert.deepEqual(nativeScalarMult(alicePrivate, bobPublic), shared);
  assert.deepEqual(nativeScalarMult(bobPrivate, alicePublic), shared);
  assert.deepEqual(jsScalarMult(alicePrivate, bobPublic), shared);
});

test('a native key pair: 32-byte arrays of their own whose public key tweetnacl derives too', () => {
  for (let i = 0; i < 20; i++) {
    const kp = nativeKeyPair();
    // werift reads the keys through `.buffer`: a view into a larger buffer would hand it the wrong bytes.
    assert.equal(kp.secretKey.buffer.byteLength, 32);
    assert.equal(kp.publicKey.buffer.byteLength, 32);
    assert.deepEqual(jsScalarMult.base(kp.secretKey), kp.publicKey);
    // werift hands the secret back as Buffer.from(secretKey.buffer): the pair's own key, the same shared secret.
    assert.deepEqual(
      nativeScalarMult(Buffer.from(kp.secretKey.buffer), bobPublic),
      jsScalarMult(kp.secretKey, bobPublic),
    );
  }
  // A secret changed after the pair was made is not mistaken for the pair's own key.
  const kp = nativeKeyPair();
  kp.secretKey.set(alicePrivate);
  assert.deepEqual(nativeScalarMult(kp.secretKey, bobPublic), shared);
});

test('installed: werift-facing functions use OpenSSL, keep their properties, and fall back where it refuses', () => {
  useNativeX25519();
  useNativeX25519(); // idempotent
  assert.notEqual(nacl.scalarMult, jsScalarMult);
  assert.notEqual(nacl.box.keyPair, jsKeyPair);
  assert.deepEqual(nacl.scalarMult(alicePrivate, bobPublic), shared);
  assert.equal(nacl.scalarMult.scalarLength, 32);
  assert.deepEqual(nacl.scalarMult.base(alicePrivate), alicePublic);
  assert.equal(typeof nacl.box.keyPair.fromSecretKey, 'function');
  const kp = nacl.box.keyPair();
  assert.deepEqual(nacl.scalarMult.base(kp.secretKey), kp.publicKey);
  // A low-order peer key: OpenSSL refuses (all-zero secret), tweetnacl answers zeros, as werift got before.
  assert.throws(() => nativeScalarMult(alicePrivate, new Uint8Array(32)));
  assert.deepEqual(nacl.scalarMult(alicePrivate, new Uint8Array(32)), new Uint8Array(32));
  // A wrong length: tweetnacl's own error.
  assert.throws(() => nacl.scalarMult(alicePrivate, new Uint8Array(31)), /bad p size/);
});

test('two werift peers connect over DTLS with the native key exchange', { timeout: 20_000 }, async () => {
  useNativeX25519();
  let nativeCalls = 0;
  const installedScalarMult = nacl.scalarMult;
  nacl.scalarMult = Object.assign((n: Uint8Array, p: Uint8Array) => {
    nativeCalls++;
    return installedScalarMult(n, p);
  }, installedScalarMult);
  const a = new RTCPeerConnection({ iceServers: [] });
  const b = new RTCPeerConnection({ iceServers: [] });
  try {
    a.onIceCandidate.subscribe((c) => c && void b.addIceCandidate(c).catch(() => undefined));
    b.onIceCandidate.subscribe((c) => c && void a.addIceCandidate(c).catch(() => undefined));
    const channel = a.createDataChannel('x');
    const opened = new Promise<void>((resolve) =>
      channel.stateChanged.subscribe((s) => s === 'open' && resolve()),
    );
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription!);
    await opened;
    // Each side computed its shared secret through the installed function.
    assert.ok(nativeCalls >= 2, `shared secrets computed: ${nativeCalls}`);
  } finally {
    nacl.scalarMult = installedScalarMult;
    await a.close();
    await b.close();
  }
});
