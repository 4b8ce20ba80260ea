/**
 * Chunk frames: how a message bigger than one frame (a map, a point cloud, a file) crosses a link. The sender
 * encodes the message as usual (one envelope frame, JSON text), cuts that text into slices of at most
 * CHUNK_DATA_BYTES UTF-8 bytes and sends each slice as a `chunk` frame, in order, on a reliable ordered path.
 * The receiver joins the slices and handles the result as the one frame it is. Sizes are UTF-8 bytes of `data`.
 * See docs/gateway.md, "Large messages".
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { MessageId, ServiceName, V } from './common.js';

/** Encoded frames above this many UTF-8 bytes are sent as chunks (by the gateway and by the project's clients). */
export const CHUNK_THRESHOLD_BYTES = 16 * 1024;
/**
 * UTF-8 bytes of message text per chunk. With JSON escaping a chunk frame is at most about twice that, so well
 * under the gateway's 64 KiB frame limit, werift's 64 KiB and Chromium's 256 KiB SCTP max-message-size.
 */
export const CHUNK_DATA_BYTES = 16 * 1024;
/** Most chunks one message may have: bounds a receiver's bookkeeping (65,536 x 16 KiB = 1 GiB). */
export const MAX_CHUNKS = 65_536;
/** No message may declare more than this, whatever a receiver's own cap (a bound for the schema). */
export const MAX_MESSAGE_BYTES_CEILING = 1024 * 1024 * 1024;

const obj = <P extends Record<string, TSchema>>(props: P) =>
  Type.Object(props, { additionalProperties: false });

const chunkFields = {
  v: V,
  type: Type.Literal('chunk'),
  /** The sender's id for this message, unique among its transfers in progress; errors about it carry it as ref. */
  id: MessageId,
  /** 0 .. count-1, in order. */
  index: Type.Integer({ minimum: 0, maximum: MAX_CHUNKS - 1 }),
  count: Type.Integer({ minimum: 1, maximum: MAX_CHUNKS }),
  /** UTF-8 bytes of the whole message (every chunk repeats it; the receiver checks it at the first). */
  total: Type.Integer({ minimum: 1, maximum: MAX_MESSAGE_BYTES_CEILING }),
  /** A slice of the message's JSON text; never empty. */
  data: Type.String({ minLength: 1 }),
};

/** app -> gateway: `service` names where the message goes, so its size cap is checked at the first chunk. */
export const AppChunk = obj({ ...chunkFields, service: ServiceName });
/** service -> gateway: the sender is the service. */
export const ServiceChunk = obj(chunkFields);
/** gateway -> app (`service`: whose message it is) and gateway -> service (no `service`). */
export const GatewayChunk = obj({ ...chunkFields, service: Type.Optional(ServiceName) });

export type AppChunk = Static<typeof AppChunk>;
export type ServiceChunk = Static<typeof ServiceChunk>;
export type GatewayChunk = Static<typeof GatewayChunk>;
/** Any chunk frame, as a reassembler reads it. */
export type ChunkFrame = ServiceChunk & { service?: string };
