/**
 * The container's cgroup through nsbox/cgroups (loaded only by the commands that need it).
 * @internal
 * @module
 */
import { readFileSync, rmdirSync } from 'node:fs';
import { posix } from 'node:path';
import type { Cgroup } from '../../cgroups/cgroup.js';
import { DEFAULT_PARENT, removeIfEmpty } from '../cgroup-dir.js';
import { RuntimeError } from './errors.js';
import type { ContainerRecord } from './store.js';

/** The container's cgroup, or null when it has none (or it is gone). */
export async function openCgroup(rec: ContainerRecord): Promise<Cgroup | null> {
  if (rec.cgroup === undefined) return null;
  const { cgroup } = await import('../../cgroups/create.js');
  try {
    return cgroup(rec.cgroupDir ?? rec.cgroup);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return null;
    throw err;
  }
}

/** The cgroup, or a RuntimeError saying why `what` needs one. */
export async function needCgroup(rec: ContainerRecord, what: string): Promise<Cgroup> {
  const cg = await openCgroup(rec);
  if (cg === null)
    throw new RuntimeError(
      `${what}: container ${rec.id} has no cgroup (it was created without a cgroup v2 it could write, e.g. rootless without a delegated cgroup)`,
    );
  return cg;
}

/**
 * The default parent `/nsbox-oci` goes with the last container in it (`delete`, or a create
 * that failed): rmdir(2), which the kernel refuses while another container's cgroup is there
 * (EBUSY) — and a create that loses the race to it makes it again (prepareCgroup walks down
 * again on ENOENT). Parents named by a config's cgroupsPath are left, as runc leaves them.
 * `path` and `directory`: the container's cgroup, already removed.
 */
export function removeDefaultParent(path: string | undefined, directory: string | undefined): void {
  if (path === undefined || directory === undefined || posix.dirname(path) !== `/${DEFAULT_PARENT}`) return;
  const dir = posix.dirname(directory);
  if (posix.basename(dir) === DEFAULT_PARENT) removeIfEmpty(dir);
}

/**
 * Removes the container's cgroup (delete, once its processes are gone). The usual case, an
 * empty cgroup without children, is one rmdir(2), made here without loading nsbox/cgroups.
 * When that fails (EBUSY: still populated, or sub-cgroups) nothing has changed, and
 * `Cgroup.remove({ recursive: true })` does the rest: kills what is left, waits for
 * `populated 0`, removes the children, then the cgroup.
 */
export async function removeCgroup(rec: ContainerRecord): Promise<void> {
  if (rec.cgroup === undefined) return;
  if (rec.cgroupDir !== undefined)
    try {
      rmdirSync(rec.cgroupDir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    }
  const cg = await openCgroup(rec);
  await cg?.remove({ recursive: true });
}

/**
 * The cgroup directory the container's process is in now, when it is the container's cgroup
 * or below it (a systemd inside moves itself to `init.scope`), else undefined. For `exec` when
 * clone3 into the container's cgroup fails with EBUSY: the container enabled controllers for
 * its sub-cgroups there, and the kernel keeps processes out of such an inner cgroup (cgroup
 * v2's no-internal-process rule). runc and crun then join the process's cgroup likewise.
 * Read from /proc/PID/cgroup in our own cgroup namespace (paths from the v2 root).
 * `pid`: another process (`kill --all` asks whether each one is still the container's).
 */
export function processCgroupDir(rec: ContainerRecord, pid = rec.pid): string | undefined {
  if (rec.cgroup === undefined || rec.cgroupDir === undefined || !rec.cgroupDir.endsWith(rec.cgroup)) return undefined;
  let line: string | undefined;
  try {
    line = readFileSync(`/proc/${pid}/cgroup`, 'latin1')
      .split('\n')
      .find((l) => l.startsWith('0::'));
  } catch {
    return undefined; // gone: the caller's liveness check says so
  }
  const path = line?.slice(3);
  const base = rec.cgroup === '/' ? '' : rec.cgroup;
  if (path === undefined || !(path === rec.cgroup || path.startsWith(`${base}/`)) || path.split('/').includes('..')) return undefined;
  return rec.cgroupDir.slice(0, rec.cgroupDir.length - rec.cgroup.length) + path;
}
