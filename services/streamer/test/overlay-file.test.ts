// A test source's overlay file in real GStreamer: what the file says is drawn over the picture, and follows the
// file as it changes (a simulated robot's pose on its camera).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config.js';
import { parseLaunch, type GstAppSink } from '../src/media/gst-native.js';
import { OverlayFileFollower } from '../src/media/overlay-file.js';
import { OVERLAY_ELEMENT, videoSourceFragment } from '../src/media/sources.js';

const W = 320;
const H = 240;

test('the overlay file is drawn over a test picture and follows the file', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'overlay-')), 'pose.txt');
  const config = loadConfig({
    STREAMER_VIDEO_SOURCES: JSON.stringify([
      // The flash pattern is a solid dark field: any bright pixel is the text.
      { id: 'cam', kind: 'test', pattern: 'flash', width: W, height: H, framerate: 30, overlayFile: file },
    ]),
  });
  const pipeline = parseLaunch(
    `${videoSourceFragment(config.videoSources[0]!)} ! appsink name=out sync=false`,
  );
  pipeline.play();
  const follower = new OverlayFileFollower(file, () => pipeline.findChild(OVERLAY_ELEMENT));
  follower.start();
  try {
    const sink = pipeline.findChild('out') as GstAppSink;
    // I420: the first W*H bytes are luma. Bright pixels in the bottom half, where the text is drawn.
    const brightPixels = (): Promise<number> =>
      new Promise((resolve, reject) =>
        sink.pull((buf) => {
          if (!buf) return reject(new Error('pipeline stopped'));
          let n = 0;
          for (let i = (W * H) / 2; i < W * H; i++) if (buf[i]! > 200) n++;
          resolve(n);
        }),
      );
    const within = async (frames: number, ok: (n: number) => boolean): Promise<number> => {
      let n = -1;
      for (let i = 0; i < frames && !ok(n); i++) n = await brightPixels();
      return n;
    };
    assert.equal(await within(3, (n) => n === 0), 0, 'no file: nothing drawn');
    writeFileSync(file, 'x 1.00 m  y 0.00 m');
    const short = await within(30, (n) => n > 50);
    assert.ok(short > 50, `the text is drawn (${short} bright pixels)`);
    writeFileSync(file, 'x 1.00 m  y 0.00 m  theta 90 deg\nv 0.50 m/s  w 1.00 rad/s');
    const long = await within(30, (n) => n > short * 1.5);
    assert.ok(long > short * 1.5, `more text, more pixels (${long} > ${short})`);
    writeFileSync(file, '');
    assert.equal(await within(30, (n) => n === 0), 0, 'an empty file clears it');
  } finally {
    follower.stop();
    pipeline.stop();
  }
});
