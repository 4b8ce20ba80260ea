// Notices the robot's own addresses going away (a hand-over from Wi-Fi to LTE, a cable pulled, a DHCP renewal
// with a new lease). Node has no interface-change event, so the interfaces are read every POLL_MS: cheap (one
// getifaddrs call). Only removals are reported: a path that used a removed address is broken now, while a new
// address breaks nothing.
import { networkInterfaces } from 'node:os';

const POLL_MS = 500;

export type InterfaceReader = typeof networkInterfaces;

/** Every non-loopback address, as `address%interface` (the same address on another interface is another path). */
export function localAddresses(read: InterfaceReader = networkInterfaces): Set<string> {
  const out = new Set<string>();
  for (const [name, list] of Object.entries(read())) {
    for (const a of list ?? []) if (!a.internal) out.add(`${a.address}%${name}`);
  }
  return out;
}

export class NetworkWatch {
  private timer: NodeJS.Timeout | null = null;
  private known: Set<string>;

  constructor(
    private readonly onRemoved: (removed: string[]) => void,
    private readonly read: InterfaceReader = networkInterfaces,
    private readonly pollMs = POLL_MS,
  ) {
    this.known = localAddresses(read);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), this.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One look at the interfaces (the timer calls it; tests may too). */
  check(): void {
    const now = localAddresses(this.read);
    const removed = [...this.known].filter((a) => !now.has(a));
    this.known = now;
    if (removed.length > 0) this.onRemoved(removed);
  }
}
