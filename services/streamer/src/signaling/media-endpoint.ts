// The robot's `media` endpoint: connects a StreamerCore to one or more signaling connections (the cloud service,
// the embedded direct-mode server). The app offers, the robot answers; candidates trickle both ways, except for
// WHEP sessions (meta whep=true), whose answer carries every candidate. Sessions belong to one connection: when
// signaling drops, the viewers keep streaming (media never depends on signaling) and only die with their path.
import type { Logger } from 'pino';
import type { SignalingClient } from '@robostream/protocol/client';
import type { RobotMeta } from '@robostream/protocol';
import type { IceServerConfig } from '../config.js';
import type { StreamerCore } from '../core/streamer-core.js';
import type { ViewerSession } from '../core/viewer-session.js';
import type { IceCandidateInit, PeerConnectionState } from '../transport/peer-session.js';
import { bundleTag, tagCandidate, type BundleTag } from '../transport/sdp.js';

export const MEDIA_ENDPOINT = 'media';

export interface MediaEndpointOptions {
  /** Shown to apps in presence (meta.name). */
  name: string;
  /** Sessions past this many (over every connection) are rejected with 'too many viewers'. */
  maxViewers: number;
  log: Logger;
  /** A viewer 'disconnected' this long (or 'failed') asks the app for an ICE restart. */
  restartAfterDisconnectedMs?: number;
  /** A viewer that stays disconnected/failed this long after the last restart request is closed. */
  deadAfterMs?: number;
  /** Forces relay-only ICE for every viewer (tests; a robot that must never expose its addresses). */
  iceTransportPolicy?: 'all' | 'relay';
  /** Counts restart requests (metrics). */
  onIceRestartRequested?: () => void;
}

interface Session {
  key: string;
  id: string;
  client: SignalingClient;
  label: string;
  whep: boolean;
  cameras: string[] | undefined;
  viewer: ViewerSession | null;
  /** Remote candidates that arrived before the viewer existed. */
  remoteQueue: (IceCandidateInit | null)[];
  /** Local candidates are held while an answer is being made, so they never precede it. */
  holdLocal: boolean;
  localQueue: (IceCandidateInit | null)[];
  tag: BundleTag | null;
  /** Serializes offer handling (first offer, ICE restarts) per session. */
  work: Promise<void>;
  /** False once its signaling connection is gone: the viewer streams on, nothing more can be signaled. */
  signaled: boolean;
  restartTimer: NodeJS.Timeout | null;
  deadTimer: NodeJS.Timeout | null;
  iceRestartsRequested: number;
  closed: boolean;
  /** WHEP: resolves the wait for the end of gathering. */
  onGathered?: () => void;
}

export interface MediaSessionInfo {
  id: string;
  label: string;
  whep: boolean;
  signaled: boolean;
  iceRestartsRequested: number;
  viewerId: string | null;
}

export class MediaEndpoint {
  private readonly sessions = new Map<string, Session>();
  private readonly detach: (() => void)[] = [];
  private readonly restartAfterMs: number;
  private readonly deadAfterMs: number;
  private closed = false;

  constructor(
    private readonly core: StreamerCore,
    private readonly options: MediaEndpointOptions,
  ) {
    this.restartAfterMs = options.restartAfterDisconnectedMs ?? 2000;
    this.deadAfterMs = options.deadAfterMs ?? 15_000;
  }

  /** What apps see in presence: {name, cameras, codecs}. */
  meta(): RobotMeta {
    const snapshot = this.core.introspect();
    return {
      name: this.options.name,
      cameras: this.core.config.videoSources.map((s) => s.id).join(','),
      codecs: snapshot.encoders.vp8 ? 'h264,vp8' : 'h264',
    };
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  list(): MediaSessionInfo[] {
    return [...this.sessions.values()].map((s) => ({
      id: s.id,
      label: s.label,
      whep: s.whep,
      signaled: s.signaled,
      iceRestartsRequested: s.iceRestartsRequested,
      viewerId: s.viewer?.id ?? null,
    }));
  }

  /**
   * Serves sessions from one signaling connection and registers the endpoint on it (now, and after every
   * reconnect: the client re-registers by itself). `label` names the connection in logs and viewer ids.
   */
  async attach(client: SignalingClient, label: string): Promise<void> {
    const log = this.options.log.child({ signaling: label });
    const offs = [
      client.on(
        'session_request',
        (m) => void this.onRequest(client, label, m.sessionId, m.endpoint, m.meta),
      ),
      client.on('offer', (m) => this.onOffer(client, label, m.sessionId, m.sdp)),
      client.on('candidate', (m) => this.onRemoteCandidate(client, label, m.sessionId, m.candidate)),
      client.on('end_of_candidates', (m) => this.onRemoteCandidate(client, label, m.sessionId, null)),
      client.on('ice_restart', (m) =>
        // The app offers, so only it can restart ICE; an ice_restart from it has nothing to act on here.
        log.debug({ session: m.sessionId }, 'ice_restart from the app ignored (the app is the offerer)'),
      ),
      client.on('session_closed', (m) => {
        const s = this.sessions.get(this.key(client, m.sessionId));
        if (!s) return;
        if (m.by === 'service') {
          // The app's signaling connection dropped (or the service is draining): its media may still flow.
          s.signaled = false;
          log.info({ session: s.id, reason: m.reason }, 'session signaling ended; the viewer streams on');
          if (!s.viewer) void this.closeSession(s, m.reason, false);
          return;
        }
        void this.closeSession(s, `closed by the app: ${m.reason}`, false);
      }),
      client.on('state', (state) => {
        if (state !== 'reconnecting' && state !== 'closed') return;
        // Sessions are bound to the connection that is gone; their viewers keep streaming.
        for (const s of this.sessions.values()) {
          if (s.client !== client || !s.signaled) continue;
          s.signaled = false;
          if (!s.viewer) void this.closeSession(s, 'signaling lost before the offer', false);
        }
      }),
    ];
    this.detach.push(() => offs.forEach((off) => off()));
    await client.register(MEDIA_ENDPOINT, this.meta()).catch((err: Error) => {
      // Not connected yet: the client registers the endpoint once it is.
      log.debug({ err: err.message }, 'media endpoint registration deferred');
    });
  }

  /** Closes every session and viewer (SIGTERM); the signaling clients are closed by their owner. */
  async close(): Promise<void> {
    this.closed = true;
    for (const off of this.detach.splice(0)) off();
    await Promise.all(
      [...this.sessions.values()].map((s) => this.closeSession(s, 'robot shutting down', true)),
    );
  }

  private key(client: SignalingClient, sessionId: string): string {
    return `${this.clientIds.get(client) ?? this.assignClientId(client)}/${sessionId}`;
  }
  private readonly clientIds = new Map<SignalingClient, number>();
  private assignClientId(client: SignalingClient): number {
    const id = this.clientIds.size + 1;
    this.clientIds.set(client, id);
    return id;
  }

  private async onRequest(
    client: SignalingClient,
    label: string,
    sessionId: string,
    endpoint: string,
    meta: RobotMeta | undefined,
  ): Promise<void> {
    const log = this.options.log.child({ signaling: label, session: sessionId });
    if (endpoint !== MEDIA_ENDPOINT) return;
    if (this.closed) {
      client.rejectSession(sessionId, 'robot shutting down');
      return;
    }
    if (this.sessions.size >= this.options.maxViewers) {
      log.warn(
        { viewers: this.sessions.size, max: this.options.maxViewers },
        'session rejected: too many viewers',
      );
      client.rejectSession(sessionId, 'too many viewers');
      return;
    }
    const cameras =
      typeof meta?.cameras === 'string' ? meta.cameras.split(',').map((c) => c.trim()) : undefined;
    const known = new Set(this.core.config.videoSources.map((v) => v.id));
    const unknown = cameras?.filter((c) => !known.has(c)) ?? [];
    if (unknown.length > 0) {
      client.rejectSession(sessionId, `unknown camera: ${unknown.join(',')}`);
      return;
    }
    const s: Session = {
      key: this.key(client, sessionId),
      id: sessionId,
      client,
      label,
      whep: meta?.whep === true || meta?.whep === 'true',
      cameras,
      viewer: null,
      remoteQueue: [],
      holdLocal: true,
      localQueue: [],
      tag: null,
      work: Promise.resolve(),
      signaled: true,
      restartTimer: null,
      deadTimer: null,
      iceRestartsRequested: 0,
      closed: false,
    };
    this.sessions.set(s.key, s);
    try {
      await client.acceptSession(sessionId);
      log.info({ whep: s.whep, cameras: cameras ?? 'all', viewers: this.sessions.size }, 'session accepted');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'accept failed');
      this.sessions.delete(s.key);
    }
  }

  private onOffer(client: SignalingClient, label: string, sessionId: string, sdp: string): void {
    const s = this.sessions.get(this.key(client, sessionId));
    if (!s || s.closed) {
      this.options.log.warn({ signaling: label, session: sessionId }, 'offer for an unknown session');
      return;
    }
    s.work = s.work.then(() => (s.viewer ? this.restart(s, sdp) : this.open(s, sdp)));
  }

  private async open(s: Session, offerSdp: string): Promise<void> {
    const log = this.options.log.child({ signaling: s.label, session: s.id });
    let viewer: ViewerSession;
    try {
      viewer = await this.core.openViewer(offerSdp, {
        id: `${s.label}-${s.id}`,
        // The signaling connection's servers (fresh TURN credentials); STREAMER_ICE_SERVERS when it has none.
        ...(s.client.iceServers.length > 0 ? { iceServers: s.client.iceServers as IceServerConfig[] } : {}),
        ...(this.options.iceTransportPolicy ? { iceTransportPolicy: this.options.iceTransportPolicy } : {}),
        ...(s.cameras ? { videoSources: s.cameras } : {}),
        failedGraceMs: this.deadAfterMs,
        onIceCandidate: (c) => this.onLocalCandidate(s, c),
      });
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'cannot answer the offer');
      await this.closeSession(s, `cannot answer: ${(err as Error).message}`.slice(0, 256), true);
      return;
    }
    if (s.closed) {
      await viewer.close();
      return;
    }
    s.viewer = viewer;
    viewer.onClose(() => void this.closeSession(s, 'viewer closed', true));
    viewer.onConnectionState((state) => this.onViewerState(s, state));
    for (const c of s.remoteQueue.splice(0)) await viewer.addRemoteCandidate(c).catch(() => undefined);
    await this.answer(s, viewer.answerSdp);
  }

  private async restart(s: Session, offerSdp: string): Promise<void> {
    const viewer = s.viewer;
    if (!viewer || viewer.isClosed) return;
    s.holdLocal = true;
    try {
      const answer = await viewer.restartIce(offerSdp);
      this.options.log.info({ signaling: s.label, session: s.id }, 'ICE restart answered');
      this.clearTimers(s);
      await this.answer(s, answer);
    } catch (err) {
      this.options.log.warn({ session: s.id, err: (err as Error).message }, 'ICE restart failed');
      await this.closeSession(s, 'ICE restart failed', true);
    }
  }

  /** Sends the answer, then the local candidates gathered meanwhile (or, for WHEP, waits for them all first). */
  private async answer(s: Session, answerSdp: string): Promise<void> {
    s.tag = bundleTag(answerSdp);
    if (s.whep) {
      if (!s.localQueue.includes(null)) await new Promise<void>((resolve) => (s.onGathered = resolve));
      s.localQueue = [];
      const viewer = s.viewer;
      if (!viewer || s.closed) return;
      s.client.sendAnswer(s.id, viewer.localSdp);
      return;
    }
    s.client.sendAnswer(s.id, answerSdp);
    s.holdLocal = false;
    for (const c of s.localQueue.splice(0)) this.sendLocal(s, c);
  }

  private onLocalCandidate(s: Session, c: IceCandidateInit | null): void {
    if (s.whep) {
      s.localQueue.push(c);
      if (c === null) s.onGathered?.();
      return;
    }
    if (s.holdLocal) s.localQueue.push(c);
    else this.sendLocal(s, c);
  }

  private sendLocal(s: Session, c: IceCandidateInit | null): void {
    if (!s.signaled) return;
    this.options.log.debug({ session: s.id, candidate: c?.candidate ?? null }, 'local candidate');
    if (c) s.client.sendCandidate(s.id, tagCandidate(c, s.tag));
    else s.client.sendEndOfCandidates(s.id);
  }

  private onRemoteCandidate(
    client: SignalingClient,
    label: string,
    sessionId: string,
    c: IceCandidateInit | null,
  ): void {
    const s = this.sessions.get(this.key(client, sessionId));
    if (!s) return;
    if (!s.viewer) {
      s.remoteQueue.push(c);
      return;
    }
    s.viewer.addRemoteCandidate(c).catch((err: Error) => {
      this.options.log.debug(
        { signaling: label, session: sessionId, err: err.message },
        'remote candidate refused',
      );
    });
  }

  private onViewerState(s: Session, state: PeerConnectionState): void {
    if (state === 'connected' || state === 'connecting' || state === 'new') {
      this.clearTimers(s);
      return;
    }
    if (state === 'disconnected' && !s.restartTimer) {
      s.restartTimer = setTimeout(() => {
        s.restartTimer = null;
        if (s.viewer?.connectionState === 'disconnected') this.requestRestart(s, 'disconnected');
      }, this.restartAfterMs);
    } else if (state === 'failed') {
      this.requestRestart(s, 'failed');
    }
    // With nobody left to restart it (signaling gone, the app gone), a dead path ends the viewer.
    s.deadTimer ??= setTimeout(() => {
      s.deadTimer = null;
      const now = s.viewer?.connectionState;
      if (now === 'disconnected' || now === 'failed') void this.closeSession(s, `viewer ${now}`, true);
    }, this.deadAfterMs);
  }

  private requestRestart(s: Session, reason: string): void {
    if (!s.signaled || s.whep) return;
    s.iceRestartsRequested++;
    this.options.onIceRestartRequested?.();
    this.options.log.info({ signaling: s.label, session: s.id, reason }, 'asking the app for an ICE restart');
    s.client.requestIceRestart(s.id, reason);
  }

  private clearTimers(s: Session): void {
    if (s.restartTimer) clearTimeout(s.restartTimer);
    if (s.deadTimer) clearTimeout(s.deadTimer);
    s.restartTimer = null;
    s.deadTimer = null;
  }

  private async closeSession(s: Session, reason: string, tellApp: boolean): Promise<void> {
    if (s.closed) return;
    s.closed = true;
    this.clearTimers(s);
    s.onGathered?.();
    this.sessions.delete(s.key);
    if (tellApp && s.signaled) s.client.closeSession(s.id, reason);
    this.options.log.info(
      { signaling: s.label, session: s.id, reason, viewers: this.sessions.size },
      'session closed',
    );
    await s.viewer?.close();
  }
}
