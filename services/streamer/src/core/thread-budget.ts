// gstreamer-superficial blocks one libuv pool thread per pending appsink pull and per bus poll. When the pool is
// exhausted, pulls queue behind each other and packets are dropped silently (0 frames decoded), so the streamer
// counts its holders and refuses work that would exhaust the pool, with an error that says what to set.

/** Threads kept free for Node's own pool users (fs, dns, crypto) and werift. */
export const THREADPOOL_RESERVE = 4;
const NODE_DEFAULT_POOL = 4;

export class ThreadPoolTooSmallError extends Error {
  constructor(needed: number, size: number, what: string) {
    super(
      `UV_THREADPOOL_SIZE=${size} is too small for ${what}: ${needed} needed (appsinks + bus polls + ${THREADPOOL_RESERVE}). ` +
        `Set UV_THREADPOOL_SIZE=${Math.max(needed, 16)} or more in the environment before starting Node.`,
    );
    this.name = 'ThreadPoolTooSmallError';
  }
}

export function threadPoolSize(env: Record<string, string | undefined> = process.env): number {
  const raw = env.UV_THREADPOOL_SIZE;
  const n = raw === undefined ? NODE_DEFAULT_POOL : Number.parseInt(raw, 10);
  return Number.isFinite(n) && n > 0 ? Math.min(n, 1024) : NODE_DEFAULT_POOL;
}

export class ThreadBudget {
  private held = 0;

  constructor(readonly size: number) {}

  get inUse(): number {
    return this.held;
  }

  /** Throws ThreadPoolTooSmallError if `threads` more would leave less than the reserve. */
  reserve(threads: number, what: string): () => void {
    const needed = this.held + threads + THREADPOOL_RESERVE;
    if (needed > this.size) throw new ThreadPoolTooSmallError(needed, this.size, what);
    this.held += threads;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= threads;
    };
  }
}
