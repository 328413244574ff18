/**
 * The new mount API as handles: `fsopen` → {@link FsContext} → {@link DetachedMount};
 * `openTree` → {@link DetachedMount}; `setAttr` (mount_setattr(2), idmapped mounts) and
 * `attach` (move_mount(2)). Each handle owns an O_CLOEXEC fd.
 *
 * A detached mount belongs to no mount table until attached; closing its handle before
 * `attach()` unmounts it (the kernel drops it with its last fd).
 * @module
 */
import { FdHandle } from '../handle.js';
import { SysError, invalidArgType, invalidArgValue, illegalConstructor } from '../errors.js';
import { MK, native } from '../native.js';
import { Namespace } from '../namespaces/namespace.js';
import { kFd } from '../namespaces/types.js';
import { attrBits, checkAbsolute, checkOptions, checkSourceString, nsFdOf, type InNamespaceOptions, type MountAttr } from './flags.js';

/** A SysError from fsconfig(2)/fsmount(2) that may carry the filesystem's own message. */
export type FsSysError = SysError & {
  /** What the filesystem wrote to the context's log (`"overlay: …"`; the log fsopen(2) describes), joined by newlines, without the severity letter. */
  kernelMessage?: string;
};

const kToken = Symbol('nsbox.fs.handle');

/** Options of {@link FsContext.mount}. */
export interface FsMountOptions {
  /** Per-mount attributes of the new mount (fsmount(2) `attr_flags`): `['rdonly', 'nosuid']`. */
  attrs?: MountAttr[];
}

/** Options of {@link DetachedMount.setAttr}. */
export interface SetAttrOptions {
  /** Attributes to set (`MOUNT_ATTR_*`). */
  set?: MountAttr[];
  /** Attributes to clear. */
  clear?: MountAttr[];
  /** Propagation type (mount_setattr(2) `propagation`); use `recursive` for the whole tree. */
  propagation?: 'private' | 'slave' | 'shared' | 'unbindable';
  /**
   * Make this an idmapped mount (MOUNT_ATTR_IDMAP): file owners are shown and written
   * through the uid/gid maps of this user namespace. Only for a detached mount not yet
   * attached, of a filesystem that supports it.
   */
  idmap?: Namespace;
  /** AT_RECURSIVE: apply to every mount in the tree. */
  recursive?: boolean;
}

/**
 * A filesystem context (fsopen(2)): configure it with {@link FsContext.set}, create the
 * superblock with {@link FsContext.create}, make a detached mount of it with
 * {@link FsContext.mount}. Every method throws `ERR_HANDLE_CLOSED` after `close()`.
 */
export class FsContext extends FdHandle {
  /** The filesystem type given to fsopen. */
  readonly fstype: string;

  /** @internal */
  constructor(token: symbol, fd: number, fstype: string) {
    if (token !== kToken) throw illegalConstructor('fsopen()');
    super(fd, `FsContext(${fstype})`);
    this.fstype = fstype;
  }

  /**
   * Sets one parameter: fsconfig(2) FSCONFIG_SET_FLAG (no value, or `true`) or
   * FSCONFIG_SET_STRING (a string or number). The keys are those of `mount -o`
   * (`'size'`, `'mode'`, `'lowerdir+'`). Synchronous.
   * @throws `ERR_INVALID_ARG_*` before any syscall; SysError (syscall `'fsconfig'`, `path` =
   *   key, `kernelMessage`) `EINVAL` (unknown key or bad value), `EPERM`; `ERR_HANDLE_CLOSED`.
   */
  set(key: string, value?: string | number | true): this {
    const fd = this[kFd];
    if (typeof key !== 'string' || key === '' || key.includes('\0')) throw invalidArgType('key', 'a non-empty string', key);
    if (value === undefined || value === true) {
      this.#config(fd, MK.FSCONFIG_SET_FLAG, key, null);
    } else if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) {
      const v = String(value);
      if (v.includes('\0')) throw invalidArgValue('value', v, 'must not contain null bytes');
      this.#config(fd, MK.FSCONFIG_SET_STRING, key, v);
    } else {
      throw invalidArgType('value', 'a string, a finite number or true', value);
    }
    return this;
  }

  /**
   * Creates the superblock from the parameters set so far: fsconfig(2) FSCONFIG_CMD_CREATE.
   * May do I/O (opening a block device, contacting a server for a network filesystem):
   * for local and virtual filesystems it is quick.
   * @throws SysError (syscall `'fsconfig'`, `kernelMessage`); `ERR_HANDLE_CLOSED`.
   */
  create(): this {
    this.#config(this[kFd], MK.FSCONFIG_CMD_CREATE, null, null);
    return this;
  }

  /**
   * Makes a detached mount of the created superblock: fsmount(2). Attach it with
   * {@link DetachedMount.attach}. The context stays open (and may be closed now).
   * @throws `ERR_INVALID_ARG_VALUE` (unknown attr) before any syscall; SysError (syscall
   *   `'fsmount'`) `EINVAL` (not created yet), `EPERM`; `ERR_HANDLE_CLOSED`.
   */
  mount(options?: FsMountOptions): DetachedMount {
    const fd = this[kFd];
    const o = checkOptions<FsMountOptions>('options', options);
    const { bits } = attrBits('options.attrs', o.attrs);
    try {
      return new DetachedMount(kToken, native.fsmount(fd, bits), this.fstype);
    } catch (err) {
      throw withKernelMessage(err, fd);
    }
  }

  #config(fd: number, cmd: number, key: string | null, value: string | null): void {
    try {
      native.fsconfig(fd, cmd, key, value, 0);
    } catch (err) {
      throw withKernelMessage(err, fd);
    }
  }
}

/** Reads the context's log into `kernelMessage` of a SysError. */
function withKernelMessage(err: unknown, fd: number): unknown {
  if (!(err instanceof SysError)) return err;
  let lines: string[] = [];
  try {
    lines = native.fsLog(fd);
  } catch {
    // No log to add.
  }
  if (lines.length > 0) (err as FsSysError).kernelMessage = lines.map((l) => l.replace(/^[ewi] /, '').replace(/\n$/, '')).join('\n');
  return err;
}

/**
 * A mount held by an fd (from {@link FsContext.mount} or {@link openTree}): detached until
 * {@link DetachedMount.attach}. Every method throws `ERR_HANDLE_CLOSED` after `close()`;
 * closing a mount that was never attached unmounts it.
 */
export class DetachedMount extends FdHandle {
  /** Where it came from: the fstype (fsmount) or the path (openTree). */
  readonly origin: string;

  /** @internal */
  constructor(token: symbol, fd: number, origin: string) {
    if (token !== kToken) throw illegalConstructor('fsopen() or openTree()');
    super(fd, `DetachedMount(${origin})`);
    this.origin = origin;
  }

  /**
   * Changes the mount's attributes, propagation and id mapping: mount_setattr(2) on the
   * fd (AT_EMPTY_PATH, plus AT_RECURSIVE with `recursive`). What `mount -o
   * remount,bind,ro` and `mount --make-private` do, and what `mount -o X-mount.idmap` does
   * for an idmapped mount. Needs CAP_SYS_ADMIN in the mount's user namespace; `idmap` also
   * needs CAP_SYS_ADMIN over the given user namespace. Synchronous.
   * @throws `ERR_INVALID_ARG_*` before any syscall; SysError (syscall `'mount_setattr'`)
   *   `EINVAL` (idmap of an attached mount or an unsupporting filesystem), `EPERM`, `EBUSY`;
   *   `ERR_HANDLE_CLOSED`.
   */
  setAttr(options: SetAttrOptions): this {
    const fd = this[kFd];
    const o = checkOptions<SetAttrOptions>('options', options);
    const set = attrBits('options.set', o.set);
    const clr = attrBits('options.clear', o.clear);
    let setBits = set.bits;
    let clrBits = clr.bits;
    // mount_setattr(2): an atime value in attr_set needs MOUNT_ATTR__ATIME in attr_clr.
    if (set.atime || clr.atime) clrBits |= MK.MOUNT_ATTR__ATIME;
    let propagation = 0;
    if (o.propagation !== undefined) {
      const table: Record<NonNullable<SetAttrOptions['propagation']>, number> = {
        private: MK.MS_PRIVATE,
        slave: MK.MS_SLAVE,
        shared: MK.MS_SHARED,
        unbindable: MK.MS_UNBINDABLE,
      };
      if (!Object.hasOwn(table, o.propagation)) {
        throw invalidArgValue('options.propagation', o.propagation, "must be 'private', 'slave', 'shared' or 'unbindable'");
      }
      propagation = table[o.propagation];
    }
    let usernsFd = -1;
    if (o.idmap !== undefined) {
      if (!(o.idmap instanceof Namespace)) throw invalidArgType('options.idmap', 'an instance of Namespace', o.idmap);
      if (o.idmap.type !== 'user') throw invalidArgValue('options.idmap', o.idmap.id, 'must be a user namespace');
      usernsFd = o.idmap[kFd];
      setBits |= MK.MOUNT_ATTR_IDMAP;
    }
    if (o.recursive !== undefined && typeof o.recursive !== 'boolean')
      throw invalidArgType('options.recursive', 'of type boolean', o.recursive);
    const at = MK.AT_EMPTY_PATH | (o.recursive ? MK.AT_RECURSIVE : 0);
    native.setattrIn(-1, fd, '', at, setBits >>> 0, clrBits >>> 0, propagation, usernsFd);
    return this;
  }

  /**
   * Attaches the mount at `target`: move_mount(2) with MOVE_MOUNT_F_EMPTY_PATH, what `mount
   * --move` does for an attached one. With `namespace`, `target` is resolved (and the mount
   * attached) in that mount namespace, from a dedicated native thread. The handle stays open
   * and still refers to the mount. A symlink as the last component of `target` is followed,
   * as mount(2) follows it (MOVE_MOUNT_T_SYMLINKS), so a `/proc/self/fd/N` magic link (a
   * `PathHandle.procPath` from {@link resolveInRoot}) names the inode that was opened. Needs
   * CAP_SYS_ADMIN in the target's mount namespace. Synchronous.
   * @throws `ERR_INVALID_ARG_*` before any syscall; SysError (syscall `'move_mount'`, `path`)
   *   `ENOENT`, `EINVAL` (already attached elsewhere, target not reachable), `EPERM`;
   *   `ERR_HANDLE_CLOSED`.
   */
  attach(target: string, options?: InNamespaceOptions): void {
    const fd = this[kFd];
    const o = checkOptions<InNamespaceOptions>('options', options);
    native.attachIn(nsFdOf('options.namespace', o.namespace), fd, checkAbsolute('target', target));
  }
}

/**
 * Opens a filesystem context: fsopen(2) with FSOPEN_CLOEXEC. The new-API equivalent of the
 * `-t` part of `mount -t FSTYPE`; follow with `set()`, `create()`, `mount()`, `attach()`.
 * The superblock's namespaces (user, network for sysfs, pid for proc) are the caller's.
 * Needs CAP_SYS_ADMIN (in a user namespace for the filesystems that allow it). Synchronous.
 * @throws `ERR_INVALID_ARG_*` before any syscall; SysError (syscall `'fsopen'`, `path` =
 *   fstype) `ENODEV` (unknown filesystem), `EPERM`, `ENOSYS` (kernel before 5.2).
 */
export function fsopen(fstype: string): FsContext {
  const t = checkSourceString('fstype', fstype);
  return new FsContext(kToken, native.fsopen(t), t);
}

/** Options of {@link openTree}. */
export interface OpenTreeOptions extends InNamespaceOptions {
  /** OPEN_TREE_CLONE: a detached copy of the mount (a bind mount not yet attached); else the mount itself. */
  clone?: boolean;
  /** AT_RECURSIVE (with `clone`): copy the submounts too (an rbind). */
  recursive?: boolean;
}

/**
 * Opens the mount at `path`: open_tree(2) with OPEN_TREE_CLOEXEC. With `clone`, a detached
 * bind mount of it (what `mount --bind` does in two steps, so its attributes, propagation
 * and id mapping can be set before anyone sees it); otherwise a handle to the attached mount
 * itself, for `setAttr()` or moving it with `attach()`. Needs CAP_SYS_ADMIN for `clone`.
 * Synchronous.
 * @throws `ERR_INVALID_ARG_*` (relative path, `recursive` without `clone`) before any
 *   syscall; SysError (syscall `'open_tree'`, `path`) `ENOENT`, `EPERM`, `EINVAL`.
 */
export function openTree(path: string, options?: OpenTreeOptions): DetachedMount {
  const p = checkAbsolute('path', path);
  const o = checkOptions<OpenTreeOptions>('options', options);
  for (const k of ['clone', 'recursive'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw invalidArgType(`options.${k}`, 'of type boolean', o[k]);
  }
  if (o.recursive && !o.clone) throw invalidArgValue('options.recursive', true, "needs 'clone: true'");
  const flags = (o.clone ? MK.OPEN_TREE_CLONE : 0) | (o.recursive ? MK.AT_RECURSIVE : 0);
  return new DetachedMount(kToken, native.openTreeIn(nsFdOf('options.namespace', o.namespace), p, flags), p);
}
