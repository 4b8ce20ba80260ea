// Which STUN/TURN servers answer, so that a peer connection is never given one that does not. werift gathers
// server-reflexive and relay candidates inside setLocalDescription with a 5 s timeout per server and starts its
// connectivity checks only after gathering: one unreachable server (a TURN host that is not routable from inside
// a container, a robot on a network that blocks UDP 3478) delayed every session's first frame by about 6 s.
//
// Each server is probed with one STUN request (an unauthenticated Allocate for TURN, which coturn answers with
// 401, or a Binding for STUN; a response with our transaction id proves the path), or a TCP connect for
// `?transport=tcp`. Over UDP only a response from the very address the request went to counts: werift ignores
// any other (RFC 7675) and retransmits for 6.35 s before it gives up. Docker's UDP proxy does exactly that to a
// container reaching a published port at the host's address (compose's TURN_HOST): the reply leaves the proxy's
// wildcard socket from the host's address on the container's network, not from the address asked. Results are kept for `refreshMs` and refreshed in the background, so warm sessions never wait;
// a cold session waits at most `timeoutMs`. A server that stops answering is left out until it answers again.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

/** An ICE server as peer connections take it (only its URLs matter here). */
export interface IceServerLike {
  urls: string | string[];
}

/** Where the probe says which servers answer (a pino logger fits). */
export interface ProbeLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const ALLOCATE_REQUEST = 0x0003;
const REQUESTED_TRANSPORT = 0x0019;
const UDP_PROTOCOL = 17;

export interface ProbeTarget {
  scheme: 'stun' | 'turn' | 'turns';
  host: string;
  port: number;
  transport: 'udp' | 'tcp';
}

/** stun:host[:port], turn:host[:port][?transport=udp|tcp], turns:... (IPv6 in brackets). */
export function parseIceUrl(url: string): ProbeTarget | null {
  const m = /^(stuns?|turns?):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/i.exec(url.trim());
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'stuns') return null;
  const tls = scheme === 'turns';
  return {
    scheme: scheme as ProbeTarget['scheme'],
    host: m[2]!.replace(/^\[|\]$/g, ''),
    port: m[3] ? Number(m[3]) : tls ? 5349 : 3478,
    transport: tls ? 'tcp' : ((m[4]?.toLowerCase() as 'udp' | 'tcp' | undefined) ?? 'udp'),
  };
}

/** A STUN request: Binding for STUN servers, an Allocate without credentials for TURN servers. */
export function stunRequest(kind: 'binding' | 'allocate', transactionId: Buffer): Buffer {
  const attrs =
    kind === 'allocate'
      ? Buffer.from([REQUESTED_TRANSPORT >> 8, REQUESTED_TRANSPORT & 0xff, 0, 4, UDP_PROTOCOL, 0, 0, 0])
      : Buffer.alloc(0);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(kind === 'allocate' ? ALLOCATE_REQUEST : BINDING_REQUEST, 0);
  header.writeUInt16BE(attrs.length, 2);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  return Buffer.concat([header, attrs]);
}

/** True when `msg` is a STUN response (success or error) carrying `transactionId`. */
export function isStunResponseTo(msg: Buffer, transactionId: Buffer): boolean {
  if (msg.length < 20) return false;
  const type = msg.readUInt16BE(0);
  const isResponse = (type & 0x0110) === 0x0100 || (type & 0x0110) === 0x0110;
  return isResponse && msg.readUInt32BE(4) === MAGIC_COOKIE && msg.subarray(8, 20).equals(transactionId);
}

function probeUdp(t: ProbeTarget, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const family = t.host.includes(':') ? 'udp6' : 'udp4';
    const socket = createSocket(family);
    const tid = randomBytes(12);
    const request = stunRequest(t.scheme === 'stun' ? 'binding' : 'allocate', tid);
    let done = false;
    let resend: ReturnType<typeof setInterval> | undefined;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(resend);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('message', (msg) => {
      if (isStunResponseTo(msg, tid)) finish(true);
    });
    // Also ECONNREFUSED from an ICMP port-unreachable: nothing listens there.
    socket.on('error', () => finish(false));
    // A connected socket: the kernel delivers datagrams from the server's address and port only, the same
    // check werift makes on its STUN and TURN responses.
    // Node calls back with the error when the name does not resolve (the socket is then not connected, and a
    // send would throw): the server is not usable.
    socket.connect(t.port, t.host, (...args: unknown[]) => {
      if (done) return;
      if (args[0]) return finish(false);
      const send = (): void => {
        try {
          socket.send(request, (err) => err && finish(false));
        } catch {
          finish(false);
        }
      };
      // UDP: a second and third copy in case the first is lost.
      resend = setInterval(send, Math.max(100, timeoutMs / 4));
      send();
    });
  });
}

function probeTcp(t: ProbeTarget, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: t.host, port: t.port });
    const timer = setTimeout(() => finish(false), timeoutMs);
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

export type UrlProber = (target: ProbeTarget, timeoutMs: number) => Promise<boolean>;
export const probeIceUrl: UrlProber = (t, timeoutMs) =>
  t.transport === 'tcp' ? probeTcp(t, timeoutMs) : probeUdp(t, timeoutMs);

interface Entry {
  ok: boolean;
  at: number;
  pending: Promise<boolean> | null;
}

export interface IceServerProbeOptions {
  timeoutMs?: number;
  refreshMs?: number;
  log?: ProbeLog;
  prober?: UrlProber;
}

export class IceServerProbe {
  private readonly results = new Map<string, Entry>();
  private readonly timeoutMs: number;
  private readonly refreshMs: number;

  constructor(private readonly o: IceServerProbeOptions = {}) {
    this.timeoutMs = o.timeoutMs ?? 1000;
    this.refreshMs = o.refreshMs ?? 30_000;
  }

  /** Starts probing ahead of the first session (start-up, or servers handed out by signaling). */
  warm(servers: IceServerLike[]): void {
    for (const url of urlsOf(servers)) void this.check(url);
  }

  /**
   * The servers with only the URLs that answered. Known results are used at once (and refreshed in the
   * background when old); unknown URLs are probed, waiting at most the probe timeout.
   */
  async usable<S extends IceServerLike>(servers: S[]): Promise<S[]> {
    const urls = urlsOf(servers);
    const ok = new Map<string, boolean>(
      await Promise.all(urls.map(async (u) => [u, await this.check(u)] as const)),
    );
    return keep(servers, ok);
  }

  /**
   * Without waiting: the servers minus the URLs already known not to answer (unknown ones are kept, and probed
   * for next time). For callers that cannot wait, after `warm` had the time to learn.
   */
  usableNow<S extends IceServerLike>(servers: S[]): S[] {
    const ok = new Map<string, boolean>();
    for (const u of urlsOf(servers)) {
      void this.check(u);
      const e = this.results.get(u);
      if (e && e.at > 0) ok.set(u, e.ok);
    }
    return keep(servers, ok);
  }

  private check(url: string): Promise<boolean> {
    const target = parseIceUrl(url);
    // What cannot be probed (stuns:, odd URLs) is passed through unchanged.
    if (!target) return Promise.resolve(true);
    const now = performance.now();
    const e = this.results.get(url);
    if (e && !e.pending && now - e.at > this.refreshMs) this.run(url, target, e);
    if (e?.at !== undefined && e.at > 0) return Promise.resolve(e.ok);
    if (e?.pending) return e.pending;
    const fresh: Entry = { ok: false, at: 0, pending: null };
    this.results.set(url, fresh);
    return this.run(url, target, fresh);
  }

  private run(url: string, target: ProbeTarget, e: Entry): Promise<boolean> {
    const prober = this.o.prober ?? probeIceUrl;
    e.pending = prober(target, this.timeoutMs).then(
      (ok) => {
        if (ok !== e.ok || e.at === 0) {
          const log = this.o.log;
          if (ok) log?.info({ url }, 'ICE server reachable');
          else
            log?.warn({ url, timeoutMs: this.timeoutMs }, 'ICE server not answering; left out of sessions');
        }
        e.ok = ok;
        e.at = performance.now();
        e.pending = null;
        return ok;
      },
      () => {
        e.ok = false;
        e.at = performance.now();
        e.pending = null;
        return false;
      },
    );
    return e.pending;
  }
}

function keep<S extends IceServerLike>(servers: S[], ok: Map<string, boolean>): S[] {
  const out: S[] = [];
  for (const s of servers) {
    const kept = (Array.isArray(s.urls) ? s.urls : [s.urls]).filter((u) => ok.get(u) !== false);
    if (kept.length > 0) out.push({ ...s, urls: kept });
  }
  return out;
}

const urlsOf = (servers: IceServerLike[]): string[] => [
  ...new Set(servers.flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]))),
];

/** A werift peer connection, as far as its ICE agents' STUN server goes (typed without importing werift). */
export interface WeriftIceAgents {
  readonly dtlsTransports: readonly {
    readonly iceTransport: { readonly connection: { stunServer?: unknown } };
  }[];
}

/**
 * werift queries stun.l.google.com:19302 whenever its servers hold no stun: URL, and its answer waits for that
 * query: up to 5 s on a robot whose DNS answers but whose UDP to the internet is blocked, which the probe cannot
 * prevent (that server is nowhere in the list it filters). Without a stun: URL among `servers` (none configured,
 * or none answering) the agents make no server-reflexive query at all. Call it once the peer connection has its
 * transport (after setRemoteDescription for an answerer) and before setLocalDescription, which gathers.
 */
export function withoutImplicitStun(pc: WeriftIceAgents, servers: IceServerLike[]): void {
  if (urlsOf(servers).some((u) => /^stuns?:/i.test(u))) return;
  for (const dtls of pc.dtlsTransports) dtls.iceTransport.connection.stunServer = undefined;
}
