// The robot's microphone must stream while nobody talks to it. The speaker shares the voice pipeline (for the echo
// canceller); with no operator audio its appsrc sends nothing, and a sink waiting for a first buffer used to hold
// the whole pipeline out of PLAYING: no microphone audio until an operator spoke. Real GStreamer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { StreamerCore } from '../src/core/streamer-core.js';
import type { GstAppSrc } from '../src/media/gst-native.js';
import { PipelineRunner } from '../src/media/pipeline-runner.js';
import {
  SPEAKER_APPSRC,
  VOICE_PCM_BYTES_PER_SECOND,
  voicePipelineDescription,
} from '../src/media/voice-pipeline.js';

for (const [what, overrides] of [
  ['a speaker and the canceller on', { audioSink: 'counting', echoCancel: true }],
  ['a speaker and the canceller off', { audioSink: 'counting', echoCancel: false }],
  ['no speaker', { audioSink: 'none' }],
] as const) {
  test(`the microphone streams with nobody talking: ${what}`, { timeout: 60_000 }, async () => {
    const core = await StreamerCore.start(
      loadConfig(
        {},
        { videoSources: [], audioSource: { kind: 'test', frequency: 440 }, encoder: 'x264', ...overrides },
      ),
      { log: pino({ level: 'warn' }) },
    );
    try {
      const mic = core.recordingSources().audio;
      assert.ok(mic);
      let packets = 0;
      const off = mic.subscribe(() => packets++);
      await new Promise((r) => setTimeout(r, 2000));
      off();
      // 20 ms Opus frames: about 100 in 2 s once playing.
      assert.ok(packets > 50, `${packets} Opus packets in 2 s`);
    } finally {
      await core.close();
    }
  });
}

// The canceller's inputs are paired by an aggregator (audiointerleave). Live, it used to give up waiting for its
// first inputs before their formats had arrived, about one start in 25, and failed the whole voice pipeline with
// "not negotiated". Many short starts, the speaker's audio arriving at a random moment in each.
test('the voice pipeline starts cleanly again and again, speaker audio arriving at any moment', async () => {
  const config = loadConfig({ STREAMER_AUDIO_SINK: 'counting' });
  const errors: string[] = [];
  for (let i = 0; i < 40; i++) {
    const description = voicePipelineDescription(
      config,
      { probe: `startprobe${i}`, channel: `startchannel${i}` },
      'opusenc ! appsink name=out sync=false',
    );
    assert.ok(description);
    const runner = new PipelineRunner(`voice-start-${i}`, description, pino({ level: 'silent' }));
    runner.onError((err) => errors.push(`start ${i}: ${err.message}`));
    runner.start();
    const speaker = runner.element(SPEAKER_APPSRC) as GstAppSrc;
    await new Promise((r) => setTimeout(r, Math.random() * 100));
    // 20 ms of silence every 20 ms, as decoded Opus arrives.
    const talk = setInterval(() => speaker.push(Buffer.alloc(VOICE_PCM_BYTES_PER_SECOND / 50)), 20);
    await new Promise((r) => setTimeout(r, 250));
    clearInterval(talk);
    runner.stop();
  }
  assert.deepEqual(errors, []);
});
