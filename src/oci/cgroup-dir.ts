/**
 * What `delete` needs of a container's cgroup without nsbox/cgroups or the config mapping: the
 * default parent's name and an rmdir(2) that leaves a cgroup in use alone.
 * @internal
 * @module
 */
import { rmdirSync } from 'node:fs';

/**
 * The default parent of containers' cgroups under the v2 root (`/nsbox-oci/ID`); the runtime's
 * `delete` removes it with the last container in it. @internal
 */
export const DEFAULT_PARENT = 'nsbox-oci';

/**
 * rmdir(2) of a cgroup directory that has neither processes nor children; one in use (EBUSY,
 * ENOTEMPTY) or already gone (ENOENT) is left as it is. Never kills: unlike
 * `Cgroup.remove`, it is safe on a parent other containers share. @internal
 */
export function removeIfEmpty(directory: string): boolean {
  try {
    rmdirSync(directory);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EBUSY' || code === 'ENOTEMPTY' || code === 'ENOENT') return false;
    throw err;
  }
}
