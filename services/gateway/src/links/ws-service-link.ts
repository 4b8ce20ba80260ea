/** A local service's `ws` socket as the hub's ServiceLink. */
import type { RawData, WebSocket } from 'ws';
import type { ServiceLink } from '../hub/service-link.js';
import { WsTransport } from './ws-transport.js';
import { rawToString } from './ws-app-link.js';

export class WsServiceLink implements ServiceLink {
  private readonly transport: WsTransport;

  /** @param lowWaterBytes onDrain fires once the bytes in flight fall to this. */
  constructor(
    private readonly ws: WebSocket,
    readonly remote: string,
    lowWaterBytes: number,
  ) {
    this.transport = new WsTransport(ws, lowWaterBytes);
  }

  onFrame(handler: (frame: string, isBinary: boolean) => void): void {
    this.ws.on('message', (data: RawData, isBinary: boolean) => handler(rawToString(data), isBinary));
  }

  onClose(handler: () => void): void {
    this.ws.on('close', () => handler());
  }

  onError(handler: (err: Error) => void): void {
    this.ws.on('error', handler);
  }

  send(frame: string): void {
    this.transport.send(frame);
  }

  get lowWaterBytes(): number {
    return this.transport.lowWaterBytes;
  }

  get bufferedAmount(): number {
    return this.transport.bufferedAmount;
  }

  onDrain(handler: () => void): void {
    this.transport.onDrain(handler);
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }
}
