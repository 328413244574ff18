/**
 * mount(2) and umount2(2) with typed flags: `mount`, `umount`, `bind`, `remount`,
 * `setPropagation`.
 *
 * All of these are synchronous: mount(2) returns once the kernel has changed the mount
 * table, which takes microseconds for local filesystems. A mount of a network filesystem
 * (nfs, cifs) or a FUSE filesystem whose daemon does not answer can block the calling thread
 * for as long as the server takes; do those from a worker thread.
 * @module
 */
import { invalidArgType, invalidArgValue } from '../errors.js';
import { MK, native } from '../native.js';
import {
  MOUNT_FLAGS,
  checkAbsolute,
  checkOptions,
  checkSourceString,
  flagBits,
  nsFdOf,
  propagationBits,
  serializeData,
  type InNamespaceOptions,
  type MountDataValue,
  type MountFlag,
  type Propagation,
} from './flags.js';

/** Options of {@link mount}. */
export interface MountOptions extends InNamespaceOptions {
  /** Filesystem type (`'tmpfs'`, `'ext4'`, `'overlay'`, …): mount(8) `-t`. Not used for bind, remount and propagation changes. */
  fstype?: string;
  /** mount(2) flags in the kernel's words: `['nosuid', 'nodev']`. mount(8) `-o` generic options. */
  flags?: MountFlag[];
  /**
   * Propagation to set on the new mount once it is mounted (a second mount(2) call: the
   * kernel takes propagation changes alone). mount(8) `--make-*`.
   */
  propagation?: Propagation;
  /** Filesystem-specific data: a string as mount(8) `-o` would pass it, or `{ size: '64M', mode: '755' }`. */
  data?: string | Record<string, MountDataValue>;
}

/** Options of {@link umount}. */
export interface UmountOptions extends InNamespaceOptions {
  /** MNT_DETACH: detach now, free once no longer busy (umount(8) `-l`). */
  lazy?: boolean;
  /** MNT_FORCE: abort pending requests (network filesystems; umount(8) `-f`). */
  force?: boolean;
  /** MNT_EXPIRE: mark for expiry; a second call unmounts if unused meanwhile (EAGAIN the first time). */
  expire?: boolean;
  /** UMOUNT_NOFOLLOW: do not follow a symbolic link at `target`. */
  nofollow?: boolean;
}

/** Options of {@link bind}. */
export interface BindOptions extends InNamespaceOptions {
  /** MS_REC: bind the whole subtree, submounts included (`mount --rbind`). */
  recursive?: boolean;
  /** Make the new bind read-only (with `recursive`, every submount too). */
  readOnly?: boolean;
}

/** Options of {@link remount}. */
export interface RemountOptions extends InNamespaceOptions {
  /** New filesystem data (superblock remount only). */
  data?: string | Record<string, MountDataValue>;
}

function boolOpt(name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalidArgType(name, 'of type boolean', v);
  return v;
}

/**
 * Mounts `source` on `target`: mount(2), what `mount -t FSTYPE -o OPTIONS SOURCE TARGET`
 * does. With `propagation`, the propagation type is set afterwards, and if that fails the
 * new mount is detached again, so nothing is left half-made.
 *
 * Needs CAP_SYS_ADMIN in the user namespace owning the mount namespace (root, or inside a
 * user namespace for the filesystems that allow it). Synchronous (see the module notes on
 * network filesystems); does not touch the calling thread, also with `namespace`.
 *
 * @param source - a device, a directory (bind), or a name shown in mountinfo (`'tmpfs'`);
 *   `null` when the filesystem takes none.
 * @param target - an absolute path.
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` (relative target, unknown flag, bad
 *   data) before any syscall; SysError (syscall `'mount'`, `path` = source, `dest` = target)
 *   `EPERM`, `ENOENT`, `ENOTDIR`, `EINVAL`, `ENODEV` (unknown fstype), `EBUSY`; SysError
 *   `'setns'` when entering `namespace` failed.
 */
export function mount(source: string | null, target: string, options?: MountOptions): void {
  const o = checkOptions<MountOptions>('options', options);
  const src = source === null ? null : checkSourceString('source', source);
  const dest = checkAbsolute('target', target);
  let fstype: string | null = null;
  if (o.fstype !== undefined) fstype = checkSourceString('options.fstype', o.fstype);
  const flags = flagBits('options.flags', o.flags, MOUNT_FLAGS);
  const prop = o.propagation === undefined ? 0 : propagationBits('options.propagation', o.propagation);
  const data = serializeData('options.data', o.data);
  const nsFd = nsFdOf('options.namespace', o.namespace);
  native.mountIn(nsFd, src, dest, fstype, flags, data);
  if (prop === 0) return;
  try {
    native.mountIn(nsFd, null, dest, null, prop, null);
  } catch (err) {
    // A remount changed an existing mount, which is not ours to remove.
    if ((flags & MK.MS_REMOUNT) === 0) native.umountIn(nsFd, dest, MK.MNT_DETACH);
    throw err;
  }
}

/**
 * Unmounts the topmost mount at `target`: umount2(2), what `umount [-l] [-f] TARGET` does.
 * Needs CAP_SYS_ADMIN in the user namespace owning the mount namespace. Synchronous; a
 * non-lazy unmount of a network filesystem can wait on the server.
 *
 * @throws `ERR_INVALID_ARG_*` before any syscall; SysError (syscall `'umount2'`, `path`)
 *   `EINVAL` (not a mount point), `EBUSY` (in use; use `lazy`), `EPERM`, `ENOENT`, `EAGAIN`
 *   (first `expire` call).
 */
export function umount(target: string, options?: UmountOptions): void {
  const o = checkOptions<UmountOptions>('options', options);
  const dest = checkAbsolute('target', target);
  let flags = 0;
  if (boolOpt('options.lazy', o.lazy)) flags |= MK.MNT_DETACH;
  if (boolOpt('options.force', o.force)) flags |= MK.MNT_FORCE;
  if (boolOpt('options.expire', o.expire)) flags |= MK.MNT_EXPIRE;
  if (boolOpt('options.nofollow', o.nofollow)) flags |= MK.UMOUNT_NOFOLLOW;
  if ((flags & MK.MNT_EXPIRE) !== 0 && (flags & (MK.MNT_DETACH | MK.MNT_FORCE)) !== 0) {
    throw invalidArgValue('options.expire', true, "cannot be combined with 'lazy' or 'force' (umount(2) EINVAL)");
  }
  native.umountIn(nsFdOf('options.namespace', o.namespace), dest, flags);
}

/**
 * Bind-mounts `source` (a file or directory) on `target`: `mount --bind` / `--rbind`, and
 * with `readOnly` `mount --bind -o ro`. A read-only bind is made with the new mount API: a
 * detached copy of `source` (open_tree(2) OPEN_TREE_CLONE, AT_RECURSIVE when `recursive`)
 * is made read-only with mount_setattr(2) MOUNT_ATTR_RDONLY (AT_RECURSIVE: every submount
 * too, which a `MS_REMOUNT|MS_BIND|MS_RDONLY` remount cannot do; the nosuid/nodev/noexec it
 * inherited are kept, where such a remount would reset them), then attached with
 * move_mount(2). So the mount is never visible writable, a failure leaves nothing mounted,
 * and the read-only step acts on the new mount even when `target` is a
 * `/proc/self/fd/N` magic link ({@link PathHandle.procPath}), whose re-resolution names the
 * covered directory, not the mount on it.
 *
 * Needs CAP_SYS_ADMIN in the user namespace owning the mount namespace. Synchronous.
 * @throws `ERR_INVALID_ARG_*` before any syscall; SysError `ENOENT` (syscall `'mount'`,
 *   `path` = source, `dest` = target), `ENOTDIR` (file on directory or the reverse), `EPERM`,
 *   `EINVAL`; with `readOnly`, syscall `'open_tree'` (`path` = source), `'mount_setattr'` or
 *   `'move_mount'` (`path` = target) instead of `'mount'`.
 */
export function bind(source: string, target: string, options?: BindOptions): void {
  const o = checkOptions<BindOptions>('options', options);
  const src = checkAbsolute('source', source);
  const dest = checkAbsolute('target', target);
  const recursive = boolOpt('options.recursive', o.recursive);
  const readOnly = boolOpt('options.readOnly', o.readOnly);
  const nsFd = nsFdOf('options.namespace', o.namespace);
  if (!readOnly) {
    native.mountIn(nsFd, src, dest, null, MK.MS_BIND | (recursive ? MK.MS_REC : 0), null);
    return;
  }
  const rec = recursive ? MK.AT_RECURSIVE : 0;
  const tree = native.openTreeIn(nsFd, src, MK.OPEN_TREE_CLONE | rec);
  try {
    native.setattrIn(-1, tree, '', MK.AT_EMPTY_PATH | rec, MK.MOUNT_ATTR_RDONLY, 0, 0, -1);
    native.attachIn(nsFd, tree, dest);
  } finally {
    native.close(tree); // attached: the mount stays; never attached: the kernel drops the copy
  }
}

/**
 * Changes the flags of an existing mount: mount(2) with MS_REMOUNT, what `mount -o
 * remount,FLAGS TARGET` does. Include `'bind'` to change only this mount's per-mount flags
 * (`mount -o remount,bind,ro`); without it the filesystem (superblock) is reconfigured and
 * `data` applies. The flags given replace the mount's current ones.
 *
 * Needs CAP_SYS_ADMIN in the user namespace owning the mount namespace; flags the kernel
 * locked in a less privileged mount namespace (nosuid, nodev, … of an inherited mount)
 * cannot be cleared (EPERM). Synchronous.
 * @throws `ERR_INVALID_ARG_*` before any syscall; SysError (syscall `'mount'`, `path`)
 *   `EINVAL` (not a mount point), `EPERM`, `EBUSY` (read-only while files are open for writing).
 */
export function remount(target: string, flags: MountFlag[], options?: RemountOptions): void {
  const o = checkOptions<RemountOptions>('options', options);
  const dest = checkAbsolute('target', target);
  const bits = flagBits('flags', flags, MOUNT_FLAGS);
  const data = serializeData('options.data', o.data);
  native.mountIn(nsFdOf('options.namespace', o.namespace), null, dest, null, bits | MK.MS_REMOUNT, data);
}

/**
 * Sets the propagation type of the mount at `target`: mount(2) with MS_SHARED, MS_PRIVATE,
 * MS_SLAVE or MS_UNBINDABLE (and MS_REC for the `r` forms), what `mount --make-rprivate
 * TARGET` does (mount_namespaces(7), "Shared subtrees").
 *
 * Needs CAP_SYS_ADMIN in the user namespace owning the mount namespace. Synchronous.
 * @throws `ERR_INVALID_ARG_VALUE` (unknown kind, relative target) before any syscall;
 *   SysError (syscall `'mount'`, `path`) `EINVAL` (not a mount point), `EPERM`.
 */
export function setPropagation(target: string, kind: Propagation, options?: InNamespaceOptions): void {
  const o = checkOptions<InNamespaceOptions>('options', options);
  const dest = checkAbsolute('target', target);
  const bits = propagationBits('kind', kind);
  native.mountIn(nsFdOf('options.namespace', o.namespace), null, dest, null, bits, null);
}
