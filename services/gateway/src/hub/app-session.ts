/**
 * One app link as the hub serves it: its transport, its claims once authenticated, and its bounded outbox
 * (telemetry dropped oldest per service and reported with a `drops` frame; reliable frames that cannot be queued
 * answered as the caller decides).
 */
import type { Logger } from 'pino';
import type { AppClaims } from '@robostream/protocol/auth';
import {
  GATEWAY_ENVELOPE_VERSION as v,
  type GatewayErrorCode,
  type Reassembler,
} from '@robostream/protocol/gateway';
import type { GatewayLimits } from '../config.js';
import type { AppLink } from '../links/app-link.js';
import { enc } from './frames.js';
import type { GatewayMetrics } from './metrics.js';
import { Outbox } from './outbox.js';
import { LARGE_QUEUE } from './chunk-intake.js';

export class AppSession {
  /** null until authenticated. */
  claims: AppClaims | null = null;
  readonly out: Outbox;
  /** Chunked messages from this app in transfer; set by the hub right after construction. */
  chunks: Reassembler | null = null;

  constructor(
    readonly id: string,
    readonly link: AppLink,
    public log: Logger,
    limits: GatewayLimits,
    private readonly metrics: GatewayMetrics,
  ) {
    this.out = new Outbox(link, {
      reliableLimit: limits.reliableQueue,
      lossyLimitPerKey: limits.telemetryQueue,
      highWaterBytes: Math.min(limits.highWaterBytes, link.highWaterBytes ?? Infinity),
      dropReport: (service, dropped, total) => enc({ v, type: 'drops', service, dropped, total }),
      onDrop: (service, n) => metrics.drops.inc({ service }, n),
      largeLimit: LARGE_QUEUE,
      largeWaterBytes: link.lowWaterBytes ?? 16 * 1024,
      chunkService: true,
    });
  }

  /** An error frame to this app (`ref`: the frame it answers; `service`: the service it concerns). */
  error(code: GatewayErrorCode, message: string, ref?: string, service?: string): void {
    this.metrics.errors.inc({ code });
    this.log.debug({ code, message }, 'error to app');
    this.out.pushReliable({
      frame: enc({
        v,
        type: 'error',
        code,
        message,
        ...(ref ? { ref } : {}),
        ...(service ? { service } : {}),
      }),
    });
  }

  /** A reliable frame; `onFull` runs when it cannot be queued (or is discarded), else that is only logged. */
  sendReliable(frame: string, type: string, onFull?: () => void, service?: string): void {
    this.metrics.count('app', 'out', type);
    const item = { frame, ...(onFull ? { onDiscard: onFull } : {}), ...(service ? { service } : {}) };
    if (!this.out.pushReliable(item)) {
      if (onFull) onFull();
      else this.log.warn({ type }, 'reliable queue full; announcement not queued');
    }
  }
}
