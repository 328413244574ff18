/**
 * Which cgroup v2 the test cgroups go under: a subtree this process may write to.
 * @internal
 * @module
 */
import { accessSync, constants } from 'node:fs';
import type { Cgroup } from '../cgroups/cgroup.js';
import { cgroup } from '../cgroups/create.js';
import { currentCgroup, findCgroup2 } from '../cgroups/discovery.js';
import { nsboxError } from '../errors.js';

const writable = (dir: string): boolean => {
  try {
    accessSync(dir, constants.W_OK);
    accessSync(`${dir}/cgroup.procs`, constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The delegated parent: `path` when given, else `$NSBOX_TEST_CGROUP`, else the v2 root when it
 * is writable (root), else this process's own cgroup when it is (a systemd `Delegate=yes`
 * unit). Returns the reason instead when there is none.
 */
export function findDelegatedCgroup(path?: string): Cgroup | string {
  const v2 = findCgroup2();
  if (v2 === null) return 'cgroup v2 is not mounted here';
  const given = path ?? process.env.NSBOX_TEST_CGROUP;
  if (given !== undefined && given !== '') return cgroup(given);
  if (writable(v2.mountPoint)) return cgroup('.');
  const own = currentCgroup();
  if (own?.directory && writable(own.directory)) {
    try {
      return cgroup(own.directory);
    } catch (err) {
      return `this process's cgroup ${own.directory} cannot be used: ${(err as Error).message}`;
    }
  }
  return (
    `no delegated cgroup v2 subtree: neither ${v2.mountPoint} nor this process's cgroup ` +
    `(${own?.path ?? 'unknown'}) is writable by uid ${process.geteuid!()} ` +
    '(run as root, in a systemd unit or scope with Delegate=yes, or set NSBOX_TEST_CGROUP)'
  );
}

/** {@link findDelegatedCgroup}, throwing `ERR_NSBOX_UNSUPPORTED` with the reason. */
export function delegatedCgroup(path?: string): Cgroup {
  const found = findDelegatedCgroup(path);
  if (typeof found === 'string') throw nsboxError('ERR_NSBOX_UNSUPPORTED', found);
  return found;
}

/** Enables the controllers `parent`'s children need and it does not enable yet. */
export function enableInParent(parent: Cgroup, controllers: readonly string[]): void {
  const on = new Set(parent.subtreeControl());
  const missing = controllers.filter((c) => !on.has(c));
  if (missing.length > 0) parent.enableControllers(missing);
}
