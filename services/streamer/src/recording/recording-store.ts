// The recordings directory: file names, listing, safe look-up by name for downloads, and the disk bounds
// (total size, age, the black box's window), oldest first. Only files named by the recorder are ever listed,
// served or deleted.
import { readdir, stat, unlink, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

export type RecordingKind = 'blackbox' | 'rec';

/** `<kind>-<UTC start, ms>-<n>.mcap`, e.g. `rec-20261130T013000123Z-1.mcap`: sorts by start time. */
const NAME = /^(blackbox|rec)-(\d{8}T\d{9}Z)-(\d{1,9})\.mcap$/;

export class RecordingNameError extends Error {
  readonly code = 'bad_recording_name';
  constructor(name: string) {
    super(`not a recording name: ${JSON.stringify(name.slice(0, 80))}`);
    this.name = 'RecordingNameError';
  }
}

export class RecordingNotFoundError extends Error {
  readonly code = 'recording_not_found';
  constructor(name: string) {
    super(`no recording ${name}`);
    this.name = 'RecordingNotFoundError';
  }
}

export interface RecordingFile {
  name: string;
  kind: RecordingKind;
  bytes: number;
  /** When the file was started / last written (epoch ms). */
  startedAt: number;
  modifiedAt: number;
  /** Still being written. */
  active: boolean;
}

export function recordingName(kind: RecordingKind, startedAt: number, n: number): string {
  const iso = new Date(startedAt).toISOString(); // 2026-11-30T01:30:00.123Z
  return `${kind}-${iso.replace(/[-:.]/g, '')}-${n}.mcap`;
}

function parseStart(stamp: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(stamp);
  if (!m) return 0;
  const [, y, mo, d, h, mi, s, ms] = m.map(Number) as number[];
  return Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s, ms);
}

export interface PruneResult {
  deleted: string[];
  bytes: number;
}

export class RecordingStore {
  private readonly active = new Set<string>();

  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  pathOf(name: string): string {
    if (!NAME.test(name)) throw new RecordingNameError(name);
    return join(this.dir, name);
  }

  markActive(name: string, active: boolean): void {
    if (active) this.active.add(name);
    else this.active.delete(name);
  }

  async list(): Promise<RecordingFile[]> {
    const files: RecordingFile[] = [];
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      const m = NAME.exec(name);
      if (!m) continue;
      const st = await stat(join(this.dir, name)).catch(() => null);
      if (!st?.isFile()) continue;
      files.push({
        name,
        kind: m[1] as RecordingKind,
        bytes: st.size,
        startedAt: parseStart(m[2] ?? ''),
        modifiedAt: st.mtimeMs,
        active: this.active.has(name),
      });
    }
    return files.sort((a, b) => a.startedAt - b.startedAt || a.name.localeCompare(b.name));
  }

  /** The file for a download: a typed error for a bad name (no path can be smuggled in) or a missing file. */
  async find(name: string): Promise<{ path: string; file: RecordingFile }> {
    const path = this.pathOf(name);
    const file = (await this.list()).find((f) => f.name === name);
    if (!file) throw new RecordingNotFoundError(name);
    return { path, file };
  }

  /** A full disk: deletes the oldest file not being written, black box files before on-demand ones. */
  async freeOldest(): Promise<string | null> {
    const files = (await this.list()).filter((f) => !f.active);
    const victim = files.find((f) => f.kind === 'blackbox') ?? files[0];
    if (!victim) return null;
    await unlink(join(this.dir, victim.name)).catch(() => undefined);
    return victim.name;
  }

  /**
   * Deletes, oldest first, black box files older than its window, any file older than maxAgeMs, then files
   * until the total is under maxBytes. A file being written is never deleted (it is the newest of its kind).
   */
  async prune(
    limits: { maxBytes: number; maxAgeMs: number; blackboxMs: number },
    now = Date.now(),
  ): Promise<PruneResult> {
    const files = await this.list();
    const deleted: string[] = [];
    const remove = async (f: RecordingFile): Promise<void> => {
      await unlink(join(this.dir, f.name)).catch(() => undefined);
      deleted.push(f.name);
    };
    let total = files.reduce((sum, f) => sum + f.bytes, 0);
    for (const f of files) {
      if (f.active) continue;
      // A black box file ends where the next one starts: its newest moment is its modification time.
      const tooOld =
        now - f.modifiedAt > limits.maxAgeMs ||
        (f.kind === 'blackbox' && now - f.modifiedAt > limits.blackboxMs);
      if (tooOld || total > limits.maxBytes) {
        await remove(f);
        total -= f.bytes;
      }
    }
    return { deleted, bytes: total };
  }
}
