// Crash safety (issue #14): a recorder killed with SIGKILL leaves a file that @mcap/core's stream reader reads up
// to its last complete chunk, with video that still starts at a keyframe.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readIndexed, readStream, decodeH264 } from '../../../test/support/mcap.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
after(async () => {
  // A failed assertion before the kill must not leave the recorder running (and writing) after the test.
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test(
  'SIGKILL mid-recording: the file reads up to its last complete chunk',
  { timeout: 120_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rec-crash-'));
    dirs.push(dir);
    const chunkBytes = 64 * 1024;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'services/streamer/test/support/recorder-child.ts', dir, String(chunkBytes)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, UV_THREADPOOL_SIZE: '16' },
      },
    );
    children.push(child);
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_c, sig) => resolve(sig)),
    );
    // Kill it once the file holds several chunks: mid-write, with no end() ever called.
    for await (const line of createInterface({ input: child.stdout })) {
      // Status lines only; anything else the child prints (a log line) is not one.
      let files: { bytes: number }[] | undefined;
      try {
        files = (JSON.parse(line) as { files?: { bytes: number }[] }).files;
      } catch {
        continue;
      }
      if (Array.isArray(files) && (files[0]?.bytes ?? 0) > 6 * chunkBytes) break;
    }
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');

    const names = (await readdir(dir)).filter((n) => n.endsWith('.mcap'));
    assert.equal(names.length, 1, names.join(','));
    const path = join(dir, names[0] ?? '');
    const size = (await stat(path)).size;
    // No summary, no footer: the indexed reader (which needs them) refuses the file...
    await assert.rejects(readIndexed(path));
    // ...and the stream reader gets every message of every complete chunk.
    const r = await readStream(path);
    assert.equal(r.complete, false);
    const video = r.messages.filter((m) => m.topic === '/camera/front/h264');
    assert.ok(video.length >= 30, `video frames read back: ${video.length}`);
    assert.ok(
      r.messages.some((m) => m.topic === '/audio/mic/opus'),
      'audio read back',
    );
    // What is lost is at most the chunk being filled (plus a record cut in the middle).
    const readBytes = r.messages.reduce((n, m) => n + JSON.stringify(m.json).length, 0);
    assert.ok(size - readBytes < 3 * chunkBytes, `file ${size} B, read back ${readBytes} B of messages`);
    const units = video.map((m) => Buffer.from(m.json.data as string, 'base64'));
    const decoded = await decodeH264(units, dir, 640, 360);
    assert.ok(
      Math.abs(decoded.pictures - units.length) <= 2,
      `decoded ${decoded.pictures} of ${units.length}`,
    );
  },
);
