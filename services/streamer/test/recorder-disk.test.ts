// Bounded disk (issue #14): the black box ring deletes its oldest files at the size limit, and a disk that fills
// up (a real 1.5 MiB tmpfs) costs recorded data only: the shared encoder keeps sending every packet to viewers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { StreamerCore } from '../src/core/streamer-core.js';
import { Recorder } from '../src/recording/recorder.js';
import { defaultRecordingConfig } from '../src/recording/recording-config.js';
import { readIndexed, readStream } from '../../../test/support/mcap.js';

const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const MiB = 1024 * 1024;

/** Packets a viewer got in each second: streaming going on means no empty second. */
function countPerSecond(core: StreamerCore): { perSecond: number[]; stop(): void } {
  const perSecond: number[] = [];
  let n = 0;
  const release = core.recordingSources().cameras[0]?.source.subscribe(() => n++);
  const timer = setInterval(() => {
    perSecond.push(n);
    n = 0;
  }, 1000);
  return {
    perSecond,
    stop() {
      clearInterval(timer);
      release?.();
    },
  };
}

async function dirBytes(dir: string): Promise<{ names: string[]; bytes: number }> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.mcap')).sort();
  let bytes = 0;
  for (const n of names) bytes += (await stat(join(dir, n))).size;
  return { names, bytes };
}

describe('recorder disk bounds', { timeout: 180_000 }, () => {
  let core: StreamerCore;
  const dirs: string[] = [];
  let mounted: string | null = null;

  before(async () => {
    core = await StreamerCore.start(
      loadConfig(
        {},
        {
          videoSources: [
            { id: 'front', kind: 'test', pattern: 'ball', width: 640, height: 360, framerate: 30 },
          ],
          audioSource: { kind: 'none' },
          encoder: 'x264',
          lowLayerEnabled: false,
          keyframeIntervalFrames: 15,
          bitrateStartKbps: 1500,
        },
      ),
      { log },
    );
  });

  after(async () => {
    await core?.close();
    if (mounted) execFileSync('umount', [mounted]);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('the size limit deletes the oldest files first; streaming goes on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rec-ring-'));
    dirs.push(dir);
    const maxBytes = 1 * MiB;
    const viewer = countPerSecond(core);
    const recorder = new Recorder(
      {
        ...defaultRecordingConfig,
        dir,
        blackboxSeconds: 600,
        segmentSeconds: 1,
        maxBytes,
        chunkBytes: 32 * 1024,
      },
      'ring-robot',
      core.recordingSources(),
      log,
    );
    await recorder.start();
    const seen = new Set<string>();
    let peak = 0;
    for (let i = 0; i < 16; i++) {
      await sleep(500);
      const d = await dirBytes(dir);
      for (const n of d.names) seen.add(n);
      peak = Math.max(peak, d.bytes);
    }
    await recorder.close();
    viewer.stop();
    const end = await dirBytes(dir);
    const first = [...seen].sort()[0] ?? '';
    assert.ok(seen.size >= 5, `files made: ${seen.size}`);
    assert.ok(!end.names.includes(first), 'the oldest file went');
    assert.ok(end.names.length < seen.size, `kept ${end.names.length} of ${seen.size}`);
    // Pruning runs after each rotation: at most one segment (about 1 s of video) above the limit.
    assert.ok(end.bytes <= maxBytes, `kept ${end.bytes} B, limit ${maxBytes}`);
    assert.ok(peak < maxBytes + 0.6 * MiB, `peak ${peak} B`);
    // Every file left starts at a keyframe and reads back whole.
    for (const n of end.names) {
      const r = await readIndexed(join(dir, n));
      const video = r.messages.filter((m) => m.topic === '/camera/front/h264');
      assert.ok(video.length > 0, n);
      assert.ok(
        Buffer.from(video[0]?.json.data as string, 'base64').includes(Buffer.from([0, 0, 0, 1, 0x67])),
        `${n} starts with SPS`,
      );
    }
    assert.ok(viewer.perSecond.length >= 7, `${viewer.perSecond.length} seconds counted`);
    for (const n of viewer.perSecond)
      assert.ok(n > 50, `viewer packets per second: ${viewer.perSecond.join(',')}`);
  });

  test('a full disk (tmpfs) never stops streaming; the recorder makes room and goes on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rec-full-'));
    dirs.push(dir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1536k', 'tmpfs', dir]);
    mounted = dir;
    const viewer = countPerSecond(core);
    const recorder = new Recorder(
      // The size limit is far above the disk: only the disk itself says "full".
      {
        ...defaultRecordingConfig,
        dir,
        blackboxSeconds: 600,
        segmentSeconds: 2,
        maxBytes: 64 * MiB,
        chunkBytes: 32 * 1024,
      },
      'full-robot',
      core.recordingSources(),
      log,
    );
    await recorder.start();
    const names = new Set<string>();
    for (let i = 0; i < 20; i++) {
      await sleep(500);
      for (const n of (await dirBytes(dir)).names) names.add(n);
    }
    const status = recorder.status();
    await recorder.close();
    viewer.stop();
    assert.ok(status.diskFullEvents >= 1, JSON.stringify(status));
    assert.match(status.lastError ?? '', /ENOSPC/);
    const after = (await dirBytes(dir)).names;
    // Files kept coming after the disk filled, and the oldest were deleted to make room.
    assert.ok(names.size > after.length, `made ${names.size}, kept ${after.length}`);
    assert.ok(after.length >= 1, 'files left');
    // A file cut by the full disk still reads up to its last chunk (the newest may hold no chunk yet).
    let withMessages = 0;
    for (const n of after) if ((await readStream(join(dir, n))).messages.length > 0) withMessages++;
    assert.ok(withMessages >= Math.max(1, after.length - 1), `${withMessages} of ${after.length} files read`);
    for (const n of viewer.perSecond)
      assert.ok(n > 50, `viewer packets per second: ${viewer.perSecond.join(',')}`);
    execFileSync('umount', [dir]);
    mounted = null;
  });
});
