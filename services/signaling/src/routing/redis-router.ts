import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RobotPresence } from '@robostream/protocol';
import { groupPresence, type EndpointRecord, type PresenceChange, type Router } from './router.js';
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
  private readonly local = new Map<
    string,
    { peerId: string; json: string; robotId: string; endpoint: string }
  >();
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
    const common = { maxRetriesPerRequest: 2, enableAutoPipelining: true, lazyConnect: true };
    this.pub = new Redis(o.url, {
      ...common,
      connectionName: `rs-${this.instanceId}-pub`,
    }) as RedisWithScripts;
    this.sub = new Redis(o.url, { ...common, connectionName: `rs-${this.instanceId}-sub` });
    this.batcher = new PublishBatcher((channel, payload) => this.pub.publish(channel, payload));
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
    this.refreshTimer = setInterval(
      () => void this.refresh(),
      Math.max(250, Math.floor(this.o.presenceTtlMs / 3)),
    );
    this.sweepTimer = setInterval(
      () => void this.sweep(),
      Math.max(250, Math.floor(this.o.presenceTtlMs / 4)),
    );
  }

  async stop(): Promise<void> {
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
    const addressed: Addressed = { to, message };
    const receivers = await this.batcher.add(this.keys.peer(instanceOf(to)), JSON.stringify(addressed));
    return receivers > 0;
  }

  async registerEndpoint(
    robotId: string,
    endpoint: string,
    record: EndpointRecord,
  ): Promise<string | undefined> {
    const field = `${robotId}/${endpoint}`;
    const json = JSON.stringify(record);
    const old = await this.pub.rsRegister(this.keys.zset, this.keys.hash, field, json, this.o.presenceTtlMs);
    this.local.set(field, { peerId: record.peerId, json, robotId, endpoint });
    await this.publishPresence({
      robotId,
      endpoint,
      online: true,
      since: record.since,
      ...(record.meta ? { meta: record.meta } : {}),
    });
    const previous = old ? parseRecord(old)?.peerId : undefined;
    return previous !== record.peerId ? previous : undefined;
  }

  async unregisterEndpoint(robotId: string, endpoint: string, peerId: string): Promise<void> {
    const field = `${robotId}/${endpoint}`;
    if (this.local.get(field)?.peerId === peerId) this.local.delete(field);
    const removed = await this.pub.rsUnregister(this.keys.zset, this.keys.hash, field, peerId);
    if (removed === 1) await this.publishPresence({ robotId, endpoint, online: false });
  }

  async lookupEndpoint(robotId: string, endpoint: string): Promise<string | undefined> {
    const json = await this.pub.hget(this.keys.hash, `${robotId}/${endpoint}`);
    return json ? parseRecord(json)?.peerId : undefined;
  }

  async listRobots(): Promise<RobotPresence[]> {
    const all = await this.pub.hgetall(this.keys.hash);
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
    await this.pub.publish(this.keys.presence, JSON.stringify(change));
  }

  private async refresh(): Promise<void> {
    await Promise.allSettled(
      [...this.local.entries()].map(async ([field, l]) => {
        const r = await this.pub.rsRefresh(
          this.keys.zset,
          this.keys.hash,
          field,
          l.peerId,
          l.json,
          this.o.presenceTtlMs,
        );
        if (r === 0) this.local.delete(field);
        if (r === 2) {
          const rec = parseRecord(l.json);
          await this.publishPresence({
            robotId: l.robotId,
            endpoint: l.endpoint,
            online: true,
            ...(rec ? { since: rec.since } : {}),
            ...(rec?.meta ? { meta: rec.meta } : {}),
          });
        }
      }),
    );
  }

  private async sweep(): Promise<void> {
    try {
      const expired = await this.pub.rsSweep(this.keys.zset, this.keys.hash, 500);
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

function parseRecord(json: string): EndpointRecord | undefined {
  try {
    const r = JSON.parse(json) as EndpointRecord;
    return typeof r.peerId === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}
