// The gateway's tap (docs/gateway.md, "The tap"): what the robot's recorder reads. Every message both ways with
// who sent it, never an auth frame, local listener only, and a reader that stops reading never holds the hub.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { GATEWAY_TAP_PATH, type TapRecord } from '@robostream/protocol/gateway';
import { startTestGateway, until, ServiceProbe, type TestGateway } from './helpers.js';

interface TapReader {
  records: TapRecord[];
  dropped: number;
  res: IncomingMessage;
  close(): void;
}

function openTap(localUrl: string): Promise<TapReader> {
  const url = new URL(localUrl.replace(/^ws:/, 'http:'));
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: GATEWAY_TAP_PATH }, (res) => {
      const reader: TapReader = { records: [], dropped: 0, res, close: () => req.destroy() };
      let rest = '';
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        rest += text;
        const lines = rest.split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          const v = JSON.parse(line) as TapRecord | { dropped: number };
          if ('dropped' in v) reader.dropped += v.dropped;
          else reader.records.push(v);
        }
      });
      resolve(reader);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('gateway tap', () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway();
  });
  after(async () => {
    await t.close();
  });

  test('app and service messages with their sender, the gateway announcements, never a token', async () => {
    const tap = await openTap(t.gw.localUrl);
    // Its welcome, not the gateway's list: the gateway lists a service before the program hears it is in, and
    // until then the program's sends are refused (telemetry() returns false).
    const svc = await ServiceProbe.start(t.gw.localUrl, 'drive');
    const app = await t.app('alice');
    app.client.send({ v: 1, type: 'lock.take', id: 'l1' });
    await app.wait('lock.state');
    app.client.command('drive', 'c1', { speed: 1 });
    svc.client.telemetry({ speed: 1 });
    await until(
      () => tap.records.find((r) => r.origin === 'service' && r.message.type === 'telemetry'),
      'telemetry',
    );
    await until(() => tap.records.find((r) => r.origin === 'app' && r.message.type === 'command'), 'command');
    const command = tap.records.find((r) => r.origin === 'app' && r.message.type === 'command');
    assert.ok(command && command.origin === 'app', 'command tapped');
    assert.equal(command.link, app.link);
    assert.equal(command.sub, 'alice');
    assert.deepEqual(command.message.payload, { speed: 1 });
    const lock = tap.records.find((r) => r.origin === 'gateway' && r.message.type === 'lock.state');
    assert.ok(lock, 'lock.state tapped');
    const telemetry = tap.records.find((r) => r.origin === 'service' && r.message.type === 'telemetry');
    assert.equal(telemetry?.origin === 'service' ? telemetry.service : null, 'drive');
    // Times are the gateway's clock, in order of handling.
    const ats = tap.records.map((r) => r.at);
    assert.deepEqual(
      [...ats].sort((a, b) => a - b),
      ats,
    );
    assert.ok(Math.abs((ats.at(-1) ?? 0) - Date.now()) < 5_000, 'epoch milliseconds');
    assert.ok(!tap.records.some((r) => r.message.type === 'auth'), 'no auth frame');
    app.close();
    svc.client.close();
    tap.close();
  });

  test('a reader that stops reading loses records, is told how many, and never slows the hub', async () => {
    // A gateway of its own and a service without heartbeat pings (they are tapped too, as many as time allows):
    // its tap carries exactly the hello, the 5000 records and bob's ping, so each can be accounted for.
    const g = await startTestGateway();
    try {
      const tap = await openTap(g.gw.localUrl);
      const svc = await ServiceProbe.start(g.gw.localUrl, 'imu', {
        heartbeatMs: 600_000,
        heartbeatTimeoutMs: 600_000,
      });
      tap.res.pause();
      const big = 'x'.repeat(2000);
      let sent = 0;
      for (let i = 0; i < 5000; i++) if (svc.client.telemetry({ i, big })) sent++;
      // Every record left the program: none can go missing before the gateway and pass for a dropped one.
      assert.equal(sent, 5000, 'records the service client sent');
      // The hub still answers at once while the reader is stuck.
      const app = await g.app('bob');
      app.client.send({ v: 1, type: 'ping', id: 'p1' });
      await app.wait('pong');
      tap.res.resume();
      // Each tapped record is read or counted in a dropped report: a record lost silently keeps this short.
      const tapped = 1 + 5000 + 1;
      await until(() => tap.records.length + tap.dropped >= tapped, 'every record read or reported', 20_000);
      const seen = tap.records.filter((r) => r.message.type === 'telemetry').length;
      assert.ok(tap.dropped > 0, 'a dropped report');
      assert.ok(seen < 5000, `read ${seen} of 5000`);
      assert.equal(
        tap.records.length + tap.dropped,
        tapped,
        `${tap.records.length} read (${seen} of them telemetry) + ${tap.dropped} dropped`,
      );
      app.close();
      svc.client.close();
      tap.close();
    } finally {
      await g.close();
    }
  });
});
