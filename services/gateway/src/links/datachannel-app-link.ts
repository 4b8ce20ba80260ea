/**
 * The data-channel transport: an app link over a werift RTCPeerConnection with the two channels of the gateway
 * contract, both created by the app before its offer:
 *   `gateway-reliable` (ordered, reliable)             -> class 'reliable' (auth, commands, replies, e-stop...)
 *   `gateway-lossy`    (unordered, maxRetransmits 0)   -> class 'lossy' (telemetry)
 * Until the lossy channel is open, lossy frames go on the reliable channel (late rather than never).
 * The link is gone when the reliable channel closes or the peer connection fails or closes.
 * The frames handed over within one event-loop turn leave as one message, a JSON array of them (a lone frame as
 * itself), up to MAX_BATCH_BYTES: werift 0.24.4's SCTP moves about 1,500 small messages a second but the same
 * bytes in 16-frame messages at about 34,000 frames a second (measured, one process, loopback).
 */
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { releaseTurnAllocations } from '../signaling/werift-turn-release.js';
import type { AppLink, DeliveryClass } from './app-link.js';

const RELIABLE_LABEL = 'gateway-reliable';
const LOSSY_LABEL = 'gateway-lossy';

/** Frames that arrive before the hub registered its handler (the app sends `auth` as soon as it can). */
const MAX_EARLY_FRAMES = 64;
/** How long close() waits for queued frames (the final error) to leave before tearing the connection down. */
const CLOSE_FLUSH_MS = 500;
/** How long the peer connection outlives its channels' closing handshake at most. */
const CHANNEL_CLOSE_MS = 1_000;
/**
 * A batch is sent as soon as it would hold more than this. Reliable: well under every peer's max-message-size.
 * Lossy: what fits one datagram (SCTP chunk) on a 1,280-byte path, so that a lost datagram loses no more
 * telemetry than it did unbatched — a bigger message is lost whole when any of its fragments is.
 */
const MAX_BATCH_BYTES: Record<DeliveryClass, number> = { reliable: 16 * 1024, lossy: 1_100 };

interface Batch {
  frames: string[];
  bytes: number;
  limit: number;
}

export class DataChannelAppLink implements AppLink {
  readonly transport = 'datachannel' as const;
  private reliable: RTCDataChannel | null = null;
  private lossy: RTCDataChannel | null = null;
  private messageHandler: ((frame: string, cls: DeliveryClass) => void) | null = null;
  private drainHandler: (() => void) | null = null;
  private closeHandler: ((reason: string) => void) | null = null;
  private readonly early: Array<[string, DeliveryClass]> = [];
  private readonly openWaiters: Array<(ok: boolean) => void> = [];
  private closing = false;
  private closed = false;
  private closeReason = '';
  private endedByApp = false;
  private readonly endWaiters: Array<(reason: string) => void> = [];

  readonly lowWaterBytes: number;
  private readonly batches = new Map<RTCDataChannel, Batch>();
  private flushScheduled = false;

  /**
   * @param remote logs only (the signaling session id)
   * @param highWaterBytes what the hub may hand to werift per channel (the batch being gathered included)
   *   before queueing itself: werift 0.24.4's SCTP stalls (no progress for seconds) when hundreds of messages
   *   are queued in it, while the hub's own queues are bounded and drop the oldest telemetry. With batches of
   *   up to MAX_BATCH_BYTES, a few tens of KiB are a few messages. onDrain fires at half of it.
   */
  constructor(
    private readonly pc: RTCPeerConnection,
    readonly remote: string,
    readonly highWaterBytes: number,
  ) {
    this.lowWaterBytes = Math.floor(highWaterBytes / 2);
    pc.onDataChannel.subscribe((dc) => this.adopt(dc));
    pc.connectionStateChange.subscribe((state) => {
      if (state === 'failed' || state === 'closed') this.finish(`peer connection ${state}`);
    });
  }

  /** Resolves true once the reliable channel is open (the link can be attached), false if the link ended first. */
  opened(): Promise<boolean> {
    if (this.reliable?.readyState === 'open') return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => this.openWaiters.push(resolve));
  }

  /** The link ended because the app closed its reliable channel (or its whole connection). */
  get closedByApp(): boolean {
    return this.endedByApp;
  }

  /** Resolves with the reason once the link is gone (the hub's onClose slot is its own; this is for the owner). */
  ended(): Promise<string> {
    if (this.closed) return Promise.resolve(this.closeReason);
    return new Promise((resolve) => this.endWaiters.push(resolve));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get lossyOpen(): boolean {
    return this.lossy?.readyState === 'open';
  }

  send(frame: string, cls: DeliveryClass): void {
    if (this.closed) return;
    const dc = this.channelFor(cls);
    if (!dc || dc.readyState !== 'open') return;
    let batch = this.batches.get(dc);
    if (!batch) {
      batch = { frames: [], bytes: 0, limit: MAX_BATCH_BYTES[dc === this.lossy ? 'lossy' : 'reliable'] };
      this.batches.set(dc, batch);
    }
    // A frame that would push the batch past the limit starts the next one (a big frame travels alone).
    if (batch.bytes > 0 && batch.bytes + frame.length + 1 > batch.limit) {
      this.sendBatch(dc, batch);
      batch = { frames: [], bytes: 0, limit: batch.limit };
      this.batches.set(dc, batch);
    }
    batch.frames.push(frame);
    batch.bytes += frame.length + 1;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Bytes in werift's send buffer plus the batch still being gathered (the hub's back-pressure sees both). */
  bufferedAmount(cls: DeliveryClass): number {
    const dc = this.channelFor(cls);
    if (!dc) return 0;
    return dc.bufferedAmount + (this.batches.get(dc)?.bytes ?? 0);
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const [dc, batch] of this.batches) this.sendBatch(dc, batch);
  }

  private sendBatch(dc: RTCDataChannel, batch: Batch): void {
    this.batches.delete(dc);
    if (this.closed || dc.readyState !== 'open' || batch.frames.length === 0) return;
    try {
      dc.send(batch.frames.length === 1 ? batch.frames[0]! : `[${batch.frames.join(',')}]`);
    } catch (err) {
      // Bigger than the peer's max-message-size: the hub limits frames, so this is a broken peer.
      this.close(1009, `send failed: ${(err as Error).message}`);
    }
  }

  onMessage(handler: (frame: string, cls: DeliveryClass) => void): void {
    this.messageHandler = handler;
    for (const [frame, cls] of this.early.splice(0)) handler(frame, cls);
  }

  onDrain(handler: () => void): void {
    this.drainHandler = handler;
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandler = handler;
    if (this.closed) handler(this.closeReason);
  }

  close(code: number, reason: string): void {
    if (this.closing || this.closed) return;
    this.closing = true;
    // The hub queues a final error before closing: give it a moment to leave, then tear down.
    const started = Date.now();
    const tick = setInterval(() => {
      const pending = this.bufferedAmount('reliable') > 0;
      if (!pending || Date.now() - started > CLOSE_FLUSH_MS) {
        clearInterval(tick);
        this.finish(`closed ${code} ${reason}`);
      }
    }, 10);
    tick.unref();
  }

  private channelFor(cls: DeliveryClass): RTCDataChannel | null {
    if (cls === 'lossy' && this.lossy?.readyState === 'open') return this.lossy;
    return this.reliable;
  }

  private adopt(dc: RTCDataChannel): void {
    let cls: DeliveryClass;
    if (dc.label === RELIABLE_LABEL && !this.reliable) {
      cls = 'reliable';
      this.reliable = dc;
    } else if (dc.label === LOSSY_LABEL && !this.lossy) {
      cls = 'lossy';
      this.lossy = dc;
    } else {
      // Not part of the contract (or a duplicate): refuse it rather than guess its class.
      dc.close();
      return;
    }
    dc.bufferedAmountLowThreshold = this.lowWaterBytes;
    dc.bufferedAmountLow.subscribe(() => this.drainHandler?.());
    dc.onMessage.subscribe((data) => {
      if (this.closed) return;
      const frame = typeof data === 'string' ? data : data.toString('utf8');
      if (this.messageHandler) this.messageHandler(frame, cls);
      else if (this.early.length < MAX_EARLY_FRAMES) this.early.push([frame, cls]);
    });
    dc.stateChanged.subscribe((state) => {
      if (state === 'open' && cls === 'reliable') for (const w of this.openWaiters.splice(0)) w(true);
      if (state === 'closed' && cls === 'reliable') this.finish('reliable channel closed', true);
      // A lost lossy channel is not fatal: its frames fall back to the reliable one.
    });
    if (dc.readyState === 'open' && cls === 'reliable') for (const w of this.openWaiters.splice(0)) w(true);
  }

  /** `byApp`: the app closed its reliable channel (or its whole connection). */
  private finish(reason: string, byApp = false): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.endedByApp = byApp;
    for (const w of this.openWaiters.splice(0)) w(false);
    const open = [this.reliable, this.lossy].filter(
      (dc): dc is RTCDataChannel => !!dc && dc.readyState !== 'closed',
    );
    for (const dc of open) {
      try {
        dc.close();
      } catch {
        // closing a channel whose transport is already gone
      }
    }
    // Let the stream resets reach the app (its channels then say 'closed') before the transport goes away.
    const started = Date.now();
    const tick = setInterval(() => {
      if (open.every((dc) => dc.readyState === 'closed') || Date.now() - started > CHANNEL_CLOSE_MS) {
        clearInterval(tick);
        // The TURN server frees the session's relay ports now, not at their expiry (werift-turn-release.ts).
        void releaseTurnAllocations(this.pc)
          .then(() => this.pc.close())
          .catch(() => undefined);
      }
    }, 10);
    tick.unref();
    this.closeHandler?.(reason);
    for (const w of this.endWaiters.splice(0)) w(reason);
  }
}
