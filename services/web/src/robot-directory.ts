/** The robots this token grants, with live presence per endpoint (`media`, `gateway`, ...). */
import type { RobotMeta, RobotPresence } from '@robostream/protocol';
import { TypedEmitter } from '@robostream/protocol/client';

export interface EndpointInfo {
  since: number;
  meta: RobotMeta;
}

export interface RobotInfo {
  robotId: string;
  endpoints: Map<string, EndpointInfo>;
  /** unix ms when its last endpoint went away; null while online */
  offlineSince: number | null;
  /** The last name an endpoint announced (kept while offline, so the view keeps its title). */
  name: string | null;
}

export class RobotDirectory extends TypedEmitter<{ change: string | null }> {
  readonly robots = new Map<string, RobotInfo>();

  /** Replaces the whole list (after subscribe_presence); robots seen before stay, marked offline. */
  reset(list: RobotPresence[]): void {
    const now = Date.now();
    for (const r of this.robots.values()) {
      r.endpoints.clear();
      r.offlineSince ??= now;
    }
    for (const p of list) {
      const r = this.robot(p.robotId);
      for (const e of p.endpoints) {
        r.endpoints.set(e.name, { since: e.since, meta: e.meta ?? {} });
        if (typeof e.meta?.['name'] === 'string') r.name = e.meta['name'];
      }
      if (r.endpoints.size) r.offlineSince = null;
    }
    this.emit('change', null);
  }

  update(p: { robotId: string; endpoint: string; online: boolean; since?: number; meta?: RobotMeta }): void {
    const r = this.robot(p.robotId);
    if (p.online) {
      r.endpoints.set(p.endpoint, { since: p.since ?? Date.now(), meta: p.meta ?? {} });
      r.offlineSince = null;
      if (typeof p.meta?.['name'] === 'string') r.name = p.meta['name'];
    } else {
      r.endpoints.delete(p.endpoint);
      if (!r.endpoints.size) r.offlineSince = Date.now();
    }
    this.emit('change', p.robotId);
  }

  online(robotId: string): boolean {
    return (this.robots.get(robotId)?.endpoints.size ?? 0) > 0;
  }

  /** Camera ids from the media endpoint's meta (`cameras: 'front,rear'`). */
  cameras(robotId: string): string[] {
    const cams = this.robots.get(robotId)?.endpoints.get('media')?.meta['cameras'];
    return typeof cams === 'string'
      ? cams
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean)
      : [];
  }

  displayName(robotId: string): string {
    const r = this.robots.get(robotId);
    for (const e of r?.endpoints.values() ?? [])
      if (typeof e.meta['name'] === 'string') return e.meta['name'];
    return robotId;
  }

  private robot(robotId: string): RobotInfo {
    let r = this.robots.get(robotId);
    if (!r) this.robots.set(robotId, (r = { robotId, endpoints: new Map(), offlineSince: null, name: null }));
    return r;
  }
}
