// PipelineRunner's element lookups in real GStreamer: one addon lookup per name and pipeline start. Each lookup
// of the addon allocates a new wrapper and never frees part of it; the streamer looks elements up on hot paths
// (every bitrate change, every buffer for the speaker), which grew the heap by megabytes a second and set off
// major garbage collections that starved the encoder (the picture froze for 250-400 ms each time).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { PipelineRunner } from '../src/media/pipeline-runner.js';

const log = pino({ level: 'silent' });

test('an element is looked up once per pipeline start and forgotten when the pipeline stops', () => {
  const runner = new PipelineRunner(
    'lookup',
    'videotestsrc name=src is-live=true ! x264enc name=venc tune=zerolatency ! fakesink',
    log,
  );
  assert.equal(runner.element('venc'), undefined, 'no element before the pipeline starts');
  runner.start();
  try {
    const first = runner.element('venc');
    assert.ok(first, 'the encoder is found');
    assert.equal(runner.element('venc'), first, 'the same wrapper again, not a new lookup');
    first.bitrate = 777;
    assert.equal(runner.element('venc')?.bitrate, 777, 'the wrapper drives the running element');
    assert.equal(runner.element('nope'), undefined, 'an unknown name is undefined');
  } finally {
    runner.stop();
  }
  assert.equal(runner.element('venc'), undefined, 'nothing once stopped');
  runner.start();
  try {
    const again = runner.element('venc');
    assert.ok(again, 'found again after a restart');
    assert.notEqual(again.bitrate, 777, "a restart's element is the new pipeline's, not the old wrapper");
  } finally {
    runner.stop();
  }
});

test('a thousand lookups of one element allocate no more than one', () => {
  const runner = new PipelineRunner('lookup-heap', 'videotestsrc name=src ! fakesink', log);
  runner.start();
  try {
    runner.element('src');
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1000; i++) runner.element('src');
    gc?.();
    const grownMb = (process.memoryUsage().heapUsed - before) / 1e6;
    // Uncached, 1,000 lookups keep ~37 MB alive (and allocate ~60 MB); cached, nothing measurable.
    assert.ok(grownMb < 5, `heap grew ${grownMb.toFixed(1)} MB over 1,000 lookups`);
  } finally {
    runner.stop();
  }
});
