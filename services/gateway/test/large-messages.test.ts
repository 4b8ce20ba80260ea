/**
 * Large messages through a real gateway over websockets (a direct LAN app link and the robot program's local
 * socket): 5 MB both ways while commands and velocity flow at 20 Hz, the per-service cap, the reassembly
 * timeout, and hostile chunk sequences. The data-channel path (Chromium) is large-messages-browser.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { GATEWAY_ENVELOPE_VERSION as v, planChunks, type GatewayToApp } from '@robostream/protocol/gateway';
import { summarize } from '../../../bench/support/stats.js';
import { RawPeer, until, startTestGateway, type AppProbe, type TestGateway } from './helpers.js';
import { largePayload, sha256 } from './support/large-payload.js';
import { recordingRobot } from './support/recording-robot.js';

const SMALL_CAP = 256 * 1024;
let t: TestGateway;
before(async () => {
  t = await startTestGateway({
    limits: { reassemblyTimeoutMs: 400, serviceMaxMessageBytes: { small: SMALL_CAP } },
  });
});
after(() => t.close());

const robot = (service: string, o: { maxMessageBytes?: number } = {}) =>
  recordingRobot(t.gw.localUrl, service, o);

/** Commands and velocity at 20 Hz from the operator; round-trip and one-way latencies while it runs. */
function drive(op: AppProbe, service: string) {
  const rtt: number[] = [];
  const sentAt = new Map<string, number>();
  let seq = 0;
  const onMessage = (m: GatewayToApp) => {
    if (m.type !== 'reply') return;
    const at = sentAt.get(m.ref);
    if (at !== undefined) rtt.push(performance.now() - at);
  };
  op.client.on('message', onMessage);
  const timer = setInterval(() => {
    const id = `d${seq}`;
    sentAt.set(id, performance.now());
    void op.client.send({ v, type: 'command', id, service, payload: { seq } });
    void op.client.send({ v, type: 'velocity', service, seq, sentAt: Date.now(), linear: 0.3, angular: 0 });
    seq++;
  }, 50);
  return {
    rtt,
    sampleFrom: () => rtt.length,
    stop() {
      clearInterval(timer);
      op.client.off('message', onMessage);
    },
  };
}

const fmt = (xs: number[]) => {
  const s = summarize(xs);
  return `n=${s.n} p50=${s.p50.toFixed(1)} p90=${s.p90.toFixed(1)} max=${s.max.toFixed(1)} ms`;
};

test('5 MB service -> app and app -> service over websockets, intact, while commands flow at 20 Hz', async () => {
  // Made first: building them blocks this process (gateway and program included) for a good part of a second.
  const map = largePayload(5_000_000, 7);
  const upload = largePayload(5_000_000, 8);
  const [mapHash, uploadHash] = [sha256(map), sha256(upload)];
  const bytes = Buffer.byteLength(JSON.stringify(map));
  const r = await robot('mapper');
  const op = await t.app('olga');
  const watcher = await t.app('will');
  void op.client.send({ v, type: 'lock.take' });
  await op.wait('lock.state', (m) => m.holder?.link === op.link);
  const d = drive(op, 'mapper');
  try {
    await until(() => d.rtt.length >= 30, '30 command round trips without a transfer');
    const quiet = [...d.rtt];

    // Service -> app: an event of 5 MB to every link; the operator's e-stop during it overtakes it.
    assert.ok(bytes > 5_000_000, `${bytes} bytes`);
    let chunksSeen = 0;
    let estopSentAt = 0;
    op.client.ws.on('message', (data) => {
      if (!data.toString().startsWith('{"v":1,"type":"chunk"')) return;
      if (++chunksSeen === 3) {
        estopSentAt = performance.now();
        void watcher.client.send({ v, type: 'estop', reason: 'mid-transfer' });
      }
    });
    const from = d.sampleFrom();
    const started = performance.now();
    assert.equal(await r.svc.sent({ v, type: 'event', id: 'map-1', payload: map }), true);
    const ev = await until(
      () => op.find('event', (m) => (m.payload as { name?: string }).name === 'cloud-7'),
      'the 5 MB event at the operator',
      60_000,
    );
    const down = performance.now() - started;
    // Round trips of commands sent while it was in transfer (not while this test hashes it below).
    const duringDown = d.rtt.slice(from);
    assert.equal(sha256(ev.payload), mapHash, 'the event arrived intact');
    assert.equal(ev.service, 'mapper');
    const atWatcher = await watcher.wait('event', (m) => (m.payload as { name?: string }).name === 'cloud-7');
    assert.equal(sha256(atWatcher.payload), mapHash, 'and at the other link');
    const estopIdx = op.got.findIndex((m) => m.type === 'estop');
    const eventIdx = op.got.indexOf(ev);
    assert.ok(
      estopSentAt > 0 && estopIdx >= 0 && estopIdx < eventIdx,
      'the e-stop arrived before the 5 MB event',
    );
    assert.ok(r.estops.length === 1, 'the robot program got the e-stop');

    // App -> service: a 5 MB command, answered; commands keep their turn meanwhile.
    const from2 = d.sampleFrom();
    const started2 = performance.now();
    void op.client.send({ v, type: 'command', id: 'upload-1', service: 'mapper', payload: upload });
    const answer = await until(
      () => op.got.find((m) => (m.type === 'reply' || m.type === 'error') && m.ref === 'upload-1'),
      'the answer to the 5 MB command',
      60_000,
    );
    assert.equal(answer.type, 'reply', JSON.stringify(answer));
    const reply = answer as Extract<GatewayToApp, { type: 'reply' }>;
    const up = performance.now() - started2;
    const duringUp = d.rtt.slice(from2);
    assert.equal(reply.ok, true);
    const got = r.commands.find((c) => c.id === 'upload-1')!;
    assert.equal(sha256(got.payload), uploadHash, 'the command arrived intact');
    const ordinaryDuring = r.commands.filter((c) => c.id.startsWith('d') && c.at > started2 && c.at < got.at);

    console.log(
      `[large-messages ws] ${bytes} bytes service -> app in ${down.toFixed(0)} ms; app -> service in ${up.toFixed(0)} ms`,
    );
    console.log(`[large-messages ws] command round trip, no transfer:        ${fmt(quiet)}`);
    console.log(`[large-messages ws] command round trip, 5 MB to the app:     ${fmt(duringDown)}`);
    console.log(`[large-messages ws] command round trip, 5 MB to the service: ${fmt(duringUp)}`);
    console.log(
      `[large-messages ws] ordinary commands delivered during the upload: ${ordinaryDuring.length}`,
    );
    // Generous sanity bounds only (a loaded 2-core machine): commands never waited for a whole transfer.
    assert.ok(summarize([...duringDown, ...duringUp]).p50 < 1_000, 'commands kept flowing');
  } finally {
    d.stop();
    r.svc.close();
    op.close();
    watcher.close();
  }
});

test('above the service cap: message_too_large at the first chunk, both ways; links and sessions go on', async () => {
  // 'small' is capped by configuration (256 KiB); 'picky' lowers the gateway's cap in its hello (64 KiB).
  const small = await robot('small');
  const picky = await robot('picky', { maxMessageBytes: 64 * 1024 });
  const op = await t.app('olga');
  const other = await t.app('will');
  void op.client.send({ v, type: 'lock.take' });
  await op.wait('lock.state', (m) => m.holder?.link === op.link);
  try {
    const big = largePayload(400_000, 3);
    void op.client.send({ v, type: 'command', id: 'too-big', service: 'small', payload: big });
    const err = await op.wait('error', (m) => m.ref === 'too-big');
    assert.equal(err.code, 'message_too_large');
    assert.equal(err.service, 'small');
    assert.match(err.message, /accepts at most 262144/);
    void op.client.send({
      v,
      type: 'command',
      id: 'too-big-2',
      service: 'picky',
      payload: largePayload(100_000, 4),
    });
    assert.equal((await op.wait('error', (m) => m.ref === 'too-big-2')).code, 'message_too_large');
    // Only one error per refused message, and the service never saw any of it.
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(op.all('error').filter((e) => e.ref === 'too-big').length, 1);
    assert.equal(small.commands.length + picky.commands.length, 0);

    // Under the cap is fine, and the link goes on.
    const fits = largePayload(150_000, 5);
    void op.client.send({ v, type: 'command', id: 'fits', service: 'small', payload: fits });
    assert.equal((await op.wait('reply', (m) => m.ref === 'fits')).ok, true);
    assert.equal(sha256(small.commands.find((c) => c.id === 'fits')!.payload), sha256(fits));

    // Service side: an event over its own cap is refused to the program; the apps hear nothing of it.
    const errors: string[] = [];
    small.svc.on('error', (e) => e.ref === 'ev-big' && errors.push(e.code));
    small.svc.event({ big }, { id: 'ev-big' });
    await until(() => errors.length > 0, 'the program hears message_too_large');
    assert.deepEqual(errors, ['message_too_large']);
    small.svc.event({ small: true });
    await other.wait('event', (m) => m.service === 'small');
    assert.equal(
      op.find('event', (m) => (m.payload as { big?: unknown }).big !== undefined),
      undefined,
    );
  } finally {
    small.svc.close();
    picky.svc.close();
    op.close();
    other.close();
  }
});

test('hostile chunks: before auth, gaps, a non-command, a stalled transfer: typed errors, the link goes on', async () => {
  const r = await robot('sink');
  const raw = await RawPeer.open(t.gw.lanUrl!, 'app');
  try {
    const plan = (frame: unknown, id: string) => {
      const p = planChunks(JSON.stringify(frame), { id, service: 'sink', chunkBytes: 1000 });
      const out: string[] = [];
      for (let c = p.next(); c !== undefined; c = p.next()) out.push(c);
      return out;
    };
    const cmd = (id: string) => ({
      v,
      type: 'command',
      id,
      service: 'sink',
      payload: largePayload(20_000, 9),
    });
    raw.send(plan(cmd('pre'), 'pre')[0]);
    assert.equal((await raw.waitError('unauthenticated')).code, 'unauthenticated');
    raw.send({ v, type: 'auth', token: await t.token({ sub: 'mallory' }) });
    await raw.waitType('welcome');
    raw.send({ v, type: 'lock.take' });
    await raw.waitType('lock.state');

    const gap = plan(cmd('gap'), 'gap');
    raw.send(gap[0]);
    raw.send(gap[2]);
    for (const c of gap.slice(3)) raw.send(c);
    const gapErr = await until(() => raw.errors().find((e) => e.ref === 'gap'), 'gap refused');
    assert.equal(gapErr.code, 'bad_message');
    assert.match(gapErr.message, /out of order/);

    for (const c of plan({ v, type: 'lock.release' }, 'notcmd')) raw.send(c);
    const notCmd = await until(() => raw.errors().find((e) => e.ref === 'notcmd'), 'non-command refused');
    assert.equal(notCmd.code, 'bad_message');

    // The first half of a transfer, then nothing: dropped after the idle timeout (400 ms here), reported.
    const stalled = plan(cmd('stall'), 'stall');
    for (const c of stalled.slice(0, 5)) raw.send(c);
    const timeout = await until(
      () => raw.errors().find((e) => e.ref === 'stall'),
      'stalled transfer dropped',
      5_000,
    );
    assert.equal(timeout.code, 'incomplete_message');

    // After all that, a whole chunked command still goes through.
    for (const c of plan(cmd('good'), 'good')) raw.send(c);
    await until(() => raw.got.find((m) => m.type === 'reply' && m.ref === 'good'), 'reply to the good one');
    assert.deepEqual(
      r.commands.map((c) => c.id),
      ['good'],
    );
    assert.equal(raw.closed, null);
  } finally {
    raw.close();
    r.svc.close();
  }
});
