/** One local service program as the hub serves it: its link, its name once it said hello, its bounded outbox. */
import type { Logger } from 'pino';
import {
  GATEWAY_ENVELOPE_VERSION as v,
  type GatewayErrorCode,
  type GatewayToService,
  type Reassembler,
} from '@robostream/protocol/gateway';
import type { GatewayLimits } from '../config.js';
import { enc } from './frames.js';
import type { GatewayMetrics } from './metrics.js';
import { Outbox } from './outbox.js';
import type { ServiceLink } from './service-link.js';
import { LARGE_QUEUE } from './chunk-intake.js';

export class ServiceSession {
  /** null until its hello. */
  name: string | null = null;
  readonly out: Outbox;
  /** Chunked messages from this program in transfer; set by the hub right after construction. */
  chunks: Reassembler | null = null;
  /** Largest message to or from it (bytes), from the gateway's limits and its hello; set at hello. */
  maxMessageBytes = 0;

  constructor(
    readonly link: ServiceLink,
    public log: Logger,
    limits: GatewayLimits,
    private readonly metrics: GatewayMetrics,
  ) {
    this.out = new Outbox(
      { send: (f) => link.send(f), bufferedAmount: () => link.bufferedAmount },
      {
        reliableLimit: limits.reliableQueue,
        lossyLimitPerKey: limits.telemetryQueue,
        highWaterBytes: limits.highWaterBytes,
        largeLimit: LARGE_QUEUE,
        largeWaterBytes: link.lowWaterBytes,
      },
    );
  }

  send(m: GatewayToService): void {
    this.out.pushReliable({ frame: enc(m) });
  }

  error(code: GatewayErrorCode, message: string, ref?: string): void {
    this.metrics.errors.inc({ code });
    this.log.debug({ code, message }, 'error to service');
    // An error that cannot be queued is not reported further: its recipient is already far behind.
    this.out.pushReliable({ frame: enc({ v, type: 'error', code, message, ...(ref ? { ref } : {}) }) });
  }
}
