// The streamer service end to end: a real signaling server (in-process), the streamer service (GStreamer + werift)
// registered on it and serving direct mode, and a real Chromium whose page runs the protocol's SignalingClient.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { detectEncoders, type EncoderDetection } from '../src/media/encoders.js';
import { loadServiceConfig } from '../src/service-config.js';
import { loopbackServiceEnv } from './support/service-env.js';
import { startStreamerService, type StreamerService } from '../src/streamer-service.js';
import {
  client,
  eventually,
  startSignaling,
  type RunningSignaling,
} from '../../../test/support/signaling.js';
import { TestKeys } from '../../../test/support/tokens.js';
import type { AppBrowser } from './support/chromium-app.js';
import { freeUdpPort } from '../../../test/support/coturn.js';
import { MediaAppPage, launchMediaAppBrowser } from './support/signaling-page.js';

const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const ROBOT = 'robot-sig';

describe('streamer service through signaling, with Chromium', { timeout: 180_000 }, () => {
  const keys = new TestKeys();
  let signaling: RunningSignaling;
  let streamer: StreamerService;
  let app: AppBrowser;
  let encoders: EncoderDetection;
  let directPort: number;

  before(async () => {
    encoders = await detectEncoders('auto');
    signaling = await startSignaling(keys);
    directPort = await freeUdpPort(); // a free number; the TCP port of that number is free too on loopback in practice
    const service = loadServiceConfig(
      await loopbackServiceEnv(keys, ROBOT, {
        signalingUrl: signaling.url,
        directPort,
        extra: { STREAMER_MAX_VIEWERS: '2' },
      }),
    );
    const media = loadConfig(
      {},
      { audioSink: 'counting', videoSink: 'counting', lingerMs: 1000, iceIncludeLoopback: true },
    );
    streamer = await startStreamerService(service, media, {
      log,
      encoders,
      defaultMetrics: false,
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    app = await launchMediaAppBrowser();
    // Both connections registered the media endpoint (presence seen by an app).
    const watcher = client(signaling.url, await keys.app('watcher', [ROBOT]));
    await watcher.connect();
    await eventually(async () => {
      const robots = await watcher.listRobots();
      return robots.find((r) => r.robotId === ROBOT)?.endpoints.find((e) => e.name === 'media');
    });
    watcher.close();
  });

  after(async () => {
    await app?.close();
    await streamer?.close();
    await signaling?.stop();
  });

  test('presence shows the media endpoint with name, cameras and codecs', async () => {
    const watcher = client(signaling.url, await keys.app('watcher', [ROBOT]));
    await watcher.connect();
    try {
      const robot = (await watcher.listRobots()).find((r) => r.robotId === ROBOT);
      const media = robot?.endpoints.find((e) => e.name === 'media');
      assert.equal(media?.meta?.name, ROBOT);
      assert.equal(media?.meta?.cameras, 'front');
      assert.match(String(media?.meta?.codecs), /^h264(,vp8)?$/);
    } finally {
      watcher.close();
    }
  });

  test('through signaling: 1280x720 video and Opus reach the page, its microphone reaches the robot; healthz and metrics count the viewer', async () => {
    const page = await MediaAppPage.open(app);
    try {
      await page.connect(signaling.url, await keys.app('operator', [ROBOT]));
      const sessionId = await page.start({ robotId: ROBOT, cameras: 1, mic: true, relay: false });
      const first = await page.framesBeyond(0, 'first decoded frame', 20_000);
      const later = await eventually(
        async () => {
          const s = await page.stats();
          return s.framesDecoded > first.framesDecoded + 30 && s.audioPacketsReceived > 20 && s;
        },
        20_000,
        'video and audio to keep arriving',
      );
      assert.equal(later.frameWidth, 1280);
      assert.equal(later.frameHeight, 720);
      assert.equal(later.videoCodec, 'video/h264');
      assert.equal(later.connectionState, 'connected');

      const sink = await eventually(
        () => {
          const s = streamer.core.introspect().sinks.find((k) => k.kind === 'audio');
          return s && (s.decodedBuffers ?? 0) > 25 && s;
        },
        20_000,
        'the page microphone decoded on the robot',
      );
      assert.equal(sink.codec, 'opus');
      assert.deepEqual(
        streamer.endpoint.list().map((s) => [s.id, s.label, s.whep]),
        [[sessionId, 'signaling-1', false]],
      );

      const health = await fetch(`${streamer.httpUrl}/healthz`);
      assert.equal(health.status, 200);
      const body = (await health.json()) as Record<string, unknown>;
      assert.equal(body.viewers, 1);
      assert.deepEqual(body.signaling, { direct: 'ready', 'signaling-1': 'ready' });

      await streamer.stats.report();
      const metrics = await (await fetch(`${streamer.httpUrl}/metrics`)).text();
      assert.match(metrics, /^streamer_viewers 1$/m);
      assert.match(metrics, /^streamer_video_encoders_running 1$/m);
      const viewerId = `signaling-1-${sessionId}`;
      const kbps = new RegExp(
        `^streamer_session_send_bitrate_kbps\\{session="${viewerId}",kind="video",source="front"\\} (\\S+)$`,
        'm',
      ).exec(metrics);
      assert.ok(kbps && Number(kbps[1]) > 0, 'video bitrate of the session');
      assert.match(
        metrics,
        new RegExp(
          `^streamer_session_candidate\\{session="${viewerId}",local="host",remote="(host|prflx)"\\} 1$`,
          'm',
        ),
      );
      assert.match(metrics, /^streamer_keyframes_forced_total [1-9]/m);
      const decoded = new RegExp(
        `^streamer_session_app_buffers_decoded\\{session="${viewerId}",kind="audio"\\} (\\d+)$`,
        'm',
      ).exec(metrics);
      assert.ok(decoded && Number(decoded[1]) > 25, 'the microphone decoded on the robot, in /metrics');
    } finally {
      await page.close();
    }
    // The app closing its session ends the viewer on the robot.
    await eventually(() => streamer.core.viewers().length === 0, 10_000, 'viewer closed after the app left');
  });

  test("the page's camera reaches the robot, which decodes it (the robot's display sink)", async () => {
    const page = await MediaAppPage.open(app);
    try {
      await page.connect(signaling.url, await keys.app('camera-operator', [ROBOT]));
      const sessionId = await page.start({
        robotId: ROBOT,
        cameras: 1,
        mic: false,
        camera: true,
        relay: false,
      });
      const viewerId = `signaling-1-${sessionId}`;
      const sink = await eventually(
        () => {
          const s = streamer.core
            .viewer(viewerId)
            ?.sinkSnapshots()
            .find((k) => k.kind === 'video');
          return s && (s.decodedBuffers ?? 0) > 30 && s;
        },
        20_000,
        'the page camera decoded on the robot',
      );
      assert.equal(sink.codec, 'h264');
      assert.ok(sink.packetsIn > 30);
      // And the robot's own camera still plays in the page over the same connection.
      await eventually(async () => (await page.stats()).framesDecoded > 30, 20_000, 'robot video as well');
    } finally {
      await page.close();
    }
  });

  test('an app that offers only VP8 gets VP8: 1280x720 decodes in Chromium', async () => {
    const page = await MediaAppPage.open(app);
    try {
      await page.connect(signaling.url, await keys.app('vp8-operator', [ROBOT]));
      await page.start({ robotId: ROBOT, cameras: 1, mic: false, relay: false, videoCodec: 'vp8' });
      const s = await page.framesBeyond(30, 'VP8 frames decoded', 20_000);
      assert.equal(s.videoCodec, 'video/vp8');
      assert.equal(s.frameWidth, 1280);
      assert.equal(s.frameHeight, 720);
      assert.ok(
        streamer.core.introspect().pipelines.some((p) => p.key === 'video/front/vp8' && p.running),
        'a VP8 encoder runs on the robot',
      );
    } finally {
      await page.close();
    }
  });

  test('a receive-only page learns its round trip to the robot when it asks (RTCP XR), and not otherwise', async () => {
    // Chromium re-requests lost packets once per round trip; without one it assumes 100 ms (see receiver-rtt.ts).
    const measured = async (receiverRtt: boolean) => {
      const page = await MediaAppPage.open(app);
      try {
        await page.connect(signaling.url, await keys.app('rtt-operator', [ROBOT]));
        await page.start({ robotId: ROBOT, cameras: 1, mic: false, relay: false, receiverRtt });
        await page.framesBeyond(30, 'frames decoded', 20_000);
        // Chromium sends a receiver report about once a second: give it a few.
        await new Promise((r) => setTimeout(r, 4000));
        return await page.stats();
      } finally {
        await page.close();
      }
    };
    const asked = await measured(true);
    assert.ok(asked.videoRttMeasurements >= 2, `${asked.videoRttMeasurements} round trips measured`);
    assert.ok(
      asked.videoRttMs !== null && asked.videoRttMs < 500,
      `round trip ${asked.videoRttMs} ms on loopback`,
    );
    const silent = await measured(false);
    assert.equal(silent.videoRttMeasurements, 0);
  });

  test('a page that closes its connection without a word is let go at once (its DTLS close), not after its silence', async () => {
    // A browser tearing a page down closes its peer connections but may drop what the page said last to
    // signaling; the robot must not keep the viewer (a seat, a layer, bandwidth) until it hears nothing.
    const page = await MediaAppPage.open(app);
    try {
      await page.connect(signaling.url, await keys.app('leaving-operator', [ROBOT]));
      const sessionId = await page.start({ robotId: ROBOT, cameras: 1, mic: false, relay: false });
      await page.framesBeyond(10, 'frames decoded', 20_000);
      const viewerId = streamer.endpoint.list().find((e) => e.id === sessionId)?.viewerId;
      assert.ok(viewerId, 'the session has its viewer');
      const stateOf = () =>
        streamer.core.introspect().viewers.find((v) => v.id === viewerId)?.state ?? 'gone';
      assert.equal(stateOf(), 'connected');
      await page.closePeerOnly();
      const seen: string[] = [];
      await eventually(
        () => {
          const state = stateOf();
          if (seen.at(-1) !== state) seen.push(state);
          return state === 'gone';
        },
        15_000,
        'the viewer to end',
      );
      assert.deepEqual(
        seen.filter((x) => x === 'disconnected' || x === 'failed'),
        [],
        `ended by the close, not by silence: ${seen.join(' -> ')}`,
      );
    } finally {
      await page.close();
    }
  });

  test('past STREAMER_MAX_VIEWERS the robot rejects the session with a reason', async () => {
    const apps = await Promise.all(
      ['a', 'b', 'c'].map(async (n) => {
        const c = client(signaling.url, await keys.app(`app-${n}`, [ROBOT]));
        await c.connect();
        return c;
      }),
    );
    try {
      await apps[0]!.openSession(ROBOT, 'media');
      await apps[1]!.openSession(ROBOT, 'media');
      await assert.rejects(apps[2]!.openSession(ROBOT, 'media'), /too many viewers/);
    } finally {
      for (const c of apps) c.close();
    }
    await eventually(() => streamer.endpoint.sessionCount === 0, 10_000, 'sessions of closed apps to end');
  });

  test('an offer the robot cannot answer ends the session with the problem named, over signaling and WHEP', async () => {
    const noMid = [
      'v=0',
      'o=- 1 1 IN IP4 0.0.0.0',
      's=-',
      't=0 0',
      'm=video 9 UDP/TLS/RTP/SAVPF 96',
      'a=rtpmap:96 H264/90000',
      'a=recvonly',
      'a=ice-ufrag:abcd',
      'a=ice-pwd:abcdefghijklmnopqrstuvwx',
      'a=fingerprint:sha-256 00:11',
      '',
    ].join('\r\n');
    const c = client(signaling.url, await keys.app('bad-offer', [ROBOT]));
    await c.connect();
    try {
      const closed = new Promise<string>((resolve) => c.on('session_closed', (m) => resolve(m.reason)));
      await c.openSession(ROBOT, 'media', undefined, { offer: noMid }).catch(() => undefined);
      assert.match(await closed, /cannot answer: media section 1 \(video\) has no a=mid/);
    } finally {
      c.close();
    }
    const whep = await fetch(`${signaling.httpUrl}/v1/robots/${ROBOT}/whep`, {
      method: 'POST',
      headers: {
        'content-type': 'application/sdp',
        authorization: `Bearer ${await keys.app('bad-whep', [ROBOT])}`,
      },
      body: 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n',
    });
    assert.equal(whep.status, 409);
    assert.match(((await whep.json()) as { message: string }).message, /no media section/);
    await eventually(() => streamer.endpoint.sessionCount === 0, 10_000, 'the refused sessions to end');
  });

  test('direct mode: the page connects to the embedded server on STREAMER_DIRECT_PORT with its app token', async () => {
    const page = await MediaAppPage.open(app);
    try {
      await page.connect(`ws://127.0.0.1:${directPort}/v1/ws`, await keys.app('lan-operator', [ROBOT]));
      await page.start({ robotId: ROBOT, cameras: 1, mic: false, relay: false });
      const s = await page.framesBeyond(30, 'frames decoded over direct mode', 20_000);
      assert.equal(s.frameWidth, 1280);
      assert.deepEqual(
        streamer.endpoint.list().map((x) => x.label),
        ['direct'],
      );
    } finally {
      await page.close();
    }
  });

  test('WHEP: a player page on another origin plays from one POST and stops with DELETE (CORS)', async () => {
    const page = await MediaAppPage.open(app);
    try {
      const token = await keys.app('whep-viewer', [ROBOT]);
      const res = await page.whepPlay(`${signaling.httpUrl}/v1/robots/${ROBOT}/whep`, token);
      assert.equal(res.status, 201, res.body);
      assert.match(res.body, /^a=candidate:/m, 'candidates in the answer');
      assert.match(
        res.location ?? '',
        new RegExp(`^/v1/robots/${ROBOT}/whep/`),
        'Location exposed to the page',
      );
      const s = await page.framesBeyond(30, 'frames decoded from WHEP', 20_000);
      assert.equal(s.frameWidth, 1280);
      assert.deepEqual(
        streamer.endpoint.list().map((x) => x.whep),
        [true],
      );
      const status = await page.whepStop(res.resource!, token);
      assert.ok(status === 200 || status === 204, `DELETE answered ${status}`);
      await eventually(() => streamer.core.viewers().length === 0, 10_000, 'viewer closed after DELETE');
    } finally {
      await page.close();
    }
  });

  test('media keeps flowing when the signaling service goes away', async () => {
    const page = await MediaAppPage.open(app);
    try {
      await page.connect(signaling.url, await keys.app('operator-2', [ROBOT]));
      await page.start({ robotId: ROBOT, cameras: 1, mic: false, relay: false });
      await eventually(
        async () => (await page.stats()).framesDecoded > 10,
        20_000,
        'frames before the outage',
      );
      await signaling.stop();
      await eventually(
        () => streamer.clients.get('signaling-1')?.state === 'reconnecting',
        10_000,
        'robot notices',
      );
      const during = await page.stats();
      const resumed = await page.framesBeyond(
        during.framesDecoded + 60,
        'frames to keep decoding without signaling',
        20_000,
      );
      assert.equal(resumed.connectionState, 'connected');
      assert.equal(streamer.core.viewers().length, 1);
      assert.equal(streamer.endpoint.list()[0]?.signaled, false);
    } finally {
      await page.close();
    }
  });
});
