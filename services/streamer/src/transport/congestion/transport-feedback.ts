// One transport-wide congestion control feedback (RTCP RTPFB FMT 15, draft-holmer-rmcat-transport-wide-cc) turned
// into per-packet results with arrival times in milliseconds of the app's clock. werift parses the packet; its own
// `receivedAtMs` truncates every delta to whole milliseconds and so drifts, hence the arrival times are summed here
// from the microsecond deltas.

export interface FeedbackPacket {
  /** 16-bit transport-wide sequence number. */
  seq: number;
  received: boolean;
  /** App clock, ms (only meaningful relative to other arrivals); NaN when not received. */
  arrivalMs: number;
}

/** The fields of werift's TransportWideCC this needs. */
export interface TwccLike {
  referenceTime: number;
  packetResults: { sequenceNumber: number; received: boolean; delta: number }[];
}

export function feedbackPackets(fb: TwccLike): FeedbackPacket[] {
  let atUs = fb.referenceTime * 64_000;
  const out: FeedbackPacket[] = [];
  for (const r of fb.packetResults) {
    if (r.received) {
      atUs += Number.isFinite(r.delta) ? r.delta : 0;
      out.push({ seq: r.sequenceNumber & 0xffff, received: true, arrivalMs: atUs / 1000 });
    } else {
      out.push({ seq: r.sequenceNumber & 0xffff, received: false, arrivalMs: NaN });
    }
  }
  return out;
}
