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
import { BadOfferError, checkOffer } from '../src/transport/offer-check.js';

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

const weird = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    ':',
    '0',
    '-1',
    '99999999999999999999',
    'NaN',
    '\u0000',
    '💥',
    'a'.repeat(3000),
    '/',
    '=',
  ),
  fc.string({ maxLength: 24 }),
  fc.integer().map(String),
);
const sdpLines = fc.constantFrom(
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'm=audio 0 RTP/AVP 0',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 profile-level-id=zz;packetization-mode=9',
  'a=mid:',
  'a=group:BUNDLE 7 8 9',
  'a=ssrc:1 cname:x',
  'a=extmap:99 urn:x',
  'a=setup:holdconn',
  'a=fingerprint:sha-256 ZZ',
  'a=ice-ufrag:',
  'a=candidate:1 1 udp 1 1.2.3.4 99999 typ host',
  'a=simulcast:recv 1;2',
  'c=IN IP4 x',
);
type Mutation =
  | { k: 'drop' | 'dup'; i: number }
  | { k: 'token'; i: number; j: number; w: string }
  | { k: 'insert'; i: number; w: string }
  | { k: 'truncate'; n: number };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ k: fc.constantFrom('drop' as const, 'dup' as const), i: fc.nat() }),
  fc.record({ k: fc.constant('token' as const), i: fc.nat(), j: fc.nat(), w: weird }),
  fc.record({ k: fc.constant('insert' as const), i: fc.nat(), w: fc.oneof(weird, sdpLines) }),
  fc.record({ k: fc.constant('truncate' as const), n: fc.nat() }),
);
const candidate = fc.record({
  candidate: fc.oneof(
    weird,
    fc.constantFrom(
      'candidate:1 1 udp 2122260223 127.0.0.1 9 typ host',
      'candidate:1 1 tcp 1 ::1 65536 typ srflx raddr x rport y',
      'candidate: 1 udp',
      'candidate:x y z w v u typ host generation -1',
    ),
  ),
  sdpMid: fc.option(fc.oneof(weird, fc.constantFrom('0', '1', '2')), { nil: undefined }),
  sdpMLineIndex: fc.option(fc.integer({ min: -3, max: 8 }), { nil: undefined }),
});

function mutate(lines: string[], muts: Mutation[]): string {
  let ls = [...lines];
  for (const m of muts) {
    if (ls.length === 0) break;
    if (m.k === 'truncate') {
      ls = ls.slice(0, m.n % ls.length);
      continue;
    }
    const i = m.i % ls.length;
    if (m.k === 'drop') ls.splice(i, 1);
    else if (m.k === 'dup') ls.splice(i, 0, ls[i]!);
    else if (m.k === 'insert') ls.splice(i, 0, m.w);
    else if (m.k === 'token') {
      const tokens = ls[i]!.split(/([ :=/])/);
      tokens[m.j % tokens.length] = m.w;
      ls[i] = tokens.join('');
    }
  }
  return ls.join('\r\n') + '\r\n';
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
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.array(candidate, { maxLength: 4 }),
        fc.array(mutation, { minLength: 1, maxLength: 2 }),
        async (muts, candidates, restartMuts) => {
          const sdp = mutate(lines, muts);
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
            const restart = mutate(sdp.split('\r\n').filter(Boolean), restartMuts).replace(
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
