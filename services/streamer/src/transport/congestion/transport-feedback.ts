// One transport-wide congestion control feedback (RTCP RTPFB FMT 15, draft-holmer-rmcat-transport-wide-cc) turned
// into per-packet results with arrival times in milliseconds of the app's clock.
//
// werift parses the packet's chunks and receive deltas correctly, but its `packetResults` (werift 0.24.4) must not
// be used: it drops every status-vector chunk (the encoding Chromium uses as soon as one packet in a run is lost),
// restarts the sequence numbers at the base for every run-length chunk, and returns one result too many per run.
// With any loss the estimator then saw no loss at all, wrong sequence numbers and misaligned arrival times: the rate
// spiralled down under 10 % random loss. So the statuses are expanded here from the chunks, in order, and paired
// with the receive deltas (microseconds, summed here rather than truncated to milliseconds per packet).

export interface FeedbackPacket {
  /** 16-bit transport-wide sequence number. */
  seq: number;
  received: boolean;
  /** App clock, ms (only meaningful relative to other arrivals); NaN when not received. */
  arrivalMs: number;
}

/** A run-length chunk: `runLength` packets with one status. */
interface RunChunk {
  packetStatus: number;
  runLength: number;
}

/** A status-vector chunk: one status per symbol (1-bit or 2-bit symbols). */
interface VectorChunk {
  symbolList: number[];
}

/** The fields of werift's TransportWideCC this needs. */
export interface TwccLike {
  baseSequenceNumber: number;
  packetStatusCount: number;
  referenceTime: number;
  packetChunks: (RunChunk | VectorChunk)[];
  recvDeltas: { delta: number }[];
}

/** Statuses 1 (small delta) and 2 (large delta) carry a receive delta; 0 is not received. */
const RECEIVED_SMALL = 1;
const RECEIVED_LARGE = 2;

export function feedbackPackets(fb: TwccLike): FeedbackPacket[] {
  const statuses: number[] = [];
  for (const chunk of fb.packetChunks) {
    const left = fb.packetStatusCount - statuses.length;
    if (left <= 0) break;
    if ('symbolList' in chunk) statuses.push(...chunk.symbolList.slice(0, left));
    else for (let i = 0; i < Math.min(left, chunk.runLength); i++) statuses.push(chunk.packetStatus);
  }
  let atUs = fb.referenceTime * 64_000;
  let deltaIdx = 0;
  const out: FeedbackPacket[] = [];
  for (let i = 0; i < statuses.length; i++) {
    const seq = (fb.baseSequenceNumber + i) & 0xffff;
    const status = statuses[i];
    const delta =
      status === RECEIVED_SMALL || status === RECEIVED_LARGE ? fb.recvDeltas[deltaIdx++] : undefined;
    if (delta && Number.isFinite(delta.delta)) {
      atUs += delta.delta;
      out.push({ seq, received: true, arrivalMs: atUs / 1000 });
    } else {
      // Not received (or received without a delta, which Chromium never sends: no arrival time to use).
      out.push({ seq, received: false, arrivalMs: NaN });
    }
  }
  return out;
}
