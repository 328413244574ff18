/**
 * A container's root as options: the root filesystem (a directory, an overlay of layers, or
 * a tmpfs with the host's system directories read-only), ordered mounts, and the defaults
 * runc and Docker set (masked and read-only paths…), with their validation, before any
 * syscall. The spawn-plan steps that build it are src/namespaces/container-steps.ts.
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { invalidArgType, invalidArgValue } from '../errors.js';

/** An overlay root: image layers with a writable layer on top. */
export interface OverlayRootfs {
  /** Lower layers, bottom first (as images stack them). */
  layers: string[];
  /** The writable layer, kept on disk; omitted: a throw-away tmpfs upper. */
  upper?: string;
  /** overlayfs's work directory, on the same filesystem as `upper` (given with it). */
  work?: string;
}

/**
 * The container's root filesystem: a directory (bound recursively as the root), `'host'` (the
 * host's /usr, /bin, /sbin, /lib*, /etc read-only on a fresh tmpfs), or an overlay of layers.
 */
export type RootfsSpec = string | 'host' | OverlayRootfs;

/** A volume: a host path bound into the container. */
export interface BindMount {
  /** Discriminant. */
  type: 'bind';
  /** The host path (a directory or a file). */
  source: string;
  /** Where it appears inside (absolute; created if missing, as a directory or file like the source). */
  target: string;
  /** Read-only (mount_setattr `MOUNT_ATTR_RDONLY`). */
  readOnly?: boolean;
  /** Include the submounts of `source` (default true). */
  recursive?: boolean;
  /**
   * An idmapped mount (mount_setattr(2) `MOUNT_ATTR_IDMAP`) through the container's user
   * namespace: files show inside with the owners they have on disk. Needs root, a new user
   * namespace, and a filesystem that supports idmapped mounts.
   */
  idmap?: boolean;
}

/** A fresh tmpfs inside the container. */
export interface TmpfsMount {
  /** Discriminant. */
  type: 'tmpfs';
  /** Where (absolute; created if missing). */
  target: string;
  /** Size in bytes, or with a suffix: '64m', '1g', '50%'. */
  size?: number | string;
  /** Mode of its root directory, e.g. 0o1777. Default 0o755. */
  mode?: number;
  /** Mounted read-only. */
  readOnly?: boolean;
}

/** A kernel filesystem with the options containers use. */
export interface SpecialMount {
  /** proc, sysfs, mqueue or devpts (a new instance). */
  type: 'proc' | 'sysfs' | 'mqueue' | 'devpts';
  /** Where (absolute; created if missing). */
  target: string;
  /** Mounted read-only. */
  readOnly?: boolean;
}

/** One mount of a container, applied in order after the root and the defaults. */
export type ContainerMount = BindMount | TmpfsMount | SpecialMount;

/** The container part of the spawn options (validated). @internal */
export interface ContainerOptions {
  rootfs?: RootfsSpec;
  mounts?: ContainerMount[];
  readOnlyRoot?: boolean;
  /** Add /proc, /sys, /dev… as runc does. Default true with a rootfs. */
  defaultMounts?: boolean;
  hostname?: string;
}

/** runc's default masked paths (files get /dev/null, directories an empty read-only tmpfs). */
export const MASKED_PATHS: readonly string[] = Object.freeze([
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
]);
/** The masked paths that are directories (an empty read-only tmpfs over them). @internal */
export const MASKED_DIRS = new Set(['/proc/acpi', '/proc/asound', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap']);
/** runc's default read-only paths. */
export const READONLY_PATHS: readonly string[] = Object.freeze(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);

function absPath(name: string, v: unknown): string {
  if (typeof v !== 'string') throw invalidArgType(name, 'of type string', v);
  if (v.includes('\0')) throw invalidArgValue(name, v, 'must be a string without null bytes');
  if (!isAbsolute(v)) throw invalidArgValue(name, v, 'must be an absolute path');
  return normalize(v).replace(/\/+$/, '') || '/';
}

function hostDir(name: string, v: unknown): string {
  const p = absPath(name, v);
  let st: import('node:fs').Stats;
  try {
    st = statSync(p);
  } catch {
    throw invalidArgValue(name, v, 'does not exist');
  }
  if (!st.isDirectory()) throw invalidArgValue(name, v, 'is not a directory');
  return p;
}

function overlayPath(name: string, p: string): string {
  if (/[,:\\]/.test(p)) throw invalidArgValue(name, p, 'must not contain ",", ":" or "\\" (overlayfs option syntax)');
  return p;
}

const SIZE = /^(\d+)([kmg%]?)$/i;

/** Validates the container options (no syscalls beyond stat of host paths). @internal */
export function checkContainer(o: ContainerOptions): ContainerOptions {
  const out: ContainerOptions = {};
  if (o.rootfs !== undefined) {
    const r = o.rootfs;
    if (r === 'host') out.rootfs = 'host';
    else if (typeof r === 'string') out.rootfs = hostDir('options.rootfs', r);
    else if (typeof r === 'object' && r !== null && Array.isArray((r as { layers?: unknown }).layers)) {
      const layers = r.layers.map((l, i) => overlayPath(`options.rootfs.layers[${i}]`, hostDir(`options.rootfs.layers[${i}]`, l)));
      if (layers.length === 0 || layers.length > 500) throw invalidArgValue('options.rootfs.layers', r.layers, 'must have 1 to 500 layers');
      if ((r.upper === undefined) !== (r.work === undefined))
        throw invalidArgValue('options.rootfs', r, 'needs both upper and work, or neither');
      const spec: OverlayRootfs = { layers };
      if (r.upper !== undefined) {
        spec.upper = overlayPath('options.rootfs.upper', hostDir('options.rootfs.upper', r.upper));
        spec.work = overlayPath('options.rootfs.work', hostDir('options.rootfs.work', r.work));
      }
      out.rootfs = spec;
    } else throw invalidArgType('options.rootfs', "a directory, 'host', or { layers, upper?, work? }", r);
  }
  if (o.mounts !== undefined) {
    if (!Array.isArray(o.mounts)) throw invalidArgType('options.mounts', 'an array of mount specs', o.mounts);
    out.mounts = o.mounts.map((m, i) => {
      const n = `options.mounts[${i}]`;
      if (typeof m !== 'object' || m === null) throw invalidArgType(n, 'an object', m);
      const target = absPath(`${n}.target`, m.target);
      if (m.readOnly !== undefined && typeof m.readOnly !== 'boolean') throw invalidArgType(`${n}.readOnly`, 'of type boolean', m.readOnly);
      switch (m.type) {
        case 'bind': {
          const source = absPath(`${n}.source`, m.source);
          if (!existsSync(source)) throw invalidArgValue(`${n}.source`, m.source, 'does not exist');
          if (m.idmap !== undefined && typeof m.idmap !== 'boolean') throw invalidArgType(`${n}.idmap`, 'of type boolean', m.idmap);
          if (m.idmap && process.geteuid!() !== 0)
            throw invalidArgValue(`${n}.idmap`, true, 'needs root (the kernel wants CAP_SYS_ADMIN over the source mount)');
          return { ...m, source, target };
        }
        case 'tmpfs': {
          if (m.size !== undefined && !(typeof m.size === 'number' ? Number.isInteger(m.size) && m.size > 0 : SIZE.test(String(m.size)))) {
            throw invalidArgValue(`${n}.size`, m.size, "must be a byte count or a size like '64m' or '50%'");
          }
          if (m.mode !== undefined && !(Number.isInteger(m.mode) && m.mode >= 0 && m.mode <= 0o7777))
            throw invalidArgValue(`${n}.mode`, m.mode, 'must be a mode from 0 to 0o7777');
          return { ...m, target };
        }
        case 'proc':
        case 'sysfs':
        case 'mqueue':
        case 'devpts':
          return { ...m, target };
        default:
          throw invalidArgValue(
            `${n}.type`,
            (m as { type?: unknown }).type,
            "must be 'bind', 'tmpfs', 'proc', 'sysfs', 'mqueue' or 'devpts'",
          );
      }
    });
  }
  if (o.readOnlyRoot !== undefined && typeof o.readOnlyRoot !== 'boolean')
    throw invalidArgType('options.readOnlyRoot', 'of type boolean', o.readOnlyRoot);
  if (o.defaultMounts !== undefined && typeof o.defaultMounts !== 'boolean')
    throw invalidArgType('options.defaultMounts', 'of type boolean', o.defaultMounts);
  if (o.readOnlyRoot !== undefined) out.readOnlyRoot = o.readOnlyRoot;
  if (o.defaultMounts !== undefined) out.defaultMounts = o.defaultMounts;
  if ((out.readOnlyRoot || out.defaultMounts) && out.rootfs === undefined) {
    throw invalidArgValue('options.rootfs', undefined, 'is needed for readOnlyRoot and defaultMounts');
  }
  if (o.hostname !== undefined) out.hostname = o.hostname;
  return out;
}
