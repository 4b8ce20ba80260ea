// A gateway with one robot program publishing telemetry at RATE messages/s, in a process of its own so the
// recorder bench measures the streamer process alone. Prints the gateway's tap URL on its first line.
import { pino } from 'pino';
import { generateSigningKeys } from '@robostream/protocol/auth/keys';
import { GATEWAY_TAP_PATH } from '@robostream/protocol/gateway';
import { startGateway, DEFAULT_LIMITS } from '@robostream/gateway';
import { ServiceClient } from '@robostream/gateway/client';

const rate = Number(process.argv[2] ?? 1000);
const gw = await startGateway(
  {
    robotId: 'bench-robot',
    signaling: null,
    local: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    lan: null,
    appPublicKey: generateSigningKeys('EdDSA').publicKey,
    limits: DEFAULT_LIMITS,
    logLevel: 'silent',
  },
  pino({ level: 'silent' }),
);
const svc = new ServiceClient({ url: gw.localUrl, service: 'imu' });
let seq = 0;
// 10 ms ticks: rate/100 messages each, a realistic IMU-like payload.
setInterval(() => {
  for (let i = 0; i < rate / 100; i++)
    svc.telemetry({
      seq: seq++,
      ax: Math.sin(seq),
      ay: Math.cos(seq),
      az: 9.81,
      gx: 0.01,
      gy: -0.02,
      gz: 0.003,
    });
}, 10);
console.log(gw.localUrl.replace(/^ws:/, 'http:').replace(/\/v1\/service$/, GATEWAY_TAP_PATH));
