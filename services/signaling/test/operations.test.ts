/** Logs, metrics and health as an operator sees them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { TestKeys } from '../../../test/support/tokens.js';
import { RawSocket, eventually, spawnSignaling } from '../../../test/support/signaling.js';

const keys = new TestKeys();
const otherKeys = new TestKeys();
const SECRET = 'never-log-this-secret-0123456789';

/**
 * Every string a log holds, including the ones hidden as byte arrays (a Buffer serializes to
 * {"type":"Buffer","data":[71,69,84,...]}, which a plain search for the token misses).
 */
function logText(logs: string): string {
  const parts = [logs];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      if (v.length > 0 && v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255))
        parts.push(Buffer.from(v as number[]).toString('latin1'));
      else v.forEach(walk);
    } else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  for (const line of logs.split('\n')) {
    try {
      walk(JSON.parse(line));
    } catch {
      /* not a JSON log line */
    }
  }
  return parts.join('\n');
}

/** Raw HTTP bytes that Node's parser refuses; resolves with the status line it answers. */
function refusedRequest(httpUrl: string, request: string): Promise<string> {
  const { port, hostname } = new URL(httpUrl);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname, () => sock.write(request));
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
    sock.on('close', () => resolve(got.split('\r\n')[0] ?? ''));
    sock.on('error', reject);
  });
}

test('logs at trace level never contain tokens, TURN secrets or credentials; /metrics and /healthz answer', async () => {
  const s = await spawnSignaling(keys, {
    LOG_LEVEL: 'trace',
    TURN_URLS: 'turn:127.0.0.1:3478',
    TURN_SECRET: SECRET,
  });
  try {
    const goodRobot = await keys.robot('rover-1');
    const goodApp = await keys.app('op', '*');
    const forged = await otherKeys.app('evil', '*');

    const robot = await RawSocket.open(s.url);
    const w = await robot.authenticate(goodRobot);
    robot.send({ type: 'register', endpoint: 'media' });
    await robot.next('registered');
    const app = await RawSocket.open(s.url);
    await app.authenticate(goodApp);
    app.send({ type: 'session_open', ref: 'o', robotId: 'rover-1', endpoint: 'media' });
    await robot.next('session_request');
    const bad = await RawSocket.open(s.url);
    bad.send({ type: 'authenticate', token: forged });
    await bad.waitClosed();
    app.send({ type: 'authenticate', token: goodApp });
    await app.next('error');
    // Requests Node's HTTP parser refuses are logged (at trace) with their raw bytes, Authorization included.
    const bearer = `Authorization: Bearer ${goodApp}\r\n`;
    assert.match(
      await refusedRequest(
        s.httpUrl,
        `GET /v1/ws HTTP/1.1\r\nHost: x\r\n${bearer}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      ),
      / 431 /,
    );
    assert.match(
      await refusedRequest(s.httpUrl, `GET /v1/ws HTTP/1.1\r\nHost: x\r\n${bearer}Bad Header: x\r\n\r\n`),
      / 400 /,
    );

    const metrics = await (await fetch(`${s.httpUrl}/metrics`)).text();
    assert.match(metrics, /signaling_connections\{role="robot"\} 1/);
    assert.match(metrics, /signaling_connections\{role="app"\} 1/);
    assert.match(metrics, /signaling_sessions 2/);
    assert.match(metrics, /signaling_messages_total\{type="session_open"\} 1/);
    assert.match(metrics, /signaling_errors_total\{code="token_invalid"\} 1/);
    assert.match(metrics, /signaling_routed_total\{kind="session_request",outcome="sent"\} 1/);
    assert.match(metrics, /process_cpu_seconds_total/);
    assert.equal((await fetch(`${s.httpUrl}/healthz`)).status, 200);
    const ready = await fetch(`${s.httpUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(((await ready.json()) as { status: string; router: string }).router, 'local');

    robot.close();
    app.close();
    await eventually(() => s.output().includes('disconnected'), 5000, 'disconnect logged');
    const logs = s.output();
    assert.match(logs, /authentication refused/, 'the refusal itself is logged');
    assert.match(logs, /"sub":"rover-1"/, 'identities are logged');
    assert.match(logs, /HPE_HEADER_OVERFLOW/, 'the refused requests are logged');
    const everything = logText(logs);
    for (const [name, secret] of [
      ['robot token', goodRobot],
      ['app token', goodApp],
      ['forged token', forged],
      ['token signature', goodApp.split('.')[2]!],
      ['TURN secret', SECRET],
      ['TURN credential', w.iceServers[0]!.credential!],
    ] as const) {
      assert.ok(!everything.includes(secret), `${name} leaked into the logs`);
    }
  } finally {
    await s.kill();
  }
});

/** A WebSocket handshake done by hand, then one frame no client may send: unmasked (RFC 6455 5.1). */
function protocolViolation(httpUrl: string): Promise<void> {
  const { port, hostname } = new URL(httpUrl);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname, () =>
      sock.write(
        'GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    );
    let upgraded = false;
    sock.on('data', (d: Buffer) => {
      if (upgraded || !d.toString('latin1').startsWith('HTTP/1.1 101')) return;
      upgraded = true;
      sock.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    });
    sock.on('close', () => (upgraded ? resolve() : reject(new Error('no upgrade'))));
    sock.on('error', () => undefined);
  });
}

test('WebSocket protocol violations are logged at debug, without a stack, and repeated lines are rate-limited', async () => {
  const s = await spawnSignaling(keys, { LOG_LEVEL: 'debug' });
  try {
    for (let i = 0; i < 40; i++) await protocolViolation(s.httpUrl);
    // The instance still serves.
    const ws = await RawSocket.open(s.url);
    await ws.authenticate(await keys.app('op', '*'));
    ws.close();
    const lines = s
      .output()
      .split('\n')
      .filter((l) => l.includes('WS_ERR_EXPECTED_MASK'));
    assert.ok(lines.length >= 1, 'the violation is logged');
    assert.ok(lines.length <= 2, `40 violations gave ${lines.length} log lines`);
    for (const line of lines) {
      const entry = JSON.parse(line) as { level: number; stack?: unknown; err?: { stack?: unknown } };
      assert.equal(entry.level, 20, `logged at debug: ${line}`);
      assert.ok(!line.includes('"stack"'), `no stack: ${line}`);
      assert.ok(line.length < 400, `a short line: ${line}`);
    }
    const metrics = await (await fetch(`${s.httpUrl}/metrics`)).text();
    assert.match(metrics, /signaling_ws_protocol_errors_total\{code="WS_ERR_EXPECTED_MASK"\} 40/);
  } finally {
    await s.kill();
  }
});
