// One robot sender on werift: writes RTP through the track and records each packet's transport-wide sequence
// number for the bandwidth estimator; RTCP feedback for its SSRC is fed in by the session's feedback router.
import { RtpPacket, type MediaStreamTrack } from 'werift';
import { TypedEmitter } from '@robostream/protocol/client';
import type { KeyframeReason, SendCodec, SendTrack } from '../peer-session.js';
import type { RetransmissionHistory } from './retransmission.js';
import { wantsFreshKeyframe, type JoinBuffer } from '../../media/join-buffer.js';

export interface SendTrackEvents {
  keyframe: KeyframeReason;
  loss: number;
  remb: number;
  /** Sequence numbers the app reported lost (a generic NACK). */
  nack: readonly number[];
}

/** The DTLS transport werift sends on (one per bundled transport): its transport-wide counter and its state. */
export interface SendTransport {
  readonly transportSequenceNumber: number;
  readonly state: string;
}

export interface SendTrackOptions {
  /** A header extension werift does not know, stamped on every packet (playout delay). */
  extraExtension?: { id: number; payload: Buffer } | null;
  /** Answers the NACKs werift's own short history cannot (video). */
  history?: RetransmissionHistory | null;
  /** Holds a joining viewer's first frames until DTLS is up (video). */
  join?: JoinBuffer | null;
}

export class WeriftSendTrack extends TypedEmitter<SendTrackEvents> implements SendTrack {
  private readonly extraExtension: { id: number; payload: Buffer } | null;
  private readonly history: RetransmissionHistory | null;
  /** Set until the app's stream has started on a keyframe (a transport that fails later never comes back). */
  private join: JoinBuffer | null;

  constructor(
    readonly mid: string,
    readonly codec: SendCodec,
    readonly ssrc: number,
    private readonly track: MediaStreamTrack,
    private readonly transport: () => SendTransport | undefined,
    private readonly onSent: (wireSeq: number, size: number) => void,
    options: SendTrackOptions = {},
  ) {
    super();
    this.extraExtension = options.extraExtension ?? null;
    this.history = options.history ?? null;
    this.join = options.join ?? null;
    const history = this.history;
    if (history) this.on('nack', (lost) => history.onNack(lost, performance.now()));
  }

  write(rtpPacket: Buffer, at?: number): void {
    const join = this.join;
    if (!join) return this.send(rtpPacket);
    // werift drops what it cannot send yet: hold it. Once DTLS is up, the run from the latest keyframe goes out
    // first, and until there is one nothing does (frames a new viewer could not decode).
    join.push(rtpPacket, at ?? performance.now());
    if (this.transport()?.state === 'connected') this.releaseHeld();
  }

  /**
   * The transport is up: sends the held run. False when it held no keyframe recent enough: the app needs one
   * (and gets nothing before it).
   */
  connected(): boolean {
    return this.join === null || this.releaseHeld();
  }

  /**
   * True when the keyframe held would likely be too old to send by the time DTLS is up (none held yet, or held for
   * more than half the hold's limit), so one more is worth asking for now: when the viewer subscribes, and again
   * when ICE is up (DTLS follows within a round trip or two).
   */
  wantsFreshKeyframe(): boolean {
    const join = this.join;
    return join !== null && wantsFreshKeyframe(join.heldAgeMs(performance.now()), join.maxAgeMs);
  }

  private releaseHeld(): boolean {
    const held = this.join?.take(performance.now()) ?? [];
    if (held.length === 0) return false;
    this.join = null;
    for (const packet of held) this.send(packet);
    return true;
  }

  private send(rtpPacket: Buffer): void {
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
    this.join?.clear();
    this.track.stop();
  }

  onKeyframeRequest(listener: (reason: KeyframeReason) => void): void {
    this.on('keyframe', listener);
  }
  onLossReport(listener: (fractionLost: number) => void): void {
    this.on('loss', listener);
  }
  onRemb(listener: (bitsPerSecond: number) => void): void {
    this.on('remb', listener);
  }
}
