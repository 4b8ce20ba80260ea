import { randomBytes } from 'node:crypto';
import type { RobotPresence } from '@robostream/protocol';
import { groupPresence, type EndpointRecord, type PresenceChange, type Router } from './router.js';
import { instanceOf, type RoutedMessage } from './routed-message.js';

/**
 * One process, no external store: the embedded default (a laptop, or a robot serving its LAN).
 * Delivery is asynchronous (a microtask) like the Redis router's, so both behave alike for callers.
 */
export class LocalRouter implements Router {
  readonly kind = 'local';
  readonly instanceId = randomBytes(4).toString('hex');
  private readonly endpoints = new Map<
    string,
    { robotId: string; endpoint: string; record: EndpointRecord }
  >();
  private messageHandler: (to: string, message: RoutedMessage) => void = () => undefined;
  private presenceHandler: (change: PresenceChange) => void = () => undefined;

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  onMessage(handler: (to: string, message: RoutedMessage) => void): void {
    this.messageHandler = handler;
  }
  onPresence(handler: (change: PresenceChange) => void): void {
    this.presenceHandler = handler;
  }

  async deliver(to: string, message: RoutedMessage): Promise<boolean> {
    if (instanceOf(to) !== this.instanceId) return false;
    queueMicrotask(() => this.messageHandler(to, message));
    return true;
  }

  async registerEndpoint(
    robotId: string,
    endpoint: string,
    record: EndpointRecord,
  ): Promise<string | undefined> {
    const key = `${robotId}/${endpoint}`;
    const previous = this.endpoints.get(key)?.record.peerId;
    this.endpoints.set(key, { robotId, endpoint, record });
    this.presenceHandler({
      robotId,
      endpoint,
      online: true,
      since: record.since,
      ...(record.meta ? { meta: record.meta } : {}),
    });
    return previous !== record.peerId ? previous : undefined;
  }

  async unregisterEndpoint(robotId: string, endpoint: string, peerId: string): Promise<void> {
    const key = `${robotId}/${endpoint}`;
    if (this.endpoints.get(key)?.record.peerId !== peerId) return;
    this.endpoints.delete(key);
    this.presenceHandler({ robotId, endpoint, online: false });
  }

  async lookupEndpoint(robotId: string, endpoint: string): Promise<string | undefined> {
    return this.endpoints.get(`${robotId}/${endpoint}`)?.record.peerId;
  }

  async listRobots(): Promise<RobotPresence[]> {
    return groupPresence(this.endpoints.values());
  }

  async healthy(): Promise<boolean> {
    return true;
  }
}
