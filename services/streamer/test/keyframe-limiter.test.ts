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
import { JOIN_HOLD_MAX_MS } from '../src/media/join-buffer.js';
import { startsKeyframe } from '../src/media/rtp-keyframe.js';

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

test('a viewer subscribing just after a keyframe came out starts from it (replayed with its time); later, not', async () => {
  const config = loadConfig(
    {},
    {
      videoSources: [{ id: 'front', kind: 'test', width: 320, height: 240, framerate: 30 }],
      audioSource: { kind: 'none' },
      // No periodic keyframe during the test: the only keyframes are the start and the forced one.
      keyframeIntervalFrames: 3000,
    },
  );
  const hub = new SourceHub(config, await detectEncoders('x264'), pino({ level: 'silent' }));
  const pipeline = hub.video('front', 'h264');
  const release = pipeline.subscribe(() => undefined);
  const releases: (() => void)[] = [];
  try {
    // Past the start's keyframe: nothing fresh to start from.
    await sleep(JOIN_HOLD_MAX_MS + 100);
    assert.equal(pipeline.recentKeyframeAgeMs(), null);
    const late: { packet: Buffer; at: number | undefined }[] = [];
    releases.push(
      pipeline.subscribe((packet, at) => late.push({ packet, at }), { fromRecentKeyframe: true }),
    );
    assert.equal(late.length, 0, 'no keyframe within the hold: nothing replayed');

    const before = pipeline.snapshot().keyframesOut;
    assert.equal(pipeline.requestKeyframe(true), 'sent');
    const deadline = Date.now() + 2000;
    while (pipeline.snapshot().keyframesOut === before) {
      assert.ok(Date.now() < deadline, 'the forced keyframe never came out');
      await sleep(2);
    }
    // Let the rest of the keyframe frame come out too.
    await sleep(10);
    const age = pipeline.recentKeyframeAgeMs();
    assert.ok(age !== null && age <= JOIN_HOLD_MAX_MS, `held keyframe age ${age}`);

    const joined: { packet: Buffer; at: number | undefined }[] = [];
    const subscribedAt = performance.now();
    releases.push(
      pipeline.subscribe((packet, at) => joined.push({ packet, at }), { fromRecentKeyframe: true }),
    );
    assert.ok(joined.length > 0, 'the run from the keyframe is replayed at once');
    const replayed = joined.filter((p) => p.at !== undefined);
    assert.equal(replayed.length, joined.length, 'replayed packets carry their time');
    assert.ok(
      replayed.some((p) => startsKeyframe('h264', p.packet)),
      'the replayed run holds the keyframe',
    );
    assert.ok(
      replayed.every((p) => p.at! < subscribedAt),
      'stamped with when they were encoded, not now',
    );
    // The replayed run and the live packets after it are one stream: sequence numbers follow on.
    await sleep(100);
    const seqs = joined.map((p) => p.packet.readUInt16BE(2));
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], (seqs[i - 1]! + 1) & 0xffff);
    assert.ok(
      joined.some((p) => p.at === undefined),
      'live packets followed',
    );

    const plain: Buffer[] = [];
    releases.push(pipeline.subscribe((packet) => plain.push(packet)));
    assert.equal(plain.length, 0, 'without fromRecentKeyframe nothing is replayed');
  } finally {
    for (const r of releases) r();
    release();
    hub.close();
  }
});
