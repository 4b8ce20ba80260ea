// The cameras' capture-to-RTP chains are run once at start-up on synthetic frames (media/encode-warm-up.ts): every
// chain produces a packet, a camera is never opened (a missing device does not matter), chains that are the same
// run once, and a chain that cannot run costs at most its timeout and never throws.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadConfig, type StreamerConfig } from '../src/config.js';
import { detectEncoders } from '../src/media/encoders.js';
import { SourceHub } from '../src/media/source-hub.js';
import { WARM_UP_FRAMES, warmUpEncoders } from '../src/media/encode-warm-up.js';

const log = pino({ level: 'silent' });

async function hubWith(videoSources: StreamerConfig['videoSources']): Promise<SourceHub> {
  const config = loadConfig({}, { videoSources, audioSource: { kind: 'none' } });
  return new SourceHub(config, await detectEncoders(config.encoder), log);
}

test('each distinct camera chain, test pattern and absent cameras alike, produces a packet', async () => {
  const hub = await hubWith([
    { id: 'front', kind: 'test', width: 320, height: 240 },
    // The same chain as front: run once.
    { id: 'rear', kind: 'test', width: 320, height: 240 },
    // Devices that do not exist here: a test pattern stands in for them.
    { id: 'arm', kind: 'v4l2', device: '/dev/video-none', format: 'mjpeg', width: 320, height: 240 },
    { id: 'belly', kind: 'v4l2', device: '/dev/video-none', width: 640, height: 480 },
  ]);
  const chains = hub.warmUpDescriptions(WARM_UP_FRAMES);
  const codecs = hub.codecAvailable('vp8') ? 2 : 1;
  assert.equal(chains.length, 3 * codecs, chains.join('\n'));
  for (const chain of chains) {
    assert.doesNotMatch(chain, /v4l2src|libcamerasrc|is-live=true|intervideosink/, chain);
    assert.match(chain, new RegExp(`num-buffers=${WARM_UP_FRAMES}`));
  }
  assert.ok(
    chains.some((c) => /jpegdec/.test(c)),
    'the MJPEG camera warms its decoder',
  );
  const { warmed } = await warmUpEncoders(chains, log, 5000);
  assert.equal(warmed, chains.length);
  hub.close();
});

test('a chain that cannot run is skipped within its timeout, without throwing', async () => {
  const t0 = performance.now();
  const { warmed } = await warmUpEncoders(
    [
      'videotestsrc ! no-such-element ! appsink name=rtpout',
      // No appsink to wait on.
      'videotestsrc num-buffers=1 ! fakesink',
      // Plays, but never produces a packet: waited for until the timeout.
      'audiotestsrc is-live=true ! valve drop=true ! appsink name=rtpout',
    ],
    log,
    300,
  );
  assert.equal(warmed, 0);
  assert.ok(performance.now() - t0 < 3000, `took ${performance.now() - t0} ms`);
});

test('the microphone chain is built as the live one, with a test tone and no audio device, and produces a packet', async () => {
  const config = loadConfig(
    {},
    {
      videoSources: [{ id: 'front', kind: 'test', width: 320, height: 240 }],
      audioSource: { kind: 'alsa', device: 'hw:9,9' },
      audioSink: 'alsa',
      echoCancel: true,
    },
  );
  const hub = new SourceHub(config, await detectEncoders(config.encoder), log);
  const audio = hub.warmUpDescriptions(WARM_UP_FRAMES).filter((c) => /opusenc/.test(c));
  assert.equal(audio.length, 1, 'one microphone chain');
  const chain = audio[0]!;
  assert.doesNotMatch(chain, /alsasrc|pulsesrc|alsasink|pulsesink|autoaudiosink/, chain);
  assert.match(chain, /audiotestsrc/);
  // The processing the real microphone gets ('auto' noise suppression and gain control are on for a sound card).
  assert.match(chain, /webrtcdsp [^!]*echo-cancel=true/);
  assert.match(chain, /noise-suppression=true/);
  assert.match(chain, /gain-control=true/);
  // Names of its own: the live pipeline's echo probe and speaker channel are never touched.
  const probe = /probe=(\S+)/.exec(chain)?.[1];
  assert.ok(probe?.endsWith('_warm'), `probe ${probe}`);
  const { warmed } = await warmUpEncoders(audio, log, 5000);
  assert.equal(warmed, 1);
  hub.close();
});
