import type { RobotMeta, RobotPresence } from '@robostream/protocol';
import type { RoutedMessage } from './routed-message.js';

export interface EndpointRecord {
  peerId: string;
  since: number;
  meta?: RobotMeta;
}

export interface PresenceChange {
  robotId: string;
  endpoint: string;
  online: boolean;
  since?: number;
  meta?: RobotMeta;
}

/**
 * Everything that crosses connections goes through a Router: peer-to-peer delivery, the registry of robot
 * endpoints, and presence. Two implementations behind this one interface: LocalRouter (one process, the
 * embedded default) and RedisRouter (N instances sharing Redis pub/sub and presence keys).
 *
 * While Redis is unreachable, deliveries between peers of this instance and registrations of its robots go on;
 * what needs Redis (delivery to other instances, listing robots) throws RouterUnavailableError at once. When Redis
 * is back, the router writes what changed meanwhile.
 */
export interface Router {
  readonly instanceId: string;
  readonly kind: 'local' | 'redis';
  start(): Promise<void>;
  stop(): Promise<void>;

  /** Messages addressed to this instance's peers arrive here, in the order their sender sent them. */
  onMessage(handler: (to: string, message: RoutedMessage) => void): void;
  /** Presence changes of every robot, from every instance. */
  onPresence(handler: (change: PresenceChange) => void): void;

  /** Sends to a peer on any instance. Resolves false when the peer's instance is not there to take it. */
  deliver(to: string, message: RoutedMessage): Promise<boolean>;

  /** Registers a robot endpoint to a peer; returns the peer it replaced, if another connection held it. */
  registerEndpoint(robotId: string, endpoint: string, record: EndpointRecord): Promise<string | undefined>;
  /** Removes the registration if (and only if) this peer still holds it. */
  unregisterEndpoint(robotId: string, endpoint: string, peerId: string): Promise<void>;
  lookupEndpoint(robotId: string, endpoint: string): Promise<string | undefined>;
  listRobots(): Promise<RobotPresence[]>;

  /** True when the router's backing store answers (always true for the local router). */
  healthy(): Promise<boolean>;
}

/**
 * The router's shared store (Redis) did not take a command: it is unreachable or did not answer in time. Clients
 * get the typed error `unavailable` and may retry; nothing waits for the store to come back.
 */
export class RouterUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`the shared store is unreachable: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'RouterUnavailableError';
  }
}

export function groupPresence(
  entries: Iterable<{ robotId: string; endpoint: string; record: EndpointRecord }>,
): RobotPresence[] {
  const byRobot = new Map<string, RobotPresence>();
  for (const { robotId, endpoint, record } of entries) {
    let r = byRobot.get(robotId);
    if (!r) byRobot.set(robotId, (r = { robotId, endpoints: [] }));
    r.endpoints.push({ name: endpoint, since: record.since, ...(record.meta ? { meta: record.meta } : {}) });
  }
  return [...byRobot.values()].sort((a, b) => a.robotId.localeCompare(b.robotId));
}
