/**
 * Opening and creating cgroups: {@link cgroup} and {@link createCgroup}.
 * @module
 */
import { mkdirSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { SysError, invalidArgType, invalidArgValue } from '../errors.js';
import { Cgroup, checkWritable, controllerList } from './cgroup.js';
import { cgError, writeCg, writeCgAsync } from './files.js';
import { compileLimits, type CgroupLimits } from './limits.js';
import { resolveCgroup } from './mount.js';

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
}

/**
 * Creates a cgroup (mkdir(2) under the v2 mount: `mkdir /sys/fs/cgroup/PATH`), then enables
 * `controllers` for its children and writes `limits`. Everything is validated before the
 * mkdir, and a limit that cannot be applied removes the new cgroup again.
 * @throws as {@link cgroup} and {@link Cgroup.setLimits}; SysError `EEXIST`, `ENOENT`
 *   (parent missing), `EACCES`, `EAGAIN` (cgroup.max.descendants/depth).
 */
export async function createCgroup(path: string, options: CreateCgroupOptions = {}): Promise<Cgroup> {
  const loc = resolveCgroup('path', path);
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
  for (const k of Object.keys(options))
    if (!['controllers', 'limits', 'type'].includes(k))
      throw invalidArgValue(`options.${k}`, (options as Record<string, unknown>)[k], 'is not a createCgroup option');
  const controllers = options.controllers === undefined ? [] : controllerList('options.controllers', options.controllers);
  const writes = options.limits === undefined ? [] : compileLimits(options.limits, 'options.limits');
  if (options.type !== undefined && options.type !== 'threaded') throw invalidArgValue('options.type', options.type, "must be 'threaded'");
  if (loc.path === '/' || loc.directory === posix.dirname(loc.directory))
    throw invalidArgValue('path', path, 'names the root cgroup, which exists');
  try {
    mkdirSync(loc.directory);
  } catch (cause) {
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
    throw err;
  }
  return cg;
}
