/**
 * Opening and creating cgroups: {@link cgroup} and {@link createCgroup}.
 * @module
 */
import { existsSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { SysError, invalidArgType, invalidArgValue } from '../errors.js';
import { Cgroup, checkWritable, controllerList } from './cgroup.js';
import { type CgroupLocation, cgError, writeCg, writeCgAsync } from './files.js';
import { compileLimits, type CgroupLimits } from './limits.js';
import { resolveCgroup, v2Mount } from './mount.js';

/**
 * Opens an existing cgroup: a path relative to the v2 mount (`'app/web'`) or a directory
 * inside it (`'/sys/fs/cgroup/app/web'`). Synchronous (one stat(2)).
 * @throws TypeError `ERR_INVALID_ARG_TYPE`; `ERR_INVALID_ARG_VALUE` for a path that leaves the
 *   v2 mount or lies in a v1 hierarchy; `ERR_NSBOX_UNSUPPORTED` without cgroup v2; SysError
 *   `ENOENT` (no such cgroup) with `path` and `cgroup`.
 */
export function cgroup(path: string): Cgroup {
  const loc = resolveCgroup('path', path);
  try {
    if (!statSync(loc.directory).isDirectory()) throw new SysError(20, 'stat', { path: loc.directory, cgroup: loc.path });
  } catch (cause) {
    throw cgError(cause, loc.directory, loc);
  }
  return new Cgroup(loc);
}

/** Options of {@link createCgroup}. */
export interface CreateCgroupOptions {
  /** Controllers to enable for the new cgroup's children (its cgroup.subtree_control). */
  controllers?: string[];
  /** Limits to write after creation (see {@link Cgroup.setLimits}). */
  limits?: CgroupLimits;
  /** `'threaded'` makes it a threaded cgroup (cgroup.type). */
  type?: 'threaded';
  /**
   * Creates missing parent cgroups first, like `mkdir -p` (and `fs.mkdir`'s `recursive`).
   * They are plain cgroups: no controllers, limits or type of their own, and they stay after
   * the new cgroup is removed. Unlike `mkdir -p`, the cgroup itself must not exist yet
   * (`EEXIST`). If anything fails, the parents this call created are removed again.
   */
  recursive?: boolean;
}

/**
 * Creates a cgroup (mkdir(2) under the v2 mount: `mkdir /sys/fs/cgroup/PATH`, or with
 * `recursive` `mkdir -p`), then enables `controllers` for its children and writes `limits`.
 * Everything is validated before the first mkdir, and a failure afterwards (a limit that
 * cannot be applied, a parent that cannot be made) removes the new cgroup and the parents
 * this call made again.
 *
 * Needs write access to the parent directory (root, or a delegated subtree). Blocks only
 * for the limit writes that may reclaim memory, off the loop thread.
 * @throws as {@link cgroup} and {@link Cgroup.setLimits}; SysError `EEXIST`, `ENOENT`
 *   (parent missing, without `recursive`), `EACCES`, `EAGAIN` (cgroup.max.descendants/depth),
 *   with `path` the directory that could not be made.
 */
export async function createCgroup(path: string, options: CreateCgroupOptions = {}): Promise<Cgroup> {
  const loc = resolveCgroup('path', path);
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
  for (const k of Object.keys(options))
    if (!['controllers', 'limits', 'type', 'recursive'].includes(k))
      throw invalidArgValue(`options.${k}`, (options as Record<string, unknown>)[k], 'is not a createCgroup option');
  const controllers = options.controllers === undefined ? [] : controllerList('options.controllers', options.controllers);
  const writes = options.limits === undefined ? [] : compileLimits(options.limits, 'options.limits');
  if (options.type !== undefined && options.type !== 'threaded') throw invalidArgValue('options.type', options.type, "must be 'threaded'");
  if (options.recursive !== undefined && typeof options.recursive !== 'boolean')
    throw invalidArgType('options.recursive', 'of type boolean', options.recursive);
  if (loc.path === '/' || loc.directory === posix.dirname(loc.directory))
    throw invalidArgValue('path', path, 'names the root cgroup, which exists');
  const made = options.recursive ? makeParents(loc) : [];
  try {
    mkdirSync(loc.directory);
  } catch (cause) {
    removeDirs(made);
    throw cgError(cause, loc.directory, loc);
  }
  const cg = new Cgroup(loc);
  try {
    if (options.type === 'threaded') cg.type = 'threaded';
    if (controllers.length) cg.enableControllers(controllers);
    checkWritable(cg, writes);
    for (const w of writes) {
      if (w.mayBlock) await writeCgAsync(cg, w.file, w.value);
      else writeCg(cg, w.file, w.value);
    }
  } catch (err) {
    await cg.remove().catch(() => undefined);
    removeDirs(made);
    throw err;
  }
  return cg;
}

/**
 * mkdir(2) of each missing ancestor of `loc` below the v2 mount, top down; returns the
 * directories it made, deepest first. One that appears meanwhile (EEXIST) is someone else's.
 * On a failure it removes what it made and throws.
 */
function makeParents(loc: CgroupLocation): string[] {
  const { mountPoint } = v2Mount();
  const missing: CgroupLocation[] = [];
  let dir = posix.dirname(loc.directory);
  let cgPath = posix.dirname(loc.path);
  while (dir.length > mountPoint.length && !existsSync(dir)) {
    missing.unshift({ path: cgPath, directory: dir });
    dir = posix.dirname(dir);
    cgPath = posix.dirname(cgPath);
  }
  const made: string[] = [];
  for (const p of missing) {
    try {
      mkdirSync(p.directory);
      made.unshift(p.directory);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'EEXIST') continue;
      removeDirs(made);
      throw cgError(cause, p.directory, p);
    }
  }
  return made;
}

/** rmdir(2) of empty cgroups this call made, deepest first; one in use meanwhile stays. */
function removeDirs(dirs: string[]): void {
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch {
      // EBUSY/ENOTEMPTY: someone else placed a process or a child there meanwhile: theirs now
    }
  }
}
