/**
 * Cutting one encoded frame into chunk frames (see chunk-frame.ts). Cuts fall on code-point boundaries, so every
 * slice is valid text on its own and its UTF-8 length is the same wherever it is measured (Node, browsers).
 * The plan is made in one pass; chunk frames are encoded one at a time as they are sent, so a 5 MB message
 * never exists as 5 MB of chunk frames at once.
 */
import { GATEWAY_ENVELOPE_VERSION } from './common.js';
import { CHUNK_DATA_BYTES, CHUNK_THRESHOLD_BYTES, MAX_CHUNKS } from './chunk-frame.js';

/** Finds the next non-ASCII unit: the regex engine skips ASCII runs far faster than a loop over charCodeAt. */
const NON_ASCII = /[\u0080-\uffff]/g;

/** Index of the first non-ASCII unit of s at or after `from`, or s.length. */
function nextNonAscii(s: string, from: number): number {
  NON_ASCII.lastIndex = from;
  return NON_ASCII.exec(s)?.index ?? s.length;
}

/** UTF-8 bytes of s[from, to) as TextEncoder and Buffer count them (a lone surrogate is 3, its replacement). */
export function utf8Length(s: string, from = 0, to = s.length): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const ascii = Math.min(nextNonAscii(s, i), to);
    n += ascii - i;
    i = ascii;
    if (i >= to) break;
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < to && isLow(s.charCodeAt(i + 1))) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** True when a frame must travel as chunks (the cheap length test first: a UTF-16 unit is at most 3 bytes). */
export function needsChunks(frame: string, thresholdBytes = CHUNK_THRESHOLD_BYTES): boolean {
  return frame.length > thresholdBytes / 3 && utf8Length(frame) > thresholdBytes;
}

export interface ChunkPlan {
  readonly id: string;
  /** UTF-8 bytes of the whole frame. */
  readonly total: number;
  readonly count: number;
  /** Chunks handed out so far. */
  readonly sent: number;
  /** The next chunk frame, encoded; undefined once all are out. */
  next(): string | undefined;
}

/**
 * Plans the chunks of `frame`. `id` names the transfer (1-64 characters, unique among the sender's transfers in
 * progress); `service` is set on app -> gateway chunks (where it goes) and gateway -> app chunks (whose it is).
 * Throws when `frame` would need more than MAX_CHUNKS chunks of `chunkBytes`: a caller bug, not peer input.
 */
export function planChunks(
  frame: string,
  o: { id: string; service?: string; chunkBytes?: number },
): ChunkPlan {
  const chunkBytes = Math.max(4, o.chunkBytes ?? CHUNK_DATA_BYTES);
  const cuts: number[] = [0];
  let bytes = 0;
  let total = 0;
  let ascii = -1; // end of the ASCII run the scan is in (found once per run, not once per chunk)
  for (let i = 0; i < frame.length;) {
    // An ASCII run is one byte a unit: jump to the next cut or the next non-ASCII unit at once.
    if (ascii < i) ascii = nextNonAscii(frame, i);
    if (ascii > i) {
      if (bytes === chunkBytes) {
        cuts.push(i);
        bytes = 0;
      }
      const take = Math.min(ascii - i, chunkBytes - bytes);
      bytes += take;
      total += take;
      i += take;
      continue;
    }
    const c = frame.charCodeAt(i);
    let units = 1;
    let b: number;
    if (c < 0x80) b = 1;
    else if (c < 0x800) b = 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < frame.length && isLow(frame.charCodeAt(i + 1))) {
      b = 4;
      units = 2;
    } else b = 3;
    if (bytes + b > chunkBytes) {
      cuts.push(i);
      bytes = 0;
    }
    bytes += b;
    total += b;
    i += units;
  }
  cuts.push(frame.length);
  const count = cuts.length - 1;
  if (count > MAX_CHUNKS) throw new Error(`a ${total}-byte frame needs more than ${MAX_CHUNKS} chunks`);
  const head = { v: GATEWAY_ENVELOPE_VERSION, type: 'chunk', id: o.id } as const;
  const service = o.service === undefined ? {} : { service: o.service };
  let index = 0;
  return {
    id: o.id,
    total,
    count,
    get sent() {
      return index;
    },
    next() {
      if (index >= count) return undefined;
      const data = frame.slice(cuts[index]!, cuts[index + 1]!);
      return JSON.stringify({ ...head, index: index++, count, total, ...service, data });
    },
  };
}
