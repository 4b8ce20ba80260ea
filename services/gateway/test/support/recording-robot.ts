/** A robot program for large-message tests: answers every command at once and records what arrives, and when. */
import type { ServiceVelocity } from '@robostream/protocol/gateway';
import { ServiceClient } from '../../src/client/index.js';

export interface RecordingRobot {
  svc: ServiceClient;
  /** Commands with their arrival (performance.now()). */
  commands: Array<{ id: string; payload: unknown; at: number }>;
  /** Velocity commands with their arrival (Date.now(), comparable with their sentAt on one machine). */
  velocity: Array<{ m: ServiceVelocity; at: number }>;
  /** E-stop arrivals (performance.now()). */
  estops: number[];
}

export async function recordingRobot(
  url: string,
  service: string,
  o: { maxMessageBytes?: number } = {},
): Promise<RecordingRobot> {
  // A gateway silent for 1 s counts as lost by default; on a loaded 2-core test machine decoding megabytes in the
  // same process can come close, so the tests allow 3 s (a reconnect would lose the message in transfer).
  const svc = new ServiceClient({ url, service, heartbeatTimeoutMs: 3_000, ...o });
  const r: RecordingRobot = { svc, commands: [], velocity: [], estops: [] };
  svc.onCommand((cmd) => {
    r.commands.push({ id: cmd.id, payload: cmd.payload, at: performance.now() });
    return { ok: cmd.id };
  });
  svc.on('velocity', (m) => r.velocity.push({ m, at: Date.now() }));
  svc.on('estop', () => r.estops.push(performance.now()));
  await svc.ready();
  return r;
}
