/**
 * One robot: every camera with its stats overlay, the robot's audio, the microphone and camera toggles, the
 * gateway panel, and an e-stop that stays one click away whatever else is going on.
 * Over 400 lines on purpose: it is the one place that owns a robot card's lifecycle (presence, reopening media,
 * the gateway session, disposal); the parts with logic of their own already live beside it (GatewayPanel,
 * StatsOverlay, MediaSession), and what is left are small renderers of that shared state.
 */
import { backoffDelay, type BackoffOptions, type SignalingClient } from '@robostream/protocol/client';
import { h, replace, setText, formatTime } from '../dom.js';
import { MediaSession, type MediaState } from '../media-session.js';
import type { OfferPreparer } from '../offer-preparer.js';
import type { MediaShape } from '../media-peer.js';
import { GatewaySession } from '../gateway-session.js';
import type { RobotDirectory } from '../robot-directory.js';
import type { MediaStats } from '../media-stats.js';
import { LevelMeter } from '../level-meter.js';
import { robotVoice } from '../robot-voice.js';
import { GatewayPanel } from './gateway-panel.js';
import { RecordingsPanel } from './recordings-panel.js';
import { StatsOverlay, pathText } from './stats-overlay.js';
import { FrameLatency } from '../frame-latency.js';
import { decodeToken, tokenMay } from '../token.js';

const OFFER_CAMERA_KEY = 'robostream.offerCamera';

/** Whether the operator chose to offer their camera to robots (remembered by the browser). */
export function offerCameraPreference(): boolean {
  return localStorage.getItem(OFFER_CAMERA_KEY) === '1';
}

/** The media session a robot's view opens: its cameras (one unnamed when it lists none). */
export function mediaShapeFor(dir: RobotDirectory, robotId: string, offerCamera: boolean): MediaShape {
  const cameras = dir.cameras(robotId);
  return { cameras: cameras.length ? cameras : ['camera'], offerCamera };
}
/**
 * The gateway session, and the robot's audio, start once the media session shows its first frame (or failed, or
 * connected without video), at most this long after the media session started: both starting at once compete
 * with the picture for the same threads in the browser (one WebRTC signaling thread per page, the first frame's
 * decode with the gateway's DTLS handshake, the page's main thread with starting audio output) and on the robot,
 * and the operator's first need is the picture. Measured in the compose stack on a 2-core machine (docs/web.md).
 * E-stop opens the gateway at once.
 */
const FIRST_FRAME_WAIT_MAX_MS = 1_000;

/** Reopening a failed media session: 1 s, doubling, at most 15 s. */
const REOPEN_BACKOFF: BackoffOptions = { initialDelayMs: 1000, maxDelayMs: 15_000, factor: 2, jitter: 0 };

const MEDIA_TEXT: Record<MediaState, string> = {
  opening: 'Opening media session…',
  connecting: 'Connecting…',
  connected: 'Live',
  reconnecting: 'Reconnecting media…',
  failed: 'Media failed',
  closed: 'Media closed',
};

/** One camera's tile: its video, its name, its stats overlay. */
export function cameraTile(camera: string): {
  el: HTMLElement;
  video: HTMLVideoElement;
  overlay: StatsOverlay;
} {
  const video = h('video', { muted: true, autoplay: true, playsinline: true, 'data-camera': camera });
  video.muted = true; // the attribute alone does not mute for autoplay purposes in every browser
  const overlay = new StatsOverlay();
  const el = h(
    'figure',
    { class: 'tile', 'data-camera': camera },
    video,
    h('figcaption', {}, camera),
    overlay.el,
  );
  return { el, video, overlay };
}

interface Tile {
  el: HTMLElement;
  video: HTMLVideoElement;
  overlay: StatsOverlay;
  latency: FrameLatency;
}

export class RobotView {
  readonly el: HTMLElement;
  private media: MediaSession | null = null;
  /** The current media session's video: none yet, a track, or its first frame shown. */
  private mediaVideo: 'none' | 'track' | 'shown' = 'none';
  /** What waits for the current media session's first frame (afterFirstFrame, the gateway session's wait). */
  private readonly firstFrameWaiters: (() => void)[] = [];
  private gateway: GatewaySession | null = null;
  private panel: GatewayPanel | null = null;
  private readonly tiles = new Map<string, Tile>();
  private readonly title = h('h2', {});
  private readonly presence = h('span', { class: 'pill', 'data-testid': 'robot-status' });
  private readonly mediaPill = h('span', { class: 'pill', 'data-testid': 'media-state' });
  private readonly pathPill = h('span', { class: 'pill', 'data-testid': 'path' });
  private readonly stateOverlay = h('div', {
    class: 'state-overlay',
    'data-testid': 'robot-state',
    hidden: true,
  });
  private readonly estopBanner = h('div', {
    class: 'estop-banner',
    'data-testid': 'estop-banner',
    hidden: true,
  });
  private readonly grid = h('div', { class: 'video-grid' });
  private readonly videoWrap: HTMLElement;
  /** The camera shown large; the others are thumbnails (click one to swap). */
  private mainCamera: string | null = null;
  private readonly fullscreenBtn = h(
    'button',
    { type: 'button', 'data-testid': 'fullscreen', title: 'Fullscreen (F)' },
    'Fullscreen',
  );
  private readonly talkNote = h(
    'span',
    { class: 'small muted', 'data-testid': 'talk-note', hidden: true },
    'Watching only: this token does not grant talk.',
  );
  private readonly audio = h('audio', { autoplay: true });
  private readonly micBtn = h(
    'button',
    { type: 'button', 'data-testid': 'mic', 'aria-pressed': 'false' },
    'Microphone off',
  );
  private readonly pttBtn = h(
    'button',
    { type: 'button', 'data-testid': 'ptt', 'aria-pressed': 'false', title: 'Hold to talk (or hold T)' },
    'Hold to talk',
  );
  private readonly levelOut = new LevelMeter('You', 'level-out');
  private readonly levelIn = new LevelMeter('Robot', 'level-in');
  private readonly voicePill = h('span', { class: 'pill', 'data-testid': 'robot-voice', hidden: true });
  /** The robot's audio is muted by the console while the operator talks (the robot cancels no echo). */
  private ducked = false;
  private readonly audioBtn = h(
    'button',
    { type: 'button', 'data-testid': 'robot-audio', 'aria-pressed': 'true' },
    'Robot audio on',
  );
  private readonly camBtn = h(
    'button',
    { type: 'button', 'data-testid': 'camera', 'aria-pressed': 'false' },
    'My camera off',
  );
  private readonly offerCam = h('input', { type: 'checkbox', 'data-testid': 'offer-camera' });
  private readonly mediaDetail = h('div', { class: 'small muted', 'data-testid': 'media-detail' });
  private readonly selfView = h('video', {
    class: 'self-view',
    muted: true,
    autoplay: true,
    playsinline: true,
    hidden: true,
  });
  private readonly gatewaySlot = h('div', { class: 'gateway-col' });
  private readonly estopBtn = h(
    'button',
    { type: 'button', class: 'estop', 'data-testid': 'estop', title: 'Emergency stop (Esc)' },
    'E-STOP',
  );
  private statsTimer: ReturnType<typeof setInterval>;
  private readonly offs: (() => void)[] = [];
  private lastStats: MediaStats | null = null;
  private disposed = false;
  private reopenTimer: ReturnType<typeof setTimeout> | undefined;
  private reopenAttempts = 0;
  /** Set while the gateway session waits for the media session (FIRST_FRAME_WAIT_MAX_MS). */
  private gatewayWait: (() => void) | undefined;

  constructor(
    private readonly client: SignalingClient,
    private readonly dir: RobotDirectory,
    readonly robotId: string,
    private readonly token: string,
    private readonly preparer?: OfferPreparer,
  ) {
    this.offerCam.checked = offerCameraPreference();
    this.offerCam.addEventListener('change', () => {
      localStorage.setItem(OFFER_CAMERA_KEY, this.offerCam.checked ? '1' : '0');
      this.restartMedia(); // a new m-line needs a new offer: reopen the session
    });
    this.micBtn.addEventListener('click', () => void this.toggleMic());
    // Push-to-talk: the button held with any pointer, or the T key held outside text fields.
    this.pttBtn.addEventListener('pointerdown', (e) => {
      this.pttBtn.setPointerCapture(e.pointerId);
      this.pushToTalk(true);
    });
    for (const ev of ['pointerup', 'pointercancel', 'lostpointercapture'] as const)
      this.pttBtn.addEventListener(ev, () => this.pushToTalk(false));
    const typing = (e: KeyboardEvent): boolean =>
      e.target instanceof HTMLElement && /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName);
    const onPttKey = (e: KeyboardEvent) => {
      if (e.key.toLowerCase() !== 't' || e.repeat || typing(e)) return;
      this.pushToTalk(e.type === 'keydown');
    };
    const onBlur = () => this.pushToTalk(false);
    document.addEventListener('keydown', onPttKey);
    document.addEventListener('keyup', onPttKey);
    window.addEventListener('blur', onBlur);
    this.offs.push(() => {
      document.removeEventListener('keydown', onPttKey);
      document.removeEventListener('keyup', onPttKey);
      window.removeEventListener('blur', onBlur);
    });
    this.camBtn.addEventListener('click', () => void this.toggleCamera());
    this.audioBtn.addEventListener('click', () => {
      this.ducked = false;
      this.audio.muted = !this.audio.muted;
      if (!this.audio.muted) void this.audio.play().catch(() => undefined);
      this.renderAudio();
    });
    this.estopBtn.addEventListener('click', () => this.estop());
    this.fullscreenBtn.addEventListener('click', () => this.toggleFullscreen());
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') this.estop();
      const typing = e.target instanceof HTMLElement && e.target.closest('input, textarea, select') !== null;
      if (e.key === 'f' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) this.toggleFullscreen();
    };
    document.addEventListener('keydown', onKey);
    this.offs.push(() => document.removeEventListener('keydown', onKey));
    // What the token says about talking decides what is offered; the robot decodes nothing without talk anyway.
    const mayTalk = tokenMay(decodeToken(token), robotId, 'talk');
    const offerLabel = h('label', { class: 'small' }, this.offerCam, ' offer my camera to the robot');
    this.micBtn.hidden = this.camBtn.hidden = this.pttBtn.hidden = offerLabel.hidden = !mayTalk;
    this.talkNote.hidden = mayTalk;
    this.videoWrap = h('div', { class: 'video-wrap' }, this.grid, this.stateOverlay);

    this.el = h(
      'section',
      { class: 'robot-view', id: 'robot-view', 'data-robot': robotId },
      h(
        'header',
        { class: 'robot-head' },
        h(
          'div',
          { class: 'robot-title' },
          this.title,
          h('div', { class: 'row' }, this.presence, this.mediaPill, this.pathPill, this.voicePill),
        ),
        this.estopBtn,
      ),
      this.estopBanner,
      h(
        'div',
        { class: 'robot-body' },
        h(
          'div',
          { class: 'media-col' },
          this.videoWrap,
          h(
            'div',
            { class: 'media-controls' },
            this.micBtn,
            this.pttBtn,
            this.audioBtn,
            this.levelOut.el,
            this.levelIn.el,
            this.camBtn,
            offerLabel,
            this.talkNote,
            this.fullscreenBtn,
            this.selfView,
            this.audio,
          ),
          this.mediaDetail,
        ),
        h('div', { class: 'side-col' }, this.gatewaySlot, new RecordingsPanel(robotId, token).el),
      ),
    );
    this.offs.push(dir.on('change', (id) => (id === null || id === robotId ? this.onPresence() : undefined)));
    this.offs.push(client.on('state', () => this.renderState()));
    this.statsTimer = setInterval(() => void this.pollStats(), 1000);
    this.onPresence();
  }

  dispose(): void {
    this.disposed = true;
    clearInterval(this.statsTimer);
    clearTimeout(this.reopenTimer);
    this.gatewayWait?.();
    for (const off of this.offs.splice(0)) off();
    this.media?.close();
    this.gateway?.close();
    this.panel?.dispose();
    this.levelOut.detach();
    this.levelIn.detach();
    for (const t of this.tiles.values()) t.latency.stop();
  }

  /** Starts the sessions the robot's online endpoints allow; tears them down when it goes away. */
  private onPresence(): void {
    if (this.disposed) return;
    const r = this.dir.robots.get(this.robotId);
    const hasMedia = r?.endpoints.has('media') ?? false;
    const hasGateway = r?.endpoints.has('gateway') ?? false;
    setText(this.title, this.dir.displayName(this.robotId));
    if (hasMedia && (!this.media || this.media.state === 'closed' || this.media.state === 'failed'))
      this.startMedia();
    if (!hasMedia && this.media) {
      const media = this.media;
      this.media = null;
      media.close('the robot went offline');
    }
    if (
      hasGateway &&
      !this.gatewayWait &&
      (!this.gateway || this.gateway.state === 'closed' || this.gateway.state === 'failed')
    )
      this.startGatewayAfterMedia();
    if (!hasGateway && this.gateway) {
      this.gateway.close('the robot went offline');
    }
    this.renderState();
  }

  private startMedia(): void {
    clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    const previous = this.media;
    this.media = null; // its 'closed' below is ours, not a failure to recover from
    previous?.close('reopening');
    const cameras = this.dir.cameras(this.robotId);
    const media = new MediaSession({
      client: this.client,
      robotId: this.robotId,
      ...mediaShapeFor(this.dir, this.robotId, this.offerCam.checked),
      preparer: this.preparer,
    });
    this.media = media;
    replace(this.grid);
    this.tiles.clear();
    for (const cam of cameras) this.tile(cam);
    this.showLarge(
      this.mainCamera && cameras.includes(this.mainCamera) ? this.mainCamera : (cameras[0] ?? null),
    );
    media.on('state', ({ state, detail }) => {
      setText(this.mediaDetail, detail);
      this.renderState();
      if (this.media !== media) return;
      if (state === 'connected') this.reopenAttempts = 0;
      else if (state === 'failed' || state === 'closed') this.scheduleReopen(detail);
    });
    this.mediaVideo = 'none';
    this.firstFrameWaiters.length = 0; // the previous session's: they would do nothing now
    media.on('video', ({ camera, stream }) => {
      const t = this.tile(camera);
      t.video.srcObject = stream;
      void t.video.play().catch(() => undefined);
      if (this.media !== media || this.mediaVideo !== 'none') return;
      this.mediaVideo = 'track';
      // A MediaStream's first frame brings the element to HAVE_CURRENT_DATA.
      t.video.addEventListener(
        'loadeddata',
        () => {
          if (this.media !== media) return;
          this.mediaVideo = 'shown';
          for (const run of this.firstFrameWaiters.splice(0)) run();
        },
        { once: true },
      );
    });
    // The robot's audio starts playing (and is metered) after the first frame: starting audio output and an
    // AudioContext took Chromium 2-23 ms of the page's main thread while the first frame was on its way.
    media.on('audio', (stream) =>
      this.afterFirstFrame(media, () => {
        this.audio.srcObject = stream;
        void this.audio.play().catch(() => this.renderAudio(true));
        this.levelIn.attach(stream);
      }),
    );
    media.on('mic', () => this.renderMic());
    media.on('talk', (talking) => this.onTalk(talking));
    media.on('camera', () => this.renderCamera());
    this.renderMic();
    this.renderCamera();
    void media.start();
  }

  /**
   * Runs `fn` once `media` shows its first frame, at most FIRST_FRAME_WAIT_MAX_MS from now, and never once
   * another session replaced it or the view is gone.
   */
  private afterFirstFrame(media: MediaSession, fn: () => void): void {
    if (this.media === media && this.mediaVideo === 'shown') return fn();
    let done = false;
    const run = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (this.media === media && !this.disposed) fn();
    };
    const timer = setTimeout(run, FIRST_FRAME_WAIT_MAX_MS);
    this.firstFrameWaiters.push(run);
  }

  /**
   * A media session that failed (ICE restarts exhausted, the signaling session lost) or that the robot closed is
   * replaced by a new one, with backoff: the operator never has to reload (LiveKit's "full reconnect").
   */
  private scheduleReopen(why: string): void {
    if (this.disposed || this.reopenTimer) return;
    const delayMs = backoffDelay(this.reopenAttempts++, REOPEN_BACKOFF);
    setText(this.mediaDetail, `${why}; reopening in ${Math.round(delayMs / 1000)} s`);
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      if (!this.disposed) this.restartMedia();
    }, delayMs);
  }

  private restartMedia(): void {
    if (this.dir.robots.get(this.robotId)?.endpoints.has('media')) this.startMedia();
  }

  /**
   * Opens the gateway session now if no media session is on its way up, else once its first frame is shown (or it
   * failed, or connected without video), or after the limit.
   */
  private startGatewayAfterMedia(): void {
    const media = this.media;
    const settling = (): boolean =>
      this.media === media &&
      (media?.state === 'opening' ||
        media?.state === 'connecting' ||
        (media?.state === 'connected' && this.mediaVideo === 'track'));
    if (!settling()) return this.startGateway();
    const go = (): void => {
      this.gatewayWait?.();
      if (!this.disposed && this.dir.robots.get(this.robotId)?.endpoints.has('gateway')) this.startGateway();
      this.renderState();
    };
    const timer = setTimeout(go, FIRST_FRAME_WAIT_MAX_MS);
    const off = media!.on('state', () => {
      if (!settling()) go();
    });
    const wait = (): void => {
      clearTimeout(timer);
      off();
      this.gatewayWait = undefined;
    };
    this.gatewayWait = wait;
    this.firstFrameWaiters.push(() => {
      if (this.gatewayWait === wait && !settling()) go();
    });
  }

  private startGateway(): void {
    this.gatewayWait?.();
    this.gateway?.close('reopening');
    this.panel?.dispose();
    const gw = new GatewaySession(this.client, this.robotId, this.token);
    this.gateway = gw;
    this.panel = new GatewayPanel(gw);
    replace(this.gatewaySlot, this.panel.el);
    gw.on('change', (m) => {
      if (m.type === 'estop') this.renderEstop();
      if (m.type === 'telemetry') this.renderVoice();
    });
    gw.on('state', () => this.renderState());
    void gw.start();
  }

  private estop(): void {
    // The gateway session may still be waiting for the media session: open it now (this press is not delivered).
    if (this.gatewayWait) this.startGateway();
    const sent = this.gateway?.estop('operator pressed e-stop') ?? false;
    this.estopBanner.hidden = false;
    this.estopBanner.className = 'estop-banner bad';
    if (!sent) {
      setText(
        this.estopBanner,
        'E-STOP NOT DELIVERED — no gateway link to this robot. Use the robot’s physical stop.',
      );
      this.estopBanner.dataset['delivered'] = 'false';
    } else {
      setText(
        this.estopBanner,
        `E-STOP sent at ${formatTime(Date.now())} — waiting for the gateway to confirm…`,
      );
      this.estopBanner.dataset['delivered'] = 'pending';
    }
  }

  private renderEstop(): void {
    const e = this.gateway?.model.lastEstop;
    if (!e) return;
    this.estopBanner.hidden = false;
    this.estopBanner.dataset['delivered'] = 'true';
    setText(
      this.estopBanner,
      `E-STOP at ${formatTime(e.at)} by ${e.by}${e.reason ? ` — ${e.reason}` : ''}. Resuming is the robot’s decision.`,
    );
  }

  private tile(camera: string): Tile {
    let t = this.tiles.get(camera);
    if (t) return t;
    const { el, video, overlay } = cameraTile(camera);
    const latency = new FrameLatency(video);
    latency.start();
    el.addEventListener('click', () => this.showLarge(camera));
    this.grid.append(el);
    this.tiles.set(camera, (t = { el, video, overlay, latency }));
    if (this.mainCamera === null) this.showLarge(camera);
    else el.dataset['main'] = 'false';
    return t;
  }

  /** Video first: one camera large, the others as thumbnails under it. */
  private showLarge(camera: string | null): void {
    this.mainCamera = camera;
    for (const [cam, t] of this.tiles) {
      t.el.dataset['main'] = String(cam === camera);
      t.el.title = cam === camera ? '' : `Show ${cam} large`;
    }
  }

  private toggleFullscreen(): void {
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
    else void this.videoWrap.requestFullscreen?.().catch(() => undefined);
  }

  private async toggleMic(): Promise<void> {
    if (!this.media) return;
    try {
      await this.media.setMic(!this.media.micOn);
    } catch (err) {
      setText(this.mediaDetail, `microphone: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private pushToTalk(held: boolean): void {
    // Hidden without talk; the T key must not open the microphone either.
    if (!this.media || this.pttBtn.hidden) return;
    if (!held && this.pttBtn.getAttribute('aria-pressed') !== 'true') return;
    this.pttBtn.setAttribute('aria-pressed', String(held));
    this.pttBtn.className = held ? 'on' : '';
    void this.media.pushToTalk(held).catch((err: unknown) => {
      setText(this.mediaDetail, `microphone: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  /**
   * The operator's voice goes out: meter it, and mute the robot meanwhile unless the robot says it cancels its
   * echo (else the robot's microphone plays the operator back to them, and loud enough, it howls).
   */
  private onTalk(talking: boolean): void {
    this.levelOut.attach(talking ? (this.media?.micStream ?? null) : null);
    const cancels = robotVoice(this.gateway?.model)?.echoCancel ?? false;
    if (talking && !cancels && !this.audio.muted) {
      this.ducked = true;
      this.audio.muted = true;
    } else if (!talking && this.ducked) {
      this.ducked = false;
      this.audio.muted = false;
      void this.audio.play().catch(() => undefined);
    }
    this.renderAudio();
  }

  private renderVoice(): void {
    const v = robotVoice(this.gateway?.model);
    this.voicePill.hidden = !v?.detecting;
    if (!v) return;
    setText(this.voicePill, v.speaking ? 'Someone is speaking at the robot' : 'Quiet at the robot');
    this.voicePill.className = `pill ${v.speaking ? 'warn' : ''}`;
    this.voicePill.dataset['speaking'] = String(v.speaking);
  }

  private async toggleCamera(): Promise<void> {
    if (!this.media?.canSendCamera) return;
    try {
      const stream = await this.media.setCamera(!this.media.cameraOn);
      this.selfView.srcObject = stream;
      this.selfView.hidden = !stream;
    } catch (err) {
      setText(this.mediaDetail, `camera: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private renderMic(): void {
    const on = this.media?.micOn ?? false;
    this.micBtn.setAttribute('aria-pressed', String(on));
    this.micBtn.className = on ? 'on' : '';
    setText(this.micBtn, on ? 'Microphone ON — robot hears you' : 'Microphone off');
  }

  private renderCamera(): void {
    const on = this.media?.cameraOn ?? false;
    this.camBtn.disabled = !this.media?.canSendCamera && !on;
    this.camBtn.hidden = !this.offerCam.checked;
    this.camBtn.setAttribute('aria-pressed', String(on));
    this.camBtn.className = on ? 'on' : '';
    setText(this.camBtn, on ? 'My camera ON' : 'My camera off');
  }

  private renderAudio(blocked = false): void {
    this.audioBtn.setAttribute('aria-pressed', String(!this.audio.muted && !blocked));
    setText(
      this.audioBtn,
      blocked
        ? 'Click to hear the robot'
        : this.ducked
          ? 'Robot audio muted while you talk'
          : this.audio.muted
            ? 'Robot audio muted'
            : 'Robot audio on',
    );
    this.audioBtn.dataset['ducked'] = String(this.ducked);
  }

  private async pollStats(): Promise<void> {
    const s = (await this.media?.stats().catch(() => null)) ?? null;
    this.lastStats = s;
    for (const [cam, t] of this.tiles) {
      const mid = this.media?.midOf(cam);
      t.overlay.update(
        s,
        s?.videos.find((v) => v.mid === mid),
        t.latency.ms,
      );
    }
    this.renderState();
  }

  /** The one place that decides what the operator is told: offline, reconnecting, relayed, failed. */
  private renderState(): void {
    const online = this.dir.online(this.robotId);
    const r = this.dir.robots.get(this.robotId);
    const sig = this.client.state;
    this.el.dataset['online'] = String(online);
    setText(this.presence, online ? 'Online' : 'Offline');
    this.presence.className = `pill ${online ? 'ok' : 'bad'}`;

    const ms = this.media?.state ?? null;
    setText(this.mediaPill, ms ? MEDIA_TEXT[ms] : 'No media endpoint');
    this.mediaPill.className = `pill ${ms === 'connected' ? 'ok' : ms === 'failed' || ms === null ? 'bad' : 'warn'}`;
    this.mediaPill.dataset['state'] = ms ?? 'none';

    const s = this.lastStats;
    this.pathPill.hidden = !s || s.path === 'unknown' || ms !== 'connected';
    if (s) {
      setText(this.pathPill, s.path === 'relayed' ? 'Relay in use (TURN)' : 'Direct');
      this.pathPill.className = `pill ${s.path === 'relayed' ? 'warn' : 'ok'}`;
      this.pathPill.dataset['path'] = s.path;
      this.pathPill.title = pathText(s);
    }

    let overlay: { kind: string; title: string; text: string } | null = null;
    if (!online) {
      overlay = {
        kind: 'offline',
        title: 'Robot offline',
        text: r?.offlineSince
          ? `Last seen ${formatTime(r.offlineSince)}. This view reconnects by itself when the robot is back.`
          : 'The robot is not connected to signaling. This view reconnects by itself when it is back.',
      };
    } else if (sig === 'reconnecting' || sig === 'connecting' || sig === 'authenticating') {
      overlay = {
        kind: 'reconnecting',
        title: 'Reconnecting to signaling…',
        text: 'Live media keeps playing meanwhile.',
      };
    } else if (ms === 'failed') {
      overlay = { kind: 'failed', title: 'Media failed', text: this.mediaDetail.textContent ?? '' };
    } else if (ms === 'reconnecting') {
      overlay = {
        kind: 'reconnecting',
        title: 'Reconnecting media…',
        text: this.mediaDetail.textContent ?? '',
      };
    } else if (ms === null && !r?.endpoints.has('media')) {
      overlay = { kind: 'no-media', title: 'No video', text: 'This robot has no media endpoint online.' };
    } else if (ms !== 'connected') {
      overlay = {
        kind: 'connecting',
        title: MEDIA_TEXT[ms ?? 'opening'],
        text: this.mediaDetail.textContent ?? '',
      };
    }
    // Reconnecting over live media: show it as a strip, not a curtain.
    const soft = overlay?.kind === 'reconnecting' && ms === 'connected';
    this.stateOverlay.hidden = !overlay;
    this.stateOverlay.className = `state-overlay ${overlay?.kind ?? ''} ${soft ? 'soft' : ''}`;
    this.stateOverlay.dataset['state'] = overlay?.kind ?? 'live';
    this.el.dataset['state'] = overlay?.kind ?? 'live';
    if (overlay) replace(this.stateOverlay, h('strong', {}, overlay.title), h('span', {}, overlay.text));
    this.renderCamera();
  }
}
