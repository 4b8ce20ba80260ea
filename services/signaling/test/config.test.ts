import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../src/config/config.js';
import { TestKeys } from '../../../test/support/tokens.js';

const keys = new TestKeys();
const base = { PUBLIC_KEY: keys.publicPem };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

test('defaults: in-process bus, no TURN, documented limits', () => {
  const c = loadConfig(base);
  assert.equal(c.port, 8080);
  assert.equal(c.redisUrl, undefined);
  assert.equal(c.turn, undefined);
  assert.equal(c.limits.maxMessageBytes, 65536);
  assert.equal(c.keySource, 'env');
});

test('one clear error per wrong value, all reported at once', () => {
  const p = problems({
    ...base,
    PORT: 'eighty',
    RATE_BURST: '-1',
    REDIS_URL: 'http://x',
    LOG_LEVEL: 'loud',
    TRUST_PROXY: 'maybe',
  });
  for (const name of ['PORT', 'RATE_BURST', 'REDIS_URL', 'LOG_LEVEL', 'TRUST_PROXY']) {
    assert.ok(
      p.some((x) => x.startsWith(`${name}=`)),
      `${name} in ${JSON.stringify(p)}`,
    );
  }
});

test('TURN needs both URLs and a secret of useful length, and URLs must be turn:', () => {
  assert.match(problems({ ...base, TURN_URLS: 'turn:a:3478' }).join(), /TURN_SECRET/);
  assert.match(problems({ ...base, TURN_SECRET: 'x'.repeat(32) }).join(), /TURN_URLS is empty/);
  assert.match(
    problems({ ...base, TURN_URLS: 'http://a', TURN_SECRET: 'x'.repeat(32) }).join(),
    /not a turn: or turns: URL/,
  );
  assert.match(problems({ ...base, TURN_URLS: 'turn:a', TURN_SECRET: 'short' }).join(), /TURN_SECRET/);
  const c = loadConfig({
    ...base,
    TURN_URLS: 'turn:a:3478?transport=udp, turns:b:5349',
    TURN_SECRET: 'x'.repeat(32),
    TURN_TTL_SEC: '600',
  });
  assert.deepEqual(c.turn, {
    urls: ['turn:a:3478?transport=udp', 'turns:b:5349'],
    secret: 'x'.repeat(32),
    ttlSec: 600,
  });
});

test('keys: exactly one source; files are read; bad PEM is named; production refuses dev keys', () => {
  assert.match(problems({ PUBLIC_KEY: keys.publicPem, SIGNING_KEY_FILE: '/x' }).join(), /set only one of/);
  assert.match(problems({ PUBLIC_KEY: 'not a pem' }).join(), /PUBLIC_KEY: not a usable PEM key/);
  assert.match(problems({ PUBLIC_KEY_FILE: '/nonexistent/key.pem' }).join(), /cannot read file/);
  assert.match(problems({ NODE_ENV: 'production' }).join(), /no key configured/);
  const dir = mkdtempSync(join(tmpdir(), 'rs-keys-'));
  writeFileSync(join(dir, 'k.pem'), keys.publicPem);
  assert.equal(loadConfig({ PUBLIC_KEY_FILE: join(dir, 'k.pem') }).keySource, 'file');
  assert.equal(loadConfig({ DEV_KEYS_DIR: join(dir, 'dev') }).keySource, 'dev');
});

test('TRUST_PROXY: off or the proxies\' addresses; "true" (every hop) and hop counts are refused', () => {
  assert.equal(loadConfig(base).trustProxy, false);
  assert.equal(loadConfig({ ...base, TRUST_PROXY: 'false' }).trustProxy, false);
  assert.deepEqual(loadConfig({ ...base, TRUST_PROXY: ' 10.0.0.0/16, 10.1.2.3 ,fd00::/8' }).trustProxy, [
    '10.0.0.0/16',
    '10.1.2.3',
    'fd00::/8',
  ]);
  for (const [value, why] of [
    ['true', /every hop.*forge/],
    ['maybe', /not an IP address or CIDR/],
    ['10.0.0.0/33', /not an IP address or CIDR/],
    ['10.0.0.0/16,,300.1.1.1', /"300.1.1.1" is not an IP address or CIDR/],
    ['1', /hop count cannot tell a proxy/],
    ['-1', /not an IP address or CIDR/],
  ] as const) {
    const p = problems({ ...base, TRUST_PROXY: value });
    assert.equal(p.length, 1, `one problem for ${value}: ${JSON.stringify(p)}`);
    assert.ok(p[0]!.startsWith(`TRUST_PROXY=${JSON.stringify(value)}: `), p[0]);
    assert.match(p[0]!, why);
  }
});
