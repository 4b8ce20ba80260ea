/** Composes a gateway: hub, local server (services, /healthz, /metrics), LAN server (direct app links). */
import type { Logger } from 'pino';
import { urlHost } from '@robostream/protocol';
import { GATEWAY_APP_PATH, GATEWAY_LOCAL_PATH, GATEWAY_TAP_PATH } from '@robostream/protocol/gateway';
import type { AppClaims } from '@robostream/protocol/auth';
import type { GatewayConfig } from './config.js';
import { Hub, type HubStats } from './hub/hub.js';
import { GatewayMetrics } from './hub/metrics.js';
import type { AppLink } from './links/app-link.js';
import { WsAppLink } from './links/ws-app-link.js';
import { WsServiceLink } from './links/ws-service-link.js';
import { startHttpServer, type RunningServer } from './server/http-server.js';
import { TapStream } from './tap/tap-stream.js';

/** Low-water mark of websocket links (services, direct apps); see the large lane in hub/outbox.ts. */
const WS_LOW_WATER_BYTES = 64 * 1024;

export interface Gateway {
  /** ws URL robot programs connect to (ws://host:port/v1/service or ws+unix:PATH:/v1/service). */
  localUrl: string;
  /** ws(s) URL apps connect to directly, or null when the LAN listener is off. */
  lanUrl: string | null;
  /** Plug in an app link from another transport (the WebRTC data channels through signaling). */
  attachLink(link: AppLink, claims?: AppClaims): string;
  stats(): HubStats;
  /** Listens to the connected service names changing (a program connected or went away). */
  onServicesChanged(listener: (services: string[]) => void): () => void;
  config: GatewayConfig;
  metrics: GatewayMetrics;
  close(): Promise<void>;
}

export async function startGateway(config: GatewayConfig, logger: Logger): Promise<Gateway> {
  const metrics = new GatewayMetrics();
  const serviceListeners = new Set<(services: string[]) => void>();
  const tap = new TapStream();
  const hub = new Hub({
    tap: (record) => tap.publish(record),
    onServicesChanged: (names) => {
      for (const l of serviceListeners) l(names);
    },
    robotId: config.robotId,
    appPublicKey: config.appPublicKey,
    limits: config.limits,
    logger,
    metrics,
  });
  // Frames above maxFrameBytes get a typed error; only far bigger ones (a broken peer) close the socket.
  const maxPayloadBytes = config.limits.maxFrameBytes * 8;
  // Drain events at this mark pace the chunks of large messages: a command waits behind at most this much.
  const wsLowWater = Math.min(config.limits.highWaterBytes / 2, WS_LOW_WATER_BYTES);
  const health = () => {
    const s = hub.stats();
    return {
      ok: true,
      robot: config.robotId,
      links: s.links,
      services: s.services,
      lock: s.lock,
      deadman: s.deadman,
    };
  };

  const local = await startHttpServer(
    {
      logger: logger.child({ listener: 'local' }),
      wsPath: GATEWAY_LOCAL_PATH,
      maxPayloadBytes,
      onSocket: (ws, remote) => hub.attachService(new WsServiceLink(ws, remote, wsLowWater)),
      routes: (app) => {
        app.get('/healthz', async () => health());
        // The recorder's feed (docs/recording.md): local listener only, like the service socket.
        app.get(GATEWAY_TAP_PATH, async (_req, reply) => {
          if (tap.full) return reply.code(429).send({ error: 'too many tap readers' });
          reply.hijack();
          tap.attach(reply.raw);
        });
        app.get('/metrics', async (_req, reply) => {
          reply.header('content-type', metrics.registry.contentType);
          return metrics.registry.metrics();
        });
      },
    },
    config.local.kind === 'unix'
      ? { path: config.local.path }
      : { host: config.local.host, port: config.local.port },
  );

  let lan: RunningServer | null = null;
  if (config.lan) {
    const lanCfg = config.lan;
    lan = await startHttpServer(
      {
        logger: logger.child({ listener: 'lan' }),
        tls: lanCfg.tls,
        wsPath: GATEWAY_APP_PATH,
        maxPayloadBytes,
        onSocket: (ws, remote) => hub.attachLink(new WsAppLink(ws, remote, wsLowWater)),
        routes: (app) => app.get('/healthz', async () => health()),
      },
      { host: lanCfg.host, port: lanCfg.port },
    );
  }

  const localUrl =
    config.local.kind === 'unix'
      ? `ws+unix:${config.local.path}:${GATEWAY_LOCAL_PATH}`
      : `ws://${urlHost(config.local.host)}:${local.port}${GATEWAY_LOCAL_PATH}`;
  const lanUrl =
    lan && config.lan
      ? `${config.lan.tls ? 'wss' : 'ws'}://${urlHost(config.lan.host)}:${lan.port}${GATEWAY_APP_PATH}`
      : null;
  logger.info(
    { robot: config.robotId, local: local.address, lan: lan?.address ?? null, tls: !!config.lan?.tls },
    'gateway listening',
  );

  return {
    localUrl,
    lanUrl,
    attachLink: (link, claims) => hub.attachLink(link, claims),
    stats: () => hub.stats(),
    onServicesChanged(listener) {
      serviceListeners.add(listener);
      return () => serviceListeners.delete(listener);
    },
    config,
    metrics,
    async close() {
      hub.close();
      tap.close();
      await Promise.all([local.close(), lan?.close()]);
    },
  };
}
