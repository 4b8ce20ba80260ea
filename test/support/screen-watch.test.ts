// The screen watch the latency benches and the network lab time pictures with: it must see every change of the
// watched element, in order, read from that element only, and never before the change was made.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { launchChromium, type TestChromium } from './chromium.js';
import { ScreenWatch, medianLuma } from './screen-watch.js';
import { eventually } from './signaling.js';

let chromium: TestChromium;
before(async () => {
  chromium = await launchChromium({ profilePrefix: 'screen-watch-' });
});
after(async () => {
  await chromium.close();
});

const PAGE = `<!doctype html><body style="margin:0;background:#fff">
<div id="box" style="width:640px;height:360px;background:#000"></div>
<div id="other" style="width:640px;height:200px;background:#000"></div></body>`;

const epoch = (): number => performance.timeOrigin + performance.now();

test('reports each change of the watched element once, in order, after it was made', async () => {
  const page = await chromium.context.newPage();
  await page.setContent(PAGE);
  // Painted before the watch starts, so its first frame is the dark box, not the blank page.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const watch = await ScreenWatch.start(page, '#box');
  // Its first frame before the first flip, or that frame would show the flip (seen once in CI).
  await eventually(() => watch.received > 0, 5000, "the watch's first frame");
  await sleep(300);
  const flips: { bright: boolean; atEpochMs: number }[] = [];
  for (let i = 0; i < 6; i++) {
    const bright = i % 2 === 0;
    flips.push({ bright, atEpochMs: epoch() });
    await page.evaluate((b) => {
      document.getElementById('box')!.style.background = b ? '#fff' : '#000';
    }, bright);
    await sleep(250);
    // A change outside the watched element must not show as one of it.
    await page.evaluate((b) => {
      document.getElementById('other')!.style.background = b ? '#000' : '#fff';
    }, bright);
    await sleep(250);
  }
  const frames = await watch.stop();
  await page.close();

  const changes: { bright: boolean; atEpochMs: number }[] = [];
  for (const f of frames) {
    const luma = medianLuma(f);
    assert.notEqual(luma, null, 'every frame has a reading of the box');
    const bright = (luma ?? 0) > 128;
    if (changes.at(-1)?.bright !== bright) changes.push({ bright, atEpochMs: f.atEpochMs });
  }
  // The first reading is the dark box before any flip.
  assert.equal(changes[0]?.bright, false, 'the box starts dark');
  const seen = changes.slice(1);
  assert.deepEqual(
    seen.map((c) => c.bright),
    flips.map((f) => f.bright),
    'one change per flip, in order',
  );
  seen.forEach((c, i) =>
    assert.ok(
      c.atEpochMs >= flips[i]!.atEpochMs,
      `change ${i} swapped at ${c.atEpochMs}, not before its flip at ${flips[i]!.atEpochMs}`,
    ),
  );
});

test('an element that is not on the page gives no readings', async () => {
  const page = await chromium.context.newPage();
  await page.setContent(PAGE);
  const watch = await ScreenWatch.start(page, '#missing');
  await page.evaluate(() => {
    document.getElementById('box')!.style.background = '#fff';
  });
  await sleep(300);
  const frames = await watch.stop();
  await page.close();
  assert.ok(frames.length > 0, 'the page was swapped at least once');
  assert.ok(
    frames.every((f) => medianLuma(f) === null),
    'no reading without the element',
  );
});
