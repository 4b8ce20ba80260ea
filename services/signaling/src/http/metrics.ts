import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per server instance (tests run several in one process, so never the global one). */
export class SignalingMetrics {
  readonly registry = new Registry();
  /** Where the connection and session gauges read their values; set by the hub. */
  private state: () => { connectionsByRole: Record<string, number>; sessions: number } = () => ({
    connectionsByRole: {},
    sessions: 0,
  });
  // Derived at scrape time from the hub's own maps: nothing on the message path keeps them up to date.
  readonly connections: Gauge<'role'> = new Gauge({
    name: 'signaling_connections',
    help: 'Open WebSocket connections by role',
    labelNames: ['role'] as const,
    registers: [this.registry],
    collect: (): void => {
      for (const [role, n] of Object.entries(this.state().connectionsByRole))
        this.connections.set({ role }, n);
    },
  });
  readonly sessions: Gauge = new Gauge({
    name: 'signaling_sessions',
    help: 'Sessions with a participant on this instance',
    registers: [this.registry],
    collect: (): void => {
      this.sessions.set(this.state().sessions);
    },
  });
  readonly messages = new Counter({
    name: 'signaling_messages_total',
    help: 'Valid client messages handled, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly routed = new Counter({
    name: 'signaling_routed_total',
    help: 'Messages handed to the router, by kind and outcome',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'signaling_errors_total',
    help: 'Typed errors sent to clients, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly wsProtocolErrors = new Counter({
    name: 'signaling_ws_protocol_errors_total',
    help: 'WebSocket connections closed for a protocol violation or torn down by the client, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly presenceEndpoints = new Gauge({
    name: 'signaling_registered_endpoints',
    help: 'Robot endpoints registered on this instance',
    registers: [this.registry],
  });

  observe(state: () => { connectionsByRole: Record<string, number>; sessions: number }): void {
    this.state = state;
  }

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry });
  }
}
