// A rolling deploy on ECS: the task's desired status turns STOPPED (read from the task metadata endpoint, served
// here by a stand-in for the ECS agent) long before SIGTERM. A real signaling process must tell its clients to go
// elsewhere then, while their connections are still up, refuse new registrations, report not-ready, and exit 0
// once they have left; without the metadata variable nothing changes.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { after, test } from 'node:test';
import WebSocket from 'ws';
import {
  client,
  eventually,
  spawnSignaling,
  type SpawnedSignaling,
} from '../../../test/support/signaling.js';
import { TestKeys } from '../../../test/support/tokens.js';

const keys = new TestKeys();
const started: SpawnedSignaling[] = [];
const servers: Server[] = [];
after(async () => {
  for (const s of started) await s.kill();
  for (const s of servers) s.close();
});

/** Fails instead of hanging when `p` does not settle in time. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The ECS agent's task metadata endpoint: `/task` answers with the desired status the test sets. */
async function metadataEndpoint(): Promise<{
  uri: string;
  desired: { status: string };
  polls: () => number;
}> {
  const desired = { status: 'RUNNING' };
  let polls = 0;
  const srv = createServer((req, res) => {
    if (req.url !== '/task') return void res.writeHead(404).end();
    polls++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        Cluster: 'c',
        TaskARN: 'arn:task',
        DesiredStatus: desired.status,
        KnownStatus: 'RUNNING',
      }),
    );
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  servers.push(srv);
  const { port } = srv.address() as { port: number };
  return { uri: `http://127.0.0.1:${port}`, desired, polls: () => polls };
}

test('desired status STOPPED: goaway to connected clients at once, not ready, new robots refused, exit 0', async () => {
  const meta = await metadataEndpoint();
  const sig = await spawnSignaling(keys, {
    ECS_CONTAINER_METADATA_URI_V4: meta.uri,
    SHUTDOWN_GRACE_MS: '20000',
  });
  started.push(sig);
  const robot = client(sig.url, await keys.robot('rover-1'), { reconnect: false });
  await robot.connect();
  await robot.register('media');
  const app = client(sig.url, await keys.app('alice', ['rover-1']), { reconnect: false });
  await app.connect();
  // A client slow to leave: it keeps the instance draining (the drain ends when the last client has gone) while
  // the draining state is checked, whatever the two clients above do on their goaway.
  const slow = new WebSocket(sig.url);
  let welcomed = false;
  slow.on('message', (d: WebSocket.RawData) => {
    if ((JSON.parse(d.toString()) as { type?: string }).type === 'welcome') welcomed = true;
  });
  await once(slow, 'open');
  slow.send(JSON.stringify({ type: 'authenticate', token: await keys.app('bob', ['rover-1']) }));
  await eventually(() => welcomed, 5000, 'the slow client welcomed');
  const goaways: string[] = [];
  robot.on('goaway', () => goaways.push('robot'));
  app.on('goaway', () => goaways.push('app'));
  await eventually(() => meta.polls() >= 2, 5000, 'the watch polls the metadata endpoint');
  assert.equal((await fetch(`${sig.httpUrl}/readyz`)).status, 200);
  assert.deepEqual(goaways, [], 'nothing while the task is running');

  const flippedAt = Date.now();
  meta.desired.status = 'STOPPED';
  await eventually(() => goaways.length === 2, 5000, 'goaway to both clients');
  assert.ok(Date.now() - flippedAt < 3000, `goaway ${Date.now() - flippedAt} ms after the status changed`);
  assert.deepEqual(goaways.sort(), ['app', 'robot']);
  const ready = await fetch(`${sig.httpUrl}/readyz`);
  assert.equal(ready.status, 503, 'not ready while draining');
  assert.equal(sig.child.exitCode, null, 'still running: the grace period is for the clients to move');

  // A robot that reaches the draining instance anyway is told to go elsewhere, or finds it already closed (the
  // drain ends as soon as its clients have left); it is never registered there.
  const late = client(sig.url, await keys.robot('rover-2'), { reconnect: false });
  let lateGoaway = false;
  late.on('goaway', () => (lateGoaway = true));
  const outcome = await within(
    late.connect().then(
      () =>
        late.register('media').then(
          () => 'registered',
          () => 'refused',
        ),
      () => 'refused',
    ),
    10_000,
    'the late robot',
  );
  late.close();
  assert.ok(outcome === 'refused' || lateGoaway, `the late robot was ${outcome}`);

  // The clients left (goaway closes them; the slow one now): the process ends on its own, without waiting for
  // SIGTERM.
  slow.close();
  const [code] = (await within(once(sig.child, 'exit'), 30_000, 'the drained process to exit')) as [
    number | null,
  ];
  assert.equal(code, 0);
  assert.match(sig.output(), /ECS is stopping this task/);
});

test('outside ECS (no metadata variable) nothing polls and the instance keeps serving', async () => {
  const meta = await metadataEndpoint();
  const sig = await spawnSignaling(keys, {});
  started.push(sig);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(meta.polls(), 0);
  assert.equal((await fetch(`${sig.httpUrl}/readyz`)).status, 200);
  assert.equal(sig.child.exitCode, null);
});
