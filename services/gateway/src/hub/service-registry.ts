/**
 * The local services the hub knows: every connected program, the names they said hello with (one program per
 * name), and every name ever registered, so that a known name that is absent is `service_down` rather than
 * `unknown_service`, and a name seen before is reported as restarted.
 */
import type { ServiceSession } from './service-session.js';

export type HelloResult =
  | { ok: true; restarted: boolean }
  | { ok: false; code: 'already_registered' | 'service_taken'; message: string };

export class ServiceRegistry {
  private readonly byName = new Map<string, ServiceSession>();
  private readonly connected = new Set<ServiceSession>();
  private readonly known = new Set<string>();

  /** A program connected (it has no name until its hello). */
  add(s: ServiceSession): void {
    this.connected.add(s);
  }

  /** Names the program, unless it has a name already or another connected program holds this one. */
  hello(s: ServiceSession, name: string): HelloResult {
    if (s.name !== null)
      return { ok: false, code: 'already_registered', message: `already registered as ${s.name}` };
    if (this.byName.has(name))
      return { ok: false, code: 'service_taken', message: `another program is connected as ${name}` };
    s.name = name;
    s.log = s.log.child({ service: name });
    this.byName.set(name, s);
    const restarted = this.known.has(name);
    this.known.add(name);
    return { ok: true, restarted };
  }

  /** The program's connection closed; true when it held its name (the service is now down). */
  remove(s: ServiceSession): boolean {
    this.connected.delete(s);
    if (s.name === null || this.byName.get(s.name) !== s) return false;
    this.byName.delete(s.name);
    return true;
  }

  get(name: string): ServiceSession | undefined {
    return this.byName.get(name);
  }

  isKnown(name: string): boolean {
    return this.known.has(name);
  }

  /** Named services now, sorted. */
  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  /** Every name ever registered with whether it is up now, sorted (an app's welcome). */
  knownServices(): Array<{ service: string; up: boolean }> {
    return [...this.known].sort().map((service) => ({ service, up: this.byName.has(service) }));
  }

  get size(): number {
    return this.byName.size;
  }

  /** Named services. */
  named(): IterableIterator<ServiceSession> {
    return this.byName.values();
  }

  /** Every connected program, named or not. */
  all(): IterableIterator<ServiceSession> {
    return this.connected.values();
  }
}
