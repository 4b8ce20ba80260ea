// Reads MCAP recordings back the way a user's tools do: @mcap/core's indexed reader for finished files, its
// stream reader for a file cut short (a crash), and GStreamer to decode the recorded H.264.
import { execFile } from 'node:child_process';
import { open, readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { McapIndexedReader, McapStreamReader, type McapTypes } from '@mcap/core';
import { FileHandleReadable } from '@mcap/nodejs';

const run = promisify(execFile);

export interface ReadMessage {
  topic: string;
  schemaName: string;
  logTime: bigint;
  publishTime: bigint;
  json: Record<string, unknown>;
}

export interface ReadRecording {
  channels: McapTypes.Channel[];
  schemas: McapTypes.Schema[];
  messages: ReadMessage[];
  metadata: Map<string, string>[];
}

const decoder = new TextDecoder();

/** A finished file: through its summary and index (fails when the file has none). */
export async function readIndexed(path: string): Promise<ReadRecording> {
  const fh = await open(path, 'r');
  try {
    const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(fh) });
    const channels = [...reader.channelsById.values()];
    const schemas = [...reader.schemasById.values()];
    const messages: ReadMessage[] = [];
    for await (const m of reader.readMessages()) {
      const channel = reader.channelsById.get(m.channelId);
      const schema = channel ? reader.schemasById.get(channel.schemaId) : undefined;
      messages.push({
        topic: channel?.topic ?? '?',
        schemaName: schema?.name ?? '?',
        logTime: m.logTime,
        publishTime: m.publishTime,
        json: JSON.parse(decoder.decode(m.data)) as Record<string, unknown>,
      });
    }
    const metadata: Map<string, string>[] = [];
    for await (const md of reader.readMetadata()) metadata.push(md.metadata);
    return { channels, schemas, messages, metadata };
  } finally {
    await fh.close();
  }
}

/** Any file, record by record from the start: what a crash left is read up to its last complete record. */
export async function readStream(path: string): Promise<ReadRecording & { complete: boolean }> {
  const reader = new McapStreamReader({ validateCrcs: true });
  reader.append(await readFile(path));
  const channels = new Map<number, McapTypes.Channel>();
  const schemas = new Map<number, McapTypes.Schema>();
  const messages: ReadMessage[] = [];
  const metadata: Map<string, string>[] = [];
  let complete = false;
  for (let r = reader.nextRecord(); r; r = reader.nextRecord()) {
    if (r.type === 'Schema') schemas.set(r.id, r);
    else if (r.type === 'Channel') channels.set(r.id, r);
    else if (r.type === 'Metadata') metadata.push(r.metadata);
    else if (r.type === 'Footer') complete = true;
    else if (r.type === 'Message') {
      const channel = channels.get(r.channelId);
      messages.push({
        topic: channel?.topic ?? '?',
        schemaName: (channel && schemas.get(channel.schemaId)?.name) ?? '?',
        logTime: r.logTime,
        publishTime: r.publishTime,
        json: JSON.parse(decoder.decode(r.data)) as Record<string, unknown>,
      });
    }
  }
  return { channels: [...channels.values()], schemas: [...schemas.values()], messages, metadata, complete };
}

/**
 * Decodes the access units of one camera with GStreamer (h264parse ! avdec_h264) into 8-bit grey pictures:
 * how many came out, and how much the pixels vary (a picture of one flat value is a failed decode).
 */
export async function decodeH264(
  units: Buffer[],
  dir: string,
  width: number,
  height: number,
): Promise<{ pictures: number; distinctValues: number }> {
  const h264 = `${dir}/video.h264`;
  const raw = `${dir}/video.gray`;
  await writeFile(h264, Buffer.concat(units));
  await run(
    'gst-launch-1.0',
    [
      '-q',
      'filesrc',
      `location=${h264}`,
      '!',
      'h264parse',
      '!',
      'avdec_h264',
      '!',
      'videoconvert',
      '!',
      `video/x-raw,format=GRAY8,width=${width},height=${height}`,
      '!',
      'filesink',
      `location=${raw}`,
    ],
    { timeout: 120_000 },
  );
  const pixels = await readFile(raw);
  const frame = width * height;
  const last = pixels.subarray(Math.max(0, pixels.length - frame));
  return { pictures: Math.floor(pixels.length / frame), distinctValues: new Set(last).size };
}
