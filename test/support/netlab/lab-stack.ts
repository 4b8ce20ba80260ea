// A whole robostream deployment in the lab: signaling in the cloud namespace, the real streamer in the robot
// namespace (CPU 0), one Chromium per app namespace (CPU 1), and on demand a baseline sender Chromium in the robot
// namespace (CPU 0). close() stops all of it and removes the namespaces.
import { fileURLToPath } from 'node:url';
import { TestKeys } from '../tokens.js';
import type { Flip } from './browser/lab-page.js';
import { Lab, type LabOptions } from './lab.js';
import { GatewayPage, launchLabBrowser, LabPage, type LabBrowser } from './lab-browser.js';
import { spawnTsInNamespace, type NsProcess } from './ns-process.js';

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const SIGNALING_PORT = 8443;
export const ROBOT_ID = 'lab-robot';
export const ROBOT_CPU = 0;
export const APP_CPU = 1;

export interface RobotTarget {
  kbps: number | null;
  atEpochMs: number;
}

/** The streamer child process and what it reports. */
export class RobotProcess {
  readonly flips: Flip[] = [];
  readonly targets: RobotTarget[] = [];
  constructor(readonly proc: NsProcess) {
    proc.onLine((line) => {
      if (!line.startsWith('{')) return;
      const m = JSON.parse(line) as {
        type: string;
        level?: number;
        kbps?: number | null;
        atEpochMs?: number;
      };
      if (m.type === 'flip') this.flips.push({ level: m.level ?? 0, atEpochMs: m.atEpochMs ?? 0 });
      else if (m.type === 'target') this.targets.push({ kbps: m.kbps ?? null, atEpochMs: m.atEpochMs ?? 0 });
    });
  }
}

export class LabStack {
  private readonly browsers = new Map<string, LabBrowser>();
  private robot: RobotProcess | null = null;
  private baselineSender: LabBrowser | null = null;
  private gateway: NsProcess | null = null;

  private constructor(
    readonly lab: Lab,
    readonly keys: TestKeys,
    private readonly signaling: NsProcess,
  ) {}

  get signalingUrl(): string {
    return `ws://${this.lab.cloudAddress}:${SIGNALING_PORT}/v1/ws`;
  }

  static async start(o: LabOptions = {}): Promise<LabStack> {
    const lab = await Lab.create(o);
    try {
      const keys = new TestKeys();
      const signaling = spawnTsInNamespace(lab.cloudNs, here('./cloud-signaling.ts'), [], {
        cpu: ROBOT_CPU,
        env: { PORT: String(SIGNALING_PORT), HOST: '0.0.0.0', PUBLIC_KEY: keys.publicPem },
      });
      await signaling.waitLine((l) => l.includes('"ready"'), 60_000, 'signaling in the cloud namespace');
      return new LabStack(lab, keys, signaling);
    } catch (err) {
      await lab.close();
      throw err;
    }
  }

  /** The streamer in the robot namespace; `env` adds STREAMER_* settings (bitrate bounds, ...). */
  async startRobot(env: Record<string, string> = {}): Promise<RobotProcess> {
    const proc = spawnTsInNamespace(this.lab.robotNs, here('./robot-agent.ts'), [], {
      cpu: ROBOT_CPU,
      env: {
        SIGNALING_URL: this.signalingUrl,
        ROBOT_TOKEN: await this.keys.robot(ROBOT_ID),
        STREAMER_HTTP_PORT: '0',
        STREAMER_HTTP_HOST: '127.0.0.1',
        UV_THREADPOOL_SIZE: '32',
        LOG_LEVEL: process.env['NETLAB_ROBOT_LOG'] ?? 'warn',
        ...env,
      },
    });
    await proc.waitLine((l) => l.includes('"ready"'), 60_000, 'the streamer in the robot namespace');
    this.robot = new RobotProcess(proc);
    return this.robot;
  }

  /** The gateway and a robot program (`echo`) in the robot namespace; its lines report the deadman. */
  async startGateway(env: Record<string, string> = {}): Promise<NsProcess> {
    const proc = spawnTsInNamespace(this.lab.robotNs, here('./gateway-agent.ts'), [], {
      cpu: ROBOT_CPU,
      env: {
        SIGNALING_URL: this.signalingUrl,
        ROBOT_TOKEN: await this.keys.robot(ROBOT_ID),
        ROBOT_ID,
        APP_PUBLIC_KEY: this.keys.publicPem,
        ...env,
      },
    });
    await proc.waitLine((l) => l.includes('"ready"'), 60_000, 'the gateway in the robot namespace');
    this.gateway = proc;
    return proc;
  }

  /** An operator page on the gateway in `app`'s namespace, sending a command every `intervalMs`. */
  async gatewayOperator(app = 'app', intervalMs = 50): Promise<GatewayPage> {
    const page = await GatewayPage.open(await this.browser(app));
    await page.start(this.signalingUrl, await this.keys.app(`lab-${app}`, [ROBOT_ID]), ROBOT_ID, intervalMs);
    return page;
  }

  async stopRobot(): Promise<void> {
    await this.robot?.proc.kill();
    this.robot = null;
  }

  /**
   * Starts the Chromium of every app namespace (and the baseline's sender) before anything is measured: each app
   * stands for another machine, so a viewer joining later must not load the others' CPU with a browser start-up
   * (it froze the operator's picture for 200-480 ms when the spectator joined).
   */
  async launchBrowsers(apps: string[], baseline: boolean): Promise<void> {
    for (const app of apps) await this.browser(app);
    if (baseline) await this.baselineBrowser();
  }

  /** The baseline sender's Chromium, in the robot namespace on the robot's CPU. */
  private async baselineBrowser(): Promise<LabBrowser> {
    this.baselineSender ??= await launchLabBrowser(this.lab.robotNs, ROBOT_CPU, this.lab.robotAddress);
    return this.baselineSender;
  }

  private async browser(app: string): Promise<LabBrowser> {
    let b = this.browsers.get(app);
    if (!b) {
      const end = this.lab.app(app);
      b = await launchLabBrowser(end.ns, APP_CPU, end.address);
      this.browsers.set(app, b);
    }
    return b;
  }

  /** A page in `app`'s namespace showing the robot's camera through cloud signaling, sampler running. */
  async viewer(app = 'app'): Promise<LabPage> {
    const page = await LabPage.open(await this.browser(app));
    await page.viewRobot(this.signalingUrl, await this.keys.app(`lab-${app}`, [ROBOT_ID]), ROBOT_ID);
    await page.startSampler();
    return page;
  }

  /**
   * The baseline: a canvas sender in a Chromium in the robot namespace, received by a page in `app`'s namespace
   * over the same path, sampler running. Returns [receiver, sender].
   */
  async baseline(app = 'app', maxKbps = 2000): Promise<[LabPage, LabPage]> {
    const sender = await LabPage.open(await this.baselineBrowser());
    const receiver = await LabPage.open(await this.browser(app));
    await receiver.baselineFrom(sender, maxKbps);
    await receiver.startSampler();
    return [receiver, sender];
  }

  async close(): Promise<void> {
    for (const b of this.browsers.values()) await b.close();
    await this.baselineSender?.close();
    await this.robot?.proc.kill();
    await this.gateway?.kill();
    await this.signaling.kill();
    await this.lab.close();
  }
}
