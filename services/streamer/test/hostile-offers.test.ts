// The robot's answer path under hostile offers and candidates: an app may send any text as SDP and any candidate.
// Property-based (fast-check): a real app offer (werift, two cameras and a microphone) mutated line by line and
// token by token, given to a StreamerCore with real GStreamer test sources. Every offer is answered or refused with
// a typed error (BadOfferError naming the problem, or NoMatchingCodecError), never anything else and never by
// hanging; a viewer that was answered takes hostile candidates and a hostile ICE-restart offer without throwing
// anything untyped; the process sees no uncaught exception or unhandled rejection; no viewer is left behind; and a
// good offer is still answered afterwards.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import { RTCPeerConnection, useH264, useOPUS, useVP8 } from 'werift';
import { loadConfig } from '../src/config.js';
import { NoMatchingCodecError, StreamerCore } from '../src/core/streamer-core.js';
import { BadOfferError, checkOffer } from '@robostream/protocol/client';
import { hostileCandidate, mutateSdp, sdpMutation } from '../../../test/support/sdp-fuzz.js';

const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
/** A liveness bound per offer (not a speed figure): an answer that takes longer counts as hanging. */
const SETTLE_MS = 5_000;

async function appOffer(): Promise<string> {
  const app = new RTCPeerConnection({
    bundlePolicy: 'max-bundle',
    codecs: { video: [useH264(), useVP8()], audio: [useOPUS()] },
  });
  app.addTransceiver('video', { direction: 'recvonly' });
  app.addTransceiver('video', { direction: 'recvonly' });
  app.addTransceiver('audio', { direction: 'sendrecv' });
  await app.setLocalDescription(await app.createOffer());
  await new Promise<void>((resolve) => {
    if (app.iceGatheringState === 'complete') return resolve();
    app.iceGatheringStateChange.subscribe((s) => s === 'complete' && resolve());
  });
  const sdp = app.localDescription!.sdp;
  await app.close();
  return sdp;
}

const typed = (err: unknown): boolean => err instanceof BadOfferError || err instanceof NoMatchingCodecError;

function settles<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle in ${SETTLE_MS} ms`)), SETTLE_MS);
    }),
  ]).finally(() => clearTimeout(timer));
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
      [good.replace(/a=fingerprint:[^\r]*\r\n/g, ''), /no DTLS fingerprint/],
      [good.replace(/a=ice-pwd:[^\r]*\r\n/g, ''), /no ICE password/],
    ];
    for (const [sdp, message] of cases)
      assert.throws(() => checkOffer(sdp), { name: 'BadOfferError', message });
    assert.doesNotThrow(() => checkOffer(good));
  });

  test('every mutated offer is answered or refused with a typed error; nothing escapes', async () => {
    const lines = good.split('\r\n').filter(Boolean);
    const outcomes = { answered: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(sdpMutation, { minLength: 1, maxLength: 4 }),
        fc.array(hostileCandidate, { maxLength: 4 }),
        fc.array(sdpMutation, { minLength: 1, maxLength: 2 }),
        async (muts, candidates, restartMuts) => {
          const sdp = mutateSdp(lines, muts);
          let viewer;
          try {
            viewer = await settles(core.openViewer(sdp, {}), 'the answer');
          } catch (err) {
            assert.ok(
              typed(err),
              `an untyped refusal: ${(err as Error).stack ?? String(err)}\noffer:\n${sdp}`,
            );
            outcomes.refused++;
            return;
          }
          outcomes.answered++;
          try {
            for (const c of candidates)
              await viewer.addRemoteCandidate(c).catch((err: unknown) => {
                assert.ok(err instanceof Error, `a candidate refused with a non-Error: ${String(err)}`);
              });
            // A restart offer: new ICE credentials, mutated again.
            const restart = mutateSdp(sdp.split('\r\n').filter(Boolean), restartMuts).replace(
              /a=ice-ufrag:\S+/g,
              'a=ice-ufrag:rst1',
            );
            await settles(viewer.restartIce(restart), 'the ICE restart').catch((err: unknown) => {
              assert.ok(typed(err), `an untyped ICE-restart refusal: ${(err as Error).stack ?? String(err)}`);
            });
          } finally {
            await viewer.close();
          }
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 400) },
    );
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
