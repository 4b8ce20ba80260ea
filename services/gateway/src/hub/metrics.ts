/** Prometheus metrics of one gateway (its own registry, so that tests can run several gateways in a process). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly links = new Gauge({
    name: 'gateway_app_links',
    help: 'Authenticated app links',
    labelNames: ['transport'],
    registers: [this.registry],
  });
  readonly services = new Gauge({
    name: 'gateway_services_up',
    help: 'Connected local services',
    registers: [this.registry],
  });
  readonly messages = new Counter({
    name: 'gateway_messages_total',
    help: 'Frames received (in) and queued for sending (out), by side and type',
    labelNames: ['side', 'direction', 'type'],
    registers: [this.registry],
  });
  readonly drops = new Counter({
    name: 'gateway_telemetry_dropped_total',
    help: 'Telemetry frames dropped (oldest first) because an app link read too slowly',
    labelNames: ['service'],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'gateway_errors_total',
    help: 'Typed errors sent',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly lockHeld = new Gauge({
    name: 'gateway_lock_held',
    help: '1 when an operator holds the control lock',
    registers: [this.registry],
  });
  readonly lockHolder = new Gauge({
    name: 'gateway_lock_holder',
    help: 'The app subject holding the control lock (value 1)',
    labelNames: ['sub'],
    registers: [this.registry],
  });
  readonly deadmanTripped = new Gauge({
    name: 'gateway_deadman_tripped',
    help: '1 while the deadman is tripped',
    registers: [this.registry],
  });
  readonly estops = new Counter({
    name: 'gateway_estops_total',
    help: 'Emergency stops relayed',
    registers: [this.registry],
  });

  readonly signalingConnected = new Gauge({
    name: 'gateway_signaling_connected',
    help: '1 while the gateway is registered with signaling (endpoint gateway)',
    registers: [this.registry],
  });
  readonly datachannelSessions = new Gauge({
    name: 'gateway_datachannel_sessions',
    help: 'Data-channel peer connections (through signaling), authenticated or not',
    registers: [this.registry],
  });
  readonly datachannelSessionsTotal = new Counter({
    name: 'gateway_datachannel_sessions_total',
    help: 'Data-channel sessions by outcome (accepted, rejected, connected, failed, closed, ice_restart)',
    labelNames: ['event'],
    registers: [this.registry],
  });

  private readonly messageChildren = new Map<string, { inc(n?: number): void }>();

  /** Hot path: label children are looked up once per (side, direction, type), not hashed per frame. */
  count(side: 'app' | 'service', direction: 'in' | 'out', type: string, n = 1): void {
    const key = `${side}|${direction}|${type}`;
    let c = this.messageChildren.get(key);
    if (!c) {
      c = this.messages.labels(side, direction, type);
      this.messageChildren.set(key, c);
    }
    c.inc(n);
  }

  constructor(defaultMetrics = true) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'gateway_' });
  }
}
