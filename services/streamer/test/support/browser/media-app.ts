// Runs IN CHROMIUM (bundled by esbuild, see page-bundle.ts): the app side of a media session exactly as the web
// app does it, with the same SignalingClient: open the session, offer (recvonly cameras, sendrecv audio with the
// fake microphone), trickle, answer `ice_restart` with an ICE-restart offer. Also a WHEP player (one POST).
import { SignalingClient, withReceiverRtt } from '@robostream/protocol/client';

export interface StartOptions {
  robotId: string;
  cameras: number;
  mic: boolean;
  /** Send the fake camera to the robot (a sendonly video m-line after the others, as the web app does). */
  camera?: boolean;
  relay: boolean;
  meta?: Record<string, string | number | boolean>;
  /** Offer only this video codec (setCodecPreferences), as docs/streamer.md tells an app that wants VP8. */
  videoCodec?: 'h264' | 'vp8';
  /** Ask the robot for the round trip as the web app does (RTCP XR receiver reference time). */
  receiverRtt?: boolean;
  /**
   * Send the first offer with the session request, as the web app does; without it the page opens the session
   * first and offers once the robot accepted (the protocol's other way, which other apps may use).
   */
  offerInOpen?: boolean;
}

export interface WhepResult {
  status: number;
  body: string;
  /** The Location header as sent (readable only because the service exposes it to other origins). */
  location: string | null;
  resource: string | null;
  /** performance.now() when the offer was complete and POSTed, and when the answer was set (benches' steps). */
  postedAt: number;
  answeredAt: number | null;
}

/** A change of the picture's brightness seen by the page, at the frame's expected display time (epoch ms). */
export interface LumaTransition {
  bright: boolean;
  /** When the frame was due on screen (expectedDisplayTime), epoch clock. */
  atEpochMs: number;
  /** When its last packet arrived (receiveTime), epoch clock; null if Chromium did not say. */
  receivedEpochMs: number | null;
  /** Its decode time (processingDuration), ms; null if Chromium did not say. */
  decodeMs: number | null;
}

/**
 * When each step of the last start() happened, in ms after start() was called (the page's clock): what a
 * first-frame bench reports, without the test process's polling in it.
 */
export interface StartTimeline {
  /** openSession resolved: the robot accepted. */
  accepted?: number;
  offerSent?: number;
  answer?: number;
  iceConnected?: number;
  /** DTLS up: pc.connectionState 'connected'. */
  connected?: number;
  /** The first video frame decoded (firstFrameAt). */
  firstFrame?: number;
}

export interface MediaAppStats {
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  videoCodec: string;
  audioPacketsReceived: number;
  connectionState: string;
  iceConnectionState: string;
  localCandidateType: string | null;
  remoteCandidateType: string | null;
  iceRestartsReceived: number;
  answersReceived: number;
  localUfrag: string | null;
  sessionClosed: string | null;
  errors: string[];
  candidatesReceived: number;
  /** Round trips the page measured for the robot's video (RTCP XR), and their mean. */
  videoRttMeasurements: number;
  videoRttMs: number | null;
  /** Mean time a video frame spent in the jitter buffer (jitterBufferDelay / jitterBufferEmittedCount), ms. */
  videoJitterBufferMs: number | null;
}

class MediaApp {
  client: SignalingClient | null = null;
  pc: RTCPeerConnection | null = null;
  sessionId: string | null = null;
  private pending: RTCIceCandidateInit[] = [];
  iceRestartsReceived = 0;
  answersReceived = 0;
  sessionClosed: string | null = null;
  /** Failures inside event handlers (which nothing else would see). */
  errors: string[] = [];
  candidatesReceived: string[] = [];
  private steps: StartTimeline = {};
  private startedAt = 0;
  /** The steps of the last start(), the first frame included once it was decoded. */
  get timeline(): StartTimeline {
    const frame = this.firstFrameAt;
    return frame === null ? { ...this.steps } : { ...this.steps, firstFrame: frame - this.startedAt };
  }

  async connect(url: string, token: string): Promise<void> {
    this.client = new SignalingClient({ url, token, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } });
    await this.client.connect();
  }

  async start(o: StartOptions): Promise<string> {
    const client = this.client;
    if (!client) throw new Error('connect first');
    const t0 = performance.now();
    const timeline: StartTimeline = {};
    this.steps = timeline;
    this.startedAt = t0;
    const mark = (step: keyof StartTimeline): void => {
      timeline[step] ??= performance.now() - t0;
    };
    let sessionId: string | null = null;
    let accepted = false;
    const early: (RTCIceCandidateInit | null)[] = [];
    const sendLocal = (c: RTCIceCandidateInit | null): void => {
      if (c) client.sendCandidate(sessionId!, c as never);
      else client.sendEndOfCandidates(sessionId!);
    };
    if (!o.offerInOpen) {
      sessionId = await client.openSession(o.robotId, 'media', o.meta);
      this.sessionId = sessionId;
      accepted = true;
      mark('accepted');
    }
    const pc = this.makePeer(o.relay, client.iceServers);
    pc.addEventListener('iceconnectionstatechange', () => {
      if (pc.iceConnectionState === 'connected') mark('iceConnected');
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') mark('connected');
    });
    await this.addMedia(pc, o.cameras, o.mic, o.camera ?? false);
    if (o.videoCodec) this.onlyCodec(pc, o.videoCodec);
    pc.onicecandidate = (e) => {
      const c = e.candidate ? e.candidate.toJSON() : null;
      if (accepted) sendLocal(c);
      else early.push(c);
    };
    client.on('answer', async (m) => {
      if (m.sessionId !== sessionId) return;
      mark('answer');
      this.answersReceived++;
      try {
        await pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
      } catch (err) {
        this.errors.push(`setRemoteDescription: ${String(err)}`);
        return;
      }
      for (const c of this.pending.splice(0))
        await pc.addIceCandidate(c).catch((err) => this.errors.push(`addIceCandidate: ${String(err)}`));
    });
    client.on('candidate', async (m) => {
      if (m.sessionId !== sessionId) return;
      const c: RTCIceCandidateInit = {
        candidate: m.candidate.candidate,
        sdpMid: m.candidate.sdpMid ?? null,
        sdpMLineIndex: m.candidate.sdpMLineIndex ?? null,
      };
      this.candidatesReceived.push(c.candidate ?? '');
      try {
        if (pc.remoteDescription && pc.signalingState === 'stable') await pc.addIceCandidate(c);
        else this.pending.push(c);
      } catch (err) {
        this.errors.push(`addIceCandidate: ${String(err)}`);
      }
    });
    client.on('ice_restart', async (m) => {
      if (m.sessionId !== sessionId) return;
      // The robot asks, the app (the offerer) restarts: a new offer with new ICE credentials, same session.
      this.iceRestartsReceived++;
      await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
      client.sendOffer(sessionId!, pc.localDescription?.sdp ?? '');
    });
    client.on('session_closed', (m) => {
      if (m.sessionId === sessionId) this.sessionClosed = m.reason;
    });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(
      o.receiverRtt ? { type: 'offer', sdp: withReceiverRtt(offer.sdp ?? '') } : offer,
    );
    const sdp = pc.localDescription?.sdp ?? '';
    if (sessionId !== null) {
      client.sendOffer(sessionId, sdp);
      mark('offerSent');
      return sessionId;
    }
    mark('offerSent');
    sessionId = await client.openSession(o.robotId, 'media', o.meta, {
      offer: sdp,
      onCreated: (id) => (sessionId = this.sessionId = id),
    });
    mark('accepted');
    accepted = true;
    for (const c of early.splice(0)) sendLocal(c);
    return sessionId;
  }

  /**
   * A standard WHEP player (RFC 9725) in the page: a complete offer (gathering finished, no trickle) POSTed from
   * this page's origin to the signaling service's, so the browser's CORS checks apply as for any player.
   */
  async whepPlay(url: string, token: string): Promise<WhepResult> {
    const pc = this.makePeer(false, []);
    await this.addMedia(pc, 1, false);
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
    });
    const postedAt = performance.now();
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/sdp' },
      body: pc.localDescription?.sdp ?? '',
    });
    const body = await res.text();
    const location = res.headers.get('location');
    if (res.status === 201) await pc.setRemoteDescription({ type: 'answer', sdp: body });
    return {
      status: res.status,
      body,
      location,
      resource: location ? new URL(location, url).href : null,
      postedAt,
      answeredAt: res.status === 201 ? performance.now() : null,
    };
  }

  /** Ends a WHEP session the way a player does: DELETE on the resource URL. */
  async whepStop(resource: string, token: string): Promise<number> {
    const res = await fetch(resource, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    return res.status;
  }

  async stats(): Promise<MediaAppStats> {
    const pc = this.pc;
    if (!pc) throw new Error('no peer connection');
    const all: Record<string, unknown>[] = [];
    (await pc.getStats()).forEach((s: Record<string, unknown>) => all.push(s));
    const video = all.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
    const audio = all.find((s) => s.type === 'inbound-rtp' && s.kind === 'audio');
    const remoteOut = all.find((s) => s.type === 'remote-outbound-rtp' && s.kind === 'video');
    const transport = all.find((s) => s.type === 'transport');
    const pair = all.find((s) => s.id === transport?.selectedCandidatePairId);
    const local = all.find((s) => s.id === pair?.localCandidateId);
    const remote = all.find((s) => s.id === pair?.remoteCandidateId);
    const ufrag = /a=ice-ufrag:(\S+)/.exec(pc.localDescription?.sdp ?? '');
    return {
      framesDecoded: Number(video?.framesDecoded ?? 0),
      frameWidth: Number(video?.frameWidth ?? 0),
      frameHeight: Number(video?.frameHeight ?? 0),
      videoCodec: String(all.find((c) => c.id === video?.codecId)?.mimeType ?? '').toLowerCase(),
      audioPacketsReceived: Number(audio?.packetsReceived ?? 0),
      connectionState: pc.connectionState,
      iceConnectionState: pc.iceConnectionState,
      localCandidateType: (local?.candidateType as string | undefined) ?? null,
      remoteCandidateType: (remote?.candidateType as string | undefined) ?? null,
      iceRestartsReceived: this.iceRestartsReceived,
      answersReceived: this.answersReceived,
      localUfrag: ufrag?.[1] ?? null,
      sessionClosed: this.sessionClosed,
      errors: this.errors,
      candidatesReceived: this.candidatesReceived.length,
      videoRttMeasurements: Number(remoteOut?.roundTripTimeMeasurements ?? 0),
      // Chromium leaves roundTripTime out of some samples; the mean over the session is always there.
      videoRttMs:
        Number(remoteOut?.roundTripTimeMeasurements ?? 0) > 0
          ? (Number(remoteOut?.totalRoundTripTime) / Number(remoteOut?.roundTripTimeMeasurements)) * 1000
          : null,
      videoJitterBufferMs:
        Number(video?.jitterBufferEmittedCount ?? 0) > 0
          ? (Number(video?.jitterBufferDelay) / Number(video?.jitterBufferEmittedCount)) * 1000
          : null,
    };
  }

  /**
   * Glass end of the latency probe: plays the first received video in a <video> element and, on every frame the
   * compositor is about to show (requestVideoFrameCallback), samples the picture's centre; each dark/bright
   * change is recorded with the frame's expected display time on the epoch clock (the robot stamps its flips on
   * the same machine clock).
   */
  async startLumaProbe(): Promise<void> {
    const pc = this.pc;
    const track = pc?.getReceivers().find((r) => r.track.kind === 'video')?.track;
    if (!track) throw new Error('no video receiver');
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.dataset['probe'] = 'luma';
    video.srcObject = new MediaStream([track]);
    document.body.append(video);
    await video.play();
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 8;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2d context');
    let last: boolean | null = null;
    const onFrame = (_now: number, meta: VideoFrameCallbackMetadata): void => {
      ctx.drawImage(video, 0, 0, 8, 8);
      const [r = 0, g = 0, b = 0] = ctx.getImageData(4, 4, 1, 1).data;
      const bright = 0.299 * r + 0.587 * g + 0.114 * b > 128;
      if (bright !== last) {
        this.lumaTransitions.push({
          bright,
          atEpochMs: performance.timeOrigin + meta.expectedDisplayTime,
          receivedEpochMs: meta.receiveTime ? performance.timeOrigin + meta.receiveTime : null,
          decodeMs: meta.processingDuration !== undefined ? meta.processingDuration * 1000 : null,
        });
        last = bright;
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  lumaTransitions: LumaTransition[] = [];

  /** Closes the peer connection only, telling signaling nothing (as a page torn down before its last words). */
  closePeerOnly(): void {
    this.pc?.close();
  }

  close(): void {
    if (this.sessionId) this.client?.closeSession(this.sessionId, 'app closed');
    this.pc?.close();
    this.client?.close();
  }

  private onlyCodec(pc: RTCPeerConnection, codec: 'h264' | 'vp8'): void {
    const mime = `video/${codec}`;
    const codecs = (RTCRtpReceiver.getCapabilities('video')?.codecs ?? []).filter(
      (c) => c.mimeType.toLowerCase() === mime,
    );
    for (const t of pc.getTransceivers())
      if (t.receiver.track.kind === 'video') t.setCodecPreferences(codecs);
  }

  private makePeer(relay: boolean, iceServers: RTCIceServer[]): RTCPeerConnection {
    const pc = new RTCPeerConnection({
      iceServers,
      bundlePolicy: 'max-bundle',
      iceTransportPolicy: relay ? 'relay' : 'all',
    });
    this.pc = pc;
    this.firstFrameAt = null;
    this.watchFirstFrame(pc);
    return pc;
  }

  /** When the first video frame of the current peer connection was decoded (performance.now()), or null. */
  firstFrameAt: number | null = null;

  /**
   * Plays the first video track in a small <video> and takes the first frame's decode time from
   * requestVideoFrameCallback's metadata (its last packet's arrival plus its decode time). Polling getStats for
   * framesDecoded would not do: Chromium caches a stats report for 50 ms, which read as up to 50 ms more.
   */
  private watchFirstFrame(pc: RTCPeerConnection): void {
    let watching = false;
    pc.addEventListener('track', (e) => {
      if (watching || e.track.kind !== 'video') return;
      watching = true;
      const video = document.createElement('video');
      video.muted = true;
      video.playsInline = true;
      video.width = video.height = 16;
      video.srcObject = new MediaStream([e.track]);
      document.body.append(video);
      void video.play().catch(() => undefined);
      video.requestVideoFrameCallback((_now, meta) => {
        // Its job is done: it leaves the page (the glass-to-glass probe plays the track in a <video> of its own).
        video.remove();
        if (this.pc !== pc) return;
        this.firstFrameAt =
          meta.receiveTime !== undefined && meta.processingDuration !== undefined
            ? meta.receiveTime + meta.processingDuration * 1000
            : meta.presentationTime;
      });
      pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState === 'closed') video.remove();
      });
    });
  }

  private async addMedia(
    pc: RTCPeerConnection,
    cameras: number,
    mic: boolean,
    camera = false,
  ): Promise<void> {
    for (let i = 0; i < cameras; i++) pc.addTransceiver('video', { direction: 'recvonly' });
    if (mic) {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const track = stream.getAudioTracks()[0];
      if (!track) throw new Error('no fake microphone');
      pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
    } else {
      pc.addTransceiver('audio', { direction: 'recvonly' });
    }
    if (camera) {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
      const track = stream.getVideoTracks()[0];
      if (!track) throw new Error('no fake camera');
      pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    }
  }
}

(globalThis as unknown as { mediaApp: MediaApp }).mediaApp = new MediaApp();
