// Retransmission (NACK -> RTX) for a video sender, in place of werift's. werift 0.24.4 falls short twice:
//  - it answers a NACK from the last 128 packets only: at 3 Mbit/s that is 0.4 s, shorter than one round trip
//    through a full 400 ms modem queue, or a 200 ms radio fade plus the NACK's own trip back. A packet it has
//    forgotten is never resent, and the app keeps waiting for it (Chromium sends no keyframe request while a
//    retransmission may still come): in the network lab the picture froze until the next periodic keyframe, 2 s,
//    after every bandwidth step and loss burst;
//  - it resends the cached packet with its original transport-wide sequence number, so the app's transport
//    feedback reports the lost packet as received (late) and the send-side estimator sees neither the loss nor the
//    bytes the retransmission took.
// So werift's own NACK handling is switched off for the sender, every packet werift sends is kept here (the very
// RtpPacket it sent: SSRC, payload type, sequence number, header extensions) for up to MAX_AGE_MS, and NACKs are
// answered from here on the RTX stream, each retransmission with a fresh transport-wide sequence number that is
// reported to the estimator like any packet sent.
// Two limits keep retransmissions from feeding a queue that is already overflowing (both as Chromium's sender
// does): a packet is not resent again while its last resend may still be in the path's queue (the app asks again
// once per round trip it measured, which lags a queue that is filling), and all resends together are paced by the
// bandwidth estimate (RetransmissionBudget).
import {
  GenericNack,
  RtcpTransportLayerFeedback,
  serializeTransportWideCC,
  RtpPacket,
  wrapRtx,
  type RtcpPacket,
  type RtpHeader,
} from 'werift';
import { RetransmissionBudget } from '../congestion/retransmission-budget.js';

/** The URI werift and Chromium use for the transport-wide sequence number extension. */
const TRANSPORT_CC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';

/** The werift 0.24.4 RTCRtpSender fields this reads and advances (private in its typings). */
export interface WeriftSenderInternals {
  rtpCache: (RtpPacket | undefined)[];
  sequenceNumber?: number;
  rtxPayloadType?: number;
  rtxSequenceNumber: number;
  readonly rtxSsrc: number;
  retransmittedPacketsSent: number;
  retransmittedBytesSent: number;
  headerExtensions: { id: number; uri: string }[];
  handleRtcpPacket(packet: RtcpPacket): void;
  dtlsTransport: {
    transportSequenceNumber: number;
    sendRtp(payload: Buffer, header: RtpHeader): Promise<unknown>;
  };
}

/** werift's RTP_HISTORY_SIZE: where it keeps the packet it just sent. */
const WERIFT_HISTORY = 128;
/** 1,024 packets: 2.7 s at 3 Mbit/s; MAX_AGE_MS bounds it at lower rates. */
const HISTORY = 1024;
/** Room for one packet as sent (werift keeps RTP under the path MTU, about 1,200 bytes); a bigger one is not kept. */
const SLOT_BYTES = 1500;
/** Older than this, a retransmission arrives after the app has given the frame up. */
export const MAX_AGE_MS = 1500;

/** Resends of one packet are at least this far apart (Chromium repeats a NACK every 20 ms at most). */
export const MIN_RESEND_GAP_MS = 10;

/** What bounds retransmissions: the queue on the path and the sender's bandwidth estimate, read when needed. */
export interface ResendLimits {
  /**
   * The queueing delay on the path now, in milliseconds: a packet's next resend waits at least this long. Not the
   * whole round trip: the app asks again once per round trip it measured, so a repeat within it is a lost
   * retransmission; only a queue that built up since (which the app's figure lags) makes repeats redundant.
   * Waiting a round trip of 100 ms (werift's figure was often unknown) before a second resend froze the picture
   * 65 times in 60 s of 10 % loss in the lab.
   */
  queueMs(): number;
  /** The send-side bandwidth estimate in kbit/s: resends are paced by it. */
  rateKbps(): number;
}

// Why the packets are kept as bytes in one buffer allocated up front, not as werift's RtpPacket objects: kept for
// seconds, every packet's objects outlived V8's young generation and were promoted, so the old generation grew by
// about 0.5 MB/s at 3 Mbit/s and a major collection came every minute or so; on the robot's single core its
// marking threads held up the encoder for 150 ms. Copied into a slot, werift's packet dies young (and werift's own
// 128-packet cache, unused with its NACK handling off, lets go of it at once).

export class RetransmissionHistory {
  private readonly bytes = Buffer.allocUnsafeSlow(HISTORY * SLOT_BYTES);
  private readonly seqs = new Int32Array(HISTORY).fill(-1);
  private readonly lengths = new Uint16Array(HISTORY);
  private readonly sentAtMs = new Float64Array(HISTORY);
  private readonly resentAtMs = new Float64Array(HISTORY);
  private readonly budget = new RetransmissionBudget();
  private resentCount = 0;
  private withheldCount = 0;

  private constructor(
    private readonly sender: WeriftSenderInternals,
    /** A retransmission left with this transport-wide sequence number (for the estimator). */
    private readonly onSent: (wireSeq: number, size: number) => void,
    private readonly limits: ResendLimits,
  ) {
    // werift's router calls the sender's handler as a method: NACKs stop there, everything else goes on.
    const handle = sender.handleRtcpPacket.bind(sender);
    sender.handleRtcpPacket = (packet) => {
      if (packet instanceof RtcpTransportLayerFeedback && packet.feedback instanceof GenericNack) return;
      handle(packet);
    };
  }

  /**
   * Takes over retransmission for a werift RTCRtpSender; null (werift keeps doing it) when the sender's internals
   * are not the ones this was written against.
   */
  static attach(
    sender: unknown,
    onSent: (wireSeq: number, size: number) => void,
    limits: ResendLimits,
  ): RetransmissionHistory | null {
    const s = sender as Partial<WeriftSenderInternals> | null;
    const fits =
      !!s &&
      Array.isArray(s.rtpCache) &&
      Array.isArray(s.headerExtensions) &&
      typeof s.rtxSequenceNumber === 'number' &&
      typeof s.rtxSsrc === 'number' &&
      typeof s.retransmittedPacketsSent === 'number' &&
      typeof s.handleRtcpPacket === 'function' &&
      typeof s.dtlsTransport?.sendRtp === 'function';
    return fits ? new RetransmissionHistory(s as WeriftSenderInternals, onSent, limits) : null;
  }

  /** Packets resent. */
  get resent(): number {
    return this.resentCount;
  }

  /** Requests not answered because the same packet was just resent or the budget was spent. */
  get withheld(): number {
    return this.withheldCount;
  }

  /** Right after werift sent a packet: keep what it sent. */
  recordLastSent(nowMs: number): void {
    const seq = this.sender.sequenceNumber;
    if (seq === undefined) return;
    const packet = this.sender.rtpCache[seq % WERIFT_HISTORY];
    if (packet?.header.sequenceNumber !== seq) return;
    this.sender.rtpCache[seq % WERIFT_HISTORY] = undefined;
    const slot = seq % HISTORY;
    const { header, payload } = packet;
    const length = header.serializeSize + payload.length;
    // Padded packets (none from the encoders here) would need werift's whole serialize(); they are not kept.
    if (length > SLOT_BYTES || header.paddingSize > 0) {
      this.seqs[slot] = -1;
      return;
    }
    // Per packet and viewer: only the header is serialized anew (werift's serialize() would allocate and copy the
    // whole packet a second time); the payload is copied once, straight into the slot.
    const at = slot * SLOT_BYTES;
    header.serialize(header.serializeSize).copy(this.bytes, at);
    payload.copy(this.bytes, at + header.serializeSize);
    this.seqs[slot] = seq;
    this.lengths[slot] = length;
    this.sentAtMs[slot] = nowMs;
    this.resentAtMs[slot] = -Infinity;
  }

  /** The app lost these sequence numbers: resend those still kept and recent enough to matter. */
  onNack(lost: readonly number[], nowMs: number): void {
    const gap = Math.max(MIN_RESEND_GAP_MS, this.limits.queueMs());
    for (const seq of lost) {
      const slot = seq % HISTORY;
      if (this.seqs[slot] !== seq || nowMs - this.sentAtMs[slot]! > MAX_AGE_MS) continue;
      // Oldest first, as the NACK lists them: when the budget runs out, the frames nearest their deadline got theirs.
      if (
        nowMs - this.resentAtMs[slot]! < gap ||
        !this.budget.take(this.lengths[slot]!, nowMs, this.limits.rateKbps())
      ) {
        this.withheldCount++;
        continue;
      }
      this.resentAtMs[slot] = nowMs;
      const start = slot * SLOT_BYTES;
      // A copy: the slot may be reused before the send is done.
      this.resend(
        RtpPacket.deSerialize(Buffer.from(this.bytes.subarray(start, start + this.lengths[slot]!))),
      );
    }
  }

  /** `original` is a fresh copy of the kept packet: its header may be changed. */
  private resend(original: RtpPacket): void {
    const s = this.sender;
    let packet = original;
    if (s.rtxPayloadType !== undefined) {
      packet = wrapRtx(original, s.rtxPayloadType, s.rtxSequenceNumber, s.rtxSsrc);
      s.rtxSequenceNumber = (s.rtxSequenceNumber + 1) & 0xffff;
    }
    const twcc = s.headerExtensions.find((e) => e.uri === TRANSPORT_CC_URI);
    let wireSeq: number | null = null;
    if (twcc) {
      const dtls = s.dtlsTransport;
      wireSeq = (dtls.transportSequenceNumber + 1) & 0xffff;
      dtls.transportSequenceNumber = wireSeq;
      packet.header.extensions = packet.header.extensions.map((e) =>
        e.id === twcc.id ? { id: e.id, payload: serializeTransportWideCC(wireSeq!) } : e,
      );
    }
    s.retransmittedPacketsSent++;
    s.retransmittedBytesSent += packet.payload.length;
    this.resentCount++;
    if (wireSeq !== null) this.onSent(wireSeq, packet.serializeSize);
    // A send on a closing transport fails like werift's own retransmissions do: nothing to recover.
    s.dtlsTransport.sendRtp(packet.payload, packet.header).catch(() => undefined);
  }
}
