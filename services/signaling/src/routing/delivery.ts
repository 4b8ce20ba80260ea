import type { SignalingMetrics } from '../http/metrics.js';
import type { RoutedMessage } from './routed-message.js';
import type { Router } from './router.js';

/** Sends a routed message to a peer on any instance; false when nobody could take it. */
export type Deliver = (to: string, message: RoutedMessage) => Promise<boolean>;

/** Delivery through the router, counted by kind and outcome (every routed message goes through this one). */
export function countedDelivery(
  router: Pick<Router, 'deliver'>,
  metrics: Pick<SignalingMetrics, 'routed'>,
): Deliver {
  return async (to, message) => {
    const ok = await router.deliver(to, message);
    metrics.routed.inc({ kind: message.kind, outcome: ok ? 'sent' : 'no_instance' });
    return ok;
  };
}
