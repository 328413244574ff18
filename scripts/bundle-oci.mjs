// Links the nsbox-oci command (dist/oci-cli.js and everything it imports: tsc's output) into
// one CommonJS file, dist/oci-runtime/nsbox-oci.cjs, with esbuild. Run after tsc (npm run
// build:ts, prepare); package.json's bin points at it. Why: podman starts the runtime three
// times per `podman run --rm`, and an ES module entry costs Node its ES module loader plus a
// resolution, a read and a compile per module (87 modules for `create`); a CommonJS file is
// read once and run by the loader Node starts with (docs/performance.md, "nsbox-oci under
// podman"). esbuild wraps each module in a function run at its first import, so a command
// still runs only its own modules (`state` loads no addon) and the rest is only pre-parsed.
// Every `import.meta.url` keeps meaning the module's own place in dist/ (the addon, the
// package.json and the default seccomp profile are found relative to it).
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'oci-runtime');

/** Rewrites `import.meta.url` in each dist module to that module's own URL, relative to the bundle. */
const ownUrl = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\/dist\/.*\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const rel = JSON.stringify(relative(outdir, args.path));
      return { contents: text.replaceAll('import.meta.url', `new URL(${rel}, __nsboxOciUrl).href`), loader: 'js' };
    });
  },
};

rmSync(outdir, { recursive: true, force: true }); // nothing of an older build stays
await build({
  absWorkingDir: root,
  entryPoints: { 'nsbox-oci': 'dist/oci-cli.js' },
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['node-gyp-build'],
  // tsc's modules are strict (ES modules); the bundle says so before anything else.
  banner: { js: '"use strict";\nconst __nsboxOciUrl = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [ownUrl],
  logLevel: 'warning',
});
