// The whole streamer process minus the env reading and signal handling of main.ts: media core, the `media`
// endpoint on every signaling connection (cloud services and the embedded direct-mode server), /healthz and
// /metrics, periodic stats. Tests start it in-process.
import WebSocket from 'ws';
import type { Logger } from 'pino';
import { SignalingClient, type WebSocketCtor } from '@robostream/protocol/client';
import type { IceServerConfig, StreamerConfig } from './config.js';
import { StreamerCore, type StreamerCoreDeps } from './core/streamer-core.js';
import { startHttpServer } from './http/http-server.js';
import { StreamerMetrics } from './http/metrics.js';
import type { ServiceConfig } from './service-config.js';
import { startDirectServer, type DirectServer } from './signaling/direct-server.js';
import { MediaEndpoint } from './signaling/media-endpoint.js';
import { StatsReporter } from './stats-reporter.js';
import type { RecordingConfig } from './recording/recording-config.js';
import { startRecording, type RecordingService } from './recording/recording-service.js';
import { NetworkWatch } from './transport/network-watch.js';
import { VoiceTelemetryPublisher } from './voice-telemetry.js';

export interface StreamerService {
  core: StreamerCore;
  endpoint: MediaEndpoint;
  metrics: StreamerMetrics;
  /** One per signaling connection, labelled `signaling-<n>` (SIGNALING_URL order) or `direct`. */
  clients: Map<string, SignalingClient>;
  direct: DirectServer | null;
  /** http://host:port of /healthz and /metrics. */
  httpUrl: string;
  stats: StatsReporter;
  /** The recorder, when STREAMER_RECORD_DIR is set. */
  recorder: RecordingService | null;
  /** Closes sessions, signaling, pipelines and servers; the process can then exit. */
  close(): Promise<void>;
}

export interface StreamerServiceDeps extends StreamerCoreDeps {
  log: Logger;
  /** Node's default process metrics (off when several services share one test process). */
  defaultMetrics?: boolean;
  /** Signaling client reconnect backoff (tests shorten it). */
  reconnect?: { initialDelayMs: number; maxDelayMs: number };
  /** STREAMER_RECORD_* (recording/recording-config.ts); off when absent or without a directory. */
  recording?: RecordingConfig;
}

export async function startStreamerService(
  service: ServiceConfig,
  media: StreamerConfig,
  deps: StreamerServiceDeps,
): Promise<StreamerService> {
  const log = deps.log;
  const core = await StreamerCore.start(media, deps);
  const withMedia = core.viewersWithAppMedia();
  if (withMedia < service.maxViewers)
    log.warn(
      {
        threadPool: core.threadPool,
        maxViewers: service.maxViewers,
        viewersWithMedia: withMedia,
      },
      `UV_THREADPOOL_SIZE has room for the microphone and camera of ${withMedia} of the ${service.maxViewers} ` +
        'viewers STREAMER_MAX_VIEWERS allows; the others would be refused them (raise UV_THREADPOOL_SIZE)',
    );
  const metrics = new StreamerMetrics(core, deps.defaultMetrics ?? true);
  let recorder: RecordingService | null = null;
  try {
    recorder = await startRecording(deps.recording, service, core, log);
  } catch (err) {
    await core.close();
    throw err;
  }
  const endpoint = new MediaEndpoint(core, {
    name: service.name,
    maxViewers: service.maxViewers,
    log,
    iceTransportPolicy: service.iceTransportPolicy,
    onIceRestartRequested: () => metrics.iceRestartsRequested.inc(),
    ...(recorder ? { onViewer: recorder.onViewer } : {}),
  });
  const clients = new Map<string, SignalingClient>();
  let direct: DirectServer | null = null;
  let http: Awaited<ReturnType<typeof startHttpServer>>;
  const stats = new StatsReporter(core, metrics, log);
  const network = new NetworkWatch((removed) => {
    log.info(
      { removed, viewers: core.viewers().length },
      'local addresses removed: telling every app the new path',
    );
    for (const v of core.viewers()) v.localAddressesChanged();
  });
  const voiceTelemetry = service.gatewayServiceUrl
    ? new VoiceTelemetryPublisher(service.gatewayServiceUrl, core.voiceActivity)
    : null;
  let closed = false;

  const connect = async (label: string, url: string): Promise<void> => {
    const token = service.robotToken;
    if (!token) throw new Error('a robot token is required to connect to signaling');
    const client = new SignalingClient({
      url,
      token: () => token(),
      WebSocket: WebSocket as unknown as WebSocketCtor,
      clientName: 'robostream-streamer',
      ...(deps.reconnect ? { reconnect: deps.reconnect } : {}),
    });
    clients.set(label, client);
    client.on('state', (state) => log.info({ signaling: label, state }, 'signaling connection'));
    client.on('error', (err) =>
      log.warn({ signaling: label, code: err.code, err: err.message }, 'signaling error'),
    );
    client.on('fatal', (f) =>
      log.error({ signaling: label, code: f.code, reason: f.reason }, 'signaling refused the robot'),
    );
    // The servers signaling hands out are probed as soon as they are known, so that no session waits for it.
    client.on('welcome', () => core.warmIceServers(client.iceServers as IceServerConfig[]));
    await endpoint.attach(client, label);
    // Not awaited to the end: a cloud service that is down must not hold the robot's start-up (LAN, direct
    // mode and media keep working); the client keeps retrying with backoff.
    client.connect().then(
      (w) => log.info({ signaling: label, robot: w.subject, url }, 'registered with signaling'),
      (err: Error) => log.error({ signaling: label, err: err.message }, 'signaling connection refused'),
    );
  };

  try {
    // Before any app can reach the robot: a first session during the warm-up would share the CPU with it.
    await core.warmUpTransport();
    await core.warmUpEncoders();
    core.preloadDecoders();
    if (service.direct && service.appPublicKeyPem) {
      direct = await startDirectServer({
        host: service.direct.host,
        port: service.direct.port,
        appPublicKeyPem: service.appPublicKeyPem,
        logLevel: service.logLevel === 'info' ? 'warn' : service.logLevel,
        iceUrls: media.iceServers.flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls])),
        turnSecret: service.direct.turnSecret,
      });
      log.info({ url: direct.httpUrl }, 'direct mode: embedded signaling server listening');
      await connect('direct', direct.loopbackWsUrl);
    }
    for (const [i, url] of service.signalingUrls.entries()) await connect(`signaling-${i + 1}`, url);
    http = await startHttpServer(
      service.http.host,
      service.http.port,
      metrics,
      {
        problem: () => (closed ? 'shutting down' : null),
        details: () => ({
          robot: service.robotId,
          viewers: core.viewers().length,
          sessions: endpoint.sessionCount,
          videoEncodersRunning: core.introspect().runningVideoEncoders,
          signaling: Object.fromEntries([...clients].map(([label, c]) => [label, c.state])),
        }),
      },
      recorder?.routes,
    );
    stats.start(service.statsIntervalMs);
    network.start();
  } catch (err) {
    for (const c of clients.values()) c.close();
    await direct?.stop().catch(() => undefined);
    await recorder?.close();
    await core.close();
    throw err;
  }
  const httpServer = http;

  return {
    core,
    endpoint,
    metrics,
    clients,
    direct,
    httpUrl: httpServer.url,
    stats,
    recorder,
    async close() {
      if (closed) return;
      closed = true;
      stats.stop();
      network.stop();
      voiceTelemetry?.close();
      // Sessions first, so apps hear session_close while signaling is still up.
      await endpoint.close();
      for (const c of clients.values()) c.close();
      await direct?.stop().catch((err: Error) => log.warn({ err: err.message }, 'direct server stop'));
      // Before the pipelines stop: every file gets its summary and index.
      await recorder?.close();
      await core.close();
      await httpServer.app.close();
    },
  };
}
