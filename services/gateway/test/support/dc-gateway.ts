/** A real gateway with its signaling endpoint (data channels), wired as main.ts wires it. */
import { pino } from 'pino';
import type { TestKeys } from '../../../../test/support/tokens.js';
import { startGateway, DEFAULT_LIMITS, type Gateway } from '../../src/index.js';
import { GatewayEndpoint } from '../../src/signaling/gateway-endpoint.js';

export interface DcGateway {
  gw: Gateway;
  endpoint: GatewayEndpoint;
  close(): Promise<void>;
}

export async function startDcGateway(
  keys: TestKeys,
  robotId: string,
  signalingUrl: string,
  o: { iceTransportPolicy?: 'all' | 'relay'; tls?: { cert: string; key: string } } = {},
): Promise<DcGateway> {
  const robotToken = await keys.robot(robotId);
  const logger = pino({ level: process.env['GATEWAY_TEST_LOG'] ?? 'silent' });
  const gw = await startGateway(
    {
      robotId,
      signaling: {
        url: signalingUrl,
        token: () => robotToken,
        iceTransportPolicy: o.iceTransportPolicy ?? 'all',
        maxSessions: 16,
        highWaterBytes: Number(process.env['GATEWAY_DATACHANNEL_HIGH_WATER_BYTES'] ?? 32_768),
      },
      local: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      lan: { host: '127.0.0.1', port: 0, tls: o.tls ?? null },
      appPublicKey: keys.keys.publicKey,
      limits: DEFAULT_LIMITS,
      logLevel: 'silent',
    },
    logger,
  );
  const endpoint = new GatewayEndpoint({
    signaling: gw.config.signaling!,
    robotId,
    attachLink: (link) => gw.attachLink(link),
    services: () => gw.stats().services,
    highWaterBytes: gw.config.signaling!.highWaterBytes,
    metrics: gw.metrics,
    logger,
    reconnect: { initialDelayMs: 50, maxDelayMs: 300 },
    requestTimeoutMs: 5_000,
  });
  gw.onServicesChanged((names) => endpoint.updateServices(names));
  endpoint.start();
  await endpoint.registered();
  return {
    gw,
    endpoint,
    async close() {
      await Promise.all([gw.close(), endpoint.close()]);
    },
  };
}
