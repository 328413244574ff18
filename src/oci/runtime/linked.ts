/**
 * Loads one of nsbox-oci's linked CommonJS files (scripts/bundle-oci.mjs) as Node's loader
 * would, but compiled with V8's code cache: the bytecode of the functions a run compiled,
 * kept in `FILE.cache` next to it. Without a usable cache, V8 parses the whole file and
 * compiles each function it calls; with one it deserializes that work instead (under the
 * qemu guest's emulation, about a third of the time for `create`'s file;
 * docs/performance.md). The bin's start-up is all this runtime adds to Node's, and podman
 * pays it three times per container.
 *
 * The cache is an optimisation only, and never trusted for more than V8 checks plus this:
 * it names the file it was made from (size, mtime, inode) and the V8 version, is owned by
 * this user or the file's owner, and is writable by nobody else. Any mismatch, a cache V8
 * rejects (another Node, other V8 flags), or none: the file is compiled from source, and at
 * exit a new cache is written (a temporary file renamed over it) beside the file, by its
 * owner and root only (a checkout, a global install): other users have none (see cacheSite).
 * A failure to write is ignored.
 * `NSBOX_OCI_CODE_CACHE=0` turns it off for nsbox-oci (neither read nor written), and
 * `NSBOX_CODE_CACHE=0` for the `nsbox` command (src/cli/bin.ts), which loads its own linked
 * files with it too.
 * @internal
 * @module
 */
import { closeSync, fstatSync, openSync, readFileSync, renameSync, type Stats, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Script } from 'node:vm';
import { dlopenOnce, localAddon } from '../../dlopen.js';

const MAGIC = 'nsbox-oci code cache 1';
/** How many runs write a file's cache, each adding what it compiled to what the last left. */
const GENERATIONS = 3;

/** A cache read: its data, and how many runs have written it. */
interface Cached {
  data: Buffer;
  generation: number;
}

/** The addon's two readers of a linked file (csrc/startup_files.cc). */
interface LinkedFiles {
  readLinkedSource(
    path: string,
  ): [source: string, mode: number, uid: number, size: number, mtimeSec: number, mtimeNsec: number, ino: number, dev: number] | undefined;
  readLinkedCache(path: string, header: string, owner: number): [data: Buffer, generation: number] | undefined;
}

let files: LinkedFiles | null | undefined;

/**
 * The addon's readers when the addon is a local build (see localAddon): they read a file in
 * one native call, where node:fs cost ~1 ms cold for the two files of a start-up. The addon
 * loaded here is the one native.ts then finds (dlopenOnce), so it is loaded once either way.
 * Otherwise (a prebuild, a failing load, an older addon) node:fs reads them, as before.
 */
function linkedFiles(): LinkedFiles | undefined {
  if (files === undefined) {
    files = null;
    try {
      const local = localAddon();
      const b = local === undefined ? undefined : dlopenOnce<Partial<LinkedFiles>>(local);
      if (typeof b?.readLinkedSource === 'function' && typeof b.readLinkedCache === 'function') files = b as LinkedFiles;
    } catch {
      // native.ts reports an addon that does not load when the program first needs it
    }
  }
  return files ?? undefined;
}

/** The cache's data after its header, if it is ours to trust and its header starts with `identity`. */
function readCache(cache: string, identity: string, owner: number): Cached | undefined {
  const fast = linkedFiles();
  if (fast !== undefined) {
    const got = fast.readLinkedCache(cache, identity, owner);
    return got === undefined ? undefined : { data: got[0], generation: got[1] };
  }
  let fd: number;
  try {
    fd = openSync(cache, 'r');
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if ((st.uid !== process.geteuid!() && st.uid !== owner) || (st.mode & 0o022) !== 0 || !st.isFile()) return undefined;
    const buf = readFileSync(fd);
    const head = Buffer.from(identity);
    const nl = buf.indexOf(10, head.length);
    if (nl < 0 || !buf.subarray(0, head.length).equals(head)) return undefined;
    const generation = Number(buf.toString('latin1', head.length, nl));
    return Number.isInteger(generation) && nl + 1 < buf.length ? { data: buf.subarray(nl + 1), generation } : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Where a file's cache is read and written, and whose it may be: beside the file
 * (`FILE.cache`), trusted as this user's or the file owner's. Written only by the file's owner
 * and root (a checkout; a global install, whose root-made cache every user then reads): any
 * other user has none. There is deliberately no per-user cache: a user's own directory
 * (`~/.cache`) is one a rootless sandbox may be given to write (`--volume ~/.cache:…`), and a
 * V8 code cache is code this process runs outside the sandbox — a forged one ran as the user
 * on the next `nsbox` (found in review on 2026-11-30).
 */
interface CacheSite {
  path: string;
  /** A uid besides this user's whose cache is trusted. */
  owner: number;
  /** Whether this user may write it: the file's owner, or root. */
  writes: boolean;
}

function cacheSite(file: string, fileOwner: number): CacheSite {
  const euid = process.geteuid!();
  return { path: `${file}.cache`, owner: fileOwner, writes: euid === fileOwner || euid === 0 };
}

function writeCache(site: CacheSite, header: string, script: Script): void {
  const cache = site.path;
  const tmp = `${cache}.${process.pid}.tmp`;
  if (!site.writes) return;
  try {
    // Beside the file, readable by the users of an install.
    const mode = 0o644;
    // The header line is padded with spaces so that the data starts 16-byte aligned: the
    // native reader hands V8 the file's own pages, and V8 copies cached data that is not
    // pointer-aligned before it reads it (the header is ASCII: one byte a character).
    const pad = (16 - (header.length % 16)) % 16;
    const line = `${header.slice(0, -1)}${' '.repeat(pad)}\n`;
    writeFileSync(tmp, Buffer.concat([Buffer.from(line), script.createCachedData()]), { mode, flag: 'wx' });
    renameSync(tmp, cache);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // not made
    }
  }
}

/**
 * The `require` a linked file is given: Node's built-in modules (all that a linked file asks
 * for by name, its own modules being inside it) straight from `process.getBuiltinModule()`,
 * anything else (node-gyp-build loading a prebuilt addon) through a real `require` made on
 * first use. node:module and createRequire() cost ~0.3 ms of every start-up otherwise.
 */
function linkedRequire(file: string, resolve?: (id: string) => unknown): NodeJS.Require {
  let real: NodeJS.Require | undefined;
  const load = () => (real ??= process.getBuiltinModule('node:module').createRequire(file));
  const req = ((id: string) => {
    // The loader itself, for a file that loads another (the CLI's cli.cjs its rest.cjs), and
    // what its loader hands it (cli.cjs's modules, to rest.cjs).
    if (id === 'nsbox:linked') return { loadLinked };
    if (resolve !== undefined && id.startsWith('nsbox-core:')) return resolve(id);
    return process.getBuiltinModule(id) ?? load()(id);
  }) as NodeJS.Require;
  Object.defineProperties(req, {
    resolve: { get: () => load().resolve },
    cache: { get: () => load().cache },
    main: { get: () => load().main },
    extensions: { get: () => load().extensions },
  });
  return req;
}

/**
 * What a linked file's code runs inside, as Node's CommonJS wrapper; scripts/bundle.mjs writes
 * it into the CLI's linked files itself (the same text, followed by the code and `\n})`).
 * @internal
 */
export const LINKED_WRAPPER = '(function (exports, require, module, __filename, __dirname) {';

/**
 * Runs the linked CommonJS file `file` (absolute) and returns its `module.exports`; `use`
 * false compiles it from source and writes no cache. `resolve`: what the file's
 * `require('nsbox-core:…')` gives (scripts/bundle.mjs, the CLI's rest.cjs). `worthWriting`:
 * asked at exit whether this run went far enough for its cache to be one of the few written
 * (the `nsbox` bin: not after `--help` or a usage error, whose runs compile little of a
 * command; a cache written by three of those would hold none of `run`'s code, for good).
 */
export function loadLinked(
  file: string,
  use = process.env.NSBOX_OCI_CODE_CACHE !== '0',
  resolve?: (id: string) => unknown,
  worthWriting?: () => boolean,
): unknown {
  // One open: the identity is that of the source read.
  let source: string;
  let size: number;
  let mtimeMs: number;
  let ino: number;
  let uid: number;
  const fast = linkedFiles()?.readLinkedSource(file);
  if (fast !== undefined) {
    let sec: number;
    let nsec: number;
    [source, , uid, size, sec, nsec, ino] = fast;
    mtimeMs = sec * 1e3 + nsec / 1e6; // as fs.Stats computes mtimeMs
  } else {
    const fd = openSync(file, 'r');
    let st: Stats;
    try {
      st = fstatSync(fd);
      source = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
    ({ size, mtimeMs, ino, uid } = st);
  }
  const site = cacheSite(file, uid);
  // What a cache must name: the file it was made from, and the V8 that made it.
  const identity = `${MAGIC} ${process.versions.v8} ${size} ${mtimeMs} ${ino} `;
  const cached = use ? readCache(site.path, identity, site.owner) : undefined;
  // Node's CommonJS wrapper, on the first line so that line numbers stay the file's own.
  // A file the bundler wrapped already (scripts/bundle.mjs: the CLI's) is compiled as it is read:
  // wrapped here, the source is a cons string that V8 flattens into a copy of the whole file.
  const text = source.startsWith(LINKED_WRAPPER) ? source : `${LINKED_WRAPPER}${source}\n})`;
  const script = new Script(text, {
    filename: file,
    ...(cached && { cachedData: cached.data }),
  });
  // A run's cache holds what it compiled plus what it was given: the first few runs each add
  // the functions their command reached (another command of the same file, another path).
  const generation = cached === undefined || script.cachedDataRejected ? 0 : cached.generation;
  if (use && (cached === undefined || script.cachedDataRejected || generation < GENERATIONS))
    process.once('exit', () => {
      if (worthWriting?.() ?? true) writeCache(site, `${identity}${generation + 1}\n`, script);
    });
  const module = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, linkedRequire(file, resolve), module, file, dirname(file));
  return module.exports;
}
