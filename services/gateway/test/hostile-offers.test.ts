/**
 * The gateway's answer path under hostile offers and candidates (fast-check): a real app offer (werift, the
 * contract's two data channels) mutated line by line and token by token, each given to a new DataChannelSession
 * as signaling would. Every offer is answered or refused with BadOfferError naming the problem (the message the
 * app is sent), never anything untyped and never by hanging; an answered session takes hostile candidates and a
 * hostile ICE-restart offer; nothing escapes as an uncaught exception or unhandled rejection; every session closes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RTCPeerConnection } from 'werift';
import { BadOfferError, checkOffer, type EndpointLog } from '@robostream/protocol/client';
import { DataChannelSession } from '../src/signaling/datachannel-session.js';
import { GatewayMetrics } from '../src/hub/metrics.js';
import { hostileCandidate, mutateSdp, sdpMutation } from '../../../test/support/sdp-fuzz.js';

const quiet: EndpointLog = { debug() {}, info() {}, warn() {}, child: () => quiet };
/** A liveness bound per offer (not a speed figure). */
const SETTLE_MS = 5_000;
const metrics = new GatewayMetrics(false);
const escaped: unknown[] = [];
const onEscape = (err: unknown) => escaped.push(err);
let good: string;
// A session's close finishes on an unref'd timer (the gateway's other handles keep a real process alive): this
// test has nothing else, so it holds the loop open itself.
let keepAlive: NodeJS.Timeout;

function newSession(id: string): DataChannelSession {
  return new DataChannelSession(
    {
      sessionId: id,
      app: 'app',
      grants: [],
      meta: undefined,
      label: 'fuzz',
      iceServers: [],
      log: quiet,
      localCandidate: () => undefined,
      connectionState: () => undefined,
      ended: () => undefined,
    },
    {
      iceTransportPolicy: 'all',
      includeLoopback: true,
      highWaterBytes: 32 * 1024,
      attachLink: () => 'link',
      metrics,
      onEnded: () => undefined,
    },
  );
}

async function settles<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle in ${SETTLE_MS} ms`)), SETTLE_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

before(async () => {
  keepAlive = setInterval(() => undefined, 1_000);
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
  const app = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  app.createDataChannel('gateway-reliable', { ordered: true });
  app.createDataChannel('gateway-lossy', { ordered: false, maxRetransmits: 0 });
  await app.setLocalDescription(await app.createOffer());
  good = app.localDescription!.sdp;
  await app.close();
});

after(() => {
  clearInterval(keepAlive);
  process.off('uncaughtException', onEscape);
  process.off('unhandledRejection', onEscape);
});

test('an offer without a data channel section is refused by name', () => {
  assert.doesNotThrow(() => checkOffer(good));
  const audioOnly = good.replace(/^m=application .*$/m, 'm=audio 9 UDP/TLS/RTP/SAVPF 111');
  const s = newSession('no-dc');
  return assert
    .rejects(s.answer(audioOnly, false), { name: 'BadOfferError', message: /no data channel section/ })
    .finally(() => s.close({ cause: 'failed', reason: 'test' }));
});

test('every mutated offer is answered or refused with BadOfferError; nothing escapes', async () => {
  const lines = good.split('\r\n').filter(Boolean);
  const outcomes = { answered: 0, refused: 0 };
  let n = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(sdpMutation, { minLength: 1, maxLength: 4 }),
      fc.array(hostileCandidate, { maxLength: 4 }),
      fc.array(sdpMutation, { minLength: 1, maxLength: 2 }),
      async (muts, candidates, restartMuts) => {
        const sdp = mutateSdp(lines, muts);
        const session = newSession(`fuzz-${n++}`);
        try {
          try {
            await settles(session.answer(sdp, false), 'the answer');
          } catch (err) {
            assert.ok(
              err instanceof BadOfferError,
              `an untyped refusal: ${(err as Error).stack ?? String(err)}\noffer:\n${sdp}`,
            );
            outcomes.refused++;
            return;
          }
          outcomes.answered++;
          for (const c of candidates)
            await session.addRemoteCandidate(c).catch((err: unknown) => {
              assert.ok(err instanceof Error, `a candidate refused with a non-Error: ${String(err)}`);
            });
          const restart = mutateSdp(sdp.split('\r\n').filter(Boolean), restartMuts).replace(
            /a=ice-ufrag:\S+/g,
            'a=ice-ufrag:rst1',
          );
          await settles(session.answer(restart, true), 'the ICE restart').catch((err: unknown) => {
            assert.ok(
              err instanceof BadOfferError,
              `an untyped ICE-restart refusal: ${(err as Error).stack}`,
            );
          });
        } finally {
          await settles(session.close({ cause: 'failed', reason: 'fuzz' }), 'the close');
        }
      },
    ),
    { numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
  );
  console.log(`[hostile-offers] ${JSON.stringify(outcomes)}`);
  assert.ok(outcomes.answered > 0 && outcomes.refused > 0, JSON.stringify(outcomes));
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(escaped, [], 'nothing escaped as an uncaught exception or unhandled rejection');
});
