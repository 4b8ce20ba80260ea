/**
 * A demo robot program for the local stack: a small simulated vehicle registered as `base` on the gateway's
 * local socket. It obeys velocity commands (hold-to-drive from the console) through a VelocityGuard, integrates
 * them into a pose, and publishes odometry (20 Hz) and battery (5 Hz) telemetry. It stops on e-stop, on a tripped
 * deadman, when the control lock changes hands and when commands stop coming (the guard's own bound).
 *
 *   GATEWAY_SERVICE_URL=ws://127.0.0.1:7600/v1/service npx tsx examples/demo-service/vehicle-service.ts
 *
 * Commands (payload): {"action":"status"} | {"action":"reset_pose"} | {"action":"clear_estop"}
 * Odometry echoes the seq and sentAt of the last velocity command obeyed: the console's latency figure. With
 * DEMO_VEHICLE_POSE_FILE set it also writes its pose there as text, for a camera to draw (streamer overlayFile).
 */
import { renameSync, writeFileSync } from 'node:fs';
import { ServiceClient, VelocityGuard } from '@robostream/gateway/client';
import type { ServiceCommand } from '@robostream/protocol/gateway';
import { VehicleModel } from './vehicle-model.js';

const url = process.env['GATEWAY_SERVICE_URL'] ?? 'ws://127.0.0.1:7600/v1/service';
/** Where to write the pose as text for a camera to draw (a streamer test source's `overlayFile`); unset: nowhere. */
const poseFile = process.env['DEMO_VEHICLE_POSE_FILE'];
const service = process.env['DEMO_VEHICLE_SERVICE'] ?? 'base';
/** Physics at 40 Hz; odometry every 2nd step (20 Hz), battery every 8th (5 Hz). */
const STEP_MS = 25;
const ODOMETRY_EVERY = 2;
const BATTERY_EVERY = 8;

function log(msg: string, extra: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ time: Date.now(), svc: service, msg, ...extra }));
}

const car = new VehicleModel();
const guard = new VelocityGuard({
  timeoutMs: Number(process.env['DEMO_VEHICLE_TIMEOUT_MS'] ?? 250),
  apply: (vel, why) => {
    car.setSpeed(vel.linear, vel.angular);
    if (why !== 'command') log('stopped', { why });
  },
});

const svc = new ServiceClient({ url, service });
svc.on('velocity', (m) => guard.accept(m));
svc.on('welcome', (w) => log('registered', { lock: w.lock.holder?.sub ?? null, links: w.links }));
svc.on('estop', (e) => {
  log('E-STOP received', { source: e.source, reason: e.reason ?? null });
  guard.stop('estop');
});
svc.on('deadman', (d) => {
  if (d.status === 'tripped') guard.stop('deadman');
});
// A new operator starts from standstill.
svc.on('lock', () => guard.stop('lock'));
svc.on('disconnected', () => guard.stop('stop'));
svc.onCommand((cmd: Pick<ServiceCommand, 'payload' | 'sub'>) => {
  const p = cmd.payload as { action?: unknown } | null;
  const action = typeof p === 'object' && p !== null ? p.action : undefined;
  switch (action) {
    case 'status':
      return { pose: car.pose, estopped: guard.estopped, counts: guard.counts, percent: car.percent };
    case 'reset_pose':
      car.pose = { x: 0, y: 0, theta: 0 };
      return { pose: car.pose };
    case 'clear_estop':
      guard.resume();
      log('e-stop cleared', { by: cmd.sub });
      return { estopped: false };
    default:
      throw new Error(`unknown action ${JSON.stringify(action)}: use status, reset_pose or clear_estop`);
  }
});

let tick = 0;
let last = performance.now();
const timer = setInterval(() => {
  const now = performance.now();
  car.step((now - last) / 1000);
  last = now;
  tick++;
  if (tick % ODOMETRY_EVERY === 0) {
    const cmd = guard.last;
    svc.telemetry(
      {
        x: round(car.pose.x),
        y: round(car.pose.y),
        theta: round(car.pose.theta),
        linear: car.linear,
        angular: car.angular,
        moving: guard.isMoving,
        estopped: guard.estopped,
        seq: cmd?.seq ?? -1,
        sentAt: cmd?.sentAt ?? 0,
      },
      { topic: 'odometry' },
    );
  }
  if (poseFile && tick % ODOMETRY_EVERY === 0) writePose(poseFile);
  if (tick % BATTERY_EVERY === 0) {
    svc.telemetry(
      { percent: round(car.percent, 2), voltage: round(car.voltage), odometer: round(car.distance, 2) },
      { topic: 'battery' },
    );
  }
}, STEP_MS);

/** Written aside and renamed, so the camera never reads half a line. */
function writePose(path: string): void {
  const deg = Math.round((car.pose.theta * 180) / Math.PI);
  const text =
    `x ${car.pose.x.toFixed(2)} m  y ${car.pose.y.toFixed(2)} m  ${deg} deg\n` +
    `v ${car.linear.toFixed(2)} m/s  w ${car.angular.toFixed(2)} rad/s${guard.estopped ? '  E-STOP' : ''}`;
  try {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  } catch (err) {
    log('cannot write the pose file', { err: err instanceof Error ? err.message : String(err) });
  }
}

function round(x: number, digits = 3): number {
  return Number(x.toFixed(digits));
}

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    clearInterval(timer);
    guard.close();
    svc.close();
    log('stopped', { sig });
    process.exit(0);
  });
}
