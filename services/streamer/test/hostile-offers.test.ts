// The robot's answer path under hostile offers and candidates: an app may send any text as SDP and any candidate.
// Property-based (fast-check): a real app offer (werift, two cameras and a microphone) mutated line by line and
// token by token, given to a StreamerCore with real GStreamer test sources. Every offer is answered or refused with
// a typed error (BadOfferError naming the problem, or NoMatchingCodecError), never anything else and never by
// hanging; a viewer that was answered takes hostile candidates and a hostile ICE-restart offer without throwing
// anything untyped; the process sees no uncaught exception or unhandled rejection; no viewer is left behind; and a
// good offer is still answered afterwards.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { RTCPeerConnection, useH264, useOPUS, useVP8 } from 'werift';
import { loadConfig } from '../src/config.js';
import { NoMatchingCodecError, StreamerCore } from '../src/core/streamer-core.js';
import { BadOfferError, checkOffer } from '@robostream/protocol/client';
import { fuzzAnswerPath } from '../../../test/support/sdp-fuzz.js';

const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });

async function appOffer(): Promise<string> {
  const app = new RTCPeerConnection({
    bundlePolicy: 'max-bundle',
    codecs: { video: [useH264(), useVP8()], audio: [useOPUS()] },
  });
  app.addTransceiver('video', { direction: 'recvonly' });
  app.addTransceiver('video', { direction: 'recvonly' });
  app.addTransceiver('audio', { direction: 'sendrecv' });
  // Without waiting for its candidates: the fuzzer's stray lines include candidates of its own.
  await app.setLocalDescription(await app.createOffer());
  const sdp = app.localDescription!.sdp;
  await app.close();
  return sdp;
}

describe('hostile offers', { timeout: 600_000 }, () => {
  let core: StreamerCore;
  let good: string;
  const escaped: unknown[] = [];
  const onEscape = (err: unknown) => escaped.push(err);

  before(async () => {
    process.on('uncaughtException', onEscape);
    process.on('unhandledRejection', onEscape);
    core = await StreamerCore.start(
      loadConfig(
        {},
        {
          audioSource: { kind: 'test' },
          audioSink: 'none',
          videoSink: 'none',
          lingerMs: 60_000,
          videoSources: [
            { id: 'front', kind: 'test', width: 320, height: 240, framerate: 30 },
            { id: 'rear', kind: 'test', width: 320, height: 240, framerate: 30 },
          ],
        },
      ),
      { log },
    );
    good = await appOffer();
  });

  after(async () => {
    await core?.close();
    process.off('uncaughtException', onEscape);
    process.off('unhandledRejection', onEscape);
  });

  test('what every offer must carry is named when missing', () => {
    const cases: [string, RegExp][] = [
      ['{"sdp": "v=0"}', /not SDP/],
      ['v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n', /no media section/],
      [good.replace(/a=mid:1\r\n/, ''), /media section 2 \(video\) has no a=mid/],
      [good.replace(/a=mid:1\r\n/, 'a=mid:1\r\na=mid:\r\n'), /media section 2 \(video\) has 2 a=mid lines/],
      [good.replace(/a=mid:1\r\n/, 'a=mid:0\r\n'), /media sections 1 and 2 share a=mid:0/],
      [good.replace(/a=fingerprint:[^\r]*\r\n/g, ''), /no DTLS fingerprint/],
      [good.replace(/a=ice-pwd:[^\r]*\r\n/g, ''), /no ICE password/],
    ];
    for (const [sdp, message] of cases)
      assert.throws(() => checkOffer(sdp), { name: 'BadOfferError', message });
    assert.doesNotThrow(() => checkOffer(good));
  });

  test('every mutated offer is answered or refused with a typed error; nothing escapes', async () => {
    const outcomes = await fuzzAnswerPath({
      offer: good,
      answer: async (sdp) => {
        const viewer = await core.openViewer(sdp, {});
        return {
          addRemoteCandidate: (c) => viewer.addRemoteCandidate(c),
          // A viewer whose path failed (its candidates were hostile too) has closed itself: nothing to restart.
          restart: async (offer) => (viewer.isClosed ? undefined : viewer.restartIce(offer)),
          close: () => viewer.close(),
        };
      },
      typed: (err) => err instanceof BadOfferError || err instanceof NoMatchingCodecError,
      runs: Number(process.env.FUZZ_RUNS ?? 400),
    });
    console.log(`[hostile-offers] ${JSON.stringify(outcomes)}`);
    // The mutations must exercise both ways out, or the property says little.
    assert.ok(outcomes.answered > 0 && outcomes.refused > 0, JSON.stringify(outcomes));
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(escaped, [], 'nothing escaped as an uncaught exception or unhandled rejection');
    assert.equal(core.viewers().length, 0, 'no viewer left behind');

    const viewer = await core.openViewer(good, {});
    assert.match(viewer.answerSdp, /^v=0/);
    await viewer.close();
  });
});
