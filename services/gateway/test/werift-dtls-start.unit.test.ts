// The answering werift peer starts its DTLS handshake inside start() (src/signaling/werift-dtls-start.ts), not
// after werift's fixed 100 ms wait, and start() runs as soon as ICE has nominated a pair (while werift's ICE
// transport still reads 'checking'), with exactly one handshake; two real werift peers in this process, a data
// channel between them to show the handshake completes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DtlsClient, RTCPeerConnection } from 'werift';
import { startDtlsAtOnce } from '../src/signaling/werift-dtls-start.js';

async function connectPair(
  patch: false | { atNomination: boolean },
): Promise<{ inStart: number[]; iceStateAtStart: string[]; total: () => number; echoed: string }> {
  // Counts the DTLS client handshakes actually started (the method the wrapper binds).
  const original = DtlsClient.prototype.connect;
  let calls = 0;
  DtlsClient.prototype.connect = function (this: DtlsClient) {
    calls++;
    return original.call(this);
  };
  const offerer = new RTCPeerConnection({ iceServers: [] });
  const answerer = new RTCPeerConnection({ iceServers: [] });
  try {
    offerer.onIceCandidate.subscribe((c) => c && void answerer.addIceCandidate(c));
    answerer.onIceCandidate.subscribe((c) => c && void offerer.addIceCandidate(c));
    const channel = offerer.createDataChannel('probe');
    const received = new Promise<string>((resolve) =>
      answerer.onDataChannel.subscribe((dc) => dc.onMessage.subscribe((m) => resolve(String(m)))),
    );
    await offerer.setLocalDescription(await offerer.createOffer());
    await answerer.setRemoteDescription(offerer.localDescription!);
    const inStart: number[] = [];
    const iceStateAtStart: string[] = [];
    for (const transport of answerer.dtlsTransports) {
      if (patch) assert.equal(startDtlsAtOnce(transport, patch), true);
      // Outermost: how many handshakes had started when start() returned (synchronously, before any wait), and
      // where werift's ICE transport was at each call.
      const start = transport.start.bind(transport);
      transport.start = () => {
        const before = calls;
        iceStateAtStart.push(transport.iceTransport.state);
        const p = start();
        inStart.push(calls - before);
        return p;
      };
    }
    await answerer.setLocalDescription(await answerer.createAnswer());
    await offerer.setRemoteDescription(answerer.localDescription!);
    await new Promise<void>((resolve) => {
      if (channel.readyState === 'open') resolve();
      channel.stateChanged.subscribe((s) => s === 'open' && resolve());
    });
    channel.send('over DTLS');
    const echoed = await received;
    // werift's own delayed connect() has run by now (100 ms after start).
    await new Promise((r) => setTimeout(r, 150));
    return { inStart, iceStateAtStart, total: () => calls, echoed };
  } finally {
    DtlsClient.prototype.connect = original;
    await offerer.close();
    await answerer.close();
  }
}

test('werift alone waits before its ClientHello (what the wrapper is for): none started inside start()', async () => {
  const r = await connectPair(false);
  assert.deepEqual(r.inStart, [0]);
  assert.deepEqual(r.iceStateAtStart, ['connected'], 'werift starts DTLS once its ICE connect() returned');
  assert.equal(r.echoed, 'over DTLS');
});

test('wrapped: the handshake starts inside start(), once, and completes', async () => {
  const r = await connectPair({ atNomination: false });
  assert.deepEqual(r.inStart, [1], 'ClientHello sent as start() ran');
  assert.deepEqual(r.iceStateAtStart, ['connected']);
  assert.equal(r.total(), 1, "werift's own later connect() joined the same handshake");
  assert.equal(r.echoed, 'over DTLS');
});

test('wrapped at nomination: the handshake starts before werift noticed it, once, and completes', async () => {
  const r = await connectPair({ atNomination: true });
  assert.equal(r.inStart[0], 1, 'ClientHello sent as start() ran');
  assert.equal(r.iceStateAtStart[0], 'checking', 'started before werift noticed the nomination');
  assert.equal(r.total(), 1, "werift's own later start() joined the same handshake");
  assert.equal(r.echoed, 'over DTLS');
});

test('anything not shaped like a werift transport is left alone', () => {
  assert.equal(startDtlsAtOnce(null), false);
  assert.equal(startDtlsAtOnce({}), false);
  const t = { start: () => Promise.resolve() };
  assert.equal(startDtlsAtOnce(t), true);
  const once = t.start;
  assert.equal(startDtlsAtOnce(t), true, 'a second call is a no-op');
  assert.equal(t.start, once);
});
