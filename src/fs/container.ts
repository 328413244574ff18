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
import { attrBits, flagBits, MOUNT_FLAGS, type MountAttr, type MountFlag, type Propagation } from './flags.js';

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
  /**
   * Mount attributes set on the bound tree after the bind (mount_setattr(2), recursively with
   * `recursive`): `['nosuid', 'nodev', 'noexec']`, an atime value, `'nosymfollow'`. Default none
   * (the source's own). `'rdonly'` is `readOnly`.
   */
  attrs?: MountAttr[];
  /**
   * Propagation of the mount, set with mount_setattr(2) after it (of every submount too with
   * an `r` form). The container's tree is built private, so `'shared'` makes a peer group of
   * the container's own (a mount made under it inside reaches its bind copies there, never the
   * host) and `'slave'` is private. Default private.
   */
  propagation?: Propagation;
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
  /** The mount flags, replacing the default `['nosuid', 'nodev']` (e.g. a /dev that holds device nodes leaves out 'nodev'). */
  flags?: MountFlag[];
  /** More tmpfs options after mode and size, e.g. `'nr_inodes=1k'`. */
  data?: string;
  /**
   * The mount's source as /proc/PID/mountinfo shows it (mount(2)'s `source`, which tmpfs
   * ignores otherwise), e.g. `'shm'` for a /dev/shm. Default `'tmpfs'`.
   */
  source?: string;
  /** {@link Propagation} of the mount. Default private. */
  propagation?: Propagation;
  /**
   * Start the tmpfs as a copy of the directory it covers (runc's and crun's `tmpcopyup`, which
   * podman puts on a systemd container's /run and /tmp): its files, directories, symlinks
   * (never followed), FIFOs, sockets and device nodes, each with its owner and mode, at most
   * 32 levels deep; the tmpfs's root gets the directory's owner, and its mode unless `mode`
   * is given. Extended attributes of files and directories too (after the owner: a file
   * capability survives; one the tmpfs cannot hold or may not be set, or over 4 KiB, is left
   * out). No timestamps; a hard link becomes a separate file. A missing target
   * is made empty first (nothing to copy). In a user namespace, a file owned by an id the
   * namespace does not map fails the copy (`EINVAL`, syscall `fchownat`), as under crun.
   * Default false.
   */
  copyUp?: boolean;
}

/** A kernel filesystem with the options containers use. */
export interface SpecialMount {
  /** proc, sysfs, mqueue, devpts (a new instance) or cgroup2. */
  type: 'proc' | 'sysfs' | 'mqueue' | 'devpts' | 'cgroup2';
  /** Where (absolute; created if missing). */
  target: string;
  /** Mounted read-only. */
  readOnly?: boolean;
  /** The mount flags, replacing the default `['nosuid', 'nodev', 'noexec']`. */
  flags?: MountFlag[];
  /** The filesystem's options, replacing nsbox's (devpts: `'newinstance,ptmxmode=0666,mode=0620'`). */
  data?: string;
  /**
   * The mount's source as /proc/PID/mountinfo shows it (mount(2)'s `source`, which these
   * filesystems ignore otherwise). Default: the type.
   */
  source?: string;
  /** {@link Propagation} of the mount. Default private. */
  propagation?: Propagation;
}

/**
 * A device node the container's /dev gets (OCI `linux.devices`): made with mknod(2) when the
 * caller is root and the container has no new user namespace, else the host's node at the
 * same path bound in (the kernel refuses device nodes made in a user namespace).
 */
export interface DeviceNode {
  /** Absolute path inside the container, e.g. `/dev/fuse`. */
  path: string;
  /** `'c'` character, `'b'` block, `'p'` FIFO. */
  type: 'c' | 'b' | 'p';
  /** Major number (not for `'p'`). */
  major?: number;
  /** Minor number (not for `'p'`). */
  minor?: number;
  /** Permission bits. Default 0o666. */
  mode?: number;
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
  /** Masked paths replacing {@link MASKED_PATHS}: applied after `mounts`, so they cover a /proc or /sys mounted there. */
  maskedPaths?: string[];
  /** Read-only paths replacing {@link READONLY_PATHS}: applied after `mounts`. */
  readonlyPaths?: string[];
  /** Device nodes, made after `mounts` with the /dev/fd, stdin, stdout, stderr and ptmx symlinks. */
  devices?: DeviceNode[];
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
          if (m.attrs !== undefined) {
            attrBits(`${n}.attrs`, m.attrs);
            if (m.attrs.includes('rdonly')) throw invalidArgValue(`${n}.attrs`, m.attrs, "must not hold 'rdonly' (use readOnly)");
          }
          checkPropagation(n, m.propagation);
          return { ...m, source, target };
        }
        case 'tmpfs': {
          if (m.size !== undefined && !(typeof m.size === 'number' ? Number.isInteger(m.size) && m.size > 0 : SIZE.test(String(m.size)))) {
            throw invalidArgValue(`${n}.size`, m.size, "must be a byte count or a size like '64m' or '50%'");
          }
          if (m.mode !== undefined && !(Number.isInteger(m.mode) && m.mode >= 0 && m.mode <= 0o7777))
            throw invalidArgValue(`${n}.mode`, m.mode, 'must be a mode from 0 to 0o7777');
          checkFlagsData(n, m);
          if (m.copyUp !== undefined && typeof m.copyUp !== 'boolean') throw invalidArgType(`${n}.copyUp`, 'of type boolean', m.copyUp);
          if (m.data !== undefined && /(^|,)(mode|size)=/.test(m.data))
            throw invalidArgValue(`${n}.data`, m.data, 'must not set mode or size (use the mode and size fields)');
          checkSource(n, m.source);
          checkPropagation(n, m.propagation);
          return { ...m, target };
        }
        case 'proc':
        case 'sysfs':
        case 'mqueue':
        case 'devpts':
        case 'cgroup2':
          checkFlagsData(n, m);
          checkSource(n, m.source);
          checkPropagation(n, m.propagation);
          return { ...m, target };
        default:
          throw invalidArgValue(
            `${n}.type`,
            (m as { type?: unknown }).type,
            "must be 'bind', 'tmpfs', 'proc', 'sysfs', 'mqueue', 'devpts' or 'cgroup2'",
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
  for (const k of ['maskedPaths', 'readonlyPaths'] as const) {
    if (o[k] === undefined) continue;
    if (!Array.isArray(o[k])) throw invalidArgType(`options.${k}`, 'an array of absolute paths', o[k]);
    out[k] = o[k].map((p, i) => absPath(`options.${k}[${i}]`, p));
  }
  if (o.devices !== undefined) out.devices = checkDevices(o.devices);
  if ((out.maskedPaths || out.readonlyPaths || out.devices) && out.rootfs === undefined)
    throw invalidArgValue('options.rootfs', undefined, 'is needed for maskedPaths, readonlyPaths and devices');
  return out;
}

const MOUNT_FLAG_NAMES = new Set(Object.keys(MOUNT_FLAGS));
const NOT_A_MOUNT_OPTION = new Set(['bind', 'rec', 'remount', 'rdonly', 'silent']);

const PROPAGATIONS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable']);

function checkPropagation(n: string, p: unknown): void {
  if (p !== undefined && !PROPAGATIONS.has(p as string))
    throw invalidArgValue(`${n}.propagation`, p, `must be one of ${[...PROPAGATIONS].map((x) => `'${x}'`).join(', ')}`);
}

/** A fresh mount's source name: a non-empty string without NUL, at most a page. */
function checkSource(n: string, source: unknown): void {
  if (source === undefined) return;
  if (typeof source !== 'string') throw invalidArgType(`${n}.source`, 'of type string', source);
  if (source === '' || source.includes('\0') || Buffer.byteLength(source) > 4095)
    throw invalidArgValue(`${n}.source`, source, 'must be a non-empty name without NUL, shorter than 4096 bytes');
}

function checkFlagsData(n: string, m: { flags?: unknown; data?: unknown }): void {
  if (m.flags !== undefined) {
    flagBits(`${n}.flags`, m.flags, MOUNT_FLAGS);
    const bad = (m.flags as string[]).find((f) => NOT_A_MOUNT_OPTION.has(f) || !MOUNT_FLAG_NAMES.has(f));
    if (bad !== undefined) throw invalidArgValue(`${n}.flags`, bad, "is not a mount option here ('rdonly' is readOnly)");
  }
  if (m.data !== undefined && (typeof m.data !== 'string' || m.data.includes('\0')))
    throw invalidArgType(`${n}.data`, 'a string without null bytes', m.data);
}

function checkDevices(v: unknown): DeviceNode[] {
  if (!Array.isArray(v)) throw invalidArgType('options.devices', 'an array of { path, type, major, minor, mode? }', v);
  return v.map((d: unknown, i) => {
    const n = `options.devices[${i}]`;
    if (typeof d !== 'object' || d === null) throw invalidArgType(n, 'an object', d);
    const { type, major, minor, mode } = d as DeviceNode;
    const path = absPath(`${n}.path`, (d as DeviceNode).path);
    if (type !== 'c' && type !== 'b' && type !== 'p') throw invalidArgValue(`${n}.type`, type, "must be 'c', 'b' or 'p'");
    const num = (k: string, x: unknown) => {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 0xfffff)
        throw invalidArgValue(`${n}.${k}`, x, 'must be an integer from 0 to 1048575');
      return x;
    };
    const out: DeviceNode = { path, type };
    if (type !== 'p') {
      out.major = num('major', major);
      out.minor = num('minor', minor);
    }
    if (mode !== undefined) {
      if (!Number.isInteger(mode) || mode < 0 || mode > 0o777)
        throw invalidArgValue(`${n}.mode`, mode, 'must be permission bits from 0 to 0o777');
      out.mode = mode;
    }
    return out;
  });
}
