// Running ip/tc/iptables (and anything else) inside a lab namespace. Every command the lab runs goes through
// here, so a failing one names itself with its stderr instead of failing silently.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')}: ${stderr.trim() || 'failed'}`);
    this.name = 'CommandError';
  }
}

/** Runs argv (in namespace `ns` when given) and returns its stdout; throws CommandError on a non-zero exit. */
export async function run(argv: string[], ns?: string): Promise<string> {
  const full = ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv;
  try {
    const { stdout } = await execFileAsync(full[0]!, full.slice(1), { maxBuffer: 4 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new CommandError(full, e.stderr ?? e.message);
  }
}

/** Like run, for clean-up: a command whose object is already gone is not an error there. */
export async function runQuietly(argv: string[], ns?: string): Promise<void> {
  await run(argv, ns).catch(() => undefined);
}
