/**
 * stat(2)/lstat(2) through the addon, for the lookups on a spawn's and a command line's path:
 * node:fs builds a Stats object, and its first construction in a process is a cold path of
 * Node's own (~0.15 ms of a short `nsbox run`, csrc/startup_files.cc).
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
