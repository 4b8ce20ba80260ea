/**
 * One loopback data-channel session at start-up, so that the first operator after a boot does not wait for V8 to
 * compile werift's ICE, DTLS and SCTP (measured by bench/gateway/first-session.ts; figures in docs/gateway.md).
 *
 * The offerer is a plain werift peer creating the two channels an app creates; the answerer is the gateway's own
 * DataChannelSession, so the code warmed is the code an app's session runs. Its link is never attached to the hub
 * (no program sees it) and it counts in a metrics registry of its own (the gateway's counters stay true).
 */
import { RTCPeerConnection, type RTCDataChannel } from 'werift';
import type { EndpointLog, MaybeCandidate } from '@robostream/protocol/client';
import { withoutImplicitStun } from '@robostream/protocol/ice-server-probe';
import { GatewayMetrics } from '../hub/metrics.js';
import { DataChannelSession } from './datachannel-session.js';

const SILENT: EndpointLog = { debug() {}, info() {}, warn() {}, child: () => SILENT };

/** Runs the warm-up session; resolves with its duration in ms, or rejects after `timeoutMs` or on an error. */
export async function warmUpDataChannels(timeoutMs: number): Promise<number> {
  const started = performance.now();
  const offerer = new RTCPeerConnection({
    iceServers: [],
    bundlePolicy: 'max-bundle',
    iceAdditionalHostAddresses: ['127.0.0.1'],
  });
  // Candidates of the answer, trickled to the offerer once it has the answer.
  const pending: MaybeCandidate[] = [];
  let answered = false;
  const toOfferer = (c: MaybeCandidate): void => {
    if (!answered) pending.push(c);
    else if (c)
      void offerer
        .addIceCandidate({ ...c, sdpMid: c.sdpMid ?? undefined, sdpMLineIndex: c.sdpMLineIndex ?? undefined })
        .catch(() => undefined);
  };
  const session = new DataChannelSession(
    {
      sessionId: 'warm-up',
      app: 'warm-up',
      grants: [],
      meta: undefined,
      label: 'warm-up',
      iceServers: [],
      log: SILENT,
      localCandidate: toOfferer,
      connectionState: () => undefined,
      ended: () => undefined,
    },
    {
      iceTransportPolicy: 'all',
      includeLoopback: true,
      highWaterBytes: 64 * 1024,
      attachLink: () => 'warm-up',
      metrics: new GatewayMetrics(),
      onEnded: () => undefined,
    },
  );
  // Once given up, the steps still under way stop at their next await instead of opening more sockets.
  let over = false;
  const check = (): void => {
    if (over) throw new Error('warm-up given up');
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no data channel within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([
      (async () => {
        const reliable = offerer.createDataChannel('gateway-reliable');
        offerer.createDataChannel('gateway-lossy', { ordered: false, maxRetransmits: 0 });
        const offer = await offerer.createOffer();
        check();
        // Without it werift's offerer queries a public STUN host first (seconds where nothing outside answers).
        withoutImplicitStun(offerer, []);
        await offerer.setLocalDescription(offer);
        check();
        const answer = await session.answer(offerer.localDescription!.sdp, false);
        check();
        await offerer.setRemoteDescription({ type: 'answer', sdp: answer });
        check();
        answered = true;
        for (const c of pending.splice(0)) toOfferer(c);
        if (!(await session.link.opened())) throw new Error('the warm-up link ended before it opened');
        // One message each way: SCTP's data path is warmed too, not only its handshake.
        await roundTrip(reliable, session);
      })(),
      deadline,
    ]);
    return performance.now() - started;
  } finally {
    over = true;
    clearTimeout(timer);
    await Promise.allSettled([session.close({ cause: 'shutdown', reason: 'warm-up done' }), offerer.close()]);
  }
}

async function roundTrip(reliable: RTCDataChannel, session: DataChannelSession): Promise<void> {
  if (reliable.readyState !== 'open') await reliable.stateChanged.watch((s) => s === 'open');
  const back = new Promise<void>((resolve) => reliable.onMessage.subscribe(() => resolve()));
  const there = new Promise<void>((resolve) => session.link.onMessage(() => resolve()));
  reliable.send('{"warm":"up"}');
  await there;
  session.link.send('{"warm":"up"}', 'reliable');
  await back;
}
