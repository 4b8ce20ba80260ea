// A test page's script as one ES module with everything it imports inlined: the page loads it from the test's own
// origin and has no node_modules (the product's code, @robostream/protocol, werift-free browser code).
import { build, type StdinOptions } from 'esbuild';

export async function bundleForPage(input: { entry: string } | { stdin: StdinOptions }): Promise<string> {
  const r = await build({
    ...('entry' in input ? { entryPoints: [input.entry] } : { stdin: input.stdin }),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const out = r.outputFiles[0];
  if (!out) throw new Error('esbuild produced nothing');
  return out.text;
}
