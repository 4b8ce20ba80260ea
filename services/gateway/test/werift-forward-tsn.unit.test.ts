// FORWARD TSN on the receiving side of werift's SCTP (src/signaling/werift-forward-tsn.ts), against the SCTP
// instance of a real werift RTCPeerConnection fed DATA and FORWARD TSN chunks by hand: an app's reliable
// message of several fragments is half across when the app forwards past a lost lossy message just before it.
// werift's own handler drops the half (the reliable stream then waits forever); the repaired one keeps it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RTCPeerConnection } from 'werift';
import {
  dropUncompletable,
  repairForwardTsn,
  type WeriftDataChunk,
  type WeriftInboundStream,
  type WeriftSctpReceiver,
} from '../src/signaling/werift-forward-tsn.js';

const DATA = 0;
const FORWARD_TSN = 192;
const FIRST = 0x02;
const LAST = 0x01;
const UNORDERED = 0x04;
const STRING_PPID = 51;
const RELIABLE = 1; // an ordered stream
const LOSSY = 3; // an unordered one

interface Receiver extends WeriftSctpReceiver {
  receiveChunk(chunk: object): Promise<void>;
  onReceive: { subscribe(f: (streamId: number, ppId: number, data: Buffer) => void): void };
}

/** werift's SCTP instance of a peer connection that never connects, as if INIT said the peer starts at `tsn`. */
async function receiver(tsn: number, repaired: boolean) {
  const pc = new RTCPeerConnection();
  pc.createDataChannel('unused');
  const sctp = (pc as unknown as { sctpTransport: { sctp: Receiver } }).sctpTransport.sctp;
  sctp.lastReceivedTsn = (tsn - 1) >>> 0;
  if (repaired) assert.equal(repairForwardTsn(sctp), true);
  const got: { stream: number; text: string }[] = [];
  sctp.onReceive.subscribe((stream, _pp, data) => got.push({ stream, text: data.toString() }));
  const data = (tsn: number, stream: number, ssn: number, flags: number, text: string) =>
    sctp.receiveChunk({
      type: DATA,
      tsn: tsn >>> 0,
      streamId: stream,
      streamSeqNum: ssn,
      flags,
      protocol: STRING_PPID,
      userData: Buffer.from(text),
    });
  const forward = (cumulativeTsn: number, streams: [number, number][] = []) =>
    sctp.receiveChunk({ type: FORWARD_TSN, cumulativeTsn: cumulativeTsn >>> 0, streams });
  return { pc, sctp, got, data, forward };
}

/**
 * TSN t: a lossy message, lost (the app abandons it); t+1..t+3: a reliable message in three fragments, of
 * which the first two arrive, then the FORWARD TSN past t, then the last fragment and one more message.
 */
async function halfAcrossWhenForwarded(start: number, repaired: boolean) {
  const r = await receiver(start, repaired);
  const t = start;
  await r.data(t + 1, RELIABLE, 0, FIRST, 'big-1/');
  await r.data(t + 2, RELIABLE, 0, 0, 'big-2/');
  await r.forward(t);
  await r.data(t + 3, RELIABLE, 0, LAST, 'big-3');
  await r.data(t + 4, RELIABLE, 1, FIRST | LAST, 'after');
  return r;
}

test("werift's own handler drops the reliable message's first fragments (why the repair exists)", async () => {
  const r = await halfAcrossWhenForwarded(1000, false);
  assert.deepEqual(r.got, [], 'nothing delivered: the stream waits for a first fragment that is gone');
  assert.equal(r.sctp.lastReceivedTsn, 1004, 'though every TSN is acknowledged');
  await r.pc.close();
});

test('repaired: the reliable message and the next one arrive, and the window is whole again', async () => {
  const r = await halfAcrossWhenForwarded(1000, true);
  assert.deepEqual(r.got, [
    { stream: RELIABLE, text: 'big-1/big-2/big-3' },
    { stream: RELIABLE, text: 'after' },
  ]);
  assert.equal(r.sctp.lastReceivedTsn, 1004);
  assert.equal(r.sctp.sackMisOrdered.size, 0);
  assert.equal(r.sctp.advertisedRwnd, 1024 * 1024);
  await r.pc.close();
});

test('repaired across the TSN wrap, and across 10^9 (sorted as text, 1000000000 would come before 999999999)', async () => {
  for (const start of [0xffff_fffe, 999_999_998]) {
    const r = await halfAcrossWhenForwarded(start, true);
    assert.deepEqual(
      r.got.map((g) => g.text),
      ['big-1/big-2/big-3', 'after'],
      `from TSN ${start}`,
    );
    assert.equal(r.sctp.lastReceivedTsn, (start + 4) >>> 0);
    await r.pc.close();
  }
});

test('a lossy message missing a fragment at or below the forwarded TSN is dropped, its window returned', async () => {
  const r = await receiver(2000, true);
  // 2000: lost; 2001 (last of that lossy message) held; 2002..2003 a whole lossy message, delivered at once.
  await r.data(2001, LOSSY, 0, UNORDERED | LAST, 'tail');
  await r.data(2002, LOSSY, 0, UNORDERED | FIRST, 'a');
  await r.data(2003, LOSSY, 0, UNORDERED | LAST, 'b');
  assert.deepEqual(r.got, [{ stream: LOSSY, text: 'ab' }]);
  await r.forward(2001);
  assert.equal(r.sctp.inboundStreams[LOSSY]!.reassembly.length, 0);
  assert.equal(r.sctp.lastReceivedTsn, 2003);
  assert.equal(r.sctp.advertisedRwnd, 1024 * 1024);
  await r.pc.close();
});

test('the ordered streams a FORWARD TSN names skip the abandoned message; what waited behind it is delivered', async () => {
  const r = await receiver(3000, true);
  // An ordered partially reliable stream: message 0 (3000..3001) abandoned with only its first fragment here,
  // message 1 (3002) whole but waiting for it.
  await r.data(3000, RELIABLE, 0, FIRST, 'lost-');
  await r.data(3002, RELIABLE, 1, FIRST | LAST, 'next');
  assert.deepEqual(r.got, []);
  await r.forward(3001, [[RELIABLE, 0]]);
  assert.deepEqual(r.got, [{ stream: RELIABLE, text: 'next' }]);
  assert.equal(r.sctp.inboundStreams[RELIABLE]!.reassembly.length, 0);
  assert.equal(r.sctp.advertisedRwnd, 1024 * 1024);
  await r.pc.close();
});

test('an old FORWARD TSN changes nothing but is acknowledged', async () => {
  const r = await receiver(4000, true);
  await r.data(4000, RELIABLE, 0, FIRST | LAST, 'one');
  r.sctp.sackNeeded = false;
  await r.forward(3999);
  assert.equal(r.sctp.lastReceivedTsn, 4000);
  assert.equal(r.sctp.sackNeeded, true);
  await r.pc.close();
});

test('dropUncompletable: runs by consecutive TSN, dropped only when they miss a TSN at or below the forwarded one', () => {
  const c = (tsn: number, flags: number): WeriftDataChunk => ({
    tsn,
    flags,
    streamId: 0,
    streamSeqNum: 0,
    protocol: STRING_PPID,
    userData: Buffer.alloc(10),
  });
  const stream = (chunks: WeriftDataChunk[]): WeriftInboundStream => ({
    reassembly: chunks,
    streamSequenceNumber: 0,
    popMessages: () => [],
  });
  const tsns = (s: WeriftInboundStream) => s.reassembly.map((x) => x.tsn);

  // Head at 10 present, tail beyond 12: may still complete.
  let s = stream([c(10, FIRST), c(11, 0), c(12, 0)]);
  assert.equal(dropUncompletable(s, 10), 0);
  assert.deepEqual(tsns(s), [10, 11, 12]);
  // Its next fragment (13) was forwarded past: never coming.
  assert.equal(dropUncompletable(s, 13), 30);
  assert.deepEqual(tsns(s), []);
  // Head missing at 20 (forwarded past), a whole message at 23..24, a run above the forwarded TSN whose head
  // (25) may still come.
  s = stream([c(21, 0), c(22, LAST), c(23, FIRST), c(24, LAST), c(26, 0)]);
  assert.equal(dropUncompletable(s, 22), 20);
  assert.deepEqual(tsns(s), [23, 24, 26]);
  // Its head (25) forwarded past: dropped too.
  assert.equal(dropUncompletable(s, 25), 10);
  assert.deepEqual(tsns(s), [23, 24]);
});

test('repairForwardTsn leaves an object that is not shaped like werift 0.24.4 SCTP alone', () => {
  const other = { receiveForwardTsnChunk: () => undefined };
  assert.equal(repairForwardTsn(other), false);
  assert.equal(repairForwardTsn(null), false);
});
