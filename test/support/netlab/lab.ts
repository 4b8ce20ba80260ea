// The network lab: network namespaces and veth pairs made by the test itself, so a robot and its apps talk over a
// path that can be shaped the way LTE and Wi-Fi shape it, on one machine and without touching its own network.
//
//   robot ns ── wan<k>/rl<k> ──┐
//                              router ns ── al<i>/eth0 ── app ns (one per viewer: "app", "spectator", ...)
//   cloud ns ── eth0/cl0 ──────┘            (signaling lives in the cloud ns, as it does on the internet)
//
// The robot's link is "the path": bandwidth (tbf on both ends' egress), random and burst loss and total cuts
// (iptables in the router's FORWARD chain, once per direction), delay and jitter (a userspace TUN relay in the
// router, see delay-relay.py: no netem on this kernel), and a hand-over (the robot's link replaced by a new one
// with a new address). Each app link can be rate-limited too. Everything is torn down by close(), by a process
// exit handler, and (after a crash or SIGKILL) by removeStaleLabs() at the next start.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { run, runQuietly } from './exec.js';

/** Every namespace the lab makes starts with this, then the owning process id: `rsn-<pid>-<n>-<role>`. */
export const LAB_PREFIX = 'rsn-';

export interface RateLimit {
  kbit: number;
  /** tbf latency: how long a packet may wait in the bottleneck's queue before it is dropped. */
  queueMs?: number;
}

export interface AppEnd {
  name: string;
  ns: string;
  address: string;
}

export interface LabOptions {
  /** One app namespace per name, each on its own link to the router; default ["app"]. */
  apps?: string[];
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Deletes the namespaces of lab runs whose process is gone, and kills what still runs in them. */
export async function removeStaleLabs(): Promise<string[]> {
  const list = await run(['ip', 'netns', 'list']).catch(() => '');
  const removed: string[] = [];
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${LAB_PREFIX}(\\d+)-`).exec(name);
    if (!m || alive(Number(m[1]))) continue;
    await killNamespaceProcesses(name);
    await runQuietly(['ip', 'netns', 'del', name]);
    removed.push(name);
  }
  return removed;
}

async function killNamespaceProcesses(ns: string): Promise<void> {
  const pids = await run(['ip', 'netns', 'pids', ns]).catch(() => '');
  for (const pid of pids.split(/\s+/).filter(Boolean).map(Number))
    if (pid !== process.pid)
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
}

// Namespaces of labs of this process not yet closed: removed synchronously if the process exits without close().
const openLabs = new Set<string[]>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const names of openLabs)
      for (const ns of names) {
        try {
          const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
          for (const pid of pids.split(/\s+/).filter(Boolean).map(Number))
            if (pid !== process.pid) process.kill(pid, 'SIGKILL');
        } catch {
          // nothing left to kill
        }
        try {
          execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
        } catch {
          // already gone
        }
      }
  });
}

let labCounter = 0;
const DELAY_TABLE = '100';
const TUN = 'dly0';

export class Lab {
  readonly robotNs: string;
  readonly routerNs: string;
  readonly cloudNs: string;
  readonly apps = new Map<string, AppEnd>();
  /** 10.<octet>.0.0/16 holds every address of this lab. */
  private readonly net: string;
  private robotLink = 1;
  private loss = 0;
  private cuts = 0;
  private rate: { up: RateLimit | null; down: RateLimit | null } = { up: null, down: null };
  private relay: ChildProcess | null = null;
  private delay = { delayMs: 0, jitterMs: 0 };
  private closed = false;
  private readonly names: string[];

  private constructor(octet: number) {
    const id = `${LAB_PREFIX}${process.pid}-${++labCounter}`;
    this.robotNs = `${id}-robot`;
    this.routerNs = `${id}-router`;
    this.cloudNs = `${id}-cloud`;
    this.net = `10.${octet}`;
    this.names = [this.robotNs, this.routerNs, this.cloudNs];
  }

  /** The robot's current address (it changes with moveRobot). */
  get robotAddress(): string {
    return `${this.net}.${this.robotLink}.2`;
  }
  get cloudAddress(): string {
    return `${this.net}.32.2`;
  }
  /** Every robot link's subnet (1..15), for the rules that must follow the robot across hand-overs. */
  private get robotNet(): string {
    return `${this.net}.0.0/20`;
  }
  app(name = 'app'): AppEnd {
    const a = this.apps.get(name);
    if (!a) throw new Error(`no app end named ${name}`);
    return a;
  }

  static async create(o: LabOptions = {}): Promise<Lab> {
    await removeStaleLabs();
    // An address block of its own per process, so two lab runs on this machine never share routes.
    const lab = new Lab(100 + (process.pid % 100));
    for (const [i, name] of (o.apps ?? ['app']).entries()) {
      const ns = `${lab.robotNs.replace(/-robot$/, '')}-${name}`;
      lab.apps.set(name, { name, ns, address: `${lab.net}.${16 + i}.2` });
      lab.names.push(ns);
    }
    installExitHook();
    openLabs.add(lab.names);
    try {
      await lab.build();
    } catch (err) {
      await lab.close();
      throw err;
    }
    return lab;
  }

  private async build(): Promise<void> {
    for (const ns of this.names) {
      await run(['ip', 'netns', 'add', ns]);
      await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    const r = this.routerNs;
    for (const [k, v] of [
      ['net.ipv4.ip_forward', '1'],
      // Packets written back by the delay relay arrive on its TUN device with foreign source addresses.
      ['net.ipv4.conf.all.rp_filter', '0'],
      ['net.ipv4.conf.default.rp_filter', '0'],
    ])
      await run(['sysctl', '-q', '-w', `${k}=${v}`], r);
    await this.addRobotLink(this.robotLink);
    for (const [i, a] of [...this.apps.values()].entries())
      await this.addLeaf(a.ns, `al${i}`, `${this.net}.${16 + i}`);
    await this.addLeaf(this.cloudNs, 'cl0', `${this.net}.32`);
    await run(['iptables', '-N', 'LAB_UP'], r);
    await run(['iptables', '-N', 'LAB_DOWN'], r);
    await this.hookRobotLink(this.robotLink, '-A');
  }

  /** A veth pair between the router (`routerIf`, <subnet>.1) and `ns` (eth0, <subnet>.2, default route). */
  private async addLeaf(ns: string, routerIf: string, subnet: string): Promise<void> {
    const r = this.routerNs;
    await run(['ip', '-n', r, 'link', 'add', routerIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await run(['ip', '-n', r, 'addr', 'add', `${subnet}.1/24`, 'dev', routerIf]);
    await run(['ip', '-n', ns, 'addr', 'add', `${subnet}.2/24`, 'dev', 'eth0']);
    await run(['ip', '-n', r, 'link', 'set', routerIf, 'up']);
    await run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    await run(['ip', '-n', ns, 'route', 'add', 'default', 'via', `${subnet}.1`]);
  }

  private async addRobotLink(k: number): Promise<void> {
    const r = this.routerNs;
    const subnet = `${this.net}.${k}`;
    await run([
      'ip',
      '-n',
      r,
      'link',
      'add',
      `rl${k}`,
      'type',
      'veth',
      'peer',
      'name',
      `wan${k}`,
      'netns',
      this.robotNs,
    ]);
    await run(['ip', '-n', r, 'addr', 'add', `${subnet}.1/24`, 'dev', `rl${k}`]);
    await run(['ip', '-n', this.robotNs, 'addr', 'add', `${subnet}.2/24`, 'dev', `wan${k}`]);
    await run(['ip', '-n', r, 'link', 'set', `rl${k}`, 'up']);
    await run(['ip', '-n', this.robotNs, 'link', 'set', `wan${k}`, 'up']);
    await run(['ip', '-n', this.robotNs, 'route', 'replace', 'default', 'via', `${subnet}.1`]);
  }

  /** Loss and cuts act on the robot link once per direction: LAB_UP (from the robot), LAB_DOWN (to it). */
  private async hookRobotLink(k: number, op: '-A' | '-D'): Promise<void> {
    await run(['iptables', op, 'FORWARD', '-i', `rl${k}`, '-j', 'LAB_UP'], this.routerNs);
    await run(['iptables', op, 'FORWARD', '-o', `rl${k}`, '-j', 'LAB_DOWN'], this.routerNs);
  }

  private async applyFilters(): Promise<void> {
    for (const chain of ['LAB_UP', 'LAB_DOWN']) {
      await run(['iptables', '-F', chain], this.routerNs);
      if (this.cuts > 0) await run(['iptables', '-A', chain, '-j', 'DROP'], this.routerNs);
      if (this.loss > 0)
        await run(
          [
            'iptables',
            '-A',
            chain,
            '-m',
            'statistic',
            '--mode',
            'random',
            '--probability',
            String(this.loss),
            '-j',
            'DROP',
          ],
          this.routerNs,
        );
    }
  }

  private async applyRate(dev: string, ns: string, limit: RateLimit | null): Promise<void> {
    if (!limit) {
      await runQuietly(['tc', '-n', ns, 'qdisc', 'del', 'dev', dev, 'root']);
      return;
    }
    // burst: at least 32 kbit, and enough for 10 ms at the rate (tbf cannot send faster than burst per tick).
    const burst = Math.max(32, Math.ceil(limit.kbit / 100));
    await run([
      'tc',
      '-n',
      ns,
      'qdisc',
      'replace',
      'dev',
      dev,
      'root',
      'tbf',
      'rate',
      `${limit.kbit}kbit`,
      'burst',
      `${burst}kbit`,
      'latency',
      `${limit.queueMs ?? 400}ms`,
    ]);
  }

  private async applyRobotRates(): Promise<void> {
    await this.applyRate(`wan${this.robotLink}`, this.robotNs, this.rate.up);
    await this.applyRate(`rl${this.robotLink}`, this.routerNs, this.rate.down);
  }

  /** Caps the robot's link: `up` from the robot (its video), `down` towards it; null lifts a cap. */
  async setRobotRate(up: RateLimit | null, down: RateLimit | null = up): Promise<void> {
    this.rate = { up, down };
    await this.applyRobotRates();
  }

  /** Caps an app's link: `down` towards the app (the video it receives), `up` from it. */
  async setAppRate(name: string, down: RateLimit | null, up: RateLimit | null = down): Promise<void> {
    const i = [...this.apps.keys()].indexOf(name);
    if (i < 0) throw new Error(`no app end named ${name}`);
    await this.applyRate(`al${i}`, this.routerNs, down);
    await this.applyRate('eth0', this.app(name).ns, up);
  }

  /** Random loss on the robot link, each direction independently (0..1). */
  async setLoss(fraction: number): Promise<void> {
    this.loss = fraction;
    await this.applyFilters();
  }

  /** Nothing passes the robot link (both directions) until restore(). */
  async cut(): Promise<void> {
    this.cuts++;
    if (this.cuts === 1) await this.applyFilters();
  }

  async restore(): Promise<void> {
    if (this.cuts === 0) return;
    this.cuts--;
    if (this.cuts === 0) await this.applyFilters();
  }

  /** Everything on the robot link is lost for `ms` (a fade, a cell edge). */
  async burst(ms: number): Promise<void> {
    await this.cut();
    await new Promise((r) => setTimeout(r, ms));
    await this.restore();
  }

  /** One-way delay on the robot link, each direction, +- jitter (uniform, order kept per flow). */
  async setDelay(delayMs: number, jitterMs = 0): Promise<void> {
    this.delay = { delayMs, jitterMs };
    if (!this.relay) {
      if (delayMs === 0 && jitterMs === 0) return;
      await this.startRelay();
    }
    this.relay?.stdin?.write(`${JSON.stringify(this.delay)}\n`);
  }

  private async startRelay(): Promise<void> {
    const script = fileURLToPath(new URL('./delay-relay.py', import.meta.url));
    const relay = spawn('ip', ['netns', 'exec', this.routerNs, 'python3', script, TUN], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.relay = relay;
    await new Promise<void>((resolve, reject) => {
      relay.once('error', reject);
      relay.once('exit', (code) => reject(new Error(`delay relay exited (${code})`)));
      relay.stdout?.once('data', () => resolve());
    });
    const r = this.routerNs;
    await run(['ip', '-n', r, 'link', 'set', TUN, 'up']);
    await run(['sysctl', '-q', '-w', `net.ipv4.conf.${TUN}.rp_filter=0`], r);
    await run(['ip', '-n', r, 'route', 'add', 'default', 'dev', TUN, 'table', DELAY_TABLE]);
    // What the relay writes back is routed normally; what comes from or goes to the robot goes through the relay.
    await run(['ip', '-n', r, 'rule', 'add', 'pref', '100', 'iif', TUN, 'lookup', 'main']);
    await run(['ip', '-n', r, 'rule', 'add', 'pref', '110', 'from', this.robotNet, 'lookup', DELAY_TABLE]);
    await run(['ip', '-n', r, 'rule', 'add', 'pref', '120', 'to', this.robotNet, 'lookup', DELAY_TABLE]);
  }

  /**
   * A hand-over (Wi-Fi to LTE): the robot's link disappears and a new one with a new address comes up at once,
   * with the same shaping. Returns the new address.
   */
  async moveRobot(): Promise<string> {
    const old = this.robotLink;
    await this.hookRobotLink(old, '-D');
    await run(['ip', '-n', this.routerNs, 'link', 'del', `rl${old}`]);
    this.robotLink = old + 1;
    await this.addRobotLink(this.robotLink);
    await this.hookRobotLink(this.robotLink, '-A');
    await this.applyRobotRates();
    return this.robotAddress;
  }

  /** Kills what runs in the lab's namespaces and deletes them (veths and the relay's TUN go with them). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.relay?.kill('SIGKILL');
    for (const ns of this.names) {
      await killNamespaceProcesses(ns);
      await runQuietly(['ip', 'netns', 'del', ns]);
    }
    openLabs.delete(this.names);
  }
}
