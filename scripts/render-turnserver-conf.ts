#!/usr/bin/env -S node --import tsx
/**
 * Writes a turnserver.conf with the project's one renderer (infra/src/coturn/turnserver-conf.ts), for container
 * and local setups. The AWS program uses the same renderer; only the options differ.
 *
 *   npx tsx scripts/render-turnserver-conf.ts --out docker/coturn/turnserver.conf --allow-peer 172.16.0.0/12
 *
 * The secret is not written unless --secret-from-env NAME is given: pass it to coturn on its command line instead
 * (`turnserver -c /etc/coturn/turnserver.conf --static-auth-secret="$TURN_SECRET"`).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { renderTurnServerConf, TURN_DEFAULTS } from '@robostream/infra/turnserver-conf';

const USAGE = `usage: render-turnserver-conf [--out FILE] [--realm REALM] [--listening-port N] [--relay-min N --relay-max N]
  [--listening-ip IP]... [--relay-ip IP]... [--external-ip PUBLIC[/PRIVATE]] [--deny CIDR]... [--allow-peer CIDR]...
  [--tls-cert FILE --tls-key FILE [--tls-port N]] [--user-quota N] [--total-quota N] [--max-bps N]
  [--log-file stdout|syslog|PATH] [--secret-from-env NAME]`;

function int(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v)) throw new Error(`--${name} must be a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

function main(): void {
  const { values: a } = parseArgs({
    options: {
      out: { type: 'string' },
      realm: { type: 'string', default: 'robostream.local' },
      'listening-port': { type: 'string' },
      'relay-min': { type: 'string' },
      'relay-max': { type: 'string' },
      'listening-ip': { type: 'string', multiple: true },
      'relay-ip': { type: 'string', multiple: true },
      'external-ip': { type: 'string' },
      deny: { type: 'string', multiple: true },
      'allow-peer': { type: 'string', multiple: true },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-port': { type: 'string' },
      'user-quota': { type: 'string' },
      'total-quota': { type: 'string' },
      'max-bps': { type: 'string' },
      'log-file': { type: 'string', default: 'stdout' },
      'secret-from-env': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (a.help) {
    console.log(USAGE);
    return;
  }
  if (Boolean(a['tls-cert']) !== Boolean(a['tls-key']))
    throw new Error('--tls-cert and --tls-key go together');
  let secrets: string[] | undefined;
  if (a['secret-from-env']) {
    const v = process.env[a['secret-from-env']];
    if (!v) throw new Error(`environment variable ${a['secret-from-env']} is empty or unset`);
    secrets = [v];
  }
  const text = renderTurnServerConf({
    realm: a.realm!,
    listeningPort: int('listening-port', a['listening-port'], TURN_DEFAULTS.listeningPort),
    relayPorts: {
      min: int('relay-min', a['relay-min'], TURN_DEFAULTS.relayPorts.min),
      max: int('relay-max', a['relay-max'], TURN_DEFAULTS.relayPorts.max),
    },
    listeningIps: a['listening-ip'],
    relayIps: a['relay-ip'],
    externalIp: a['external-ip'],
    tls:
      a['tls-cert'] && a['tls-key']
        ? {
            port: int('tls-port', a['tls-port'], TURN_DEFAULTS.tlsPort),
            certFile: a['tls-cert'],
            keyFile: a['tls-key'],
          }
        : undefined,
    extraDeniedPeerRanges: (a.deny ?? []).map((cidr) => ({
      cidr,
      kind: 'vpc' as const,
      why: 'denied by --deny',
    })),
    allowedPeerRanges: (a['allow-peer'] ?? []).map((cidr) => ({
      cidr,
      why: 'local development (--allow-peer)',
    })),
    quotas: {
      userQuota: int('user-quota', a['user-quota'], TURN_DEFAULTS.quotas.userQuota),
      totalQuota: int('total-quota', a['total-quota'], TURN_DEFAULTS.quotas.totalQuota),
      maxBps: int('max-bps', a['max-bps'], TURN_DEFAULTS.quotas.maxBps),
    },
    staleNonceSec: TURN_DEFAULTS.staleNonceSec,
    authSecret: secrets
      ? { source: 'inline', secrets }
      : {
          source: 'appended-at-start',
          note: 'pass --static-auth-secret=<secret> on the turnserver command line',
        },
    logFile: a['log-file']!,
  });
  if (a.out) writeFileSync(a.out, text, { mode: secrets ? 0o600 : 0o644 });
  else process.stdout.write(text);
}

try {
  main();
} catch (e) {
  console.error(`render-turnserver-conf: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
  process.exit(2);
}
