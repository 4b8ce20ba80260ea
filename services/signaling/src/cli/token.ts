/**
 * Mints robot and app tokens.
 *
 *   npm run token -- robot <robot-id> [--ttl 30d]
 *   npm run token -- app <app-id> --robots <id,id|*> [--grants view,talk,drive,supervise] [--ttl 12h]
 *   npm run token -- app <app-id> --grant 'rover-1=view,drive' --grant '*=view'   (different grants per robot)
 *   npm run token -- public-key            (prints the PEM public key robots use to verify app tokens)
 *
 * The key comes from SIGNING_KEY or SIGNING_KEY_FILE; without either (and not in production) a development
 * key pair is made in DEV_KEYS_DIR (default .dev-keys/, git-ignored) on first use. The token alone goes to
 * stdout so it can be captured; nothing is logged.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  ID_PATTERN,
  mintToken,
  parseGrantList,
  type Grant,
  type RobotGrants,
} from '@robostream/protocol/auth';
import {
  loadOrCreateDevKeys,
  publicKeyPem,
  signingKeysFromPem,
  type SigningKeys,
} from '@robostream/protocol/auth/keys';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

export function parseTtl(s: string): number {
  const m = /^(\d+)([smhd])?$/.exec(s);
  if (!m) throw new Error(`--ttl ${JSON.stringify(s)}: use a number with s, m, h or d (e.g. 12h)`);
  return Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1);
}

function signingKeys(env: NodeJS.ProcessEnv): SigningKeys {
  if (env['SIGNING_KEY']) return signingKeysFromPem(env['SIGNING_KEY']);
  if (env['SIGNING_KEY_FILE']) return signingKeysFromPem(readFileSync(env['SIGNING_KEY_FILE'], 'utf8'));
  if (env['NODE_ENV'] === 'production') throw new Error('set SIGNING_KEY or SIGNING_KEY_FILE');
  return loadOrCreateDevKeys(env['DEV_KEYS_DIR'] ?? '.dev-keys');
}

export async function tokenCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ttl: { type: 'string' },
      robots: { type: 'string' },
      grants: { type: 'string' },
      grant: { type: 'string', multiple: true },
      issuer: { type: 'string' },
      audience: { type: 'string' },
    },
  });
  const [kind, sub] = positionals;
  const keys = signingKeys(env);
  if (kind === 'public-key') return publicKeyPem(keys.publicKey).trim();
  if ((kind !== 'robot' && kind !== 'app') || !sub) {
    throw new Error(
      'usage: token robot <robot-id> [--ttl 30d] | token app <app-id> --robots <ids|*> [--grants <list>] [--grant <robot>=<list>]... [--ttl 12h] | token public-key',
    );
  }
  const issuer = values.issuer ?? env['TOKEN_ISSUER'];
  const audience = values.audience ?? env['TOKEN_AUDIENCE'];
  const common = { sub, alg: keys.alg, ...(issuer ? { issuer } : {}), ...(audience ? { audience } : {}) };
  if (kind === 'robot')
    return mintToken(keys.privateKey, { role: 'robot', ttlSec: parseTtl(values.ttl ?? '30d'), ...common });
  const grants = appGrants(values.robots, values.grants, values.grant ?? []);
  return mintToken(keys.privateKey, {
    role: 'app',
    grants,
    ttlSec: parseTtl(values.ttl ?? '12h'),
    ...common,
  });
}

/**
 * The grants claim from the flags: `--robots` with `--grants` (view when absent: least privilege), and any number
 * of `--grant robot=list`; a robot named twice gets both lists.
 */
export function appGrants(
  robots: string | undefined,
  grants: string | undefined,
  each: string[],
): RobotGrants {
  if (!robots && each.length === 0)
    throw new Error(
      'an app token needs --robots <id,id> or --robots "*" (with --grants), or --grant <robot>=<list>',
    );
  if (grants && !robots) throw new Error('--grants applies to --robots; name them too');
  const out: Record<string, Grant[]> = {};
  const add = (robot: string, list: Grant[]) => {
    if (robot !== '*' && !ID_PATTERN.test(robot))
      throw new Error(`invalid robot id ${JSON.stringify(robot)}`);
    out[robot] = [...new Set([...(out[robot] ?? []), ...list])];
  };
  if (robots) {
    const list = parseGrantList(grants ?? 'view');
    const ids =
      robots === '*'
        ? ['*']
        : robots
            .split(',')
            .map((r) => r.trim())
            .filter(Boolean);
    if (ids.length === 0) throw new Error('--robots names no robot');
    for (const id of ids) add(id, list);
  }
  for (const g of each) {
    const eq = g.indexOf('=');
    if (eq <= 0)
      throw new Error(`--grant ${JSON.stringify(g)}: use <robot>=<grant,grant> (e.g. rover-1=view,drive)`);
    add(g.slice(0, eq).trim(), parseGrantList(g.slice(eq + 1)));
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  tokenCommand(process.argv.slice(2)).then(
    (out) => console.log(out),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(2);
    },
  );
}
