// Issue #14 end to end: the simulated robot (a real gateway, the demo battery program as a child process, the
// streamer with its shared x264 encoder and test audio) records 10 s on demand while an app drives it; the file
// is read back with @mcap/core, its video decoded with GStreamer, and its gateway log checked for order and delay.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Ajv } from 'ajv';
import { CompressedAudio, CompressedVideo } from '@foxglove/schemas/jsonschema.js';
import { Value } from '@sinclair/typebox/value';
import { startGateway, DEFAULT_LIMITS, type Gateway } from '@robostream/gateway';
import { DirectAppClient } from '@robostream/gateway/client';
import {
  GATEWAY_TAP_PATH,
  TAPPED_APP_MESSAGES,
  TAPPED_GATEWAY_MESSAGES,
  TAPPED_SERVICE_MESSAGES,
  tapRecordSchema,
  type GatewayToApp,
} from '@robostream/protocol/gateway';
import { loadConfig } from '@robostream/streamer';
import {
  defaultRecordingConfig,
  loadServiceConfig,
  startStreamerService,
  type StreamerService,
} from '@robostream/streamer/service';
import { TestKeys } from '../support/tokens.js';
import { decodeH264, readIndexed, type ReadMessage } from '../support/mcap.js';

const ROBOT = 'rec-robot';
const WIDTH = 640;
const HEIGHT = 360;
const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });

describe('recording the simulated robot (MCAP)', { timeout: 240_000 }, () => {
  const keys = new TestKeys();
  let dir: string;
  let gateway: Gateway;
  let demo: ChildProcess;
  let streamer: StreamerService;
  let token: string;
  let messages: ReadMessage[] = [];
  let recorded: Awaited<ReturnType<typeof readIndexed>>;
  const commands: { id: string; action: string }[] = [];

  const api = async (method: 'GET' | 'POST', path: string, bearer: string | null = token) =>
    fetch(`${streamer.httpUrl}${path}`, {
      method,
      headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
    });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rec-e2e-'));
    gateway = await startGateway(
      {
        robotId: ROBOT,
        signaling: null,
        local: { kind: 'tcp', host: '127.0.0.1', port: 0 },
        lan: { host: '127.0.0.1', port: 0, tls: null },
        appPublicKey: keys.keys.publicKey,
        limits: DEFAULT_LIMITS,
        logLevel: 'silent',
      },
      log,
    );
    demo = spawn(process.execPath, ['--import', 'tsx', 'examples/demo-service/battery-service.ts'], {
      env: { ...process.env, GATEWAY_SERVICE_URL: gateway.localUrl },
      stdio: 'ignore',
    });
    const tapUrl = gateway.localUrl.replace(/^ws:/, 'http:').replace(/\/v1\/service$/, GATEWAY_TAP_PATH);
    const service = loadServiceConfig({
      ROBOT_TOKEN: await keys.robot(ROBOT),
      STREAMER_APP_PUBLIC_KEY: keys.publicPem,
      STREAMER_HTTP_PORT: '0',
      STREAMER_HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    });
    const media = loadConfig(
      {},
      {
        videoSources: [
          { id: 'front', kind: 'test', pattern: 'ball', width: WIDTH, height: HEIGHT, framerate: 30 },
        ],
        audioSource: { kind: 'test', frequency: 440 },
        encoder: 'x264',
        lowLayerEnabled: false,
        keyframeIntervalFrames: 30,
        audioSink: 'none',
        videoSink: 'none',
      },
    );
    streamer = await startStreamerService(service, media, {
      log,
      defaultMetrics: false,
      recording: { ...defaultRecordingConfig, dir, gatewayTapUrl: tapUrl },
    });
    token = await keys.app('alice', [ROBOT]);
  });

  after(async () => {
    demo?.kill('SIGTERM');
    await streamer?.close();
    await gateway?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the recordings API refuses missing, foreign and wrong-robot tokens with typed errors', async () => {
    const none = await api('GET', '/v1/recordings', null);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { error: string }).error, 'unauthenticated');
    const garbage = await api('GET', '/v1/recordings', 'not.a.token');
    assert.equal(garbage.status, 401);
    assert.equal(((await garbage.json()) as { error: string }).error, 'token_invalid');
    const otherRobot = await api('GET', '/v1/recordings', await keys.app('alice', ['another-robot']));
    assert.equal(otherRobot.status, 403);
    assert.equal(((await otherRobot.json()) as { error: string }).error, 'forbidden');
    const foreignKeys = new TestKeys();
    const foreign = await api('POST', '/v1/recordings/start', await foreignKeys.app('mallory', [ROBOT]));
    assert.equal(foreign.status, 401);
    // A spectator (view) may list and download, not start or stop; drive may.
    const spectator = await keys.appWith('sam', { [ROBOT]: ['view'] });
    assert.equal((await api('GET', '/v1/recordings', spectator)).status, 200);
    const refused = await api('POST', '/v1/recordings/start', spectator);
    assert.equal(refused.status, 403);
    assert.match(((await refused.json()) as { message: string }).message, /drive/);
    const stop = await api('POST', '/v1/recordings/stop', await keys.appWith('dora', { [ROBOT]: ['drive'] }));
    assert.equal(stop.status, 409);
    assert.equal(((await stop.json()) as { error: string }).error, 'not_recording');
  });

  test('records 10 s while the app drives the robot', async () => {
    // The demo program is up once the gateway knows it.
    const app = await DirectAppClient.connect({ url: gateway.lanUrl ?? '', token });
    const replies: GatewayToApp[] = [];
    app.on('message', (m) => replies.push(m));
    for (let i = 0; i < 100 && !gateway.stats().services.includes('battery'); i++) await sleep(100);
    assert.ok(gateway.stats().services.includes('battery'), 'demo service registered');
    for (let i = 0; i < 100 && !streamer.recorder?.recorder.status().gateway.connected; i++) await sleep(100);
    assert.ok(streamer.recorder?.recorder.status().gateway.connected, 'recorder reads the gateway tap');

    const started = await api('POST', '/v1/recordings/start');
    assert.equal(started.status, 200, await started.clone().text());
    const again = await api('POST', '/v1/recordings/start');
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { error: string }).error, 'already_recording');

    app.send({ v: 1, type: 'lock.take', id: 'l1' });
    // The operator's heartbeat (the deadman watches it).
    const heartbeat = setInterval(() => app.send({ v: 1, type: 'ping' }), 100);
    const t0 = Date.now();
    const plan: [number, string][] = [
      [1500, 'start'],
      [4000, 'stop'],
      [6000, 'start'],
      [8500, 'stop'],
    ];
    for (const [at, action] of plan) {
      await sleep(Math.max(0, t0 + at - Date.now()));
      const id = `c${commands.length + 1}`;
      commands.push({ id, action });
      app.command('battery', id, { action });
    }
    await sleep(Math.max(0, t0 + 9500 - Date.now()));
    app.send({ v: 1, type: 'estop', reason: 'end of test drive' });
    await sleep(Math.max(0, t0 + 10_000 - Date.now()));
    clearInterval(heartbeat);
    const stopped = await api('POST', '/v1/recordings/stop');
    assert.equal(stopped.status, 200);
    const { files } = (await stopped.json()) as { files: string[] };
    app.close();
    assert.equal(files.length, 1, `one file for 10 s: ${files.join(',')}`);
    assert.ok(
      replies.some((m) => m.type === 'reply' && m.ref === 'c1' && m.ok),
      'the demo program answered the first command',
    );

    // Listed, and downloaded byte for byte through the API.
    const list = (await (await api('GET', '/v1/recordings')).json()) as {
      recordings: { name: string; bytes: number; active: boolean }[];
    };
    const entry = list.recordings.find((r) => r.name === files[0]);
    assert.ok(entry && !entry.active && entry.bytes > 100_000, JSON.stringify(list));
    const download = await api('GET', `/v1/recordings/${files[0]}`);
    assert.equal(download.status, 200);
    assert.match(download.headers.get('content-disposition') ?? '', /attachment/);
    const body = Buffer.from(await download.arrayBuffer());
    assert.equal(body.length, entry.bytes);
    const copy = join(dir, 'downloaded.mcap');
    await import('node:fs/promises').then((fs) => fs.writeFile(copy, body));

    recorded = await readIndexed(copy);
    messages = recorded.messages;
    assert.ok(messages.length > 300, `${messages.length} messages`);
  });

  test('path traversal and unknown names get typed errors', async () => {
    // (A bare `..` never reaches the server: URL parsing resolves it away.)
    const names = [
      '..%2F..%2Fetc%2Fpasswd',
      '%2Fetc%2Fpasswd',
      'rec-20261130T013000123Z-1.mcap.bak',
      'x%00.mcap',
    ];
    for (const name of names) {
      const r = await api('GET', `/v1/recordings/${name}`);
      assert.equal(r.status, 400, name);
      assert.equal(((await r.json()) as { error: string }).error, 'bad_recording_name');
    }
    const missing = await api('GET', '/v1/recordings/rec-20000101T000000000Z-1.mcap');
    assert.equal(missing.status, 404);
    const text = await missing.text();
    assert.equal((JSON.parse(text) as { error: string }).error, 'recording_not_found');
  });

  test('channels and schemas: video, audio, gateway both ways, session events', () => {
    assert.ok(recorded, 'recorded in the previous test');
    const topics = new Map(
      recorded.channels.map((c) => [c.topic, recorded.schemas.find((s) => s.id === c.schemaId)]),
    );
    const expect: [string, string][] = [
      ['/camera/front/h264', 'foxglove.CompressedVideo'],
      ['/audio/mic/opus', 'foxglove.CompressedAudio'],
      ['/session', 'robostream.SessionEvent'],
      ['/gateway/app/command', 'robostream.gateway.app.command'],
      ['/gateway/app/lock.take', 'robostream.gateway.app.lock.take'],
      ['/gateway/app/estop', 'robostream.gateway.app.estop'],
      ['/gateway/service/telemetry', 'robostream.gateway.service.telemetry'],
      ['/gateway/service/reply', 'robostream.gateway.service.reply'],
      ['/gateway/gateway/lock.state', 'robostream.gateway.gateway.lock.state'],
      ['/gateway/gateway/estop', 'robostream.gateway.gateway.estop'],
    ];
    for (const [topic, schema] of expect) {
      const s = topics.get(topic);
      assert.ok(s, `channel ${topic}`);
      assert.equal(s.name, schema);
      assert.equal(s.encoding, 'jsonschema');
    }
    assert.deepEqual(recorded.metadata[0]?.get('robot'), ROBOT);
    assert.equal(recorded.metadata[0]?.get('by'), 'alice');
    // No token ever lands in a recording.
    assert.ok(!messages.some((m) => JSON.stringify(m.json).includes(token)), 'a token in the recording');
  });

  test('about 300 video frames at 30 fps, keyframe first, capture-timed, decodable by GStreamer', async () => {
    const video = messages.filter((m) => m.topic === '/camera/front/h264');
    // About 300: 10 s at 30 fps, less what a busy machine's encoder drops (its input queue is leaky).
    assert.ok(video.length >= 260 && video.length <= 315, `video frames: ${video.length}`);
    const units = video.map((m) => Buffer.from(m.json.data as string, 'base64'));
    const first = units[0] ?? Buffer.alloc(0);
    const nalTypes: number[] = [];
    for (let i = 0; i + 4 < first.length; i++)
      if (first[i] === 0 && first[i + 1] === 0 && first[i + 2] === 0 && first[i + 3] === 1)
        nalTypes.push((first[i + 4] ?? 0) & 0x1f);
    assert.ok(nalTypes.includes(7) && nalTypes.includes(5), `first frame NAL types ${nalTypes.join(',')}`);
    // Capture times step by a frame (33.3 ms) on average and never go backwards.
    const stamps = video.map((m) => {
      const t = m.json.timestamp as { sec: number; nsec: number };
      return t.sec * 1e3 + t.nsec / 1e6;
    });
    for (let i = 1; i < stamps.length; i++)
      assert.ok((stamps[i] ?? 0) > (stamps[i - 1] ?? 0), `capture time ${i} goes back`);
    // Frames step by 33.3 ms (the median: a frame the busy encoder dropped leaves a gap, not a shift).
    const steps = stamps
      .slice(1)
      .map((t, i) => t - (stamps[i] ?? 0))
      .sort((x, y) => x - y);
    const median = steps[Math.floor(steps.length / 2)] ?? 0;
    assert.ok(Math.abs(median - 1000 / 30) < 2, `median frame step ${median} ms`);
    // Captured before logged (received), by no more than an encode.
    for (const m of video) {
      const lagMs = Number(m.logTime - m.publishTime) / 1e6;
      assert.ok(lagMs >= 0 && lagMs < 1000, `frame received ${lagMs} ms after capture`);
    }
    const decoded = await decodeH264(units, dir, WIDTH, HEIGHT);
    assert.ok(
      Math.abs(decoded.pictures - video.length) <= 2,
      `decoded ${decoded.pictures} of ${video.length} frames`,
    );
    assert.ok(decoded.distinctValues > 8, `the last picture has ${decoded.distinctValues} grey levels`);
  });

  test('audio: Opus packets every 20 ms', () => {
    const audio = messages.filter((m) => m.topic === '/audio/mic/opus');
    assert.ok(audio.length >= 400 && audio.length <= 520, `opus packets ${audio.length}`);
    for (const a of audio.slice(0, 20)) assert.ok(Buffer.from(a.json.data as string, 'base64').length > 0);
  });

  test('commands, replies and the telemetry reacting to them are in order and within the expected delay', () => {
    const log = (topic: string) => messages.filter((m) => m.topic === topic);
    const sent = log('/gateway/app/command');
    assert.deepEqual(
      sent.map((m) => (m.json.message as { id: string }).id),
      commands.map((c) => c.id),
    );
    const telemetry = log('/gateway/service/telemetry').sort((a, b) => Number(a.logTime - b.logTime));
    assert.ok(telemetry.length >= 40, `telemetry at 5 Hz: ${telemetry.length}`);
    for (const c of commands) {
      const cmd = sent.find((m) => (m.json.message as { id: string }).id === c.id);
      assert.ok(cmd, `command ${c.id} recorded`);
      assert.equal(cmd.json.sub, 'alice');
      const reply = log('/gateway/service/reply').find(
        (m) => (m.json.message as { ref: string }).ref === c.id,
      );
      assert.ok(reply && reply.logTime > cmd.logTime, `reply to ${c.id} after it`);
      assert.ok(reply.logTime - cmd.logTime < 200_000_000n, `reply to ${c.id} within 200 ms`);
      const running = c.action === 'start';
      const reaction = telemetry.find(
        (t) =>
          t.logTime > reply.logTime &&
          (t.json.message as { payload: { running: boolean } }).payload.running === running,
      );
      assert.ok(reaction, `telemetry shows running=${running} after ${c.id}`);
      // Telemetry comes every 200 ms: the first one after the command shows it.
      const delayMs = Number(reaction.logTime - cmd.logTime) / 1e6;
      assert.ok(delayMs > 0 && delayMs < 450, `${c.id} (${c.action}) seen in telemetry after ${delayMs} ms`);
    }
    const estop = log('/gateway/gateway/estop');
    assert.equal(estop.length, 1);
    assert.ok((estop[0]?.logTime ?? 0n) > (sent.at(-1)?.logTime ?? 0n), 'e-stop after the last command');
    const sessions = log('/session').map((m) => m.json.event);
    assert.ok(
      sessions.includes('recording.start') &&
        sessions.includes('operator') &&
        sessions.includes('recording.stop'),
      sessions.join(','),
    );
  });

  test('messages validate against @foxglove/schemas and the protocol schemas', () => {
    const ajv = new Ajv({ strict: false });
    const checkVideo = ajv.compile(CompressedVideo);
    for (const m of messages.filter((x) => x.topic === '/camera/front/h264'))
      assert.ok(checkVideo(m.json), JSON.stringify(checkVideo.errors));
    const checkAudio = ajv.compile(CompressedAudio);
    for (const m of messages.filter((x) => x.topic === '/audio/mic/opus'))
      assert.ok(checkAudio(m.json), JSON.stringify(checkAudio.errors));
    const schemas: Record<string, Record<string, unknown>> = {
      app: TAPPED_APP_MESSAGES,
      service: TAPPED_SERVICE_MESSAGES,
      gateway: TAPPED_GATEWAY_MESSAGES,
    };
    let checked = 0;
    for (const m of messages.filter((x) => x.topic.startsWith('/gateway/'))) {
      const [, , origin, type] = m.topic.split('/') as [
        string,
        string,
        'app' | 'service' | 'gateway',
        string,
      ];
      const schema = schemas[origin]?.[type];
      assert.ok(schema, m.topic);
      assert.ok(
        Value.Check(tapRecordSchema(origin, schema as never), m.json),
        `${m.topic}: ${JSON.stringify(m.json)}`,
      );
      // The channel's own JSON Schema (as written in the file) accepts it too.
      const channel = recorded.channels.find((c) => c.topic === m.topic);
      const written = recorded.schemas.find((s) => s.id === channel?.schemaId);
      assert.ok(
        ajv.validate(JSON.parse(Buffer.from(written?.data ?? []).toString()) as object, m.json),
        m.topic,
      );
      checked++;
    }
    assert.ok(checked > 50, `${checked} gateway messages checked`);
  });
});
