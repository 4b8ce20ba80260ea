// The project's own images under testcontainers: Redis, two signaling containers, coturn with the rendered
// configuration and compose's start command, and a robot container. Chromium on the host watches the robot
// through signaling replica A while the robot is registered on replica B (routing through Redis), relay-only
// through the coturn container, and its fake microphone is decoded inside the robot container.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  GenericContainer,
  Network,
  Wait,
  type StartedNetwork,
  type StartedTestContainer,
} from 'testcontainers';
import { TestKeys } from '../support/tokens.js';
import { stopContainer } from '../support/docker.js';
import { composeConfig, type ComposeService } from './support/compose.js';
import {
  buildImages,
  containerLogs,
  docker,
  IMAGES,
  robotMicBuffers,
  robotMicBuffersBySession,
  sessionOpen,
  waitFor,
} from './support/docker-cli.js';
import { launchMediaBrowser, type MediaBrowser } from './support/media-browser.js';

const ROBOT_ID = 'relay-robot';

function service(services: Record<string, ComposeService>, name: string): ComposeService {
  const s = services[name];
  if (!s) throw new Error(`compose.yaml has no service ${name}`);
  return s;
}

function healthTest(s: ComposeService): ['CMD', ...string[]] {
  const [kind, ...rest] = s.healthcheck?.test ?? [];
  if (kind !== 'CMD' || rest.length === 0) throw new Error('expected a CMD health check in compose.yaml');
  return ['CMD', ...rest];
}

describe('robot container to Chromium, relay-only through the coturn container', { timeout: 600_000 }, () => {
  const keys = new TestKeys();
  const turnSecret = randomBytes(24).toString('hex');
  const started: StartedTestContainer[] = [];
  let network: StartedNetwork;
  let signalingA: StartedTestContainer;
  let robot: StartedTestContainer;
  let browser: MediaBrowser;

  /** Starts a container; when it never becomes ready, the error carries the container's last log lines. */
  async function start(name: string, container: GenericContainer): Promise<StartedTestContainer> {
    let logs = '';
    container.withLogConsumer((stream) => stream.on('data', (d: Buffer | string) => (logs += String(d))));
    try {
      const c = await container.start();
      started.push(c);
      return c;
    } catch (err) {
      const tail = logs.trim().split('\n').slice(-25).join('\n');
      throw new Error(`${name} did not become ready: ${(err as Error).message}\n${tail}`, { cause: err });
    }
  }

  before(async () => {
    await buildImages('signaling', 'robot');
    // The services' settings exactly as compose.yaml passes them; only addresses and keys differ here.
    const compose = (await composeConfig({ TURN_SECRET: turnSecret, ROBOSTREAM_PUBLIC_KEY: keys.publicPem }))
      .services;
    const coturnSpec = service(compose, 'coturn');
    const signalingEnv = service(compose, 'signaling-a').environment ?? {};
    const streamerEnv = service(compose, 'sim-streamer').environment ?? {};

    network = await new Network().start();
    // compose pins its subnet; here Docker chose one, and coturn's start script allows relays into it alone.
    const subnet = (
      await docker(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', network.getName()])
    ).stdout.trim();
    const secretFile = { content: turnSecret, target: '/run/secrets/turn_secret', mode: 0o444 };

    await start(
      'redis',
      new GenericContainer('redis:7-bookworm')
        .withNetwork(network)
        .withNetworkAliases('redis')
        .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
        .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/)),
    );

    const coturn = await start(
      'coturn',
      new GenericContainer(coturnSpec.image ?? 'coturn/coturn:4.6')
        .withNetwork(network)
        .withNetworkAliases('coturn')
        .withEntrypoint(coturnSpec.entrypoint ?? [])
        .withEnvironment({ ...coturnSpec.environment, STACK_SUBNET: subnet })
        .withCopyFilesToContainer([
          { source: 'docker/coturn/turnserver.conf', target: '/etc/coturn/turnserver.conf', mode: 0o444 },
          { source: 'docker/coturn/start.sh', target: '/etc/coturn/start.sh', mode: 0o444 },
        ])
        .withCopyContentToContainer([secretFile])
        .withHealthCheck({ test: healthTest(coturnSpec), interval: 1000, timeout: 3000, retries: 20 })
        .withWaitStrategy(Wait.forHealthCheck()),
    );
    // Chromium on the host and the robot container both reach coturn at its address on the test network.
    const turnIp = coturn.getIpAddress(network.getName());

    const startSignaling = async (alias: string) => {
      return start(
        alias,
        new GenericContainer(IMAGES.signaling.tag)
          .withNetwork(network)
          .withNetworkAliases(alias)
          .withEnvironment({
            ...signalingEnv,
            PUBLIC_KEY: keys.publicPem,
            TURN_URLS: `turn:${turnIp}:3478?transport=udp`,
            LOG_LEVEL: 'warn',
          })
          .withCopyContentToContainer([secretFile])
          .withExposedPorts(8080)
          .withWaitStrategy(Wait.forHealthCheck()),
      );
    };
    [signalingA] = await Promise.all([startSignaling('signaling-a'), startSignaling('signaling-b')]);

    robot = await start(
      'robot',
      new GenericContainer(IMAGES.robot.tag)
        .withNetwork(network)
        .withEnvironment({
          ...streamerEnv,
          SIGNALING_URL: 'ws://signaling-b:8080/v1/ws',
          ROBOT_TOKEN: await keys.robot(ROBOT_ID, 3600),
          STREAMER_APP_PUBLIC_KEY: keys.publicPem,
          STREAMER_ICE_TRANSPORT_POLICY: 'relay',
          STREAMER_STATS_INTERVAL_MS: '1000',
        })
        .withWaitStrategy(Wait.forHealthCheck()),
    );
    browser = await launchMediaBrowser();
  });

  after(async () => {
    await browser?.close();
    for (const c of started.reverse()) await stopContainer(c).catch(() => undefined);
    await network?.stop().catch(() => undefined);
  });

  test('video and audio reach Chromium through TURN, and the microphone reaches the robot', async () => {
    const page = await browser.open({
      signalingUrl: `ws://localhost:${signalingA.getMappedPort(8080)}/v1/ws`,
      token: await keys.app('relay-viewer', [ROBOT_ID], 3600),
      robotId: ROBOT_ID,
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
      assert.equal(later.frameWidth, 1280);
      // Chromium may only use its relay candidate: the media went through the coturn container.
      assert.match(later.candidatePair, /^relay\//);
      await waitFor(
        () => page.stats(),
        (s) => s.audioPacketsReceived > 50,
        "the robot's audio at the page",
      );

      // The page's fake microphone: werift -> appsrc -> opusdec -> the counting sink in the robot container.
      const buffers = await waitFor(
        async () => robotMicBuffers(await containerLogs(robot.getId())),
        (n) => n > 25,
        'the app microphone decoded in the robot container',
      );
      assert.ok(buffers > 25);
      const robotLogs = await containerLogs(robot.getId());
      assert.match(robotLogs, /"candidates":"relay\//, 'the robot side used its TURN relay too');
    } finally {
      await page.close();
    }
  });

  test("four operators at once (the robot's viewer limit): each one's microphone is decoded in the robot", async () => {
    // Each viewer's audio sink holds libuv pool threads in the robot: the image's pool must have room for every
    // viewer the robot admits (with the former 16, the fourth operator here, and the second in the compose stack
    // with its two cameras, was refused: "cannot play app media").
    const count = (logs: string, msg: string): number => logs.split(`"msg":"${msg}"`).length - 1;
    await waitFor(
      async () => containerLogs(robot.getId()),
      (logs) => count(logs, 'viewer closed') >= count(logs, 'viewer opened'),
      'the first test viewer gone',
    );
    const before = new Set(robotMicBuffersBySession(await containerLogs(robot.getId())).keys());
    const operators = ['operator-a', 'operator-b', 'operator-c', 'operator-d'];
    const pages = await Promise.all(
      operators.map(async (who) =>
        browser.open({
          signalingUrl: `ws://localhost:${signalingA.getMappedPort(8080)}/v1/ws`,
          token: await keys.app(who, [ROBOT_ID], 3600),
          robotId: ROBOT_ID,
          relayOnly: true,
        }),
      ),
    );
    try {
      const all = await waitFor(
        async () => robotMicBuffersBySession(await containerLogs(robot.getId())),
        (m) => [...m].filter(([session, n]) => !before.has(session) && n > 25).length >= operators.length,
        'every microphone decoded in the robot container',
        60_000,
      );
      assert.equal([...all].filter(([session]) => !before.has(session)).length, operators.length);
      assert.doesNotMatch(await containerLogs(robot.getId()), /cannot play app media/);
    } finally {
      for (const page of pages) await page.close();
    }
  });
});
