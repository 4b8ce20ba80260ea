// One robot sender on werift: writes RTP through the track and records each packet's transport-wide sequence
// number for the bandwidth estimator; RTCP feedback for its SSRC is fed in by the session's feedback router.
import { RtpPacket, type MediaStreamTrack } from 'werift';
import { TypedEmitter } from '@robostream/protocol/client';
import type { SendCodec, SendTrack } from '../peer-session.js';
import type { RetransmissionHistory } from './retransmission.js';

export interface SendTrackEvents {
  keyframe: 'pli' | 'fir' | 'connected';
  loss: number;
  remb: number;
  /** Sequence numbers the app reported lost (a generic NACK). */
  nack: readonly number[];
}

/** The transport-wide sequence counter werift keeps on its DTLS transport (one per bundled transport). */
export interface TransportSequence {
  readonly transportSequenceNumber: number;
}

export class WeriftSendTrack extends TypedEmitter<SendTrackEvents> implements SendTrack {
  constructor(
    readonly mid: string,
    readonly codec: SendCodec,
    readonly ssrc: number,
    private readonly track: MediaStreamTrack,
    private readonly transport: () => TransportSequence | undefined,
    private readonly onSent: (wireSeq: number, size: number) => void,
    /** A header extension werift does not know, stamped on every packet (playout delay), or null. */
    private readonly extraExtension: { id: number; payload: Buffer } | null = null,
    /** Answers the NACKs werift's own short history cannot (video), or null. */
    private readonly history: RetransmissionHistory | null = null,
  ) {
    super();
    if (history) this.on('nack', (lost) => history.onNack(lost, performance.now()));
  }

  write(rtpPacket: Buffer): void {
    const t = this.transport();
    const before = t?.transportSequenceNumber;
    let packet: Buffer | RtpPacket = rtpPacket;
    if (this.extraExtension) {
      // werift keeps extensions the packet already carries; it would parse the buffer anyway.
      packet = RtpPacket.deSerialize(rtpPacket);
      packet.header.extensions.push(this.extraExtension);
    }
    // werift stamps the header extension and sends synchronously inside writeRtp (up to the socket write), so
    // the counter moved by one exactly when this packet went out with transport-cc negotiated.
    this.track.writeRtp(packet);
    this.history?.recordLastSent(performance.now());
    const after = t?.transportSequenceNumber;
    if (after !== undefined && after !== before) this.onSent(after, rtpPacket.length);
  }

  fire<K extends keyof SendTrackEvents>(event: K, payload: SendTrackEvents[K]): void {
    this.emit(event, payload);
  }

  stop(): void {
    this.track.stop();
  }

  onKeyframeRequest(listener: (reason: 'pli' | 'fir' | 'connected') => void): void {
    this.on('keyframe', listener);
  }
  onLossReport(listener: (fractionLost: number) => void): void {
    this.on('loss', listener);
  }
  onRemb(listener: (bitsPerSecond: number) => void): void {
    this.on('remb', listener);
  }
}
