#!/usr/bin/env node
// Runs one benchmark under bench/ (e.g. `npm run bench -- signaling/relay`), or lists them.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const name = process.argv[2];
if (!name) {
  const list = [];
  for (const dir of readdirSync('bench')) {
    if (dir === 'support' || !statSync(join('bench', dir)).isDirectory()) continue;
    for (const f of readdirSync(join('bench', dir)))
      if (f.endsWith('.ts')) list.push(`${dir}/${f.replace(/\.ts$/, '')}`);
  }
  console.log(`usage: npm run bench -- <name>\n  ${list.join('\n  ')}`);
  process.exit(0);
}
const env = {
  ...process.env,
  UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '32',
  TESTCONTAINERS_RYUK_DISABLED: 'true',
  TESTCONTAINERS_HOST_OVERRIDE: 'localhost',
};
const r = spawnSync(
  process.execPath,
  ['--expose-gc', '--import', 'tsx', join('bench', `${name}.ts`), ...process.argv.slice(3)],
  { stdio: 'inherit', env },
);
process.exit(r.status ?? 1);
