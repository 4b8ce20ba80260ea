// The transport the streamer needs from a WebRTC engine, small enough that werift could be swapped for
// GStreamer's webrtcbin later. The app offers and the robot answers (as WHEP does), so a session is driven by
// applyOffer -> (send | receive | decline per m-line) -> createAnswer.
import type { IceServerConfig } from '../config.js';
import type { RemoteCodec } from '../media/sinks.js';
import type { EstimatorSnapshot } from './congestion/bandwidth-estimator.js';

export type MediaKind = 'audio' | 'video';
export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
export type SendCodec = 'h264' | 'vp8' | 'opus';
export type PeerConnectionState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

/** One m-line of the app's offer, with the direction as the app wrote it and its codecs in its order. */
export interface OfferedMedia {
  mid: string;
  kind: MediaKind;
  direction: MediaDirection;
  codecs: string[];
}

export interface IceCandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/**
 * Why the app needs a keyframe: its PLI or FIR; its connection just came up without one held for it
 * (`connected`); or ICE is up and what is held would be too old by the time DTLS is (`ice-connected`).
 */
export type KeyframeReason = 'pli' | 'fir' | 'connected' | 'ice-connected';

/** What the robot sends on one m-line. Feedback arrives from the app's RTCP for this sender's SSRC. */
export interface SendTrack {
  readonly mid: string;
  readonly codec: SendCodec;
  /**
   * Video written before the transport is up is held from the latest keyframe on and sent first once it is up
   * (../media/join-buffer.ts); the app's stream starts on a keyframe. `at`: when a replayed packet was encoded
   * (the hold's age counts from then), else now.
   */
  write(rtpPacket: Buffer, at?: number): void;
  /** Video not sent yet: true when no keyframe is held, or one old enough that a fresh one is worth asking for. */
  wantsFreshKeyframe(): boolean;
  onKeyframeRequest(listener: (reason: KeyframeReason) => void): void;
  /** Receiver-report fraction lost, in [0, 1]. */
  onLossReport(listener: (fractionLost: number) => void): void;
  onRemb(listener: (bitsPerSecond: number) => void): void;
}

/** What the app sends on one m-line (its microphone, its camera). */
export interface RemoteTrack {
  readonly mid: string;
  readonly kind: MediaKind;
  readonly codec: RemoteCodec;
  onRtp(listener: (rtpPacket: Buffer) => void): void;
  requestKeyframe(): void;
}

export interface OutboundStats {
  mid: string;
  kind: MediaKind;
  packetsSent: number;
  bytesSent: number;
  fractionLost: number | null;
  roundTripTimeMs: number | null;
}

export interface InboundStats {
  mid: string;
  kind: MediaKind;
  packetsReceived: number;
  bytesReceived: number;
  packetsLost: number;
}

export interface TransportStats {
  connectionState: PeerConnectionState;
  localCandidateType: string | null;
  remoteCandidateType: string | null;
  roundTripTimeMs: number | null;
  outbound: OutboundStats[];
  inbound: InboundStats[];
  /** The send-side bandwidth estimate, once the app sends transport-wide feedback (null before, or never). */
  bandwidth: EstimatorSnapshot | null;
}

export interface PeerSessionOptions {
  iceServers: IceServerConfig[];
  iceTransportPolicy: 'all' | 'relay';
  icePortRange: [number, number] | null;
  includeLoopback: boolean;
  /** The one video codec this session will use in every video m-line (chosen from the offer beforehand). */
  videoCodec: 'h264' | 'vp8';
  /** Upper bound of the app's playout delay for video (playout-delay extension), or null to send none. */
  playoutDelayMaxMs: number | null;
  /** Bounds and start of the send-side estimate for everything this session sends (kbit/s). */
  bandwidth: { minKbps: number; maxKbps: number; startKbps: number };
  /**
   * The answer lists every local candidate (WHEP: nothing is trickled). Otherwise it goes out with the host
   * candidates and the ICE servers' candidates follow through onLocalCandidate, so no answer waits for a server.
   */
  completeAnswer: boolean;
}

export interface PeerSession {
  readonly id: string;
  readonly connectionState: PeerConnectionState;
  /** The app closed its end of the connection (its DTLS close): the session ended by the app's will. */
  readonly closedByPeer: boolean;
  /**
   * Applies an offer (the first, or a later one for an ICE restart) and lists its media sections. An offer that is
   * malformed or that the engine refuses rejects with BadOfferError (@robostream/protocol/client), the engine's words in it.
   */
  applyOffer(offerSdp: string): Promise<OfferedMedia[]>;
  /** Sends robot media on `mid`; the app must have offered to receive there. */
  send(mid: string, codec: SendCodec): SendTrack;
  /** Accepts what the app sends on `mid`; the listener gets the track once its first SSRC is known. */
  receive(mid: string, listener: (track: RemoteTrack) => void): void;
  /** Answers `mid` as inactive. */
  decline(mid: string): void;
  /** Creates and applies the answer; local ICE candidates start flowing to onLocalCandidate. */
  createAnswer(): Promise<string>;
  /** The current local description; once gathering is complete it carries every local candidate (WHEP). */
  localDescription(): string | null;
  /** null or an empty candidate marks the end of the app's candidates. */
  addRemoteCandidate(candidate: IceCandidateInit | null): Promise<void>;
  /** Candidates gathered before a listener is attached are kept and replayed to it; null ends gathering. */
  onLocalCandidate(listener: (candidate: IceCandidateInit | null) => void): void;
  /** 'disconnected' is also reported when the app has sent nothing for a few seconds (the path is gone). */
  onConnectionState(listener: (state: PeerConnectionState) => void): void;
  /**
   * The send-side bandwidth estimate for everything this session sends (kbit/s), from the app's transport-wide
   * feedback: delay-based (a growing queue) and loss-based. Never fires when the app does not negotiate
   * transport-cc; the per-track loss and REMB reports are the fallback then. `limited` is true while the estimate
   * is held down by the path (congestion seen and not outgrown), false while it is still probing upwards.
   * `detail()` is what the estimate was made from (for logs; built only when asked, not per feedback).
   */
  onTargetBitrate(listener: (kbps: number, limited: boolean, detail: () => EstimatorSnapshot) => void): void;
  getStats(): Promise<TransportStats>;
  /** The robot's own addresses changed (a hand-over): show the app the new path now, not at the next keepalive. */
  localAddressesChanged(): void;
  close(): Promise<void>;
}

export type PeerSessionFactory = (id: string, options: PeerSessionOptions) => PeerSession;
