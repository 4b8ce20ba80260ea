import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { generateSigningKeys, publicKeyPem } from '@robostream/protocol/auth/keys';
import { GATEWAY_ENVELOPE_VERSION as v } from '@robostream/protocol/gateway';
import { loadConfig, ConfigError } from '../src/index.js';
import { startTestGateway, ServiceProbe, selfSignedCert, until } from './helpers.js';

const pem = publicKeyPem(generateSigningKeys('EdDSA').publicKey);

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

test('config: every wrong value is reported, each on its own line', () => {
  const p = problems({
    GATEWAY_ROBOT_ID: 'bad id!',
    GATEWAY_LOCAL_PORT: '70000',
    GATEWAY_LAN_HOST: '0.0.0.0',
    GATEWAY_DEADMAN_MS: 'soon',
    GATEWAY_MAX_FRAME_BYTES: '10',
    GATEWAY_LAN_ALLOW_PLAIN: 'yes',
    GATEWAY_APP_PUBLIC_KEY: 'not a pem',
    LOG_LEVEL: 'loud',
  });
  const names = p.map((l) => l.split(/[= ]/)[0]);
  for (const n of [
    'GATEWAY_ROBOT_ID',
    'GATEWAY_LOCAL_PORT',
    'GATEWAY_LAN_HOST',
    'GATEWAY_DEADMAN_MS',
    'GATEWAY_MAX_FRAME_BYTES',
    'GATEWAY_LAN_ALLOW_PLAIN',
    'GATEWAY_APP_PUBLIC_KEY:',
    'LOG_LEVEL',
  ]) {
    assert.ok(
      names.includes(n.replace(':', '')) || p.some((l) => l.startsWith(n)),
      `${n} reported in ${p.join(' | ')}`,
    );
  }
  // Empty environment: robot id and key are required, and the default LAN listener (0.0.0.0) needs TLS.
  assert.deepEqual(
    problems({}).map((l) => l.split(/[= ]/)[0]),
    ['GATEWAY_ROBOT_ID', 'GATEWAY_LAN_HOST', 'GATEWAY_APP_PUBLIC_KEY'],
  );
  const missing = problems({ GATEWAY_ROBOT_ID: 'r1', GATEWAY_APP_PUBLIC_KEY_FILE: '/nonexistent/key.pem' });
  assert.ok(
    missing.some((l) => l.startsWith('GATEWAY_APP_PUBLIC_KEY_FILE') && l.includes('ENOENT')),
    missing.join(' | '),
  );
});

test('config: plain ws only on loopback or when allowed; TLS files; unix socket', () => {
  const base = { GATEWAY_ROBOT_ID: 'r1', GATEWAY_APP_PUBLIC_KEY: pem };
  assert.equal(loadConfig({ ...base, GATEWAY_LAN_HOST: '127.0.0.1' }).lan?.tls, null);
  assert.equal(
    loadConfig({ ...base, GATEWAY_LAN_HOST: '0.0.0.0', GATEWAY_LAN_ALLOW_PLAIN: 'true' }).lan?.tls,
    null,
  );
  const dir = mkdtempSync(join(tmpdir(), 'gw-cfg-'));
  const { cert, key } = selfSignedCert();
  writeFileSync(join(dir, 'c.pem'), cert);
  writeFileSync(join(dir, 'k.pem'), key);
  writeFileSync(join(dir, 'pub.pem'), pem);
  const c = loadConfig({
    GATEWAY_ROBOT_ID: 'r1',
    GATEWAY_APP_PUBLIC_KEY_FILE: join(dir, 'pub.pem'),
    GATEWAY_TLS_CERT_FILE: join(dir, 'c.pem'),
    GATEWAY_TLS_KEY_FILE: join(dir, 'k.pem'),
    GATEWAY_LOCAL_SOCKET: join(dir, 'gw.sock'),
    GATEWAY_DEADMAN_MS: '250',
  });
  assert.equal(c.lan?.tls?.cert, cert);
  assert.deepEqual(c.local, { kind: 'unix', path: join(dir, 'gw.sock') });
  assert.equal(c.limits.deadmanMs, 250);
  assert.equal(loadConfig({ ...base, GATEWAY_LAN_ENABLED: 'false' }).lan, null);
  assert.ok(
    problems({ ...base, GATEWAY_TLS_CERT_FILE: join(dir, 'c.pem') }).some((l) =>
      l.includes('GATEWAY_TLS_KEY_FILE'),
    ),
  );
});

test('config: message caps, per-service caps and the reassembly budget', () => {
  const base = { GATEWAY_ROBOT_ID: 'r1', GATEWAY_APP_PUBLIC_KEY: pem, GATEWAY_LAN_HOST: '127.0.0.1' };
  const c = loadConfig({
    ...base,
    GATEWAY_MAX_MESSAGE_BYTES: '1048576',
    GATEWAY_SERVICE_MAX_MESSAGE_BYTES: 'map=33554432, lidar=65536',
    GATEWAY_REASSEMBLY_TIMEOUT_MS: '2000',
    GATEWAY_MAX_PARTIAL_MESSAGES: '2',
  });
  assert.equal(c.limits.maxMessageBytes, 1_048_576);
  assert.deepEqual(c.limits.serviceMaxMessageBytes, { map: 33_554_432, lidar: 65_536 });
  assert.equal(c.limits.reassemblyTimeoutMs, 2000);
  assert.equal(c.limits.maxPartialMessages, 2);
  const p = problems({
    ...base,
    GATEWAY_SERVICE_MAX_MESSAGE_BYTES: 'Map=5,lidar=12',
    GATEWAY_MAX_MESSAGE_BYTES: '100000000',
    GATEWAY_REASSEMBLY_BUDGET_BYTES: '50000000',
  });
  assert.equal(p.filter((l) => l.startsWith('GATEWAY_SERVICE_MAX_MESSAGE_BYTES')).length, 2, p.join('\n'));
  assert.ok(p.some((l) => /BUDGET_BYTES=50000000 is below the largest message cap \(100000000\)/.test(l)));
});

test('/healthz and /metrics report links, services, messages, drops and the lock holder', async () => {
  const t = await startTestGateway();
  try {
    const svc = await ServiceProbe.start(t.gw.localUrl, 'battery');
    const app = await t.app('alice');
    app.client.send({ v, type: 'lock.take' });
    await app.wait('lock.state', (m) => m.holder !== null);
    const base = t.gw.localUrl.replace('ws://', 'http://').replace('/v1/service', '');
    const health = (await (await fetch(`${base}/healthz`)).json()) as Record<string, unknown>;
    assert.equal(health['ok'], true);
    assert.deepEqual(health['services'], ['battery']);
    assert.equal(health['links'], 1);
    assert.deepEqual(health['lock'], { link: app.link, sub: 'alice' });
    const res = await fetch(`${base}/metrics`);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    for (const re of [
      /gateway_app_links\{transport="direct"\} 1/,
      /gateway_services_up 1/,
      /gateway_lock_held 1/,
      /gateway_lock_holder\{sub="alice"\} 1/,
      /gateway_messages_total\{side="app",direction="in",type="frame"\} \d+/,
      /gateway_deadman_tripped 0/,
      /# TYPE gateway_telemetry_dropped_total counter/,
    ]) {
      assert.match(text, re);
    }
    svc.close();
  } finally {
    await t.close();
  }
});

test('main: starts from the environment, serves, and exits 0 on SIGTERM; exits 78 (EX_CONFIG) on bad config', async () => {
  const bad = spawn(process.execPath, ['--import', 'tsx', 'services/gateway/src/main.ts'], {
    env: { ...process.env, GATEWAY_ROBOT_ID: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  bad.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [badCode] = (await once(bad, 'exit')) as [number];
  assert.equal(badCode, 78);
  assert.match(err, /GATEWAY_ROBOT_ID is required/);

  const dir = mkdtempSync(join(tmpdir(), 'gw-main-'));
  const sock = join(dir, 'gw.sock');
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/gateway/src/main.ts'], {
    env: {
      ...process.env,
      GATEWAY_ROBOT_ID: 'r1',
      GATEWAY_APP_PUBLIC_KEY: pem,
      GATEWAY_LOCAL_SOCKET: sock,
      GATEWAY_LAN_HOST: '127.0.0.1',
      GATEWAY_LAN_PORT: '0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => out.includes('gateway listening'), 'listening log line');
  const line = JSON.parse(out.split('\n').find((l) => l.includes('gateway listening'))!) as Record<
    string,
    unknown
  >;
  assert.equal(line['local'], sock);
  const svc = await ServiceProbe.start(`ws+unix:${sock}:/v1/service`, 'battery');
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0);
  svc.close();
});
