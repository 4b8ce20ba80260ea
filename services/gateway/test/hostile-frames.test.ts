// Hostile frames against a real gateway process: nothing an app or a robot program sends may take the gateway
// down (it carries the e-stop lane and the deadman), and a robot program treats a lost gateway as a tripped
// deadman. The gateway runs as its own process (`main.ts`) so a crash shows as a dead pid, not a failed promise.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { mintToken } from '@robostream/protocol/auth';
import { generateSigningKeys, publicKeyPem, type SigningKeys } from '@robostream/protocol/auth/keys';
import {
  appToGateway,
  serviceToGateway,
  GATEWAY_ENVELOPE_VERSION as v,
  GATEWAY_ERROR_CODES,
} from '@robostream/protocol/gateway';
import { MAX_JSON_DEPTH } from '@robostream/protocol';
import { DirectAppClient } from '../src/client/index.js';
import { AppProbe, RawPeer, ServiceProbe, until } from './helpers.js';
import { freePort, retryOnAddressInUse } from '../../../test/support/signaling.js';

const ROBOT = 'r1';
const DEADMAN_MS = 400;
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

interface GatewayProcess {
  child: ChildProcess;
  localUrl: string;
  lanUrl: string;
  exit: Promise<number | null>;
  alive(): boolean;
  stderr(): string;
}

/** The gateway as its own process on two free ports (two others when one was taken meanwhile). */
function startGatewayProcess(keys: SigningKeys): Promise<GatewayProcess> {
  return retryOnAddressInUse(() => startGatewayOnce(keys));
}

async function startGatewayOnce(keys: SigningKeys): Promise<GatewayProcess> {
  const [local, lan] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/gateway/src/main.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      GATEWAY_ROBOT_ID: ROBOT,
      GATEWAY_LOCAL_HOST: '127.0.0.1',
      GATEWAY_LOCAL_PORT: String(local),
      GATEWAY_LAN_HOST: '127.0.0.1',
      GATEWAY_LAN_PORT: String(lan),
      GATEWAY_LAN_ALLOW_PLAIN: 'true',
      GATEWAY_APP_PUBLIC_KEY: publicKeyPem(keys.publicKey),
      GATEWAY_DEADMAN_MS: String(DEADMAN_MS),
      // Deep queues so the fuzz's error replies are not refused for space; the fuzz checks that none is internal.
      GATEWAY_RELIABLE_QUEUE: '100000',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  const g: GatewayProcess = {
    child,
    localUrl: `ws://127.0.0.1:${local}/v1/service`,
    lanUrl: `ws://127.0.0.1:${lan}/v1/app`,
    exit,
    alive: () => !exited,
    stderr: () => err,
  };
  // Ready when the local socket accepts a program.
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const probe = await RawPeer.open(g.localUrl, 'service');
      probe.close();
      return g;
    } catch {
      if (exited) throw new Error(`gateway exited at start: ${err}`);
      if (Date.now() > deadline) throw new Error(`gateway did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * `depth` arrays inside each other as JSON text: about 2 bytes per level, far under any frame limit. Text, because
 * JSON.stringify itself overflows on such a value: that is the bug this file guards against.
 */
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
/** An envelope whose fields are already-encoded JSON texts (so a field can be nested beyond stringify's reach). */
const rawFrame = (fields: Record<string, string>): string =>
  `{${Object.entries(fields)
    .map(([k, val]) => `${JSON.stringify(k)}:${val}`)
    .join(',')}}`;

let keys: SigningKeys;
let gw: GatewayProcess;
const token = (sub: string): Promise<string> =>
  mintToken(keys.privateKey, { role: 'app', sub, robots: [ROBOT], ttlSec: 600, alg: 'EdDSA' });
const app = async (sub: string): Promise<AppProbe> =>
  new AppProbe(await DirectAppClient.connect({ url: gw.lanUrl, token: await token(sub) }));

before(async () => {
  keys = generateSigningKeys('EdDSA');
  gw = await startGatewayProcess(keys);
});
after(() => {
  gw.child.kill('SIGKILL');
});

/** Round trip through the gateway: every frame sent before it has been handled once the pong is back. */
async function pingPong(peer: RawPeer, id: string): Promise<void> {
  peer.send({ v, type: 'ping', id });
  await until(() => peer.got.some((m) => m.type === 'pong' && m.ref === id), `pong ${id}`, 20_000);
}

test('a command or telemetry nested 5,000 deep is refused with bad_message; the gateway stays up', async () => {
  const motors = await RawPeer.open(gw.localUrl, 'service');
  motors.send({ v, type: 'hello', service: 'motors' });
  await motors.waitType('welcome');
  const op = await app('olga');
  op.client.send({ v, type: 'lock.takeover' });
  await op.wait('lock.state', (m) => m.holder?.link === op.link);

  op.client.ws.send(
    rawFrame({ v: '1', type: '"command"', id: '"deep"', service: '"motors"', payload: nested(5000) }),
  );
  const refused = await op.wait('error', (e) => e.ref === 'deep');
  assert.equal(refused.code, 'bad_message');
  assert.match(refused.message, new RegExp(`deeper than ${MAX_JSON_DEPTH}`));

  motors.send(rawFrame({ v: '1', type: '"telemetry"', payload: nested(5000) }));
  const e = await motors.waitError('bad_message');
  assert.match(e.message, /deeper than/);

  // Just at the limit still passes (the limit is not a lie in either direction).
  op.client.ws.send(
    rawFrame({
      v: '1',
      type: '"command"',
      id: '"ok"',
      service: '"motors"',
      payload: nested(MAX_JSON_DEPTH - 2),
    }),
  );
  await motors.waitType('command');
  assert.ok(gw.alive(), `gateway alive (stderr: ${gw.stderr()})`);
  motors.close();
  op.close();
  await until(() => motors.closed, 'motors socket closed');
});

test('100,000 fuzzed frames from an operator and from a robot program: no crash, no internal error, e-stop and deadman still work', async () => {
  const motors = await RawPeer.open(gw.localUrl, 'service');
  motors.send({ v, type: 'hello', service: 'fuzzed' });
  await motors.waitType('welcome');
  const op = await RawPeer.open(gw.lanUrl, 'app');
  op.send({ v, type: 'auth', token: await token('fuzzer') });
  await op.waitType('welcome');
  op.send({ v, type: 'lock.takeover' });
  await op.waitType('lock.state');

  // Every field is JSON text, so deep values can be placed anywhere in an otherwise valid envelope.
  const json = (a: fc.Arbitrary<unknown>) => a.map((x) => JSON.stringify(x));
  const deep = fc.integer({ min: MAX_JSON_DEPTH - 2, max: 8000 }).map(nested);
  const payload = fc.oneof(json(fc.jsonValue()), deep, json(fc.string({ maxLength: 300 })));
  const envelope = (types: readonly string[]) =>
    fc
      .record(
        {
          v: fc.oneof(fc.constant(String(v)), json(fc.integer()), json(fc.string())),
          type: json(fc.oneof(fc.constantFrom(...types), fc.string({ maxLength: 20 }))),
          id: json(fc.oneof(fc.string({ maxLength: 80 }), fc.integer())),
          ref: json(fc.string({ maxLength: 80 })),
          service: json(fc.oneof(fc.constant('fuzzed'), fc.string({ maxLength: 70 }))),
          to: json(fc.string({ maxLength: 40 })),
          topic: json(fc.string({ maxLength: 80 })),
          ok: json(fc.oneof(fc.boolean(), fc.string())),
          reason: fc.oneof(json(fc.string({ maxLength: 300 })), deep),
          token: json(fc.string({ maxLength: 100 })),
          payload,
        },
        { requiredKeys: ['type'] },
      )
      .map((fields) => rawFrame(fields as Record<string, string>));
  const frames = (types: readonly string[]) =>
    fc.oneof(
      { weight: 4, arbitrary: envelope(types) },
      { weight: 1, arbitrary: json(fc.jsonValue()) },
      { weight: 1, arbitrary: deep },
      { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    );
  // Frames that would stop the robot (estop) are fuzzed too but do not need to reach anything.
  const BATCH = 500;
  const RUNS = 100; // 100 x 500 = 50,000 frames per side
  const known = new Set<string>(GATEWAY_ERROR_CODES);
  let n = 0;
  for (const [peer, types] of [
    [op, appToGateway.types],
    [motors, serviceToGateway.types],
  ] as const) {
    await fc.assert(
      fc.asyncProperty(fc.array(frames(types), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        for (const f of batch) peer.send(f);
        await pingPong(peer, `p${n++}`);
        const bad = peer.errors().filter((e) => e.code === 'internal' || !known.has(e.code));
        assert.deepEqual(bad, []);
        assert.equal(peer.closed, null, 'the fuzzed socket stays open');
        assert.ok(gw.alive(), `gateway alive (stderr: ${gw.stderr()})`);
        peer.got.length = 0;
      }),
      { numRuns: RUNS },
    );
  }

  // Safety still works after the storm: a fresh operator's e-stop reaches a fresh program, and its silence trips
  // the deadman there.
  const wheels = await ServiceProbe.start(gw.localUrl, 'wheels');
  const olga = await app('olga');
  olga.client.send({ v, type: 'lock.takeover' });
  await olga.wait('lock.state', (m) => m.holder?.link === olga.link);
  olga.client.send({ v, type: 'estop', reason: 'after fuzz' });
  await wheels.wait('estop', (m) => m.reason === 'after fuzz');
  const silentFrom = Date.now();
  // The link stays open but says nothing: the deadman trips within its window (plus scheduling slack).
  const trip = await wheels.wait('deadman', (m) => m.status === 'tripped' && m.holder?.link === olga.link);
  assert.ok(trip.silentMs >= DEADMAN_MS, `tripped after ${trip.silentMs} ms of silence`);
  assert.ok(Date.now() - silentFrom < DEADMAN_MS * 10);
  assert.ok(gw.alive());
  wheels.close();
  olga.close();
  motors.close();
  op.close();
});

test('a robot program treats a lost gateway as a tripped deadman: the demo service stops its motors', async () => {
  // A second gateway process of our own: this test kills it.
  const own = await startGatewayProcess(keys);
  const demo = spawn(process.execPath, ['--import', 'tsx', 'examples/demo-service/battery-service.ts'], {
    cwd: repoRoot,
    env: { ...process.env, GATEWAY_SERVICE_URL: own.localUrl, DEMO_SERVICE_NAME: 'drive' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  demo.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  try {
    await until(() => lines.some((l) => l['msg'] === 'registered'), 'demo registered', 20_000);
    const op = new AppProbe(await DirectAppClient.connect({ url: own.lanUrl, token: await token('olga') }));
    op.client.send({ v, type: 'lock.take' });
    await op.wait('lock.state', (m) => m.holder?.link === op.link);
    op.client.command('drive', 'go', { action: 'start' });
    await op.wait('reply', (m) => m.ref === 'go' && m.ok);

    // The gateway hangs (SIGSTOP): the socket stays open, only the heartbeat can tell.
    own.child.kill('SIGSTOP');
    const stopped = await until(
      () => lines.find((l) => l['msg'] === 'motors stopped'),
      'motors stopped after the gateway hung',
    );
    assert.equal(stopped['by'], 'deadman');
    op.close();
  } finally {
    own.child.kill('SIGKILL');
    demo.kill('SIGKILL');
  }
});

test('a ServiceClient emits a tripped deadman when the gateway process dies', async () => {
  const own = await startGatewayProcess(keys);
  const svc = await ServiceProbe.start(own.localUrl, 'arm');
  own.child.kill('SIGKILL');
  await own.exit;
  const trip = await svc.wait('deadman', (m) => m.status === 'tripped');
  assert.equal(trip.holder, null);
  svc.close();
});
