/**
 * `toSpawnOptions()`: a checked config.json as the arguments of nsbox's `spawn()`. Every field
 * either maps onto a spawn option or is refused by name (docs/oci.md lists both).
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { LinuxCapabilities } from '../security/capabilities.js';
import { type Namespace, openNamespacePath } from '../namespaces/namespace.js';
import type { SpawnOptions } from '../namespaces/options.js';
import type { StdioOptions } from '../namespaces/stdio.js';
import type { NamespaceType } from '../namespaces/types.js';
import { invalidArgType } from '../errors.js';
import { at, unsupported, valueError } from './check.js';
import { DEFAULT_PARENT } from './cgroup-dir.js';
import { type OciDeviceFilter, mapDevices, planDeviceRules } from './devices.js';
import { mapMount } from './mounts.js';
import { planNetDevices, type OciNetDevicePlan } from './net-devices.js';
import { translateResources, type CgroupWrite } from './resources.js';
import type { OciHooks, OciIdMapping, OciLinux, OciNamespaceType, OciProcess, OciResources, OciSpec } from './types.js';

/** nsbox's name of each OCI namespace kind; a missing entry is a compile error. @internal */
export const NAMESPACE_NAME: Readonly<Record<OciNamespaceType, NamespaceType>> = Object.freeze({
  pid: 'pid',
  network: 'net',
  mount: 'mnt',
  ipc: 'ipc',
  uts: 'uts',
  user: 'user',
  cgroup: 'cgroup',
  time: 'time',
});

/**
 * The hooks a caller can run around spawn() with {@link runHooks}: poststart after spawn
 * returns, poststop once the container is gone. The others run between create and start. @internal
 */
export const HOOKS_AROUND_SPAWN = ['poststart', 'poststop'] as const;

/**
 * The hooks a runtime that splits create from start runs around the spawn: prestart and
 * createRuntime in the runtime's namespaces, createContainer (at create) and startContainer
 * (at start) in the container's — with spawn's `hooks` option, as `nsbox-oci` does. @internal
 */
export const HOOKS_AT_CREATE = ['prestart', 'createRuntime', 'createContainer', 'startContainer'] as const;

/** Options of {@link toSpawnOptions}. */
export interface ToSpawnOptionsOptions {
  /** The bundle directory: `root.path` and bind sources that are relative are relative to it. */
  bundle: string;
  /** The container id: the default cgroup is `/nsbox-oci/ID` when `linux.resources` is set without `cgroupsPath`. */
  id?: string;
  /** stdio of the container process, as spawn takes it. Default: spawn's ('pipe'). */
  stdio?: StdioOptions;
  /**
   * Lock the container's mounts (spawn's `lockMounts`). Default false, as runc: the
   * container's user namespace then owns every namespace it has, so the capabilities the
   * config grants act on its network, uts and ipc namespaces, but a process holding
   * CAP_SYS_ADMIN there could unmount its masks. true: masks and read-only paths cannot be
   * undone from inside whatever the capabilities, and the process has no capability over its
   * network, uts and ipc namespaces (spawn's docs).
   */
  lockMounts?: boolean;
  /**
   * The caller splits create from start (spawn's `startGate`), as the `nsbox-oci` runtime does:
   * `hooks.prestart`, `createRuntime`, `createContainer` and `startContainer` are then
   * accepted and returned in `hooks`, for the caller to run with spawn's `hooks` option
   * (prestart and createRuntime as its `createRuntime`; docs/oci.md "Hooks"), and
   * `linux.netDevices` as `netDevices`, to move in while the process waits for start.
   * Default false: they are refused.
   */
  createStartSplit?: boolean;
}

/** The container's cgroup: where, and the v2 writes of `linux.resources`. */
export interface OciCgroupPlan {
  /** Path in the cgroup v2 hierarchy, e.g. `/nsbox-oci/web`. */
  path: string;
  /** Writes to make after creating it. */
  writes: CgroupWrite[];
  /** Controllers to enable from the root down to its parent. */
  controllers: string[];
  /** `linux.resources`, translated again when applied if the cgroup has io.bfq.weight (blkio weights go there as they are). */
  resources?: OciResources;
  /**
   * The device filter to attach (`linux.resources.devices`, then allow rules for the nodes
   * nsbox makes in /dev); `optional` when the list can be honoured without it (skipped on EPERM).
   */
  devices?: OciDeviceFilter;
}

/** What {@link toSpawnOptions} returns: `spawn(command, args, options)`, and the cgroup to make first. */
export interface OciSpawn {
  /** `process.args[0]`, searched in the container's `PATH`. */
  command: string;
  /** `process.args` after the first. */
  args: string[];
  /** The spawn options (without `cgroup`: see {@link OciSpawn.cgroup}). */
  options: SpawnOptions;
  /** The cgroup to create and fill before spawning ({@link prepareCgroup}), then pass as `options.cgroup`. */
  cgroup?: OciCgroupPlan;
  /**
   * `hooks.poststart` and `hooks.poststop`, for the caller to run ({@link runHooks}) after spawn
   * and after the container is gone; with `createStartSplit`, also `prestart`, `createRuntime`,
   * `createContainer` and `startContainer`, for spawn's `hooks` option.
   */
  hooks: Pick<OciHooks, 'poststart' | 'poststop' | 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer'>;
  /**
   * What was not applied as written, as runc warns about it: an ambient capability that is
   * not both permitted and inheritable (PR_CAP_AMBIENT_RAISE would fail; runc and crun skip
   * it with a warning — runc's own default spec has one). Log them.
   */
  warnings: string[];
  /**
   * `linux.seccomp.listenerPath` and `listenerMetadata`, when a rule has `SCMP_ACT_NOTIFY`:
   * send the spawned child's `seccompNotifier` there with {@link containerProcessState} as the
   * data (`sendFd(path, child.seccompNotifier, { name: JSON.stringify(msg) })`), as runc and
   * crun do, then close yours. Absent when no rule notifies (the spec then ignores the path).
   */
  seccompListener?: {
    /** `linux.seccomp.listenerPath`: the agent's unix socket. */
    path: string;
    /** `linux.seccomp.listenerMetadata`, passed to the agent as `metadata`. */
    metadata?: string;
  };
  /**
   * `linux.netDevices` (only with `createStartSplit`), checked: the host interfaces to move into
   * the container's network namespace, before its hooks — as spawn's `network.moveLinks`
   * (`{ name: host, newName: name }`, what nsbox-oci does) — or once it waits at the start
   * gate with {@link moveNetDevices}`(plan, child.pid)`.
   */
  netDevices?: OciNetDevicePlan;
  /** Closes the namespace handles opened for `linux.namespaces[].path` (idempotent). */
  close(): void;
  /** Same as close(). */
  [Symbol.dispose](): void;
}

/**
 * Maps a checked config.json ({@link parseConfig}) onto nsbox's spawn options: namespaces (new,
 * and joined by `path`), id maps, `root`, `mounts` in runc's option vocabulary,
 * `rootfsPropagation`, `maskedPaths`, `readonlyPaths`, `devices` (with the spec's default
 * devices), hostname, domainname, `process` (args, env, cwd, user, umask, capabilities,
 * rlimits, noNewPrivileges, oomScoreAdj), sysctl, seccomp, personality, time offsets, and
 * `cgroupsPath` with `resources` translated to cgroup v2 ({@link translateResources}).
 *
 * `process.terminal` becomes spawn's `terminal` (with `consoleSize`): the pty is made inside the
 * container, its master is the child's `terminal`, for the runtime to send to
 * `--console-socket` with `sendFd()`; `options.stdio` is then not used.
 *
 * Fields nsbox cannot honour yet are refused, never dropped: ioPriority,
 * scheduler, execCPUAffinity, apparmorProfile, selinuxLabel, mountLabel, intelRdt,
 * memoryPolicy, the hooks that run between create and start (prestart,
 * createRuntime, createContainer, startContainer, unless `createStartSplit`: poststart and
 * poststop are returned for {@link runHooks}), `linux.netDevices` (unless `createStartSplit`),
 * and cgroup device rules other than a deny-all list (docs/oci.md, "Gaps").
 * `seccomp.listenerPath` is returned as `seccompListener`, for the caller to send the listener.
 *
 * Opens a file descriptor for each namespace joined by a path that is not /proc/PID/ns/…
 * (closed by `close()`); no other syscall but stat(2) of bind sources.
 *
 * @throws TypeError `ERR_INVALID_ARG_VALUE` naming the JSON path of a field that cannot be
 *   satisfied (a missing bind source, hostname without a uts namespace, …);
 *   `ERR_NSBOX_UNSUPPORTED` naming the JSON path of a field nsbox does not honour; SysError
 *   from opening a namespace path.
 */
export function toSpawnOptions(config: OciSpec, options: ToSpawnOptionsOptions): OciSpawn {
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object { bundle }', options);
  if (typeof options.bundle !== 'string' || options.bundle === '') throw invalidArgType('options.bundle', 'a directory', options.bundle);
  const bundle = resolve(options.bundle);
  const o: SpawnOptions = { lockMounts: options.lockMounts ?? false, defaultMounts: false };
  // With process.terminal the process's stdio is the pty (the spawned child's `terminal`).
  if (options.stdio !== undefined && config.process?.terminal !== true) o.stdio = options.stdio;
  refuseUnsupported(config, options.createStartSplit === true);

  const warnings: string[] = [];
  const { argv, proc } = mapProcess(config.process, o, warnings);
  const linux = config.linux ?? {};
  const ns = mapNamespaces(config, o);
  mapGroups(proc.user.additionalGids, linux, ns.newNs, o);
  mapRoot(config, bundle, o, warnings);
  if (linux.mountLabel !== undefined && linux.mountLabel !== '')
    warnings.push(`linux.mountLabel is ignored: SELinux is not enabled on this host (${SELINUXFS} is absent)`);
  o.devices = mapDevices(linux.devices);
  if (linux.sysctl !== undefined) o.sysctl = linux.sysctl;
  if (linux.seccomp !== undefined) o.seccomp = linux.seccomp as SpawnOptions['seccomp'] & object;
  const listener = seccompListener(linux, options.createStartSplit === true);
  const netDevices = planNetDevices(linux, ns.has('net'));
  if (linux.personality !== undefined) o.personality = linux.personality;
  const r = linux.resources;
  const devices =
    r?.devices !== undefined && r.devices.length > 0
      ? planDeviceRules(r.devices, o.devices, { userns: ns.has('user'), capabilities: proc.capabilities })
      : undefined;
  const cgroup = mapCgroup(linux, options.id, devices);
  // Last, as it opens files: the namespaces to join.
  const opened = openJoins(ns.joinPaths, o);
  const close = () => {
    for (const ns of opened.splice(0)) ns.close();
  };
  const hooks: OciSpawn['hooks'] = {};
  for (const k of [...HOOKS_AROUND_SPAWN, ...(options.createStartSplit ? HOOKS_AT_CREATE : [])])
    if (config.hooks?.[k]?.length) hooks[k] = config.hooks[k];
  const out: OciSpawn = { command: argv[0]!, args: argv.slice(1), options: o, hooks, warnings, close, [Symbol.dispose]: close };
  if (cgroup) out.cgroup = cgroup;
  if (listener) out.seccompListener = listener;
  if (netDevices) out.netDevices = netDevices;
  return out;
}

/**
 * Where the listener of a filter with `SCMP_ACT_NOTIFY` rules goes. A runtime (`split`) has
 * nobody in-process to answer it, so a notify rule needs `listenerPath` (runc: "seccomp
 * listenerPath is not set"); a library caller may use `child.seccompNotifier` itself.
 */
function seccompListener(linux: OciLinux, split: boolean): OciSpawn['seccompListener'] {
  const sc = linux.seccomp;
  if (sc === undefined || !(sc.syscalls ?? []).some((r) => r.action === 'SCMP_ACT_NOTIFY')) return undefined;
  if (sc.listenerPath === undefined) {
    if (split)
      throw valueError(
        'linux.seccomp.listenerPath',
        'is needed for SCMP_ACT_NOTIFY rules (where the runtime sends the listener)',
        undefined,
      );
    return undefined;
  }
  return { path: sc.listenerPath, ...(sc.listenerMetadata !== undefined && { metadata: sc.listenerMetadata }) };
}

/**
 * `process`: argv, env, cwd, user, capabilities, rlimits, no_new_privs, oom_score_adj, onto
 * `o`. Also what the runtime's `exec` maps a process.json with (after {@link refuseProcess}). @internal
 */
export function mapProcess(proc: OciProcess | undefined, o: SpawnOptions, warnings: string[]): { argv: string[]; proc: OciProcess } {
  if (proc === undefined) throw valueError('process', 'is required to start a container', undefined);
  const argv = proc.args ?? [];
  if (argv.length === 0 || argv[0] === '') throw valueError('process.args', 'must name the program to run', proc.args);
  o.argv0 = argv[0]!;
  const env: Record<string, string> = {};
  (proc.env ?? []).forEach((e, i) => {
    const eq = e.indexOf('=');
    if (eq <= 0) throw valueError(at('process.env', i), 'must be "KEY=value"', e);
    env[e.slice(0, eq)] = e.slice(eq + 1);
  });
  o.env = env;
  o.cwd = proc.cwd;
  o.uid = proc.user.uid;
  o.gid = proc.user.gid;
  // config.md: username is the Windows user; on Linux the user is uid/gid (runc and crun ignore it).
  if (proc.user.username !== undefined && proc.user.username !== '')
    warnings.push(`process.user.username ("${proc.user.username}") is for Windows and is ignored: the user is uid ${proc.user.uid}`);
  if (proc.user.umask !== undefined) o.umask = proc.user.umask;
  if (proc.capabilities !== undefined) o.capabilities = ambientSubset(proc.capabilities, warnings);
  if (proc.noNewPrivileges !== undefined) o.noNewPrivileges = proc.noNewPrivileges;
  if (proc.oomScoreAdj !== undefined) o.oomScoreAdj = proc.oomScoreAdj;
  if (proc.rlimits !== undefined) o.rlimits = proc.rlimits.map((r) => ({ type: r.type, soft: r.soft, hard: r.hard }));
  if (proc.terminal === true) {
    // runc sizes the pty only when both are given (non-zero).
    const size = proc.consoleSize;
    if (size !== undefined && (size.height > 65535 || size.width > 65535))
      throw valueError('process.consoleSize', 'must have a height and a width of at most 65535', size);
    o.terminal = size !== undefined && size.height > 0 && size.width > 0 ? { rows: size.height, cols: size.width } : true;
  }
  return { argv, proc };
}

type JoinPaths = Map<NamespaceType, { path: string; at: string }>;

/** `linux.namespaces`, id maps, hostname, domainname, time offsets. */
function mapNamespaces(
  config: OciSpec,
  o: SpawnOptions,
): { newNs: NamespaceType[]; joinPaths: JoinPaths; has: (t: NamespaceType) => boolean } {
  const linux = config.linux ?? {};
  const newNs: NamespaceType[] = [];
  const joinPaths: JoinPaths = new Map();
  (linux.namespaces ?? []).forEach((ns, i) => {
    const t = NAMESPACE_NAME[ns.type];
    if (newNs.includes(t) || joinPaths.has(t)) throw valueError(at(at('linux.namespaces', i), 'type'), 'is listed twice', ns.type);
    if (ns.path === undefined) newNs.push(t);
    else joinPaths.set(t, { path: ns.path, at: at(at('linux.namespaces', i), 'path') });
  });
  const has = (t: NamespaceType) => newNs.includes(t) || joinPaths.has(t);
  if (!newNs.includes('mnt'))
    throw unsupported('linux.namespaces', 'a container without a new mount namespace (nsbox builds the root with pivot_root in one)');
  o.namespaces = newNs;
  if (linux.uidMappings !== undefined || linux.gidMappings !== undefined) {
    if (!newNs.includes('user')) throw valueError('linux.uidMappings', 'needs a new user namespace in linux.namespaces', linux.uidMappings);
    const map = (m: OciIdMapping) => ({ inside: m.containerID, outside: m.hostID, count: m.size });
    if (linux.uidMappings) o.uidMap = linux.uidMappings.map(map);
    if (linux.gidMappings) o.gidMap = linux.gidMappings.map(map);
  }
  for (const k of ['hostname', 'domainname'] as const) {
    if (config[k] === undefined) continue;
    if (!has('uts')) throw valueError(k, "needs a uts namespace in linux.namespaces (it would change the host's)", config[k]);
    o[k] = config[k];
  }
  if (linux.timeOffsets !== undefined) {
    if (!newNs.includes('time')) throw valueError('linux.timeOffsets', 'needs a new time namespace in linux.namespaces', linux.timeOffsets);
    o.timeOffsets = {};
    for (const [clock, v] of Object.entries(linux.timeOffsets)) {
      if (clock !== 'monotonic' && clock !== 'boottime')
        throw valueError(at('linux.timeOffsets', clock), 'must be "monotonic" or "boottime"', clock);
      o.timeOffsets[clock] = (v.secs ?? 0) + (v.nanosecs ?? 0) / 1e9;
    }
  }
  return { newNs, joinPaths, has };
}

/**
 * As runc: the supplementary groups are exactly additionalGids (none when absent), except
 * where setgroups(2) is denied — an unprivileged caller mapping only its own ids — and the
 * process keeps the caller's (shown as the overflow gid).
 */
function mapGroups(gids: number[] | undefined, linux: OciLinux, newNs: readonly NamespaceType[], o: SpawnOptions): void {
  const euid = process.geteuid!();
  const self = (maps: OciIdMapping[] | undefined, id: number) =>
    maps === undefined || (maps.length === 1 && maps[0]!.size === 1 && maps[0]!.hostID === id);
  const denied = euid !== 0 && newNs.includes('user') && self(linux.uidMappings, euid) && self(linux.gidMappings, process.getegid!());
  if ((gids ?? []).length > 0 || !denied) o.groups = gids ?? [];
}

/** `root`, `mounts`, `rootfsPropagation`, masked and read-only paths. */
function mapRoot(config: OciSpec, bundle: string, o: SpawnOptions, warnings: string[]): void {
  const linux = config.linux ?? {};
  if (config.root === undefined) throw valueError('root', 'is required on Linux', undefined);
  o.rootfs = isAbsolute(config.root.path) ? config.root.path : resolve(bundle, config.root.path);
  if (!isDirectory(o.rootfs)) throw valueError('root.path', `is not a directory (${o.rootfs})`, config.root.path);
  if (config.root.readonly) o.readOnlyRoot = true;
  // The tree is built private; another propagation applies to the container's own tree after
  // pivot_root (runc too applies it to the new "/"). nsbox applies it recursively, r or not.
  const prop = linux.rootfsPropagation?.replace(/^r/, '');
  if (prop === 'shared' || prop === 'slave' || prop === 'unbindable') o.propagation = prop;
  o.mounts = (config.mounts ?? []).map((m, i) => mapMount(m, i, bundle, warnings));
  o.maskedPaths = linux.maskedPaths ?? [];
  o.readonlyPaths = linux.readonlyPaths ?? [];
}

/** `cgroupsPath` and `resources` (translated now, so a bad value fails before any syscall). */
function mapCgroup(linux: OciLinux, id: string | undefined, devices: OciDeviceFilter | undefined): OciCgroupPlan | undefined {
  const r = linux.resources;
  const plan = r === undefined ? undefined : translateResources(r);
  // A device list that needs the filter needs a cgroup to attach it to; one that can do
  // without (rootless) does not make one by itself.
  if (linux.cgroupsPath === undefined && !(plan && plan.writes.length > 0) && !(devices && !devices.optional)) return undefined;
  const cgroup: OciCgroupPlan = {
    path: cgroupPath(linux.cgroupsPath, id),
    writes: plan?.writes ?? [],
    controllers: plan?.controllers ?? [],
  };
  if (r !== undefined) cgroup.resources = r;
  if (devices !== undefined) cgroup.devices = devices;
  return cgroup;
}

/**
 * The namespaces joined by path: `/proc/PID/ns/TYPE` as the pid (no fd held), any other path
 * opened and its kind checked. Returns the handles opened (closed again on failure).
 */
function openJoins(joinPaths: JoinPaths, o: SpawnOptions): Namespace[] {
  const opened: Namespace[] = [];
  if (joinPaths.size === 0) return opened;
  const join: NonNullable<SpawnOptions['join']> = {};
  try {
    for (const [t, { path, at: where }] of joinPaths) {
      const byPid = /^\/proc\/(\d+)\/ns\/([a-z_]+)$/.exec(path);
      if (byPid && byPid[2] === t) {
        join[t] = Number(byPid[1]);
        continue;
      }
      const ns = openNamespacePath(path);
      opened.push(ns);
      if (ns.type !== t) throw valueError(where, `is a ${ns.type} namespace, not ${t}`, path);
      join[t] = ns;
    }
  } catch (err) {
    for (const ns of opened) ns.close();
    throw err;
  }
  o.join = join;
  return opened;
}

/**
 * The capability sets with ambient limited to what is permitted and inheritable: the kernel
 * refuses to raise any other (capabilities(7)), and runc and crun skip those with a warning.
 */
function ambientSubset(caps: LinuxCapabilities, warnings: string[]): LinuxCapabilities {
  if (caps.ambient === undefined) return caps;
  const ok = (c: string) => (caps.permitted ?? []).includes(c) && (caps.inheritable ?? []).includes(c);
  const dropped = caps.ambient.filter((c) => !ok(c));
  if (dropped.length === 0) return caps;
  warnings.push(
    `process.capabilities.ambient: ${dropped.join(', ')} not raised (an ambient capability must be permitted and inheritable, capabilities(7))`,
  );
  return { ...caps, ambient: caps.ambient.filter(ok) };
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The container's cgroup path: cgroupsPath (absolute or relative, both from the v2 root), or /nsbox-oci/ID. */
function cgroupPath(path: string | undefined, id: string | undefined): string {
  if (path === undefined) {
    if (id === undefined || !/^[\w.-]+$/.test(id))
      throw valueError('linux.cgroupsPath', 'is needed for linux.resources (or give toSpawnOptions an id for /nsbox-oci/ID)', path);
    return `/${DEFAULT_PARENT}/${id}`;
  }
  if (/^[^/:]*:[^/:]*:[^/:]*$/.test(path))
    throw unsupported(
      'linux.cgroupsPath',
      `"${path}" is a systemd slice:prefix:name path; nsbox manages cgroupfs directly (no systemd cgroup driver)`,
    );
  const norm = `/${path}`.replace(/\/+/g, '/').replace(/\/$/, '');
  if (norm.split('/').some((c) => c === '..' || c === '.'))
    throw valueError('linux.cgroupsPath', 'must not contain "." or ".." components', path);
  if (norm === '') throw valueError('linux.cgroupsPath', 'must not be the root cgroup', path);
  return norm;
}

const SELINUXFS = '/sys/fs/selinux/enforce';

/** SELinux is on: selinuxfs is mounted (libselinux's is_selinux_enabled() looks there too). */
function selinuxEnabled(): boolean {
  return existsSync(SELINUXFS);
}

/** Every field recognised but not honoured, refused by its JSON path. */
function refuseUnsupported(c: OciSpec, split: boolean): void {
  if (c.process) refuseProcess(c.process);
  refuseLinux(c, split);
}

/** The `process` fields recognised but not honoured, refused by JSON path. @internal */
export function refuseProcess(p: OciProcess): void {
  if (p.commandLine !== undefined) throw unsupported('process.commandLine', 'it is for Windows');
  if (p.apparmorProfile !== undefined && p.apparmorProfile !== '')
    throw unsupported('process.apparmorProfile', 'nsbox applies no AppArmor profile (and this module does not load one)');
  if (p.selinuxLabel !== undefined && p.selinuxLabel !== '') throw unsupported('process.selinuxLabel', 'nsbox applies no SELinux label');
  if (p.ioPriority !== undefined) throw unsupported('process.ioPriority', 'no ioprio_set(2) step in the spawn plan yet');
  if (p.scheduler !== undefined) throw unsupported('process.scheduler', 'no sched_setattr(2) step in the spawn plan yet');
  if (p.execCPUAffinity !== undefined) throw unsupported('process.execCPUAffinity', 'no sched_setaffinity(2) step in the spawn plan yet');
}

function refuseLinux(c: OciSpec, split: boolean): void {
  const l = c.linux ?? {};
  // A mount label is SELinux's context= option: with SELinux off there is nothing to label
  // (runc and crun ignore it then; mapLinux warns). With SELinux on, nsbox cannot honour it.
  if (l.mountLabel !== undefined && l.mountLabel !== '' && selinuxEnabled())
    throw unsupported('linux.mountLabel', 'nsbox applies no SELinux label');
  if (l.intelRdt !== undefined) throw unsupported('linux.intelRdt', 'Intel RDT (resctrl) is not supported');
  if (l.memoryPolicy !== undefined) throw unsupported('linux.memoryPolicy', 'no set_mempolicy(2) step in the spawn plan yet');
  if (!split && l.netDevices !== undefined && Object.keys(l.netDevices).length > 0)
    throw unsupported(
      'linux.netDevices',
      'the devices are moved in while the process waits for start: toSpawnOptions(…, { createStartSplit: true }) returns them as netDevices',
    );
  for (const [k, hooks] of Object.entries(c.hooks ?? {}))
    if ((hooks as unknown[]).length > 0 && !(HOOKS_AROUND_SPAWN as readonly string[]).includes(k)) {
      if (split && (HOOKS_AT_CREATE as readonly string[]).includes(k)) continue;
      throw unsupported(
        at('hooks', k),
        "it runs between create and start: a caller that splits them (spawn's startGate, createStartSplit) runs it with spawn's hooks",
      );
    }
  for (const k of Object.keys(c.annotations ?? {}))
    if (k === 'run.oci.seccomp.receiver' || k === 'run.oci.handler')
      throw unsupported(at('annotations', k), 'crun extension not implemented');
}
