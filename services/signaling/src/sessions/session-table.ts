import { randomBytes } from 'node:crypto';

export interface SessionEntry {
  sessionId: string;
  /** The peer on the other side (possibly on another instance). */
  remote: string;
  /** This connection's side of the session. */
  side: 'app' | 'robot';
  robotId: string;
  endpoint: string;
  /** The app subject, for the per-app session limit. */
  appSubject: string;
  state: 'pending' | 'open';
  /**
   * The offer the app opened with, until the robot accepts (robot side: handed to the robot then; app side: relayed
   * if the robot's instance did not hand it over). Always present, undefined when none, and cleared by assignment:
   * every entry keeps one shape, and relaying reads entries on every message.
   */
  heldOffer: string | undefined;
  /** Robot side: the opening offer went to the robot inside its session_request. */
  offerInRequest: boolean;
}

/**
 * `<instanceId>_<random>`: a session id names the instance that created it, so that a request about the session
 * reaching another instance (a WHEP DELETE behind a load balancer) can be routed to it. Instance ids are hex, so the
 * first `_` ends the prefix.
 */
export function newSessionId(instanceId: string): string {
  return `${instanceId}_${randomBytes(12).toString('base64url')}`;
}

/** The instance that created a session id, or undefined for an id of another form. */
export function sessionInstance(sessionId: string): string | undefined {
  const sep = sessionId.indexOf('_');
  return sep > 0 ? sessionId.slice(0, sep) : undefined;
}

/**
 * The sessions of one instance's connections, and the per-app counts the session limit uses. A session
 * with both sides on this instance has two entries, one per connection.
 */
export class SessionTable {
  private readonly byPeer = new Map<string, Map<string, SessionEntry>>();
  private readonly appCounts = new Map<string, number>();
  private total = 0;

  get size(): number {
    return this.total;
  }

  get(peerId: string, sessionId: string): SessionEntry | undefined {
    return this.byPeer.get(peerId)?.get(sessionId);
  }

  add(peerId: string, entry: SessionEntry): void {
    let m = this.byPeer.get(peerId);
    if (!m) this.byPeer.set(peerId, (m = new Map()));
    m.set(entry.sessionId, entry);
    this.total++;
    if (entry.side === 'app')
      this.appCounts.set(entry.appSubject, (this.appCounts.get(entry.appSubject) ?? 0) + 1);
  }

  remove(peerId: string, sessionId: string): SessionEntry | undefined {
    const m = this.byPeer.get(peerId);
    const entry = m?.get(sessionId);
    if (!m || !entry) return undefined;
    m.delete(sessionId);
    if (m.size === 0) this.byPeer.delete(peerId);
    this.total--;
    if (entry.side === 'app') {
      const n = (this.appCounts.get(entry.appSubject) ?? 1) - 1;
      if (n <= 0) this.appCounts.delete(entry.appSubject);
      else this.appCounts.set(entry.appSubject, n);
    }
    return entry;
  }

  /** Removes and returns every session of a peer (when its connection ends). */
  removePeer(peerId: string): SessionEntry[] {
    const entries = [...(this.byPeer.get(peerId)?.values() ?? [])];
    for (const e of entries) this.remove(peerId, e.sessionId);
    return entries;
  }

  appSessions(appSubject: string): number {
    return this.appCounts.get(appSubject) ?? 0;
  }
}
