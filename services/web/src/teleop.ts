/**
 * Hold-to-drive from the keyboard (WASD, arrows) and gamepads (the Gamepad API, standard mapping): the robot
 * moves only while a drive key or the pad's dead-man button is held. Releasing, leaving the window, hiding the
 * tab or losing the gateway link stops the stream of commands; the robot stops by itself when they stop coming
 * (its own bound, VelocityGuard), and an explicit zero is sent on release so that it stops at once.
 */
import type { GatewaySession } from './gateway-session.js';

/** Normalised stick: -1..1; forward and left (counter-clockwise) are positive. */
export interface DriveInput {
  linear: number;
  angular: number;
  /** A drive key or the dead-man button is held. */
  held: boolean;
  source: 'keys' | 'gamepad' | null;
}

const IDLE: DriveInput = { linear: 0, angular: 0, held: false, source: null };
const KEYS: Record<string, [number, number]> = {
  KeyW: [1, 0],
  ArrowUp: [1, 0],
  KeyS: [-1, 0],
  ArrowDown: [-1, 0],
  KeyA: [0, 1],
  ArrowLeft: [0, 1],
  KeyD: [0, -1],
  ArrowRight: [0, -1],
};

/** The drive keys held now. Forgets them all when the window loses focus or the tab is hidden. */
export class KeyboardDrive {
  private readonly held = new Set<string>();
  private readonly offs: Array<() => void> = [];

  constructor(private readonly enabled: () => boolean) {
    const on = <K extends keyof WindowEventMap>(
      target: Window,
      type: K,
      fn: (e: WindowEventMap[K]) => void,
    ) => {
      target.addEventListener(type, fn as EventListener);
      this.offs.push(() => target.removeEventListener(type, fn as EventListener));
    };
    // Registered first: a key pressed in a window that lost focus before counts once it is back.
    for (const type of ['focus', 'pointerdown', 'keydown'] as const)
      on(window, type, () => (this.blurred = false));
    on(window, 'keydown', (e) => {
      if (!(e.code in KEYS) || typing(e.target) || !this.enabled()) return;
      e.preventDefault(); // arrows would scroll the page
      this.held.add(e.code);
    });
    on(window, 'keyup', (e) => this.held.delete(e.code));
    on(window, 'blur', () => {
      this.held.clear();
      this.blurred = true;
    });
    const hidden = () => this.held.clear();
    document.addEventListener('visibilitychange', hidden);
    this.offs.push(() => document.removeEventListener('visibilitychange', hidden));
  }

  /** The window lost focus and has not had it back: nothing drives (keys or gamepad). */
  blurred = false;

  read(): DriveInput {
    if (this.held.size === 0) return IDLE;
    let linear = 0;
    let angular = 0;
    for (const code of this.held) {
      const [l, a] = KEYS[code] ?? [0, 0];
      linear += l;
      angular += a;
    }
    return { linear: clamp(linear), angular: clamp(angular), held: true, source: 'keys' };
  }

  clear(): void {
    this.held.clear();
  }

  dispose(): void {
    for (const off of this.offs.splice(0)) off();
  }
}

/** Standard mapping: LB (4) or RB (5) is the dead-man button; left stick drives, right stick (or left x) turns. */
const DEADMAN_BUTTONS = [4, 5];
const DEAD_ZONE = 0.12;

export function readGamepads(pads: ReadonlyArray<Gamepad | null>): DriveInput {
  for (const pad of pads) {
    if (!pad || !pad.connected || pad.mapping !== 'standard') continue;
    if (!DEADMAN_BUTTONS.some((i) => pad.buttons[i]?.pressed)) continue;
    const ax = (i: number) => zone(pad.axes[i] ?? 0);
    const turn = ax(2) !== 0 ? ax(2) : ax(0);
    // Stick up is negative y; stick right is positive x, which turns clockwise (negative angular).
    return { linear: clamp(-ax(1)), angular: clamp(-turn), held: true, source: 'gamepad' };
  }
  return IDLE;
}

export interface TeleopOptions {
  /** The robot program that takes velocity commands. */
  service: () => string;
  /** Full stick -> these speeds (m/s, rad/s): the operator's speed limit. */
  maxLinear: () => number;
  maxAngular: () => number;
  rateHz?: number;
}

/** Sends velocity commands at a fixed rate while the operator holds a control and this link holds the lock. */
export class TeleopLoop {
  readonly keys: KeyboardDrive;
  /** What was sent last (the page shows it). */
  last: { linear: number; angular: number; source: DriveInput['source'] } = {
    linear: 0,
    angular: 0,
    source: null,
  };
  private sending = false;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly gw: GatewaySession,
    private readonly o: TeleopOptions,
  ) {
    this.keys = new KeyboardDrive(() => this.mayDrive());
    this.timer = setInterval(() => this.tick(), 1000 / (o.rateHz ?? 20));
  }

  /** The page can drive now: link up, this link holds the lock, the tab visible and focused. */
  mayDrive(): boolean {
    return this.gw.state === 'ready' && this.gw.model.iHoldLock && !document.hidden && !this.keys.blurred;
  }

  get active(): boolean {
    return this.sending;
  }

  dispose(): void {
    clearInterval(this.timer);
    this.keys.dispose();
    this.stop();
  }

  private tick(): void {
    if (!this.mayDrive()) {
      this.keys.clear();
      return this.stop();
    }
    const keys = this.keys.read();
    const input = keys.held ? keys : readGamepads(navigator.getGamepads?.() ?? []);
    if (!input.held) return this.stop();
    const linear = round(input.linear * this.o.maxLinear());
    const angular = round(input.angular * this.o.maxAngular());
    if (this.gw.velocity(this.o.service(), linear, angular)) {
      this.sending = true;
      this.last = { linear, angular, source: input.source };
    }
  }

  /** One explicit zero when a drive ends, so the robot stops now rather than at its timeout. */
  private stop(): void {
    if (!this.sending) return;
    this.sending = false;
    this.last = { linear: 0, angular: 0, source: null };
    this.gw.velocity(this.o.service(), 0, 0);
  }
}

function typing(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLElement && target.closest('input, textarea, select, [contenteditable]') !== null
  );
}

function clamp(x: number): number {
  return Math.max(-1, Math.min(1, x));
}

function zone(x: number): number {
  return Math.abs(x) < DEAD_ZONE ? 0 : x;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
