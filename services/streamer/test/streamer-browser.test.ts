// End to end with real GStreamer pipelines and a real Chromium: SDP and ICE go directly between the page and the
// StreamerCore (the signaling layer is not involved).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { loadConfig, type StreamerConfig } from '../src/config.js';
import { StreamerCore } from '../src/core/streamer-core.js';
import { detectEncoders, type EncoderDetection } from '../src/media/encoders.js';
import { AppPage, connectApp, launchAppBrowser, waitFor, type AppBrowser } from './support/chromium-app.js';

const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });

function testConfig(overrides: Partial<StreamerConfig> = {}): StreamerConfig {
  return loadConfig({}, { audioSink: 'counting', videoSink: 'counting', lingerMs: 1500, ...overrides });
}

describe('streamer with Chromium', { timeout: 120_000 }, () => {
  let app: AppBrowser;
  let encoders: EncoderDetection;

  before(async () => {
    encoders = await detectEncoders('auto');
    app = await launchAppBrowser();
  });
  after(async () => {
    await app?.close();
  });

  test('Chromium decodes 1280x720 H.264 and Opus, and its microphone is decoded on the robot', async () => {
    const core = await StreamerCore.start(testConfig(), { log, encoders });
    const page = await AppPage.open(app);
    try {
      const viewer = await connectApp(core, page, { cameras: 1, mic: true });
      assert.deepEqual(
        viewer.bindings.map((b) => [b.kind, b.sourceId, b.receiving]),
        [
          ['video', 'front', false],
          ['audio', 'mic', true],
        ],
      );
      const first = await waitFor(
        () => page.stats(),
        (s) => (s.video[0]?.framesDecoded ?? 0) > 0,
        'first decoded frame',
      );
      const later = await waitFor(
        () => page.stats(),
        (s) => (s.video[0]?.framesDecoded ?? 0) > (first.video[0]?.framesDecoded ?? 0) + 30,
        'frames to keep decoding',
      );
      const video = later.video[0];
      assert.ok(video);
      assert.equal(video.frameWidth, 1280);
      assert.equal(video.frameHeight, 720);
      assert.equal(video.codec, 'video/h264');

      const audio1 = await waitFor(
        () => page.stats(),
        (s) => s.audioPacketsReceived > 0,
        'Opus packets at the page',
      );
      await waitFor(
        () => page.stats(),
        (s) => s.audioPacketsReceived > audio1.audioPacketsReceived + 20,
        'Opus to keep arriving',
      );
      assert.equal(audio1.audioCodec, 'audio/opus');

      // The page's fake microphone -> werift -> appsrc -> rtpopusdepay -> opusdec -> counting appsink.
      const sink = await waitFor(
        () => core.introspect().sinks.find((s) => s.kind === 'audio'),
        (s) => (s?.decodedBuffers ?? 0) > 25,
        'app microphone decoded on the robot',
      );
      assert.equal(sink?.codec, 'opus');

      const stats = await viewer.stats();
      assert.equal(stats.state, 'connected');
      assert.ok(stats.transport.localCandidateType, 'selected candidate pair is known');
      const videoSend = stats.send.find((s) => s.kind === 'video');
      assert.ok(videoSend && videoSend.frames > 0 && videoSend.bytes > 0);
      // Chromium negotiated transport-wide feedback: the send-side estimator has measured the path.
      const bw = (
        await waitFor(
          () => viewer.stats(),
          (v) => (v.transport.bandwidth?.feedbacks ?? 0) > 5 && v.transport.bandwidth?.ackedKbps != null,
          'transport-wide feedback',
        )
      ).transport.bandwidth!;
      assert.ok(bw.ackedKbps! > 100, `acknowledged ${bw.ackedKbps} kbit/s`);
      // No keyframe-request loop: a forced keyframe is decodable, so Chromium does not ask again after each one
      // (it did twice a second while a standalone SPS/PPS packet closed a frame of its own).
      const settled = await page.stats();
      await new Promise((r) => setTimeout(r, 3000));
      const later3s = await page.stats();
      const plis = (later3s.video[0]?.pliCount ?? 0) - (settled.video[0]?.pliCount ?? 0);
      assert.ok(plis <= 1, `${plis} PLIs in 3 s on a clean path`);
      assert.ok(bw.targetKbps >= 300, `target ${bw.targetKbps} kbit/s`);
    } finally {
      await page.close();
      await core.close();
    }
  });

  test('two viewers share one encoder; the pipeline stops after the linger and starts again', async () => {
    const core = await StreamerCore.start(testConfig({ audioSource: { kind: 'none' } }), { log, encoders });
    const pageA = await AppPage.open(app);
    const pageB = await AppPage.open(app);
    const pageC = await AppPage.open(app);
    try {
      const a = await connectApp(core, pageA, { cameras: 1, mic: false });
      const b = await connectApp(core, pageB, { cameras: 1, mic: false });
      for (const p of [pageA, pageB]) {
        await waitFor(
          () => p.stats(),
          (s) => (s.video[0]?.framesDecoded ?? 0) > 10,
          'both viewers decode',
        );
      }
      // The second viewer joined a rich full layer, so it started on the camera's low layer (its link was
      // unknown); on this clean link its trial on the full layer holds and both share the full encoder.
      const shared = await waitFor(
        () => core.introspect(),
        (i) => i.pipelines[0]?.subscribers === 2 && i.pipelines[1]?.subscribers === 0,
        'the second viewer on the full layer (and off the low one) after its trial',
        20_000,
      );
      assert.deepEqual(
        shared.pipelines.map((p) => p.key),
        ['video/front/h264', 'video/front/h264/low'],
      );
      assert.equal(shared.pipelines[0]?.running, true);
      assert.equal(shared.pipelines[0]?.starts, 1);
      assert.equal(shared.pipelines[1]?.subscribers, 0, 'nobody left on the low layer');

      await a.close();
      await b.close();
      // Within the linger the pipeline is still up, with nobody subscribed.
      const lingering = core.introspect().pipelines[0];
      assert.equal(lingering?.running, true);
      assert.equal(lingering?.subscribers, 0);
      const stopped = await waitFor(
        () => core.introspect().pipelines[0],
        (p) => p?.running === false,
        'pipeline to stop after the linger',
      );
      assert.equal(stopped?.stops, 1);
      await waitFor(
        () => core.introspect(),
        (i) => i.runningVideoEncoders === 0,
        'the low layer to stop after its linger too',
      );

      await connectApp(core, pageC, { cameras: 1, mic: false });
      await waitFor(
        () => pageC.stats(),
        (s) => (s.video[0]?.framesDecoded ?? 0) > 10,
        'a new viewer decodes',
      );
      const restarted = core.introspect().pipelines[0];
      assert.equal(restarted?.starts, 2);
      assert.equal(restarted?.running, true);
    } finally {
      await Promise.all([pageA.close(), pageB.close(), pageC.close()]);
      await core.close();
    }
  });
});
