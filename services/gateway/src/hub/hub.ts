/**
 * The gateway's router: local services on one side, authenticated app links on the other.
 * - app -> service by service name (commands, operator only); service -> every link or one (telemetry, events,
 *   replies); unknown or disconnected services get a typed error back to the sender;
 * - the control lock (take / release / takeover, announced to everyone) and the deadman watchdog on its holder;
 * - e-stop on the priority lane of every destination;
 * - bounded queues per destination (see Outbox): telemetry drops oldest per service and is reported, reliable
 *   messages that cannot be queued produce a queue_full error to their sender;
 * - chunked (large) messages: reassembled per link and per service within the service's size cap, then routed
 *   as the one message they are; large messages out are chunked by the destination's outbox, behind everything
 *   else (docs/gateway.md, "Large messages").
 * Identity is stamped here (`service`, `from`, `sub`); no frame field can claim it. Who the services are is
 * ServiceRegistry's; how a direct link authenticates is LinkAuthenticator's; the hub knows no socket library
 * (services come as ServiceLinks, apps as AppLinks).
 */
import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import {
  appMay,
  grantListOn,
  grantsRobot,
  notGranted,
  type AppClaims,
  type Grant,
} from '@robostream/protocol/auth';
import {
  appToGateway,
  serviceToGateway,
  GatewayCloseCode,
  ReassemblyBudget,
  type Admission,
  type AppChunk,
  type ChunkFrame,
  type GatewayErrorCode,
  type ServiceChunk,
  GATEWAY_ENVELOPE_VERSION as v,
  type AppToGateway,
  type EstopSource,
  type LockHolder,
  type LockState,
  type TapRecord,
} from '@robostream/protocol/gateway';
import type { GatewayLimits } from '../config.js';
import type { AppLink } from '../links/app-link.js';
import { AppSession } from './app-session.js';
import { enc, guard, tooLarge } from './frames.js';
import { ControlLock, type LockResult } from './control-lock.js';
import { DeadmanWatchdog, type DeadmanChange } from './deadman-watchdog.js';
import type { GatewayMetrics } from './metrics.js';
import { LinkAuthenticator } from './link-authenticator.js';
import type { ServiceLink } from './service-link.js';
import { ServiceRegistry } from './service-registry.js';
import { ServiceSession } from './service-session.js';
import { routeFromService } from './service-routes.js';
import { reassemblerFor, serviceCap } from './chunk-intake.js';
import { tapNow } from '../tap/tap-stream.js';

export interface HubOptions {
  robotId: string;
  appPublicKey: KeyObject;
  limits: GatewayLimits;
  logger: Logger;
  metrics: GatewayMetrics;
  /** Called with the connected service names whenever one comes or goes (signaling presence meta). */
  onServicesChanged?: (services: string[]) => void;
  /** A copy of every routed or announced message, for the recorder (tap/tap-stream.ts); app auth never. */
  tap?: (record: TapRecord) => void;
}

export interface HubStats {
  links: number;
  services: string[];
  lock: LockHolder | null;
  deadman: 'ok' | 'tripped';
  serviceQueues: Record<string, number>;
  linkQueues: Record<string, number>;
}

export class Hub {
  private readonly services = new ServiceRegistry();
  private readonly links = new Map<string, AppSession>();
  private readonly auth: LinkAuthenticator<AppSession>;
  private readonly lock = new ControlLock();
  private readonly deadman: DeadmanWatchdog;
  /** Bytes every partial chunked message together may hold (reserved at their first chunk). */
  private readonly reassembly: ReassemblyBudget;
  private readonly log: Logger;
  private linkSeq = 0;
  private closing = false;

  constructor(private readonly o: HubOptions) {
    this.log = o.logger;
    this.deadman = new DeadmanWatchdog(o.limits.deadmanMs, (c) => this.onDeadman(c));
    this.reassembly = new ReassemblyBudget(o.limits.reassemblyBudgetBytes);
    this.auth = new LinkAuthenticator({
      robotId: o.robotId,
      appPublicKey: o.appPublicKey,
      authTimeoutMs: o.limits.authTimeoutMs,
      admit: (l, claims) => this.admit(l, claims),
      refuse: (l, code, message) => l.error(code, message),
      replay: (l, frame) =>
        guard(
          () => this.onLinkFrame(l, frame),
          (c, msg) => l.error(c, msg),
          l.log,
        ),
    });
  }

  // ------------------------------------------------------------------ local services

  attachService(link: ServiceLink): void {
    const log = this.log.child({ service: null, remote: link.remote });
    const s = new ServiceSession(link, log, this.o.limits, this.o.metrics);
    s.chunks = reassemblerFor(
      this.o.limits,
      this.reassembly,
      () => ({ ok: true, maxBytes: s.maxMessageBytes }),
      (code, message, ref) => s.error(code, message, ref),
    );
    link.onDrain(() => s.out.flush());
    this.services.add(s);
    link.onFrame((frame, isBinary) =>
      guard(
        () => this.onServiceFrame(s, frame, isBinary),
        (code, message) => s.error(code, message),
        s.log,
      ),
    );
    link.onClose(() => this.onServiceClosed(s));
    link.onError((err) => s.log.warn({ err: err.message }, 'service socket error'));
  }

  private onServiceFrame(s: ServiceSession, frame: string, isBinary: boolean): void {
    if (tooLarge(frame, this.o.limits.maxFrameBytes)) {
      return s.error('frame_too_large', `frames are limited to ${this.o.limits.maxFrameBytes} bytes`);
    }
    if (isBinary) return s.error('bad_message', 'frames must be text (JSON)');
    this.o.metrics.count('service', 'in', 'frame');
    const r = serviceToGateway.decode(frame);
    if (!r.ok) return s.error(r.code, r.message, r.ref);
    const m = r.msg;
    const named = m.type === 'hello' ? m.service : s.name;
    // Chunks are not tapped: the message they make up is, once whole.
    if (named !== null && m.type !== 'chunk')
      this.o.tap?.({ at: tapNow(), origin: 'service', service: named, message: m });
    if (m.type === 'hello') return this.onHello(s, m.service, m.maxMessageBytes);
    if (m.type === 'ping') return s.send({ v, type: 'pong', ...(m.id ? { ref: m.id } : {}), at: Date.now() });
    if (s.name === null) return s.error('hello_required', 'send hello with your service name first');
    if (m.type === 'estop') return this.estop({ kind: 'service', service: s.name }, m.reason);
    if (m.type === 'chunk') return this.chunkFromService(s, s.name, m);
    routeFromService(s, s.name, m, this.links, this.o.metrics);
  }

  /** A chunk from a program; the whole message, once here, is routed like any telemetry, event or reply. */
  private chunkFromService(s: ServiceSession, name: string, m: ServiceChunk): void {
    const r = s.chunks!.accept(m);
    if (r.kind === 'refused') return s.error(r.code, r.message, r.id);
    if (r.kind !== 'complete') return;
    this.o.metrics.count('service', 'in', 'reassembled');
    const reply = (code: GatewayErrorCode, message: string) => s.error(code, message, r.id);
    laterTurn(s.log, reply, () => {
      const d = serviceToGateway.decode(r.frame);
      if (!d.ok) return s.error(d.code, d.message, r.id);
      const msg = d.msg;
      if (msg.type !== 'telemetry' && msg.type !== 'event' && msg.type !== 'reply') {
        const message = `a chunked message from a service is telemetry, an event or a reply, not ${msg.type}`;
        return s.error('bad_message', message, r.id);
      }
      laterTurn(s.log, reply, () => {
        if (this.services.get(name) !== s) return; // the program went away meanwhile
        this.o.tap?.({ at: tapNow(), origin: 'service', service: name, message: msg });
        routeFromService(s, name, msg, this.links, this.o.metrics);
      });
    });
  }

  private onHello(s: ServiceSession, name: string, maxMessageBytes: number | undefined): void {
    const r = this.services.hello(s, name);
    if (!r.ok) return s.error(r.code, r.message);
    s.maxMessageBytes = serviceCap(this.o.limits, name, maxMessageBytes);
    this.o.metrics.services.set(this.services.size);
    s.log.info({ restarted: r.restarted }, 'service up');
    this.o.onServicesChanged?.(this.services.names());
    s.send({
      v,
      type: 'welcome',
      service: name,
      lock: this.lock.state(),
      deadman: this.deadman.status,
      links: this.links.size,
    });
    this.broadcastApps(enc({ v, type: 'service.up', service: name }), 'service.up');
  }

  private onServiceClosed(s: ServiceSession): void {
    s.out.close();
    s.chunks?.clear();
    if (!this.services.remove(s) || s.name === null) return;
    this.o.metrics.services.set(this.services.size);
    s.log.info('service down');
    this.o.onServicesChanged?.(this.services.names());
    if (!this.closing) this.broadcastApps(enc({ v, type: 'service.down', service: s.name }), 'service.down');
  }

  // ------------------------------------------------------------------ app links

  /**
   * Adds an app link from any transport. Without `claims` the link must send `auth` first (direct links);
   * a transport that authenticated the app already (e.g. through signaling) passes the verified claims.
   */
  attachLink(link: AppLink, claims?: AppClaims): string {
    const id = `${(++this.linkSeq).toString(36)}-${randomBytes(4).toString('hex')}`;
    const log = this.log.child({ link: id, transport: link.transport, remote: link.remote });
    const l = new AppSession(id, link, log, this.o.limits, this.o.metrics);
    l.chunks = reassemblerFor(
      this.o.limits,
      this.reassembly,
      (first) => this.admitAppChunk(l, first),
      (code, message, ref, service) => l.error(code, message, ref, service),
    );
    link.onDrain(() => l.out.flush());
    link.onMessage((frame) =>
      guard(
        () => this.onLinkFrame(l, frame),
        (code, message) => l.error(code, message),
        l.log,
      ),
    );
    link.onClose((reason) => this.onLinkClosed(l, reason));
    if (!claims) {
      this.auth.expect(l);
      return id;
    }
    // Claims from another transport's authentication still have to grant this robot.
    const access = grantsRobot(claims, this.o.robotId);
    if (access.ok) this.admit(l, access.claims);
    else {
      l.error(access.code, access.message);
      link.close(GatewayCloseCode.Forbidden, 'forbidden');
    }
    return id;
  }

  private onLinkFrame(l: AppSession, frame: string): void {
    // Any frame from the operator proves its link alive, even one we refuse.
    if (l.claims && this.lock.isHolder(l.id)) this.deadman.heard();
    if (tooLarge(frame, this.o.limits.maxFrameBytes)) {
      return l.error('frame_too_large', `frames are limited to ${this.o.limits.maxFrameBytes} bytes`);
    }
    if (this.auth.holdWhileVerifying(l, frame)) return;
    this.o.metrics.count('app', 'in', 'frame');
    const r = appToGateway.decode(frame);
    if (!r.ok) return l.error(r.code, r.message, r.ref);
    const m = r.msg;
    if (!l.claims) {
      if (m.type !== 'auth') return l.error('unauthenticated', 'send auth with an app token first', idOf(m));
      return void this.auth.verify(l, m.token);
    }
    this.routeFromApp(l, l.claims, m);
  }

  private admit(l: AppSession, claims: AppClaims): void {
    this.auth.forget(l);
    l.claims = claims;
    l.log = l.log.child({ sub: claims.sub });
    this.links.set(l.id, l);
    this.o.metrics.links.inc({ transport: l.link.transport });
    l.log.info('app link up');
    l.sendReliable(
      enc({
        v,
        type: 'welcome',
        link: l.id,
        sub: claims.sub,
        robot: this.o.robotId,
        grants: grantListOn(claims.grants, this.o.robotId),
        services: this.services.knownServices(),
        lock: this.lock.state(),
        deadman: this.deadman.status,
        limits: { maxFrameBytes: this.o.limits.maxFrameBytes, deadmanMs: this.o.limits.deadmanMs },
      }),
      'welcome',
    );
  }

  private routeFromApp(l: AppSession, claims: AppClaims, m: AppToGateway): void {
    const who: LockHolder = { link: l.id, sub: claims.sub };
    if (m.type !== 'auth' && m.type !== 'chunk')
      this.o.tap?.({ at: tapNow(), origin: 'app', link: l.id, sub: claims.sub, message: m });
    switch (m.type) {
      case 'auth':
        return l.error('already_authenticated', 'this link is authenticated already');
      case 'ping':
        return l.sendReliable(
          enc({ v, type: 'pong', ...(m.id ? { ref: m.id } : {}), at: Date.now() }),
          'pong',
        );
      case 'estop':
        // Every admitted link may stop the robot (view is what admitted it): see docs/gateway.md, "Grants".
        return this.estop({ kind: 'app', link: l.id, sub: claims.sub }, m.reason);
      case 'lock.take':
        if (!this.may(l, claims, 'drive', m.id)) return;
        return this.lockResult(l, this.lock.take(who), m.id);
      case 'lock.takeover':
        // Taking a free lock is driving; taking it from another operator is supervising.
        if (!this.may(l, claims, this.lock.holder && !this.lock.isHolder(l.id) ? 'supervise' : 'drive', m.id))
          return;
        return this.lockResult(l, this.lock.takeover(who), m.id);
      case 'lock.release':
        return this.lockResult(l, this.lock.release(l.id), m.id);
      case 'velocity':
        return this.velocity(l, claims, m);
      case 'chunk':
        return this.chunkFromApp(l, claims, m);
      case 'command': {
        const t = this.commandTarget(l, claims, m.service);
        if (!t.ok) return l.error(t.code, t.message, m.id, m.service);
        const s = t.service;
        const frame = enc({ v, type: 'command', id: m.id, from: l.id, sub: claims.sub, payload: m.payload });
        const queued = s.out.pushReliable({
          frame,
          onDiscard: () =>
            l.error('service_down', `service ${m.service} went away before reading it`, m.id, m.service),
        });
        if (!queued) {
          return l.error(
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

  /** Who may send a command to `service`, and whether it is there: the same rules for one frame or chunks. */
  private commandTarget(
    l: AppSession,
    claims: AppClaims,
    service: string,
  ): { ok: true; service: ServiceSession } | Extract<Admission, { ok: false }> {
    if (!appMay(claims, this.o.robotId, 'drive')) {
      l.log.warn({ grant: 'drive' }, 'refused: the token does not grant it');
      return { ok: false, code: 'forbidden', message: notGranted(this.o.robotId, 'drive') };
    }
    if (!this.lock.isHolder(l.id))
      return { ok: false, code: 'not_operator', message: 'commands need the control lock (lock.take)' };
    const s = this.services.get(service);
    if (s) return { ok: true, service: s };
    return this.services.isKnown(service)
      ? { ok: false, code: 'service_down', message: `service ${service} is disconnected` }
      : { ok: false, code: 'unknown_service', message: `no service ${service} on this robot` };
  }

  /**
   * The first chunk of an app's message: only a command can be large, so it is judged as the command would be
   * (drive, lock, service up) and against the service's cap, before a byte more is held.
   */
  private admitAppChunk(l: AppSession, first: ChunkFrame): Admission {
    if (!l.claims || first.service === undefined)
      return { ok: false, code: 'bad_message', message: 'chunk: /service is required' };
    const t = this.commandTarget(l, l.claims, first.service);
    return t.ok ? { ok: true, maxBytes: t.service.maxMessageBytes } : t;
  }

  /** A chunk from an app; the whole message, once here, must be a command to the service its chunks named. */
  private chunkFromApp(l: AppSession, claims: AppClaims, m: AppChunk): void {
    const r = l.chunks!.accept(m);
    if (r.kind === 'refused') return l.error(r.code, r.message, r.id, r.service);
    if (r.kind !== 'complete') return;
    this.o.metrics.count('app', 'in', 'reassembled');
    const reply = (code: GatewayErrorCode, message: string) => l.error(code, message, r.id, r.service);
    laterTurn(l.log, reply, () => {
      const d = appToGateway.decode(r.frame);
      if (!d.ok) return l.error(d.code, d.message, r.id, r.service);
      const msg = d.msg;
      if (msg.type !== 'command' || msg.service !== r.service) {
        const message = 'a chunked message from an app is a command to the service its chunks name';
        return l.error('bad_message', message, r.id, r.service);
      }
      // Lock and service are checked again there: either may have changed during the transfer.
      laterTurn(l.log, reply, () => this.routeFromApp(l, claims, msg));
    });
  }

  /**
   * A velocity command goes on the service's lossy lane: when the program reads slowly the oldest are dropped,
   * since only the newest speed matters. Refusals name the seq as ref, so an app sees which one was refused.
   */
  private velocity(l: AppSession, claims: AppClaims, m: Extract<AppToGateway, { type: 'velocity' }>): void {
    const ref = `v${m.seq}`;
    if (!this.may(l, claims, 'drive', ref, m.service)) return;
    if (!this.lock.isHolder(l.id))
      return l.error('not_operator', 'velocity commands need the control lock (lock.take)', ref, m.service);
    const s = this.services.get(m.service);
    if (!s) {
      return this.services.isKnown(m.service)
        ? l.error('service_down', `service ${m.service} is disconnected`, ref, m.service)
        : l.error('unknown_service', `no service ${m.service} on this robot`, ref, m.service);
    }
    const { seq, sentAt, linear, angular } = m;
    s.out.pushLossy(
      'velocity',
      enc({ v, type: 'velocity', from: l.id, sub: claims.sub, seq, sentAt, at: Date.now(), linear, angular }),
    );
    this.o.metrics.count('service', 'out', 'velocity');
  }

  /** Answers `forbidden` (and returns false) when the link's token lacks the grant on this robot. */
  private may(l: AppSession, claims: AppClaims, grant: Grant, ref?: string, service?: string): boolean {
    if (appMay(claims, this.o.robotId, grant)) return true;
    l.log.warn({ grant }, 'refused: the token does not grant it');
    l.error('forbidden', notGranted(this.o.robotId, grant), ref, service);
    return false;
  }

  private lockResult(l: AppSession, r: LockResult, ref: string | undefined): void {
    if (!r.ok) {
      const message =
        r.code === 'lock_held'
          ? 'another operator holds the lock; use lock.takeover'
          : 'you do not hold the lock';
      return l.error(r.code, message, ref);
    }
    if (!r.changed) return l.sendReliable(enc({ v, type: 'lock.state', ...r.state }), 'lock.state');
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
    const message = { v, type: 'lock.state', ...state } as const;
    this.o.tap?.({ at: tapNow(), origin: 'gateway', message });
    const frame = enc(message);
    this.broadcastApps(frame, 'lock.state');
    for (const s of this.services.named()) s.out.pushReliable({ frame });
  }

  private onLinkClosed(l: AppSession, reason: string): void {
    this.auth.forget(l);
    l.out.close();
    l.chunks?.clear();
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
    const message = { v, type: 'estop', source, ...(reason ? { reason } : {}), at: Date.now() } as const;
    this.o.tap?.({ at: tapNow(), origin: 'gateway', message });
    const frame = enc(message);
    // Services first: stopping the robot is what matters; apps are told right after.
    for (const s of this.services.named()) s.out.pushPriority(frame);
    for (const l of this.links.values()) l.out.pushPriority(frame);
  }

  private onDeadman(c: DeadmanChange): void {
    this.o.metrics.deadmanTripped.set(c.status === 'tripped' ? 1 : 0);
    if (c.status === 'tripped') this.log.warn({ holder: c.holder, silentMs: c.silentMs }, 'deadman tripped');
    else this.log.info({ holder: c.holder }, 'deadman clear');
    if (this.closing) return;
    const message = { v, type: 'deadman', status: c.status, holder: c.holder, silentMs: c.silentMs } as const;
    this.o.tap?.({ at: tapNow(), origin: 'gateway', message });
    const frame = enc(message);
    for (const s of this.services.named()) s.out.pushPriority(frame);
    for (const l of this.links.values()) l.out.pushPriority(frame);
  }

  // ------------------------------------------------------------------ sending

  private broadcastApps(frame: string, type: string): void {
    for (const l of this.links.values()) l.sendReliable(frame, type);
  }

  // ------------------------------------------------------------------ lifecycle & introspection

  stats(): HubStats {
    const serviceQueues: Record<string, number> = {};
    for (const s of this.services.named()) if (s.name !== null) serviceQueues[s.name] = s.out.depth;
    const linkQueues: Record<string, number> = {};
    for (const [id, l] of this.links) linkQueues[id] = l.out.depth;
    return {
      links: this.links.size,
      services: this.services.names(),
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
    for (const l of [...this.links.values(), ...this.auth.links()]) {
      l.error('shutting_down', 'the gateway is stopping');
      l.link.close(GatewayCloseCode.GoingAway, 'shutting_down');
    }
    for (const s of this.services.all()) s.link.close(GatewayCloseCode.GoingAway, 'shutting_down');
  }
}

/**
 * Parsing a reassembled message of megabytes and encoding it again each take tens of ms: each runs in its own
 * event-loop turn, so that the frames that arrived meanwhile (an e-stop, a command) are handled in between.
 */
function laterTurn(
  log: Logger,
  reply: (code: GatewayErrorCode, message: string) => void,
  step: () => void,
): void {
  setImmediate(() => guard(step, reply, log));
}

function idOf(m: AppToGateway): string | undefined {
  return 'id' in m ? m.id : undefined;
}
