/**
 * A local service's connection as the hub sees it: text frames in, frames out with byte accounting for
 * backpressure, close. The hub knows no socket library; links/ws-service-link.ts adapts a `ws` socket.
 */
export interface ServiceLink {
  readonly remote: string;
  /** Every frame, as text; `isBinary` frames are refused by the hub (the protocol is JSON text). */
  onFrame(handler: (frame: string, isBinary: boolean) => void): void;
  onClose(handler: () => void): void;
  onError(handler: (err: Error) => void): void;
  send(frame: string): void;
  /** Bytes handed to send() and not yet written out. */
  readonly bufferedAmount: number;
  /** Where onDrain fires; chunks of large messages are sent only while bufferedAmount is at most this. */
  readonly lowWaterBytes: number;
  /** Called when bufferedAmount falls back under the link's low-water mark. */
  onDrain(handler: () => void): void;
  close(code: number, reason: string): void;
}
