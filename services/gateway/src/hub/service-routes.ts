/**
 * Where a named service's frames go: telemetry to every app link or one (lossy, dropped oldest per service),
 * events to every link or one, replies to the link that asked. The service's name is stamped on each, from its
 * hello, never from the frame. (E-stops are the hub's: they also go to the other services.)
 */
import { GATEWAY_ENVELOPE_VERSION as v, type ServiceToGateway } from '@robostream/protocol/gateway';
import type { AppSession } from './app-session.js';
import { enc } from './frames.js';
import type { GatewayMetrics } from './metrics.js';
import type { ServiceSession } from './service-session.js';

export function routeFromService(
  s: ServiceSession,
  service: string,
  m: Exclude<ServiceToGateway, { type: 'hello' | 'ping' | 'estop' | 'chunk' }>,
  links: ReadonlyMap<string, AppSession>,
  metrics: GatewayMetrics,
): void {
  switch (m.type) {
    case 'telemetry': {
      const frame = enc({
        v,
        type: 'telemetry',
        service,
        ...(m.topic ? { topic: m.topic } : {}),
        payload: m.payload,
      });
      if (m.to !== undefined) {
        const l = links.get(m.to);
        if (!l) return s.error('unknown_link', `no app link ${m.to}`);
        l.out.pushLossy(service, frame);
      } else {
        for (const l of links.values()) l.out.pushLossy(service, frame);
      }
      metrics.count('app', 'out', 'telemetry', m.to ? 1 : links.size);
      return;
    }
    case 'event': {
      const frame = enc({ v, type: 'event', service, payload: m.payload });
      const targets = m.to !== undefined ? [links.get(m.to)] : [...links.values()];
      for (const l of targets) {
        if (!l) return s.error('unknown_link', `no app link ${m.to}`, m.id);
        l.sendReliable(
          frame,
          'event',
          () => s.error('queue_full', `event not delivered to link ${l.id}: its queue is full`, m.id),
          service,
        );
      }
      return;
    }
    case 'reply': {
      const l = links.get(m.to);
      if (!l) return s.error('unknown_link', `no app link ${m.to}`, m.ref);
      const frame = enc({
        v,
        type: 'reply',
        service,
        ref: m.ref,
        ok: m.ok,
        ...(m.payload !== undefined ? { payload: m.payload } : {}),
      });
      l.sendReliable(
        frame,
        'reply',
        () => s.error('queue_full', `reply not delivered to link ${l.id}: its queue is full`, m.ref),
        service,
      );
      return;
    }
  }
}
