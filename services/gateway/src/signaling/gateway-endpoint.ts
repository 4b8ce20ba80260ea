/**
 * The gateway's presence on signaling: registers endpoint `gateway` with the robot token, accepts app sessions,
 * answers each app's offer with a werift peer connection (the app offers, the robot answers), trickles ICE both
 * ways, and attaches the resulting data-channel link to the hub WITHOUT claims: the app authenticates with its own
 * token over the reliable channel and the gateway verifies it with the app public key (signaling is not trusted
 * for that). The signaling side of a session (ordering, held candidates, ICE restarts, reconnects) is the protocol
 * package's RobotEndpointHost, shared with the streamer's media endpoint; the session itself is in
 * datachannel-session.ts. While signaling is away, LAN links and established data channels keep working.
 */
import type { Logger } from 'pino';
import WebSocket from 'ws';
import {
  RobotEndpointHost,
  SignalingClient,
  type BackoffOptions,
  type WebSocketCtor,
} from '@robostream/protocol/client';
import { IceServerProbe } from '@robostream/protocol/ice-server-probe';
import type { SignalingLinkConfig } from '../config.js';
import type { GatewayMetrics } from '../hub/metrics.js';
import type { AppLink } from '../links/app-link.js';
import { DataChannelSession } from './datachannel-session.js';

const GATEWAY_ENDPOINT = 'gateway';

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

export class GatewayEndpoint {
  readonly client: SignalingClient;
  private readonly host: RobotEndpointHost<DataChannelSession>;
  private readonly log: Logger;
  private readonly offs: Array<() => void> = [];
  private readonly iceProbe: IceServerProbe;
  private metaTimer: NodeJS.Timeout | null = null;
  private lastMeta = '';
  private closed = false;

  constructor(private readonly o: GatewayEndpointOptions) {
    this.log = o.logger.child({ component: 'signaling' });
    this.iceProbe = new IceServerProbe({ log: this.log });
    this.lastMeta = o.services().join(',');
    this.client = new SignalingClient({
      url: o.signaling.url,
      token: o.signaling.token,
      WebSocket: WebSocket as unknown as WebSocketCtor,
      clientName: 'robostream-gateway',
      ...(o.reconnect ? { reconnect: o.reconnect } : {}),
      ...(o.requestTimeoutMs ? { requestTimeoutMs: o.requestTimeoutMs } : {}),
    });
    const metrics = o.metrics;
    this.host = new RobotEndpointHost({
      endpoint: GATEWAY_ENDPOINT,
      meta: () => ({ services: this.lastMeta }),
      maxSessions: o.signaling.maxSessions,
      tooManyReason: 'too many sessions',
      shutdownReason: 'gateway stopping',
      // The hub's link ends with the app's signaling session (the app reopens one to come back).
      outlivesAppSignaling: false,
      log: this.log,
      onAccepted: () => {
        metrics.datachannelSessions.set(this.host.sessionCount);
        metrics.datachannelSessionsTotal.inc({ event: 'accepted' });
      },
      onRejected: () => metrics.datachannelSessionsTotal.inc({ event: 'rejected' }),
      // Servers found not answering are left out (werift would wait 5 s for each before its first check); the
      // probe learns them as soon as signaling hands them out, long before the first session.
      iceServers: (servers) => this.iceProbe.usableNow(servers),
      createSession: (ctx) =>
        new DataChannelSession(ctx, {
          iceTransportPolicy: o.signaling.iceTransportPolicy,
          includeLoopback: o.includeLoopback ?? false,
          highWaterBytes: o.highWaterBytes,
          attachLink: o.attachLink,
          metrics,
          onEnded: () => metrics.datachannelSessions.set(this.host.sessionCount),
        }),
    });
    // Registers the endpoint with the client, which sends it once connected and after every reconnect.
    void this.host.attach(this.client, 'signaling');
    this.offs.push(
      this.client.on('state', (state) => {
        if (state === 'ready') return; // 'welcome' follows once the endpoint is registered again
        metrics.signalingConnected.set(0);
        if (state === 'reconnecting')
          this.log.warn('signaling connection lost; reconnecting (LAN and open data channels keep working)');
      }),
      this.client.on('welcome', () => {
        metrics.signalingConnected.set(1);
        this.iceProbe.warm(this.client.iceServers);
        this.log.info({ url: o.signaling.url, robot: o.robotId }, 'registered with signaling');
        // Services may have changed while we were away.
        this.updateServices(o.services());
      }),
      this.client.on('fatal', (f) =>
        this.log.error(
          { code: f.code, reason: f.reason },
          'signaling refused this gateway for good (token or a newer gateway); serving LAN links only',
        ),
      ),
      this.client.on('error', (e) => this.log.warn({ code: e.code, err: e.message }, 'signaling error')),
    );
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
    return this.host.sessionCount;
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
      void this.host.updateMeta();
    }, 200);
    this.metaTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.metaTimer) clearTimeout(this.metaTimer);
    // Sessions first, so apps hear session_close while signaling is still up.
    await this.host.close();
    for (const off of this.offs.splice(0)) off();
    this.client.close();
    this.o.metrics.signalingConnected.set(0);
  }
}
