/**
 * The gateway's answer path under hostile offers and candidates (fast-check): a real app offer (werift, the
 * contract's two data channels) mutated line by line and token by token, each given to a new DataChannelSession
 * as signaling would. Every offer is answered or refused with BadOfferError naming the problem (the message the
 * app is sent), never anything untyped and never by hanging; an answered session takes hostile candidates and a
 * hostile ICE-restart offer; nothing escapes as an uncaught exception or unhandled rejection; every session closes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RTCPeerConnection } from 'werift';
import { BadOfferError, checkOffer, type EndpointLog } from '@robostream/protocol/client';
import { DataChannelSession } from '../src/signaling/datachannel-session.js';
import { GatewayMetrics } from '../src/hub/metrics.js';
import { fuzzAnswerPath } from '../../../test/support/sdp-fuzz.js';

const quiet: EndpointLog = { debug() {}, info() {}, warn() {}, child: () => quiet };
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
  let n = 0;
  const outcomes = await fuzzAnswerPath({
    offer: good,
    answer: async (sdp) => {
      const session = newSession(`fuzz-${n++}`);
      const close = () => session.close({ cause: 'failed', reason: 'fuzz' });
      try {
        await session.answer(sdp, false);
      } catch (err) {
        await close();
        throw err;
      }
      return {
        addRemoteCandidate: (c) => session.addRemoteCandidate(c),
        restart: (offer) => session.answer(offer, true),
        close,
      };
    },
    typed: (err) => err instanceof BadOfferError,
    runs: Number(process.env.FUZZ_RUNS ?? 300),
  });
  console.log(`[hostile-offers] ${JSON.stringify(outcomes)}`);
  assert.ok(outcomes.answered > 0 && outcomes.refused > 0, JSON.stringify(outcomes));
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(escaped, [], 'nothing escaped as an uncaught exception or unhandled rejection');
});
