// compose.yaml's default services, as `docker compose up --wait` starts them (the project's own images):
// every health check green, the simulated robot in presence on both signaling replicas, a browser session
// through one replica (relay-only through compose's coturn), a rolling restart of both replicas (the robot out of
// presence for a reconnect at most, the media session untouched), one replica killed mid-session while media keeps
// flowing and the clients reconnect through the other, and `docker compose down` leaving nothing behind.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { RobotPresence } from '@robostream/protocol';
import { client } from '../support/signaling.js';
import { TestKeys } from '../support/tokens.js';
import { ComposeStack } from './support/compose.js';
import {
  buildImages,
  containerIp,
  docker,
  dockerHostAddress,
  freePort,
  sessionOpen,
  TEST_TAG,
  waitFor,
} from './support/docker-cli.js';
import { launchMediaBrowser, type MediaBrowser } from './support/media-browser.js';

const SIM_ROBOT = 'sim-robot';
const SERVICES = [
  'redis',
  'signaling-a',
  'signaling-b',
  'edge',
  'coturn',
  'sim-streamer',
  'sim-gateway',
  'sim-demo',
];

interface Replica {
  service: string;
  container: string;
  url: string;
  instanceId: string;
}

describe('compose.yaml: the local stack', { timeout: 900_000 }, () => {
  const keys = new TestKeys();
  const project = `robostream-test-${process.pid}`;
  let live: ComposeStack;
  let httpPort = 0;
  let browser: MediaBrowser;
  let down = false;
  const replicas: Replica[] = [];

  async function presenceVia(url: string): Promise<RobotPresence[]> {
    const c = client(url, await keys.app('presence-check', '*'), { reconnect: false });
    try {
      await c.connect();
      return await c.subscribePresence();
    } finally {
      c.close();
    }
  }

  before(async () => {
    await buildImages('signaling', 'edge', 'robot');
    httpPort = await freePort();
    live = new ComposeStack(project, {
      ROBOSTREAM_TAG: TEST_TAG,
      ROBOSTREAM_HTTP_PORT: String(httpPort),
      ROBOSTREAM_PUBLIC_KEY: keys.publicPem,
      TURN_SECRET: randomBytes(24).toString('hex'),
      TURN_HOST: await dockerHostAddress(),
      TURN_PORT: String(await freePort()),
      SIM_ROBOT_ID: SIM_ROBOT,
      SIM_ROBOT_TOKEN: await keys.robot(SIM_ROBOT, 3600),
      LOG_LEVEL: 'warn',
    });
    await live.run(['up', '--wait', '--wait-timeout', '180', '--no-build']);
    for (const service of ['signaling-a', 'signaling-b']) {
      const container = await live.containerOf(service);
      const ip = await containerIp(container);
      const health = (await (await fetch(`http://${ip}:8080/healthz`)).json()) as { instanceId: string };
      replicas.push({ service, container, url: `ws://${ip}:8080/v1/ws`, instanceId: health.instanceId });
    }
    browser = await launchMediaBrowser();
  });

  after(async () => {
    await browser?.close();
    if (live && !down)
      await live.run(['down', '--volumes', '--remove-orphans', '--timeout', '5']).catch(() => undefined);
    live?.removeEnvFile();
  });

  test('`docker compose up --wait` turns every health check green', async () => {
    const ps = await live.ps();
    assert.deepEqual(ps.map((p) => p.Service).sort(), [...SERVICES].sort());
    for (const p of ps) {
      assert.equal(p.State, 'running', `${p.Service} is ${p.State}`);
      assert.equal(p.Health, 'healthy', `${p.Service} health is ${p.Health || 'not checked'}`);
    }
    // The web app is served at / through the edge, next to the API.
    const res = await fetch(`http://localhost:${httpPort}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.notEqual(replicas[0]?.instanceId, replicas[1]?.instanceId, 'two distinct replicas');
    // Metrics stay on the stack network, like behind the ALB: the edge refuses them, encoded or not.
    for (const path of ['/metrics', '/metrics/', '/%6detrics', '//metrics']) {
      assert.equal((await fetch(`http://localhost:${httpPort}${path}`)).status, 404, path);
    }
    const ip = await containerIp(replicas[0]!.container);
    assert.equal(
      (await fetch(`http://${ip}:8080/metrics`)).status,
      200,
      'a replica serves them on its own address',
    );
  });

  test('the simulated robot is in presence on both signaling replicas', async () => {
    for (const r of replicas) {
      const robots = await waitFor(
        () => presenceVia(r.url),
        (list) => {
          const names = list.find((p) => p.robotId === SIM_ROBOT)?.endpoints.map((e) => e.name) ?? [];
          return names.includes('media') && names.includes('gateway');
        },
        `${SIM_ROBOT} (streamer and gateway) in presence on ${r.service}`,
      );
      const sim = robots.find((p) => p.robotId === SIM_ROBOT);
      assert.deepEqual(sim?.endpoints.map((e) => e.name).sort(), ['gateway', 'media']);
    }
  });

  test('a browser session through one replica plays video, relay-only through compose coturn', async () => {
    const replica = replicas[0];
    assert.ok(replica);
    const page = await browser.open({
      signalingUrl: replica.url,
      token: await keys.app('viewer-a', [SIM_ROBOT], 3600),
      robotId: SIM_ROBOT,
      relayOnly: true,
    });
    try {
      const first = await waitFor(
        () => page.stats(),
        sessionOpen((s) => s.framesDecoded > 0),
        'the first decoded frame',
        60_000,
      );
      const later = await waitFor(
        () => page.stats(),
        sessionOpen((s) => s.framesDecoded > first.framesDecoded + 30),
        'frames to keep decoding',
      );
      assert.equal(later.connectionState, 'connected');
      assert.match(later.candidatePair, /^relay\//);
      assert.deepEqual(later.welcomes, [replica.instanceId]);
    } finally {
      await page.close();
    }
  });

  test('a rolling restart, one replica at a time: the robot leaves presence for a reconnect at most, the media session plays on', async () => {
    const edgeUrl = `ws://localhost:${httpPort}/v1/ws`;
    const page = await browser.open({
      signalingUrl: edgeUrl,
      token: await keys.app('viewer-rolling', [SIM_ROBOT], 3600),
      robotId: SIM_ROBOT,
      relayOnly: false,
    });
    try {
      const playing = await waitFor(
        () => page.stats(),
        sessionOpen((s) => s.framesDecoded > 30),
        'video through the edge',
        60_000,
      );
      // Presence through the front door, sampled: the longest stretch with the robot's streamer absent. A sample
      // that cannot be taken (the query itself met a draining replica) says nothing either way.
      let polling = true;
      let missingSince: number | null = null;
      let longestGapMs = 0;
      let samples = 0;
      const poller = (async () => {
        while (polling) {
          const at = Date.now();
          const list = await presenceVia(edgeUrl).catch(() => null);
          if (list) {
            samples++;
            const present = list.some(
              (p) => p.robotId === SIM_ROBOT && p.endpoints.some((e) => e.name === 'media'),
            );
            if (!present) missingSince ??= at;
            else if (missingSince !== null) {
              longestGapMs = Math.max(longestGapMs, at - missingSince);
              missingSince = null;
            }
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      // `docker compose restart` is SIGTERM (goaway to every client, then exit) and a start, like a rolling deploy.
      for (const r of [...replicas]) {
        await live.run(['restart', '--timeout', '15', r.service]);
        await waitFor(
          async () => (await live.ps()).find((p) => p.Service === r.service),
          (p) => p?.Health === 'healthy',
          `${r.service} healthy again`,
          60_000,
        );
      }
      await new Promise((r) => setTimeout(r, 3000));
      polling = false;
      await poller;
      if (missingSince !== null) longestGapMs = Math.max(longestGapMs, Date.now() - missingSince);

      const after = await page.stats();
      assert.equal(after.sessionClosed, null, 'the media session was never closed');
      assert.equal(after.connectionState, 'connected');
      assert.ok(
        after.framesDecoded > playing.framesDecoded + 90,
        'frames kept decoding through both restarts',
      );
      assert.ok(after.welcomes.length >= 2, "the page's signaling client moved at least once");
      assert.ok(samples >= 10, `presence sampled ${samples} times`);
      assert.ok(
        longestGapMs <= 3000,
        `the robot was absent from presence for ${longestGapMs} ms at a stretch`,
      );
    } finally {
      await page.close();
    }
    // The replicas have new instance ids (and maybe addresses) now.
    replicas.length = 0;
    for (const service of ['signaling-a', 'signaling-b']) {
      const container = await live.containerOf(service);
      const ip = await containerIp(container);
      const health = (await (await fetch(`http://${ip}:8080/healthz`)).json()) as { instanceId: string };
      replicas.push({ service, container, url: `ws://${ip}:8080/v1/ws`, instanceId: health.instanceId });
    }
  });

  test('killing the replica a session signals through: media keeps flowing, clients reconnect via the other', async () => {
    const page = await browser.open({
      signalingUrl: `ws://localhost:${httpPort}/v1/ws`,
      token: await keys.app('viewer-edge', [SIM_ROBOT], 3600),
      robotId: SIM_ROBOT,
      relayOnly: false,
    });
    try {
      const playing = await waitFor(
        () => page.stats(),
        sessionOpen((s) => s.framesDecoded > 30),
        'video through the edge',
        60_000,
      );
      const victim = replicas.find((r) => r.instanceId === playing.welcomes[0]);
      const survivor = replicas.find((r) => r !== victim);
      assert.ok(victim && survivor, `the page's replica ${playing.welcomes[0]} is one of the two`);

      // A crash that stays down (no restart policy to bring it back): SIGKILL, no goaway, no unregister.
      await docker(['update', '--restart', 'no', victim.container]);
      await docker(['kill', victim.container]);

      const after = await waitFor(
        () => page.stats(),
        (s) => s.framesDecoded > playing.framesDecoded + 90,
        'frames to keep decoding after the replica died',
      );
      assert.equal(after.connectionState, 'connected');
      const reconnected = await waitFor(
        () => page.stats(),
        (s) => s.signalingState === 'ready' && s.welcomes.length >= 2,
        "the page's signaling client to reconnect",
      );
      assert.equal(reconnected.welcomes.at(-1), survivor.instanceId);
      // The robot reconnects too and is present again through the surviving replica (its presence entry on the
      // dead one expires or is replaced).
      await waitFor(
        () => presenceVia(survivor.url),
        (list) => list.some((p) => p.robotId === SIM_ROBOT && p.endpoints.some((e) => e.name === 'media')),
        'the robot in presence through the surviving replica',
      );
      const edgeHealth = await fetch(`http://localhost:${httpPort}/edge/healthz`);
      assert.equal(edgeHealth.status, 200, 'the edge stays up on one replica');
    } finally {
      await page.close();
    }
  });

  test('`docker compose down` leaves no container, network or volume behind', async () => {
    await live.run(['down', '--volumes', '--remove-orphans', '--timeout', '10']);
    down = true;
    const label = `label=com.docker.compose.project=${live.project}`;
    const left = await Promise.all([
      docker(['ps', '-aq', '--filter', label]),
      docker(['network', 'ls', '-q', '--filter', label]),
      docker(['volume', 'ls', '-q', '--filter', label]),
    ]);
    assert.deepEqual(
      left.map((r) => r.stdout.trim()),
      ['', '', ''],
    );
  });
});
