/**
 * Reassembly of chunked messages for one app link or one service, as the hub sets it up: the gateway's limits,
 * one byte budget shared by every link and service, and a typed error to the sender when a partial message
 * times out. What may be admitted (cap, lock, service up) is the hub's to say.
 */
import {
  Reassembler,
  type Admission,
  type ChunkFrame,
  type GatewayErrorCode,
  type ReassemblyBudget,
} from '@robostream/protocol/gateway';
import type { GatewayLimits } from '../config.js';

/** Large messages one destination's outbox holds at most (waiting or in transfer). */
export const LARGE_QUEUE = 8;

export function reassemblerFor(
  limits: GatewayLimits,
  budget: ReassemblyBudget,
  admit: (first: ChunkFrame) => Admission,
  report: (code: GatewayErrorCode, message: string, ref: string, service?: string) => void,
): Reassembler {
  return new Reassembler({
    maxPartials: limits.maxPartialMessages,
    idleTimeoutMs: limits.reassemblyTimeoutMs,
    budget,
    admit,
    onExpired: (id, service) =>
      report(
        'incomplete_message',
        `message ${id}: no chunk for ${limits.reassemblyTimeoutMs} ms; dropped`,
        id,
        service,
      ),
  });
}

/** The cap of a service: its configured one or the gateway's, lowered by its hello when it asks for less. */
export function serviceCap(limits: GatewayLimits, service: string, declared?: number): number {
  const configured = limits.serviceMaxMessageBytes[service] ?? limits.maxMessageBytes;
  return declared === undefined ? configured : Math.min(configured, declared);
}
