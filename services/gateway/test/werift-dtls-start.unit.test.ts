// The answering werift peer starts its DTLS handshake inside start() (src/signaling/werift-dtls-start.ts), not
// after werift's fixed 100 ms wait, with exactly one handshake; two real werift peers in this process, a data
// channel between them to show the handshake completes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DtlsClient, RTCPeerConnection } from 'werift';
import { startDtlsAtOnce } from '../src/signaling/werift-dtls-start.js';

async function connectPair(
  patch: boolean,
): Promise<{ inStart: number[]; total: () => number; echoed: string }> {
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
    for (const transport of answerer.dtlsTransports) {
      if (patch) assert.equal(startDtlsAtOnce(transport), true);
      // Outermost: how many handshakes had started when start() returned (synchronously, before any wait).
      const start = transport.start.bind(transport);
      transport.start = () => {
        const before = calls;
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
    return { inStart, total: () => calls, echoed };
  } finally {
    DtlsClient.prototype.connect = original;
    await offerer.close();
    await answerer.close();
  }
}

test('werift alone waits before its ClientHello (what the wrapper is for): none started inside start()', async () => {
  const r = await connectPair(false);
  assert.deepEqual(r.inStart, [0]);
  assert.equal(r.echoed, 'over DTLS');
});

test('wrapped: the handshake starts inside start(), once, and completes', async () => {
  const r = await connectPair(true);
  assert.deepEqual(r.inStart, [1], 'ClientHello sent as start() ran');
  assert.equal(r.total(), 1, "werift's own later connect() joined the same handshake");
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
