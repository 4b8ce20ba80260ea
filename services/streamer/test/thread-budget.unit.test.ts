import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { StreamerCore } from '../src/core/streamer-core.js';
import { ThreadBudget, ThreadPoolTooSmallError, threadPoolSize } from '../src/core/thread-budget.js';
import { detectEncoders } from '../src/media/encoders.js';

test('the pool size comes from UV_THREADPOOL_SIZE, Node default 4', () => {
  assert.equal(threadPoolSize({}), 4);
  assert.equal(threadPoolSize({ UV_THREADPOOL_SIZE: '32' }), 32);
});

test('reserving past size minus the reserve fails loudly and names the fix; releasing frees threads', () => {
  const budget = new ThreadBudget(10);
  const release = budget.reserve(6, 'two pipelines');
  assert.throws(
    () => budget.reserve(1, 'a sink'),
    (err: unknown) => {
      assert.ok(err instanceof ThreadPoolTooSmallError);
      assert.match(err.message, /UV_THREADPOOL_SIZE=10 is too small for a sink: 11 needed/);
      return true;
    },
  );
  release();
  release();
  assert.equal(budget.inUse, 0);
  budget.reserve(6, 'again');
});

test("the core holds threads for every source pipeline, low layers included, and says how many viewers' media fit", async () => {
  const encoders = await detectEncoders('auto');
  const codecs = encoders.vp8 ? 2 : 1;
  const saved = process.env.UV_THREADPOOL_SIZE;
  process.env.UV_THREADPOOL_SIZE = '40';
  try {
    // One camera and a microphone, the speaker in the voice pipeline, an app camera shown on a display sink.
    const at = async (lowLayerEnabled: boolean) => {
      const config = loadConfig({}, { lowLayerEnabled, audioSink: 'auto', videoSink: 'auto' });
      const core = await StreamerCore.start(
        { ...config, videoSources: config.videoSources.slice(0, 1) },
        { encoders, log: pino({ level: 'silent' }) },
      );
      try {
        return { inUse: core.introspect().threadPool.inUse, viewers: core.viewersWithAppMedia() };
      } finally {
        await core.close();
      }
    };
    const audio = loadConfig({}).audioSource.kind === 'none' ? 0 : 2;
    const perViewer = (audio ? 2 : 1) + 1; // the microphone's decode (into the voice pipeline), the camera's
    const layered = await at(true);
    assert.equal(layered.inUse, 2 * 2 * codecs + audio);
    assert.equal(layered.viewers, Math.floor((40 - layered.inUse - 4) / perViewer));
    const single = await at(false);
    assert.equal(single.inUse, 2 * codecs + audio);
    assert.equal(single.viewers, Math.floor((40 - single.inUse - 4) / perViewer));
  } finally {
    if (saved === undefined) delete process.env.UV_THREADPOOL_SIZE;
    else process.env.UV_THREADPOOL_SIZE = saved;
  }
});
