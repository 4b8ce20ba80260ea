/**
 * FORWARD TSN (partial reliability, RFC 3758) on the receiving side of werift 0.24.4's SCTP, in place of werift's.
 *
 * werift's handler moves the cumulative TSN to the one the peer forwards to, then on over every TSN already
 * received beyond it, and then throws away every fragment held for reassembly, in every stream, up to that
 * point. Fragments of a reliable message that is still arriving are among them: an app sends a message of many
 * DATA chunks on `gateway-reliable` and a lossy one (`gateway-lossy`, maxRetransmits 0) is lost just before it;
 * the app abandons the lossy one and forwards past it while the reliable one is half across. werift then drops
 * the reliable message's first fragments (already acknowledged, so never sent again), its ordered stream waits
 * for that message forever, and every later message on it is held and dropped at the next FORWARD TSN: nothing
 * more arrives on the reliable channel, while the lossy one (unordered) goes on.
 *
 * The RFC (section 3.6) drops only what can no longer be completed: a partly received message that misses a TSN
 * at or below the forwarded one. That is what this does; then it skips the ordered streams' sequence numbers the
 * FORWARD TSN names and delivers what that frees, as werift does.
 *
 * The replacement is installed on the one SCTP instance (werift's class is not exported, and the gateway loads
 * werift's ES module build); an instance not shaped like werift 0.24.4's is left alone.
 */

const FIRST_FRAGMENT = 0x02;
const LAST_FRAGMENT = 0x01;

/** A DATA chunk as werift keeps it for reassembly. */
export interface WeriftDataChunk {
  tsn: number;
  flags: number;
  streamId: number;
  streamSeqNum: number;
  protocol: number;
  userData: Buffer;
}

/** werift 0.24.4's InboundStream: fragments ordered by TSN, and the next stream sequence number expected. */
export interface WeriftInboundStream {
  reassembly: WeriftDataChunk[];
  streamSequenceNumber: number;
  popMessages(): Iterable<[streamId: number, ppId: number, data: Buffer]>;
}

export interface WeriftForwardTsnChunk {
  cumulativeTsn: number;
  /** [stream id, last skipped stream sequence number] of ordered streams. */
  streams: [number, number][];
}

/** The werift 0.24.4 SCTP fields this reads and writes (private in its typings). */
export interface WeriftSctpReceiver {
  lastReceivedTsn?: number;
  sackMisOrdered: Set<number>;
  sackDuplicates: number[];
  sackNeeded: boolean;
  sackImmediate: boolean;
  advertisedRwnd: number;
  inboundStreams: Record<number, WeriftInboundStream>;
  getInboundStream(streamId: number): WeriftInboundStream;
  receive(streamId: number, ppId: number, data: Buffer): void;
  receiveForwardTsnChunk(chunk: WeriftForwardTsnChunk): void;
}

const repaired = new WeakSet<object>();

/** a > b in TSN (serial number) arithmetic. */
const tsnAfter = (a: number, b: number): boolean => a !== b && (a - b) >>> 0 < 0x8000_0000;
const tsnNext = (a: number): number => (a + 1) >>> 0;
const tsnPrevious = (a: number): number => (a - 1) >>> 0;
const ssnAfter = (a: number, b: number): boolean => a !== b && ((a - b) & 0xffff) < 0x8000;

function looksLikeWerift(sctp: unknown): sctp is WeriftSctpReceiver {
  if (typeof sctp !== 'object' || sctp === null) return false;
  const s = sctp as Partial<Record<keyof WeriftSctpReceiver, unknown>>;
  return (
    typeof s.receiveForwardTsnChunk === 'function' &&
    typeof s.getInboundStream === 'function' &&
    typeof s.receive === 'function' &&
    s.sackMisOrdered instanceof Set &&
    Array.isArray(s.sackDuplicates) &&
    typeof s.advertisedRwnd === 'number' &&
    typeof s.inboundStreams === 'object' &&
    s.inboundStreams !== null
  );
}

/**
 * Installs the FORWARD TSN handling on a werift SCTP instance (`pc.sctpTransport.sctp`). Returns false, changing
 * nothing, when the instance does not look like werift 0.24.4's. Installing twice is harmless.
 */
export function repairForwardTsn(sctp: unknown): boolean {
  if (!looksLikeWerift(sctp)) return false;
  if (repaired.has(sctp)) return true;
  repaired.add(sctp);
  sctp.receiveForwardTsnChunk = (chunk) => receiveForwardTsn(sctp, chunk);
  return true;
}

export function receiveForwardTsn(s: WeriftSctpReceiver, chunk: WeriftForwardTsnChunk): void {
  // Answered with a SACK like DATA, even when it brings nothing new (werift sends it after the packet).
  s.sackNeeded = true;
  s.sackImmediate = true;
  const forwarded = chunk.cumulativeTsn >>> 0;
  if (s.lastReceivedTsn === undefined || !tsnAfter(forwarded, s.lastReceivedTsn)) return;

  // Everything up to the forwarded TSN counts as received; then on over what already came after it.
  let cumulative = forwarded;
  const ahead = [...s.sackMisOrdered]
    .filter((tsn) => tsnAfter(tsn, forwarded))
    .sort((a, b) => ((a - forwarded) >>> 0) - ((b - forwarded) >>> 0));
  for (const tsn of ahead) {
    if (tsn !== tsnNext(cumulative)) break;
    cumulative = tsn;
  }
  s.lastReceivedTsn = cumulative;
  s.sackMisOrdered = new Set(ahead.filter((tsn) => tsnAfter(tsn, cumulative)));
  s.sackDuplicates = s.sackDuplicates.filter((tsn) => tsnAfter(tsn, cumulative));

  const touched = new Set<WeriftInboundStream>();
  for (const stream of Object.values(s.inboundStreams)) {
    const freed = dropUncompletable(stream, forwarded);
    if (freed > 0) {
      s.advertisedRwnd += freed;
      touched.add(stream);
    }
  }
  for (const [streamId, lastSkipped] of chunk.streams) {
    const stream = s.getInboundStream(streamId);
    const next = (lastSkipped + 1) & 0xffff;
    if (ssnAfter(next, stream.streamSequenceNumber)) stream.streamSequenceNumber = next;
    touched.add(stream);
  }
  for (const stream of touched) {
    for (const [streamId, ppId, data] of stream.popMessages()) {
      s.advertisedRwnd += data.length;
      s.receive(streamId, ppId, data);
    }
  }
}

/**
 * Drops the stream's partly received messages that miss a fragment at or below `forwarded` (that fragment will
 * never come: the peer abandoned it). A message's fragments have consecutive TSNs, so the held fragments fall
 * into runs; a run misses its head when its first fragment is not a first one, its tail when its last is not a
 * last one. Whole messages and runs that may still be completed stay. Returns the bytes dropped.
 */
export function dropUncompletable(stream: WeriftInboundStream, forwarded: number): number {
  const kept: WeriftDataChunk[] = [];
  let freed = 0;
  let run: WeriftDataChunk[] = [];
  const settle = (): void => {
    const first = run[0];
    const last = run[run.length - 1];
    if (!first || !last) return;
    const missingHead = !(first.flags & FIRST_FRAGMENT) && !tsnAfter(tsnPrevious(first.tsn), forwarded);
    const missingTail = !(last.flags & LAST_FRAGMENT) && !tsnAfter(tsnNext(last.tsn), forwarded);
    if (missingHead || missingTail) for (const c of run) freed += c.userData.length;
    else kept.push(...run);
    run = [];
  };
  for (const c of stream.reassembly) {
    const prev = run[run.length - 1];
    if (prev && (c.tsn !== tsnNext(prev.tsn) || prev.flags & LAST_FRAGMENT || c.flags & FIRST_FRAGMENT)) {
      settle();
    }
    run.push(c);
  }
  settle();
  if (freed > 0) stream.reassembly = kept;
  return freed;
}
