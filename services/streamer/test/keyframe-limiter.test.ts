// Keyframe rate limiting on a real x264 pipeline: PLIs inside the window are deferred and coalesced, while a
// viewer that just connected (urgent) waits at most JOIN_KEYFRAME_MIN_INTERVAL_MS, and its keyframe also
// answers the deferred request (no extra keyframe after it); a request while a forced keyframe is still in the
// encoder is answered by it.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { detectEncoders } from '../src/media/encoders.js';
import { SourceHub } from '../src/media/source-hub.js';
import { JOIN_KEYFRAME_MIN_INTERVAL_MS } from '../src/media/source-pipeline.js';

test('PLIs coalesce within the window; a joining viewer gets its keyframe within the join window', async () => {
  const config = loadConfig(
    {},
    {
      videoSources: [{ id: 'front', kind: 'test', width: 320, height: 240, framerate: 30 }],
      audioSource: { kind: 'none' },
      keyframeMinIntervalMs: 1000,
    },
  );
  const hub = new SourceHub(config, await detectEncoders('x264'), pino({ level: 'silent' }));
  const pipeline = hub.video('front', 'h264');
  const release = pipeline.subscribe(() => undefined);
  try {
    const forced = (): number => pipeline.snapshot().forcedKeyUnits;
    const out = (): number => pipeline.snapshot().keyframesOut;
    /** Until the keyframe forced last has come out of the encoder. */
    const keyframeOut = async (before: number): Promise<void> => {
      const deadline = Date.now() + 2000;
      while (out() === before) {
        assert.ok(Date.now() < deadline, 'the forced keyframe never came out');
        await sleep(2);
      }
    };
    let seen = out();
    assert.equal(pipeline.requestKeyframe(), 'sent');
    assert.equal(forced(), 1);
    // While that keyframe is being encoded, it answers any request (a viewer connecting right after the robot
    // asked for its joining keyframe).
    assert.equal(pipeline.requestKeyframe(true), 'pending');
    assert.equal(pipeline.requestKeyframe(), 'pending');
    await keyframeOut(seen);
    assert.equal(pipeline.requestKeyframe(), 'scheduled'); // a PLI inside the 1 s window
    assert.equal(pipeline.requestKeyframe(), 'coalesced');
    assert.equal(forced(), 1);

    // A viewer connects 150 ms later: past the join window, so its keyframe goes out now, not at 1 s.
    await sleep(JOIN_KEYFRAME_MIN_INTERVAL_MS + 50);
    seen = out();
    assert.equal(pipeline.requestKeyframe(true), 'sent');
    assert.equal(forced(), 2);
    // ...and it answered the deferred PLI too: nothing more when the 1 s window ends.
    await sleep(1100);
    assert.equal(forced(), 2);
    assert.ok(out() > seen, 'the joining keyframe came out');

    // Two joins in a row, the second after the first's keyframe is out: it waits for the join window, not the
    // PLI window.
    seen = out();
    assert.equal(pipeline.requestKeyframe(true), 'sent');
    await keyframeOut(seen);
    assert.equal(pipeline.requestKeyframe(true), 'scheduled');
    await sleep(JOIN_KEYFRAME_MIN_INTERVAL_MS + 80);
    assert.equal(forced(), 4);
  } finally {
    release();
    hub.close();
  }
});
