// A joining viewer's keyframe is asked for as soon as its offer is read (before the offer is applied and the answer
// made), once: the request made when the viewer subscribes finds it in the encoder or already held.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { pino } from 'pino';
import { RTCPeerConnection, useH264 } from 'werift';
import { loadConfig } from '../src/config.js';
import { StreamerCore } from '../src/core/streamer-core.js';
import { JOIN_HOLD_MAX_MS } from '../src/media/join-buffer.js';

async function recvOnlyOffer(): Promise<{ sdp: string; close: () => Promise<void> }> {
  const app = new RTCPeerConnection({ iceServers: [], codecs: { video: [useH264()] } });
  app.addTransceiver('video', { direction: 'recvonly' });
  await app.setLocalDescription(await app.createOffer());
  return { sdp: app.localDescription?.sdp ?? '', close: () => app.close() };
}

test(
  'the joining keyframe is requested with the offer, and costs one forced keyframe',
  { timeout: 60_000 },
  async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n'))
          if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const log = pino({ level: 'debug' }, sink);
    const config = loadConfig(
      {},
      {
        videoSources: [{ id: 'front', kind: 'test', width: 320, height: 240, framerate: 30 }],
        audioSource: { kind: 'none' },
        audioSink: 'none',
        videoSink: 'none',
        lowLayerEnabled: false,
        keyframeIntervalFrames: 3000,
        keyframeMinIntervalMs: 300,
      },
    );
    const core = await StreamerCore.start(config, { log });
    const apps: { close: () => Promise<void> }[] = [];
    try {
      const first = await recvOnlyOffer();
      apps.push(first);
      await core.openViewer(first.sdp, { id: 'first' });
      const pipeline = () => core.introspect().pipelines.find((p) => p.key === 'video/front/h264');
      // The first viewer started the pipeline (on a keyframe); wait until that keyframe is past the hold.
      const deadline = Date.now() + 5000;
      while (!(pipeline()?.keyframesOut ?? 0)) {
        assert.ok(Date.now() < deadline, 'the camera pipeline never produced a keyframe');
        await sleep(10);
      }
      await sleep(JOIN_HOLD_MAX_MS + 300);
      const forcedBefore = pipeline()!.forcedKeyUnits;

      const second = await recvOnlyOffer();
      apps.push(second);
      await core.openViewer(second.sdp, { id: 'second' });
      await sleep(300);
      const requests = lines.filter((l) => l['msg'] === 'keyframe request' && l['viewer'] === 'second');
      assert.deepEqual(
        requests.map((r) => [r['reason'], r['outcome']]).slice(0, 1),
        [['offer', 'sent']],
        `first request with the offer: ${JSON.stringify(requests)}`,
      );
      const offerAt = lines.indexOf(requests[0]!);
      const openedAt = lines.findIndex((l) => l['msg'] === 'viewer opened' && l['viewer'] === 'second');
      assert.ok(offerAt < openedAt, 'requested before the answer was made');
      for (const r of requests.slice(1))
        assert.notEqual(r['outcome'], 'sent', `a second keyframe was forced: ${JSON.stringify(requests)}`);
      assert.equal(pipeline()!.forcedKeyUnits, forcedBefore + 1, 'one forced keyframe for the join');
    } finally {
      await core.close();
      for (const a of apps) await a.close();
    }
  },
);
