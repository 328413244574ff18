// Links the nsbox-oci command (dist/oci-cli.js and everything it imports: tsc's output) into
// dist/oci-runtime/ with esbuild: an entry file, one chunk per command module and chunks for
// what commands share. Run after tsc (npm run build:ts, prepare). Why: podman starts the
// runtime 3–6 times per container, and Node's ES module loader costs a resolution, a file
// read and a compile per module — 87 modules for `create` (docs/performance.md). Each
// command still loads only its own chunks, so `state` stays free of the addon and spawn code.
// Every `import.meta.url` keeps meaning the module's own place in dist/ (the addon, the
// package.json, the default seccomp profile are found relative to it), so the linked files
// behave as the modules they came from.
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'oci-runtime');

/** Rewrites `import.meta.url` in each dist module to that module's own URL, relative to the chunk. */
const ownUrl = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\/dist\/.*\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const rel = JSON.stringify(relative(outdir, args.path));
      return { contents: text.replaceAll('import.meta.url', `new URL(${rel}, import.meta.url).href`), loader: 'js' };
    });
  },
};

rmSync(outdir, { recursive: true, force: true }); // no chunk of an older build stays
await build({
  absWorkingDir: root,
  entryPoints: { 'nsbox-oci': 'dist/oci-cli.js' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['node-gyp-build'],
  chunkNames: 'chunk-[hash]',
  plugins: [ownUrl],
  logLevel: 'warning',
});
