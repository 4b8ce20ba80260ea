// Direct mode hands apps the robot's STUN URLs, and TURN REST credentials when the robot holds the TURN secret
// (STREAMER_DIRECT_TURN_SECRET): an app on the LAN that cannot reach the robot directly still gets a relay.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { detectEncoders } from '../src/media/encoders.js';
import { ServiceConfigError, loadServiceConfig } from '../src/service-config.js';
import { startStreamerService, type StreamerService } from '../src/streamer-service.js';
import { client } from '../../../test/support/signaling.js';
import { TestKeys } from '../../../test/support/tokens.js';
import { freeUdpPort } from '../../../test/support/coturn.js';
import { loopbackServiceEnv } from './support/service-env.js';

const ROBOT = 'robot-direct-ice';
const ICE = [{ urls: ['stun:stun.lan.example:3478', 'turn:turn.lan.example:3478?transport=udp'] }];

describe('direct mode ICE servers', { timeout: 60_000 }, () => {
  const keys = new TestKeys();
  const started: StreamerService[] = [];
  after(async () => {
    for (const s of started) await s.close();
  });

  async function direct(extraEnv: Record<string, string>): Promise<string> {
    const port = await freeUdpPort();
    const service = await startStreamerService(
      loadServiceConfig(await loopbackServiceEnv(keys, ROBOT, { directPort: port, extra: extraEnv })),
      loadConfig({}, { iceServers: ICE, audioSink: 'none', videoSink: 'none' }),
      { log: pino({ level: 'warn' }), encoders: await detectEncoders('auto'), defaultMetrics: false },
    );
    started.push(service);
    return `ws://127.0.0.1:${port}/v1/ws`;
  }

  test('with the TURN secret: STUN URLs plus TURN REST credentials that coturn would accept', async () => {
    const secret = randomBytes(24).toString('hex');
    const app = client(
      await direct({ STREAMER_DIRECT_TURN_SECRET: secret }),
      await keys.app('lan-app', [ROBOT]),
    );
    try {
      await app.connect();
      const servers = app.iceServers;
      assert.ok(servers.some((s) => [s.urls].flat().includes('stun:stun.lan.example:3478')));
      const turn = servers.find((s) => [s.urls].flat().some((u) => u.startsWith('turn:')));
      assert.ok(turn, `no TURN server handed out: ${JSON.stringify(servers)}`);
      assert.deepEqual([turn.urls].flat(), ['turn:turn.lan.example:3478?transport=udp']);
      const [expiry, subject] = String(turn.username).split(':');
      assert.equal(subject, 'lan-app');
      assert.ok(Number(expiry) > Date.now() / 1000, 'credentials expire in the future');
      const expected = createHmac('sha1', secret).update(String(turn.username)).digest('base64');
      assert.equal(turn.credential, expected, 'the TURN REST password for that username');
    } finally {
      app.close();
    }
  });

  test('without it: STUN only (static TURN credentials of the robot are never handed out)', async () => {
    const app = client(await direct({}), await keys.app('lan-app-2', [ROBOT]));
    try {
      await app.connect();
      const urls = app.iceServers.flatMap((s) => [s.urls].flat());
      assert.deepEqual(urls, ['stun:stun.lan.example:3478']);
    } finally {
      app.close();
    }
  });

  test('the secret is refused without direct mode or when too short', () => {
    const base = { ROBOT_TOKEN: 'x.y.z' };
    assert.throws(
      () => loadServiceConfig({ ...base, STREAMER_DIRECT_TURN_SECRET: 'a'.repeat(20) }),
      (err: unknown) => err instanceof ServiceConfigError && /set STREAMER_DIRECT_PORT too/.test(err.message),
    );
    assert.throws(
      () => loadServiceConfig({ ...base, STREAMER_DIRECT_PORT: '0', STREAMER_DIRECT_TURN_SECRET: 'short' }),
      (err: unknown) => err instanceof ServiceConfigError && /at least 16 characters/.test(err.message),
    );
  });
});
