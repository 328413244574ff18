/**
 * Where nsbox finds the setuid id-map helpers (newuidmap(1), newgidmap(1)): one lookup for
 * features() and for spawn, so they never disagree.
 * @internal
 * @module
 */
import { accessSync, constants as fsConstants, statSync } from 'node:fs';

/** The system directories searched, in order. Not PATH: the helpers are setuid root. */
const HELPER_DIRS = ['/usr/bin', '/usr/sbin', '/bin', '/sbin'];

/** The absolute path of the executable `name` in a system directory, or null. @internal */
export function findHelper(name: string): string | null {
  for (const dir of HELPER_DIRS) {
    const path = `${dir}/${name}`;
    try {
      if (!statSync(path).isFile()) continue;
      accessSync(path, fsConstants.X_OK);
      return path;
    } catch {
      // absent or not executable here: try the next directory
    }
  }
  return null;
}
