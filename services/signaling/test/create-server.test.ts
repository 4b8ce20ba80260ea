/** createSignalingServer from the package export, as an embedding process (the robot's direct mode) uses it. */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { ConfigError, DEFAULT_SETTINGS, createSignalingServer } from '@robostream/signaling';
import { TestKeys } from '../../../test/support/tokens.js';

const keys = new TestKeys();
const loaded = (name: string) =>
  Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes(`/node_modules/${name}/`));

test('without a Redis URL the server runs on the local router and never loads ioredis', async () => {
  const server = await createSignalingServer({
    publicKey: keys.publicPem,
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
  });
  try {
    const url = await server.listen();
    assert.equal(server.router.kind, 'local');
    const health = (await (await fetch(`${url}/healthz`)).json()) as { status: string; router: string };
    assert.deepEqual([health.status, health.router], ['ok', 'local']);
    assert.equal(loaded('ioredis'), false, 'ioredis was loaded');
    assert.equal(loaded('@fastify/static'), false, '@fastify/static was loaded without a web root');
  } finally {
    await server.shutdown();
  }
});

test('each server has its own registry; process metrics only when asked for, and two servers do not collide', async () => {
  const opts = { publicKey: keys.keys.publicKey, port: 0, host: '127.0.0.1', logLevel: 'silent' } as const;
  const plain = await createSignalingServer(opts);
  const a = await createSignalingServer({ ...opts, processMetrics: true });
  const b = await createSignalingServer({ ...opts, processMetrics: true });
  try {
    assert.doesNotMatch(await plain.metrics.registry.metrics(), /process_cpu_seconds_total/);
    for (const s of [a, b]) assert.match(await s.metrics.registry.metrics(), /process_cpu_seconds_total/);
    assert.notEqual(a.metrics.registry, b.metrics.registry);
  } finally {
    await Promise.all([plain, a, b].map((s) => s.shutdown()));
  }
});

test('typed options start from the documented defaults and are held to the same rules as the environment', async () => {
  assert.equal(DEFAULT_SETTINGS.port, 8080);
  assert.equal(DEFAULT_SETTINGS.limits.maxSessionsPerApp, 16);
  await assert.rejects(
    createSignalingServer({ publicKey: keys.publicPem, turn: { urls: ['turn:a:3478'], secret: 'short' } }),
    (err: unknown) => err instanceof ConfigError && /at least 16 characters/.test(err.message),
  );
  await assert.rejects(
    createSignalingServer({ publicKey: keys.publicPem, stunUrls: ['http://not-stun'] }),
    (err: unknown) => err instanceof ConfigError && /STUN_URLS/.test(err.message),
  );
  await assert.rejects(
    createSignalingServer({ publicKey: 'not a pem' }),
    (err: unknown) => err instanceof ConfigError && /publicKey/.test(err.message),
  );
});
