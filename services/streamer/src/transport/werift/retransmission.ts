// A longer retransmission history than werift's. werift 0.24.4 answers a NACK from the last 128 packets a sender
// sent: at 3 Mbit/s that is 0.4 s, shorter than one round trip through a full 400 ms modem queue, or a 200 ms radio
// fade plus the NACK's own trip back. A packet it has forgotten is never resent, and the app keeps waiting for it
// (Chromium sends no keyframe request while retransmission may still come): in the network lab the picture froze
// until the next periodic keyframe, 2 s, after every bandwidth step and loss burst.
//
// So every packet werift sends is also kept here (the very RtpPacket werift sent: its SSRC, payload type, sequence
// number and header extensions) for up to MAX_AGE_MS, and a NACK for a packet werift no longer has is answered from
// here, on the RTX stream as werift would. werift answers the ones it still has: none is sent twice.
import { wrapRtx, type RtpHeader, type RtpPacket } from 'werift';

/** The werift 0.24.4 RTCRtpSender fields this reads and advances (private in its typings). */
export interface WeriftSenderInternals {
  rtpCache: (RtpPacket | undefined)[];
  sequenceNumber?: number;
  rtxPayloadType?: number;
  rtxSequenceNumber: number;
  readonly rtxSsrc: number;
  retransmittedPacketsSent: number;
  retransmittedBytesSent: number;
  dtlsTransport: { sendRtp(payload: Buffer, header: RtpHeader): Promise<unknown> };
}

/** werift's RTP_HISTORY_SIZE. */
const WERIFT_HISTORY = 128;
/** 1,024 packets: 2.7 s at 3 Mbit/s; MAX_AGE_MS bounds it at lower rates. */
const HISTORY = 1024;
/** Older than this, a retransmission arrives after the app has given the frame up. */
export const MAX_AGE_MS = 1500;

interface Kept {
  packet: RtpPacket;
  atMs: number;
}

export class RetransmissionHistory {
  private readonly kept: (Kept | undefined)[] = new Array<Kept | undefined>(HISTORY);
  private resentCount = 0;

  constructor(private readonly sender: WeriftSenderInternals) {}

  /** For a werift RTCRtpSender; null when its internals are not the ones this was written against. */
  static attach(sender: unknown): RetransmissionHistory | null {
    const s = sender as Partial<WeriftSenderInternals> | null;
    const fits =
      !!s &&
      Array.isArray(s.rtpCache) &&
      typeof s.rtxSequenceNumber === 'number' &&
      typeof s.rtxSsrc === 'number' &&
      typeof s.retransmittedPacketsSent === 'number' &&
      typeof s.dtlsTransport?.sendRtp === 'function';
    return fits ? new RetransmissionHistory(s as WeriftSenderInternals) : null;
  }

  /** Packets answered here (that werift had forgotten). */
  get resent(): number {
    return this.resentCount;
  }

  /** Right after werift sent a packet: keep what it sent. */
  recordLastSent(nowMs: number): void {
    const seq = this.sender.sequenceNumber;
    if (seq === undefined) return;
    const packet = this.sender.rtpCache[seq % WERIFT_HISTORY];
    if (packet?.header.sequenceNumber !== seq) return;
    this.kept[seq % HISTORY] = { packet, atMs: nowMs };
  }

  /** The app lost these sequence numbers: resend those werift no longer has. */
  onNack(lost: readonly number[], nowMs: number): void {
    for (const seq of lost) {
      if (this.sender.rtpCache[seq % WERIFT_HISTORY]?.header.sequenceNumber === seq) continue; // werift answers
      const k = this.kept[seq % HISTORY];
      if (!k || k.packet.header.sequenceNumber !== seq || nowMs - k.atMs > MAX_AGE_MS) continue;
      this.resend(k.packet);
    }
  }

  private resend(original: RtpPacket): void {
    const s = this.sender;
    let packet = original;
    if (s.rtxPayloadType !== undefined) {
      packet = wrapRtx(original, s.rtxPayloadType, s.rtxSequenceNumber, s.rtxSsrc);
      s.rtxSequenceNumber = (s.rtxSequenceNumber + 1) & 0xffff;
    }
    s.retransmittedPacketsSent++;
    s.retransmittedBytesSent += packet.payload.length;
    this.resentCount++;
    // A send on a closing transport fails like werift's own retransmissions do: nothing to recover.
    s.dtlsTransport.sendRtp(packet.payload, packet.header).catch(() => undefined);
  }
}
