/**
 * What the page knows about a robot's gateway, folded from the envelope messages it receives
 * (`@robostream/protocol/gateway`, gateway -> app): services and their latest telemetry with its rate, the
 * control lock, the deadman, e-stops, replies and errors.
 */
import type { DeadmanStatus, GatewayToApp, LockState } from '@robostream/protocol/gateway';

export interface TopicValue {
  payload: unknown;
  at: number;
}

export interface ServiceView {
  service: string;
  up: boolean;
  topics: Map<string, TopicValue>;
  /** Receive times in the last RATE_WINDOW_MS, for the rate figure. */
  recent: number[];
  dropped: number;
}

export interface LogEntry {
  at: number;
  kind: 'reply' | 'error' | 'event' | 'estop' | 'lock' | 'deadman' | 'info';
  ok: boolean;
  text: string;
}

export const RATE_WINDOW_MS = 2_000;
const LOG_LIMIT = 200;

export class GatewayModel {
  link: string | null = null;
  sub: string | null = null;
  robot: string | null = null;
  /** What this link's token grants on the robot, from the gateway's welcome (the gateway enforces them). */
  grants: readonly string[] = [];
  deadmanMs = 500;
  lock: LockState = { holder: null, cause: 'current' };
  deadman: DeadmanStatus = 'ok';
  lastEstop: { at: number; by: string; reason: string } | null = null;
  readonly services = new Map<string, ServiceView>();
  readonly log: LogEntry[] = [];

  may(grant: 'view' | 'talk' | 'drive' | 'supervise'): boolean {
    return this.grants.includes(grant);
  }

  get iHoldLock(): boolean {
    return this.link !== null && this.lock.holder?.link === this.link;
  }

  service(name: string): ServiceView {
    let s = this.services.get(name);
    if (!s)
      this.services.set(name, (s = { service: name, up: true, topics: new Map(), recent: [], dropped: 0 }));
    return s;
  }

  rate(s: ServiceView, now = Date.now()): number {
    while (s.recent.length && (s.recent[0] ?? 0) < now - RATE_WINDOW_MS) s.recent.shift();
    return s.recent.length / (RATE_WINDOW_MS / 1000);
  }

  apply(m: GatewayToApp, now = Date.now()): void {
    switch (m.type) {
      case 'welcome':
        this.link = m.link;
        this.sub = m.sub;
        this.robot = m.robot;
        this.grants = m.grants;
        this.lock = m.lock;
        this.deadman = m.deadman;
        this.deadmanMs = m.limits.deadmanMs;
        for (const s of m.services) this.service(s.service).up = s.up;
        this.note(
          now,
          'info',
          true,
          `authenticated as ${m.sub} (link ${m.link}; may ${m.grants.join(', ')})`,
        );
        return;
      case 'telemetry': {
        const s = this.service(m.service);
        s.up = true;
        s.topics.set(m.topic ?? '', { payload: m.payload, at: now });
        s.recent.push(now);
        return;
      }
      case 'event':
        this.note(now, 'event', true, `${m.service}: ${JSON.stringify(m.payload)}`);
        return;
      case 'reply':
        this.note(
          now,
          'reply',
          m.ok,
          `${m.service} ${m.ok ? 'ok' : 'failed'} [${m.ref}] ${m.payload === undefined ? '' : JSON.stringify(m.payload)}`,
        );
        return;
      case 'error':
        this.note(
          now,
          'error',
          false,
          `${m.code}${m.service ? ` (${m.service})` : ''}${m.ref ? ` [${m.ref}]` : ''}: ${m.message}`,
        );
        return;
      case 'lock.state':
        this.lock = {
          holder: m.holder,
          cause: m.cause,
          ...(m.previous !== undefined ? { previous: m.previous } : {}),
        };
        this.note(
          now,
          'lock',
          true,
          m.holder ? `control lock: ${m.holder.sub} (${m.cause})` : `control lock free (${m.cause})`,
        );
        return;
      case 'deadman':
        this.deadman = m.status;
        this.note(
          now,
          'deadman',
          m.status === 'ok',
          `deadman ${m.status}${m.holder ? ` (${m.holder.sub}, silent ${m.silentMs} ms)` : ''}`,
        );
        return;
      case 'estop': {
        const by = m.source.kind === 'app' ? m.source.sub : `service ${m.source.service}`;
        this.lastEstop = { at: m.at, by, reason: m.reason ?? '' };
        this.note(now, 'estop', false, `E-STOP by ${by}${m.reason ? `: ${m.reason}` : ''}`);
        return;
      }
      case 'service.up':
        this.service(m.service).up = true;
        this.note(now, 'info', true, `service ${m.service} up`);
        return;
      case 'service.down':
        this.service(m.service).up = false;
        this.note(now, 'info', false, `service ${m.service} down`);
        return;
      case 'drops':
        this.service(m.service).dropped = m.total;
        return;
      case 'pong':
      case 'chunk': // joined by GatewaySession before the model sees the message
        return;
    }
  }

  note(at: number, kind: LogEntry['kind'], ok: boolean, text: string): void {
    this.log.push({ at, kind, ok, text });
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
  }
}
