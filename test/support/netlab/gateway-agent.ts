// The robot end of the gateway scenario, run inside the robot namespace by lab-stack.ts: the real gateway with
// its data-channel endpoint on the cloud signaling service (wired as services/gateway/src/main.ts wires it), and a
// robot program on its local websocket: service `echo` answers every command with its payload, and sends
// telemetry at 50 Hz. Env: SIGNALING_URL, ROBOT_TOKEN, ROBOT_ID, APP_PUBLIC_KEY (PEM), GATEWAY_DEADMAN_MS.
// Output: JSON lines: {type:"ready"}, {type:"deadman",status,silentMs,atEpochMs}.
import { pino } from 'pino';
import { publicKeyFromPem } from '@robostream/protocol/auth/keys';
import { ServiceClient } from '@robostream/gateway/client';
import { DEFAULT_LIMITS, startGateway } from '@robostream/gateway';
import { GatewayEndpoint } from '@robostream/gateway/endpoint';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const emit = (o: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const now = (): number => performance.timeOrigin + performance.now();

const robotId = env('ROBOT_ID');
const robotToken = env('ROBOT_TOKEN');
const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' }, pino.destination(2));
const gw = await startGateway(
  {
    robotId,
    signaling: {
      url: env('SIGNALING_URL'),
      token: () => robotToken,
      iceTransportPolicy: 'all',
      maxSessions: 16,
      highWaterBytes: 32_768,
    },
    local: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    lan: { host: '127.0.0.1', port: 0, tls: null },
    appPublicKey: publicKeyFromPem(env('APP_PUBLIC_KEY')),
    limits: {
      ...DEFAULT_LIMITS,
      deadmanMs: Number(process.env.GATEWAY_DEADMAN_MS ?? DEFAULT_LIMITS.deadmanMs),
    },
    logLevel: 'silent',
  },
  logger,
);
const endpoint = new GatewayEndpoint({
  signaling: gw.config.signaling!,
  robotId,
  attachLink: (link) => gw.attachLink(link),
  services: () => gw.stats().services,
  highWaterBytes: gw.config.signaling!.highWaterBytes,
  metrics: gw.metrics,
  logger,
  reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
  requestTimeoutMs: 5_000,
});
gw.onServicesChanged((names) => endpoint.updateServices(names));
endpoint.start();
await endpoint.registered();

const svc = new ServiceClient({ url: gw.localUrl, service: 'echo' });
svc.on('command', (cmd) => svc.reply(cmd, true, cmd.payload));
svc.on('deadman', (m) => emit({ type: 'deadman', status: m.status, silentMs: m.silentMs, atEpochMs: now() }));
await svc.ready();
let seq = 0;
setInterval(() => svc.telemetry({ seq: seq++ }), 20);

for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.on(signal, () => {
    svc.close();
    void Promise.all([gw.close(), endpoint.close()]).finally(() => process.exit(0));
  });
emit({ type: 'ready' });
