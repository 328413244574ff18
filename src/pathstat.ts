/**
 * stat(2)/lstat(2), access(2), readlink(2) and small text files through the addon, for the
 * lookups on a spawn's and a command line's path: the first use of each node:fs function in a
 * process is a cold path of Node's own (a Stats object's first construction ~0.15 ms, a first
 * readFileSync ~0.1 ms, of a short `nsbox run`; csrc/startup_files.cc).
 * @internal
 * @module
 */
import { native } from './native.js';

/** What nsbox reads of a stat(2). @internal */
export interface PathStat {
  readonly mode: number;
  readonly uid: number;
  readonly size: number;
  /** As fs.Stats computes it: seconds × 1e3 + nanoseconds ÷ 1e6. */
  readonly mtimeMs: number;
  readonly ino: number;
  readonly dev: number;
}

const S_IFMT = 0o170000;

/**
 * stat(2) of `path` (lstat(2) unless `follow`); undefined if it does not exist (ENOENT,
 * ENOTDIR). Throws a SysError (`stat`/`lstat`, with `path`) for any other failure.
 * @internal
 */
export function statPath(path: string, follow: boolean): PathStat | undefined {
  const r = native.statPath(path, follow);
  if (r === undefined) return undefined;
  const [mode, uid, size, sec, nsec, ino, dev] = r;
  return { mode, uid, size, mtimeMs: sec * 1e3 + nsec / 1e6, ino, dev };
}

/** @internal */
export const isDirectory = (st: PathStat | undefined): boolean => st !== undefined && (st.mode & S_IFMT) === 0o040000;
/** @internal */
export const isSymbolicLink = (st: PathStat | undefined): boolean => st !== undefined && (st.mode & S_IFMT) === 0o120000;

/**
 * Whether `path` exists (stat(2), following symlinks), as fs.existsSync: false for any failure.
 * @internal
 */
export function pathExists(path: string): boolean {
  try {
    return native.statPath(path, true) !== undefined;
  } catch {
    return false;
  }
}

/**
 * readFileSync(path, 'utf8') through the addon: read to EOF (proc files too). Throws a SysError
 * (`open`/`read`, with `path`) as fs would, with the same `code`.
 * @internal
 */
export function readTextFile(path: string): string {
  return native.readTextFile(path);
}

/**
 * readlinkSync(path) through the addon. Throws a SysError (`readlink`, with `path`).
 * @internal
 */
export function readLink(path: string): string {
  return native.readLink(path);
}
