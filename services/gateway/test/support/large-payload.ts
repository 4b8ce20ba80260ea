/** A big, deterministic payload (a "point cloud" with some non-ASCII text) and its digest, for large-message tests. */
import { createHash } from 'node:crypto';

/** About `bytes` of JSON: a base64 blob and a list of points, with multi-byte characters to cut across. */
export function largePayload(
  bytes: number,
  seed = 1,
): { name: string; note: string; points: number[]; blob: string } {
  let x = seed;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31);
  const points: number[] = [];
  for (let i = 0; i < bytes / 20; i++) points.push(next() / 1024);
  const blob = Buffer.from(Array.from({ length: Math.floor(bytes * 0.375) }, () => next() & 0xff)).toString(
    'base64',
  );
  return { name: `cloud-${seed}`, note: 'é€😀 '.repeat(500), points, blob };
}

export const sha256 = (value: unknown): string =>
  createHash('sha256').update(JSON.stringify(value)).digest('hex');
