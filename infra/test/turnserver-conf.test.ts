/** The turnserver.conf renderer, its CIDR arithmetic, the boot files and the CLI, without a server. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cidrToRange, DEFAULT_DENIED_PEER_RANGES } from '../src/coturn/peer-ranges.js';
import {
  renderTurnServerConf,
  TURN_DEFAULTS,
  type TurnServerConfOptions,
} from '../src/coturn/turnserver-conf.js';
import {
  DEFAULT_COTURN_IMAGE,
  renderTurnConfigScript,
  renderTurnUserData,
} from '../src/coturn/boot-files.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const base: TurnServerConfOptions = {
  realm: 'turn.example.com',
  listeningPort: 3478,
  relayPorts: TURN_DEFAULTS.relayPorts,
  quotas: TURN_DEFAULTS.quotas,
  staleNonceSec: 600,
  authSecret: { source: 'appended-at-start', note: 'appended by the boot script' },
  logFile: 'stdout',
};

describe('CIDR ranges for denied-peer-ip', () => {
  it('turns IPv4 and IPv6 blocks into first-last ranges', () => {
    assert.deepEqual(cidrToRange('10.0.0.0/8'), { first: '10.0.0.0', last: '10.255.255.255' });
    assert.deepEqual(cidrToRange('100.64.0.0/10'), { first: '100.64.0.0', last: '100.127.255.255' });
    assert.deepEqual(cidrToRange('169.254.169.254/32'), {
      first: '169.254.169.254',
      last: '169.254.169.254',
    });
    assert.deepEqual(cidrToRange('fc00::/7'), {
      first: 'fc00::',
      last: 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    });
    assert.deepEqual(cidrToRange('::ffff:0:0/96'), { first: '::ffff:0:0', last: '::ffff:ffff:ffff' });
  });
  it('refuses malformed blocks', () => {
    for (const bad of ['10.0.0.1/8', '10.0.0.0', '10.0.0.0/33', '300.0.0.0/8', 'fe80::/129', 'x/8']) {
      assert.throws(() => cidrToRange(bad), Error, bad);
    }
  });
  it('covers metadata, private, loopback, link-local, CGNAT and multicast', () => {
    const kinds = new Set(DEFAULT_DENIED_PEER_RANGES.map((r) => r.kind));
    for (const k of ['private', 'loopback', 'link-local', 'cgnat', 'multicast'] as const)
      assert.ok(kinds.has(k), k);
  });
});

describe('renderTurnServerConf', () => {
  it('keeps the secret out unless asked to inline it', () => {
    const text = renderTurnServerConf(base);
    assert.doesNotMatch(text, /^static-auth-secret/m);
    assert.match(text, /^# static-auth-secret lines are not in this file: appended by the boot script$/m);
    const inline = renderTurnServerConf({
      ...base,
      authSecret: { source: 'inline', secrets: ['s3cr3t', 'old'] },
    });
    assert.match(inline, /^static-auth-secret=s3cr3t\nstatic-auth-secret=old\n$/m);
  });
  it('switches TLS and DTLS off without a certificate and on (TLS 1.2+) with one', () => {
    assert.match(renderTurnServerConf(base), /^no-tls\nno-dtls$/m);
    const tls = renderTurnServerConf({ ...base, tls: { port: 443, certFile: '/c.pem', keyFile: '/k.pem' } });
    assert.match(
      tls,
      /^tls-listening-port=443\ncert=\/c\.pem\npkey=\/k\.pem\nno-tlsv1\nno-tlsv1_1\nno-dtls$/m,
    );
  });
  it('refuses values that would inject or break a directive', () => {
    assert.throws(
      () => renderTurnServerConf({ ...base, realm: 'a\nno-auth' }),
      /realm must be printable ASCII/,
    );
    assert.throws(
      () => renderTurnServerConf({ ...base, authSecret: { source: 'inline', secrets: ['a b'] } }),
      /static-auth-secret must be printable ASCII/,
    );
    assert.throws(
      () => renderTurnServerConf({ ...base, relayPorts: { min: 3000, max: 4000 } }),
      /listeningPort lies inside/,
    );
    assert.throws(
      () =>
        renderTurnServerConf({ ...base, extraDeniedPeerRanges: [{ cidr: '::/0', kind: 'vpc', why: 'x' }] }),
      /would deny every peer/,
    );
  });
  it('adds allow-loopback-peers only for the test option, and then drops loopback from the denied list', () => {
    assert.doesNotMatch(renderTurnServerConf(base), /allow-loopback-peers/);
    const t = renderTurnServerConf({ ...base, testOnlyAllowLoopbackPeers: true });
    assert.match(t, /^allow-loopback-peers$/m);
    assert.doesNotMatch(t, /denied-peer-ip=127\.0\.0\.0/);
    assert.match(t, /denied-peer-ip=10\.0\.0\.0-10\.255\.255\.255/);
  });
});

describe('EC2 boot files', () => {
  const userDataOf = (o: Partial<Parameters<typeof renderTurnUserData>[0]> = {}) =>
    renderTurnUserData({
      baseConf: renderTurnServerConf(base),
      configScript: renderTurnConfigScript({ region: 'eu-west-1', authSecretId: 'a' }),
      coturnImage: DEFAULT_COTURN_IMAGE,
      listeningPort: 3478,
      tls: true,
      region: 'eu-west-1',
      serverName: 'turn-0',
      ...o,
    });
  it('refuse a base config that carries a secret', () => {
    const conf = renderTurnServerConf({ ...base, authSecret: { source: 'inline', secrets: ['s'] } });
    assert.throws(() => userDataOf({ baseConf: conf }), /must not carry a secret/);
  });
  it('refuse a coturn image that is not pinned to a release', () => {
    for (const image of ['coturn/coturn', 'coturn/coturn:latest', 'coturn/coturn:4', 'coturn/coturn:4.7']) {
      assert.throws(() => userDataOf({ coturnImage: image }), /must be pinned to a release/, image);
    }
    const digest = `coturn/coturn:4.7.0-r4@sha256:${'a'.repeat(64)}`;
    assert.match(userDataOf({ coturnImage: digest }), new RegExp(`^retry docker pull ${digest}$`, 'm'));
  });
  it('quote the secret id for the shell', () => {
    const script = renderTurnConfigScript({ region: 'eu-west-1', authSecretId: "it's" });
    assert.match(script, /^AUTH_SECRET_ID='it'\\''s'$/m);
    assert.equal(spawnSync('bash', ['-n'], { input: script }).status, 0, 'valid bash');
    const withTls = renderTurnConfigScript({
      region: 'eu-west-1',
      authSecretId: 'a',
      tls: { secretId: 'b', certFile: '/c', keyFile: '/k' },
    });
    assert.equal(spawnSync('bash', ['-n'], { input: withTls }).status, 0, 'valid bash with TLS');
    for (const tls of [true, false])
      assert.equal(
        spawnSync('bash', ['-n'], { input: userDataOf({ tls }) }).status,
        0,
        `user data, tls ${tls}`,
      );
  });
});

describe('scripts/render-turnserver-conf.ts', () => {
  const cli = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/render-turnserver-conf.ts', ...args], {
      encoding: 'utf8',
      cwd: ROOT,
      env: { ...process.env, ...env },
    });

  it('writes the file the container setup uses, without a secret by default', () => {
    const dir = mkdtempSync(join(tmpdir(), 'robostream-render-'));
    try {
      const out = join(dir, 'turnserver.conf');
      const r = cli([
        '--out',
        out,
        '--relay-min',
        '49160',
        '--relay-max',
        '49200',
        '--allow-peer',
        '172.16.0.0/12',
      ]);
      assert.equal(r.status, 0, r.stderr);
      const text = readFileSync(out, 'utf8');
      assert.match(text, /^min-port=49160$/m);
      assert.match(text, /^allowed-peer-ip=172\.16\.0\.0-172\.31\.255\.255$/m);
      assert.doesNotMatch(text, /^static-auth-secret/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('inlines a secret only from the named environment variable', () => {
    const r = cli(['--secret-from-env', 'MY_TURN_SECRET'], { MY_TURN_SECRET: 'from-env-123' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^static-auth-secret=from-env-123$/m);
  });
  it('exits 2 with the reason on a bad option', () => {
    const r = cli(['--relay-min', '3000', '--relay-max', '4000']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /listeningPort lies inside the relay port range/);
  });
  it('the committed docker/coturn/turnserver.conf is what the CLI renders today', () => {
    // No --allow-peer: docker/coturn/start.sh allows the stack's own subnet at start, and nothing else private.
    const r = cli(['--relay-min', '49160', '--relay-max', '49200']);
    assert.equal(r.stdout, readFileSync(join(ROOT, 'docker/coturn/turnserver.conf'), 'utf8'));
  });
});
