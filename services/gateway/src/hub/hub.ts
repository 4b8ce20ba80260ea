/**
 * The gateway's router: local services on one side, authenticated app links on the other.
 * - app -> service by service name (commands, operator only); service -> every link or one (telemetry, events,
 *   replies); unknown or disconnected services get a typed error back to the sender;
 * - the control lock (take / release / takeover, announced to everyone) and the deadman watchdog on its holder;
 * - e-stop on the priority lane of every destination;
 * - bounded queues per destination (see Outbox): telemetry drops oldest per service and is reported, reliable
 *   messages that cannot be queued produce a queue_full error to their sender.
 * Identity is stamped here (`service`, `from`, `sub`); no frame field can claim it.
 */
import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { WebSocket, RawData } from 'ws';
import { verifyToken, appMayReach, TokenError, type AppClaims } from '@robostream/protocol/auth';
import {
  appToGateway,
  serviceToGateway,
  GatewayCloseCode,
  GATEWAY_ENVELOPE_VERSION as v,
  type AppToGateway,
  type EstopSource,
  type GatewayErrorCode,
  type GatewayToApp,
  type GatewayToService,
  type LockHolder,
  type LockState,
  type ServiceToGateway,
} from '@robostream/protocol/gateway';
import type { GatewayLimits } from '../config.js';
import type { AppLink } from '../links/app-link.js';
import { WsTransport } from '../links/ws-transport.js';
import { rawToString } from '../links/ws-app-link.js';
import { Outbox } from './outbox.js';
import { ControlLock, type LockResult } from './control-lock.js';
import { DeadmanWatchdog, type DeadmanChange } from './deadman-watchdog.js';
import type { GatewayMetrics } from './metrics.js';

export interface HubOptions {
  robotId: string;
  appPublicKey: KeyObject;
  limits: GatewayLimits;
  logger: Logger;
  metrics: GatewayMetrics;
  /** Called with the connected service names whenever one comes or goes (signaling presence meta). */
  onServicesChanged?: (services: string[]) => void;
}

interface ServiceSession {
  name: string | null;
  ws: WebSocket;
  transport: WsTransport;
  out: Outbox;
  log: Logger;
}

interface LinkSession {
  id: string;
  link: AppLink;
  claims: AppClaims | null;
  out: Outbox;
  log: Logger;
  authPending: boolean;
  authFailures: number;
  authTimer: NodeJS.Timeout | null;
  /** Frames that arrived while the token was being verified, replayed after it. */
  backlog: string[];
}

export interface HubStats {
  links: number;
  services: string[];
  lock: LockHolder | null;
  deadman: 'ok' | 'tripped';
  serviceQueues: Record<string, number>;
  linkQueues: Record<string, number>;
}

const MAX_AUTH_FAILURES = 3;
const MAX_AUTH_BACKLOG = 64;
const enc = (m: GatewayToApp | GatewayToService): string => JSON.stringify(m);

export class Hub {
  private readonly services = new Map<string, ServiceSession>();
  private readonly serviceSessions = new Set<ServiceSession>();
  /** Every service name ever registered: a known name that is absent is `service_down`, not `unknown_service`. */
  private readonly known = new Set<string>();
  private readonly links = new Map<string, LinkSession>();
  private readonly pending = new Set<LinkSession>();
  private readonly lock = new ControlLock();
  private readonly deadman: DeadmanWatchdog;
  private readonly log: Logger;
  private linkSeq = 0;
  private closing = false;

  constructor(private readonly o: HubOptions) {
    this.log = o.logger;
    this.deadman = new DeadmanWatchdog(o.limits.deadmanMs, (c) => this.onDeadman(c));
  }

  // ------------------------------------------------------------------ local services

  attachService(ws: WebSocket, remote: string): void {
    const transport = new WsTransport(ws, this.o.limits.highWaterBytes / 2);
    const s: ServiceSession = {
      name: null,
      ws,
      transport,
      log: this.log.child({ service: null, remote }),
      out: new Outbox(
        { send: (f) => transport.send(f), bufferedAmount: () => transport.bufferedAmount },
        {
          reliableLimit: this.o.limits.reliableQueue,
          lossyLimitPerKey: this.o.limits.telemetryQueue,
          highWaterBytes: this.o.limits.highWaterBytes,
        },
      ),
    };
    transport.onDrain(() => s.out.flush());
    this.serviceSessions.add(s);
    ws.on('message', (data: RawData, isBinary: boolean) =>
      this.guard(
        () => this.onServiceFrame(s, data, isBinary),
        (code, message) => this.serviceError(s, code, message),
        s.log,
      ),
    );
    ws.on('close', () => this.onServiceClosed(s));
    ws.on('error', (err) => s.log.warn({ err: err.message }, 'service socket error'));
  }

  private onServiceFrame(s: ServiceSession, data: RawData, isBinary: boolean): void {
    const frame = rawToString(data);
    if (this.tooLarge(frame)) {
      return this.serviceError(
        s,
        'frame_too_large',
        `frames are limited to ${this.o.limits.maxFrameBytes} bytes`,
      );
    }
    if (isBinary) return this.serviceError(s, 'bad_message', 'frames must be text (JSON)');
    this.o.metrics.count('service', 'in', 'frame');
    const r = serviceToGateway.decode(frame);
    if (!r.ok) return this.serviceError(s, r.code, r.message, r.ref);
    const m = r.msg;
    if (m.type === 'hello') return this.onHello(s, m.service);
    if (m.type === 'ping')
      return this.toService(s, { v, type: 'pong', ...(m.id ? { ref: m.id } : {}), at: Date.now() });
    if (s.name === null)
      return this.serviceError(s, 'hello_required', 'send hello with your service name first');
    this.routeFromService(s, s.name, m);
  }

  private onHello(s: ServiceSession, name: string): void {
    if (s.name !== null) return this.serviceError(s, 'already_registered', `already registered as ${s.name}`);
    if (this.services.has(name)) {
      return this.serviceError(s, 'service_taken', `another program is connected as ${name}`);
    }
    s.name = name;
    s.log = s.log.child({ service: name });
    this.services.set(name, s);
    const restarted = this.known.has(name);
    this.known.add(name);
    this.o.metrics.services.set(this.services.size);
    s.log.info({ restarted }, 'service up');
    this.o.onServicesChanged?.([...this.services.keys()].sort());
    this.toService(s, {
      v,
      type: 'welcome',
      service: name,
      lock: this.lock.state(),
      deadman: this.deadman.status,
      links: this.links.size,
    });
    this.broadcastApps(enc({ v, type: 'service.up', service: name }), 'service.up');
  }

  private routeFromService(
    s: ServiceSession,
    service: string,
    m: Exclude<ServiceToGateway, { type: 'hello' | 'ping' }>,
  ): void {
    switch (m.type) {
      case 'telemetry': {
        const frame = enc({
          v,
          type: 'telemetry',
          service,
          ...(m.topic ? { topic: m.topic } : {}),
          payload: m.payload,
        });
        if (m.to !== undefined) {
          const l = this.links.get(m.to);
          if (!l) return this.serviceError(s, 'unknown_link', `no app link ${m.to}`);
          l.out.pushLossy(service, frame);
        } else {
          for (const l of this.links.values()) l.out.pushLossy(service, frame);
        }
        this.o.metrics.count('app', 'out', 'telemetry', m.to ? 1 : this.links.size);
        return;
      }
      case 'event': {
        const frame = enc({ v, type: 'event', service, payload: m.payload });
        const targets = m.to !== undefined ? [this.links.get(m.to)] : [...this.links.values()];
        for (const l of targets) {
          if (!l) return this.serviceError(s, 'unknown_link', `no app link ${m.to}`, m.id);
          this.toAppReliable(l, frame, 'event', () =>
            this.serviceError(
              s,
              'queue_full',
              `event not delivered to link ${l.id}: its queue is full`,
              m.id,
            ),
          );
        }
        return;
      }
      case 'reply': {
        const l = this.links.get(m.to);
        if (!l) return this.serviceError(s, 'unknown_link', `no app link ${m.to}`, m.ref);
        const frame = enc({
          v,
          type: 'reply',
          service,
          ref: m.ref,
          ok: m.ok,
          ...(m.payload !== undefined ? { payload: m.payload } : {}),
        });
        this.toAppReliable(l, frame, 'reply', () =>
          this.serviceError(s, 'queue_full', `reply not delivered to link ${l.id}: its queue is full`, m.ref),
        );
        return;
      }
      case 'estop':
        return this.estop({ kind: 'service', service }, m.reason);
    }
  }

  private onServiceClosed(s: ServiceSession): void {
    this.serviceSessions.delete(s);
    s.out.close();
    if (s.name === null || this.services.get(s.name) !== s) return;
    this.services.delete(s.name);
    this.o.metrics.services.set(this.services.size);
    s.log.info('service down');
    this.o.onServicesChanged?.([...this.services.keys()].sort());
    if (!this.closing) this.broadcastApps(enc({ v, type: 'service.down', service: s.name }), 'service.down');
  }

  // ------------------------------------------------------------------ app links

  /**
   * Adds an app link from any transport. Without `claims` the link must send `auth` first (direct links);
   * a transport that authenticated the app already (e.g. through signaling) passes the verified claims.
   */
  attachLink(link: AppLink, claims?: AppClaims): string {
    const id = `${(++this.linkSeq).toString(36)}-${randomBytes(4).toString('hex')}`;
    const l: LinkSession = {
      id,
      link,
      claims: null,
      log: this.log.child({ link: id, transport: link.transport, remote: link.remote }),
      authPending: false,
      authFailures: 0,
      authTimer: null,
      backlog: [],
      out: new Outbox(link, {
        reliableLimit: this.o.limits.reliableQueue,
        lossyLimitPerKey: this.o.limits.telemetryQueue,
        highWaterBytes: Math.min(this.o.limits.highWaterBytes, link.highWaterBytes ?? Infinity),
        dropReport: (service, dropped, total) => enc({ v, type: 'drops', service, dropped, total }),
        onDrop: (service, n) => this.o.metrics.drops.inc({ service }, n),
      }),
    };
    link.onDrain(() => l.out.flush());
    link.onMessage((frame) =>
      this.guard(
        () => this.onLinkFrame(l, frame),
        (code, message) => this.appError(l, code, message),
        l.log,
      ),
    );
    link.onClose((reason) => this.onLinkClosed(l, reason));
    if (claims) {
      // Claims from another transport's authentication still have to grant this robot.
      if (!appMayReach(claims, this.o.robotId)) {
        this.appError(l, 'forbidden', `this token does not grant robot ${this.o.robotId}`);
        link.close(GatewayCloseCode.Forbidden, 'forbidden');
      } else this.admit(l, claims);
    } else {
      this.pending.add(l);
      l.authTimer = setTimeout(() => {
        this.appError(l, 'auth_timeout', `no auth within ${this.o.limits.authTimeoutMs} ms`);
        l.link.close(GatewayCloseCode.AuthTimeout, 'auth_timeout');
      }, this.o.limits.authTimeoutMs);
      l.authTimer.unref();
    }
    return id;
  }

  private onLinkFrame(l: LinkSession, frame: string): void {
    // Any frame from the operator proves its link alive, even one we refuse.
    if (l.claims && this.lock.isHolder(l.id)) this.deadman.heard();
    if (this.tooLarge(frame)) {
      return this.appError(
        l,
        'frame_too_large',
        `frames are limited to ${this.o.limits.maxFrameBytes} bytes`,
      );
    }
    if (l.authPending) {
      if (l.backlog.length >= MAX_AUTH_BACKLOG)
        return this.appError(l, 'unauthenticated', 'still verifying the token');
      l.backlog.push(frame);
      return;
    }
    this.o.metrics.count('app', 'in', 'frame');
    const r = appToGateway.decode(frame);
    if (!r.ok) return this.appError(l, r.code, r.message, r.ref);
    const m = r.msg;
    if (!l.claims) {
      if (m.type !== 'auth')
        return this.appError(l, 'unauthenticated', 'send auth with an app token first', idOf(m));
      return void this.authenticate(l, m.token);
    }
    this.routeFromApp(l, l.claims, m);
  }

  private async authenticate(l: LinkSession, token: string): Promise<void> {
    l.authPending = true;
    let claims: AppClaims | null = null;
    let code: GatewayErrorCode = 'token_invalid';
    let message = 'token refused';
    try {
      const c = await verifyToken(token, this.o.appPublicKey, { role: 'app' });
      if (c.role !== 'app') throw new TokenError('wrong_role', 'an app token is required');
      if (!appMayReach(c, this.o.robotId)) {
        code = 'forbidden';
        message = `this token does not grant robot ${this.o.robotId}`;
      } else claims = c;
    } catch (err) {
      if (err instanceof TokenError) {
        code = err.code;
        message = err.message;
      } else {
        code = 'internal';
        message = 'token verification failed';
        l.log.error({ err: (err as Error).message }, 'token verification error');
      }
    }
    l.authPending = false;
    if (!this.pending.has(l)) return; // closed meanwhile
    if (claims) this.admit(l, claims);
    else {
      l.authFailures++;
      l.log.info({ code, failures: l.authFailures }, 'app auth refused');
      this.appError(l, code, message);
      if (l.authFailures >= MAX_AUTH_FAILURES) {
        l.link.close(code === 'forbidden' ? GatewayCloseCode.Forbidden : GatewayCloseCode.Unauthorized, code);
        return;
      }
    }
    const backlog = l.backlog;
    l.backlog = [];
    for (const f of backlog) {
      this.guard(
        () => this.onLinkFrame(l, f),
        (c, msg) => this.appError(l, c, msg),
        l.log,
      );
    }
  }

  private admit(l: LinkSession, claims: AppClaims): void {
    if (l.authTimer) clearTimeout(l.authTimer);
    this.pending.delete(l);
    l.claims = claims;
    l.log = l.log.child({ sub: claims.sub });
    this.links.set(l.id, l);
    this.o.metrics.links.inc({ transport: l.link.transport });
    l.log.info('app link up');
    this.toAppReliable(
      l,
      enc({
        v,
        type: 'welcome',
        link: l.id,
        sub: claims.sub,
        robot: this.o.robotId,
        services: [...this.known].sort().map((service) => ({ service, up: this.services.has(service) })),
        lock: this.lock.state(),
        deadman: this.deadman.status,
        limits: { maxFrameBytes: this.o.limits.maxFrameBytes, deadmanMs: this.o.limits.deadmanMs },
      }),
      'welcome',
    );
  }

  private routeFromApp(l: LinkSession, claims: AppClaims, m: AppToGateway): void {
    const who: LockHolder = { link: l.id, sub: claims.sub };
    switch (m.type) {
      case 'auth':
        return this.appError(l, 'already_authenticated', 'this link is authenticated already');
      case 'ping':
        return this.toAppReliable(
          l,
          enc({ v, type: 'pong', ...(m.id ? { ref: m.id } : {}), at: Date.now() }),
          'pong',
        );
      case 'estop':
        return this.estop({ kind: 'app', link: l.id, sub: claims.sub }, m.reason);
      case 'lock.take':
        return this.lockResult(l, this.lock.take(who), m.id);
      case 'lock.takeover':
        return this.lockResult(l, this.lock.takeover(who), m.id);
      case 'lock.release':
        return this.lockResult(l, this.lock.release(l.id), m.id);
      case 'command': {
        if (!this.lock.isHolder(l.id)) {
          return this.appError(
            l,
            'not_operator',
            'commands need the control lock (lock.take)',
            m.id,
            m.service,
          );
        }
        const s = this.services.get(m.service);
        if (!s) {
          return this.known.has(m.service)
            ? this.appError(l, 'service_down', `service ${m.service} is disconnected`, m.id, m.service)
            : this.appError(l, 'unknown_service', `no service ${m.service} on this robot`, m.id, m.service);
        }
        const frame = enc({ v, type: 'command', id: m.id, from: l.id, sub: claims.sub, payload: m.payload });
        const queued = s.out.pushReliable({
          frame,
          onDiscard: () =>
            this.appError(
              l,
              'service_down',
              `service ${m.service} went away before reading it`,
              m.id,
              m.service,
            ),
        });
        if (!queued) {
          return this.appError(
            l,
            'queue_full',
            `service ${m.service} is not keeping up; not delivered`,
            m.id,
            m.service,
          );
        }
        this.o.metrics.count('service', 'out', 'command');
        return;
      }
    }
  }

  private lockResult(l: LinkSession, r: LockResult, ref: string | undefined): void {
    if (!r.ok) {
      const message =
        r.code === 'lock_held'
          ? 'another operator holds the lock; use lock.takeover'
          : 'you do not hold the lock';
      return this.appError(l, r.code, message, ref);
    }
    if (!r.changed) return this.toAppReliable(l, enc({ v, type: 'lock.state', ...r.state }), 'lock.state');
    this.announceLock(r.state);
  }

  private announceLock(state: LockState): void {
    const h = state.holder;
    if (h) this.deadman.watch(h);
    else if (state.cause === 'link_closed') this.deadman.holderLost();
    else this.deadman.released();
    this.o.metrics.lockHeld.set(h ? 1 : 0);
    this.o.metrics.lockHolder.reset();
    if (h) this.o.metrics.lockHolder.set({ sub: h.sub }, 1);
    this.log.info({ holder: h, cause: state.cause, previous: state.previous ?? null }, 'control lock');
    const frame = enc({ v, type: 'lock.state', ...state });
    this.broadcastApps(frame, 'lock.state');
    for (const s of this.services.values()) s.out.pushReliable({ frame });
  }

  private onLinkClosed(l: LinkSession, reason: string): void {
    if (l.authTimer) clearTimeout(l.authTimer);
    this.pending.delete(l);
    l.out.close();
    if (!this.links.delete(l.id)) return;
    this.o.metrics.links.dec({ transport: l.link.transport });
    l.log.info({ reason }, 'app link down');
    const state = this.lock.linkClosed(l.id);
    if (state && !this.closing) this.announceLock(state);
  }

  // ------------------------------------------------------------------ safety

  private estop(source: EstopSource, reason: string | undefined): void {
    this.o.metrics.estops.inc();
    this.log.warn({ source, reason }, 'EMERGENCY STOP');
    const frame = enc({ v, type: 'estop', source, ...(reason ? { reason } : {}), at: Date.now() });
    // Services first: stopping the robot is what matters; apps are told right after.
    for (const s of this.services.values()) s.out.pushPriority(frame);
    for (const l of this.links.values()) l.out.pushPriority(frame);
  }

  private onDeadman(c: DeadmanChange): void {
    this.o.metrics.deadmanTripped.set(c.status === 'tripped' ? 1 : 0);
    if (c.status === 'tripped') this.log.warn({ holder: c.holder, silentMs: c.silentMs }, 'deadman tripped');
    else this.log.info({ holder: c.holder }, 'deadman clear');
    if (this.closing) return;
    const frame = enc({ v, type: 'deadman', status: c.status, holder: c.holder, silentMs: c.silentMs });
    for (const s of this.services.values()) s.out.pushPriority(frame);
    for (const l of this.links.values()) l.out.pushPriority(frame);
  }

  /**
   * The hub keeps the e-stop lane and the deadman for every link, so no frame may take the process down: decoders
   * refuse what could make encoding throw (too deep, too large), and whatever still throws is answered with
   * `internal` to its sender and logged, while every other link and service goes on.
   */
  private guard(
    handle: () => void,
    reply: (code: GatewayErrorCode, message: string) => void,
    log: Logger,
  ): void {
    try {
      handle();
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'frame handling failed');
      try {
        reply('internal', 'the gateway could not handle this frame');
      } catch {
        // Nothing more to do for this frame; the hub itself stays up.
      }
    }
  }

  // ------------------------------------------------------------------ sending

  private toService(s: ServiceSession, m: GatewayToService): void {
    s.out.pushReliable({ frame: enc(m) });
  }

  private serviceError(s: ServiceSession, code: GatewayErrorCode, message: string, ref?: string): void {
    this.o.metrics.errors.inc({ code });
    s.log.debug({ code, message }, 'error to service');
    // An error that cannot be queued is not reported further: its recipient is already far behind.
    s.out.pushReliable({ frame: enc({ v, type: 'error', code, message, ...(ref ? { ref } : {}) }) });
  }

  private appError(
    l: LinkSession,
    code: GatewayErrorCode,
    message: string,
    ref?: string,
    service?: string,
  ): void {
    this.o.metrics.errors.inc({ code });
    l.log.debug({ code, message }, 'error to app');
    l.out.pushReliable({
      frame: enc({
        v,
        type: 'error',
        code,
        message,
        ...(ref ? { ref } : {}),
        ...(service ? { service } : {}),
      }),
    });
  }

  private toAppReliable(l: LinkSession, frame: string, type: string, onFull?: () => void): void {
    this.o.metrics.count('app', 'out', type);
    if (!l.out.pushReliable({ frame, ...(onFull ? { onDiscard: onFull } : {}) })) {
      if (onFull) onFull();
      else l.log.warn({ type }, 'reliable queue full; announcement not queued');
    }
  }

  private broadcastApps(frame: string, type: string): void {
    for (const l of this.links.values()) this.toAppReliable(l, frame, type);
  }

  private tooLarge(frame: string): boolean {
    const max = this.o.limits.maxFrameBytes;
    return frame.length > max / 3 && Buffer.byteLength(frame) > max;
  }

  // ------------------------------------------------------------------ lifecycle & introspection

  stats(): HubStats {
    const serviceQueues: Record<string, number> = {};
    for (const [name, s] of this.services) serviceQueues[name] = s.out.depth;
    const linkQueues: Record<string, number> = {};
    for (const [id, l] of this.links) linkQueues[id] = l.out.depth;
    return {
      links: this.links.size,
      services: [...this.services.keys()].sort(),
      lock: this.lock.holder,
      deadman: this.deadman.status,
      serviceQueues,
      linkQueues,
    };
  }

  /** Tells everyone the gateway is stopping and closes every link and service socket. */
  close(): void {
    this.closing = true;
    this.deadman.stop();
    for (const l of [...this.links.values(), ...this.pending]) {
      this.appError(l, 'shutting_down', 'the gateway is stopping');
      l.link.close(GatewayCloseCode.GoingAway, 'shutting_down');
    }
    for (const s of this.serviceSessions) s.ws.close(GatewayCloseCode.GoingAway, 'shutting_down');
  }
}

function idOf(m: AppToGateway): string | undefined {
  return 'id' in m ? m.id : undefined;
}
