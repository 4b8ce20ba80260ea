/**
 * The one renderer of coturn's turnserver.conf, used by the Pulumi program (EC2 user data), by
 * scripts/render-turnserver-conf.ts (the container setup) and by the loopback tests. Pure: no Pulumi, no I/O.
 *
 * The shared secret is normally NOT in the rendered text: with `authSecret.source === 'appended-at-start'` the
 * file ends before any `static-auth-secret=` line and whoever starts coturn appends them (the EC2 boot script
 * fetches them from Secrets Manager) or passes `--static-auth-secret` on the command line (compose).
 */
import { cidrToRange, DEFAULT_DENIED_PEER_RANGES, type DeniedRange } from './peer-ranges.js';

export interface TurnTls {
  /** TLS listener port (turns:). 5349 is the standard one; the AWS servers use 443, which firewalls let through. */
  port: number;
  /** PEM certificate chain, readable by the coturn user. */
  certFile: string;
  /** PEM private key, readable by the coturn user. */
  keyFile: string;
}

export type TurnAuthSecret =
  /** Secrets written into the file: loopback tests and throwaway local setups only. First one is current. */
  | { source: 'inline'; secrets: string[] }
  /** No secret in the file; `note` says (in a comment) who appends it at start. */
  | { source: 'appended-at-start'; note: string };

export interface TurnQuotas {
  /**
   * Concurrent allocations one subject may hold (user-quota). coturn counts it per name after the expiry in a
   * TURN REST username "<expiry>:<subject>", so it is shared by every credential ever minted for that robot or
   * app. At least 1 and below totalQuota: one subject (or one leaked credential) must never take a whole server.
   */
  userQuota: number;
  /** Concurrent allocations on this server (total-quota). 0 = unlimited (then only the relay port range limits). */
  totalQuota: number;
  /** Bytes per second per session, each direction (max-bps). 0 = unlimited. */
  maxBps: number;
}

export interface TurnServerConfOptions {
  realm: string;
  /** Plain UDP + TCP listener port (turn:). */
  listeningPort: number;
  /** Absent: TLS and DTLS listeners are switched off. */
  tls?: TurnTls;
  /** Relay (allocation) port range, inclusive. The security group opens exactly this range. */
  relayPorts: { min: number; max: number };
  /** Addresses to listen on; absent = all. */
  listeningIps?: string[];
  /** Addresses to allocate relays on; absent = the listening addresses. */
  relayIps?: string[];
  /** `public` or `public/private`: the address reported to clients when coturn sits behind 1:1 NAT (EC2 + EIP). */
  externalIp?: string;
  /** Denied on top of DEFAULT_DENIED_PEER_RANGES, e.g. the VPC's own CIDR blocks. */
  extraDeniedPeerRanges?: DeniedRange[];
  /**
   * Exceptions to the denied list (`allowed-peer-ip` wins over `denied-peer-ip` in coturn). Local development
   * only, e.g. the Docker networks the robot and app containers sit on. Never set by the AWS program.
   */
  allowedPeerRanges?: { cidr: string; why: string }[];
  quotas: TurnQuotas;
  /** Nonce lifetime in seconds (stale-nonce). */
  staleNonceSec: number;
  authSecret: TurnAuthSecret;
  /** Refuse RFC 6062 TCP relays (browsers never ask for them; one less way in). Default true. */
  noTcpRelay?: boolean;
  /** `stdout` (journald / docker logs), `syslog`, or a file path. */
  logFile: string;
  verbose?: boolean;
  /** Tests only (never in a shipped config): drop loopback from the denied list and add allow-loopback-peers. */
  testOnlyAllowLoopbackPeers?: boolean;
}

/** Hardened defaults shared by the EC2 program and the local example. */
export const TURN_DEFAULTS = {
  listeningPort: 3478,
  // 443: networks that let nothing but HTTPS out still reach turns: there (the standard 5349 is often blocked).
  tlsPort: 443,
  relayPorts: { min: 49152, max: 65535 },
  // userQuota: one RTCPeerConnection allocates once per TURN URL of a server (udp, tcp, turns: up to 3) and local
  // network (often 2): about 6 per session. 64 carries ~10 concurrent sessions of one subject (an operator watching
  // several robots, a robot with several viewers) and still leaves a subject at most 1/18 of a server.
  quotas: { userQuota: 64, totalQuota: 1200, maxBps: 3_000_000 },
  staleNonceSec: 600,
} as const;

export function renderTurnServerConf(o: TurnServerConfOptions): string {
  validate(o);
  const lines: string[] = [];
  const section = (title: string) => lines.push('', `# --- ${title}`);
  const set = (key: string, value?: string | number) =>
    lines.push(value === undefined ? key : `${key}=${String(value)}`);

  lines.push(
    '# turnserver.conf rendered by @robostream/infra (infra/src/coturn/turnserver-conf.ts). Do not edit by hand:',
    '# change the renderer options and render again.',
  );

  section('listeners');
  for (const ip of o.listeningIps ?? []) set('listening-ip', ip);
  for (const ip of o.relayIps ?? []) set('relay-ip', ip);
  set('listening-port', o.listeningPort);
  if (o.externalIp) set('external-ip', o.externalIp);
  set('min-port', o.relayPorts.min);
  set('max-port', o.relayPorts.max);
  set('no-rfc5780'); // NAT behaviour discovery is an amplification vector and WebRTC never uses it.
  set('no-stun-backward-compatibility');
  set('response-origin-only-with-rfc5780');
  if (o.noTcpRelay ?? true) set('no-tcp-relay');

  section('TLS');
  if (o.tls) {
    set('tls-listening-port', o.tls.port);
    set('cert', o.tls.certFile);
    set('pkey', o.tls.keyFile);
    set('no-tlsv1');
    set('no-tlsv1_1');
    set('no-dtls'); // Browsers use TURN over TLS (turns:), never DTLS to the server.
  } else {
    set('no-tls');
    set('no-dtls');
  }

  section(
    'authentication: TURN REST API credentials (username "<expiry>:<peer>", HMAC-SHA1 of the shared secret)',
  );
  set('use-auth-secret');
  set('realm', o.realm);
  set('fingerprint');
  set('stale-nonce', o.staleNonceSec);

  section('quotas');
  set('user-quota', o.quotas.userQuota);
  set('total-quota', o.quotas.totalQuota);
  set('max-bps', o.quotas.maxBps);

  section('peers a relay may never reach');
  set('no-multicast-peers');
  const denied = [...DEFAULT_DENIED_PEER_RANGES, ...(o.extraDeniedPeerRanges ?? [])].filter(
    (r) => !(o.testOnlyAllowLoopbackPeers && r.kind === 'loopback'),
  );
  for (const r of denied) {
    const { first, last } = cidrToRange(r.cidr);
    lines.push(`# ${r.cidr}: ${r.why}`);
    set('denied-peer-ip', `${first}-${last}`);
  }
  for (const r of o.allowedPeerRanges ?? []) {
    const { first, last } = cidrToRange(r.cidr);
    lines.push(`# ALLOWED despite the list above: ${r.cidr}: ${r.why}`);
    set('allowed-peer-ip', `${first}-${last}`);
  }
  if (o.testOnlyAllowLoopbackPeers) {
    lines.push('# TEST ONLY: loopback peers allowed so a loopback test can relay to itself.');
    set('allow-loopback-peers');
  }

  section('operations');
  set('no-cli');
  set('no-software-attribute');
  set('log-file', o.logFile);
  set('simple-log');
  if (o.verbose) set('verbose');

  section('shared secret');
  if (o.authSecret.source === 'inline') {
    for (const s of o.authSecret.secrets) set('static-auth-secret', s);
  } else {
    lines.push(`# static-auth-secret lines are not in this file: ${o.authSecret.note}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Why these quotas would let one subject take a whole server, or undefined when they do not. */
export function userQuotaProblem(q: Pick<TurnQuotas, 'userQuota' | 'totalQuota'>): string | undefined {
  if (q.userQuota === 0) return 'userQuota 0 (unlimited) would let one subject take the whole server';
  if (q.totalQuota > 0 && q.userQuota >= q.totalQuota)
    return `userQuota ${q.userQuota} must stay below totalQuota ${q.totalQuota}: one subject would take the whole server`;
  return undefined;
}

// Every value lands on a `key=value` line: one stray newline or space would inject or break a directive.
const TOKEN = /^[\x21-\x7e]+$/;

function validate(o: TurnServerConfOptions): void {
  const token = (name: string, v: string) => {
    if (!TOKEN.test(v))
      throw new Error(`${name} must be printable ASCII without spaces, got ${JSON.stringify(v)}`);
  };
  const port = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1 || v > 65535)
      throw new Error(`${name} must be a port 1-65535, got ${v}`);
  };
  const count = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a whole number >= 0, got ${v}`);
  };
  token('realm', o.realm);
  port('listeningPort', o.listeningPort);
  port('relayPorts.min', o.relayPorts.min);
  port('relayPorts.max', o.relayPorts.max);
  if (o.relayPorts.min > o.relayPorts.max) throw new Error('relayPorts.min must not exceed relayPorts.max');
  const inRelayRange = (p: number) => p >= o.relayPorts.min && p <= o.relayPorts.max;
  if (inRelayRange(o.listeningPort)) throw new Error('listeningPort lies inside the relay port range');
  if (o.tls) {
    port('tls.port', o.tls.port);
    if (inRelayRange(o.tls.port)) throw new Error('tls.port lies inside the relay port range');
    token('tls.certFile', o.tls.certFile);
    token('tls.keyFile', o.tls.keyFile);
  }
  for (const ip of [...(o.listeningIps ?? []), ...(o.relayIps ?? [])]) token('listening/relay ip', ip);
  if (o.externalIp !== undefined) token('externalIp', o.externalIp);
  for (const r of o.extraDeniedPeerRanges ?? []) {
    // coturn reads a range starting at `::` as "any address" and would refuse every peer.
    if (cidrToRange(r.cidr).first === '::')
      throw new Error(`denied range ${r.cidr} would deny every peer in coturn`);
    if (/[\r\n]/.test(r.why)) throw new Error('a denied range reason must be one line');
  }
  for (const r of o.allowedPeerRanges ?? []) {
    cidrToRange(r.cidr);
    if (/[\r\n]/.test(r.why)) throw new Error('an allowed range reason must be one line');
  }
  count('quotas.userQuota', o.quotas.userQuota);
  count('quotas.totalQuota', o.quotas.totalQuota);
  const quotaProblem = userQuotaProblem(o.quotas);
  if (quotaProblem) throw new Error(quotaProblem);
  count('quotas.maxBps', o.quotas.maxBps);
  if (!Number.isInteger(o.staleNonceSec) || o.staleNonceSec < 1)
    throw new Error('staleNonceSec must be >= 1');
  token('logFile', o.logFile);
  if (o.authSecret.source === 'inline') {
    if (o.authSecret.secrets.length === 0) throw new Error('inline authSecret needs at least one secret');
    o.authSecret.secrets.forEach((s) => token('static-auth-secret', s));
  } else if (/[\r\n]/.test(o.authSecret.note)) {
    throw new Error('authSecret.note must be one line');
  }
}
