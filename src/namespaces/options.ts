/**
 * The options of `spawn()` and their validation: every check happens here, before any
 * syscall (ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE).
 * @module
 */
import type { CheckedNetwork, SpawnNetworkOptions } from '../net/spawn-network.js';
import * as lazySpawnNetwork from '../net/spawn-network.js';
import type { Cgroup } from '../cgroups/cgroup.js';
import * as lazyCgroup from '../cgroups/cgroup.js';
import * as lazyCgroupMount from '../cgroups/mount.js';
import { handleClosed, invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { checkContainer, type ContainerMount, type ContainerOptions, type DeviceNode, type RootfsSpec } from '../fs/container.js';
import { native } from '../native.js';
import { signalNumber } from './child.js';
import { resolveIdMaps, type IdMapping, type ResolvedMaps, type SetgroupsPolicy } from './idmap.js';
import { Namespace, checkPid } from './namespace.js';
import type { NamespacePool } from './pool.js';
import * as lazyPool from './pool.js';
import { checkStdio, type StdioOptions, type StdioSource } from './stdio.js';
import type { CheckedTerminal, TerminalOption } from './pty.js';
import * as lazyPty from './pty.js';
import { NAMESPACE_TYPES, isNamespaceType, type NamespaceType } from './types.js';
import { checkSecurity, SECURITY_KEYS, type CheckedSecurity, type SecurityOptions } from '../security/options.js';
import * as lazyStartGate from './start-gate.js';
import type { CheckedHooks, SpawnHooks } from './hooks.js';
import * as lazyHooks from './hooks.js';

/** Clock offsets of a new time namespace, in seconds (fractions and negative values allowed). */
export interface TimeOffsets {
  /** Added to CLOCK_MONOTONIC (and its variants) inside. */
  monotonic?: number;
  /** Added to CLOCK_BOOTTIME (and /proc/uptime) inside. */
  boottime?: number;
}

/**
 * Options of {@link spawn}. Every option is validated before any syscall. The security
 * options ({@link SecurityOptions}: capabilities, noNewPrivileges, rlimits, seccomp, …) are
 * applied only when given: spawn is a primitive; `hardened()` gives `nsbox run`'s defaults.
 */
export interface SpawnOptions extends SecurityOptions {
  /** New namespaces for the child (clone(2) flags CLONE_NEW*). Default: none. */
  namespaces?: NamespaceType[];
  /**
   * Existing namespaces to join, by handle or by the pid whose namespace to take (the
   * `nsenter` case). Joined before any new namespace is made; user first.
   */
  join?: Partial<Record<Exclude<NamespaceType, 'net'>, Namespace | number>> & {
    /**
     * A network namespace by handle or pid, or a {@link NamespacePool}: spawn takes a fresh
     * namespace from it (never handed out twice), the child joins it, and spawn closes the
     * handle once the child holds the namespace.
     */
    net?: Namespace | number | NamespacePool;
  };
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
  /**
   * uid to run as (inside the user namespace, if any). Without a user namespace of the
   * child's, a uid other than this process's makes the child a copy-on-write fork of this
   * process (as child_process's is), made non-dumpable by the credential change, instead of
   * sharing its memory until execve(2): between setresuid(2) and execve(2) any process of
   * that uid could otherwise open `/proc/PID/mem` and read or write this process's memory
   * (docs/security.md, "Another uid in the caller's user namespace"). The fork costs what
   * child_process's does, growing with this process's page tables.
   */
  uid?: number;
  /** gid to run as (inside the user namespace, if any). */
  gid?: number;
  /** Supplementary groups (setgroups(2)). */
  groups?: number[];
  /** Working directory of the child (resolved in its mount namespace). */
  cwd?: string;
  /**
   * When `cwd` cannot be entered (missing, not a directory, no search permission), stay where
   * the child is instead of failing: in a container, the new root's `/`; else the caller's
   * cwd. As bwrap keeps the caller's cwd only where it exists. Default false.
   */
  cwdOptional?: boolean;
  /** Environment. Default: process.env. */
  env?: Record<string, string | undefined>;
  /** argv[0] seen by the program. Default: `command`. */
  argv0?: string;
  /** stdio as child_process takes it. Default: 'pipe'. */
  stdio?: StdioOptions;
  /** Extra fds at chosen numbers in the child, e.g. `{ 3: fd, 10: stream }`. */
  fds?: Record<number, StdioSource>;
  /**
   * SIGKILL the child when the thread that spawned it ends (PR_SET_PDEATHSIG, race-free):
   * the process for the main thread, the worker for a worker thread — even when it crashes or
   * is SIGKILLed, where no exit handler runs. Default: true, unless `detached` (nsbox children
   * do not outlive the program that made them; a detached one is meant to).
   */
  dieWithParent?: boolean;
  /** New session (setsid(2)), as child_process's `detached`. */
  detached?: boolean;
  /** Put the child in a process group: `true` for a new group led by the child, or a pgid to join. */
  processGroup?: boolean | number;
  /** Kills the child with `killSignal` when aborted. */
  signal?: AbortSignal;
  /** Kills the child with `killSignal` after this many milliseconds. */
  timeout?: number;
  /**
   * Signal used by `signal` and `timeout`: a name (`'SIGKILL'`) or a number from 1 to 64.
   * Default: 'SIGTERM'. Anything else (0 included) is `ERR_UNKNOWN_SIGNAL`.
   */
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
   * Propagation of a new mount namespace's tree (mount(2) MS_REC with MS_PRIVATE, MS_SLAVE,
   * MS_SHARED or MS_UNBINDABLE on /): 'private' (default, as unshare(1)), 'slave', 'shared',
   * 'unbindable', or 'unchanged' (keep the copied mounts' propagation: on a systemd host, mounts
   * made inside then appear outside). With `rootfs`/`mounts` the tree is built private and this
   * applies to the container's own tree after pivot_root and the mount lock (OCI
   * `linux.rootfsPropagation`): 'shared' makes a peer group of its own, so mounts made in the
   * container reach its own bind copies (and a joiner's), never the host; 'unchanged' is
   * 'private' there.
   */
  propagation?: 'private' | 'slave' | 'shared' | 'unbindable' | 'unchanged';
  /**
   * Clock offsets of a new time namespace (time_namespaces(7)), in seconds (fractions and
   * negative values allowed): CLOCK_MONOTONIC and CLOCK_BOOTTIME inside read this much
   * more. Needs `'time'` in `namespaces`. Replaces `unshare --time --monotonic S --boottime S`.
   */
  timeOffsets?: TimeOffsets;
  /** With a rootfs: add /proc, /sys (ro), /dev, /dev/pts, /dev/shm, /dev/mqueue, masked and read-only paths, /etc/hostname, /etc/hosts, /etc/resolv.conf. Default true. */
  defaultMounts?: boolean;
  /**
   * The cgroup v2 the child starts in: a {@link Cgroup} or a path as `cgroup()` takes it.
   * Placed by clone3(2) with CLONE_INTO_CGROUP (Linux 5.7+), so the child never runs
   * outside it, not even for its first instruction. Needs write access to the cgroup's
   * cgroup.procs (and the common ancestor's), as moving a process there would.
   */
  cgroup?: Cgroup | string;
  /**
   * Lock the container's mounts (default true, with a rootfs or mounts and a new user
   * namespace): the command runs in a user and mount namespace of its own, nested in the
   * ones that built the root, so the kernel marks every mount locked — masks, read-only
   * paths, read-only volumes and a read-only root cannot be unmounted or made writable from
   * inside, whatever capabilities the command holds (mount_namespaces(7)). The command then
   * has no capabilities over the uts and ipc namespaces (they belong to the outer user
   * namespace), as under Docker's default capability set; a new network namespace is made
   * with the nested user namespace and is the command's own. `false` gives it those
   * capabilities back and lets it undo every mount made for it: only for trusted commands.
   */
  lockMounts?: boolean;
  /** Keep the caller's session keyring (default: a new anonymous one for every sandbox, keyrings(7)). */
  noNewSessionKeyring?: boolean;
  /**
   * Run an init as PID 1 of the new pid namespace and the command as PID 2, as bwrap does and
   * `docker run --init` (tini): the init forwards every signal it receives (all but SIGCHLD,
   * SIGKILL and SIGSTOP) to the command — to its process group when the command leads one of
   * its own — reaps every orphan, and exits with the command's status (128+N when a signal N
   * killed it). The returned child is then the init: `kill()` reaches the command through it,
   * and the command's own PID 1 problem (signals without a handler ignored) is gone.
   * The init is made from the plan (no extra binary on disk), after every other step, so it
   * is as confined as the command, non-dumpable, with every fd closed (docs/security.md).
   * When the command can never hold CAP_SYS_PTRACE (out of `capabilities.bounding` and
   * `capabilities.inheritable`, as with `hardened()`), no `seccomp` profile of the caller's
   * is given, and neither `startGate` nor a hook run by the child is, the init is the init
   * image: a program of a few hundred bytes executed from a sealed memfd, so spawn copies
   * nothing of this process (its cost is that of a spawn without an init, plus an
   * execveat(2)). Otherwise it is a copy-on-write
   * fork of this process, which costs a fork of Node's address space (docs/performance.md),
   * and which unmaps that copy (all but its stack and the addon's code) once the command
   * runs, unless `seccomp` is a profile of the caller's (which might kill it for munmap).
   * Needs `'pid'` in `namespaces`. Default false.
   */
  init?: boolean;
  /**
   * Set up the child's new network namespace before the command runs: `lo` up (default),
   * and a veth pair to the caller's namespace with addresses and a default route
   * (`veth`, needs root). Needs `'net'` in `namespaces`. The namespace is made in the
   * command's own user namespace (with a container, in the nested one that locks its
   * mounts), so the command holds CAP_NET_ADMIN and CAP_NET_RAW over it and its /sys shows
   * it. A failure fails the spawn (step `'network'`) and deletes the veth. docs/net.md.
   */
  network?: SpawnNetworkOptions;
  /**
   * Masked paths replacing the defaults (`MASKED_PATHS`), applied after `mounts` (so they
   * cover a /proc or /sys mounted there): files get an empty read-only file, directories an
   * empty read-only tmpfs. Needs `rootfs`.
   */
  maskedPaths?: string[];
  /** Read-only paths replacing the defaults (`READONLY_PATHS`), bound read-only onto themselves after `mounts`. Needs `rootfs`. */
  readonlyPaths?: string[];
  /**
   * Device nodes to make in the container after `mounts` (OCI `linux.devices` plus its default
   * devices), with the /dev/fd, /dev/std{in,out,err} and /dev/ptmx symlinks: mknod(2) as root
   * without a new user namespace, else the host's node bound in. Needs `rootfs`.
   */
  devices?: DeviceNode[];
  /**
   * Create without starting (the OCI `create`/`start` split): a unix socket path, absolute
   * and under 108 bytes, where spawn makes a listening socket (mode 0600, owner the caller;
   * an existing path is `EEXIST`). The child applies every step — namespaces, mounts,
   * pivot_root, capabilities, credentials, no_new_privs, fds, cwd — resolves the command
   * (PATH search inside the new root: a missing command fails here, at create), then waits;
   * spawn returns then, with `child.gated === true`, before the command runs.
   * {@link openStartGate} lets it go on: Landlock, seccomp (with `noNewPrivileges`: after the
   * gate, so the filter never sees the wait), the `startContainer` hooks and execve. The waiting child has its own copy
   * of this process's memory (non-dumpable) and needs nothing from it: the caller may exit
   * (after `child.unref()`, or with process.exit()) and the container stays; `exit` and the
   * environment's teardown do not kill it. Not with `init` or `dieWithParent: true` (default
   * false here). A seccomp filter with notify rules is loaded before the gate, at create (as
   * runc loads every filter), so that `child.seccompNotifier` is there when spawn returns; it
   * then sees the gate's own syscalls too. See docs/namespaces.md.
   */
  startGate?: string;
  /**
   * A controlling terminal on fds 0, 1, 2; the child leads a new session (setsid(2), then
   * ioctl TIOCSCTTY). `true` or `{ rows, cols }`: the pty is made inside the child, from its
   * /dev/ptmx (in a container, the container's own devpts: `tty` prints /dev/pts/0), as the
   * command's uid, and its master is `child.terminal`; with a `rootfs` the slave is also
   * bound onto the container's /dev/console, as runc does. A {@link Pty} from `openPty()`: its
   * slave is used. Excludes stdio 0–2 and `processGroup`. With `init`, the init leads the
   * session and the command's own process group is the terminal's foreground group (tini's
   * way). docs/namespaces.md, "Terminals".
   */
  terminal?: TerminalOption;
  /**
   * Programs run at three points of the setup, as an OCI runtime runs its hooks: by this
   * process before pivot_root (`createRuntime`), by the child before pivot_root with the
   * host's filesystem as its root (`createContainer`), and by the child right before execve,
   * after the start gate, in the container (`startContainer`). Each gets its own args, env,
   * stdin (text, or a state object with the child's `pid` filled in) and timeout; a failing one
   * fails the spawn (or the start) and leaves nothing behind. See {@link SpawnHooks}.
   */
  hooks?: SpawnHooks;
}

const KNOWN = new Set<string>([
  'namespaces',
  'join',
  'uidMap',
  'gidMap',
  'setgroups',
  'hostname',
  'domainname',
  'uid',
  'gid',
  'groups',
  'cwd',
  'cwdOptional',
  'env',
  'argv0',
  'stdio',
  'fds',
  'dieWithParent',
  'detached',
  'processGroup',
  'signal',
  'timeout',
  'killSignal',
  'rootfs',
  'mounts',
  'readOnlyRoot',
  'defaultMounts',
  'propagation',
  'timeOffsets',
  'cgroup',
  'lockMounts',
  'noNewSessionKeyring',
  'init',
  'network',
  'maskedPaths',
  'readonlyPaths',
  'devices',
  'startGate',
  'terminal',
  'hooks',
  ...SECURITY_KEYS,
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

let mainThread: boolean | undefined;
/** Whether process.env here is the process's environment (native onProcessMainThread), asked once. */
const onProcessMainThread = (): boolean => (mainThread ??= native.onProcessMainThread());

/** Validated options. @internal */
export interface Checked {
  file: string;
  argv: string[];
  /** null: this process's environment, read natively when the plan is parsed (plan.h kEnvInherit). */
  env: string[] | null;
  newNs: Set<NamespaceType>;
  join: Map<NamespaceType, Namespace | number>;
  /** `join.net` given as a pool: spawn takes one and adds it to `join`. */
  netPool?: NamespacePool;
  o: SpawnOptions;
  stdio: Map<number, StdioSource>;
  maps: ResolvedMaps | null;
  killSignal: number;
  container: ContainerOptions | null;
  /** The cgroup to start in (CLONE_INTO_CGROUP), or null. */
  cgroup: { path: string; directory: string } | null;
  security: CheckedSecurity;
  network: CheckedNetwork | undefined;
  terminal: CheckedTerminal | undefined;
  hooks: CheckedHooks | undefined;
}

/**
 * What the init makes under the seccomp filter before the command runs and spawn returns
 * (csrc/child_init.cc: the mask, non-dumpable and its name, the probe, the command's clone,
 * its process group and terminal, the fds closed) and what a startContainer hook's runner
 * makes (csrc/child_hook.cc). Only the forked init applies here: a profile with notify rules
 * is the caller's, which keeps the init image out. @internal
 */
const INIT_UNDER_FILTER = [
  'rt_sigprocmask',
  'prctl',
  'wait4',
  'kill',
  'getpid',
  'rt_sigtimedwait',
  'clone',
  'setpgid',
  'ioctl',
  'close_range',
  'close',
];
const HOOK_UNDER_FILTER = [
  'clone',
  'pipe2',
  'fcntl',
  'pidfd_open',
  'ppoll',
  'clock_gettime',
  'read',
  'write',
  'wait4',
  'kill',
  'close_range',
  'close',
  'dup3',
  'setpgid',
  'prctl',
  'rt_sigaction',
  'rt_sigprocmask',
];

/**
 * What a joiner of a pid (or time) namespace makes under its filter when its fork into the box
 * comes after the filter (csrc/child.cc ForkFirst): the fork, the pid it reports, and in the
 * copy its pdeathsig and the check that the parent is alive. @internal
 */
const JOIN_FORK_UNDER_FILTER = ['clone', 'sendto', 'prctl', 'ppoll'];

/** All validation, no syscalls. @internal */
export function checkSpawn(command: unknown, args: unknown, options: unknown): Checked {
  const file = str('command', command);
  if (file.length === 0) throw invalidArgValue('command', file, 'must not be empty');
  if (args !== undefined && !Array.isArray(args)) throw invalidArgType('args', 'an array of strings', args);
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArgType('options', 'an object', options);
  const o = (options ?? {}) as SpawnOptions;
  for (const k of Object.keys(o))
    if (!KNOWN.has(k)) throw invalidArgValue(`options.${k}`, (o as Record<string, unknown>)[k], 'is not a spawn option');

  const argv0 = o.argv0 === undefined ? file : str('options.argv0', o.argv0);
  const argv = [argv0, ...((args as unknown[] | undefined) ?? []).map((a, i) => str(`args[${i}]`, a))];

  // The default, process.env, is the process's environment on the main thread: the native
  // side reads it there when it parses the plan (~0.05 ms less than listing it here per spawn).
  // A worker's process.env is its own copy, listed.
  let env: string[] | null = null;
  if (o.env !== undefined || !onProcessMainThread()) {
    const envObj = o.env === undefined ? process.env : o.env;
    if (typeof envObj !== 'object' || envObj === null) throw invalidArgType('options.env', 'an object', envObj);
    env = [];
    for (const [k, v] of Object.entries(envObj)) {
      if (v === undefined) continue;
      if (k.includes('=') || k.length === 0) throw invalidArgValue('options.env', k, 'has a variable name that is empty or contains "="');
      env.push(noNul(`options.env.${k}`, `${k}=${String(v)}`));
    }
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
  let netPool: NamespacePool | undefined;
  if (o.join !== undefined) {
    if (typeof o.join !== 'object' || o.join === null) throw invalidArgType('options.join', 'an object', o.join);
    for (const [t, v] of Object.entries(o.join)) {
      if (!isNamespaceType(t)) throw invalidArgValue('options.join', t, `has a key that is not one of ${NAMESPACE_TYPES.join(', ')}`);
      if (newNs.has(t)) throw invalidArgValue(`options.join.${t}`, v, 'names a namespace also listed in options.namespaces');
      // A Namespace or a pid needs no pool module (scripts/bundle.mjs loads it lazily).
      if (typeof v === 'object' && v !== null && !(v instanceof Namespace) && v instanceof lazyPool.NamespacePool) {
        if (t !== v.kind) throw invalidArgValue(`options.join.${t}`, v, `is a pool of ${v.kind} namespaces`);
        if (v.closed) throw handleClosed('NamespacePool');
        netPool = v;
        continue;
      }
      if (typeof v === 'number') checkPid(`options.join.${t}`, v);
      else if (!(v instanceof Namespace)) throw invalidArgType(`options.join.${t}`, 'a Namespace or a pid', v);
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
  for (const k of ['dieWithParent', 'detached', 'lockMounts', 'noNewSessionKeyring', 'init', 'cwdOptional'] as const)
    if (o[k] !== undefined) bool(`options.${k}`, o[k]);
  if (o.init === true && !newNs.has('pid'))
    throw invalidArgValue('options.init', o.init, "needs 'pid' in options.namespaces (the init is PID 1 of a new pid namespace)");
  if (o.processGroup !== undefined && typeof o.processGroup !== 'boolean') id('options.processGroup', o.processGroup);
  if (o.detached && typeof o.processGroup === 'number')
    throw invalidArgValue('options.processGroup', o.processGroup, 'cannot join a group when detached');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an AbortSignal', o.signal);
  if (o.timeout !== undefined && (typeof o.timeout !== 'number' || !(o.timeout > 0) || o.timeout > 2 ** 31 - 1)) {
    throw outOfRange('options.timeout', 'a number of milliseconds > 0 and < 2^31', o.timeout);
  }
  const killSignal = signalNumber(o.killSignal);
  const stdio = checkStdio(o.stdio, o.fds);
  const terminal = o.terminal === undefined || o.terminal === false ? undefined : lazyPty.checkTerminal(o, stdio);

  let maps: ResolvedMaps | null = null;
  if (newNs.has('user')) maps = resolveIdMaps(o, process.geteuid!(), process.getegid!());
  else
    for (const k of ['uidMap', 'gidMap', 'setgroups'] as const) {
      if (o[k] !== undefined) throw invalidArgValue(`options.${k}`, o[k], "needs 'user' in options.namespaces");
    }
  if (o.groups !== undefined && o.groups.length > 0 && maps?.denySetgroups) {
    throw invalidArgValue('options.groups', o.groups, "cannot be set when setgroups is 'deny' in the new user namespace");
  }
  if (o.propagation !== undefined) {
    if (!['private', 'slave', 'shared', 'unbindable', 'unchanged'].includes(o.propagation))
      throw invalidArgValue('options.propagation', o.propagation, "must be 'private', 'slave', 'shared', 'unbindable' or 'unchanged'");
    if (!newNs.has('mnt')) throw invalidArgValue('options.propagation', o.propagation, "needs 'mnt' in options.namespaces");
  }
  if (o.timeOffsets !== undefined) {
    if (typeof o.timeOffsets !== 'object' || o.timeOffsets === null)
      throw invalidArgType('options.timeOffsets', 'an object', o.timeOffsets);
    for (const [k, v] of Object.entries(o.timeOffsets)) {
      if (k !== 'monotonic' && k !== 'boottime')
        throw invalidArgValue(`options.timeOffsets.${k}`, v, "is not a clock: use 'monotonic' or 'boottime'");
      if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidArgType(`options.timeOffsets.${k}`, 'a finite number of seconds', v);
      // The kernel's bound on an offset (KTIME_SEC_MAX / 2, kernel/time/namespace.c).
      if (Math.abs(v) > 2 ** 32) throw outOfRange(`options.timeOffsets.${k}`, 'within ±2^32 seconds', v);
    }
    if (!newNs.has('time')) throw invalidArgValue('options.timeOffsets', o.timeOffsets, "needs 'time' in options.namespaces");
  }
  let container: ContainerOptions | null = null;
  if (
    o.rootfs !== undefined ||
    o.mounts !== undefined ||
    o.readOnlyRoot !== undefined ||
    o.defaultMounts !== undefined ||
    o.maskedPaths !== undefined ||
    o.readonlyPaths !== undefined ||
    o.devices !== undefined
  ) {
    container = checkContainer(o);
    if (!newNs.has('mnt'))
      throw invalidArgValue(
        'options.rootfs',
        o.rootfs ?? o.mounts,
        "needs 'mnt' in options.namespaces (it would change the host's mounts)",
      );
  }
  let cg: Checked['cgroup'] = null;
  if (o.cgroup !== undefined) {
    if (typeof o.cgroup === 'object' && o.cgroup !== null && o.cgroup instanceof lazyCgroup.Cgroup)
      cg = { path: o.cgroup.path, directory: o.cgroup.directory };
    else if (typeof o.cgroup === 'string') cg = lazyCgroupMount.resolveCgroup('options.cgroup', o.cgroup);
    else throw invalidArgType('options.cgroup', 'a Cgroup or a path', o.cgroup);
  }
  const security = checkSecurity(o, new Set<string>([...newNs, ...join.keys(), ...(netPool ? ['net'] : [])]));
  const network = checkNetworkOption(o.network, newNs.has('net'));
  if (o.startGate !== undefined) lazyStartGate.checkGate(o);
  const hooks =
    o.hooks === undefined ? undefined : lazyHooks.checkHooks(o.hooks, { container: container !== null, joinUser: join.has('user') });
  // A notify rule on a syscall the init or a startContainer hook's runner makes under the
  // filter, before the command runs, would wait for an answer spawn() cannot give yet.
  const notified = security.seccomp?.notify ? security.seccomp.notifySyscalls : [];
  const joinFork = (join.has('pid') || join.has('time')) && !newNs.has('pid') && !newNs.has('time');
  const under = [
    ...(o.init === true ? INIT_UNDER_FILTER : []),
    ...((hooks?.startContainer?.length ?? 0) > 0 ? HOOK_UNDER_FILTER : []),
    ...(joinFork ? JOIN_FORK_UNDER_FILTER : []),
  ];
  const waits = notified.filter((n: string) => under.includes(n));
  if (waits.length > 0) {
    const who =
      o.init === true
        ? 'the init'
        : waits.some((n) => JOIN_FORK_UNDER_FILTER.includes(n)) && joinFork
          ? 'a joiner (its fork into the joined pid namespace comes after the filter)'
          : "a startContainer hook's runner";
    throw invalidArgValue(
      'options.seccomp',
      waits.join(', '),
      `notifies a syscall ${who} makes before the command runs (it would wait forever)`,
    );
  }
  const checked: Checked = {
    file,
    argv,
    env,
    newNs,
    join,
    o,
    stdio,
    maps,
    killSignal,
    container,
    cgroup: cg,
    security,
    network,
    terminal,
    hooks,
  };
  if (netPool) checked.netPool = netPool;
  return checked;
}

/**
 * `options.network`. `{ lo }` alone (`nsbox run --net none`, a sandbox with only `lo`) is the
 * child's own plan step and is checked here; anything else (a veth, links to move, any error)
 * by the network module, loaded only then: ~0.4 MB of code a plain spawn never runs.
 */
function checkNetworkOption(value: unknown, newNet: boolean): CheckedNetwork | undefined {
  if (value === undefined) return undefined;
  if (newNet && typeof value === 'object' && value !== null) {
    const lo = (value as SpawnNetworkOptions).lo;
    const keys = Object.keys(value);
    if ((keys.length === 0 || (keys.length === 1 && keys[0] === 'lo')) && (lo === undefined || typeof lo === 'boolean'))
      return { lo: lo ?? true, move: [] };
  }
  return lazySpawnNetwork.checkNetwork(value, newNet);
}
