/**
 * `landlockForCommand()`: the ruleset behind `nsbox run --landlock-*`. Everything not named
 * is denied, except what the command needs to start: its file, its ELF interpreter (the
 * loader named in PT_INTERP), its `#!` interpreter, the standard library directories and a
 * few character devices. Re-exported by src/security/landlock.ts.
 * @module
 */
import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { resolveInRoot } from '../fs/resolve.js';
import { checkLandlock, type LandlockFsAccessName, type LandlockFsRule, type LandlockRuleset } from './landlock.js';

/** Options of {@link landlockForCommand}. */
export interface LandlockCommandOptions {
  /** The command as spawn takes it: a path, or a name searched in `path`. */
  command: string;
  /** `--landlock-read PATH`: read and execute beneath each path. */
  read?: readonly string[];
  /** `--landlock-write PATH`: read and write (create, remove, rename, truncate) beneath each path. */
  write?: readonly string[];
  /** `--landlock-connect PORT`: TCP ports the command may connect to (ABI 4). */
  connect?: readonly number[];
  /** `--landlock-bind PORT`: TCP ports the command may bind (ABI 4). */
  bind?: readonly number[];
  /**
   * The host path of the container's root when the command runs in one: the command, its
   * loader and interpreters are looked up there (confined with openat2 RESOLVE_IN_ROOT, so
   * a symlink in the rootfs cannot lead out), and the rules name their container paths.
   */
  root?: string;
  /** The PATH to search for a bare command name. Default: `process.env.PATH`, else the usual system directories. */
  path?: string;
  /** As {@link LandlockRuleset.mode}. Default `'best-effort'`. */
  mode?: 'best-effort' | 'strict';
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Where the loader finds shared libraries (ld.so(8)), and its cache. */
const LIBRARY_DIRS = ['/lib', '/lib64', '/usr/lib', '/usr/lib64'];
const RX: LandlockFsAccessName[] = ['read', 'execute'];
const PT_INTERP = 3;
const MAX_INTERPRETERS = 4; // the kernel's own limit on #! nesting (BINPRM_MAX_RECURSION)

/** What the command's world holds at a path: its type and mode, its loader, its `#!` line. */
interface Found {
  readonly stat: Stats;
  readonly interpreter?: string;
  readonly shebang?: { interpreter: string; arg?: string };
}

/** Opens `path` (on the host, or confined in `root`), reads what the parsers need, closes. */
function inspect(root: string | undefined, path: string): Found | undefined {
  let fd: number;
  try {
    if (root === undefined) fd = openSync(path, 'r');
    else {
      const handle = resolveInRoot(root, path);
      try {
        fd = openSync(handle.procPath, 'r');
      } finally {
        handle.close();
      }
    }
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { stat };
    const read = (at: number, len: number): Buffer => {
      const b = Buffer.alloc(len);
      return b.subarray(0, readSync(fd, b, 0, len, at));
    };
    const interpreter = elfInterpreter(read);
    const bang = shebang(read(0, 256));
    return { stat, ...(interpreter ? { interpreter } : {}), ...(bang ? { shebang: bang } : {}) };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

interface ElfLayout {
  readonly is64: boolean;
  readonly le: boolean;
  readonly phoff: number;
  readonly phentsize: number;
  readonly phnum: number;
}

/** The ELF header's program-header table location (elf(5)), or undefined if not ELF. */
function elfLayout(h: Buffer): ElfLayout | undefined {
  if (h.length < 52 || h.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const is64 = h[4] === 2;
  const le = h[5] === 1;
  if ((h[4] !== 1 && !is64) || (h[5] !== 1 && h[5] !== 2) || (is64 && h.length < 64)) return undefined;
  const u16 = (o: number) => (le ? h.readUInt16LE(o) : h.readUInt16BE(o));
  const u32 = (o: number) => (le ? h.readUInt32LE(o) : h.readUInt32BE(o));
  const phoff = is64 ? Number(le ? h.readBigUInt64LE(32) : h.readBigUInt64BE(32)) : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  if (phentsize < (is64 ? 56 : 32) || phnum > 4096 || !Number.isSafeInteger(phoff)) return undefined;
  return { is64, le, phoff, phentsize, phnum };
}

/** PT_INTERP's file offset and size in a program-header table held in `t` at `e.phoff`. */
function findInterp(t: Buffer, e: ElfLayout): { offset: number; size: number } | undefined {
  for (let i = 0; i < e.phnum; i++) {
    const o = e.phoff + i * e.phentsize;
    if (o + e.phentsize > t.length) return undefined;
    const u32 = (x: number) => (e.le ? t.readUInt32LE(x) : t.readUInt32BE(x));
    const u64 = (x: number) => Number(e.le ? t.readBigUInt64LE(x) : t.readBigUInt64BE(x));
    if (u32(o) !== PT_INTERP) continue;
    return e.is64 ? { offset: u64(o + 8), size: u64(o + 32) } : { offset: u32(o + 4), size: u32(o + 16) };
  }
  return undefined;
}

/**
 * The ELF interpreter (PT_INTERP) of an executable, e.g. `/lib64/ld-linux-x86-64.so.2`;
 * undefined for a static binary or a file that is not ELF. Reads the ELF header, the
 * program headers and the interpreter string, nothing else (elf(5)). @internal
 */
export function elfInterpreter(read: (at: number, len: number) => Buffer): string | undefined {
  const e = elfLayout(read(0, 64));
  if (!e) return undefined;
  const table = read(e.phoff, e.phnum * e.phentsize);
  const interp = findInterp(table, { ...e, phoff: 0 });
  if (!interp || interp.size === 0 || interp.size > 4096) return undefined;
  const s = read(interp.offset, interp.size).toString('latin1');
  const path = s.slice(0, s.includes('\0') ? s.indexOf('\0') : s.length);
  return path.startsWith('/') ? path : undefined;
}

/** `#!interpreter [arg]` of a script (the kernel's binfmt_script rules), or undefined. */
export function shebang(head: Buffer): { interpreter: string; arg?: string } | undefined {
  if (head.length < 3 || head[0] !== 0x23 || head[1] !== 0x21) return undefined;
  const end = head.indexOf(0x0a);
  const line = head
    .subarray(2, end < 0 ? Math.min(head.length, 256) : end)
    .toString('latin1')
    .trim();
  const m = /^(\S+)(?:\s+(.*))?$/.exec(line);
  if (!m) return undefined;
  return m[2] ? { interpreter: m[1]!, arg: m[2].trim() } : { interpreter: m[1]! };
}

/** The command's file as execvp(3) would find it, as a path of the command's world. */
function which(root: string | undefined, command: string, searchPath: string): { path: string; file: Found } | undefined {
  const candidates = command.includes('/')
    ? [root === undefined ? posix.resolve(command) : posix.resolve('/', command)]
    : searchPath.split(':').map((d) => posix.join(d === '' ? '.' : d, command));
  for (const path of candidates) {
    if (!path.startsWith('/')) continue; // a relative PATH entry: the child's cwd decides, not ours
    const file = inspect(root, path);
    if (file?.stat.isFile() && (file.stat.mode & 0o111) !== 0) return { path, file };
  }
  return undefined;
}

function strings(name: string, v: unknown): readonly string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw invalidArgType(name, 'an array of paths', v);
  return v.map((p: unknown, i) => {
    if (typeof p !== 'string') throw invalidArgType(`${name}[${i}]`, 'of type string', p);
    if (!p.startsWith('/') || p.includes('\0')) throw invalidArgValue(`${name}[${i}]`, p, 'must be an absolute path without null bytes');
    return p;
  });
}

/**
 * A Landlock ruleset for running `command` with only the named paths and ports: what
 * `nsbox run --landlock-read/--landlock-write/--landlock-connect/--landlock-bind` builds.
 * Every filesystem right the kernel knows is handled (and the TCP rights when `connect` or
 * `bind` is given), so anything not granted below is denied:
 *
 * - the command's file (found like execvp(3) against `path`, inside `root` when given):
 *   execute and read-file; its ELF interpreter (PT_INTERP) the same; for a script, its `#!`
 *   interpreter (and, for `#!/usr/bin/env NAME`, NAME searched in `path`), recursively;
 * - read and execute beneath `/lib`, `/lib64`, `/usr/lib`, `/usr/lib64` and read of
 *   `/etc/ld.so.cache`, where the loader finds shared libraries (ld.so(8)) — all optional;
 * - read and write of `/dev/null` and `/dev/zero`, read of `/dev/urandom` and `/dev/random` (optional);
 * - `read`: read and execute beneath each path; `write`: read and write beneath each path;
 * - `connect`/`bind`: those TCP ports.
 *
 * Nothing else: not /proc, /tmp, /etc (beyond the loader's cache), the terminal, or
 * /usr/share. stdin/stdout/stderr stay usable whatever they are: Landlock checks a file when
 * it is opened, and those were opened before the ruleset existed.
 *
 * Reads the command's first bytes (ELF header, program headers, `#!` line) from the host or
 * the container root; no privileges beyond reading them; synchronous; does not touch the
 * calling thread. A command that cannot be found gets no rule: spawn then fails with ENOENT
 * at 'exec' as it would without Landlock.
 * @throws `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE` for bad
 *   options (relative paths, ports outside 0..65535), before any syscall.
 */
export function landlockForCommand(options: LandlockCommandOptions): LandlockRuleset {
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
  const { command, root, mode } = options;
  if (typeof command !== 'string') throw invalidArgType('options.command', 'of type string', command);
  if (command === '' || command.includes('\0'))
    throw invalidArgValue('options.command', command, 'must be a non-empty string without null bytes');
  if (root !== undefined && (typeof root !== 'string' || !root.startsWith('/') || root.includes('\0')))
    throw invalidArgValue('options.root', root, 'must be an absolute path');
  const searchPath = options.path ?? process.env.PATH ?? DEFAULT_PATH;
  if (typeof searchPath !== 'string') throw invalidArgType('options.path', 'of type string', searchPath);
  const ports = (name: 'connect' | 'bind'): number[] => {
    const v = options[name];
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw invalidArgType(`options.${name}`, 'an array of ports', v);
    return v.map((p: unknown, i) => {
      if (typeof p !== 'number' || !Number.isInteger(p)) throw invalidArgType(`options.${name}[${i}]`, 'an integer', p);
      if (p < 0 || p > 65535) throw outOfRange(`options.${name}[${i}]`, '>= 0 and <= 65535', p);
      return p;
    });
  };

  const fs: LandlockFsRule[] = [];
  const seen = new Set<string>();
  const exe = (path: string): void => {
    if (!seen.has(path)) fs.push({ path, access: ['read-file', 'execute'] });
    seen.add(path);
  };
  let next = which(root, command, searchPath);
  for (let depth = 0; next && depth <= MAX_INTERPRETERS; depth++) {
    exe(next.path);
    if (next.file.interpreter) exe(next.file.interpreter);
    const bang = next.file.shebang;
    next = bang ? which(root, bang.interpreter, searchPath) : undefined;
    // `#!/usr/bin/env NAME`: env(1) then execvp's NAME (its first argument not an option).
    const envArg = bang && posix.basename(bang.interpreter) === 'env' ? bang.arg?.split(/\s+/).find((x) => !x.startsWith('-')) : undefined;
    if (next && envArg) {
      exe(next.path);
      if (next.file.interpreter) exe(next.file.interpreter);
      next = which(root, envArg, searchPath);
    }
  }
  for (const dir of LIBRARY_DIRS) fs.push({ path: dir, access: RX, optional: true });
  fs.push({ path: '/etc/ld.so.cache', access: 'read-file' as const, optional: true });
  for (const dev of ['/dev/null', '/dev/zero']) fs.push({ path: dev, access: ['read-file', 'write-file'], optional: true });
  for (const dev of ['/dev/urandom', '/dev/random']) fs.push({ path: dev, access: 'read-file' as const, optional: true });
  strings('options.read', options.read).forEach((path) => fs.push({ path, access: RX }));
  strings('options.write', options.write).forEach((path) => fs.push({ path, access: ['read', 'write'] }));

  const net = [
    ...ports('connect').map((port) => ({ port, access: ['connect-tcp' as const] })),
    ...ports('bind').map((port) => ({ port, access: ['bind-tcp' as const] })),
  ];
  const rs: LandlockRuleset = { fs, ...(net.length ? { net } : {}), ...(mode === undefined ? {} : { mode }) };
  return checkLandlock('options', rs);
}
