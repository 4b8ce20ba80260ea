// Reads the gateway's tap (newline-delimited JSON over HTTP, on the gateway's local listener) and hands each
// record to the recorder; reconnects with backoff while the gateway is away. The streamer and the gateway are
// separate processes (either may restart alone), so this is the one link between them.
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import type { TapRecord } from '@robostream/protocol/gateway';

export interface TapClientEvents {
  record(r: TapRecord): void;
  connected(): void;
  lost(reason: string): void;
}

const MAX_LINE = 1024 * 1024;

/** `http://host:port/v1/tap` or `unix:/run/robostream/gateway.sock:/v1/tap`. */
export function tapTarget(url: string): { socketPath?: string; url?: URL; path: string } {
  if (url.startsWith('unix:')) {
    const rest = url.slice('unix:'.length);
    const at = rest.lastIndexOf(':');
    return at > 0
      ? { socketPath: rest.slice(0, at), path: rest.slice(at + 1) }
      : { socketPath: rest, path: '/v1/tap' };
  }
  const u = new URL(url);
  return { url: u, path: u.pathname + u.search };
}

export class GatewayTapClient {
  private req: ClientRequest | null = null;
  private timer: NodeJS.Timeout | null = null;
  private delayMs = 500;
  private closed = false;
  private up = false;
  records = 0;
  /** Records the gateway dropped for us (we did not keep up) plus lines we could not parse. */
  lostRecords = 0;

  constructor(
    private readonly url: string,
    private readonly on: TapClientEvents,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.closed || this.req) return;
    const t = tapTarget(this.url);
    const options = t.socketPath
      ? { socketPath: t.socketPath, path: t.path }
      : { host: t.url?.hostname, port: t.url?.port, path: t.path };
    const req = (t.url?.protocol === 'https:' ? httpsRequest : request)(
      { ...options, method: 'GET' },
      (res) => this.read(res),
    );
    req.on('error', (err) => this.retry(err.message));
    req.end();
    this.req = req;
  }

  get connected(): boolean {
    return this.up;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.req?.destroy();
    this.req = null;
  }

  private read(res: IncomingMessage): void {
    if (res.statusCode !== 200) {
      res.resume();
      return this.retry(`tap answered HTTP ${res.statusCode}`);
    }
    this.up = true;
    this.delayMs = 500;
    this.on.connected();
    let rest = '';
    res.setEncoding('utf8');
    res.on('data', (text: string) => {
      rest += text;
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        if (line) this.line(line);
      }
      if (rest.length > MAX_LINE) {
        this.lostRecords++;
        rest = '';
      }
    });
    res.on('end', () => this.retry('gateway closed the tap'));
    res.on('error', (err) => this.retry(err.message));
  }

  private line(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.lostRecords++;
      return;
    }
    if (!value || typeof value !== 'object') return;
    const v = value as Record<string, unknown>;
    if (typeof v.dropped === 'number') {
      this.lostRecords += v.dropped;
      return;
    }
    const m = v.message as Record<string, unknown> | undefined;
    if (typeof v.at !== 'number' || typeof v.origin !== 'string' || typeof m?.type !== 'string') {
      this.lostRecords++;
      return;
    }
    this.records++;
    this.on.record(value as TapRecord);
  }

  private retry(reason: string): void {
    this.req?.destroy();
    this.req = null;
    if (this.up) {
      this.up = false;
      this.on.lost(reason);
    }
    if (this.closed || this.timer) return;
    this.log.debug({ reason, retryInMs: this.delayMs }, 'gateway tap unavailable');
    this.timer = setTimeout(() => {
      this.timer = null;
      this.start();
    }, this.delayMs);
    this.delayMs = Math.min(this.delayMs * 2, 10_000);
  }
}
