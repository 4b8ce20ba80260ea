// The service env of a streamer under test or bench, on loopback: the robot token, /healthz and /metrics on a free
// port, warn-level logs; cloud signaling when `signalingUrl` is given; direct mode (the embedded signaling server,
// app tokens checked with the test keys' public half) when `directPort` is. `extra` adds or overrides variables.
import type { TestKeys } from '../../../../test/support/tokens.js';

export async function loopbackServiceEnv(
  keys: TestKeys,
  robotId: string,
  o: { signalingUrl?: string; directPort?: number; extra?: Record<string, string> } = {},
): Promise<Record<string, string>> {
  return {
    ROBOT_TOKEN: await keys.robot(robotId),
    STREAMER_HTTP_PORT: '0',
    STREAMER_HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...(o.signalingUrl ? { SIGNALING_URL: o.signalingUrl } : {}),
    ...(o.directPort === undefined
      ? {}
      : {
          STREAMER_APP_PUBLIC_KEY: keys.publicPem,
          STREAMER_DIRECT_PORT: String(o.directPort),
          STREAMER_DIRECT_HOST: '127.0.0.1',
        }),
    ...o.extra,
  };
}
