/**
 * The media session with a robot's streamer (endpoint `media`), following the contract exactly: the app offers
 * one recvonly video per camera (in the order of the robot's `cameras` list), one sendrecv audio (the operator's
 * microphone, switched with replaceTrack so that no renegotiation is needed), and optionally one sendonly video
 * (the operator's camera, to the robot's display). ICE restarts come from the robot (`ice_restart`) or from the
 * page itself when its connection goes disconnected for 2 s or fails.
 */
import { TypedEmitter, type SignalingClient } from '@robostream/protocol/client';
import { consoleId } from './console-id.js';
import { OfferingPeer } from './offering-peer.js';
import { buildMediaPeer } from './media-peer.js';
import type { OfferPreparer } from './offer-preparer.js';
import { StatsSampler, type MediaStats } from './media-stats.js';

export type MediaState =
  | 'opening' // asking signaling for a session
  | 'connecting' // offer sent, ICE/DTLS in progress
  | 'connected'
  | 'reconnecting' // ICE restart in progress
  | 'failed'
  | 'closed';

export interface MediaSessionEvents {
  state: { state: MediaState; detail: string };
  video: { camera: string; stream: MediaStream };
  audio: MediaStream;
  mic: boolean;
  /** The operator's microphone is being sent to the robot (toggle on, or push-to-talk held). */
  talk: boolean;
  camera: boolean;
}

export interface MediaSessionOptions {
  client: SignalingClient;
  robotId: string;
  cameras: string[];
  /** Add the sendonly video m-line so the operator's camera can be switched on later without renegotiation. */
  offerCamera: boolean;
  /** Where a connection made ready before the click may be waiting. */
  preparer?: OfferPreparer;
}

const DISCONNECTED_GRACE_MS = 2_000;
const MAX_RESTARTS = 5;

export class MediaSession extends TypedEmitter<MediaSessionEvents> {
  private pc: RTCPeerConnection | null = null;
  private peer: OfferingPeer | null = null;
  private audioTx: RTCRtpTransceiver | null = null;
  private cameraTx: RTCRtpTransceiver | null = null;
  private micTrack: MediaStreamTrack | null = null;
  /** The microphone toggle, and push-to-talk held: the robot hears the operator while either is true. */
  private micLatched = false;
  private talkHeld = false;
  /** Microphone changes run one after another (a quick press and release must end released). */
  private micChain: Promise<void> = Promise.resolve();
  private camTrack: MediaStreamTrack | null = null;
  private disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
  private restarts = 0;
  private sessionLive = false;
  private sampler: StatsSampler | null = null;
  private _state: MediaState = 'opening';
  private closed = false;
  private readonly offs: (() => void)[] = [];
  private videoTx: RTCRtpTransceiver[] = [];

  constructor(private readonly o: MediaSessionOptions) {
    super();
  }

  get state(): MediaState {
    return this._state;
  }
  /** The microphone toggle is on. */
  get micOn(): boolean {
    return this.micLatched;
  }
  /** The robot hears the operator now. */
  get talking(): boolean {
    return this.micTrack !== null;
  }
  /** The microphone track being sent, for a level meter. */
  get micStream(): MediaStream | null {
    return this.micTrack ? new MediaStream([this.micTrack]) : null;
  }
  get cameraOn(): boolean {
    return this.camTrack !== null;
  }
  get canSendCamera(): boolean {
    return this.cameraTx !== null;
  }

  async start(): Promise<void> {
    this.set('opening', 'asking the robot for a media session');
    const { client } = this.o;
    // The peer connection and its offer come first: the offer goes with the session request. One the console
    // prepared before the click has both already.
    const shape = { cameras: this.o.cameras, offerCamera: this.o.offerCamera };
    // Without an await when the prepared offer is made: the request then leaves before the click's task ends.
    const ready = this.o.preparer?.takeNow(shape);
    const prepared = ready !== undefined ? ready : this.o.preparer ? await this.o.preparer.take(shape) : null;
    if (this.closed) {
      prepared?.peer.pc.close();
      return;
    }
    const { pc, videoTx, audioTx, cameraTx } =
      prepared?.peer ?? buildMediaPeer(client.iceServers as RTCIceServer[], shape);
    this.pc = pc;
    this.sampler = new StatsSampler(pc);
    this.videoTx = videoTx;
    this.audioTx = audioTx;
    this.cameraTx = cameraTx;
    pc.addEventListener('track', (e) => {
      const stream = e.streams[0] ?? new MediaStream([e.track]);
      if (e.track.kind === 'audio') return this.emit('audio', stream);
      const i = videoTx.indexOf(e.transceiver);
      const camera = this.o.cameras[i];
      if (camera) this.emit('video', { camera, stream: new MediaStream([e.track]) });
    });
    pc.addEventListener('connectionstatechange', () => this.onConnectionState(pc.connectionState));
    const peer = new OfferingPeer(
      client,
      pc,
      {
        onIceRestartNeeded: (why) => void this.restartIce(why),
        onSessionClosed: (reason, by) => {
          this.sessionLive = false;
          // Media keeps flowing when only signaling dropped; a closed session just means no more renegotiation.
          if (by === 'peer' || this._state !== 'connected') this.set('closed', `session closed: ${reason}`);
        },
      },
      prepared,
    );
    this.peer = peer;
    try {
      await peer.open(this.o.robotId, 'media', { cameras: this.o.cameras.join(','), console: consoleId() });
    } catch (err) {
      if (!this.closed) this.set('failed', err instanceof Error ? err.message : String(err));
      return;
    }
    if (this.closed) return;
    this.sessionLive = true;
    // Sessions are bound to the signaling connection: after a reconnect this one is gone (media keeps flowing).
    this.offs.push(
      client.on('state', (s) => {
        if (s !== 'ready') this.sessionLive = false;
      }),
    );
    // ICE may have connected already (the robot answers as it accepts): keep the more advanced state.
    if (this._state === 'opening') this.set('connecting', 'the robot accepted; connecting');
  }

  /** The operator's microphone to the robot, without renegotiation (replaceTrack on the audio sender). */
  setMic(on: boolean): Promise<void> {
    this.micLatched = on;
    return this.applyMic();
  }

  /**
   * Push-to-talk: the robot hears the operator only while held (unless the toggle is on). Releasing takes the
   * track off the sender, so no packet at all reaches the robot, and releases the device.
   */
  pushToTalk(held: boolean): Promise<void> {
    this.talkHeld = held;
    return this.applyMic();
  }

  private applyMic(): Promise<void> {
    const run = this.micChain.then(() => this.syncMic());
    this.micChain = run.catch(() => undefined);
    return run;
  }

  private async syncMic(): Promise<void> {
    const sender = this.audioTx?.sender;
    if (!sender) throw new Error('no media session');
    const want = this.micLatched || this.talkHeld;
    if (want && !this.micTrack) {
      try {
        const stream = await navigator.mediaDevices.getUserMedia({
          audio: { echoCancellation: true, noiseSuppression: true },
        });
        const track = stream.getAudioTracks()[0];
        if (!track) throw new Error('no microphone');
        await sender.replaceTrack(track);
        this.micTrack = track;
      } catch (err) {
        // No microphone: neither the toggle nor push-to-talk stays on.
        this.micLatched = false;
        this.talkHeld = false;
        this.emit('mic', false);
        throw err;
      }
    } else if (!want && this.micTrack) {
      await sender.replaceTrack(null);
      this.micTrack.stop();
      this.micTrack = null;
    }
    this.emit('mic', this.micOn);
    this.emit('talk', this.talking);
  }

  /** The operator's camera to the robot's display (only when the session was opened with offerCamera). */
  async setCamera(on: boolean): Promise<MediaStream | null> {
    const sender = this.cameraTx?.sender;
    if (!sender) throw new Error('this session was opened without a camera to the robot');
    let stream: MediaStream | null = null;
    if (on && !this.camTrack) {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
      const track = stream.getVideoTracks()[0];
      if (!track) throw new Error('no camera');
      await sender.replaceTrack(track);
      this.camTrack = track;
    } else if (!on && this.camTrack) {
      await sender.replaceTrack(null);
      this.camTrack.stop();
      this.camTrack = null;
    }
    this.emit('camera', this.cameraOn);
    return stream;
  }

  /** The m-line id that carries a camera (to match inbound stats to tiles). */
  midOf(camera: string): string | null {
    return this.videoTx[this.o.cameras.indexOf(camera)]?.mid ?? null;
  }

  async stats(): Promise<MediaStats | null> {
    return this.sampler ? this.sampler.sample() : null;
  }

  close(reason = 'closed by the operator'): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.disconnectedTimer);
    for (const off of this.offs.splice(0)) off();
    this.micTrack?.stop();
    this.camTrack?.stop();
    this.peer?.dispose(reason);
    this.pc?.close();
    this.set('closed', reason);
  }

  private onConnectionState(s: RTCPeerConnectionState): void {
    if (this.closed) return;
    clearTimeout(this.disconnectedTimer);
    if (s === 'connected') {
      this.restarts = 0;
      this.set('connected', 'media flowing');
    } else if (s === 'disconnected') {
      this.set('reconnecting', 'connection interrupted');
      this.disconnectedTimer = setTimeout(
        () => void this.restartIce('disconnected for 2 s'),
        DISCONNECTED_GRACE_MS,
      );
    } else if (s === 'failed') {
      void this.restartIce('connection failed');
    }
  }

  private async restartIce(why: string): Promise<void> {
    if (this.closed || !this.peer) return;
    if (!this.sessionLive) {
      this.set('failed', `${why}; the signaling session is gone (reopen the robot)`);
      return;
    }
    if (++this.restarts > MAX_RESTARTS) {
      this.set('failed', `${why}; gave up after ${MAX_RESTARTS} ICE restarts`);
      return;
    }
    this.set('reconnecting', `${why}: ICE restart ${this.restarts}`);
    if (!(await this.peer.negotiate(true))) this.set('reconnecting', `${why}: waiting for signaling`);
  }

  private set(state: MediaState, detail: string): void {
    this._state = state;
    this.emit('state', { state, detail });
  }
}
