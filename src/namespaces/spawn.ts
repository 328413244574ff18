/**
 * `spawn()`: start a process in new and/or existing namespaces, the way
 * child_process.spawn starts one without.
 * @module
 */
import { Readable, Writable } from 'node:stream';
import { invalidArgType, invalidArgValue, nsboxError, outOfRange, SysError } from '../errors.js';
import { K, native } from '../native.js';
import { NsboxChild, signalNumber } from './child.js';
import { resolveIdMaps, type IdMapping, type ResolvedMaps, type SetgroupsPolicy } from './idmap.js';
import { Namespace, openNamespace } from './namespace.js';
import { PlanBuilder } from './plan.js';
import { checkStdio, prepareStdio, releaseStdio, wrapEnd, type StdioOptions, type StdioSource } from './stdio.js';
import { addContainerSteps, checkContainer, type ContainerOptions, type ContainerMount, type RootfsSpec } from '../fs/container.js';
import { CLONE_FLAG, NAMESPACE_TYPES, isNamespaceType, kFd, type NamespaceType } from './types.js';

/** Options of {@link spawn}. Every option is validated before any syscall. */
export interface SpawnOptions {
  /** New namespaces for the child (clone(2) flags CLONE_NEW*). Default: none. */
  namespaces?: NamespaceType[];
  /**
   * Existing namespaces to join, by handle or by the pid whose namespace to take (the
   * `nsenter` case). Joined before any new namespace is made; user first.
   */
  join?: Partial<Record<NamespaceType, Namespace | number>>;
  /** uid map of a new user namespace. Default: `[{ inside: 0, outside: geteuid(), count: 1 }]`. */
  uidMap?: IdMapping[];
  /** gid map of a new user namespace. Default: `[{ inside: 0, outside: getegid(), count: 1 }]`. */
  gidMap?: IdMapping[];
  /** setgroups(2) in a new user namespace. Default: 'deny' for an unprivileged caller writing its own maps, else 'allow'. */
  setgroups?: SetgroupsPolicy;
  /** Hostname (sethostname(2)); needs a new or joined uts namespace. */
  hostname?: string;
  /** NIS domain name (setdomainname(2)); needs a new or joined uts namespace. */
  domainname?: string;
  /** uid to run as (inside the user namespace, if any). */
  uid?: number;
  /** gid to run as (inside the user namespace, if any). */
  gid?: number;
  /** Supplementary groups (setgroups(2)). */
  groups?: number[];
  /** Working directory of the child (resolved in its mount namespace). */
  cwd?: string;
  /** Environment. Default: process.env. */
  env?: Record<string, string | undefined>;
  /** argv[0] seen by the program. Default: `command`. */
  argv0?: string;
  /** stdio as child_process takes it. Default: 'pipe'. */
  stdio?: StdioOptions;
  /** Extra fds at chosen numbers in the child, e.g. `{ 3: fd, 10: stream }`. */
  fds?: Record<number, StdioSource>;
  /** Kill the child with SIGKILL when the spawning thread dies (PR_SET_PDEATHSIG, race-free). */
  dieWithParent?: boolean;
  /** New session (setsid(2)), as child_process's `detached`. */
  detached?: boolean;
  /** Put the child in a process group: `true` for a new group led by the child, or a pgid to join. */
  processGroup?: boolean | number;
  /** Kills the child with `killSignal` when aborted. */
  signal?: AbortSignal;
  /** Kills the child with `killSignal` after this many milliseconds. */
  timeout?: number;
  /** Signal used by `signal` and `timeout`. Default: 'SIGTERM'. */
  killSignal?: NodeJS.Signals | number;
  /**
   * The container's root: a directory, an overlay `{ layers (bottom first), upper?, work? }`
   * (without upper: a throw-away tmpfs upper), or `'host'` (a tmpfs with the host's /usr,
   * /bin, /sbin, /lib*, /etc read-only). Entered with pivot_root(2); the old root is
   * detached. Needs `'mnt'` in `namespaces`. See docs/fs.md.
   */
  rootfs?: RootfsSpec;
  /** Mounts applied in order inside the new root (or the private copy of the host's). Needs `'mnt'`. */
  mounts?: ContainerMount[];
  /** Make the root read-only (mount_setattr MOUNT_ATTR_RDONLY); /dev, /proc, tmpfs mounts stay as they are. */
  readOnlyRoot?: boolean;
  /**
   * Propagation of a new mount namespace's tree when there is no `rootfs`/`mounts` (which
   * always make it private): 'private' (default, as unshare(1)), 'slave', 'shared', or
   * 'unchanged' (keep the copied mounts' propagation: on a systemd host, mounts made inside
   * then appear outside).
   */
  propagation?: 'private' | 'slave' | 'shared' | 'unchanged';
  /**
   * Clock offsets of a new time namespace (time_namespaces(7)), in seconds (fractions and
   * negative values allowed): CLOCK_MONOTONIC and CLOCK_BOOTTIME inside read this much
   * more. Needs `'time'` in `namespaces`. Replaces `unshare --time --monotonic S --boottime S`.
   */
  timeOffsets?: { monotonic?: number; boottime?: number };
  /** With a rootfs: add /proc, /sys (ro), /dev, /dev/pts, /dev/shm, /dev/mqueue, masked and read-only paths, /etc/hostname, /etc/hosts, /etc/resolv.conf. Default true. */
  defaultMounts?: boolean;
}

/** Which syscall of a filesystem step failed (csrc/plan.h SysId). */
const SYSCALL_OF: Readonly<Record<number, string>> = {
  1: 'openat2', 2: 'mkdirat', 3: 'mount', 4: 'mount_setattr', 5: 'pivot_root', 6: 'umount2', 7: 'mknodat', 8: 'symlinkat', 9: 'chdir', 10: 'openat', 11: 'write', 12: 'move_mount',
};

const KNOWN = new Set<string>([
  'namespaces', 'join', 'uidMap', 'gidMap', 'setgroups', 'hostname', 'domainname', 'uid', 'gid', 'groups', 'cwd', 'env',
  'argv0', 'stdio', 'fds', 'dieWithParent', 'detached', 'processGroup', 'signal', 'timeout', 'killSignal',
  'rootfs', 'mounts', 'readOnlyRoot', 'defaultMounts', 'propagation', 'timeOffsets',
]);

function noNul(name: string, v: string): string {
  if (v.includes('\0')) throw invalidArgValue(name, v, 'must be a string without null bytes');
  return v;
}
function str(name: string, v: unknown): string {
  if (typeof v !== 'string') throw invalidArgType(name, 'of type string', v);
  return noNul(name, v);
}
function id(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidArgType(name, 'an integer', v);
  if (v < 0 || v > 0xfffffffe) throw outOfRange(name, '>= 0 and <= 4294967294', v);
  return v;
}
function bool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw invalidArgType(name, 'of type boolean', v);
  return v;
}

const UTS_NAME_MAX = 64;

interface Checked {
  file: string;
  argv: string[];
  env: string[];
  newNs: Set<NamespaceType>;
  join: Map<NamespaceType, Namespace | number>;
  o: SpawnOptions;
  stdio: Map<number, StdioSource>;
  maps: ResolvedMaps | null;
  killSignal: number;
  container: ContainerOptions | null;
}

/** All validation, no syscalls. */
function check(command: unknown, args: unknown, options: unknown): Checked {
  const file = str('command', command);
  if (file.length === 0) throw invalidArgValue('command', file, 'must not be empty');
  if (args !== undefined && !Array.isArray(args)) throw invalidArgType('args', 'an array of strings', args);
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArgType('options', 'an object', options);
  const o = (options ?? {}) as SpawnOptions;
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) throw invalidArgValue(`options.${k}`, (o as Record<string, unknown>)[k], 'is not a spawn option');

  const argv0 = o.argv0 === undefined ? file : str('options.argv0', o.argv0);
  const argv = [argv0, ...((args as unknown[] | undefined) ?? []).map((a, i) => str(`args[${i}]`, a))];

  const envObj = o.env === undefined ? process.env : o.env;
  if (typeof envObj !== 'object' || envObj === null) throw invalidArgType('options.env', 'an object', envObj);
  const env: string[] = [];
  for (const [k, v] of Object.entries(envObj)) {
    if (v === undefined) continue;
    if (k.includes('=') || k.length === 0) throw invalidArgValue('options.env', k, 'has a variable name that is empty or contains "="');
    env.push(noNul(`options.env.${k}`, `${k}=${String(v)}`));
  }

  const newNs = new Set<NamespaceType>();
  if (o.namespaces !== undefined) {
    if (!Array.isArray(o.namespaces)) throw invalidArgType('options.namespaces', 'an array of namespace types', o.namespaces);
    for (const t of o.namespaces) {
      if (!isNamespaceType(t)) throw invalidArgValue('options.namespaces', t, `must contain only ${NAMESPACE_TYPES.join(', ')}`);
      newNs.add(t);
    }
  }
  const join = new Map<NamespaceType, Namespace | number>();
  if (o.join !== undefined) {
    if (typeof o.join !== 'object' || o.join === null) throw invalidArgType('options.join', 'an object', o.join);
    for (const [t, v] of Object.entries(o.join)) {
      if (!isNamespaceType(t)) throw invalidArgValue('options.join', t, `has a key that is not one of ${NAMESPACE_TYPES.join(', ')}`);
      if (newNs.has(t)) throw invalidArgValue(`options.join.${t}`, v, 'names a namespace also listed in options.namespaces');
      if (typeof v === 'number') {
        if (!Number.isInteger(v) || v <= 0) throw outOfRange(`options.join.${t}`, 'a pid > 0', v);
      } else if (!(v instanceof Namespace)) throw invalidArgType(`options.join.${t}`, 'a Namespace or a pid', v);
      else if (v.type !== t) throw invalidArgValue(`options.join.${t}`, v.id, `is a ${v.type} namespace`);
      join.set(t, v);
    }
  }
  const uts = newNs.has('uts') || join.has('uts');
  for (const k of ['hostname', 'domainname'] as const) {
    if (o[k] === undefined) continue;
    const v = str(`options.${k}`, o[k]);
    if (Buffer.byteLength(v) > UTS_NAME_MAX) throw outOfRange(`options.${k}`, `at most ${UTS_NAME_MAX} bytes`, v);
    if (!uts) throw invalidArgValue(`options.${k}`, v, "needs 'uts' in options.namespaces or options.join (it would change the host's)");
  }
  if (o.uid !== undefined) id('options.uid', o.uid);
  if (o.gid !== undefined) id('options.gid', o.gid);
  if (o.groups !== undefined) {
    if (!Array.isArray(o.groups)) throw invalidArgType('options.groups', 'an array of gids', o.groups);
    o.groups.forEach((g, i) => id(`options.groups[${i}]`, g));
    if (o.groups.length > 65536) throw outOfRange('options.groups.length', '<= 65536', o.groups.length);
  }
  if (o.cwd !== undefined) str('options.cwd', o.cwd);
  for (const k of ['dieWithParent', 'detached'] as const) if (o[k] !== undefined) bool(`options.${k}`, o[k]);
  if (o.processGroup !== undefined && typeof o.processGroup !== 'boolean') id('options.processGroup', o.processGroup);
  if (o.detached && typeof o.processGroup === 'number') throw invalidArgValue('options.processGroup', o.processGroup, 'cannot join a group when detached');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an AbortSignal', o.signal);
  if (o.timeout !== undefined && (typeof o.timeout !== 'number' || !(o.timeout > 0) || o.timeout > 2 ** 31 - 1)) {
    throw outOfRange('options.timeout', 'a number of milliseconds > 0 and < 2^31', o.timeout);
  }
  const killSignal = signalNumber(o.killSignal, 'options.killSignal');
  const stdio = checkStdio(o.stdio, o.fds);

  let maps: ResolvedMaps | null = null;
  if (newNs.has('user')) maps = resolveIdMaps(o, process.geteuid!(), process.getegid!());
  else for (const k of ['uidMap', 'gidMap', 'setgroups'] as const) {
    if (o[k] !== undefined) throw invalidArgValue(`options.${k}`, o[k], "needs 'user' in options.namespaces");
  }
  if (o.groups !== undefined && o.groups.length > 0 && maps?.denySetgroups) {
    throw invalidArgValue('options.groups', o.groups, "cannot be set when setgroups is 'deny' in the new user namespace");
  }
  if (o.propagation !== undefined) {
    if (!['private', 'slave', 'shared', 'unchanged'].includes(o.propagation)) throw invalidArgValue('options.propagation', o.propagation, "must be 'private', 'slave', 'shared' or 'unchanged'");
    if (!newNs.has('mnt')) throw invalidArgValue('options.propagation', o.propagation, "needs 'mnt' in options.namespaces");
  }
  if (o.timeOffsets !== undefined) {
    if (typeof o.timeOffsets !== 'object' || o.timeOffsets === null) throw invalidArgType('options.timeOffsets', 'an object', o.timeOffsets);
    for (const [k, v] of Object.entries(o.timeOffsets)) {
      if (k !== 'monotonic' && k !== 'boottime') throw invalidArgValue(`options.timeOffsets.${k}`, v, "is not a clock: use 'monotonic' or 'boottime'");
      if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidArgType(`options.timeOffsets.${k}`, 'a finite number of seconds', v);
      // The kernel's bound on an offset (KTIME_SEC_MAX / 2, kernel/time/namespace.c).
      if (Math.abs(v) > 2 ** 32) throw outOfRange(`options.timeOffsets.${k}`, 'within ±2^32 seconds', v);
    }
    if (!newNs.has('time')) throw invalidArgValue('options.timeOffsets', o.timeOffsets, "needs 'time' in options.namespaces");
  }
  let container: ContainerOptions | null = null;
  if (o.rootfs !== undefined || o.mounts !== undefined || o.readOnlyRoot !== undefined || o.defaultMounts !== undefined) {
    container = checkContainer(o);
    if (!newNs.has('mnt')) throw invalidArgValue('options.rootfs', o.rootfs ?? o.mounts, "needs 'mnt' in options.namespaces (it would change the host's mounts)");
  }
  return { file, argv, env, newNs, join, o, stdio, maps, killSignal, container };
}

/** The text /proc/PID/timens_offsets takes: `<clock> <secs> <nanosecs>` lines. */
function offsetText(o: { monotonic?: number; boottime?: number }): string {
  return (['monotonic', 'boottime'] as const)
    .filter((k) => o[k] !== undefined)
    .map((k) => {
      const ns = BigInt(Math.round(o[k]! * 1e9));
      const secs = ns >= 0n ? ns / 1_000_000_000n : -((-ns + 999_999_999n) / 1_000_000_000n);
      return `${k} ${secs} ${ns - secs * 1_000_000_000n}\n`;
    })
    .join('');
}

/** The id-map handshake, then the switch to mapped ids when the caller's are not mapped. */
function userns(plan: PlanBuilder, maps: ResolvedMaps): void {
  plan.usernsSync();
  if (maps.switchGid !== undefined) {
    if (!maps.denySetgroups) plan.setgroups([]);
    plan.setgid(maps.switchGid);
  }
  if (maps.switchUid !== undefined) plan.setuid(maps.switchUid);
}

function abortError(signal: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal.reason });
  err.name = 'AbortError';
  (err as Error & { code: string }).code = 'ABORT_ERR';
  return err;
}

/**
 * Starts `command` with `args` in new and/or joined namespaces: clone3(2) with a setup
 * plan run in the child (setns(2), unshare(2), id maps, sethostname(2), setgroups/setgid/
 * setuid, chdir, stdio, PR_SET_PDEATHSIG) and then execve(2), searching PATH from the
 * child's environment like execvp(3).
 *
 * Replaces `unshare --fork --pid …`, `nsenter -t PID …` and `bwrap --unshare-*`.
 *
 * Privileges: none for a new user namespace (with its own single-id map) and anything
 * created inside it; root (CAP_SYS_ADMIN) for other namespaces without a user namespace and
 * for joining namespaces you do not own; newuidmap/newgidmap with /etc/subuid ranges for
 * multi-range maps as an unprivileged user.
 *
 * Blocking: the calling thread waits until the child has exec'd or failed (as
 * child_process.spawn does: about a millisecond); the exit is observed in the event loop.
 * The calling thread never changes namespace.
 *
 * @throws `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE` for bad
 *   options, before any syscall; `ERR_NSBOX_NO_IDMAP_HELPER` when multi-range maps need
 *   newuidmap and it is missing; `ABORT_ERR` if `signal` is already aborted;
 *   {@link SysError} naming the failing `step` ('setns:net', 'unshare', 'idmap', 'fork',
 *   'hostname', 'groups', 'gid', 'uid', 'cwd', 'stdio', 'die-with-parent', 'exec'),
 *   its `syscall`, `code` and `path` — e.g. `ENOENT` with syscall 'execve' for a missing
 *   command. Nothing is left behind on failure: the child is reaped, every fd closed.
 */
export function spawn(command: string, args?: readonly string[], options?: SpawnOptions): NsboxChild;
export function spawn(command: string, options?: SpawnOptions): NsboxChild;
export function spawn(command: string, argsOrOptions?: readonly string[] | SpawnOptions, maybeOptions?: SpawnOptions): NsboxChild {
  const [args, options] = Array.isArray(argsOrOptions) || argsOrOptions === undefined ? [argsOrOptions, maybeOptions] : [undefined, argsOrOptions];
  const c = check(command, args, options);
  const { o } = c;
  if (o.signal?.aborted) throw abortError(o.signal);

  const plan = new PlanBuilder();
  const opened: Namespace[] = [];
  let prepared: ReturnType<typeof prepareStdio> | undefined;
  try {
    // Joins first (user first, mnt last); new namespaces after them, so a new namespace is
    // owned by a joined user namespace as unshare(1) after nsenter(1) would make it.
    // A time namespace with offsets is made by unshare(2): the offsets can only be written
    // before a process enters it, which the child then does at execve(2) (time_namespaces(7)).
    const offsets = o.timeOffsets !== undefined;
    const newFlags = [...c.newNs].reduce((f, t) => f | CLONE_FLAG[t], 0) & ~(offsets ? K.CLONE_NEWTIME : 0);
    if (c.join.size === 0) {
      plan.cloneFlags = newFlags;
      if (c.newNs.has('user')) userns(plan, c.maps!);
    } else {
      for (const t of NAMESPACE_TYPES) {
        const j = c.join.get(t);
        if (j === undefined) continue;
        let ns: Namespace;
        if (typeof j === 'number') opened.push((ns = openNamespace(t, { pid: j })));
        else ns = j;
        plan.setns(ns[kFd], CLONE_FLAG[t], t);
      }
      const forkFlags = newFlags & (K.CLONE_NEWPID | K.CLONE_NEWTIME);
      const unshareFlags = newFlags & ~forkFlags;
      if (unshareFlags) plan.unshare(unshareFlags);
      if (c.newNs.has('user')) userns(plan, c.maps!);
      if (forkFlags || c.join.has('pid') || c.join.has('time')) plan.fork(forkFlags);
    }
    if (offsets) {
      plan.unshare(K.CLONE_NEWTIME);
      plan.writeFile('/proc/self/timens_offsets', offsetText(o.timeOffsets!), 0, 'time-offsets');
    }
    if (o.detached) plan.setsid();
    if (o.processGroup !== undefined && o.processGroup !== false) plan.setpgid(o.processGroup === true ? 0 : o.processGroup);
    if (o.hostname !== undefined) plan.sethostname(o.hostname);
    if (o.domainname !== undefined) plan.setdomainname(o.domainname);
    if (!c.container && c.newNs.has('mnt') && o.propagation !== 'unchanged') {
      plan.propagation(o.propagation === 'slave' ? K.MS_SLAVE : o.propagation === 'shared' ? K.MS_SHARED : K.MS_PRIVATE);
    }
    if (c.container) {
      const idmapSources: string[] = [];
      addContainerSteps(plan, c.container, {
        idmapSources,
        newUser: c.newNs.has('user') || c.join.has('user'),
        newPid: c.newNs.has('pid'),
        newNet: c.newNs.has('net'),
        newIpc: c.newNs.has('ipc'),
        root: process.geteuid!() === 0,
      });
      if (idmapSources.length > 0) {
        if (!c.maps || !c.newNs.has('user')) throw invalidArgValue('options.mounts', o.mounts, "has idmapped volumes, which need 'user' in options.namespaces");
        if (idmapSources.length > 8) throw invalidArgValue('options.mounts', o.mounts, 'has more than 8 idmapped volumes');
        c.maps.idmapSources = idmapSources;
      }
    }
    if (o.cwd !== undefined) plan.chdir(o.cwd);
    if (o.groups !== undefined) plan.setgroups(o.groups);
    if (o.gid !== undefined) plan.setgid(o.gid);
    if (o.uid !== undefined) plan.setuid(o.uid);
    prepared = prepareStdio(c.stdio);
    plan.fds(prepared.pairs);
    if (o.dieWithParent) plan.pdeathsig(9); // after setuid: a credential change clears it
    plan.exec(c.file, !c.file.includes('/'), c.argv, c.env);

    const p = plan.build();
    const r = native.spawn(p.ops, p.strings, c.maps);
    if (!r.ok && r.step === -1 && r.errno === 38 /* ENOSYS */) {
      throw nsboxError('ERR_NSBOX_UNSUPPORTED', 'spawn needs clone3(2) with CLONE_CLEAR_SIGHAND (Linux 5.5 or later); this kernel has no clone3.');
    }
    if (!r.ok) {
      const info = r.step === -1 ? { step: 'clone', syscall: 'clone3', path: undefined } : p.steps[r.step]!;
      const sysName = r.sysid ? SYSCALL_OF[r.sysid] : undefined;
      const ctx: { step: string; path?: string; pid: number } = { step: info.step, pid: r.pid };
      const path = r.path ?? info.path;
      if (path !== undefined) ctx.path = path;
      throw new SysError(r.errno, r.syscall ?? sysName ?? info.syscall, ctx);
    }
    releaseStdio(prepared, false);
    const stdio: Array<Readable | Writable | null> = [];
    const maxFd = Math.max(2, ...c.stdio.keys());
    for (let i = 0; i <= maxFd; i++) {
      const end = prepared.parentEnds.get(i);
      stdio.push(end ? wrapEnd(end.fd, end.readable) : null);
    }
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    let child: NsboxChild;
    try {
      child = new NsboxChild({
        pid: r.pid,
        pidfd: r.pidfd,
        stdio,
        onExit: () => {
          if (timer) clearTimeout(timer);
          if (onAbort) o.signal!.removeEventListener('abort', onAbort);
        },
      });
    } catch (err) {
      native.killReap(r.pidfd); // no watcher owns the pidfd: reap here, never leak the child
      for (const s of stdio) s?.destroy();
      throw err;
    }
    if (o.timeout !== undefined) timer = setTimeout(() => child.kill(c.killSignal), o.timeout);
    if (o.signal) {
      onAbort = () => child.kill(c.killSignal);
      o.signal.addEventListener('abort', onAbort, { once: true });
    }
    return child;
  } catch (err) {
    if (prepared) releaseStdio(prepared, true);
    throw err;
  } finally {
    for (const ns of opened) ns.close();
  }
}

export { NsboxChild, type ExitStatus } from './child.js';
export type { IdMapping, SetgroupsPolicy } from './idmap.js';
export type { StdioOptions, StdioSource } from './stdio.js';
