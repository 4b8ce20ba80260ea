import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { startRedis, type RedisHandle } from './docker.js';

const handles: RedisHandle[] = [];
after(async () => {
  await Promise.all(handles.map((h) => h.stop()));
});

test('startRedis gives a real Redis that stores and returns a value', async () => {
  const redis = await startRedis();
  handles.push(redis);
  assert.match(redis.url, /^redis:\/\/[^:]+:\d+$/);

  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    assert.equal(await client.set('robostream:probe', 'hello'), 'OK');
    assert.equal(await client.get('robostream:probe'), 'hello');
    const info = await client.info('server');
    assert.match(info, /redis_version:7\./);
  } finally {
    client.disconnect();
  }
});

test('kill() ends Redis mid-test: clients see the connection drop, and stop() afterwards is harmless', async () => {
  const redis = await startRedis();
  handles.push(redis);
  const client = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    assert.equal(await client.ping(), 'PONG');
    const closed = new Promise<void>((resolve) => client.once('end', () => resolve()));
    await redis.kill();
    await closed;
    await assert.rejects(client.ping());
    await redis.stop();
    await assert.rejects(redis.container.exec(['redis-cli', 'ping']));
  } finally {
    client.disconnect();
  }
});
