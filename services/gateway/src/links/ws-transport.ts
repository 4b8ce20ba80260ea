/**
 * Byte accounting and drain notification for a `ws` socket. ws's own bufferedAmount only counts bytes not yet
 * given to the kernel socket; we count from send() until ws's write callback, which is what backpressure needs.
 */
import type { WebSocket } from 'ws';

export class WsTransport {
  private inflight = 0;
  private wasHigh = false;
  private drainHandler: (() => void) | null = null;

  constructor(
    readonly ws: WebSocket,
    readonly lowWaterBytes: number,
  ) {}

  send(frame: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    const n = Buffer.byteLength(frame);
    this.inflight += n;
    this.ws.send(frame, (err) => {
      this.inflight -= n;
      if (err) return; // the close handler takes care of the link
      if (this.wasHigh && this.inflight <= this.lowWaterBytes) {
        this.wasHigh = false;
        this.drainHandler?.();
      }
    });
    if (this.inflight > this.lowWaterBytes) this.wasHigh = true;
  }

  get bufferedAmount(): number {
    return this.inflight;
  }

  onDrain(handler: () => void): void {
    this.drainHandler = handler;
  }
}
