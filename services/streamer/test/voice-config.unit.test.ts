// The voice settings: validated like every other setting, and resolved into what the voice pipeline runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { ServiceConfigError, loadServiceConfig } from '../src/service-config.js';
import { FLOOR_RELEASE_MS, SpeakerFloor } from '../src/media/speaker-floor.js';
import { voicePipelineDescription, voiceSettings } from '../src/media/voice-pipeline.js';
import type { GstAppSrc } from '../src/media/gst-native.js';

test('noise suppression and gain control: on for a microphone, off for generated sound, unless forced', () => {
  const mic = voiceSettings(loadConfig({ STREAMER_AUDIO_SOURCE: '{"kind":"alsa","device":"hw:1"}' }));
  assert.equal(mic.noiseSuppression, true);
  assert.equal(mic.gainControl, true);
  assert.equal(mic.echoCancel, true);
  // 'low' by default: the only level that kept the near-end talker within 6 dB through the call (docs/streamer.md).
  assert.equal(mic.echoSuppression, 'low');
  const tone = voiceSettings(loadConfig({}));
  assert.equal(tone.noiseSuppression, false);
  assert.equal(tone.gainControl, false);
  const forced = voiceSettings(
    loadConfig({
      STREAMER_NOISE_SUPPRESSION: 'on',
      STREAMER_GAIN_CONTROL: 'off',
      STREAMER_AUDIO_SOURCE: '{"kind":"pulse"}',
    }),
  );
  assert.equal(forced.noiseSuppression, true);
  assert.equal(forced.gainControl, false);
});

test('no speaker, no canceller: the echo probe and the speaker branch are left out', () => {
  const c = loadConfig({ STREAMER_AUDIO_SINK: 'none' });
  assert.equal(voiceSettings(c).echoCancel, false);
  const d = voicePipelineDescription(c, { probe: 'probe1', channel: 'c1' }, 'fakesink');
  assert.ok(d && !d.includes('webrtcechoprobe') && !d.includes('appsrc') && !d.includes('audiointerleave'));
  assert.match(d, /webrtcdsp name=voice echo-cancel=false/);
  const all = voicePipelineDescription(loadConfig({}), { probe: 'probe1', channel: 'c1' }, 'fakesink');
  // The speaker's and the microphone's blocks are paired by timestamp; the probe gets each speaker block just
  // before the canceller gets the microphone block of the same moment.
  assert.match(
    all ?? '',
    new RegExp(
      'speakerout\\. ! queue [^!]*! probe1-pair\\.sink_0 .* ! probe1-pair\\.sink_1 ' +
        'audiointerleave name=probe1-pair .*! deinterleave name=probe1-split ' +
        'probe1-split\\.src_0 ! [^!]+ ! webrtcechoprobe name=probe1 ! fakesink .*' +
        'probe1-split\\.src_1 ! [^!]+ ! webrtcdsp name=voice probe=probe1 echo-cancel=true',
    ),
  );
  assert.equal(
    voicePipelineDescription(
      loadConfig({ STREAMER_AUDIO_SOURCE: '{"kind":"none"}' }),
      { probe: 'p', channel: 'c' },
      'x',
    ),
    null,
  );
  const bare = voicePipelineDescription(
    loadConfig({ STREAMER_AUDIO_SINK: 'none', STREAMER_VOICE_ACTIVITY: 'false' }),
    { probe: 'p', channel: 'c' },
    'fakesink',
  );
  assert.ok(bare && !bare.includes('webrtcdsp'), 'nothing to do: no processor');
});

test('bad voice settings are refused, each naming its variable', () => {
  let error: unknown;
  try {
    loadConfig({
      STREAMER_ECHO_CANCEL: 'maybe',
      STREAMER_ECHO_SUPPRESSION: 'extreme',
      STREAMER_NOISE_SUPPRESSION: 'yes',
      STREAMER_AUDIO_SOURCE: '{"kind":"room","echoGain":2}',
    });
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof ConfigError);
  const text = error.problems.join('\n');
  for (const v of [
    'STREAMER_ECHO_CANCEL',
    'STREAMER_ECHO_SUPPRESSION',
    'STREAMER_NOISE_SUPPRESSION',
    'STREAMER_AUDIO_SOURCE',
  ])
    assert.match(text, new RegExp(v));
  assert.equal(error.problems.length, 4);
});

test('the gateway socket for voice telemetry must be a websocket URL', () => {
  assert.equal(
    loadServiceConfig({ STREAMER_GATEWAY_SERVICE_URL: 'ws://127.0.0.1:7600/v1/service' }).gatewayServiceUrl,
    'ws://127.0.0.1:7600/v1/service',
  );
  assert.equal(loadServiceConfig({}).gatewayServiceUrl, null);
  assert.throws(
    () => loadServiceConfig({ STREAMER_GATEWAY_SERVICE_URL: 'http://127.0.0.1:7600' }),
    (err: unknown) => err instanceof ServiceConfigError && /STREAMER_GATEWAY_SERVICE_URL/.test(err.message),
  );
});

test('the speaker floor: one talker at a time, free again after a silence or when the holder leaves', () => {
  const pushed: string[] = [];
  const appsrc = { push: (b: Buffer) => pushed.push(b.toString()) } as unknown as GstAppSrc;
  const floor = new SpeakerFloor(() => appsrc);
  assert.equal(floor.push('a', Buffer.from('a1'), 0), true);
  assert.equal(floor.push('b', Buffer.from('b1'), 20), false);
  assert.equal(floor.push('a', Buffer.from('a2'), 40), true);
  assert.equal(floor.push('b', Buffer.from('b2'), 40 + FLOOR_RELEASE_MS), true);
  floor.release('b');
  assert.equal(floor.push('a', Buffer.from('a3'), 41 + FLOOR_RELEASE_MS), true);
  assert.deepEqual(pushed, ['a1', 'a2', 'b2', 'a3']);
  assert.deepEqual(floor.snapshot(), { holder: 'a', played: 4, dropped: 1 });
});
