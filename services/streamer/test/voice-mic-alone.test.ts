// The robot's microphone must stream while nobody talks to it. The speaker shares the voice pipeline (for the echo
// canceller); with no operator audio its appsrc sends nothing, and a sink waiting for a first buffer used to hold
// the whole pipeline out of PLAYING: no microphone audio until an operator spoke. Real GStreamer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { StreamerCore } from '../src/core/streamer-core.js';

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
