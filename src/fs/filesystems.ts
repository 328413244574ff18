/**
 * Filesystems with typed options: each `*Spec()` builds what {@link mount} takes (pure, no
 * syscall) and each `mount*()` mounts it. Options are checked before any syscall.
 * @module
 */
import { invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { checkAbsolute, checkOptions, type InNamespaceOptions, type MountFlag } from './flags.js';
import { mount } from './mount.js';

/** What a filesystem helper builds: the arguments of {@link mount} (`mount(spec.source, target, spec)`). */
export interface MountSpec {
  /** The source mountinfo will show (`'tmpfs'`, `'proc'`, `'overlay'`, …). */
  source: string;
  /** Filesystem type. */
  fstype: string;
  /** mount(2) flags. */
  flags: MountFlag[];
  /** The filesystem's option string, as mount(2) takes it. */
  data: string;
}

/** Options common to every filesystem helper. */
export interface FilesystemOptions {
  /**
   * mount(2) flags. Each helper has defaults, as runc and Docker use them (`['nosuid',
   * 'nodev', 'noexec']` for proc, sysfs, mqueue and cgroup2; `['nosuid', 'nodev']` for
   * tmpfs; `['nosuid', 'noexec']` for devpts; none for overlay); a given list replaces them.
   */
  flags?: MountFlag[];
}

/** A size as tmpfs takes it: bytes (number or bigint), `'64M'`-style with a k/m/g/t/p/e suffix, or `'50%'` of RAM. */
export type Size = number | bigint | string;

/** Options of {@link tmpfsSpec} (the kernel's tmpfs.rst). */
export interface TmpfsOptions extends FilesystemOptions {
  /** `size=`: the limit in bytes, `'64M'`, or `'50%'`; `0` means unlimited. Kernel default: half of RAM. */
  size?: Size;
  /** `mode=`: permissions of the root directory (e.g. `0o1777`). */
  mode?: number;
  /** `uid=`: owner of the root directory. */
  uid?: number;
  /** `gid=`: group of the root directory. */
  gid?: number;
  /** `nr_inodes=`: the inode limit, a count, `'1m'`-style, or `'%'` of RAM pages; `0` means unlimited. */
  nrInodes?: Size;
}

/** Options of {@link procSpec} (proc(5) "Mount options"). */
export interface ProcOptions extends FilesystemOptions {
  /**
   * `hidepid=`: who sees other users' /proc/PID directories. `0`/`'off'`: everyone;
   * `1`/`'noaccess'`: listed but not readable; `2`/`'invisible'`: hidden;
   * `'ptraceable'`: visible when ptrace-able.
   */
  hidepid?: 0 | 1 | 2 | 'off' | 'noaccess' | 'invisible' | 'ptraceable';
  /** `gid=`: a group exempt from `hidepid`. */
  gid?: number;
  /** `subset=pid`: show only the process directories (no /proc/sys, /proc/kcore, …). */
  subset?: 'pid';
}

/** Options of {@link devptsSpec} (the kernel's devpts.rst). */
export interface DevptsOptions extends FilesystemOptions {
  /** `newinstance`: a private instance (always so since Linux 4.7; kept for older kernels). */
  newinstance?: boolean;
  /** `ptmxmode=`: permissions of the instance's `ptmx` node (e.g. `0o666`). */
  ptmxmode?: number;
  /** `mode=`: permissions of new pty nodes (e.g. `0o620`). */
  mode?: number;
  /** `gid=`: group of new pty nodes (e.g. the `tty` group, 5). */
  gid?: number;
}

/** Options of {@link cgroup2Spec} (the kernel's cgroup-v2.rst, "Mounting"). */
export interface Cgroup2Options extends FilesystemOptions {
  /** `nsdelegate`: treat cgroup namespaces as delegation boundaries (initial namespace only). */
  nsdelegate?: boolean;
  /** `memory_recursiveprot`: memory.min/low protection applies to the whole subtree. */
  memoryRecursiveprot?: boolean;
}

/** Options of {@link overlaySpec} (the kernel's overlayfs.rst). */
export interface OverlayOptions extends FilesystemOptions {
  /**
   * The read-only layers, **bottom first** (the base image first, each later one on top of
   * the ones before), the order `nsbox run --layer` and image manifests use. A file in a
   * later layer hides the same path in an earlier one. nsbox writes them to overlayfs's
   * `lowerdir=` top first, the order overlayfs wants.
   */
  lower: string[];
  /** `upperdir=`: the writable layer; needs `work`. Omit both with `readOnly: true`. */
  upper?: string;
  /** `workdir=`: an empty directory on the same filesystem as `upper`. */
  work?: string;
  /** `volatile`: no syncs to the upper layer; it is unusable after a crash. Needs `upper`. */
  volatile?: boolean;
  /** A read-only overlay of the lower layers only (at least two): no `upper` nor `work`. */
  readOnly?: boolean;
}

/** mount(2) copies at most one page of data (copy_mount_options): a longer string would be cut. */
const MAX_DATA = 4095;

const SIZE_RE = /^(\d+)([kmgtpe])?$/i;
const PERCENT_RE = /^\d+%$/;

function checkSize(name: string, v: unknown): string {
  if (typeof v === 'bigint') {
    if (v < 0n) throw outOfRange(name, '>= 0', v);
    return v.toString();
  }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw outOfRange(name, 'a safe integer >= 0', v);
    return String(v);
  }
  if (typeof v === 'string') {
    if (SIZE_RE.test(v) || PERCENT_RE.test(v)) return v;
    throw invalidArgValue(name, v, "must be a byte count, a count with a k/m/g/t/p/e suffix ('64M') or a percentage ('50%')");
  }
  throw invalidArgType(name, 'of type number, bigint or string', v);
}

function checkMode(name: string, v: unknown): string {
  if (typeof v !== 'number') throw invalidArgType(name, 'of type number', v);
  if (!Number.isInteger(v) || v < 0 || v > 0o7777) throw outOfRange(name, 'an integer between 0 and 0o7777', v);
  return v.toString(8);
}

function checkId(name: string, v: unknown): string {
  if (typeof v !== 'number') throw invalidArgType(name, 'of type number', v);
  if (!Number.isInteger(v) || v < 0 || v > 0xfffffffe) throw outOfRange(name, 'an integer between 0 and 4294967294', v);
  return String(v);
}

function checkBool(name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalidArgType(name, 'of type boolean', v);
  return v;
}

function flagsOr(o: FilesystemOptions, defaults: MountFlag[]): MountFlag[] {
  // mount() checks the names; here only the shape, so the spec holds a copy.
  if (o.flags === undefined) return [...defaults];
  if (!Array.isArray(o.flags)) throw invalidArgType('options.flags', 'an array of flag names', o.flags);
  return [...o.flags];
}

function spec(source: string, fstype: string, flags: MountFlag[], data: string[]): MountSpec {
  const joined = data.join(',');
  if (joined.length > MAX_DATA) {
    throw outOfRange(
      'options',
      `options that fit in ${MAX_DATA} bytes of mount data (use fsopen() for longer ones)`,
      `${joined.length} bytes`,
    );
  }
  return { source, fstype, flags, data: joined };
}

/**
 * A tmpfs (the kernel's tmpfs.rst; `mount -t tmpfs -o size=…,mode=… tmpfs TARGET`). Pure.
 * @throws `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE`.
 */
export function tmpfsSpec(options?: TmpfsOptions): MountSpec {
  const o = checkOptions<TmpfsOptions>('options', options);
  const data: string[] = [];
  if (o.size !== undefined) data.push(`size=${checkSize('options.size', o.size)}`);
  if (o.nrInodes !== undefined) data.push(`nr_inodes=${checkSize('options.nrInodes', o.nrInodes)}`);
  if (o.mode !== undefined) data.push(`mode=${checkMode('options.mode', o.mode)}`);
  if (o.uid !== undefined) data.push(`uid=${checkId('options.uid', o.uid)}`);
  if (o.gid !== undefined) data.push(`gid=${checkId('options.gid', o.gid)}`);
  return spec('tmpfs', 'tmpfs', flagsOr(o, ['nosuid', 'nodev']), data);
}

const HIDEPID: readonly unknown[] = [0, 1, 2, 'off', 'noaccess', 'invisible', 'ptraceable'];

/**
 * A procfs instance (proc(5); `mount -t proc -o hidepid=…,subset=pid proc TARGET`). It shows
 * the pid namespace of the process that mounts it, so mount it from inside the container's
 * pid namespace. Pure.
 * @throws `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE`.
 */
export function procSpec(options?: ProcOptions): MountSpec {
  const o = checkOptions<ProcOptions>('options', options);
  const data: string[] = [];
  if (o.hidepid !== undefined) {
    if (!HIDEPID.includes(o.hidepid))
      throw invalidArgValue('options.hidepid', o.hidepid, "must be 0, 1, 2, 'off', 'noaccess', 'invisible' or 'ptraceable'");
    data.push(`hidepid=${o.hidepid}`);
  }
  if (o.gid !== undefined) data.push(`gid=${checkId('options.gid', o.gid)}`);
  if (o.subset !== undefined) {
    if (o.subset !== 'pid') throw invalidArgValue('options.subset', o.subset, "must be 'pid'");
    data.push('subset=pid');
  }
  return spec('proc', 'proc', flagsOr(o, ['nosuid', 'nodev', 'noexec']), data);
}

/** sysfs (sysfs(5); `mount -t sysfs sysfs TARGET`); it shows the network devices of the mounter's netns. Pure. */
export function sysfsSpec(options?: FilesystemOptions): MountSpec {
  const o = checkOptions<FilesystemOptions>('options', options);
  return spec('sysfs', 'sysfs', flagsOr(o, ['nosuid', 'nodev', 'noexec']), []);
}

/** A devpts instance (the kernel's devpts.rst; `mount -t devpts -o newinstance,ptmxmode=0666 devpts TARGET`). Pure. */
export function devptsSpec(options?: DevptsOptions): MountSpec {
  const o = checkOptions<DevptsOptions>('options', options);
  const data: string[] = [];
  if (checkBool('options.newinstance', o.newinstance)) data.push('newinstance');
  if (o.ptmxmode !== undefined) data.push(`ptmxmode=${checkMode('options.ptmxmode', o.ptmxmode).padStart(4, '0')}`);
  if (o.mode !== undefined) data.push(`mode=${checkMode('options.mode', o.mode).padStart(4, '0')}`);
  if (o.gid !== undefined) data.push(`gid=${checkId('options.gid', o.gid)}`);
  return spec('devpts', 'devpts', flagsOr(o, ['nosuid', 'noexec']), data);
}

/** POSIX message queues (mq_overview(7); `mount -t mqueue mqueue TARGET`), of the mounter's ipc namespace. Pure. */
export function mqueueSpec(options?: FilesystemOptions): MountSpec {
  const o = checkOptions<FilesystemOptions>('options', options);
  return spec('mqueue', 'mqueue', flagsOr(o, ['nosuid', 'nodev', 'noexec']), []);
}

/** The cgroup v2 hierarchy (cgroup-v2.rst; `mount -t cgroup2 -o nsdelegate cgroup2 TARGET`). Pure. */
export function cgroup2Spec(options?: Cgroup2Options): MountSpec {
  const o = checkOptions<Cgroup2Options>('options', options);
  const data: string[] = [];
  if (checkBool('options.nsdelegate', o.nsdelegate)) data.push('nsdelegate');
  if (checkBool('options.memoryRecursiveprot', o.memoryRecursiveprot)) data.push('memory_recursiveprot');
  return spec('cgroup2', 'cgroup2', flagsOr(o, ['nosuid', 'nodev', 'noexec']), data);
}

/** overlayfs splits its options on `,` and `lowerdir` on `:`; a backslash escapes them. */
function checkLayer(name: string, path: unknown): string {
  const p = checkAbsolute(name, path);
  if (/[,:\\]/.test(p)) {
    throw invalidArgValue(
      name,
      p,
      "must not contain ',', ':' or '\\' (overlayfs separators; use fsopen('overlay') with 'lowerdir+' for such paths)",
    );
  }
  return p;
}

/**
 * An overlay of directories (the kernel's overlayfs.rst; `mount -t overlay -o
 * lowerdir=TOP:…:BOTTOM,upperdir=U,workdir=W overlay TARGET`). `lower` is bottom first; see
 * {@link OverlayOptions.lower}. Pure: the directories are checked by the kernel at mount time.
 * @throws `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE` (relative path, separator in a
 *   path, `upper` without `work`, `volatile` or `readOnly` that contradict the layers),
 *   `ERR_OUT_OF_RANGE` (more layers than one page of mount data holds).
 */
export function overlaySpec(options: OverlayOptions): MountSpec {
  const o = checkOptions<OverlayOptions>('options', options);
  if (!Array.isArray(o.lower)) throw invalidArgType('options.lower', 'an array of absolute paths', o.lower);
  if (o.lower.length === 0) throw invalidArgValue('options.lower', o.lower, 'must hold at least one layer');
  const lower = o.lower.map((p, i) => checkLayer(`options.lower[${i}]`, p));
  const readOnly = checkBool('options.readOnly', o.readOnly);
  const volatile = checkBool('options.volatile', o.volatile);
  const data = [`lowerdir=${[...lower].reverse().join(':')}`];
  if (readOnly) {
    if (o.upper !== undefined || o.work !== undefined) throw invalidArgValue('options.readOnly', true, "excludes 'upper' and 'work'");
    if (volatile) throw invalidArgValue('options.volatile', true, "needs an 'upper' layer");
    // overlayfs: "at least 2 lowerdir are needed while upperdir nonexistent" (EINVAL).
    if (lower.length < 2) throw invalidArgValue('options.lower', o.lower, 'must hold at least two layers for a read-only overlay');
  } else {
    if (o.upper === undefined || o.work === undefined) {
      throw invalidArgValue('options', { upper: o.upper, work: o.work }, "needs both 'upper' and 'work', or 'readOnly: true'");
    }
    data.push(`upperdir=${checkLayer('options.upper', o.upper)}`, `workdir=${checkLayer('options.work', o.work)}`);
    if (volatile) data.push('volatile');
  }
  return spec('overlay', 'overlay', flagsOr(o, []), data);
}

function mountSpec(target: string, build: () => MountSpec, options: InNamespaceOptions | undefined): void {
  const dest = checkAbsolute('target', target);
  const s = build();
  const o: { fstype: string; flags: MountFlag[]; data: string; namespace?: InNamespaceOptions['namespace'] } = {
    fstype: s.fstype,
    flags: s.flags,
    data: s.data,
  };
  if (options?.namespace !== undefined) o.namespace = options.namespace;
  mount(s.source, dest, o);
}

/**
 * Mounts a tmpfs on `target` ({@link tmpfsSpec}). Needs CAP_SYS_ADMIN in the user namespace
 * owning the mount namespace. Synchronous.
 * @throws as {@link tmpfsSpec} and {@link mount}.
 */
export function mountTmpfs(target: string, options?: TmpfsOptions & InNamespaceOptions): void {
  mountSpec(target, () => tmpfsSpec(options), options);
}

/**
 * Mounts procfs on `target` ({@link procSpec}). Needs CAP_SYS_ADMIN over the pid namespace
 * it shows, and a fully visible /proc already mounted in the mount namespace when inside a
 * user namespace (mount_namespaces(7)). Synchronous.
 */
export function mountProc(target: string, options?: ProcOptions & InNamespaceOptions): void {
  mountSpec(target, () => procSpec(options), options);
}

/** Mounts sysfs on `target` ({@link sysfsSpec}). Needs CAP_SYS_ADMIN over the network namespace. Synchronous. */
export function mountSysfs(target: string, options?: FilesystemOptions & InNamespaceOptions): void {
  mountSpec(target, () => sysfsSpec(options), options);
}

/** Mounts a devpts instance on `target` ({@link devptsSpec}). Synchronous. */
export function mountDevpts(target: string, options?: DevptsOptions & InNamespaceOptions): void {
  mountSpec(target, () => devptsSpec(options), options);
}

/** Mounts mqueue on `target` ({@link mqueueSpec}). Needs CAP_SYS_ADMIN over the ipc namespace. Synchronous. */
export function mountMqueue(target: string, options?: FilesystemOptions & InNamespaceOptions): void {
  mountSpec(target, () => mqueueSpec(options), options);
}

/** Mounts the cgroup2 hierarchy on `target` ({@link cgroup2Spec}). Synchronous. */
export function mountCgroup2(target: string, options?: Cgroup2Options & InNamespaceOptions): void {
  mountSpec(target, () => cgroup2Spec(options), options);
}

/**
 * Mounts an overlay on `target` ({@link overlaySpec}). Needs CAP_SYS_ADMIN (overlayfs is
 * mountable inside a user namespace since Linux 5.11). Synchronous.
 * @throws as {@link overlaySpec}; SysError (syscall `'mount'`, `path` `'overlay'`, `dest`)
 *   `ENOENT` (a layer is missing), `ENOTDIR` (a layer is not a directory), `EINVAL` (work
 *   and upper on different filesystems, upper is on an unsupported filesystem).
 */
export function mountOverlay(target: string, options: OverlayOptions & InNamespaceOptions): void {
  mountSpec(target, () => overlaySpec(options), options);
}
