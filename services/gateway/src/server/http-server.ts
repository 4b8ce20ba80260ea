/**
 * One Fastify server with the gateway's HTTP routes and a websocket path. The gateway runs two of them: the
 * local one (loopback or unix socket: robot programs, /healthz, /metrics) and the LAN one (apps over wss, /healthz).
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { lstatSync, unlinkSync, chmodSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';

export type GatewayHttpApp = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;

export interface HttpServerOptions {
  logger: Logger;
  tls?: { cert: string; key: string } | null;
  wsPath: string;
  maxPayloadBytes: number;
  onSocket: (ws: WebSocket, remote: string) => void;
  routes: (app: GatewayHttpApp) => void;
}

export interface RunningServer {
  app: GatewayHttpApp;
  /** "host:port" or the unix socket path. */
  address: string;
  port: number | null;
  close(): Promise<void>;
}

export async function startHttpServer(
  o: HttpServerOptions,
  listen: { host: string; port: number } | { path: string },
): Promise<RunningServer> {
  const tls = o.tls;
  const app = Fastify({
    loggerInstance: o.logger,
    // Scrapes and health checks every few seconds would drown the useful lines.
    logController: new LogController({ disableRequestLogging: true }),
    serverFactory: (handler) =>
      (tls
        ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler)
        : createHttpServer(handler)) as Server,
  });
  o.routes(app);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: o.maxPayloadBytes,
    perMessageDeflate: false,
  });
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== o.wsPath) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const remote = `${req.socket.remoteAddress ?? 'local'}:${req.socket.remotePort ?? 0}`;
      o.onSocket(ws, remote);
    });
  });

  if ('path' in listen) removeStaleSocket(listen.path);
  await app.listen('path' in listen ? { path: listen.path } : { host: listen.host, port: listen.port });
  if ('path' in listen) chmodSync(listen.path, 0o660); // robot programs of the same group only
  const addr = app.server.address();
  const port = addr && typeof addr === 'object' ? addr.port : null;
  const address = 'path' in listen ? listen.path : `${listen.host}:${port}`;
  return {
    app,
    address,
    port,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await app.close();
    },
  };
}

function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // does not exist: nothing to remove
  }
}
