/**
 * Large messages on one client connection to the gateway (a robot program's websocket, an app's websocket or
 * reliable data channel): frames above the chunk threshold leave as paced chunks, behind the small frames
 * sent meanwhile; chunk frames that arrive are joined into the frame they came from. The service client, the
 * Node app client and the web console share it, so every side speaks chunks the same way.
 */
import type { ChunkFrame } from './chunk-frame.js';
import { ChunkedSender, type ChunkSink } from './chunked-sender.js';
import { Reassembler } from './chunk-reassembler.js';
import type { GatewayErrorCode } from './errors.js';

export interface LargeMessageLinkOptions {
  sink: ChunkSink;
  /** Largest message accepted from the gateway (default 64 MiB; the gateway applies its own caps first). */
  maxMessageBytes?: number;
  /** A message from the gateway with no chunk for this long is dropped (default 30 s). */
  idleTimeoutMs?: number;
  /** Chunks are sent while the sink holds at most this (default 16 KiB). */
  lowWaterBytes?: number;
  /** Frames above this are chunked (default CHUNK_THRESHOLD_BYTES, 16 KiB). */
  thresholdBytes?: number;
  /** Text per chunk (default CHUNK_DATA_BYTES, 16 KiB). */
  chunkBytes?: number;
  /** A message from the gateway that could not be joined (broken or too big); the link goes on. */
  onDropped?: (id: string, code: GatewayErrorCode, message: string) => void;
}

export class LargeMessageLink {
  private readonly sender: ChunkedSender;
  private readonly reassembler: Reassembler;

  constructor(private readonly o: LargeMessageLinkOptions) {
    this.sender = new ChunkedSender(o.sink, {
      lowWaterBytes: o.lowWaterBytes ?? 16 * 1024,
      ...(o.thresholdBytes === undefined ? {} : { thresholdBytes: o.thresholdBytes }),
      ...(o.chunkBytes === undefined ? {} : { chunkBytes: o.chunkBytes }),
    });
    const maxBytes = o.maxMessageBytes ?? 64 * 1024 * 1024;
    this.reassembler = new Reassembler({
      maxPartials: 16,
      idleTimeoutMs: o.idleTimeoutMs ?? 30_000,
      admit: () => ({ ok: true, maxBytes }),
      onExpired: (id) => o.onDropped?.(id, 'incomplete_message', `message ${id} stopped arriving`),
    });
  }

  /**
   * Sends one encoded frame: as it is when small, else as chunks under transfer `id` (a fresh one when absent;
   * `service` on app -> gateway chunks). Resolves when the last byte was handed to the sink: true, or false
   * when the transfer was cancelled or the connection closed. Returns false at once when nothing was sent.
   */
  send(frame: string, id?: string, service?: string): Promise<boolean> | boolean {
    if (!this.o.sink.isOpen()) return false;
    if (!this.sender.isLarge(frame)) {
      this.o.sink.send(frame);
      return true;
    }
    return this.sender.send(frame, id ?? this.sender.nextId(), service) ?? false;
  }

  /** Joins a received chunk; returns the whole frame once its last chunk is here. */
  receive(chunk: ChunkFrame): string | null {
    const r = this.reassembler.accept(chunk);
    if (r.kind === 'complete') return r.frame;
    if (r.kind === 'refused') this.o.onDropped?.(r.id, r.code, r.message);
    return null;
  }

  /** Stops sending transfer `id` (the gateway refused it: an error with ref = id). */
  cancel(id: string): boolean {
    return this.sender.cancel(id);
  }

  /** Transfers not yet fully sent. */
  get sending(): number {
    return this.sender.pending;
  }

  /** Call from the transport's drain event (write callback, bufferedamountlow): sends the next chunks. */
  pump(): void {
    this.sender.pump();
  }

  /** The connection closed: drops what was being sent and received. */
  reset(): void {
    this.sender.close();
    this.reassembler.clear();
  }
}
