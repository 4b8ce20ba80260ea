// Bundles one service entry point into a single ESM file for an image's runtime stage (run in a builder stage).
//   node docker/bundle.mjs OUT ENTRY [--external name]... [--without-redis]
// Native addons stay external: they are copied next to the bundle under node_modules/.
// --without-redis: the robot embeds signaling for direct mode, whose Redis router is loaded only when a Redis URL
// is configured (never on a robot); ioredis is replaced by a stub that says so, instead of shipping it.

const [out, entry, ...rest] = process.argv.slice(2);
if (!out || !entry) {
  console.error('usage: bundle.mjs OUT ENTRY [--external name]...');
  process.exit(2);
}
const external = [];
let withoutRedis = false;
for (let i = 0; i < rest.length; i += 2) {
  if (rest[i] === '--without-redis') {
    withoutRedis = true;
    i -= 1;
    continue;
  }
  if (rest[i] !== '--external' || !rest[i + 1]) throw new Error(`unexpected argument ${rest[i]}`);
  external.push(rest[i + 1]);
}

const noRedis = {
  name: 'without-redis',
  setup(b) {
    b.onResolve({ filter: /^ioredis$/ }, () => ({ path: 'ioredis', namespace: 'without-redis' }));
    b.onLoad({ filter: /.*/, namespace: 'without-redis' }, () => ({
      contents:
        "export class Redis { constructor() { throw new Error('this image has no Redis client: REDIS_URL is for the cloud signaling service'); } }\n" +
        'export default Redis;\n',
      loader: 'js',
    }));
  },
};

// The builder stages install esbuild under /tools (outside the workspace, so the lockfile stays untouched).
const { build } = await import(process.env.ESBUILD_MODULE ?? '/tools/node_modules/esbuild/lib/main.js');

await build({
  entryPoints: [entry],
  outfile: out,
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  external,
  plugins: withoutRedis ? [noRedis] : [],
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies (fastify, ioredis, pino) call require() and read __dirname: give them both.
  banner: {
    js: [
      "import { createRequire as __bundleCreateRequire } from 'node:module';",
      "import { fileURLToPath as __bundleFileURLToPath } from 'node:url';",
      "import { dirname as __bundleDirname } from 'node:path';",
      'const require = __bundleCreateRequire(import.meta.url);',
      'const __filename = __bundleFileURLToPath(import.meta.url);',
      'const __dirname = __bundleDirname(__filename);',
    ].join('\n'),
  },
});
