// Links nsbox's two commands (tsc's output in dist/) with esbuild into CommonJS files, each in
// a directory of its own (run after tsc: npm run build:ts, prepare):
//   dist/oci-runtime/   nsbox-oci: nsbox-oci.cjs, the bin (src/oci/runtime/bin.ts), only the
//                       loader of the others; cli.cjs, the command line (cli.ts, args.ts), no
//                       command; MODULE.cjs, one per command module
//                       (src/oci/runtime/commands/MODULE.ts) with everything it imports.
//   dist/nsbox-cli/     nsbox: nsbox.cjs, the bin (src/cli/bin.ts), the loader; cli.cjs,
//                       the command line and what it imports statically (src/cli/main.ts,
//                       run.ts: what a plain `nsbox run` runs); rest.cjs, the modules only
//                       lazy imports reach (network.ts, the option modules), loaded by cli.cjs
//                       when first needed. A module is in one of the two only, so the objects
//                       a run hands the network code (its child, namespaces) are of the same
//                       classes there (split() below).
// A bin loads its cli.cjs (and nsbox-oci's a command's file) through V8's code cache
// (src/oci/runtime/linked.ts), which writes FILE.cjs.cache beside each on first use.
// Why: Node's start-up plus what a command loads is most of each call: podman starts the
// runtime three times per `podman run --rm`, and `nsbox run -- true` spawns in a millisecond
// or two. An ES module entry costs Node its ES module loader and a resolution, a read and a
// compile per module (87 for nsbox-oci `create`, 114 for `nsbox run`); one CommonJS file is
// read once, but V8 still parses all of it (465 kB, every command); a file per command parses
// only that command's code (`state` 30 kB), and the code cache saves most of its compilation
// (docs/performance.md, "nsbox-oci under podman", "`nsbox run` start-up"). esbuild wraps each
// module in a function run at its first import, so a file still runs only the modules its
// command reaches.
// A module some runs never need is imported as `import * as lazyName from './x.js'` (a name
// starting with `lazy`): tsc's ES modules and the tests import it as usual, while here that
// line becomes a namespace object whose first property read runs the module's initialiser
// (esbuild links a `require()` of an ES module as such a call): a plain `nsbox run` never runs
// or compiles pty, hooks, the start gate, the network steps, cgroups or the seccomp compiler.
// Every `import.meta.url` keeps meaning the module's own place in dist/ (the addon, the
// package.json and the default seccomp profile are found relative to it). node-gyp-build is
// linked in too (loading it as a package is a resolution and two more files, per call).
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** `import * as lazyX from './x.js';` as tsc writes it (see the comment above). */
const LAZY_IMPORT = /^import \* as (lazy[A-Z]\w*) from '(\.{1,2}\/[^']+)';$/gm;
/** The banner's helper: a module's namespace, its initialiser run at the first property read. */
const LAZY_HELPER = 'const __nsboxLazy = (load) => { let m; return new Proxy({}, { get: (_, k) => (m ??= load())[k] }); };';
const GYP = "require('node-gyp-build')";
/** `fileURLToPath(new URL(LITERAL, import.meta.url))` as tsc writes it (a string or template literal). */
const OWN_PATH = /fileURLToPath\(new URL\(('[^'\n]*'|`[^`\n]*`), import\.meta\.url\)\)/g;
/** The banner's path helper: `d` (a module's directory) and `r` joined to the linked file's directory. */
const PATH_HELPER = 'const __nsboxPath = (d, r) => require("node:path").join(__dirname, d, r);';

const ociCommands = readdirSync(join(root, 'dist', 'oci', 'runtime', 'commands'))
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.slice(0, -3));

/** src/oci/runtime/linked.ts LINKED_WRAPPER (a test checks that they are the same). */
const LINKED_WRAPPER = '(function (exports, require, module, __filename, __dirname) {';

/**
 * The linked programs. `urlVar`: the function each file's banner defines to give its own URL
 * (made at the first call), from which an `import.meta.url` of a module linked into it is rebuilt. `minify`: whitespace
 * and syntax only, never names.
 */
const PROGRAMS = [
  {
    outdir: 'dist/oci-runtime',
    urlVar: '__nsboxOciUrl',
    entryPoints: {
      'nsbox-oci': 'dist/oci/runtime/bin.js',
      cli: 'dist/oci/runtime/cli.js',
      ...Object.fromEntries(ociCommands.map((m) => [m, `dist/oci/runtime/commands/${m}.js`])),
    },
    // Modules a command's file leaves out although an import() reaches them, because none of
    // its paths runs that import: `start` and `delete` run only poststart and poststop hooks,
    // which run in the runtime's namespaces (runHooks refuses a container for them), so the
    // in-container launcher's spawn — with spawn, most of the library — is never loaded. podman
    // runs both once per container: each file is then 5× smaller to read and load. A left-out
    // module reached all the same rejects that import with an internal error; a static import
    // of one fails the build.
    leaveOut: {
      start: ['dist/namespaces/spawn.js'],
      delete: ['dist/namespaces/spawn.js'],
    },
  },
  {
    outdir: 'dist/nsbox-cli',
    urlVar: '__nsboxCliUrl',
    // Without comments and indentation: a third less to read, and no comment's non-ASCII
    // character makes V8 hold the source as UTF-16. Names stay (stack traces name functions).
    minify: true,
    entryPoints: { nsbox: 'dist/cli/bin.js' },
    // cli.cjs (main.js and what a plain run needs) and rest.cjs (the lazy modules): see split().
    split: { core: 'cli', rest: 'rest', entry: 'dist/cli/main.js' },
  },
];

/**
 * Rewrites `import.meta.url` in each dist module to that module's own URL, relative to the
 * linked file, and native.js's `require('node-gyp-build')` (a createRequire, which esbuild
 * does not follow) to a require esbuild links, still run only when native.js calls it.
 */
const ownUrl = (outdir, urlVar) => ({
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
      // A path beside the module (`fileURLToPath(new URL(LITERAL, import.meta.url))`,
      // `fileURLToPath(import.meta.url)`) is joined to the linked file's directory: no URL is
      // parsed or built at start-up (~0.4 ms of a run's first URL work). Any other use gets
      // the module's URL, made when first asked for.
      const dir = JSON.stringify(relative(outdir, dirname(args.path)));
      text = text.replace(OWN_PATH, (_, lit) => `__nsboxPath(${dir}, ${lit})`);
      text = text.replaceAll('fileURLToPath(import.meta.url)', `__nsboxPath(${dir}, ${JSON.stringify(basename(args.path))})`);
      text = text.replaceAll('import.meta.url', `new URL(${rel}, ${urlVar}()).href`);
      text = text.replace(LAZY_IMPORT, (_, name, spec) => `const ${name} = __nsboxLazy(() => require(${JSON.stringify(spec)}));`);
      if (args.path === join(root, 'dist', 'native.js')) {
        if (!text.includes(GYP)) throw new Error(`scripts/bundle.mjs: dist/native.js no longer has ${GYP}; update this script`);
        text = `import __nsboxGypBuild from 'nsbox-gyp-lazy';\n${text.replace(GYP, '__nsboxGypBuild()')}`;
      }
      return { contents: text, loader: 'js' };
    });
  },
});

// Every build its own id: what a linked file keeps across runs (the compiled seccomp filters
// of src/oci/runtime/seccomp-cache.ts) is only ever read back by the same build.
const buildId = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;

/** Resolves each import() of a `leaveOut` module to one that throws when it runs (see PROGRAMS). */
const leftOut = (name, modules) => ({
  name: 'left-out',
  setup(b) {
    const paths = new Set(modules.map((m) => join(root, m)));
    b.onResolve({ filter: /^\./ }, (args) => {
      const path = join(args.resolveDir, args.path);
      if (!paths.has(path)) return undefined;
      if (args.kind !== 'dynamic-import')
        return {
          errors: [
            { text: `${relative(root, path)} is left out of ${name}.cjs but ${relative(root, args.importer)} imports it statically` },
          ],
        };
      return { path, namespace: 'nsbox-left-out' };
    });
    b.onLoad({ filter: /.*/, namespace: 'nsbox-left-out' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`nsbox: internal error: ${relative(root, args.path)} is not linked into ${name}.cjs`)});`,
      loader: 'js',
    }));
  },
});

/** Whether an import (`args` of onResolve) is a lazy one: a require() or import() of a module of ours. */
const lazyImport = (args) =>
  (args.kind === 'require-call' || args.kind === 'dynamic-import') &&
  /^\.\.?\//.test(args.path) &&
  args.importer.startsWith(join(root, 'dist'));
/** The dist path (`dist/x/y.js`) an import of a module of ours names. */
const distPath = (args) => relative(root, join(args.resolveDir, args.path));

/**
 * The CLI as two linked files: `cli.cjs`, the command line with every module it imports
 * statically (what a plain `nsbox run` runs: about a third of the code), and `rest.cjs`, the
 * modules only lazy imports reach (`import * as lazyX`, the network command's import()).
 * cli.cjs reads, deserializes and holds only its third (docs/performance.md, "`nsbox run`
 * start-up"). A module is in one file only, so a class is one class for both: cli.cjs gives
 * rest.cjs its modules' namespaces (`require('nsbox-core:dist/x.js')` in rest.cjs), and loads
 * rest.cjs, through the bin's loader and its code cache, at the first lazy import that needs
 * it (`__nsboxRest('dist/x.js')`).
 */
async function split(p, outdir, common) {
  const { core, rest, entry } = p.split;
  // Which modules the command line imports statically: the core.
  const probe = await build({
    ...common,
    entryPoints: [entry],
    write: false,
    outdir,
    metafile: true,
    logLevel: 'silent',
    plugins: [
      { name: 'probe', setup: (b) => b.onResolve({ filter: /.*/ }, (a) => (lazyImport(a) ? { path: a.path, external: true } : undefined)) },
      ownUrl(outdir, p.urlVar),
    ],
  });
  const coreSet = new Set(Object.keys(probe.metafile.inputs).filter((f) => f.startsWith('dist/')));
  const restTargets = new Set();
  const coreNames = [...coreSet];
  // cli.cjs: the entry, a registry of the core's namespaces, and a shim per lazy import of a rest module.
  const buildCore = (registry, write) =>
    build({
      ...common,
      write,
      entryPoints: { [core]: 'nsbox-core-entry' },
      outdir,
      banner: {
        js: `${common.banner.js}\nlet __nsboxCore, __nsboxRestFile;\nconst __nsboxRest = (k) => (__nsboxRestFile ??= require("nsbox:linked").loadLinked(require("node:path").join(__dirname, "${rest}.cjs"), process.env.NSBOX_CODE_CACHE !== "0", (id) => __nsboxCore[id.slice(11)])).get(k);`,
      },
      plugins: [
        {
          name: 'nsbox-core',
          setup(b) {
            b.onResolve({ filter: /^nsbox-core-entry$/ }, () => ({ path: 'nsbox-core-entry', namespace: 'nsbox-core' }));
            b.onLoad({ filter: /.*/, namespace: 'nsbox-core' }, () => ({
              contents: [
                `export * from ${JSON.stringify(join(root, entry))};`,
                ...registry.map((f, i) => `import * as m${i} from ${JSON.stringify(join(root, f))};`),
                `__nsboxCore = {${registry.map((f, i) => `${JSON.stringify(f)}: m${i}`).join(', ')}};`,
              ].join('\n'),
              loader: 'js',
              resolveDir: root,
            }));
            b.onResolve({ filter: /.*/ }, (a) => {
              if (!lazyImport(a) || coreSet.has(distPath(a))) return undefined;
              restTargets.add(distPath(a));
              return { path: distPath(a), namespace: 'nsbox-rest' };
            });
            b.onLoad({ filter: /.*/, namespace: 'nsbox-rest' }, (a) => ({
              contents: `module.exports = __nsboxRest(${JSON.stringify(a.path)});`,
              loader: 'js',
            }));
          },
        },
        ownUrl(outdir, p.urlVar),
      ],
    });
  // First without writing, to learn the rest modules (restTargets); written below, once rest.cjs's
  // build has said which core modules it imports: only their namespaces are made at load.
  await buildCore(coreNames, false);
  // rest.cjs: get(path) runs a lazy module's initialiser and gives its namespace; every import
  // of a core module is the core's own.
  const targets = [...restTargets];
  const restImports = new Set();
  await build({
    ...common,
    entryPoints: { [rest]: 'nsbox-rest-entry' },
    outdir,
    plugins: [
      {
        name: 'nsbox-rest',
        setup(b) {
          b.onResolve({ filter: /^nsbox-rest-entry$/ }, () => ({ path: 'nsbox-rest-entry', namespace: 'nsbox-rest' }));
          b.onLoad({ filter: /.*/, namespace: 'nsbox-rest' }, () => ({
            contents: `export function get(k) {\n  switch (k) {\n${targets.map((f) => `    case ${JSON.stringify(f)}: return require(${JSON.stringify(join(root, f))});`).join('\n')}\n  }\n  throw new Error('nsbox: no linked module ' + k);\n}`,
            loader: 'js',
            resolveDir: root,
          }));
          b.onResolve({ filter: /^\.\.?\// }, (a) => {
            if (!a.importer.startsWith(join(root, 'dist')) || !coreSet.has(distPath(a))) return undefined;
            restImports.add(distPath(a));
            return { path: `nsbox-core:${distPath(a)}`, external: true };
          });
        },
      },
      ownUrl(outdir, p.urlVar),
    ],
  });
  // The registry holds the namespaces rest.cjs asks for, no more: each is an object of getters made
  // at load (a plain run's cli.cjs made 39 where rest.cjs uses 24).
  await buildCore(
    coreNames.filter((f) => restImports.has(f)),
    true,
  );
}

for (const p of PROGRAMS) {
  const outdir = join(root, p.outdir);
  rmSync(outdir, { recursive: true, force: true }); // nothing of an older build stays, no old cache
  const common = {
    absWorkingDir: root,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // `import('node:child_process')` (hooks) as a require: a linked file runs in a vm.Script,
    // which has no loader for import().
    supported: { 'dynamic-import': false },
    // tsc's modules are strict (ES modules); each file says so before anything else.
    banner: {
      js: `"use strict";\nlet ${p.urlVar}Href;\nconst ${p.urlVar} = () => (${p.urlVar}Href ??= require("node:url").pathToFileURL(__filename).href);\n${PATH_HELPER}\n${LAZY_HELPER}`,
    },
    define: { __NSBOX_BUILD__: JSON.stringify(buildId) },
    ...(p.minify && { minifyWhitespace: true, minifySyntax: true }),
    logLevel: 'warning',
  };
  if (p.split) await split(p, outdir, common);
  // One build for the entries that leave nothing out (they share esbuild's work), one per entry that does.
  const trimmed = Object.keys(p.leaveOut ?? {});
  const builds = [
    { entryPoints: Object.fromEntries(Object.entries(p.entryPoints).filter(([n]) => !trimmed.includes(n))), plugins: [] },
    ...trimmed.map((n) => ({ entryPoints: { [n]: p.entryPoints[n] }, plugins: [leftOut(n, p.leaveOut[n])] })),
  ];
  for (const one of builds)
    await build({ ...common, entryPoints: one.entryPoints, outdir, plugins: [...one.plugins, ownUrl(outdir, p.urlVar)] });
  // The bin is the one file Node's own CommonJS loader runs: there a require() of a builtin goes
  // through Module._load, whose first call in a process is a cold path of ~0.1–0.17 ms
  // (measured: node:fs, node:path and node:url 0.14–0.22 ms by require(), 0.03–0.04 ms by
  // process.getBuiltinModule()), which a linked file's require() already skips (linked.ts).
  const binFile = join(outdir, `${Object.keys(p.entryPoints)[0]}.cjs`);
  const bin = readFileSync(binFile, 'utf8');
  writeFileSync(binFile, bin.replace(/\brequire\(("node:[a-z_/]+")\)/g, 'process.getBuiltinModule($1)'));
  // A minified file has no comments, and esbuild escapes every other non-ASCII character
  // (charset ascii): the loader makes it a one-byte string over the buffer it read, without a
  // copy (csrc/startup_files.cc), where UTF-8 would have to be decoded into one.
  // Each linked file (all but the bin) is written inside the loader's function wrapper
  // (src/oci/runtime/linked.ts LINKED_WRAPPER, the same text): the loader then hands V8 the
  // string it read, with no wrapper added around it for V8 to flatten into a copy.
  for (const f of p.minify ? readdirSync(outdir).filter((n) => n.endsWith('.cjs')) : []) {
    const bytes = readFileSync(join(outdir, f));
    if (bytes.some((b) => b >= 0x80)) throw new Error(`scripts/bundle.mjs: ${p.outdir}/${f} is not ASCII`);
    if (join(outdir, f) !== binFile)
      writeFileSync(join(outdir, f), Buffer.concat([Buffer.from(LINKED_WRAPPER), bytes, Buffer.from('\n})')]));
  }
}
