/**
 * Finding the cgroup v2 hierarchy and a process's place in it. Read-only: these functions
 * read /proc and the v2 mount's `cgroup.controllers`, and never open a cgroup v1 hierarchy.
 * @module
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { mountinfo, type MountInfoEntry } from '../fs/mountinfo.js';
import { checkPid, readProc, toSysError } from '../procfs.js';

/** Where the cgroup v2 hierarchy is mounted, as {@link findCgroup2} finds it. */
export interface Cgroup2Mount {
  /**
   * The mount point: `/sys/fs/cgroup` on a pure v2 ("unified") system, usually
   * `/sys/fs/cgroup/unified` on a hybrid one.
   */
  mountPoint: string;
  /**
   * The cgroup the mount shows at its top, relative to the reader's cgroup namespace root:
   * `/` unless only a subtree is mounted (a bind mount of a subtree, as some container
   * runtimes give their containers).
   */
  root: string;
  /**
   * The controllers the top of the mount offers (`cgroup.controllers`, e.g. `['cpu', 'memory',
   * 'pids']`). On a hybrid system a controller used by a v1 hierarchy is absent here.
   */
  controllers: string[];
  /** True when cgroup v1 hierarchies are mounted too (a "hybrid" system), so the v2 tree lacks their controllers. */
  hybrid: boolean;
}

/** A process's cgroup v2 membership, as {@link currentCgroup} reports it. */
export interface CurrentCgroup {
  /** The cgroup's path in the v2 hierarchy: the `0::` line of `/proc/<pid>/cgroup` (e.g. `/user.slice/session-1.scope`). */
  path: string;
  /**
   * The cgroup's directory under the v2 mount (e.g. `/sys/fs/cgroup/user.slice/session-1.scope`),
   * or `null` when cgroup v2 is not mounted here or the cgroup lies outside the mounted subtree.
   */
  directory: string | null;
}

/** `mountPoint` joined with a cgroup path, without a trailing slash. */
function under(mountPoint: string, path: string): string {
  const joined = posix.join(mountPoint, path);
  return joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined;
}

/** The preferred mount when several show the v2 hierarchy: the standard places first. */
function pickCgroup2(mounts: MountInfoEntry[]): MountInfoEntry | undefined {
  const v2 = mounts.filter((m) => m.fsType === 'cgroup2');
  return (
    v2.find((m) => m.mountPoint === '/sys/fs/cgroup') ??
    v2.find((m) => m.mountPoint === '/sys/fs/cgroup/unified') ??
    v2.find((m) => m.root === '/') ??
    v2[0]
  );
}

/**
 * Finds the cgroup v2 hierarchy in the calling process's mount table
 * (`/proc/self/mountinfo`, filesystem type `cgroup2`) and reads the controllers it offers
 * from `<mountPoint>/cgroup.controllers`. Replaces `findmnt -t cgroup2` and
 * `cat /sys/fs/cgroup/cgroup.controllers`.
 *
 * When several mounts show the hierarchy, `/sys/fs/cgroup`, then `/sys/fs/cgroup/unified`,
 * then a mount of the whole tree is preferred.
 *
 * Synchronous (two procfs/cgroupfs reads), needs no privilege, touches nothing.
 * @returns the mount, or `null` when cgroup v2 is not mounted in this mount namespace.
 * @throws `SysError` if `cgroup.controllers` cannot be read (`syscall` `'open'`/`'read'`, `path`).
 */
export function findCgroup2(): Cgroup2Mount | null {
  const mounts = mountinfo('self');
  const mount = pickCgroup2(mounts);
  if (mount === undefined) return null;
  const file = posix.join(mount.mountPoint, 'cgroup.controllers');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw toSysError(cause, file);
  }
  return {
    mountPoint: mount.mountPoint,
    root: mount.root,
    controllers: text.split(/\s+/).filter((c) => c !== ''),
    hybrid: mounts.some((m) => m.fsType === 'cgroup'),
  };
}

/**
 * The cgroup v2 a process belongs to: the `0::<path>` line of `/proc/<pid>/cgroup`
 * (cgroups(7)), and where that cgroup's directory is under the v2 mount found by
 * {@link findCgroup2}. Replaces `cat /proc/<pid>/cgroup`.
 *
 * The path is relative to the reading process's cgroup namespace, as is the mount's root,
 * so the directory is right inside a cgroup namespace too.
 *
 * Synchronous (procfs reads), needs no privilege for one's own processes, touches nothing.
 * @param pid - a process id; `'self'` (the default) is the calling process.
 * @returns the membership, or `null` if the kernel reports no v2 line (no cgroup v2 support).
 * @throws TypeError `ERR_INVALID_ARG_TYPE` / RangeError `ERR_OUT_OF_RANGE` for a bad `pid`;
 *   `SysError` `ENOENT` (no such process) with `syscall` `'open'`, `path` and `pid`.
 */
export function currentCgroup(pid: number | 'self' = 'self'): CurrentCgroup | null {
  const text = readProc(checkPid('pid', pid), 'cgroup');
  const line = text.split('\n').find((l) => l.startsWith('0::'));
  if (line === undefined) return null;
  const path = line.slice(3);
  const mount = pickCgroup2(mountinfo('self'));
  let directory: string | null = null;
  if (mount !== undefined) {
    const root = mount.root;
    if (root === '/') directory = under(mount.mountPoint, path);
    else if (path === root || path.startsWith(`${root}/`)) {
      directory = under(mount.mountPoint, path.slice(root.length));
    }
  }
  return { path, directory };
}
