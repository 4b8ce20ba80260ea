import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, defaultConfig, loadConfig } from '../src/config.js';

test('defaults: one 720p30 test camera, a test tone, x264 picked automatically, H.264', () => {
  const c = loadConfig({});
  assert.deepEqual(c, defaultConfig);
  assert.equal(c.videoSources[0]?.kind, 'test');
  assert.equal(c.videoCodec, 'h264');
});

test('two cameras and bounds from the environment', () => {
  const c = loadConfig({
    STREAMER_VIDEO_SOURCES: JSON.stringify([
      { id: 'front', kind: 'v4l2', device: '/dev/video0', format: 'mjpeg' },
      { id: 'arm', kind: 'libcamera' },
    ]),
    STREAMER_AUDIO_SOURCE: '{"kind":"alsa","device":"hw:1"}',
    STREAMER_BITRATE_MIN_KBPS: '200',
    STREAMER_BITRATE_MAX_KBPS: '3000',
    STREAMER_BITRATE_START_KBPS: '1000',
    STREAMER_ICE_PORT_RANGE: '40000-40100',
  });
  assert.deepEqual(
    c.videoSources.map((s) => s.id),
    ['front', 'arm'],
  );
  assert.equal(c.bitrateMaxKbps, 3000);
  assert.deepEqual(c.icePortRange, [40000, 40100]);
});

test('every bad value gets its own error naming the variable', () => {
  let error: unknown;
  try {
    loadConfig({
      STREAMER_ENCODER: 'nvenc',
      STREAMER_LINGER_MS: 'soon',
      STREAMER_VIDEO_SOURCES: '[{"id":"x","kind":"v4l2"}]',
      STREAMER_ICE_SERVERS: '{not json',
    });
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof ConfigError);
  const vars = error.problems.map((p) => p.split(':')[0]);
  assert.deepEqual(vars.sort(), [
    'STREAMER_ENCODER',
    'STREAMER_ICE_SERVERS',
    'STREAMER_LINGER_MS',
    'STREAMER_VIDEO_SOURCES',
  ]);
});

test('cross-field checks: bounds order, start inside bounds, unique source ids', () => {
  assert.throws(
    () => loadConfig({ STREAMER_BITRATE_MIN_KBPS: '5000', STREAMER_BITRATE_MAX_KBPS: '1000' }),
    /MIN_KBPS \(5000\) is above/,
  );
  assert.throws(
    () =>
      loadConfig({
        STREAMER_VIDEO_SOURCES: '[{"id":"a","kind":"test"},{"id":"a","kind":"test"}]',
      }),
    /"a" is used twice/,
  );
});
