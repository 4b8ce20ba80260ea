/**
 * One app connection, independent of its transport. The hub only ever talks to this interface, so a WebRTC
 * data-channel pair (reliable ordered + unreliable unordered) plugs in beside the direct websocket.
 *
 * Frames are already-encoded envelope JSON strings: the hub encodes a broadcast once and hands the same string
 * to every link.
 */
export type DeliveryClass = 'reliable' | 'lossy';
export type LinkTransport = 'direct' | 'datachannel';

export interface AppLink {
  readonly transport: LinkTransport;
  /** For logs and metrics only (remote address, signaling session id). Never a secret. */
  readonly remote: string;
  /**
   * Optional: a transport that must not be handed more than this many bytes at once (the hub queues beyond it,
   * in its bounded, drop-oldest lanes). The smaller of this and GATEWAY_HIGH_WATER_BYTES applies.
   */
  readonly highWaterBytes?: number;
  /**
   * Where onDrain fires: bufferedAmount fell to this or below. The hub sends chunks of large messages only while
   * bufferedAmount is at most this (default 16 KiB; it also looks again every few ms by itself).
   */
  readonly lowWaterBytes?: number;
  /**
   * Sends one frame now. `reliable` frames must arrive, in order; `lossy` frames may be lost or reordered
   * (a transport without a lossy path sends them reliably). The hub queues instead of calling this while
   * bufferedAmount(cls) is above its high-water mark, so an implementation need not buffer beyond that.
   */
  send(frame: string, cls: DeliveryClass): void;
  /** Bytes accepted by send(cls) and not yet handed to the network. */
  bufferedAmount(cls: DeliveryClass): number;
  /** Each incoming frame (UTF-8 text), with the class of the path it came on. Registered once, by the hub. */
  onMessage(handler: (frame: string, cls: DeliveryClass) => void): void;
  /** Called when bufferedAmount has fallen low again after being high (e.g. RTCDataChannel bufferedamountlow). */
  onDrain(handler: () => void): void;
  /** Called once when the link is gone, whoever closed it. */
  onClose(handler: (reason: string) => void): void;
  /** Closes the link; code is a websocket-style close code (see GatewayCloseCode). Idempotent. */
  close(code: number, reason: string): void;
}
