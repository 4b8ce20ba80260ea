import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { LogThrottle } from '../logging/log-throttle.js';
import type { SignalingMetrics } from '../http/metrics.js';

/** Errors a client causes on its own socket: ws's protocol violations (WS_ERR_*) and connections torn down. */
const CLIENT_CAUSED = /^(WS_ERR_[A-Z0-9_]+|ECONNRESET|EPIPE|ETIMEDOUT)$/;

/**
 * The WebSocket plugin's error handler. A protocol violation is the client's fault and costs it its connection; it
 * is logged at debug, without a stack, one line per error code every ten seconds (a client can send them as fast
 * as it can connect), and counted in full by signaling_ws_protocol_errors_total. Anything else is a bug of ours
 * and is logged as an error.
 */
export function socketErrorHandler(metrics: Pick<SignalingMetrics, 'wsProtocolErrors'>) {
  const throttle = new LogThrottle(10_000);
  return (error: Error, socket: WebSocket, request: FastifyRequest): void => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined && CLIENT_CAUSED.test(code)) {
      metrics.wsProtocolErrors.inc({ code });
      const dropped = throttle.admit(code);
      if (dropped !== undefined)
        request.log.debug(
          { code, reason: error.message, ip: request.ip, ...(dropped > 0 ? { dropped } : {}) },
          'websocket protocol error; connection closed',
        );
    } else {
      request.log.error({ err: error }, 'websocket handler failed');
    }
    socket.terminate();
  };
}
