/**
 * Keeping a namespace alive without a process: a bind mount of its nsfs file, as
 * `ip netns add` and `unshare --net=FILE` make (namespaces(7), mount(2) MS_BIND).
 * @module
 */
import { closeSync, lstatSync, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { SysError, fromFsError, invalidArgType, invalidArgValue } from '../errors.js';
import { K, native } from '../native.js';
import { Namespace, checkPath, openNamespacePath } from './namespace.js';
import { kFd } from './types.js';

/** Where iproute2 keeps named network namespaces (`NETNS_RUN_DIR`). @internal */
export const NETNS_RUN_DIR = '/run/netns';

function checkTarget(path: unknown): asserts path is string {
  checkPath('path', path);
  if (!isAbsolute(path)) throw invalidArgValue('path', path, 'must be an absolute path');
}

function fsError(err: unknown, syscall: string, path: string): Error {
  return fromFsError(err, { path }, syscall) as Error;
}

/** Options of {@link persistNamespace}. */
export interface PersistNamespaceOptions {
  /** Fail with `EEXIST` if `path` exists, as `ip netns add` does. Default `false`. */
  exclusive?: boolean;
}

/**
 * Bind-mounts `ns` onto `path` (mount(2) with MS_BIND from `/proc/self/fd/N`) so that it
 * outlives every fd and process, creating `path` as an empty file if it is missing. Does
 * what `mount --bind /proc/PID/ns/net PATH` (and the second half of `ip netns add`) does.
 * On failure nothing is left behind: a file it created is removed.
 *
 * The mount is made in the calling thread's mount namespace. Needs CAP_SYS_ADMIN over that
 * mount namespace. Does not change the calling thread's namespaces.
 *
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` (non-absolute path) before any
 * syscall; `ERR_HANDLE_CLOSED`; SysError `EEXIST`/`EACCES`/`ENOENT` (syscall `'open'`),
 * `EPERM`/`EINVAL` (syscall `'mount'`, with `path` and `dest`).
 */
export function persistNamespace(ns: Namespace, path: string, options: PersistNamespaceOptions = {}): void {
  if (!(ns instanceof Namespace)) throw invalidArgType('ns', 'an instance of Namespace', ns);
  checkTarget(path);
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  const exclusive = options.exclusive ?? false;
  if (typeof exclusive !== 'boolean') throw invalidArgType('options.exclusive', 'of type boolean', exclusive);
  const fd = ns[kFd];

  let created = false;
  if (exclusive || !exists(path)) {
    try {
      // O_EXCL: never mount over a file someone else made between the check and now.
      closeSync(openSync(path, 'wx', 0o444));
    } catch (err) {
      throw fsError(err, 'open', path);
    }
    created = true;
  }
  try {
    native.mountIn(-1, `/proc/self/fd/${fd}`, path, null, K.MS_BIND, null);
  } catch (err) {
    if (created) unlinkSync(path);
    throw err;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fsError(err, 'lstat', path);
  }
}

/**
 * Undoes {@link persistNamespace}: detaches the bind mount at `path` (umount2(2) with
 * MNT_DETACH) and removes the file, as `ip netns delete` and `umount -l PATH; rm PATH` do.
 * The namespace itself ends once nothing else holds it. Checks first that `path` holds a
 * namespace, so it never unmounts anything else.
 *
 * Needs CAP_SYS_ADMIN over the calling thread's mount namespace.
 *
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` (non-absolute path, or `path` is not
 * a namespace file) before unmounting; SysError `ENOENT` (syscall `'stat'`), `EPERM`/`EINVAL`
 * (syscall `'umount2'`), `EBUSY` etc. (syscall `'unlink'`).
 */
export function unpersistNamespace(path: string): void {
  checkTarget(path);
  openNamespacePath(path).close();
  native.umountIn(-1, path, K.MNT_DETACH);
  try {
    unlinkSync(path);
  } catch (err) {
    throw fsError(err, 'unlink', path);
  }
}

/**
 * Prepares /run/netns the way `ip netns add` does (iproute2 ip/ipnetns.c): the directory
 * exists with mode 0755 and is a shared mount point (bound onto itself first if it is not a
 * mount point), so a network namespace persisted there propagates to, and is unmounted from,
 * every mount namespace that has a copy of /run/netns. @internal
 */
export function prepareNetnsRunDir(): void {
  try {
    mkdirSync(NETNS_RUN_DIR, { mode: 0o755, recursive: true });
  } catch (err) {
    throw fsError(err, 'mkdir', NETNS_RUN_DIR);
  }
  const shared = K.MS_SHARED | K.MS_REC;
  try {
    native.mountIn(-1, null, NETNS_RUN_DIR, null, shared, null);
    return;
  } catch (err) {
    // EINVAL: not a mount point yet (mount(2), "Changing the propagation type").
    if (!(err instanceof SysError) || err.code !== 'EINVAL') throw err;
  }
  native.mountIn(-1, NETNS_RUN_DIR, NETNS_RUN_DIR, null, K.MS_BIND | K.MS_REC, null);
  try {
    native.mountIn(-1, null, NETNS_RUN_DIR, null, shared, null);
  } catch (err) {
    native.umountIn(-1, NETNS_RUN_DIR, K.MNT_DETACH);
    throw err;
  }
}
