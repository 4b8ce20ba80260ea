/** The direct transport: an app link over one websocket (wss on a LAN). Both classes share the socket. */
import type { WebSocket, RawData } from 'ws';
import type { AppLink, DeliveryClass } from './app-link.js';
import { WsTransport } from './ws-transport.js';

export class WsAppLink implements AppLink {
  readonly transport = 'direct' as const;
  private readonly out: WsTransport;
  private closeHandler: ((reason: string) => void) | null = null;
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    readonly remote: string,
    lowWaterBytes: number,
  ) {
    this.out = new WsTransport(ws, lowWaterBytes);
    ws.on('close', (code, reason) => this.finish(`closed ${code} ${reason.toString().slice(0, 80)}`.trim()));
    ws.on('error', (err) => this.finish(`error ${err.message}`));
  }

  send(frame: string, _cls: DeliveryClass): void {
    this.out.send(frame);
  }

  get lowWaterBytes(): number {
    return this.out.lowWaterBytes;
  }

  bufferedAmount(_cls: DeliveryClass): number {
    return this.out.bufferedAmount;
  }

  onMessage(handler: (frame: string, cls: DeliveryClass) => void): void {
    this.ws.on('message', (data: RawData) => handler(rawToString(data), 'reliable'));
  }

  onDrain(handler: () => void): void {
    this.out.onDrain(handler);
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandler = handler;
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING)
      this.ws.close(code, reason);
    // A peer that never answers the close handshake must not keep the link around.
    const t = setTimeout(() => this.ws.terminate(), 2_000);
    t.unref();
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeHandler?.(reason);
  }
}

export function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
