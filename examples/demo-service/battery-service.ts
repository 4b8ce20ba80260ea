/**
 * A demo robot program for the local stack: registers as `battery` on the gateway's local socket, publishes
 * battery telemetry at about 5 Hz (percent draining slowly, voltage following it), accepts commands and replies,
 * and stops on e-stop and on a tripped deadman — what a real motor or policy program must do.
 *
 *   GATEWAY_SERVICE_URL=ws://127.0.0.1:7600/v1/service npx tsx examples/demo-service/battery-service.ts
 *
 * Commands (payload): {"action":"start"} | {"action":"stop"} | {"action":"set_speed","value":0.5} | {"action":"status"}
 */
import { ServiceClient } from '@robostream/gateway/client';
import type { ServiceCommand } from '@robostream/protocol/gateway';

const url = process.env['GATEWAY_SERVICE_URL'] ?? 'ws://127.0.0.1:7600/v1/service';
const service = process.env['DEMO_SERVICE_NAME'] ?? 'battery';
const periodMs = 200;

interface DriveState {
  running: boolean;
  speed: number;
  /** why it stopped last: "command", "estop", "deadman" */
  stoppedBy: string | null;
}

const drive: DriveState = { running: false, speed: 0.5, stoppedBy: null };
let percent = 97.5;

function log(msg: string, extra: Record<string, unknown> = {}): void {
  // One JSON line per event, like the other services (the dev stack prints these with a prefix).
  console.log(JSON.stringify({ time: Date.now(), svc: service, msg, ...extra }));
}

function stop(by: string): void {
  if (drive.running) log('motors stopped', { by });
  drive.running = false;
  drive.stoppedBy = by;
}

function handleCommand(cmd: Pick<ServiceCommand, 'payload' | 'sub'>): unknown {
  const p = cmd.payload as { action?: unknown; value?: unknown } | null;
  const action = typeof p === 'object' && p !== null ? p.action : undefined;
  log('command', { action, from: cmd.sub, payload: cmd.payload });
  switch (action) {
    case 'start':
      drive.running = true;
      drive.stoppedBy = null;
      return { running: true, speed: drive.speed };
    case 'stop':
      stop('command');
      return { running: false };
    case 'set_speed': {
      const value = p?.value;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
        throw new Error('set_speed needs {"value": a number from 0 to 1}');
      }
      drive.speed = value;
      return { speed: value };
    }
    case 'status':
      return { ...drive, percent: Number(percent.toFixed(2)) };
    default:
      throw new Error(`unknown action ${JSON.stringify(action)}: use start, stop, set_speed or status`);
  }
}

const svc = new ServiceClient({ url, service });
svc.onCommand(handleCommand);
svc.on('welcome', (w) =>
  log('registered', { lock: w.lock.holder?.sub ?? null, deadman: w.deadman, links: w.links }),
);
svc.on('disconnected', () => log('gateway connection lost; reconnecting'));
svc.on('estop', (e) => {
  log('E-STOP received', { source: e.source, reason: e.reason ?? null });
  stop('estop');
});
svc.on('deadman', (d) => {
  log(`deadman ${d.status}`, { holder: d.holder?.sub ?? null, silentMs: d.silentMs });
  if (d.status === 'tripped') stop('deadman');
});
svc.on('lock', (l) => log('control lock', { holder: l.holder?.sub ?? null, cause: l.cause }));

const timer = setInterval(() => {
  // Drains faster while driving; the voltage of a 6-cell pack follows the charge roughly linearly.
  percent = Math.max(5, percent - (drive.running ? 0.02 + 0.05 * drive.speed : 0.004));
  const voltage = 21 + (25.2 - 21) * (percent / 100);
  svc.telemetry({
    percent: Number(percent.toFixed(2)),
    voltage: Number(voltage.toFixed(3)),
    current: Number((drive.running ? 2 + 6 * drive.speed : 0.4).toFixed(2)),
    running: drive.running,
    speed: drive.speed,
  });
}, periodMs);

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    clearInterval(timer);
    stop('shutdown');
    svc.close();
    log('stopped', { sig });
    process.exit(0);
  });
}
