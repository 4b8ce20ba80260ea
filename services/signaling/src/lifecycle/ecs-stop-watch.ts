// Starts the graceful stop when ECS decides to stop this task, not when SIGTERM arrives. Behind a load balancer
// ECS first deregisters the task and waits out the target group's deregistration delay, and sends SIGTERM only
// after it: by then the load balancer has cut every WebSocket (clients see 1006), so a `goaway` sent on SIGTERM
// reaches nobody. The task's desired status turns STOPPED at the start of that sequence, and the task metadata
// endpoint (ECS_CONTAINER_METADATA_URI_V4, set by ECS in every container) shows it: polled here, it starts the
// drain while the connections are still up, and clients reconnect through the load balancer to the other tasks.
// Outside ECS (no such variable) nothing runs.

export const ECS_METADATA_ENV = 'ECS_CONTAINER_METADATA_URI_V4';
const POLL_MS = 1000;
const TIMEOUT_MS = 800;

export interface StopWatchLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export class EcsStopWatch {
  private timer: NodeJS.Timeout | null = null;
  private fired = false;
  private failures = 0;

  constructor(
    private readonly metadataUri: string,
    private readonly onStopping: () => void,
    private readonly log: StopWatchLog,
    private readonly pollMs = POLL_MS,
  ) {}

  /** A watch when running on ECS (the metadata variable is set), else null. */
  static fromEnv(env: NodeJS.ProcessEnv, onStopping: () => void, log: StopWatchLog): EcsStopWatch | null {
    const uri = env[ECS_METADATA_ENV];
    return uri ? new EcsStopWatch(uri, onStopping, log) : null;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async poll(): Promise<void> {
    if (this.fired) return;
    let desired: unknown;
    try {
      const res = await fetch(`${this.metadataUri}/task`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      desired = ((await res.json()) as { DesiredStatus?: unknown }).DesiredStatus;
      this.failures = 0;
    } catch (err) {
      // The endpoint is local to the task and always answers; say so once in a while if it does not, and rely on
      // SIGTERM as before.
      if (this.failures++ % 60 === 0)
        this.log.warn(
          { err: String(err) },
          'task metadata endpoint did not answer; draining on SIGTERM only',
        );
      return;
    }
    if (desired !== 'STOPPED' || this.fired) return;
    this.fired = true;
    this.stop();
    this.log.info(
      { desiredStatus: desired },
      'ECS is stopping this task: draining before the load balancer cuts',
    );
    this.onStopping();
  }
}
