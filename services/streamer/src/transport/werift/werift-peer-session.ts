// PeerSession on werift 0.24.4 (the last release that runs on Node 20): the adapter. Its parts live beside it:
// codecs.ts (what is negotiated), send-track.ts (a sender), rtcp-feedback.ts (RTCP routed by SSRC),
// ice-nudge.ts (a STUN request at once after a hand-over), @robostream/gateway/werift-dtls-start (the DTLS
// handshake without werift's 100 ms wait), @robostream/gateway/werift-native-x25519 (its key exchange in OpenSSL),
// trickle-gathering.ts (no answer waits for an ICE server),
// retransmission.ts (NACKs answered from a longer history than werift's,
// each with a new transport-wide number), silence-watchdog.ts (werift never reports 'disconnected'),
// werift-stats.ts (getStats), ../sdp.ts (SDP fixes), ../congestion/ (the send-side bandwidth estimator fed by
// transport-wide feedback).
// werift behaviours worked around here:
//  - werift drops packets written before DTLS is up: video is held from the latest keyframe (../../media/join-buffer.ts)
//    and sent when DTLS is up; without a recent keyframe held, one is requested when the connection is 'connected';
//  - an ICE-restart offer is mistaken for renomination when the offer has an inactive m-line, so the restart is
//    done by hand before the offer is applied, and the new checks are started after the answer;
//  - werift's answer bundles m-lines the offer left out of its group (narrowed, see ../sdp.ts).
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RtcpRrPacket,
  RtcpSrPacket,
  type RTCRtpTransceiver,
} from 'werift';
import { TypedEmitter } from '@robostream/protocol/client';
import { withoutImplicitStun } from '@robostream/protocol/ice-server-probe';
import type { IceServerConfig } from '../../config.js';
import type {
  IceCandidateInit,
  OfferedMedia,
  PeerConnectionState,
  PeerSession,
  PeerSessionOptions,
  RemoteTrack,
  SendCodec,
  SendTrack,
  TransportStats,
} from '../peer-session.js';
import { bundleMids, iceUfrag, narrowBundle, oneIceGeneration } from '../sdp.js';
import { BandwidthEstimator, type EstimatorSnapshot } from '../congestion/bandwidth-estimator.js';
import {
  PLAYOUT_DELAY_URI,
  narrowCodecs,
  parseOfferedMedia,
  playoutDelayPayload,
  weriftCodecs,
  weriftHeaderExtensions,
} from './codecs.js';
import { nudgeIce } from './ice-nudge.js';
import { routeRtcp } from './rtcp-feedback.js';
import { answerReferenceTimes } from './receiver-rtt.js';
import { raisePairRtt } from './pair-rtt.js';
import { fixSenderReportClock } from './sender-report-clock.js';
import { RetransmissionHistory } from './retransmission.js';
import { startDtlsAtOnce } from '@robostream/gateway/werift-dtls-start';
import { useNativeX25519 } from '@robostream/gateway/werift-native-x25519';
import { releaseTurnAllocations } from '@robostream/gateway/werift-turn-release';
import { permitOwnRelayIps } from '@robostream/gateway/werift-turn-self-permission';
import { WeriftSendTrack } from './send-track.js';
import { JoinBuffer, JOIN_HOLD_MAX_MS } from '../../media/join-buffer.js';
import { startsKeyframe } from '../../media/rtp-keyframe.js';
import { SilenceWatchdog } from './silence-watchdog.js';
import {
  trickleServerCandidates,
  withoutEndOfCandidates,
  type TrickledGathering,
} from './trickle-gathering.js';
import { mapStats } from './werift-stats.js';
import { badOffer } from '@robostream/protocol/client';

export { parseOfferedMedia } from './codecs.js';
export { DISCONNECTED_AFTER_MS } from './silence-watchdog.js';

// The DTLS key exchange in OpenSSL, not in JavaScript on the main thread.
useNativeX25519();

interface SessionEvents {
  state: PeerConnectionState;
  target: { kbps: number; limited: boolean };
}

export class WeriftPeerSession extends TypedEmitter<SessionEvents> implements PeerSession {
  private readonly pc: RTCPeerConnection;
  private readonly senders = new Map<number, WeriftSendTrack>();
  private readonly sendersByMid = new Map<string, WeriftSendTrack>();
  private readonly receiving = new Set<string>();
  private readonly candidateQueue: (IceCandidateInit | null)[] = [];
  private candidateListener: ((c: IceCandidateInit | null) => void) | null = null;
  private readonly silence: SilenceWatchdog;
  private readonly estimator: BandwidthEstimator;
  private rtcpSubscribed = false;
  private remoteUfrag: string | null = null;
  private iceRestartPending = false;
  private offeredBundle: string[] | null = null;
  private readonly playoutDelayMaxMs: number | null;
  private readonly iceServers: IceServerConfig[];
  private readonly completeAnswer: boolean;
  /** Gatherings whose server candidates are trickled after the answer (none for a complete answer). */
  private readonly trickled: TrickledGathering[] = [];
  private readonly watchedDtls = new WeakSet<object>();
  private closing = false;
  /** The app closed its end (DTLS close_notify): final, whatever ICE still says. */
  private peerClosed = false;

  constructor(
    readonly id: string,
    options: PeerSessionOptions,
  ) {
    super();
    this.playoutDelayMaxMs = options.playoutDelayMaxMs;
    this.iceServers = options.iceServers;
    this.completeAnswer = options.completeAnswer;
    const { minKbps, maxKbps, startKbps } = options.bandwidth;
    this.estimator = new BandwidthEstimator({ minKbps, maxKbps }, startKbps);
    this.pc = new RTCPeerConnection({
      // Always explicit: werift's default is a public STUN host, unreachable from many robots (and without a
      // stun: URL here it would still query that host: createAnswer() stops it).
      iceServers: options.iceServers,
      iceTransportPolicy: options.iceTransportPolicy,
      // One transport for every m-line: one TURN allocation, not one per media section.
      bundlePolicy: 'max-bundle',
      icePortRange: options.icePortRange ?? undefined,
      iceAdditionalHostAddresses: options.includeLoopback ? ['127.0.0.1'] : undefined,
      codecs: weriftCodecs(options.videoCodec),
      headerExtensions: weriftHeaderExtensions,
    });
    this.silence = new SilenceWatchdog((silent) => {
      if (this.pc.connectionState !== 'connected') return;
      if (!silent) this.requestKeyframes();
      this.emit('state', silent ? 'disconnected' : 'connected');
    });
    this.pc.onIceCandidate.subscribe((c) => {
      // The end is announced once, below, when the candidates still coming from ICE servers are in too.
      if (c)
        this.deliverCandidate({
          candidate: c.candidate,
          sdpMid: c.sdpMid ?? null,
          sdpMLineIndex: c.sdpMLineIndex ?? null,
        });
    });
    this.pc.iceGatheringStateChange.subscribe((state) => {
      if (state !== 'complete') return;
      void Promise.all(this.trickled.map((g) => g.allGathered())).then(() => {
        if (this.pc.connectionState !== 'closed') this.deliverCandidate(null);
      });
    });
    this.pc.iceConnectionStateChange.subscribe((state) => {
      // A slow path (TURN, a long round trip): the keyframe asked for at the answer may be too old to send when
      // DTLS is up; one asked for now is encoded while DTLS completes.
      if (state !== 'connected' || this.pc.connectionState === 'connected') return;
      for (const s of this.videoSenders()) if (s.wantsFreshKeyframe()) s.fire('keyframe', 'ice-connected');
    });
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') {
        this.silence.start();
        // Held frames go out first; only a sender that held no keyframe asks for one.
        for (const s of this.videoSenders()) if (!s.connected()) s.fire('keyframe', 'connected');
      } else if (state === 'failed' || state === 'closed') {
        this.silence.stop();
      }
      this.emit('state', state);
    });
  }

  get closedByPeer(): boolean {
    return this.peerClosed;
  }

  get connectionState(): PeerConnectionState {
    if (this.peerClosed) return 'closed';
    const state = this.pc.connectionState;
    return state === 'connected' && this.silence.silent ? 'disconnected' : state;
  }

  private deliverCandidate(c: IceCandidateInit | null): void {
    if (this.candidateListener) this.candidateListener(c);
    else this.candidateQueue.push(c);
  }

  private videoSenders(): WeriftSendTrack[] {
    return [...this.sendersByMid.values()].filter((s) => s.codec !== 'opus');
  }

  private requestKeyframes(): void {
    for (const s of this.videoSenders()) s.fire('keyframe', 'connected');
  }

  async applyOffer(offerSdp: string): Promise<OfferedMedia[]> {
    // Read (and checked) first: an offer that is refused leaves the session as it was.
    const offered = parseOfferedMedia(offerSdp);
    const ufrag = iceUfrag(offerSdp);
    if (this.remoteUfrag !== null && ufrag !== this.remoteUfrag) {
      // An ICE-restart offer: new local credentials and a fresh gathering before the offer is applied.
      for (const dtls of this.pc.dtlsTransports) dtls.iceTransport.restart();
      this.iceRestartPending = true;
    }
    this.remoteUfrag = ufrag;
    this.offeredBundle = bundleMids(offerSdp);
    try {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: oneIceGeneration(offerSdp) });
    } catch (err) {
      throw badOffer('the offer cannot be applied', err);
    }
    for (const dtls of this.pc.dtlsTransports) {
      this.watchPeerClose(dtls);
      startDtlsAtOnce(dtls, { atNomination: true });
      const gathering = this.completeAnswer ? null : trickleServerCandidates(dtls.iceTransport);
      if (gathering && !this.trickled.includes(gathering)) this.trickled.push(gathering);
    }
    this.subscribeRtcp();
    return offered;
  }

  send(mid: string, codec: SendCodec): SendTrack {
    const existing = this.sendersByMid.get(mid);
    if (existing) return existing;
    const t = this.transceiver(mid);
    narrowCodecs(t, codec);
    t.setDirection(t.kind === 'audio' && this.receiving.has(mid) ? 'sendrecv' : 'sendonly');
    const track = new MediaStreamTrack({ kind: t.kind });
    void t.sender.replaceTrack(track);
    // werift's own sender estimator is unused here (see ../congestion/); with transport-cc negotiated it would keep
    // a record of every packet (up to 65,536 per sender, for the whole session) and parse every feedback again.
    t.sender.senderBWE.rtpPacketSent = () => undefined;
    t.sender.senderBWE.receiveTWCC = () => undefined;
    // Media and retransmissions alike: the estimator sees every byte this session puts on the path.
    const onSent = (seq: number, size: number): void =>
      this.estimator.onPacketSent(seq, size, performance.now());
    const send = new WeriftSendTrack(
      mid,
      codec,
      t.sender.ssrc,
      track,
      () => this.pc.dtlsTransports[0],
      onSent,
      t.kind === 'video' && codec !== 'opus'
        ? {
            extraExtension: this.playoutDelayExtension(t),
            history: RetransmissionHistory.attach(t.sender, onSent, {
              queueMs: () => this.estimator.pathQueueMs,
              // Without transport-wide feedback there is no send-side estimate to hold resends to.
              rateKbps: () => (this.estimator.active ? this.estimator.targetKbps : Infinity),
            }),
            join:
              this.pc.connectionState === 'connected'
                ? null
                : new JoinBuffer((p) => startsKeyframe(codec, p), JOIN_HOLD_MAX_MS),
          }
        : {},
    );
    fixSenderReportClock(t.sender);
    this.senders.set(t.sender.ssrc, send);
    this.sendersByMid.set(mid, send);
    return send;
  }

  // One-byte header extensions only (ids 1-14): Chromium offers playout-delay with a small id.
  private playoutDelayExtension(t: RTCRtpTransceiver): { id: number; payload: Buffer } | null {
    if (t.kind !== 'video' || this.playoutDelayMaxMs === null) return null;
    const ext = t.headerExtensions.find((e) => e.uri === PLAYOUT_DELAY_URI);
    if (!ext || ext.id < 1 || ext.id > 14) return null;
    return { id: ext.id, payload: playoutDelayPayload(0, this.playoutDelayMaxMs) };
  }

  receive(mid: string, listener: (track: RemoteTrack) => void): void {
    const t = this.transceiver(mid);
    if (!this.sendersByMid.has(mid)) {
      const name = t.codecs
        .find((c) => ['h264', 'vp8', 'opus'].includes(c.name.toLowerCase()))
        ?.name.toLowerCase();
      if (name) narrowCodecs(t, name as SendCodec);
    }
    this.receiving.add(mid);
    t.setDirection(this.sendersByMid.has(mid) ? 'sendrecv' : 'recvonly');
    const deliver = (track: MediaStreamTrack): void => listener(this.remoteTrack(mid, t, track));
    for (const track of t.receiver.tracks) deliver(track);
    t.onTrack.subscribe((track) => deliver(track));
  }

  decline(mid: string): void {
    this.transceiver(mid).setDirection('inactive');
  }

  async createAnswer(): Promise<string> {
    // werift refuses some applied offers only here (e.g. two mids in one section: "sctpTransport not found").
    try {
      const answer = await this.pc.createAnswer();
      withoutImplicitStun(this.pc, this.iceServers);
      await this.pc.setLocalDescription(answer);
    } catch (err) {
      throw badOffer('the offer cannot be answered', err);
    }
    const local = this.pc.localDescription;
    if (!local) throw new Error('no local description after setLocalDescription');
    // The app's checks through the same TURN server get in before its relayed candidate does (a relay-only session
    // has its allocation by now; one that comes later, trickled, gets it in trickle-gathering.ts).
    permitOwnRelayIps(this.pc);
    this.startRestartedIce();
    // Candidates from ICE servers may still come (trickled); werift marks the answer complete regardless.
    const sdp = this.trickled.length > 0 ? withoutEndOfCandidates(local.sdp) : local.sdp;
    return narrowBundle(sdp, this.offeredBundle);
  }

  // werift 0.24.4 answering an ICE-restart offer gathers anew but never starts the new ICE checks: its connect()
  // returns early because DTLS is still up (and its ICE transport still reads 'completed'). Start them here;
  // DTLS then carries on over the new pair.
  private startRestartedIce(): void {
    if (!this.iceRestartPending) return;
    this.iceRestartPending = false;
    for (const dtls of this.pc.dtlsTransports) {
      if (dtls.state !== 'connected') continue;
      dtls.iceTransport.start().catch(() => this.emit('state', 'failed'));
    }
  }

  async addRemoteCandidate(candidate: IceCandidateInit | null): Promise<void> {
    // Chromium ends its candidates with an empty one; werift needs nothing for that.
    if (!candidate || candidate.candidate === '') return;
    await this.pc.addIceCandidate({
      candidate: candidate.candidate,
      sdpMid: candidate.sdpMid ?? undefined,
      sdpMLineIndex: candidate.sdpMLineIndex ?? undefined,
      usernameFragment: candidate.usernameFragment ?? undefined,
    });
  }

  onLocalCandidate(listener: (candidate: IceCandidateInit | null) => void): void {
    this.candidateListener = listener;
    for (const c of this.candidateQueue.splice(0)) listener(c);
  }

  onConnectionState(listener: (state: PeerConnectionState) => void): void {
    this.on('state', listener);
  }

  localAddressesChanged(): void {
    nudgeIce(this.pc);
  }

  onTargetBitrate(listener: (kbps: number, limited: boolean, detail: () => EstimatorSnapshot) => void): void {
    this.on('target', (t) => listener(t.kbps, t.limited, () => this.estimator.snapshot()));
  }

  async getStats(): Promise<TransportStats> {
    const report = (await this.pc.getStats()) as unknown as Map<string, unknown>;
    const stats = mapStats(report, (ssrc) => this.senders.get(ssrc)?.mid, this.connectionState);
    return { ...stats, bandwidth: this.estimator.active ? this.estimator.snapshot() : null };
  }

  localDescription(): string | null {
    const sdp = this.pc.localDescription?.sdp;
    return sdp ? narrowBundle(sdp, this.offeredBundle) : null;
  }

  /**
   * An app that closes its peer connection sends a DTLS close_notify (a browser does so for a page it tears down,
   * even when what the page said last to signaling is lost). werift marks the DTLS transport closed but leaves the
   * connection state as ICE has it, so without this the viewer would hold its seat until its silence is noticed
   * and beyond (an app still signaled is asked for an ICE restart first).
   */
  private watchPeerClose(dtls: RTCPeerConnection['dtlsTransports'][number]): void {
    if (this.watchedDtls.has(dtls)) return;
    this.watchedDtls.add(dtls);
    dtls.onStateChange.subscribe((state) => {
      if (state !== 'closed' || this.closing || this.peerClosed || this.pc.connectionState === 'closed')
        return;
      this.peerClosed = true;
      this.silence.stop();
      this.emit('state', 'closed');
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    this.silence.stop();
    for (const s of this.sendersByMid.values()) s.stop();
    // The TURN server frees the session's relay ports now, not at their expiry (werift-turn-release).
    await releaseTurnAllocations(this.pc);
    await this.pc.close();
  }

  private transceiver(mid: string): RTCRtpTransceiver {
    const t = this.pc.getTransceivers().find((x) => x.mid === mid);
    if (!t) throw new Error(`no media section with mid ${mid}`);
    return t;
  }

  private remoteTrack(mid: string, t: RTCRtpTransceiver, track: MediaStreamTrack): RemoteTrack {
    // The answer narrowed the m-line to one codec, which is what the app sends with.
    const codec = t.codecs[0] ?? track.codec;
    return {
      mid,
      kind: t.kind as 'audio' | 'video',
      codec: {
        name: (codec?.name ?? 'unknown').toLowerCase(),
        payloadType: codec?.payloadType ?? 0,
        clockRate: codec?.clockRate ?? 90000,
      },
      onRtp: (listener) => {
        track.onReceiveRtp.subscribe((rtp) => listener(rtp.serialize()));
      },
      requestKeyframe: () => {
        if (track.ssrc !== undefined) void t.receiver.sendRtcpPLI(track.ssrc);
      },
    };
  }

  // werift's handler for the same report ran first (it subscribed when the transport was made): its senders' round
  // trips are current.
  private refreshPairRtt(): void {
    const rtts = this.pc
      .getTransceivers()
      .map((t) => (t.sender as unknown as { rtt?: unknown }).rtt)
      .filter((r): r is number => typeof r === 'number');
    if (rtts.length > 0) raisePairRtt(this.pc, Math.max(...rtts));
  }

  private subscribeRtcp(): void {
    if (this.rtcpSubscribed) return;
    const dtls = this.pc.dtlsTransports[0];
    if (!dtls) return;
    this.rtcpSubscribed = true;
    answerReferenceTimes(dtls, () => {
      for (const [ssrc, send] of this.senders) if (send.codec !== 'opus') return ssrc;
      return null;
    });
    dtls.onRtcp.subscribe((packet) => {
      this.silence.heard();
      if (packet instanceof RtcpRrPacket || packet instanceof RtcpSrPacket) this.refreshPairRtt();
      routeRtcp(
        packet,
        (ssrc) => this.senders.get(ssrc),
        (packets) => {
          const now = performance.now();
          const kbps = this.estimator.onFeedback(packets, now);
          this.emit('target', {
            kbps,
            limited: this.estimator.limited(now),
          });
        },
      );
    });
    dtls.onRtp.subscribe(() => this.silence.heard());
  }
}

export const createWeriftPeerSession = (id: string, options: PeerSessionOptions): PeerSession =>
  new WeriftPeerSession(id, options);
