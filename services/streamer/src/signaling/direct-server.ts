// Direct (LAN) mode: the streamer embeds the signaling server itself, with the in-process bus, so an app on the
// robot's network connects to ws://robot:STREAMER_DIRECT_PORT/v1/ws with its app token, with the same protocol
// and no cloud. App tokens are verified with the deployment's public key alone: no signing secret on the robot.
// Apps (and the robot's own endpoint) get the robot's STUN URLs, and TURN REST credentials when the robot holds the
// TURN secret: a LAN app that cannot reach the robot directly (client isolation, VLANs) then goes through TURN.
// Configured through the typed factory: a renamed option fails the typecheck, not the robot at run time; and the
// in-process router never loads ioredis.
import { createSignalingServer, type SignalingServer } from '@robostream/signaling';

export interface DirectServer {
  server: SignalingServer;
  /** http://host:port of the embedded server. */
  httpUrl: string;
  /** The URL the streamer's own endpoint connects to (loopback when listening on every interface). */
  loopbackWsUrl: string;
  stop(): Promise<void>;
}

export async function startDirectServer(options: {
  host: string;
  port: number;
  appPublicKeyPem: string;
  logLevel: string;
  /** The robot's STUN/TURN URLs (STREAMER_ICE_SERVERS); apps get the stun: ones, and turn: ones with a secret. */
  iceUrls?: string[];
  turnSecret?: string | null;
}): Promise<DirectServer> {
  const urls = options.iceUrls ?? [];
  const stun = urls.filter((u) => u.startsWith('stun:'));
  const turn = urls.filter((u) => /^turns?:/.test(u));
  // The streamer's own registry carries the process metrics, so the embedded server does not collect them
  // (processMetrics defaults to off).
  const server = await createSignalingServer({
    port: options.port,
    host: options.host,
    publicKey: options.appPublicKeyPem,
    logLevel: options.logLevel,
    shutdownGraceMs: 500,
    stunUrls: stun,
    ...(options.turnSecret && turn.length > 0 ? { turn: { urls: turn, secret: options.turnSecret } } : {}),
  });
  const httpUrl = await server.listen();
  const port = new URL(httpUrl).port;
  const loopbackHost = ['0.0.0.0', '::', '127.0.0.1'].includes(options.host) ? '127.0.0.1' : options.host;
  return {
    server,
    httpUrl,
    loopbackWsUrl: `ws://${loopbackHost}:${port}/v1/ws`,
    stop: () => server.shutdown(),
  };
}
