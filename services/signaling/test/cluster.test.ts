/**
 * Scale-out on real Redis with instances as real processes: an instance that dies without a word loses its
 * robots within the presence bound; clients reconnect and re-register after a restart; SIGTERM drains.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TestKeys } from '../../../test/support/tokens.js';
import {
  RawSocket,
  client,
  eventually,
  freePort,
  spawnSignaling,
  startSignaling,
  type RunningSignaling,
  type SpawnedSignaling,
} from '../../../test/support/signaling.js';
import { startRedis, type RedisHandle } from '../../../test/support/docker.js';

const keys = new TestKeys();
const PRESENCE_TTL_MS = 3000;

describe('signaling cluster on Redis', () => {
  let redis: RedisHandle;
  let env: Record<string, string>;
  let b: RunningSignaling;
  const spawned: SpawnedSignaling[] = [];

  before(async () => {
    redis = await startRedis();
    env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `c${randomBytes(3).toString('hex')}:`,
      PRESENCE_TTL_MS: String(PRESENCE_TTL_MS),
    };
    b = await startSignaling(keys, env);
  });
  after(async () => {
    for (const s of spawned) await s.kill();
    await b.stop();
    await redis.stop();
  });

  test('robots of an instance that dies vanish from presence on the others within the bound', async () => {
    const a = await spawnSignaling(keys, env);
    spawned.push(a);
    const app = await RawSocket.open(b.url);
    await app.authenticate(await keys.app('watcher', '*'));
    app.send({ type: 'subscribe_presence' });
    await app.next('subscribed');
    const robot = client(a.url, await keys.robot('doomed-1'), {
      endpoints: [{ name: 'media' }, { name: 'gateway' }],
      reconnect: false,
    });
    await robot.connect();
    await app.next('presence', (m) => m.robotId === 'doomed-1' && m.online && m.endpoint === 'gateway');
    await a.kill();
    const t0 = Date.now();
    // The bound is 15 s; with TTL 3 s the sweep should see it within TTL + TTL/4 plus a sweep period.
    const gone = await app.next('presence', (m) => m.robotId === 'doomed-1' && !m.online, 15_000);
    const elapsed = Date.now() - t0;
    assert.equal(gone.online, false);
    assert.ok(elapsed <= PRESENCE_TTL_MS + 2 * (PRESENCE_TTL_MS / 4) + 500, `vanished after ${elapsed} ms`);
    app.send({ type: 'list_robots' });
    await eventually(
      async () => {
        app.send({ type: 'list_robots', ref: 'chk' });
        const r = await app.next('robots', (m) => m.ref === 'chk');
        return r.robots.length === 0;
      },
      5000,
      'both endpoints gone from the list',
    );
    robot.close();
    app.close();
  });

  test('a client reconnects and re-registers after its instance restarts', async () => {
    const port = String(await freePort());
    let a = await spawnSignaling(keys, { ...env, PORT: port });
    spawned.push(a);
    const robot = client(a.url, await keys.robot('phoenix-1'), {
      endpoints: [{ name: 'media', meta: { name: 'Phoenix' } }],
    });
    const states: string[] = [];
    robot.on('state', (s) => states.push(s));
    await robot.connect();
    const app = client(b.url, await keys.app('watcher2', ['phoenix-1']));
    await app.connect();
    const events: Array<{ online: boolean }> = [];
    app.on('presence', (p) => events.push(p));
    await eventually(
      async () => (await app.subscribePresence()).length === 1,
      5000,
      'robot visible on the other instance',
    );

    await a.kill();
    a = await spawnSignaling(keys, { ...env, PORT: port });
    spawned.push(a);
    // Back online on instance B's view after the reconnect, with its meta, and sessions work again.
    await eventually(
      () => events.some((e) => e.online) && robot.state === 'ready',
      20_000,
      'robot re-registered',
    );
    assert.ok(states.includes('reconnecting'));
    robot.on('session_request', (m) => void robot.acceptSession(m.sessionId));
    const sid = await eventually(
      async () => app.openSession('phoenix-1', 'media'),
      10_000,
      'session after restart',
    );
    assert.ok(sid);
    const robots = await app.listRobots();
    assert.deepEqual(robots[0]!.endpoints[0]!.meta, { name: 'Phoenix' });
    robot.close();
    app.close();
    await a.kill();
  });

  test('SIGTERM: clients get goaway, the instance unregisters its robots at once and exits 0', async () => {
    const a = await spawnSignaling(keys, { ...env, SHUTDOWN_GRACE_MS: '2000' });
    spawned.push(a);
    const robot = await RawSocket.open(a.url);
    await robot.authenticate(await keys.robot('leaving-1'));
    robot.send({ type: 'register', endpoint: 'media' });
    await robot.next('registered');
    const app = await RawSocket.open(b.url);
    await app.authenticate(await keys.app('watcher3', '*'));
    app.send({ type: 'subscribe_presence' });
    await app.next('subscribed', (m) => m.robots.some((r) => r.robotId === 'leaving-1'));
    const exit = a.terminate();
    const goaway = await robot.next('goaway');
    assert.ok(goaway.reconnectInMs >= 0);
    robot.close(); // a well-behaved client leaves when told to
    const offline = await app.next('presence', (m) => m.robotId === 'leaving-1' && !m.online, 5000);
    assert.equal(offline.online, false);
    assert.equal(await exit, 0);
    app.close();
  });

  test('/readyz reports Redis (503 when it is gone) while /healthz, the liveness check, stays 200', async () => {
    const r2 = await startRedis();
    const s = await startSignaling(keys, { REDIS_URL: r2.url });
    const ok = await fetch(`${s.httpUrl}/readyz`);
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { router: string }).router, 'redis');
    await r2.kill();
    await eventually(async () => (await fetch(`${s.httpUrl}/readyz`)).status === 503, 10_000, 'readyz 503');
    assert.equal((await fetch(`${s.httpUrl}/healthz`)).status, 200);
    await s.stop();
  });
});
