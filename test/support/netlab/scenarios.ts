// The scenarios of issue 15, each with its full (bench) and short (test) durations. docs/networks.md describes
// them; bench/network/<name>.ts runs one, bench/network/all.ts runs them all.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Scenario } from './scenario.js';

const len = (full: boolean, fullMs: number, shortMs: number): number => (full ? fullMs : shortMs);

/** Random loss on the robot link for the duration, each direction. */
const randomLoss = (name: string, fraction: number): Scenario => ({
  name,
  what: `${fraction * 100} % random loss on the robot link (each direction) for 60 s`,
  warmupMs: (full) => len(full, 8000, 4000),
  async impair({ lab, full }) {
    await lab.setLoss(fraction);
    await sleep(len(full, 60_000, 8000));
    await lab.setLoss(0);
  },
  afterMs: () => 3000,
  recover: null,
});

const delay = (name: string, delayMs: number, jitterMs: number, label: string): Scenario => ({
  name,
  what: `${delayMs} ms +- ${jitterMs} ms one way on the robot link (${label}) for 30 s`,
  warmupMs: (full) => len(full, 8000, 4000),
  async impair({ lab, full }) {
    await lab.setDelay(delayMs, jitterMs);
    await sleep(len(full, 30_000, 8000));
    await lab.setDelay(0, 0);
  },
  afterMs: () => 3000,
  recover: null,
});

export const SCENARIOS: Scenario[] = [
  {
    name: 'bandwidth-step',
    what: 'unlimited -> 1 Mbit/s (tbf, 400 ms queue, both directions) for 20 s -> unlimited',
    warmupMs: (full) => len(full, 10_000, 5000),
    async impair({ lab, full }) {
      await lab.setRobotRate({ kbit: 1000, queueMs: 400 });
      await sleep(len(full, 20_000, 10_000));
      await lab.setRobotRate(null);
    },
    afterMs: (full) => len(full, 20_000, 8000),
    recover: 'bitrate',
  },
  randomLoss('loss-2pct', 0.02),
  randomLoss('loss-10pct', 0.1),
  {
    name: 'burst-loss',
    what: 'every packet lost for 200 ms every 5 s, for 60 s',
    warmupMs: (full) => len(full, 8000, 4000),
    async impair({ lab, full }) {
      const until = Date.now() + len(full, 60_000, 15_000);
      while (Date.now() < until) {
        await sleep(4800);
        await lab.burst(200);
      }
    },
    afterMs: () => 3000,
    recover: null,
  },
  delay('delay-cellular', 80, 20, 'cellular'),
  delay('delay-satellite', 300, 10, 'satellite'),
  {
    name: 'cut-5s',
    what: 'nothing passes the robot link for 5 s, then the path returns',
    warmupMs: (full) => len(full, 8000, 5000),
    async impair({ lab }) {
      await lab.cut();
      await sleep(5000);
      await lab.restore();
    },
    afterMs: (full) => len(full, 15_000, 10_000),
    recover: 'frames',
  },
  {
    name: 'address-change',
    what: "the robot's link is replaced by one with a new address (Wi-Fi to LTE hand-over)",
    warmupMs: (full) => len(full, 8000, 5000),
    async impair({ lab }) {
      await lab.moveRobot();
    },
    afterMs: (full) => len(full, 30_000, 15_000),
    recover: 'frames',
  },
  {
    name: 'two-viewers',
    what: 'operator on a clean link; a spectator on a 500 kbit/s link joins for 30 s, then leaves',
    apps: ['app', 'spectator'],
    warmupMs: (full) => len(full, 8000, 5000),
    async impair({ lab, full, addViewer, removeViewer }) {
      await lab.setAppRate('spectator', { kbit: 500, queueMs: 400 });
      await addViewer('spectator');
      await sleep(len(full, 30_000, 12_000));
      await removeViewer('spectator');
    },
    afterMs: (full) => len(full, 20_000, 8000),
    recover: 'bitrate',
  },
];

export function scenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new Error(`no scenario ${name}; known: ${SCENARIOS.map((x) => x.name).join(', ')}`);
  return s;
}
