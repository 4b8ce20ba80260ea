import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RobotPresence } from '@robostream/protocol';
import {
  RouterUnavailableError,
  groupPresence,
  type EndpointRecord,
  type PresenceChange,
  type Router,
} from './router.js';
import { instanceOf, type Addressed, type RoutedMessage } from './routed-message.js';
import { PublishBatcher, unbatch } from './publish-batcher.js';
import { REFRESH, REGISTER, SWEEP, UNREGISTER } from './redis-scripts.js';

interface PresenceCommands {
  rsRegister(zset: string, hash: string, field: string, json: string, ttlMs: number): Promise<string | null>;
  rsRefresh(
    zset: string,
    hash: string,
    field: string,
    peerId: string,
    json: string,
    ttlMs: number,
  ): Promise<number>;
  rsUnregister(zset: string, hash: string, field: string, peerId: string): Promise<number>;
  rsSweep(zset: string, hash: string, limit: number): Promise<string[]>;
}
type RedisWithScripts = Redis & PresenceCommands;

export interface RedisRouterOptions {
  url: string;
  keyPrefix: string;
  /** A registration not refreshed within this time is removed by any live instance. */
  presenceTtlMs: number;
  log: Logger;
}

/**
 * N signaling instances sharing one Redis. Each instance subscribes to its own channel; a peer id names its
 * instance, so delivery is one PUBLISH (ordered per publisher connection, which keeps offer/answer/candidates
 * in order; the messages for one instance within one event-loop turn share a PUBLISH, see PublishBatcher). Presence is a hash of registrations plus a zset of expiries that the owning instance refreshes
 * every third of the TTL; any instance sweeps expired entries, so an instance that dies without a word loses
 * its robots within TTL + TTL/4.
 */
export class RedisRouter implements Router {
  readonly kind = 'redis';
  readonly instanceId = randomBytes(4).toString('hex');
  private readonly pub: RedisWithScripts;
  private readonly sub: Redis;
  private readonly keys: { zset: string; hash: string; presence: string; peer: (instance: string) => string };
  /** This instance's registrations; `synced` is false for one made while Redis was unreachable. */
  private readonly local = new Map<
    string,
    { peerId: string; json: string; robotId: string; endpoint: string; synced: boolean }
  >();
  /** Unregistrations Redis did not take (it was unreachable): field -> the peer that held it. */
  private readonly pendingRemovals = new Map<string, string>();
  private syncing: Promise<void> | undefined;
  private started = false;
  private messageHandler: (to: string, message: RoutedMessage) => void = () => undefined;
  private presenceHandler: (change: PresenceChange) => void = () => undefined;
  private readonly batcher: PublishBatcher;
  private refreshTimer: ReturnType<typeof setInterval> | undefined;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly o: RedisRouterOptions) {
    const p = o.keyPrefix;
    this.keys = {
      zset: `${p}presence`,
      hash: `${p}endpoints`,
      presence: `${p}presence-events`,
      peer: (i) => `${p}peer:${i}`,
    };
    // No offline queue and a command timeout: while Redis is away a command fails at once (or within the timeout
    // when the connection hangs) instead of waiting for it, so that clients get a prompt typed error. Reconnect
    // attempts at most a second apart, so that the instance is whole again soon after Redis returns.
    // No auto-pipelining: PublishBatcher already makes one PUBLISH of a turn's messages, and ioredis's per-tick
    // Pipeline objects (with their commands) were most of what outlived the app instance's scavenges in the relay
    // bench's flood (heap sampling of what survives minor GCs): 86 MB promoted to the old generation over one
    // bench run with it, 35 MB without, and fewer, shorter pauses. The other commands are rare.
    const common = {
      maxRetriesPerRequest: 1,
      enableAutoPipelining: false,
      lazyConnect: true,
      enableOfflineQueue: false,
      commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
    };
    this.pub = new Redis(o.url, {
      ...common,
      connectionName: `rs-${this.instanceId}-pub`,
    }) as RedisWithScripts;
    this.sub = new Redis(o.url, { ...common, connectionName: `rs-${this.instanceId}-sub` });
    this.batcher = new PublishBatcher((channel, payload) => store(this.pub.publish(channel, payload)));
    this.pub.defineCommand('rsRegister', { numberOfKeys: 2, lua: REGISTER });
    this.pub.defineCommand('rsRefresh', { numberOfKeys: 2, lua: REFRESH });
    this.pub.defineCommand('rsUnregister', { numberOfKeys: 2, lua: UNREGISTER });
    this.pub.defineCommand('rsSweep', { numberOfKeys: 2, lua: SWEEP });
    for (const c of [this.pub, this.sub])
      c.on('error', (err: Error) => o.log.warn({ err: err.message }, 'redis connection error'));
  }

  async start(): Promise<void> {
    await Promise.all([this.pub.connect(), this.sub.connect()]);
    this.sub.on('message', (channel: string, raw: string) => this.onChannelMessage(channel, raw));
    await this.sub.subscribe(this.keys.peer(this.instanceId), this.keys.presence);
    this.started = true;
    // Back after an outage: write what changed meanwhile at once, rather than at the next refresh.
    for (const c of [this.pub, this.sub]) c.on('ready', () => void this.reconnected());
    this.refreshTimer = setInterval(
      () =>
        void this.sync().catch((err: unknown) =>
          this.o.log.debug({ err: (err as Error).message }, 'presence refresh failed'),
        ),
      Math.max(250, Math.floor(this.o.presenceTtlMs / 3)),
    );
    this.sweepTimer = setInterval(
      () => void this.sweep(),
      Math.max(250, Math.floor(this.o.presenceTtlMs / 4)),
    );
  }

  async stop(): Promise<void> {
    this.started = false;
    clearInterval(this.refreshTimer);
    clearInterval(this.sweepTimer);
    // A clean stop takes this instance's robots out of presence now rather than at expiry.
    await Promise.allSettled(
      [...this.local.values()].map((l) => this.unregisterEndpoint(l.robotId, l.endpoint, l.peerId)),
    );
    // QUIT waits for Redis; when Redis is gone, do not wait for ever.
    await Promise.race([
      Promise.allSettled([this.sub.quit(), this.pub.quit()]),
      new Promise((r) => setTimeout(r, 1000).unref()),
    ]);
    this.sub.disconnect();
    this.pub.disconnect();
  }

  onMessage(handler: (to: string, message: RoutedMessage) => void): void {
    this.messageHandler = handler;
  }
  onPresence(handler: (change: PresenceChange) => void): void {
    this.presenceHandler = handler;
  }

  async deliver(to: string, message: RoutedMessage): Promise<boolean> {
    // A peer of this instance is reached without Redis: faster, and it keeps working while Redis is away. Each
    // addressee always gets its messages by one path, so their order is kept.
    if (instanceOf(to) === this.instanceId) {
      queueMicrotask(() => this.messageHandler(to, message));
      return true;
    }
    const addressed: Addressed = { to, message };
    // A failed PUBLISH rejects with RouterUnavailableError (the batcher's publish goes through store()).
    const receivers = await this.batcher.add(this.keys.peer(instanceOf(to)), JSON.stringify(addressed));
    return receivers > 0;
  }

  /**
   * While Redis is away the registration is kept here and answered as made: apps on this instance reach the robot,
   * and the registration is written (taking the endpoint over, with a kick to its previous holder) once Redis is
   * back.
   */
  async registerEndpoint(
    robotId: string,
    endpoint: string,
    record: EndpointRecord,
  ): Promise<string | undefined> {
    const field = `${robotId}/${endpoint}`;
    const entry = { peerId: record.peerId, json: JSON.stringify(record), robotId, endpoint, synced: false };
    this.local.set(field, entry);
    try {
      return await this.write(field, entry);
    } catch (err) {
      if (!(err instanceof RouterUnavailableError)) throw err;
      this.o.log.warn({ robotId, endpoint }, 'redis unreachable: registration kept locally until it is back');
      return undefined;
    }
  }

  async unregisterEndpoint(robotId: string, endpoint: string, peerId: string): Promise<void> {
    const field = `${robotId}/${endpoint}`;
    if (this.local.get(field)?.peerId === peerId) this.local.delete(field);
    try {
      await this.remove(field, peerId);
    } catch (err) {
      if (!(err instanceof RouterUnavailableError)) throw err;
      this.pendingRemovals.set(field, peerId);
    }
  }

  /** Redis knows who holds an endpoint now; while it is away, this instance's own robots are still found. */
  async lookupEndpoint(robotId: string, endpoint: string): Promise<string | undefined> {
    const field = `${robotId}/${endpoint}`;
    try {
      const json = await store(this.pub.hget(this.keys.hash, field));
      return json ? parseRecord(json)?.peerId : undefined;
    } catch (err) {
      const here = this.local.get(field);
      if (err instanceof RouterUnavailableError && here) return here.peerId;
      throw err;
    }
  }

  async listRobots(): Promise<RobotPresence[]> {
    const all = await store(this.pub.hgetall(this.keys.hash));
    const entries = [];
    for (const [field, json] of Object.entries(all)) {
      const slash = field.indexOf('/');
      const record = parseRecord(json);
      if (slash > 0 && record)
        entries.push({ robotId: field.slice(0, slash), endpoint: field.slice(slash + 1), record });
    }
    return groupPresence(entries);
  }

  async healthy(): Promise<boolean> {
    try {
      const pong = await Promise.race([
        this.pub.ping(),
        new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), 1000)),
      ]);
      return pong === 'PONG' && this.sub.status === 'ready';
    } catch {
      return false;
    }
  }

  private onChannelMessage(channel: string, raw: string): void {
    try {
      if (channel === this.keys.presence) this.presenceHandler(JSON.parse(raw) as PresenceChange);
      else for (const { to, message } of unbatch<Addressed>(raw)) this.messageHandler(to, message);
    } catch (err) {
      this.o.log.error({ err: (err as Error).message, channel }, 'dropping a malformed routed message');
    }
  }

  private async publishPresence(change: PresenceChange): Promise<void> {
    await store(this.pub.publish(this.keys.presence, JSON.stringify(change)));
  }

  private online(l: { robotId: string; endpoint: string; json: string }): PresenceChange {
    const rec = parseRecord(l.json);
    return {
      robotId: l.robotId,
      endpoint: l.endpoint,
      online: true,
      ...(rec ? { since: rec.since } : {}),
      ...(rec?.meta ? { meta: rec.meta } : {}),
    };
  }

  /** Writes a registration (taking the endpoint over) and announces it; returns the peer it replaced. */
  private async write(
    field: string,
    l: { peerId: string; json: string; robotId: string; endpoint: string; synced: boolean },
  ): Promise<string | undefined> {
    const old = await store(
      this.pub.rsRegister(this.keys.zset, this.keys.hash, field, l.json, this.o.presenceTtlMs),
    );
    l.synced = true;
    this.pendingRemovals.delete(field);
    await this.publishPresence(this.online(l));
    const previous = old ? parseRecord(old)?.peerId : undefined;
    return previous !== l.peerId ? previous : undefined;
  }

  private async remove(field: string, peerId: string): Promise<void> {
    const removed = await store(this.pub.rsUnregister(this.keys.zset, this.keys.hash, field, peerId));
    if (removed === 1) {
      const slash = field.indexOf('/');
      await this.publishPresence({
        robotId: field.slice(0, slash),
        endpoint: field.slice(slash + 1),
        online: false,
      });
    }
  }

  /** Both connections are up again (ioredis re-subscribes by itself): make sure of the subscriptions, then sync. */
  private async reconnected(): Promise<void> {
    if (!this.started || this.pub.status !== 'ready' || this.sub.status !== 'ready') return;
    try {
      await store(this.sub.subscribe(this.keys.peer(this.instanceId), this.keys.presence));
      await this.sync();
      this.o.log.info({ endpoints: this.local.size }, 'redis reachable again; registrations written');
    } catch {
      /* unreachable again: the next 'ready' or refresh tries once more */
    }
  }

  /**
   * Makes Redis agree with this instance: removals it missed, registrations made while it was away, and a refresh
   * of every other registration (re-added, and announced, if Redis lost it). Runs every third of the presence TTL
   * and when Redis comes back; one run at a time.
   */
  private sync(): Promise<void> {
    this.syncing ??= this.syncOnce().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    for (const [field, peerId] of [...this.pendingRemovals]) {
      await this.remove(field, peerId);
      this.pendingRemovals.delete(field);
    }
    const results = await Promise.allSettled(
      [...this.local.entries()].map(async ([field, l]) => {
        if (!l.synced) {
          const previous = await this.write(field, l);
          if (previous)
            await this.deliver(previous, {
              kind: 'kick',
              from: l.peerId,
              reason: `robot endpoint ${l.endpoint} registered by a newer connection`,
            });
          return;
        }
        const r = await store(
          this.pub.rsRefresh(this.keys.zset, this.keys.hash, field, l.peerId, l.json, this.o.presenceTtlMs),
        );
        if (r === 0) this.local.delete(field);
        if (r === 2) await this.publishPresence(this.online(l));
      }),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async sweep(): Promise<void> {
    try {
      const expired = await store(this.pub.rsSweep(this.keys.zset, this.keys.hash, 500));
      for (const field of expired) {
        const slash = field.indexOf('/');
        this.o.log.info(
          { robotId: field.slice(0, slash), endpoint: field.slice(slash + 1) },
          'presence expired',
        );
        await this.publishPresence({
          robotId: field.slice(0, slash),
          endpoint: field.slice(slash + 1),
          online: false,
        });
      }
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'presence sweep failed');
    }
  }
}

/** How long a Redis command may take before the request that needs it fails with `unavailable`. */
const COMMAND_TIMEOUT_MS = 1500;

/** A Redis command whose failure (Redis unreachable, or no answer in time) becomes RouterUnavailableError. */
async function store<T>(command: Promise<T>): Promise<T> {
  try {
    return await command;
  } catch (err) {
    throw new RouterUnavailableError(err);
  }
}

function parseRecord(json: string): EndpointRecord | undefined {
  try {
    const r = JSON.parse(json) as EndpointRecord;
    return typeof r.peerId === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}
