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
// does): a packet is not resent again within a round trip of its last resend (the app asks again once per round
// trip it measures, which lags a queue that is filling; the earlier answer is still on its way), and all resends
// together are paced by the bandwidth estimate (RetransmissionBudget).
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
/** Older than this, a retransmission arrives after the app has given the frame up. */
export const MAX_AGE_MS = 1500;

/** Resends of one packet are at least this far apart even when the round trip is shorter or unknown. */
export const MIN_RESEND_GAP_MS = 20;
const UNKNOWN_RTT_MS = 100;

/** What bounds retransmissions: the path's round trip and the sender's bandwidth estimate, read when needed. */
export interface ResendLimits {
  /** The round trip now in milliseconds (including a queue that is building), or null before it is known. */
  rttMs(): number | null;
  /** The send-side bandwidth estimate in kbit/s: resends are paced by it. */
  rateKbps(): number;
}

interface Kept {
  packet: RtpPacket;
  atMs: number;
  resentAtMs: number;
}

export class RetransmissionHistory {
  private readonly kept: (Kept | undefined)[] = new Array<Kept | undefined>(HISTORY);
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
    this.kept[seq % HISTORY] = { packet, atMs: nowMs, resentAtMs: -Infinity };
  }

  /** The app lost these sequence numbers: resend those still kept and recent enough to matter. */
  onNack(lost: readonly number[], nowMs: number): void {
    const gap = Math.max(MIN_RESEND_GAP_MS, this.limits.rttMs() ?? UNKNOWN_RTT_MS);
    for (const seq of lost) {
      const k = this.kept[seq % HISTORY];
      if (!k || k.packet.header.sequenceNumber !== seq || nowMs - k.atMs > MAX_AGE_MS) continue;
      // Oldest first, as the NACK lists them: when the budget runs out, the frames nearest their deadline got theirs.
      if (
        nowMs - k.resentAtMs < gap ||
        !this.budget.take(k.packet.serializeSize, nowMs, this.limits.rateKbps())
      ) {
        this.withheldCount++;
        continue;
      }
      k.resentAtMs = nowMs;
      this.resend(k.packet);
    }
  }

  private resend(original: RtpPacket): void {
    const s = this.sender;
    let packet: RtpPacket;
    if (s.rtxPayloadType !== undefined) {
      packet = wrapRtx(original, s.rtxPayloadType, s.rtxSequenceNumber, s.rtxSsrc);
      s.rtxSequenceNumber = (s.rtxSequenceNumber + 1) & 0xffff;
    } else {
      // No RTX negotiated: the packet itself again, as a copy (its header changes below; the kept one must not).
      packet = RtpPacket.deSerialize(original.serialize());
    }
    const twcc = s.headerExtensions.find((e) => e.uri === TRANSPORT_CC_URI);
    let wireSeq: number | null = null;
    if (twcc) {
      const dtls = s.dtlsTransport;
      wireSeq = (dtls.transportSequenceNumber + 1) & 0xffff;
      dtls.transportSequenceNumber = wireSeq;
      // A new list: wrapRtx shares the original's list, which stays as kept.
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
