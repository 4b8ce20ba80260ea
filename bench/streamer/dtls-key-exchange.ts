// The X25519 key exchange of one DTLS handshake (a key pair and a shared secret), as werift does it with tweetnacl
// in JavaScript and as it does it with @robostream/gateway/werift-native-x25519 (OpenSSL), in the same process.
// Each one runs on the robot's main thread, where no RTP, ICE or signaling moves meanwhile.
//   npm run bench -- streamer/dtls-key-exchange
// Prints the first exchange of each (before the JIT has compiled tweetnacl: what the first session after a start
// pays), the median and p90 over ROUNDS warm exchanges, and ends with
//   dtls-key-exchange js_first_us=... js_p50_us=... native_first_us=... native_p50_us=... ratio_p50=...
import nacl from 'tweetnacl';
import { nativeKeyPair, nativeScalarMult } from '@robostream/gateway/werift-native-x25519';
import { summarize } from '../support/stats.js';

const ROUNDS = Math.max(10, Number(process.env.ROUNDS ?? 300));

type Exchange = () => Uint8Array;
const peer = nacl.box.keyPair().publicKey;
const js: Exchange = () => nacl.scalarMult(nacl.box.keyPair().secretKey, peer);
const native: Exchange = () => nativeScalarMult(nativeKeyPair().secretKey, peer);

function timeUs(fn: Exchange): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1000;
}

// `peer` above already ran tweetnacl once (scalarMult.base): the first full exchange below is still its first.
const jsFirst = timeUs(js);
const nativeFirst = timeUs(native);
const jsTimes: number[] = [];
const nativeTimes: number[] = [];
// Interleaved, so a busy moment of the machine falls on both.
for (let i = 0; i < ROUNDS; i++) {
  jsTimes.push(timeUs(js));
  nativeTimes.push(timeUs(native));
}
const j = summarize(jsTimes);
const n = summarize(nativeTimes);
const f = (us: number): string => us.toFixed(0);
console.log(
  `tweetnacl (werift's own): first ${f(jsFirst)} us; ${ROUNDS} rounds p50 ${f(j.p50)} us, p90 ${f(j.p90)} us`,
);
console.log(
  `OpenSSL (native):         first ${f(nativeFirst)} us; ${ROUNDS} rounds p50 ${f(n.p50)} us, p90 ${f(n.p90)} us`,
);
console.log(
  `dtls-key-exchange js_first_us=${f(jsFirst)} js_p50_us=${f(j.p50)} native_first_us=${f(nativeFirst)} ` +
    `native_p50_us=${f(n.p50)} ratio_p50=${(j.p50 / n.p50).toFixed(1)}`,
);
