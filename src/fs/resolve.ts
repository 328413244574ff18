/**
 * Path resolution confined to a root: openat2(2) with RESOLVE_IN_ROOT and
 * RESOLVE_NO_MAGICLINKS. Every `..`, absolute path and symlink met on the way is resolved
 * as if `root` were `/`, so a symlink planted in a container's rootfs (`etc -> /etc`,
 * `x -> ../../..`) cannot lead outside it: the runc CVE-2021-30465 class of attack.
 * @module
 */
import { FdHandle } from '../handle.js';
import { MK, native } from '../native.js';
import { kFd } from '../namespaces/types.js';
import { checkAbsolute, checkOptions, flagBits, nsFdOf, type InNamespaceOptions } from './flags.js';
import { invalidArgType, invalidArgValue, illegalConstructor } from '../errors.js';

/**
 * Extra restrictions for {@link resolveInRoot}: `'no_xdev'` (RESOLVE_NO_XDEV: never cross a
 * mount point), `'no_symlinks'` (RESOLVE_NO_SYMLINKS: fail with ELOOP on any symlink),
 * `'nofollow'` (O_NOFOLLOW: open a final symlink itself), `'directory'` (O_DIRECTORY: the
 * result must be a directory).
 */
export type ResolveFlag = 'no_xdev' | 'no_symlinks' | 'nofollow' | 'directory';

const RESOLVE_BITS: Readonly<Record<ResolveFlag, number>> = Object.freeze({
  no_xdev: MK.RESOLVE_NO_XDEV,
  no_symlinks: MK.RESOLVE_NO_SYMLINKS,
  nofollow: 0,
  directory: 0,
});

const OPEN_BITS: Readonly<Record<ResolveFlag, number>> = Object.freeze({
  no_xdev: 0,
  no_symlinks: 0,
  nofollow: MK.O_NOFOLLOW,
  directory: MK.O_DIRECTORY,
});

/** Options of {@link resolveInRoot}. */
export interface ResolveOptions extends InNamespaceOptions {
  /** Extra restrictions; RESOLVE_IN_ROOT and RESOLVE_NO_MAGICLINKS always apply. */
  flags?: ResolveFlag[];
}

const kToken = Symbol('nsbox.PathHandle.new');

/**
 * An O_PATH fd of a file found by {@link resolveInRoot}. Use {@link PathHandle.procPath} as
 * a mount source or target: the kernel follows that magic link to exactly this file, with
 * no second path lookup an attacker could race. Every member throws `ERR_HANDLE_CLOSED`
 * after `close()`.
 */
export class PathHandle extends FdHandle {
  /** The root it was resolved in. */
  readonly root: string;
  /** The path inside the root. */
  readonly path: string;

  /** @internal */
  constructor(token: symbol, fd: number, root: string, path: string) {
    if (token !== kToken) throw illegalConstructor('resolveInRoot()');
    super(fd, `PathHandle(${path})`);
    this.root = root;
    this.path = path;
  }

  /**
   * `/proc/self/fd/N`: a path naming this very file, for `mount()`, `bind()` or `attach()`
   * (and for stat(2)). Valid while the handle is open, in a mount namespace that has this
   * process's /proc mounted.
   */
  get procPath(): string {
    return `/proc/self/fd/${this[kFd]}`;
  }
}

/**
 * Opens `path` as if `root` were `/`: open(root, O_PATH|O_DIRECTORY), then openat2(2) with
 * O_PATH|O_CLOEXEC and RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS (plus `flags`). The fd-based
 * equivalent of what `chroot ROOT realpath PATH` would find, without a chroot and without
 * the race of resolving a path and then using the string (filepath-securejoin, libpathrs).
 *
 * No privileges beyond search access along the path. Synchronous; does not touch the
 * calling thread (also with `namespace`, which resolves `root` in that mount namespace).
 * @param root - an absolute path: the directory that acts as `/`.
 * @param path - a path inside it; absolute or relative, both are taken from `root`.
 * @throws `ERR_INVALID_ARG_*` before any syscall; SysError (syscall `'open'`, `path` = root)
 *   for the root; SysError (syscall `'openat2'`, `path`) `ENOENT`, `ELOOP` (a magic link or,
 *   with `'no_symlinks'`, any symlink), `EXDEV` (`'no_xdev'`), `ENOTDIR`, `EAGAIN` (a rename
 *   raced the lookup: retry), `ENOSYS` (kernel before 5.6).
 */
export function resolveInRoot(root: string, path: string, options?: ResolveOptions): PathHandle {
  const r = checkAbsolute('root', root);
  if (typeof path !== 'string') throw invalidArgType('path', 'of type string', path);
  if (path === '' || path.includes('\0')) throw invalidArgValue('path', path, 'must be a non-empty string without null bytes');
  const o = checkOptions<ResolveOptions>('options', options);
  const resolve = flagBits('options.flags', o.flags, RESOLVE_BITS) | MK.RESOLVE_IN_ROOT | MK.RESOLVE_NO_MAGICLINKS;
  const oflags = flagBits('options.flags', o.flags, OPEN_BITS) | MK.O_PATH;
  const fd = native.resolveIn(nsFdOf('options.namespace', o.namespace), r, path, oflags >>> 0, resolve >>> 0);
  return new PathHandle(kToken, fd, r, path);
}
