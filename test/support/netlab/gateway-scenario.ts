// Scenario 7: the gateway's data channels over the lab's path. An operator page sends a command every 50 ms on
// the reliable lane (answered by the robot's `echo` service) while the robot streams telemetry at 50 Hz on the
// lossy lane; the path goes clean -> 10 % loss -> 80 +- 20 ms delay -> a 5 s cut -> clean. Per phase: command
// round trips (p50/p99) and telemetry rate; overall: replies out of order or missing, when the robot's deadman
// tripped after the cut began and cleared after the path returned, and when telemetry came back.
import { setTimeout as sleep } from 'node:timers/promises';
import type { GatewayRecord } from './browser/gateway-page.js';
import { LabStack } from './lab-stack.js';

const DEADMAN_MS = 500;

export interface GatewayPhaseFigures {
  name: string;
  seconds: number;
  commands: number;
  rttP50: number | null;
  rttP99: number | null;
  telemetryPerS: number;
}

export interface GatewayFigures {
  deadmanMs: number;
  phases: GatewayPhaseFigures[];
  outOfOrder: number;
  /** Commands sent more than 3 s before the end that never got a reply (the reliable lane: should be 0). */
  unanswered: number;
  /** From the cut's start to the robot service's deadman `tripped` (null: it never tripped). */
  deadmanTripMs: number | null;
  /** From the path's return to the deadman's `ok`. */
  deadmanClearMs: number | null;
  /** From the path's return to the first telemetry frame at the app. */
  telemetryBackMs: number | null;
  /** From the path's return to the first reply to a command sent after it. */
  commandsBackMs: number | null;
}

const pct = (xs: number[], p: number): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0) * 10) / 10;
};
const now = (): number => performance.timeOrigin + performance.now();

export async function runGatewayScenario(o: { full: boolean }): Promise<GatewayFigures> {
  const len = (fullMs: number, shortMs: number): number => (o.full ? fullMs : shortMs);
  const stack = await LabStack.start();
  try {
    const gateway = await stack.startGateway({ GATEWAY_DEADMAN_MS: String(DEADMAN_MS) });
    const deadman: { status: string; atEpochMs: number }[] = [];
    gateway.onLine((l) => {
      if (l.includes('"deadman"')) deadman.push(JSON.parse(l) as { status: string; atEpochMs: number });
    });
    const page = await stack.gatewayOperator('app', 50);
    const lab = stack.lab;
    const phases: { name: string; startMs: number; endMs: number }[] = [];
    const phase = async (
      name: string,
      ms: number,
      enter: () => Promise<void>,
      leave: () => Promise<void>,
    ) => {
      await enter();
      const startMs = now();
      await sleep(ms);
      await leave();
      phases.push({ name, startMs, endMs: now() });
      // Two clean seconds between phases, not counted: what was in flight at a phase's end is not charged to
      // the next one (a command sent just before the cut waits for the path's return).
      if (name !== 'after') await sleep(2000);
    };
    const nothing = async (): Promise<void> => undefined;
    await phase('clean', len(10_000, 4000), nothing, nothing);
    await phase(
      'loss-10pct',
      len(20_000, 5000),
      () => lab.setLoss(0.1),
      () => lab.setLoss(0),
    );
    await phase(
      'delay-cellular',
      len(20_000, 5000),
      () => lab.setDelay(80, 20),
      () => lab.setDelay(0, 0),
    );
    await phase(
      'cut-5s',
      5000,
      () => lab.cut(),
      () => lab.restore(),
    );
    await phase('after', len(15_000, 10_000), nothing, nothing);
    const r: GatewayRecord = await page.collect();
    await page.close();
    const cut = phases.find((p) => p.name === 'cut-5s')!;
    const end = phases.at(-1)!.endMs;
    const tripped = deadman.find((d) => d.status === 'tripped' && d.atEpochMs >= cut.startMs);
    const cleared = deadman.find((d) => d.status === 'ok' && d.atEpochMs >= cut.endMs);
    const telemetryBack = r.telemetryMs.find((t) => t >= cut.endMs);
    const firstAfter = r.commands.find((c) => c.sentMs >= cut.endMs && c.replyMs !== null);
    return {
      deadmanMs: DEADMAN_MS,
      phases: phases.map((p) => {
        const sent = r.commands.filter((c) => c.sentMs >= p.startMs && c.sentMs < p.endMs);
        const rtts = sent.filter((c) => c.replyMs !== null).map((c) => (c.replyMs ?? 0) - c.sentMs);
        const seconds = (p.endMs - p.startMs) / 1000;
        return {
          name: p.name,
          seconds: Math.round(seconds * 10) / 10,
          commands: sent.length,
          rttP50: pct(rtts, 0.5),
          rttP99: pct(rtts, 0.99),
          telemetryPerS:
            Math.round((r.telemetryMs.filter((t) => t >= p.startMs && t < p.endMs).length / seconds) * 10) /
            10,
        };
      }),
      outOfOrder: r.outOfOrder,
      unanswered: r.commands.filter((c) => c.replyMs === null && c.sentMs < end - 3000).length,
      deadmanTripMs: tripped ? Math.round(tripped.atEpochMs - cut.startMs) : null,
      deadmanClearMs: cleared ? Math.round(cleared.atEpochMs - cut.endMs) : null,
      telemetryBackMs: telemetryBack === undefined ? null : Math.round(telemetryBack - cut.endMs),
      commandsBackMs: firstAfter?.replyMs ? Math.round(firstAfter.replyMs - cut.endMs) : null,
    };
  } finally {
    await stack.close();
  }
}
