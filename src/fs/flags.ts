/**
 * Mount flag names in the kernel's words, their numbers (from csrc/mount.cc, never typed by
 * hand), and the argument checks every call of `nsbox/fs` shares.
 * @module
 */
import { isAbsolute } from 'node:path';
import { invalidArgType, invalidArgValue } from '../errors.js';
import { MK } from '../native.js';
import { Namespace } from '../namespaces/namespace.js';
import { kFd } from '../namespaces/types.js';

/**
 * A mount(2) flag, named as mount(2) and mount(8) name it (`MS_NOSUID` → `'nosuid'`).
 * `'bind'`, `'rec'` and `'remount'` select what mount(2) does; the others are mount options.
 */
export type MountFlag =
  | 'rdonly'
  | 'nosuid'
  | 'nodev'
  | 'noexec'
  | 'sync'
  | 'remount'
  | 'dirsync'
  | 'nosymfollow'
  | 'noatime'
  | 'nodiratime'
  | 'bind'
  | 'rec'
  | 'silent'
  | 'relatime'
  | 'strictatime'
  | 'lazytime';

/** MS_* value of each {@link MountFlag}; a missing entry is a compile error. @internal */
export const MOUNT_FLAGS: Readonly<Record<MountFlag, number>> = Object.freeze({
  rdonly: MK.MS_RDONLY,
  nosuid: MK.MS_NOSUID,
  nodev: MK.MS_NODEV,
  noexec: MK.MS_NOEXEC,
  sync: MK.MS_SYNCHRONOUS,
  remount: MK.MS_REMOUNT,
  dirsync: MK.MS_DIRSYNC,
  nosymfollow: MK.MS_NOSYMFOLLOW,
  noatime: MK.MS_NOATIME,
  nodiratime: MK.MS_NODIRATIME,
  bind: MK.MS_BIND,
  rec: MK.MS_REC,
  silent: MK.MS_SILENT,
  relatime: MK.MS_RELATIME,
  strictatime: MK.MS_STRICTATIME,
  lazytime: MK.MS_LAZYTIME,
});

/**
 * Mount propagation (the kernel's sharedsubtree.rst, mount_namespaces(7)); the `r` forms
 * apply to every mount below the target too (`MS_REC`).
 */
export type Propagation = 'private' | 'rprivate' | 'slave' | 'rslave' | 'shared' | 'rshared' | 'unbindable' | 'runbindable';

/** MS_* value of each {@link Propagation}. @internal */
export const PROPAGATION: Readonly<Record<Propagation, number>> = Object.freeze({
  private: MK.MS_PRIVATE,
  rprivate: MK.MS_PRIVATE | MK.MS_REC,
  slave: MK.MS_SLAVE,
  rslave: MK.MS_SLAVE | MK.MS_REC,
  shared: MK.MS_SHARED,
  rshared: MK.MS_SHARED | MK.MS_REC,
  unbindable: MK.MS_UNBINDABLE,
  runbindable: MK.MS_UNBINDABLE | MK.MS_REC,
});

/**
 * A per-mount attribute of the new mount API (mount_setattr(2), fsmount(2)): `MOUNT_ATTR_*`
 * in lower case. `'relatime'`, `'noatime'` and `'strictatime'` are the three values of the
 * atime setting; give at most one.
 */
export type MountAttr = 'rdonly' | 'nosuid' | 'nodev' | 'noexec' | 'relatime' | 'noatime' | 'strictatime' | 'nodiratime' | 'nosymfollow';

/** MOUNT_ATTR_* value of each {@link MountAttr}. @internal */
export const MOUNT_ATTRS: Readonly<Record<MountAttr, number>> = Object.freeze({
  rdonly: MK.MOUNT_ATTR_RDONLY,
  nosuid: MK.MOUNT_ATTR_NOSUID,
  nodev: MK.MOUNT_ATTR_NODEV,
  noexec: MK.MOUNT_ATTR_NOEXEC,
  relatime: MK.MOUNT_ATTR_RELATIME,
  noatime: MK.MOUNT_ATTR_NOATIME,
  strictatime: MK.MOUNT_ATTR_STRICTATIME,
  nodiratime: MK.MOUNT_ATTR_NODIRATIME,
  nosymfollow: MK.MOUNT_ATTR_NOSYMFOLLOW,
});

const ATIME_ATTRS: readonly MountAttr[] = ['relatime', 'noatime', 'strictatime'];

/** Options every call of `nsbox/fs` that resolves a path accepts. */
export interface InNamespaceOptions {
  /**
   * A mount namespace handle (from `createNamespace('mnt')`, `openNamespace('mnt', { pid })`,
   * `child.namespace('mnt')`). When given, the call runs on a short-lived dedicated native
   * thread that does `unshare(CLONE_FS)` and `setns(fd, CLONE_NEWNS)`, acts, and exits, so
   * paths resolve in that namespace. Needs CAP_SYS_ADMIN in the namespace's owning user
   * namespace and CAP_SYS_CHROOT (setns(2)).
   */
  namespace?: Namespace;
}

/** Checks an options argument: undefined or a plain object. @internal */
export function checkOptions<T extends object>(name: string, options: unknown): Partial<T> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw invalidArgType(name, 'of type object', options);
  return options as Partial<T>;
}

/** The nsfd for `options.namespace`: -1 for none; checks it is an open mount namespace. @internal */
export function nsFdOf(name: string, ns: unknown): number {
  if (ns === undefined) return -1;
  if (!(ns instanceof Namespace)) throw invalidArgType(name, 'an instance of Namespace', ns);
  if (ns.type !== 'mnt') throw invalidArgValue(name, ns.id, 'must be a mount namespace');
  return ns[kFd];
}

/** A non-empty absolute path without NUL bytes. @internal */
export function checkAbsolute(name: string, path: unknown): string {
  if (typeof path !== 'string') throw invalidArgType(name, 'of type string', path);
  if (path === '' || path.includes('\0')) throw invalidArgValue(name, path, 'must be a non-empty string without null bytes');
  if (!isAbsolute(path)) throw invalidArgValue(name, path, 'must be an absolute path');
  return path;
}

/** A path mount(2) takes as a source: absolute for binds; any non-empty string otherwise. @internal */
export function checkSourceString(name: string, source: unknown): string {
  if (typeof source !== 'string') throw invalidArgType(name, 'of type string', source);
  if (source === '' || source.includes('\0')) throw invalidArgValue(name, source, 'must be a non-empty string without null bytes');
  return source;
}

/** ORs the values of a list of names; unknown names are ERR_INVALID_ARG_VALUE. @internal */
export function flagBits<N extends string>(name: string, list: unknown, table: Readonly<Record<N, number>>): number {
  if (list === undefined) return 0;
  if (!Array.isArray(list)) throw invalidArgType(name, 'an array of flag names', list);
  let bits = 0;
  for (const f of list) {
    if (typeof f !== 'string' || !Object.hasOwn(table, f)) {
      throw invalidArgValue(
        name,
        f,
        `must contain only ${Object.keys(table)
          .map((k) => `'${k}'`)
          .join(', ')}`,
      );
    }
    bits |= table[f as N];
  }
  return bits >>> 0;
}

/** Checks a propagation name and returns its MS_* bits. @internal */
export function propagationBits(name: string, kind: unknown): number {
  if (typeof kind !== 'string' || !Object.hasOwn(PROPAGATION, kind)) {
    throw invalidArgValue(
      name,
      kind,
      `must be one of ${Object.keys(PROPAGATION)
        .map((k) => `'${k}'`)
        .join(', ')}`,
    );
  }
  return PROPAGATION[kind as Propagation];
}

/**
 * MOUNT_ATTR_* bits of a list of {@link MountAttr}; `atime` is true when it holds one of the
 * atime values (so the caller clears MOUNT_ATTR__ATIME, as mount_setattr(2) requires).
 * @internal
 */
export function attrBits(name: string, list: unknown): { bits: number; atime: boolean } {
  const bits = flagBits(name, list, MOUNT_ATTRS);
  const atimes = (list as MountAttr[] | undefined)?.filter((a) => ATIME_ATTRS.includes(a)) ?? [];
  if (new Set(atimes).size > 1) throw invalidArgValue(name, list, "may hold only one of 'relatime', 'noatime', 'strictatime'");
  return { bits, atime: atimes.length > 0 };
}

/** A value in a filesystem's option string. */
export type MountDataValue = string | number | boolean;

/**
 * Serialises filesystem data for mount(2): a string as is; an object as `key=value` pairs
 * joined by `,` (`true` gives a bare `key`, `false` leaves the key out). Keys and values must
 * not hold `,` (the separator) nor NUL; keys must not hold `=`.
 * @internal
 */
export function serializeData(name: string, data: unknown): string | null {
  if (data === undefined) return null;
  if (typeof data === 'string') {
    if (data.includes('\0')) throw invalidArgValue(name, data, 'must not contain null bytes');
    return data;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw invalidArgType(name, 'a string or an object of string, number or boolean values', data);
  }
  const parts: string[] = [];
  for (const [k, v] of Object.entries(data)) {
    if (k === '' || /[,=\0]/.test(k)) throw invalidArgValue(`${name}.${k}`, k, "has a key that is empty or holds ',', '=' or a null byte");
    if (v === undefined || v === false) continue;
    if (v === true) {
      parts.push(k);
      continue;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw invalidArgValue(`${name}.${k}`, v, 'must be a finite number');
      parts.push(`${k}=${v}`);
      continue;
    }
    if (typeof v !== 'string') throw invalidArgType(`${name}.${k}`, 'of type string, number or boolean', v);
    if (/[,\0]/.test(v)) throw invalidArgValue(`${name}.${k}`, v, "must not contain ',' or null bytes");
    parts.push(`${k}=${v}`);
  }
  return parts.join(',');
}
