// Decoders are loaded before the first session (media/sinks.ts preloadDecoders, StreamerCore.preloadDecoders):
// every decode chain the sinks use plays once and stops without an error, and the core loads exactly the codecs
// of the app media it plays (its audio with an audio sink, the camera codecs with a video sink, none without).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { StreamerCore } from '../src/core/streamer-core.js';
import { preloadDecoders } from '../src/media/sinks.js';

test('every decode chain of the sinks plays once and stops', () => {
  const ms = preloadDecoders(['opus', 'h264', 'vp8'], pino({ level: 'silent' }));
  assert.ok(Number.isFinite(ms) && ms >= 0);
});

/** The core's 'decoders loaded' line for one sink configuration, or null when it logged none. */
async function loadedFor(audioSink: 'counting' | 'none', videoSink: 'counting' | 'none'): Promise<unknown> {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'info' },
    { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
  );
  const core = await StreamerCore.start(
    loadConfig({}, { audioSink, videoSink, audioSource: { kind: 'none' }, videoSources: [] }),
    { log },
  );
  try {
    core.preloadDecoders();
    return lines.find((l) => l['msg'] === 'decoders loaded')?.['codecs'] ?? null;
  } finally {
    await core.close();
  }
}

test('the core loads the decoders of the app media it plays, and no others', async () => {
  assert.deepEqual(await loadedFor('counting', 'none'), ['opus']);
  assert.deepEqual(await loadedFor('none', 'counting'), ['h264', 'vp8']);
  assert.deepEqual(await loadedFor('counting', 'counting'), ['opus', 'h264', 'vp8']);
  assert.equal(await loadedFor('none', 'none'), null);
});
