/**
 * A Redis outage on two instances sharing a real Redis (testcontainers, a fixed host port so that the restarted
 * container is the same address): liveness stays up, readiness goes down, requests that need Redis get a prompt
 * typed error, clients of one instance keep relaying, and once Redis is back everything, presence included, is
 * whole within 5 s.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import { TestKeys } from '../../../test/support/tokens.js';
import { REDIS_IMAGE } from '../../../test/support/docker.js';
import {
  RawSocket,
  eventually,
  freePort,
  startSignaling,
  type RunningSignaling,
} from '../../../test/support/signaling.js';

const keys = new TestKeys();
const docker = (...args: string[]) => promisify(execFile)('docker', args);

describe('Redis outage', () => {
  let redis: StartedTestContainer;
  let a: RunningSignaling;
  let b: RunningSignaling;
  const sockets: RawSocket[] = [];

  async function socket(s: RunningSignaling, token: string): Promise<RawSocket> {
    const ws = await RawSocket.open(s.url);
    await ws.authenticate(token);
    sockets.push(ws);
    return ws;
  }
  async function robotOn(s: RunningSignaling, robotId: string): Promise<RawSocket> {
    const ws = await socket(s, await keys.robot(robotId));
    ws.send({ type: 'register', endpoint: 'media' });
    await ws.next('registered');
    return ws;
  }
  /** A request's reply or error, and how long it took. */
  async function timed(ws: RawSocket, msg: { type: string; ref: string }) {
    const t0 = Date.now();
    ws.send(msg);
    const reply = await Promise.race([
      ws.next('error', (m) => m.ref === msg.ref, 5_000),
      ws.next('robots', (m) => m.ref === msg.ref, 5_000),
    ]);
    return { reply, ms: Date.now() - t0 };
  }
  const robotIds = async (ws: RawSocket, ref: string) => {
    const { reply } = await timed(ws, { type: 'list_robots', ref });
    return reply.type === 'robots' ? reply.robots.map((r) => r.robotId) : reply.code;
  };
  const status = async (s: RunningSignaling, path: string) => (await fetch(`${s.httpUrl}${path}`)).status;

  before(async () => {
    const port = await freePort();
    redis = await new GenericContainer(REDIS_IMAGE).withExposedPorts({ container: 6379, host: port }).start();
    // A refresh every 10 s: only the instances' own recovery can make presence whole within 5 s.
    const env = { REDIS_URL: `redis://127.0.0.1:${port}`, PRESENCE_TTL_MS: '30000' };
    a = await startSignaling(keys, env);
    b = await startSignaling(keys, env);
  });
  after(async () => {
    for (const ws of sockets) ws.close();
    await a?.stop();
    await b?.stop();
    if (redis) await docker('rm', '-f', redis.getId()).catch(() => undefined);
  });

  test('stop Redis mid-session, then start it again', async () => {
    // Before: a session between two clients of instance A; robots on both instances; an app on B watching presence.
    const robotA = await robotOn(a, 'rover-a');
    const robotB = await robotOn(b, 'rover-b');
    const app = await socket(a, await keys.app('op-a', '*'));
    app.send({ type: 'session_open', ref: 'o', robotId: 'rover-a', endpoint: 'media' });
    const { sessionId } = await robotA.next('session_request');
    robotA.send({ type: 'session_accept', sessionId });
    await app.next('session_accepted');
    const watcher = await socket(b, await keys.app('op-b', '*'));
    watcher.send({ type: 'subscribe_presence', ref: 's' });
    assert.deepEqual(
      (await watcher.next('subscribed')).robots.map((r) => r.robotId),
      ['rover-a', 'rover-b'],
    );

    await docker('stop', '--time', '2', redis.getId());
    await eventually(async () => (await status(a, '/readyz')) === 503, 5_000, 'readyz 503 on A');
    assert.equal(await status(b, '/readyz'), 503);
    // Liveness: the load balancer keeps every replica.
    assert.equal(await status(a, '/healthz'), 200);
    assert.equal(await status(b, '/healthz'), 200);

    // Requests that need Redis get a prompt typed error, on both instances.
    for (const [ws, ref] of [
      [app, 'l1'],
      [watcher, 'l2'],
    ] as const) {
      const { reply, ms } = await timed(ws, { type: 'list_robots', ref });
      assert.equal(reply.type === 'error' && reply.code, 'unavailable', JSON.stringify(reply));
      assert.ok(ms < 2_000, `answered after ${ms} ms`);
    }
    // Relays between clients of one instance keep working, both ways.
    app.send({ type: 'offer', sessionId, sdp: 'v=0 during the outage' });
    assert.equal((await robotA.next('offer')).sdp, 'v=0 during the outage');
    robotA.send({ type: 'answer', sessionId, sdp: 'v=0 answer during the outage' });
    assert.equal((await app.next('answer')).sdp, 'v=0 answer during the outage');
    // Meanwhile a robot leaves instance B and another arrives on A.
    robotB.close();
    const late = await robotOn(a, 'rover-late');
    // ... and an app of that instance reaches it.
    app.send({ type: 'session_open', ref: 'o2', robotId: 'rover-late', endpoint: 'media' });
    await app.next('session_created', (m) => m.ref === 'o2');
    const during = await late.next('session_request');
    late.send({ type: 'session_reject', sessionId: during.sessionId, reason: 'test' });
    await app.next('session_rejected');

    await docker('start', redis.getId());
    const back = Date.now();
    const within = () => 5_000 - (Date.now() - back);
    // Presence is whole again: the robot that left is gone, the one that arrived is there, on both instances.
    const offline = await watcher.next('presence', (m) => m.robotId === 'rover-b' && !m.online, within());
    assert.equal(offline.online, false);
    await watcher.next('presence', (m) => m.robotId === 'rover-late' && m.online, within());
    for (const [ws, name] of [
      [watcher, 'b'],
      [app, 'a'],
    ] as const) {
      let n = 0;
      await eventually(
        async () =>
          JSON.stringify(await robotIds(ws, `${name}${n++}`)) === JSON.stringify(['rover-a', 'rover-late']),
        within(),
        `presence whole on instance ${name.toUpperCase()}`,
      );
    }
    await eventually(async () => (await status(a, '/readyz')) === 200, within(), 'readyz 200 on A');
    assert.equal(await status(b, '/readyz'), 200);
    // Across instances again: an app on B opens a session to the robot that arrived on A during the outage.
    watcher.send({ type: 'session_open', ref: 'x', robotId: 'rover-late', endpoint: 'media' });
    await watcher.next('session_created', (m) => m.ref === 'x');
    await late.next('session_request');
    assert.ok(Date.now() - back <= 5_000, `whole after ${Date.now() - back} ms`);
  });
});
