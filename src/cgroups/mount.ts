/**
 * Where cgroup paths resolve: the v2 mount (looked up once per process), path checks that
 * refuse anything outside it, and the explanation of a controller that is not available.
 * @internal
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { invalidArgType, invalidArgValue, nsboxError } from '../errors.js';
import { mountinfo } from '../fs/mountinfo.js';
import { findCgroup2, type Cgroup2Mount } from './discovery.js';
import type { CgroupLocation } from './files.js';

let cached: Cgroup2Mount | undefined;

/** The v2 mount, found once (findCgroup2()). @throws `ERR_NSBOX_UNSUPPORTED` when there is none. @internal */
export function v2Mount(): Cgroup2Mount {
  if (cached !== undefined) return cached;
  const m = findCgroup2();
  if (m === null)
    throw nsboxError(
      'ERR_NSBOX_UNSUPPORTED',
      'cgroup v2 is not mounted in this mount namespace (no cgroup2 entry in /proc/self/mountinfo)',
    );
  return (cached = m);
}

/**
 * Resolves a cgroup given relative to the v2 mount ('app/web') or as an absolute directory
 * inside it ('/sys/fs/cgroup/app/web'). Refuses paths that leave the mount (`..`) or point
 * into a cgroup v1 hierarchy, before any syscall but the one-time mount lookup.
 * @throws TypeError `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`.
 * @internal
 */
export function resolveCgroup(name: string, path: unknown): CgroupLocation {
  if (typeof path !== 'string') throw invalidArgType(name, 'of type string', path);
  if (path === '' || path.includes('\0')) throw invalidArgValue(name, path, 'must be a non-empty string without null bytes');
  const mount = v2Mount();
  let rel: string;
  const norm = posix.normalize(path);
  if (path.startsWith('/')) {
    if (norm === mount.mountPoint || norm === `${mount.mountPoint}/`) rel = '/';
    else if (norm.startsWith(`${mount.mountPoint}/`)) rel = norm.slice(mount.mountPoint.length);
    else {
      const v1 = mountinfo('self').find((m) => m.fsType === 'cgroup' && (norm === m.mountPoint || norm.startsWith(`${m.mountPoint}/`)));
      throw invalidArgValue(
        name,
        path,
        v1
          ? `is in the cgroup v1 hierarchy at ${v1.mountPoint}; nsbox works on cgroup v2 only (mounted at ${mount.mountPoint})`
          : `is outside the cgroup v2 mount ${mount.mountPoint} (give a path relative to it, or a directory inside it)`,
      );
    }
  } else {
    if (norm === '..' || norm.startsWith('../')) throw invalidArgValue(name, path, `leaves the cgroup v2 mount ${mount.mountPoint}`);
    rel = norm === '.' || norm === './' ? '/' : `/${norm}`;
  }
  if (rel.length > 1 && rel.endsWith('/')) rel = rel.slice(0, -1);
  const directory = rel === '/' ? mount.mountPoint : mount.mountPoint + rel;
  const cgPath = mount.root === '/' ? rel : rel === '/' ? mount.root : mount.root + rel;
  return { path: cgPath, directory };
}

function words(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split(/\s+/)
      .filter((w) => w !== '');
  } catch {
    return [];
  }
}

/** An `ERR_NSBOX_CGROUP_CONTROLLER` error. @internal */
export type ControllerError = Error & { code: 'ERR_NSBOX_CGROUP_CONTROLLER'; controller: string; cgroup: string };

/**
 * Explains why `file` (a file of `controller`) is missing in `cg`: the controller is bound to
 * a v1 hierarchy, not offered by the parent, not enabled in the parent's subtree_control, or
 * the kernel lacks the file.
 * @internal
 */
export function controllerError(cg: CgroupLocation, controller: string, file: string, option: string): ControllerError {
  const mount = v2Mount();
  const parentDir = posix.dirname(cg.directory);
  const parentPath = posix.dirname(cg.path);
  let why: string;
  if (!words(`${mount.mountPoint}/cgroup.controllers`).includes(controller)) {
    const v1 = mountinfo('self').find((m) => m.fsType === 'cgroup' && m.superOptions.includes(controller));
    why = v1
      ? `the ${controller} controller is not available in cgroup v2 here (it is bound to the cgroup v1 hierarchy at ${v1.mountPoint})`
      : `the ${controller} controller is not available in cgroup v2 here (not built into this kernel, or disabled with cgroup_disable=)`;
  } else if (cg.directory === mount.mountPoint) {
    why = `the root cgroup has no ${file}`;
  } else if (!words(`${parentDir}/cgroup.controllers`).includes(controller)) {
    why = `the ${controller} controller is not available to ${parentPath}: an ancestor has not enabled it in its cgroup.subtree_control`;
  } else if (!words(`${parentDir}/cgroup.subtree_control`).includes(controller)) {
    why = `the ${controller} controller is not enabled in the parent's cgroup.subtree_control (${parentPath}); enable it there first (enableControllers(['${controller}']) on the parent, or echo +${controller} > ${parentDir}/cgroup.subtree_control)`;
  } else if (!existsSync(cg.directory)) {
    why = `the cgroup ${cg.path} does not exist`;
  } else {
    why = `${file} does not exist in ${cg.path}: this kernel has no such file`;
  }
  const err = nsboxError('ERR_NSBOX_CGROUP_CONTROLLER', `${option}: ${why}`) as ControllerError;
  err.controller = controller;
  err.cgroup = cg.path;
  return err;
}
