/**
 * The gateway's presence on signaling: registers endpoint `gateway` with the robot token, accepts app sessions,
 * answers each app's offer with a werift peer connection (the app offers, the robot answers), trickles ICE both
 * ways, and attaches the resulting data-channel link to the hub WITHOUT claims: the app authenticates with its own
 * token over the reliable channel and the gateway verifies it with the app public key (signaling is not trusted
 * for that). The SignalingClient reconnects and re-registers by itself; while signaling is away, LAN links and
 * established data channels keep working (sessions are bound to a signaling connection, peer connections are not).
 */
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { RTCPeerConnection, type RTCIceServer } from 'werift';
import {
  SignalingClient,
  type BackoffOptions,
  type SignalingClientEvents,
  type WebSocketCtor,
} from '@robostream/protocol/client';
import type { SignalingLinkConfig } from '../config.js';
import type { GatewayMetrics } from '../hub/metrics.js';
import type { AppLink } from '../links/app-link.js';
import { DataChannelAppLink } from '../links/datachannel-app-link.js';

export const GATEWAY_ENDPOINT = 'gateway';

/** A peer connection whose reliable channel is not open by then is given up (the app vanished mid-setup). */
const SETUP_TIMEOUT_MS = 30_000;
/** 'disconnected' for this long -> ask the app for an ICE restart (as the media endpoint does). */
const DISCONNECTED_RESTART_MS = 2_000;

export interface GatewayEndpointOptions {
  signaling: SignalingLinkConfig;
  robotId: string;
  /** gateway.attachLink, called without claims. */
  attachLink: (link: AppLink) => string;
  /** Connected service names now (presence meta `services`). */
  services: () => string[];
  /** Bytes the hub may hand to one data channel before queueing (GATEWAY_DATACHANNEL_HIGH_WATER_BYTES). */
  highWaterBytes: number;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Tests: faster reconnects. */
  reconnect?: Partial<BackoffOptions>;
  requestTimeoutMs?: number;
  /** Tests and same-host setups: also gather loopback host candidates. */
  includeLoopback?: boolean;
}

interface DcSession {
  id: string;
  app: string;
  pc: RTCPeerConnection;
  link: DataChannelAppLink;
  linkId: string | null;
  /** Signaling messages of one session are handled one after the other (setRemoteDescription is async). */
  chain: Promise<void>;
  /** false once the signaling connection it belonged to is gone: nothing more can be signaled for it. */
  signaled: boolean;
  /** Local candidates held back until the answer is out (werift gathers inside setLocalDescription). */
  held: Array<{ candidate: string; sdpMid: string | null; sdpMLineIndex: number | null } | null> | null;
  disconnectedTimer: NodeJS.Timeout | null;
  setupTimer: NodeJS.Timeout | null;
  log: Logger;
}

export class GatewayEndpoint {
  readonly client: SignalingClient;
  private readonly sessions = new Map<string, DcSession>();
  private readonly log: Logger;
  private readonly offs: Array<() => void> = [];
  private metaTimer: NodeJS.Timeout | null = null;
  private lastMeta = '';
  private closed = false;

  constructor(private readonly o: GatewayEndpointOptions) {
    this.log = o.logger.child({ component: 'signaling' });
    this.lastMeta = o.services().join(',');
    this.client = new SignalingClient({
      url: o.signaling.url,
      token: o.signaling.token,
      WebSocket: WebSocket as unknown as WebSocketCtor,
      endpoints: [{ name: GATEWAY_ENDPOINT, meta: { services: this.lastMeta } }],
      clientName: 'robostream-gateway',
      ...(o.reconnect ? { reconnect: o.reconnect } : {}),
      ...(o.requestTimeoutMs ? { requestTimeoutMs: o.requestTimeoutMs } : {}),
    });
    const on = <K extends keyof SignalingClientEvents>(
      ev: K,
      fn: (p: SignalingClientEvents[K]) => void,
    ): void => void this.offs.push(this.client.on(ev, fn));
    on('state', (s) => this.onState(s));
    on('welcome', () => {
      o.metrics.signalingConnected.set(1);
      this.log.info({ url: o.signaling.url, robot: o.robotId }, 'registered with signaling');
      // Services may have changed while we were away.
      this.updateServices(o.services());
    });
    on('fatal', (f) =>
      this.log.error(
        { code: f.code, reason: f.reason },
        'signaling refused this gateway for good (token or a newer gateway); serving LAN links only',
      ),
    );
    on('error', (e) => this.log.warn({ code: e.code, err: e.message }, 'signaling error'));
    on('session_request', (m) => this.onSessionRequest(m.sessionId, m.endpoint, m.app.subject));
    on('offer', (m) => this.inSession(m.sessionId, (s) => this.onOffer(s, m.sdp)));
    on('candidate', (m) =>
      this.inSession(m.sessionId, async (s) => {
        // Chromium ends its candidates with an empty one; end_of_candidates says the same.
        if (!m.candidate.candidate) return;
        await s.pc.addIceCandidate({
          candidate: m.candidate.candidate,
          sdpMid: m.candidate.sdpMid ?? undefined,
          sdpMLineIndex: m.candidate.sdpMLineIndex ?? undefined,
        });
      }),
    );
    on('end_of_candidates', (m) => this.inSession(m.sessionId, async (s) => s.pc.addIceCandidate(null)));
    on('ice_restart', (m) =>
      // The app offers: a restart it asks for arrives as its next offer. Nothing to do but note it.
      this.inSession(m.sessionId, async (s) =>
        s.log.info({ reason: m.reason }, 'app announced an ICE restart'),
      ),
    );
    on('session_closed', (m) => {
      const s = this.sessions.get(m.sessionId);
      if (!s) return;
      s.signaled = false;
      s.log.info({ reason: m.reason }, 'session closed through signaling');
      s.link.close(1000, `session closed: ${m.reason}`);
    });
  }

  /** Connects in the background: the gateway serves LAN links whether or not signaling is reachable. */
  start(): void {
    this.client
      .connect()
      .catch((err: Error) => this.log.error({ err: err.message }, 'signaling not available'));
  }

  /** Resolves once registered with signaling (the current connection or the next one). */
  registered(): Promise<void> {
    if (this.client.state === 'ready') return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.client.on('welcome', () => {
        off();
        resolve();
      });
    });
  }

  get connected(): boolean {
    return this.client.state === 'ready';
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Presence meta `services` follows the connected programs (debounced: a restart storm is one update). */
  updateServices(services: string[]): void {
    const meta = services.join(',');
    if (this.metaTimer) clearTimeout(this.metaTimer);
    this.metaTimer = setTimeout(() => {
      this.metaTimer = null;
      if (this.closed || meta === this.lastMeta) return;
      this.lastMeta = meta;
      // Sent now when connected, else kept by the client for its next registration.
      this.client
        .register(GATEWAY_ENDPOINT, { services: meta })
        .catch((err: Error) => this.log.debug({ err: err.message }, 'presence meta update deferred'));
    }, 200);
    this.metaTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.metaTimer) clearTimeout(this.metaTimer);
    for (const s of [...this.sessions.values()]) {
      if (s.signaled) this.client.closeSession(s.id, 'gateway stopping');
      s.link.close(1001, 'shutting_down');
    }
    await Promise.all([...this.sessions.values()].map((s) => s.link.ended()));
    for (const off of this.offs.splice(0)) off();
    this.client.close();
    this.o.metrics.signalingConnected.set(0);
  }

  // ------------------------------------------------------------------ sessions

  private onState(state: string): void {
    if (state === 'ready') return; // 'welcome' follows once the endpoint is registered again
    this.o.metrics.signalingConnected.set(0);
    if (state === 'reconnecting') {
      this.log.warn('signaling connection lost; reconnecting (LAN and open data channels keep working)');
      // Sessions belong to the lost connection; their peer connections live on without signaling.
      for (const s of this.sessions.values()) s.signaled = false;
    }
  }

  private onSessionRequest(sessionId: string, endpoint: string, app: string): void {
    const log = this.log.child({ session: sessionId, app });
    if (this.closed) return this.client.rejectSession(sessionId, 'gateway stopping');
    if (endpoint !== GATEWAY_ENDPOINT)
      return this.client.rejectSession(sessionId, `no endpoint ${endpoint} here`);
    if (this.sessions.size >= this.o.signaling.maxSessions) {
      this.o.metrics.datachannelSessionsTotal.inc({ event: 'rejected' });
      log.warn({ max: this.o.signaling.maxSessions }, 'data-channel session rejected: too many');
      return this.client.rejectSession(sessionId, 'too many sessions');
    }
    const pc = new RTCPeerConnection({
      // Always explicit (werift's default is a public STUN host), from signaling: TURN REST credentials.
      iceServers: this.client.iceServers.map((s) => ({ ...s }) as RTCIceServer),
      iceTransportPolicy: this.o.signaling.iceTransportPolicy,
      // One transport for everything: a single TURN allocation.
      bundlePolicy: 'max-bundle',
      ...(this.o.includeLoopback ? { iceAdditionalHostAddresses: ['127.0.0.1'] } : {}),
    });
    const link = new DataChannelAppLink(pc, `session:${sessionId}`, this.o.highWaterBytes);
    const s: DcSession = {
      id: sessionId,
      app,
      pc,
      link,
      linkId: null,
      chain: Promise.resolve(),
      signaled: true,
      held: [],
      disconnectedTimer: null,
      setupTimer: null,
      log,
    };
    this.sessions.set(sessionId, s);
    this.o.metrics.datachannelSessions.set(this.sessions.size);
    this.o.metrics.datachannelSessionsTotal.inc({ event: 'accepted' });

    pc.onIceCandidate.subscribe((c) => {
      if (!c) return;
      this.localCandidate(s, {
        candidate: c.candidate,
        sdpMid: c.sdpMid ?? null,
        sdpMLineIndex: c.sdpMLineIndex ?? null,
      });
    });
    pc.iceGatheringStateChange.subscribe((g) => {
      if (g === 'complete') this.localCandidate(s, null);
    });
    pc.connectionStateChange.subscribe((state) => this.onConnectionState(s, state));

    s.setupTimer = setTimeout(() => {
      s.log.warn('data channels not open in time; giving up the session');
      link.close(1000, 'setup timeout');
    }, SETUP_TIMEOUT_MS);
    s.setupTimer.unref();

    void link.opened().then((ok) => {
      if (s.setupTimer) clearTimeout(s.setupTimer);
      if (!ok) return;
      // No claims: the app's first frame on gateway-reliable is `auth` with its own token.
      s.linkId = this.o.attachLink(link);
      s.log.info({ link: s.linkId }, 'data-channel link attached');
    });
    void link.ended().then((reason) => this.onEnded(s, reason));

    this.client.acceptSession(sessionId).then(
      () => log.info('data-channel session accepted'),
      (err: Error) => {
        log.warn({ err: err.message }, 'accepting the session failed');
        s.signaled = false;
        link.close(1000, 'accept failed');
      },
    );
  }

  private async onOffer(s: DcSession, sdp: string): Promise<void> {
    // A second offer in the same session is the app's ICE restart: same DTLS/SCTP, new ICE credentials.
    const restart = s.pc.remoteDescription !== undefined && s.pc.remoteDescription !== null;
    if (restart) {
      s.held = [];
      this.o.metrics.datachannelSessionsTotal.inc({ event: 'ice_restart' });
      s.log.info('ICE restart (new offer)');
    }
    await s.pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await s.pc.createAnswer();
    await s.pc.setLocalDescription(answer);
    const local = s.pc.localDescription;
    if (!local) throw new Error('no local description after setLocalDescription');
    if (s.signaled) this.client.sendAnswer(s.id, local.sdp);
    // Candidates gathered during setLocalDescription go after the answer, so the app has a description for them.
    const held = s.held ?? [];
    s.held = null;
    for (const c of held) this.sendCandidate(s, c);
  }

  private localCandidate(
    s: DcSession,
    c: { candidate: string; sdpMid: string | null; sdpMLineIndex: number | null } | null,
  ): void {
    if (s.held) s.held.push(c);
    else this.sendCandidate(s, c);
  }

  private sendCandidate(
    s: DcSession,
    c: { candidate: string; sdpMid: string | null; sdpMLineIndex: number | null } | null,
  ): void {
    if (!s.signaled) return;
    if (c) this.client.sendCandidate(s.id, c);
    else this.client.sendEndOfCandidates(s.id);
  }

  private onConnectionState(s: DcSession, state: string): void {
    s.log.debug({ state }, 'peer connection state');
    if (state === 'connected') {
      if (s.disconnectedTimer) clearTimeout(s.disconnectedTimer);
      s.disconnectedTimer = null;
      this.o.metrics.datachannelSessionsTotal.inc({ event: 'connected' });
    } else if (state === 'disconnected' && !s.disconnectedTimer) {
      s.disconnectedTimer = setTimeout(() => {
        s.disconnectedTimer = null;
        if (s.signaled && s.pc.connectionState === 'disconnected') {
          s.log.info('connection disconnected; asking the app for an ICE restart');
          this.client.requestIceRestart(s.id, 'disconnected');
        }
      }, DISCONNECTED_RESTART_MS);
      s.disconnectedTimer.unref();
    } else if (state === 'failed') {
      this.o.metrics.datachannelSessionsTotal.inc({ event: 'failed' });
    }
  }

  private onEnded(s: DcSession, reason: string): void {
    if (s.setupTimer) clearTimeout(s.setupTimer);
    if (s.disconnectedTimer) clearTimeout(s.disconnectedTimer);
    if (this.sessions.get(s.id) === s) this.sessions.delete(s.id);
    this.o.metrics.datachannelSessions.set(this.sessions.size);
    this.o.metrics.datachannelSessionsTotal.inc({ event: 'closed' });
    s.log.info({ reason, link: s.linkId }, 'data-channel session ended');
    // Tell the app through signaling too (when still possible): it may be waiting on its own ICE state.
    if (s.signaled && !this.closed) this.client.closeSession(s.id, reason.slice(0, 200));
    s.signaled = false;
  }

  private inSession(sessionId: string, fn: (s: DcSession) => Promise<void>): void {
    const s = this.sessions.get(sessionId);
    if (!s) return void this.log.debug({ session: sessionId }, 'signaling for an unknown session');
    s.chain = s.chain
      .then(() => (s.link.isClosed ? undefined : fn(s)))
      .catch((err: Error) => {
        s.log.warn({ err: err.message }, 'signaling message failed; closing the session');
        s.link.close(1011, 'negotiation failed');
      });
  }
}
