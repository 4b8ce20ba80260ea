// The robot's echo canceller, measured end to end: real GStreamer (webrtcechoprobe on the speaker, webrtcdsp on
// the microphone, a simulated room in between: the speaker's output back into the microphone 50 ms later at 0.3,
// plus a near-end talker) and a real Chromium whose fake microphone sends a known voice-like signal. The page
// records what it sent and what came back; the echo's level is read in the returned audio, canceller off and on.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { detectEncoders, type EncoderDetection } from '../src/media/encoders.js';
import type { AppBrowser } from './support/chromium-app.js';
import { launchFarEndBrowser, measureCall } from './support/voice-room.js';

const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });

describe('voice: echo cancellation in a simulated room', { timeout: 180_000 }, () => {
  let browser: AppBrowser;
  let encoders: EncoderDetection;

  before(async () => {
    encoders = await detectEncoders('auto');
    browser = await launchFarEndBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('the canceller takes the echo of the operator out and lets the near-end talker through', async () => {
    const off = await measureCall({ browser, encoders, log, overrides: { echoCancel: false } });
    const on = await measureCall({ browser, encoders, log, overrides: { echoCancel: true } });
    const erle = off.received.farEndDb - on.received.farEndDb;
    const nearChange = on.received.nearEndDb - off.received.nearEndDb;
    console.log(
      `voice echo: sent=${off.sent.farEndDb.toFixed(1)} dBFS; returned off=${off.received.farEndDb.toFixed(1)} ` +
        `on=${on.received.farEndDb.toFixed(1)} dBFS; erle=${erle.toFixed(1)} dB; near-end off=` +
        `${off.received.nearEndDb.toFixed(1)} on=${on.received.nearEndDb.toFixed(1)} dBFS; correlation off=` +
        `${off.echo.coefficient.toFixed(2)} at ${off.echo.lagMs.toFixed(0)} ms, on=${on.echo.coefficient.toFixed(2)}`,
    );
    // Without the canceller the page gets its own signal back: its envelope, after a round trip.
    assert.ok(off.echo.coefficient > 0.25, `echo correlation without the canceller ${off.echo.coefficient}`);
    assert.ok(off.echo.lagMs >= 50, `echo round trip ${off.echo.lagMs} ms`);
    assert.ok(
      off.received.farEndDb > off.sent.farEndDb - 15,
      'the room returns the echo without the canceller',
    );
    assert.ok(off.robotDecoded > 0 && on.robotDecoded > 0);
    // The issue aims at 25 dB of echo reduction with the near-end talker within 6 dB. Measured here with the
    // default 'low': 26.8-34.4 dB over seven runs, 20-29 dB in some runs while other processes kept both cores busy,
    // the near end 3.2-5.2 dB down in every run (docs/streamer.md, "Voice"). The echo bound keeps a margin under the loaded
    // figures (an unlinked probe gives about 0 dB); the near-end bound is the aim ('high' ducks the talker
    // 9-10 dB and fails it).
    assert.ok(erle >= 15, `echo return loss enhancement ${erle.toFixed(1)} dB`);
    assert.ok(nearChange >= -6, `near-end level changed by ${nearChange.toFixed(1)} dB`);
    // The voice-activity detector ran on the microphone.
    assert.ok(on.voiceChanges > 0, 'voice activity decisions');
  });
});
