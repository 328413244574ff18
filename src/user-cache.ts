/**
 * The user's own cache directory for what nsbox keeps between runs when it may not keep it
 * beside its files (the linked bins' code caches, the CLI's compiled seccomp filters), and the
 * check every use of it makes. Only node:fs: the bins' loader imports it.
 * @internal
 * @module
 */
import { lstatSync } from 'node:fs';

/**
 * `$XDG_CACHE_HOME/nsbox`, by default `~/.cache/nsbox`; undefined without an absolute one, and
 * always for root, who never writes into a home directory (sudo keeps the user's HOME).
 */
export function userCacheDir(): string | undefined {
  if (process.geteuid!() === 0) return undefined;
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg?.startsWith('/')) return `${xdg}/nsbox`;
  const home = process.env.HOME;
  return home?.startsWith('/') ? `${home}/.cache/nsbox` : undefined;
}

/** Whether `dir` is a directory (not a symlink) of this user's that nobody else can write. */
export function ownDirectory(dir: string): boolean {
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === process.geteuid!() && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}
