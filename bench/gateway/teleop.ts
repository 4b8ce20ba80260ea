/**
 * Teleop benchmark: velocity commands at 20 Hz from an app over the WebRTC data channels (werift, through
 * signaling, the lossy lane) to a robot program with a VelocityGuard; command -> robot latency p50/p99, and the
 * stale-command stop time (last command sent -> the guard applies zero).
 *
 *   npx tsx bench/gateway/teleop.ts [--seconds 30] [--stops 10]
 *
 * Everything runs in this process (signaling, gateway, robot program, app), so one clock times both ends.
 * Printed figures only; no pass/fail. Ends with one summary line: gateway-teleop command_p50_ms=… command_p99_ms=…
 * stop_p50_ms=… stop_max_ms=… guard_timeout_ms=… sent=… applied=…
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { mintToken } from '@robostream/protocol/auth';
import { generateSigningKeys, publicKeyPem } from '@robostream/protocol/auth/keys';
import { GATEWAY_ENVELOPE_VERSION as v } from '@robostream/protocol/gateway';
import { ServiceClient, VelocityGuard } from '@robostream/gateway/client';
import { startGateway, DEFAULT_LIMITS } from '@robostream/gateway';
import { GatewayEndpoint } from '../../services/gateway/src/signaling/gateway-endpoint.js';
import { createSignalingServer, loadConfig } from '@robostream/signaling';
import { openWeriftGatewayApp } from '../support/werift-gateway-app.js';
import { summarize, table } from '../support/stats.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '30' }, stops: { type: 'string', default: '10' } },
});
const SECONDS = Number(values.seconds);
const STOPS = Number(values.stops);
const ROBOT = 'bench-teleop';
const PERIOD_MS = 50;

const keys = generateSigningKeys('EdDSA');
const logger = pino({ level: 'silent' });
const signaling = await createSignalingServer(
  loadConfig({ PORT: '0', HOST: '127.0.0.1', PUBLIC_KEY: publicKeyPem(keys.publicKey), LOG_LEVEL: 'silent' }),
);
const signalingUrl = `${(await signaling.listen()).replace(/^http/, 'ws')}/v1/ws`;
const robotToken = await mintToken(keys.privateKey, { role: 'robot', sub: ROBOT, ttlSec: 600, alg: 'EdDSA' });
const gw = await startGateway(
  {
    robotId: ROBOT,
    signaling: {
      url: signalingUrl,
      token: () => robotToken,
      iceTransportPolicy: 'all',
      maxSessions: 4,
      highWaterBytes: 32_768,
    },
    local: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    lan: null,
    appPublicKey: keys.publicKey,
    limits: DEFAULT_LIMITS,
    logLevel: 'silent',
  },
  logger,
);
const endpoint = new GatewayEndpoint({
  signaling: gw.config.signaling!,
  robotId: ROBOT,
  attachLink: (link) => gw.attachLink(link),
  services: () => gw.stats().services,
  highWaterBytes: gw.config.signaling!.highWaterBytes,
  metrics: gw.metrics,
  logger,
  reconnect: { initialDelayMs: 50, maxDelayMs: 300 },
  requestTimeoutMs: 5_000,
});
endpoint.start();
await endpoint.registered();

// The robot program.
const latencies: number[] = [];
/** When the guard last stopped the robot by itself (its timeout). */
const stopped = { at: 0 };
/** The guard's own stale-command bound (VelocityGuard's default), the stop time's reference. */
const GUARD_TIMEOUT_MS = 250;
const guard = new VelocityGuard({
  timeoutMs: GUARD_TIMEOUT_MS,
  apply: (_vel, why) => {
    if (why === 'timeout') stopped.at = Date.now();
  },
});
const svc = new ServiceClient({ url: gw.localUrl, service: 'base' });
svc.on('velocity', (m) => {
  if (guard.accept(m) === 'applied') latencies.push(Date.now() - m.sentAt);
});
await svc.ready();

// The app.
const appToken = await mintToken(keys.privateKey, {
  role: 'app',
  sub: 'bench',
  grants: { [ROBOT]: ['drive'] },
  ttlSec: 600,
  alg: 'EdDSA',
});
const app = await openWeriftGatewayApp({ signalingUrl, token: appToken, robotId: ROBOT });
const welcome = new Promise<void>((resolve) =>
  app.reliable.onMessage.subscribe((d) => {
    if (String(d).includes('"lock.state"')) resolve();
  }),
);
app.reliable.send(JSON.stringify({ v, type: 'auth', token: appToken }));
await new Promise((r) => setTimeout(r, 300));
app.reliable.send(JSON.stringify({ v, type: 'lock.take', id: 'l' }));
await welcome;

let seq = 0;
const sendFor = async (ms: number): Promise<number> => {
  const end = Date.now() + ms;
  let last = 0;
  while (Date.now() < end) {
    last = Date.now();
    app.lossy.send(
      JSON.stringify({
        v,
        type: 'velocity',
        service: 'base',
        seq: seq++,
        sentAt: last,
        linear: 0.5,
        angular: 0,
      }),
    );
    await new Promise((r) => setTimeout(r, PERIOD_MS));
  }
  return last;
};

await sendFor(SECONDS * 1000);
const lat = summarize(latencies);
const stopTimes: number[] = [];
for (let i = 0; i < STOPS; i++) {
  stopped.at = 0;
  const last = await sendFor(500);
  await new Promise((r) => setTimeout(r, 600));
  if (stopped.at) stopTimes.push(stopped.at - last);
}
const stop = summarize(stopTimes);
console.log(
  table([
    {
      figure: 'command -> robot (ms)',
      n: lat.n,
      p50: lat.p50,
      p90: lat.p90,
      p99: lat.p99,
      max: lat.max,
    },
    {
      figure: 'last command -> robot stop (ms)',
      n: stop.n,
      p50: stop.p50,
      p90: stop.p90,
      p99: stop.p99,
      max: stop.max,
    },
  ]),
);
console.log(
  `sent ${seq} at 20 Hz; applied ${guard.counts.applied}, out of order ${guard.counts.outOfOrder}, stale ${guard.counts.stale}, timeouts ${guard.counts.timeouts}`,
);
console.log(
  `gateway-teleop command_p50_ms=${lat.p50} command_p99_ms=${lat.p99} stop_p50_ms=${stop.p50} ` +
    `stop_max_ms=${stop.max} guard_timeout_ms=${GUARD_TIMEOUT_MS} sent=${seq} applied=${guard.counts.applied}`,
);
guard.close();
svc.close();
await app.close();
await Promise.all([gw.close(), endpoint.close()]);
await signaling.shutdown();
process.exit(0);
