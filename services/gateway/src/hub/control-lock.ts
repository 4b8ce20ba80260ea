/** The operator control lock: at most one app link holds it; changes are returned for the hub to announce. */
import type { LockHolder, LockState } from '@robostream/protocol/gateway';

export type LockResult =
  { ok: true; state: LockState; changed: boolean } | { ok: false; code: 'lock_held' | 'not_operator' };

export class ControlLock {
  private current: LockHolder | null = null;

  get holder(): LockHolder | null {
    return this.current;
  }

  isHolder(link: string): boolean {
    return this.current?.link === link;
  }

  state(): LockState {
    return { holder: this.current, cause: 'current' };
  }

  take(who: LockHolder): LockResult {
    if (this.current?.link === who.link) return { ok: true, state: this.state(), changed: false };
    if (this.current) return { ok: false, code: 'lock_held' };
    this.current = who;
    return { ok: true, state: { holder: who, cause: 'take' }, changed: true };
  }

  release(link: string): LockResult {
    if (!this.current || this.current.link !== link) return { ok: false, code: 'not_operator' };
    const previous = this.current;
    this.current = null;
    return { ok: true, state: { holder: null, cause: 'release', previous }, changed: true };
  }

  takeover(who: LockHolder): LockResult {
    if (this.current?.link === who.link) return { ok: true, state: this.state(), changed: false };
    const previous = this.current;
    this.current = who;
    return { ok: true, state: { holder: who, cause: 'takeover', previous }, changed: true };
  }

  /** The holder's link went away: the lock is free. null when that link did not hold it. */
  linkClosed(link: string): LockState | null {
    if (this.current?.link !== link) return null;
    const previous = this.current;
    this.current = null;
    return { holder: null, cause: 'link_closed', previous };
  }
}
