/**
 * The container's cgroup through nsbox/cgroups (loaded only by the commands that need it).
 * @internal
 * @module
 */
import type { Cgroup } from '../../cgroups/cgroup.js';
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
