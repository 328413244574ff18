// Links the nsbox-oci command (tsc's output in dist/) with esbuild into CommonJS files in
// dist/oci-runtime/ (run after tsc: npm run build:ts, prepare):
//   nsbox-oci.cjs   package.json's bin: only the loader of the others (src/oci/runtime/bin.ts,
//                   linked.ts);
//   cli.cjs         the command line (cli.ts, args.ts), no command;
//   MODULE.cjs      one per command module (src/oci/runtime/commands/MODULE.ts) with everything
//                   it imports.
// The bin loads cli.cjs and the command's file through V8's code cache (linked.ts), which
// writes FILE.cjs.cache beside each on first use.
// Why: podman starts the runtime three times per `podman run --rm`, and Node's start-up plus
// what a command loads is most of each call. An ES module entry costs Node its ES module
// loader and a resolution, a read and a compile per module (87 for `create`); one CommonJS
// file is read once, but V8 still parses all of it (465 kB, every command); a file per command
// parses only that command's code (`state` 30 kB), and the code cache saves most of its
// compilation (docs/performance.md, "nsbox-oci under podman"). esbuild wraps each module in a
// function run at its first import, so a file still runs only the modules its command reaches.
// Every `import.meta.url` keeps meaning the module's own place in dist/ (the addon, the
// package.json and the default seccomp profile are found relative to it). node-gyp-build is
// linked in too (loading it as a package is a resolution and two more files, per call).
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'oci-runtime');
const GYP = "require('node-gyp-build')";

/**
 * Rewrites `import.meta.url` in each dist module to that module's own URL, relative to the
 * linked file, and native.js's `require('node-gyp-build')` (a createRequire, which esbuild
 * does not follow) to a require esbuild links, still run only when native.js calls it.
 */
const ownUrl = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onResolve({ filter: /^nsbox-gyp-lazy$/ }, () => ({ path: 'nsbox-gyp-lazy', namespace: 'nsbox' }));
    b.onLoad({ filter: /.*/, namespace: 'nsbox' }, () => ({
      contents: "module.exports = () => require('node-gyp-build');",
      loader: 'js',
      resolveDir: root,
    }));
    b.onLoad({ filter: /\/dist\/.*\.js$/ }, async (args) => {
      let text = await readFile(args.path, 'utf8');
      const rel = JSON.stringify(relative(outdir, args.path));
      text = text.replaceAll('import.meta.url', `new URL(${rel}, __nsboxOciUrl).href`);
      if (args.path === join(root, 'dist', 'native.js')) {
        if (!text.includes(GYP)) throw new Error(`scripts/bundle-oci.mjs: dist/native.js no longer has ${GYP}; update this script`);
        text = `import __nsboxGypBuild from 'nsbox-gyp-lazy';\n${text.replace(GYP, '__nsboxGypBuild()')}`;
      }
      return { contents: text, loader: 'js' };
    });
  },
};

const modules = readdirSync(join(root, 'dist', 'oci', 'runtime', 'commands'))
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.slice(0, -3));
const entryPoints = { 'nsbox-oci': 'dist/oci/runtime/bin.js', cli: 'dist/oci/runtime/cli.js' };
for (const m of modules) entryPoints[m] = `dist/oci/runtime/commands/${m}.js`;

rmSync(outdir, { recursive: true, force: true }); // nothing of an older build stays, no old cache
await build({
  absWorkingDir: root,
  entryPoints,
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // `import('node:child_process')` (hooks) as a require: a linked file runs in a vm.Script,
  // which has no loader for import().
  supported: { 'dynamic-import': false },
  // tsc's modules are strict (ES modules); each file says so before anything else.
  banner: { js: '"use strict";\nconst __nsboxOciUrl = require("node:url").pathToFileURL(__filename).href;' },
  // Every build its own id: what a linked file keeps across runs (the compiled seccomp
  // filters of src/oci/runtime/seccomp-cache.ts) is only ever read back by the same build.
  define: { __NSBOX_OCI_BUILD__: JSON.stringify(`${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`) },
  plugins: [ownUrl],
  logLevel: 'warning',
});
