/**
 * The robot side of teleop: which velocity commands to obey, and stopping when they stop coming.
 *
 *   const guard = new VelocityGuard({ apply: (vel) => motors.set(vel) });
 *   svc.on('velocity', (m) => guard.accept(m));
 *   svc.on('estop', () => guard.stop('estop'));
 *
 * - Out of order: a command whose seq is not above the last one used from the same link is dropped (the lossy
 *   lane may reorder). A new link (another operator, a reloaded console) starts its own sequence.
 * - Stale: app and robot clocks are not synchronised, so a command's age cannot be read from sentAt alone.
 *   Instead each command's (arrival - sentAt) is compared with the smallest seen from that link, which is the
 *   clock offset plus the quickest delivery; a command that took more than `maxLagMs` longer than that is late
 *   and dropped.
 * - Stop: no fresh command for `timeoutMs` (default 250 ms, five missed commands at 20 Hz) applies zero speed.
 *   This is the robot's own bound, independent of the gateway's deadman (which watches the operator's link,
 *   not whether it is still asking to move).
 */
import type { ServiceVelocity } from '@robostream/protocol/gateway';

export interface Velocity {
  linear: number;
  angular: number;
}

export type VelocityVerdict = 'applied' | 'out_of_order' | 'stale' | 'stopped';

export interface VelocityGuardOptions {
  /** Sets the motors: each fresh command, and zero when it stops. */
  apply: (vel: Velocity, why: 'command' | 'timeout' | 'estop' | 'deadman' | 'lock' | 'stop') => void;
  /** No fresh command for this long stops the robot (default 250 ms). */
  timeoutMs?: number;
  /** A command delayed this much more than the quickest seen from its link is stale (default 150 ms). */
  maxLagMs?: number;
  /** Clock for arrival times (tests); Date.now by default. */
  now?: () => number;
}

export class VelocityGuard {
  readonly counts = { applied: 0, outOfOrder: 0, stale: 0, timeouts: 0 };
  /** The last command obeyed (its seq and sentAt are what odometry echoes). */
  last: ServiceVelocity | null = null;
  private link: string | null = null;
  private lastSeq = -1;
  private minOffset = Infinity;
  private moving = false;
  /** Stopped by e-stop: nothing moves the robot until resume(). */
  private halted = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly timeoutMs: number;
  private readonly maxLagMs: number;
  private readonly now: () => number;

  constructor(private readonly o: VelocityGuardOptions) {
    this.timeoutMs = o.timeoutMs ?? 250;
    this.maxLagMs = o.maxLagMs ?? 150;
    this.now = o.now ?? Date.now;
  }

  get isMoving(): boolean {
    return this.moving;
  }

  accept(m: ServiceVelocity): VelocityVerdict {
    if (this.halted) return 'stopped';
    if (m.from !== this.link) {
      this.link = m.from;
      this.lastSeq = -1;
      this.minOffset = Infinity;
    }
    if (m.seq <= this.lastSeq) {
      this.counts.outOfOrder++;
      return 'out_of_order';
    }
    const offset = this.now() - m.sentAt;
    this.minOffset = Math.min(this.minOffset, offset);
    // A late command still advances the sequence: anything older than it is later still.
    this.lastSeq = m.seq;
    if (offset - this.minOffset > this.maxLagMs) {
      this.counts.stale++;
      return 'stale';
    }
    this.counts.applied++;
    this.last = m;
    this.moving = m.linear !== 0 || m.angular !== 0;
    this.o.apply({ linear: m.linear, angular: m.angular }, 'command');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.counts.timeouts++;
      this.halt('timeout');
    }, this.timeoutMs);
    this.timer.unref?.();
    return 'applied';
  }

  /** Stops now. After 'estop' nothing moves the robot until resume(); other causes only stop this motion. */
  stop(why: 'estop' | 'deadman' | 'lock' | 'stop'): void {
    if (why === 'estop') this.halted = true;
    this.halt(why);
  }

  /** Clears an e-stop: commands are obeyed again. */
  resume(): void {
    this.halted = false;
  }

  get estopped(): boolean {
    return this.halted;
  }

  close(): void {
    clearTimeout(this.timer);
  }

  private halt(why: 'timeout' | 'estop' | 'deadman' | 'lock' | 'stop'): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const was = this.moving;
    this.moving = false;
    // Always applied for e-stop; otherwise only when something was moving (no zero spam at idle).
    if (was || why === 'estop') this.o.apply({ linear: 0, angular: 0 }, why);
  }
}
