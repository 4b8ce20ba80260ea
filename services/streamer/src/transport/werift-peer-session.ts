// PeerSession on werift 0.24.4 (the last release that runs on Node 20).
// Two werift behaviours are worked around here (shared/ENVIRONMENT.md):
//  - once the app also sends audio, werift routes the app's PLI to the audio receiver, so
//    sender.onPictureLossIndication never fires. All RTCP is read from the DTLS transport instead and PLI/FIR,
//    receiver reports and REMB are matched to our senders by SSRC.
//  - a keyframe is requested when the connection becomes 'connected', since packets sent before DTLS is up are dropped.
//  - werift never reports 'disconnected' (only 'failed', 30 s after consent expires), so the session reports it
//    itself when nothing (RTP or RTCP) has arrived from the app for DISCONNECTED_AFTER_MS: an app receiving video
//    sends RTCP every second or so. Traffic coming back reports 'connected' again and asks for a keyframe.
import {
  MediaStreamTrack,
  PictureLossIndication,
  RTCPeerConnection,
  ReceiverEstimatedMaxBitrate,
  RtcpPayloadSpecificFeedback,
  RtcpRrPacket,
  RtcpSrPacket,
  SessionDescription,
  useH264,
  useOPUS,
  useVP8,
  type RTCRtpCodecParameters,
  type RTCRtpTransceiver,
  type RtcpPacket,
} from 'werift';
import type {
  IceCandidateInit,
  InboundStats,
  MediaDirection,
  OfferedMedia,
  OutboundStats,
  PeerConnectionState,
  PeerSession,
  PeerSessionOptions,
  RemoteTrack,
  SendCodec,
  SendTrack,
  TransportStats,
} from './peer-session.js';

/** Media sections of an SDP offer, parsed with werift's own SDP parser. */
export function parseOfferedMedia(offerSdp: string): OfferedMedia[] {
  return SessionDescription.parse(offerSdp)
    .media.filter((m) => m.kind === 'audio' || m.kind === 'video')
    .map((m) => ({
      mid: m.rtp.muxId ?? '',
      kind: m.kind as 'audio' | 'video',
      direction: (m.port === 0 ? 'inactive' : (m.direction ?? 'sendrecv')) as MediaDirection,
      codecs: m.rtp.codecs.map((c) => c.name.toLowerCase()),
    }));
}

/**
 * Every m-section of the offer carries the ICE credentials of its first one. With max-bundle there is one ICE
 * transport, but werift 0.24.4 applies each m-section's credentials to it in turn; Chromium's ICE-restart offer
 * keeps the old credentials in a section the robot rejected (port 0), so the transport ended up with the old
 * remote ufrag, answered Chromium's new checks but never completed its own and never selected the new pair.
 */
export function oneIceGeneration(offerSdp: string): string {
  const ufrag = /^a=ice-ufrag:(\S+)/m.exec(offerSdp)?.[1];
  const pwd = /^a=ice-pwd:(\S+)/m.exec(offerSdp)?.[1];
  if (!ufrag || !pwd) return offerSdp;
  return offerSdp
    .replace(/^a=ice-ufrag:\S+/gm, `a=ice-ufrag:${ufrag}`)
    .replace(/^a=ice-pwd:\S+/gm, `a=ice-pwd:${pwd}`);
}

// H.264 packetization-mode=1 with a Baseline or Constrained Baseline profile is what the encoders produce.
function h264Rank(codec: RTCRtpCodecParameters): number {
  const p = codec.parameters ?? '';
  const mode1 = /packetization-mode=1/.test(p);
  const baseline = /profile-level-id=42/i.test(p);
  return (mode1 ? 2 : 0) + (baseline ? 1 : 0);
}

const FIR_COUNT = 4;
/** Silence from a connected app after which the session reports 'disconnected' (Chromium uses about 2.5 s too). */
export const DISCONNECTED_AFTER_MS = 2500;
const SILENCE_CHECK_MS = 250;

class Listeners<T extends unknown[]> {
  private readonly set = new Set<(...args: T) => void>();
  add(listener: (...args: T) => void): void {
    this.set.add(listener);
  }
  emit(...args: T): void {
    for (const l of this.set) l(...args);
  }
}

class WeriftSendTrack implements SendTrack {
  readonly keyframe = new Listeners<['pli' | 'fir' | 'connected']>();
  readonly loss = new Listeners<[number]>();
  readonly remb = new Listeners<[number]>();

  constructor(
    readonly mid: string,
    readonly codec: SendCodec,
    readonly ssrc: number,
    private readonly track: MediaStreamTrack,
  ) {}

  write(rtpPacket: Buffer): void {
    this.track.writeRtp(rtpPacket);
  }
  onKeyframeRequest(listener: (reason: 'pli' | 'fir' | 'connected') => void): void {
    this.keyframe.add(listener);
  }
  onLossReport(listener: (fractionLost: number) => void): void {
    this.loss.add(listener);
  }
  onRemb(listener: (bitsPerSecond: number) => void): void {
    this.remb.add(listener);
  }
}

export class WeriftPeerSession implements PeerSession {
  private readonly pc: RTCPeerConnection;
  private readonly senders = new Map<number, WeriftSendTrack>();
  private readonly sendersByMid = new Map<string, WeriftSendTrack>();
  private readonly receiving = new Set<string>();
  private readonly candidateQueue: (IceCandidateInit | null)[] = [];
  private candidateListener: ((c: IceCandidateInit | null) => void) | null = null;
  private readonly stateListeners = new Listeners<[PeerConnectionState]>();
  private rtcpSubscribed = false;
  private lastInboundAt = 0;
  private remoteUfrag: string | null = null;
  private iceRestartPending = false;
  private offeredBundle: string[] | null = null;
  private silent = false;
  private silenceTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly id: string,
    options: PeerSessionOptions,
  ) {
    this.pc = new RTCPeerConnection({
      // Always explicit: werift's default is a public STUN host, unreachable from many robots.
      iceServers: options.iceServers,
      iceTransportPolicy: options.iceTransportPolicy,
      // One transport for every m-line: one TURN allocation, not one per media section.
      bundlePolicy: 'max-bundle',
      icePortRange: options.icePortRange ?? undefined,
      iceAdditionalHostAddresses: options.includeLoopback ? ['127.0.0.1'] : undefined,
      codecs: {
        video: [options.videoCodec === 'vp8' ? useVP8() : useH264()],
        audio: [useOPUS()],
      },
    });
    this.pc.onIceCandidate.subscribe((c) => {
      const init = c
        ? { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null }
        : null;
      if (this.candidateListener) this.candidateListener(init);
      else this.candidateQueue.push(init);
    });
    this.pc.iceGatheringStateChange.subscribe((state) => {
      if (state === 'complete') {
        if (this.candidateListener) this.candidateListener(null);
        else this.candidateQueue.push(null);
      }
    });
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') {
        this.lastInboundAt = performance.now();
        this.silent = false;
        this.watchSilence();
        this.requestKeyframes();
      } else if (state === 'failed' || state === 'closed') {
        this.stopWatchingSilence();
      }
      this.stateListeners.emit(state);
    });
  }

  get connectionState(): PeerConnectionState {
    const state = this.pc.connectionState;
    return state === 'connected' && this.silent ? 'disconnected' : state;
  }

  private requestKeyframes(): void {
    for (const s of this.sendersByMid.values()) if (s.codec !== 'opus') s.keyframe.emit('connected');
  }

  private watchSilence(): void {
    if (this.silenceTimer) return;
    this.silenceTimer = setInterval(() => {
      if (this.pc.connectionState !== 'connected') return;
      const quiet = performance.now() - this.lastInboundAt > DISCONNECTED_AFTER_MS;
      if (quiet && !this.silent) {
        this.silent = true;
        this.stateListeners.emit('disconnected');
      } else if (!quiet && this.silent) {
        this.silent = false;
        this.requestKeyframes();
        this.stateListeners.emit('connected');
      }
    }, SILENCE_CHECK_MS);
    this.silenceTimer.unref();
  }

  private stopWatchingSilence(): void {
    if (this.silenceTimer) clearInterval(this.silenceTimer);
    this.silenceTimer = null;
  }

  async applyOffer(offerSdp: string): Promise<OfferedMedia[]> {
    const ufrag = /^a=ice-ufrag:(\S+)/m.exec(offerSdp)?.[1] ?? null;
    if (this.remoteUfrag !== null && ufrag !== this.remoteUfrag) {
      // An ICE-restart offer. werift 0.24.4 mistakes it for "renomination" whenever the offer has an inactive
      // m-line (a declined audio section is enough) and then keeps its old credentials and dead pairs, so the
      // restart is done here before the offer is applied: new local credentials, a fresh gathering.
      for (const dtls of this.pc.dtlsTransports) dtls.iceTransport.restart();
      this.iceRestartPending = true;
    }
    this.remoteUfrag = ufrag;
    this.offeredBundle = /^a=group:BUNDLE (.*)$/m.exec(offerSdp)?.[1]?.trim().split(/\s+/) ?? null;
    await this.pc.setRemoteDescription({ type: 'offer', sdp: oneIceGeneration(offerSdp) });
    this.subscribeRtcp();
    return parseOfferedMedia(offerSdp);
  }

  send(mid: string, codec: SendCodec): SendTrack {
    const existing = this.sendersByMid.get(mid);
    if (existing) return existing;
    const t = this.transceiver(mid);
    this.narrowCodecs(t, codec);
    t.setDirection(t.kind === 'audio' && this.receiving.has(mid) ? 'sendrecv' : 'sendonly');
    const track = new MediaStreamTrack({ kind: t.kind });
    void t.sender.replaceTrack(track);
    const send = new WeriftSendTrack(mid, codec, t.sender.ssrc, track);
    this.senders.set(t.sender.ssrc, send);
    this.sendersByMid.set(mid, send);
    return send;
  }

  receive(mid: string, listener: (track: RemoteTrack) => void): void {
    const t = this.transceiver(mid);
    if (!this.sendersByMid.has(mid)) {
      const name = t.codecs
        .find((c) => ['h264', 'vp8', 'opus'].includes(c.name.toLowerCase()))
        ?.name.toLowerCase();
      if (name) this.narrowCodecs(t, name as SendCodec);
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
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    const local = this.pc.localDescription;
    if (!local) throw new Error('no local description after setLocalDescription');
    this.startRestartedIce();
    return this.answerBundle(local.sdp);
  }

  // werift bundles every m-line of its answer, also one the offer left out of its BUNDLE group (Chromium leaves
  // a section the robot answered inactive out of its re-offers), and Chromium refuses such an answer. The group
  // is narrowed to what was offered.
  private answerBundle(sdp: string): string {
    const offered = this.offeredBundle;
    if (!offered) return sdp;
    return sdp.replace(/^a=group:BUNDLE (.*)$/m, (_line, mids: string) => {
      const kept = mids
        .trim()
        .split(/\s+/)
        .filter((m) => offered.includes(m));
      return `a=group:BUNDLE ${kept.join(' ')}`;
    });
  }

  // werift 0.24.4 answering an ICE-restart offer gathers anew but never starts the new ICE checks: its connect()
  // returns early because DTLS is still up (and its ICE transport still reads 'completed'). Start them here;
  // DTLS then carries on over the new pair.
  private startRestartedIce(): void {
    if (!this.iceRestartPending) return;
    this.iceRestartPending = false;
    for (const dtls of this.pc.dtlsTransports) {
      if (dtls.state !== 'connected') continue;
      dtls.iceTransport.start().catch(() => this.stateListeners.emit('failed'));
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
    this.stateListeners.add(listener);
  }

  async getStats(): Promise<TransportStats> {
    const report = await this.pc.getStats();
    const all = [...report.values()] as unknown as Record<string, unknown>[];
    const byId = new Map(all.map((s) => [s.id as string, s]));
    const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    const outbound: OutboundStats[] = [];
    const inbound: InboundStats[] = [];
    for (const s of all) {
      if (s.type === 'outbound-rtp') {
        const send = this.senders.get(s.ssrc as number);
        const remote = all.find((r) => r.type === 'remote-inbound-rtp' && r.ssrc === s.ssrc);
        const rtt = num(remote?.roundTripTime);
        outbound.push({
          mid: send?.mid ?? String(s.mid ?? ''),
          kind: s.kind as 'audio' | 'video',
          packetsSent: num(s.packetsSent) ?? 0,
          bytesSent: num(s.bytesSent) ?? 0,
          fractionLost: num(remote?.fractionLost),
          roundTripTimeMs: rtt === null ? null : rtt * 1000,
        });
      } else if (s.type === 'inbound-rtp') {
        inbound.push({
          mid: String(s.mid ?? ''),
          kind: s.kind as 'audio' | 'video',
          packetsReceived: num(s.packetsReceived) ?? 0,
          bytesReceived: num(s.bytesReceived) ?? 0,
          packetsLost: num(s.packetsLost) ?? 0,
        });
      }
    }
    const pair =
      all.find((s) => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded') ??
      all.find((s) => s.type === 'candidate-pair' && s.state === 'succeeded');
    const local = pair ? byId.get(pair.localCandidateId as string) : undefined;
    const remote = pair ? byId.get(pair.remoteCandidateId as string) : undefined;
    const pairRtt = num(pair?.currentRoundTripTime);
    return {
      connectionState: this.connectionState,
      localCandidateType: (local?.candidateType as string | undefined) ?? null,
      remoteCandidateType: (remote?.candidateType as string | undefined) ?? null,
      roundTripTimeMs:
        pairRtt === null
          ? (outbound.find((o) => o.roundTripTimeMs !== null)?.roundTripTimeMs ?? null)
          : pairRtt * 1000,
      outbound,
      inbound,
    };
  }

  localDescription(): string | null {
    const sdp = this.pc.localDescription?.sdp;
    return sdp ? this.answerBundle(sdp) : null;
  }

  async close(): Promise<void> {
    this.stopWatchingSilence();
    for (const s of this.sendersByMid.values()) (s as unknown as { track?: MediaStreamTrack }).track?.stop();
    await this.pc.close();
  }

  private transceiver(mid: string): RTCRtpTransceiver {
    const t = this.pc.getTransceivers().find((x) => x.mid === mid);
    if (!t) throw new Error(`no media section with mid ${mid}`);
    return t;
  }

  // One codec per m-line in the answer, and the sender stamps that payload type on every packet.
  private narrowCodecs(t: RTCRtpTransceiver, codec: SendCodec): void {
    const candidates = t.codecs.filter((c) => c.name.toLowerCase() === codec);
    if (codec === 'h264') candidates.sort((a, b) => h264Rank(b) - h264Rank(a));
    const chosen = candidates[0];
    if (!chosen) throw new Error(`m-line ${t.mid} does not offer ${codec}`);
    t.codecs = [chosen];
    t.sender.codec = chosen;
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

  private subscribeRtcp(): void {
    if (this.rtcpSubscribed) return;
    const dtls = this.pc.dtlsTransports[0];
    if (!dtls) return;
    this.rtcpSubscribed = true;
    dtls.onRtcp.subscribe((packet) => {
      this.lastInboundAt = performance.now();
      this.onRtcp(packet);
    });
    dtls.onRtp.subscribe(() => {
      this.lastInboundAt = performance.now();
    });
  }

  private onRtcp(packet: RtcpPacket): void {
    if (packet instanceof RtcpRrPacket || packet instanceof RtcpSrPacket) {
      for (const report of packet.reports)
        this.senders.get(report.ssrc)?.loss.emit(report.fractionLost / 256);
    } else if (packet instanceof RtcpPayloadSpecificFeedback) {
      const fb = packet.feedback;
      if (fb instanceof PictureLossIndication) this.senders.get(fb.mediaSsrc)?.keyframe.emit('pli');
      else if (fb instanceof ReceiverEstimatedMaxBitrate) {
        for (const ssrc of fb.ssrcFeedbacks) this.senders.get(ssrc)?.remb.emit(Number(fb.bitrate));
      } else if (fb.count === FIR_COUNT) {
        // werift does not export FullIntraRequest; its FCI entries name the SSRCs asked for a keyframe.
        const entries = (fb as unknown as { fir?: { ssrc: number }[] }).fir ?? [];
        for (const entry of entries) this.senders.get(entry.ssrc)?.keyframe.emit('fir');
      }
    }
  }
}

export const createWeriftPeerSession = (id: string, options: PeerSessionOptions): PeerSession =>
  new WeriftPeerSession(id, options);
