/**
 * `prepareCgroup()`: the container's cgroup v2 made from a {@link OciCgroupPlan} — every level
 * created as needed, the controllers the limits need enabled from the root down, then the
 * writes. cgroup v1 hierarchies are never touched.
 * @module
 */
import type { Cgroup } from '../cgroups/cgroup.js';
import { cgroup, createCgroup } from '../cgroups/create.js';
import { hasCg, writeCg, writeCgAsync } from '../cgroups/files.js';
import { SysError } from '../errors.js';
import { valueError } from './check.js';
import { removeIfEmpty } from './cgroup-dir.js';
import type { OciDeviceFilter } from './devices.js';
import { translateResources } from './resources.js';
import type { OciCgroupPlan } from './spawn-options.js';

/**
 * Controllers whose writes can block (lowering memory.max reclaims; io and cpuset too), made
 * off the event loop's thread as nsbox/cgroups makes them; the others' (pids.max, cpu.max…)
 * are one quick write(2), made at once.
 */
const MAY_BLOCK = new Set(['memory', 'io', 'cpuset']);

/** Files that take one device (or one line) per write(2). */
const PER_LINE = new Set(['io.max', 'io.weight', 'io.bfq.weight', 'rdma.max']);

/**
 * Creates (or opens) the container's cgroup and applies `linux.resources` to it: `mkdir -p`
 * under the v2 mount, `+controller` in each ancestor's cgroup.subtree_control where missing,
 * then one write per file (one per line for io.max, io.weight, io.bfq.weight, rdma.max), then
 * the device filter of `linux.resources.devices` ({@link Cgroup.setDeviceRules}; without the
 * privilege for it, rootless, a deny-all-then-allow list for a container that cannot mknod(2)
 * is honoured without it, and any other list fails with EPERM).
 * Blkio weights go to io.bfq.weight as they are when the cgroup has that file, as crun does.
 * Pass the result as spawn's `cgroup` option. Asynchronous.
 *
 * Privileges: write access to the parent cgroups (root, or a delegated subtree).
 *
 * @throws `ERR_INVALID_ARG_VALUE` (`jsonPath` 'linux.cgroupsPath') when the cgroup exists and
 *   has processes; SysError `BPF_PROG_LOAD`/`BPF_PROG_ATTACH` from the device filter;
 *   `ERR_NSBOX_CGROUP_CONTROLLER` when a controller the limits need is not available
 *   (the message says where it is missing); SysError from mkdir(2) and the writes, with
 *   `path` and `cgroup`. Cgroups it created are removed again on failure.
 */
export async function prepareCgroup(plan: OciCgroupPlan): Promise<Cgroup> {
  return applyCgroupPlan(plan, false);
}

/**
 * {@link prepareCgroup}; with `populated`, a cgroup that already has processes is accepted
 * (the runtime's `update` of a running container's limits). @internal
 */
export async function applyCgroupPlan(plan: OciCgroupPlan, populated: boolean): Promise<Cgroup> {
  const made: Cgroup[] = [];
  try {
    const cg = await walkDown(plan, made);
    // config-linux.md: a runtime MUST error when a check of the cgroup fails; runc and crun
    // refuse a cgroup that already has processes (another container's).
    if (!populated && made.length === 0 && cg.procs().length > 0)
      throw valueError('linux.cgroupsPath', `names a cgroup that already has processes (${cg.path})`, plan.path);
    const bfq = plan.resources !== undefined && hasCg(cg, 'io.bfq.weight');
    const writes = bfq ? translateResources(plan.resources!, { bfq }).writes : plan.writes;
    for (const w of writes) {
      for (const line of PER_LINE.has(w.file) ? w.value.split('\n') : [w.value])
        if (MAY_BLOCK.has(w.file.slice(0, w.file.indexOf('.')))) await writeCgAsync(cg, w.file, line);
        else writeCg(cg, w.file, line);
    }
    if (plan.devices !== undefined) applyDevices(cg, plan.devices);
    return cg;
  } catch (err) {
    await undoMade(made);
    throw err;
  }
}

/** How often {@link walkDown} starts again after a parent vanished under it. */
const WALK_ATTEMPTS = 8;

/**
 * `mkdir -p` of the plan's path, enabling its controllers in each level's parent; what it
 * creates goes to `made`. A concurrent `nsbox-oci delete` removes the shared parent
 * (`/nsbox-oci`) once it is empty: a level that vanishes under the walk (ENOENT) makes it
 * start again from the root.
 */
async function walkDown(plan: OciCgroupPlan, made: Cgroup[]): Promise<Cgroup> {
  const parts = plan.path.split('/').filter((p) => p !== '');
  for (let attempt = 1; ; attempt++) {
    try {
      let parent = cgroup('.');
      for (let i = 0; i < parts.length; i++) {
        const missing = plan.controllers.filter((c) => !parent.subtreeControl().includes(c));
        if (missing.length) parent.enableControllers(missing);
        const rel = parts.slice(0, i + 1).join('/');
        let child: Cgroup;
        try {
          child = cgroup(rel);
        } catch (err) {
          if ((err as { code?: string }).code !== 'ENOENT') throw err;
          try {
            child = await createCgroup(rel);
            made.push(child);
          } catch (e) {
            // Another create made it meanwhile: shared, not ours.
            if ((e as { code?: string }).code !== 'EEXIST') throw e;
            child = cgroup(rel);
          }
        }
        parent = child;
      }
      return parent;
    } catch (err) {
      if (attempt >= WALK_ATTEMPTS || !(err instanceof SysError) || err.code !== 'ENOENT') throw err;
    }
  }
}

/**
 * Undoes what a failed {@link applyCgroupPlan} made: the container's own cgroup (the deepest)
 * is removed with everything in it; a parent it made is only rmdir'ed when empty, since
 * another container's create may have put its cgroup there meanwhile.
 */
async function undoMade(made: Cgroup[]): Promise<void> {
  const leaf = made.pop();
  if (leaf !== undefined) await leaf.remove({ recursive: true }).catch(() => undefined);
  for (const cg of made.reverse()) removeIfEmpty(cg.directory);
}

/**
 * Attaches the device filter. Without the privilege to load one (rootless: EPERM) a list that
 * can be honoured without it is left to the user namespace or the missing CAP_MKNOD, as runc
 * and crun skip device rules there; any other list fails.
 */
function applyDevices(cg: Cgroup, devices: OciDeviceFilter): void {
  try {
    cg.setDeviceRules(devices.rules);
  } catch (err) {
    if (devices.optional && err instanceof SysError && err.code === 'EPERM') return;
    throw err;
  }
}
