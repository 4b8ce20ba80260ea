/**
 * compose.yaml driven from tests: the resolved configuration (`docker compose config`), and a stack under its
 * own project name and env file so it never touches a developer's stack or .env.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker } from './docker-cli.js';

export interface ComposeService {
  image?: string;
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
}

export interface ComposeConfig {
  name: string;
  services: Record<string, ComposeService>;
}

/** Writes KEY="value" lines the way compose's .env parser reads them (double quotes, \n for line breaks). */
export function envFileText(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join('\n');
}

export class ComposeStack {
  private readonly dir: string;
  private readonly envFile: string;

  constructor(
    readonly project: string,
    env: Record<string, string>,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'robostream-compose-'));
    this.envFile = join(this.dir, 'stack.env');
    writeFileSync(this.envFile, `${envFileText(env)}\n`, { mode: 0o600 });
  }

  /** `docker compose -p PROJECT --env-file FILE -f compose.yaml ARGS` (TURN_SECRET also reaches secrets). */
  run(args: string[], timeoutMs = 300_000) {
    return docker(
      ['compose', '-p', this.project, '--env-file', this.envFile, '-f', 'compose.yaml', ...args],
      {
        timeoutMs,
      },
    );
  }

  /** The resolved configuration, with compose's `$$` escapes turned back into the `$` a container sees. */
  async config(): Promise<ComposeConfig> {
    const { stdout } = await this.run(['config', '--format', 'json']);
    return JSON.parse(stdout, (_key, value: unknown) =>
      typeof value === 'string' ? value.replaceAll('$$', '$') : value,
    ) as ComposeConfig;
  }

  /** The container ids and health of every container of the project (running or not). */
  async ps(): Promise<{ Service: string; Name: string; State: string; Health: string; ID: string }[]> {
    const { stdout } = await this.run(['ps', '--all', '--format', 'json']);
    const text = stdout.trim();
    if (!text) return [];
    // compose 2.26 prints one JSON object per line.
    return text
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { Service: string; Name: string; State: string; Health: string; ID: string },
      );
  }

  async containerOf(service: string): Promise<string> {
    const c = (await this.ps()).find((p) => p.Service === service);
    if (!c) throw new Error(`no container for service ${service}`);
    return c.Name;
  }

  removeEnvFile(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** compose.yaml resolved with a throwaway env (for the services' own settings, as compose would pass them). */
export async function composeConfig(env: Record<string, string>): Promise<ComposeConfig> {
  const stack = new ComposeStack(`robostream-config-${process.pid}`, env);
  try {
    return await stack.config();
  } finally {
    stack.removeEnvFile();
  }
}
