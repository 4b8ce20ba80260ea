// The `flash` test pattern (the latency probe's source) in real GStreamer: switching it changes what the source
// outputs, from the next frames on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../src/config.js';
import { parseLaunch, type GstAppSink } from '../src/media/gst-native.js';
import { FLASH_ELEMENT, setFlash, videoSourceFragment } from '../src/media/sources.js';

test('a flash source switches between dark and bright frames', async () => {
  const config = loadConfig({
    STREAMER_VIDEO_SOURCES: JSON.stringify([
      { id: 'probe', kind: 'test', pattern: 'flash', width: 320, height: 240, framerate: 30 },
    ]),
  });
  const source = config.videoSources[0]!;
  const pipeline = parseLaunch(`${videoSourceFragment(source)} ! appsink name=out sync=false`);
  pipeline.play();
  try {
    const sink = pipeline.findChild('out') as GstAppSink;
    // I420: the first byte is the top-left pixel's luma.
    const nextLuma = (): Promise<number> =>
      new Promise((resolve, reject) =>
        sink.pull((buf) => (buf ? resolve(buf[0]!) : reject(new Error('pipeline stopped')))),
      );
    const lumaWithin = async (frames: number, ok: (y: number) => boolean): Promise<number> => {
      let y = -1;
      for (let i = 0; i < frames && !ok(y); i++) y = await nextLuma();
      return y;
    };
    assert.ok((await lumaWithin(3, (y) => y >= 0 && y < 40)) < 40, 'dark at start');
    assert.equal(setFlash(pipeline.findChild(FLASH_ELEMENT), true), true);
    assert.ok((await lumaWithin(10, (y) => y > 180)) > 180, 'bright after the switch');
    setFlash(pipeline.findChild(FLASH_ELEMENT), false);
    assert.ok((await lumaWithin(10, (y) => y >= 0 && y < 40)) < 40, 'dark again');
    assert.equal(setFlash(pipeline.findChild('no-such-element'), true), false);
  } finally {
    pipeline.stop();
  }
});
