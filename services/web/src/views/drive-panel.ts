/**
 * The drive card: who drives, the speed limit, what is being sent, the robot's pose from its odometry and the
 * command -> telemetry latency. Drive controls only for tokens with `drive`; spectators see who drives.
 */
import { h, setText } from '../dom.js';
import type { GatewaySession } from '../gateway-session.js';
import { TeleopLoop } from '../teleop.js';

/** The demo vehicle's service name; the operator can name another. */
const DEFAULT_SERVICE = 'base';
const LATENCY_SAMPLES = 40;

interface Odometry {
  x: number;
  y: number;
  theta: number;
  seq: number;
  sentAt: number;
}

export class DrivePanel {
  readonly el: HTMLElement;
  readonly teleop: TeleopLoop;
  private readonly driver = h('strong', { 'data-testid': 'driver' });
  private readonly hint = h('div', { class: 'small muted', 'data-testid': 'drive-hint' });
  private readonly controls: HTMLElement;
  private readonly service = h('input', {
    name: 'drive-service',
    value: DEFAULT_SERVICE,
    pattern: '^[a-z][a-z0-9_\\-]{0,31}$',
    autocomplete: 'off',
    size: 8,
  });
  private readonly limit = h('input', {
    type: 'range',
    name: 'speed-limit',
    min: '0.1',
    max: '2',
    step: '0.1',
    value: '0.5',
    'data-testid': 'speed-limit',
  });
  private readonly limitText = h('span', { class: 'small' });
  private readonly sending = h('span', { class: 'pill', 'data-testid': 'drive-state' });
  private readonly pose = h('span', { 'data-testid': 'pose' });
  private readonly latency = h('span', { 'data-testid': 'drive-latency' });
  private readonly samples: number[] = [];
  private lastSeq = -1;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly gw: GatewaySession) {
    this.teleop = new TeleopLoop(gw, {
      service: () => this.service.value.trim() || DEFAULT_SERVICE,
      maxLinear: () => Number(this.limit.value),
      // Turning at full stick: about one turn in six seconds at 0.5 m/s, scaled with the limit.
      maxAngular: () => Number(this.limit.value) * 2,
    });
    this.controls = h(
      'div',
      { 'data-testid': 'drive-controls' },
      h('div', { class: 'row' }, h('label', { class: 'small' }, 'service ', this.service)),
      h('div', { class: 'row' }, h('label', { class: 'small' }, 'speed limit ', this.limit), this.limitText),
      h('div', { class: 'row' }, this.sending),
    );
    this.el = h(
      'section',
      { class: 'card', 'data-testid': 'drive-card' },
      h('h3', {}, 'Drive'),
      h('div', { class: 'kv' }, h('span', {}, 'Driver'), this.driver),
      this.controls,
      this.hint,
      h('div', { class: 'kv' }, h('span', {}, 'Pose'), this.pose),
      h('div', { class: 'kv' }, h('span', {}, 'Command → telemetry'), this.latency),
    );
    gw.on('change', (m) => {
      if (m.type === 'telemetry' && m.topic === 'odometry') this.onOdometry(m.payload);
    });
    this.timer = setInterval(() => this.render(), 100);
    this.render();
  }

  dispose(): void {
    clearInterval(this.timer);
    this.teleop.dispose();
  }

  /** The odometry echoes the last command the robot obeyed: its sentAt is on this page's clock. */
  private onOdometry(payload: unknown): void {
    const o = payload as Partial<Odometry> | null;
    if (!o || typeof o.x !== 'number' || typeof o.y !== 'number' || typeof o.theta !== 'number') return;
    setText(
      this.pose,
      `x ${o.x.toFixed(2)} m · y ${o.y.toFixed(2)} m · ${((o.theta * 180) / Math.PI).toFixed(0)}°`,
    );
    this.pose.dataset['x'] = String(o.x);
    this.pose.dataset['y'] = String(o.y);
    this.pose.dataset['theta'] = String(o.theta);
    if (typeof o.seq === 'number' && typeof o.sentAt === 'number' && o.seq !== this.lastSeq && o.sentAt > 0) {
      this.lastSeq = o.seq;
      this.samples.push(Date.now() - o.sentAt);
      if (this.samples.length > LATENCY_SAMPLES) this.samples.shift();
    }
  }

  private render(): void {
    const m = this.gw.model;
    const holder = m.lock.holder;
    setText(this.driver, !holder ? 'nobody' : m.iHoldLock ? `you (${holder.sub})` : holder.sub);
    const mayDrive = m.may('drive');
    this.controls.hidden = !mayDrive;
    setText(this.limitText, `${Number(this.limit.value).toFixed(1)} m/s`);
    setText(
      this.hint,
      !mayDrive
        ? 'Watching: this token does not grant drive.'
        : !m.iHoldLock
          ? 'Take control to drive.'
          : 'Hold W A S D or the arrow keys, or a gamepad’s LB/RB with the sticks. Release to stop.',
    );
    const t = this.teleop;
    setText(
      this.sending,
      t.active ? `driving (${t.last.source}) ${t.last.linear} m/s · ${t.last.angular} rad/s` : 'stopped',
    );
    this.sending.dataset['active'] = String(t.active);
    this.sending.className = `pill ${t.active ? 'warn' : 'ok'}`;
    if (this.samples.length) {
      const sorted = [...this.samples].sort((a, b) => a - b);
      const p50 = sorted[Math.floor(sorted.length / 2)]!;
      setText(this.latency, `${p50} ms (median of ${sorted.length})`);
      this.latency.dataset['ms'] = String(p50);
    } else setText(this.latency, '–');
  }
}
