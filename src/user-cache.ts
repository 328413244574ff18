/**
 * The check every store nsbox keeps between runs makes of its directory (the compiled seccomp
 * filters'). There is no per-user cache directory: see src/oci/runtime/linked.ts cacheSite.
 * Only node:fs.
 * @internal
 * @module
 */
import { lstatSync } from 'node:fs';

/** Whether `dir` is a directory (not a symlink) of this user's that nobody else can write. */
export function ownDirectory(dir: string): boolean {
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === process.geteuid!() && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}
