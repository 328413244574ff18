/**
 * `spawn()`: start a process in new and/or existing namespaces, the way
 * child_process.spawn starts one without.
 * @module
 */
import { Readable, Writable } from 'node:stream';
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { cgError } from '../cgroups/files.js';
import { invalidArgValue, nsboxError, SysError } from '../errors.js';
import { features } from '../features.js';
import { addContainerSteps } from '../fs/container.js';
import { K, native } from '../native.js';
import { NsboxChild } from './child.js';
import type { ResolvedMaps } from './idmap.js';
import { openNamespace, type Namespace } from './namespace.js';
import { checkSpawn, type SpawnOptions, type TimeOffsets } from './options.js';
import { PlanBuilder } from './plan.js';
import { prepareStdio, releaseStdio, wrapEnd } from './stdio.js';
import { claimIdRange, type IdRange } from './idrange.js';
import { withNamespaces } from './thread.js';
import { SeccompNotifier } from '../security/notify.js';
import { defaultSeccompProfile } from '../security/seccomp/index.js';
import { addAfterCredentials, addBeforeCredentials, addLast, parentSide } from '../security/steps.js';
import { fsopen, type DetachedMount } from '../fs/newapi.js';
import { CLONE_FLAG, NAMESPACE_TYPES, kFd, type NamespaceType } from './types.js';

/** Which syscall of a filesystem step failed (csrc/plan.h SysId). */
const SYSCALL_OF: Readonly<Record<number, string>> = {
  1: 'openat2', 2: 'mkdirat', 3: 'mount', 4: 'mount_setattr', 5: 'pivot_root', 6: 'umount2', 7: 'mknodat', 8: 'symlinkat', 9: 'chdir', 10: 'openat', 11: 'write', 12: 'move_mount',
  13: 'clone3', 14: 'unshare', 15: 'seccomp', 16: 'keyctl', 17: 'fchdir',
  18: 'landlock_create_ruleset', 19: 'landlock_add_rule', 20: 'landlock_restrict_self', 21: 'prctl', 22: 'capset', 23: 'sendmsg', 24: 'prlimit64',
};
/** csrc/plan.h kSysItemShift: the failing item of a multi-item step, above the SysId. */
const SYS_ITEM_SHIFT = 8;

/** The text /proc/PID/timens_offsets takes: `<clock> <secs> <nanosecs>` lines. */
function offsetText(o: TimeOffsets): string {
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

/**
 * The parent of user namespace `ns` when that parent is not the caller's own (so `ns` is
 * nested in one the caller made), as a new handle; else undefined.
 */
function outerUserns(ns: Namespace): Namespace | undefined {
  let parent: Namespace;
  try {
    parent = ns.parent();
  } catch {
    return undefined;
  }
  const own = openNamespace('user');
  try {
    if (parent.equals(own)) {
      parent.close();
      return undefined;
    }
    return parent;
  } finally {
    own.close();
  }
}

function hasIdmap(o: { mounts?: ReadonlyArray<{ type: string; idmap?: boolean }> }): boolean {
  return (o.mounts ?? []).some((m) => m.type === 'bind' && m.idmap === true);
}

/** uid_map text of a nested user namespace that keeps every id of its parent: `inside inside count`. */
function identityMap(text: string): string {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [inside, , count] = line.trim().split(/\s+/);
      return `${inside} ${inside} ${count}\n`;
    })
    .join('');
}

/**
 * A read-only sysfs of a joined network namespace, made here (sysfs shows the network
 * namespace of whoever creates it, and the child's user namespace may not own that one), or
 * undefined when this process cannot: the container then gets an empty /sys, never the host's.
 */
function joinedSysfs(net: Namespace): DetachedMount | undefined {
  try {
    return withNamespaces(net, () => {
      const ctx = fsopen('sysfs');
      try {
        return ctx.create().mount({ attrs: ['rdonly', 'nosuid', 'nodev', 'noexec'] });
      } finally {
        ctx.close();
      }
    });
  } catch {
    return undefined;
  }
}

function abortError(signal: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal.reason });
  err.name = 'AbortError';
  (err as Error & { code: string }).code = 'ABORT_ERR';
  return err;
}

/**
 * Starts `command` with `args` in new and/or joined namespaces: clone3(2) with a setup
 * plan run in the child (setns(2), unshare(2), id maps, sethostname(2), a container root,
 * the security options — capabilities, no_new_privs, umask, personality, sysctl, Landlock,
 * seccomp, with rlimits and oom_score_adj set by the parent — setgroups/setgid/setuid,
 * chdir, stdio, PR_SET_PDEATHSIG) and then execve(2), searching PATH from the child's
 * environment like execvp(3). docs/security.md gives the order of the steps.
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
 *   'hostname', 'rlimits', 'sysctl', 'umask', 'personality', 'no-new-privileges',
 *   'capabilities', 'groups', 'gid', 'uid', 'cwd', 'stdio', 'die-with-parent', 'landlock',
 *   'seccomp', 'exec'), its `syscall`, `code` and `path` — e.g. `ENOENT` with syscall 'execve' for a
 *   missing command, or `ENOENT` with syscall 'openat2' and the rule's `path` for a missing
 *   Landlock rule path; `ERR_NSBOX_UNSUPPORTED` for a strict Landlock ruleset the kernel
 *   cannot enforce; `ERR_NSBOX_SECCOMP_TOO_LARGE` for a seccomp profile over 4096
 *   instructions. Nothing is left behind on failure: the child is reaped, every fd closed.
 */
export function spawn(command: string, args?: readonly string[], options?: SpawnOptions): NsboxChild;
export function spawn(command: string, options?: SpawnOptions): NsboxChild;
export function spawn(command: string, argsOrOptions?: readonly string[] | SpawnOptions, maybeOptions?: SpawnOptions): NsboxChild {
  const [args, options] = Array.isArray(argsOrOptions) || argsOrOptions === undefined ? [argsOrOptions, maybeOptions] : [undefined, argsOrOptions];
  const c = checkSpawn(command, args, options);
  const { o, security } = c;
  if (o.signal?.aborted) throw abortError(o.signal);

  if (c.cgroup && !features().cloneIntoCgroup) {
    throw nsboxError('ERR_NSBOX_UNSUPPORTED', 'options.cgroup needs clone3(2) with CLONE_INTO_CGROUP (Linux 5.7 or later); this kernel lacks it.');
  }
  const plan = new PlanBuilder();
  const opened: Namespace[] = [];
  let prepared: ReturnType<typeof prepareStdio> | undefined;
  let cgroupFd = -1;
  let range: IdRange | undefined;
  let sysfs: DetachedMount | undefined;
  try {
    if (c.maps?.auto) {
      range = claimIdRange();
      c.maps.uidMap = c.maps.gidMap = `0 ${range.base} ${range.count}\n`;
    }
    if (c.cgroup) {
      // The cgroup's directory, for clone_args.cgroup; closed once clone3 has used it.
      try {
        cgroupFd = openSync(c.cgroup.directory, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
      } catch (cause) {
        throw cgError(cause, c.cgroup.directory, c.cgroup);
      }
      plan.cgroupFd = cgroupFd;
    }
    // Joins first (user first, mnt last); new namespaces after them, so a new namespace is
    // owned by a joined user namespace as unshare(1) after nsenter(1) would make it.
    // A time namespace with offsets is made by unshare(2): the offsets can only be written
    // before a process enters it, which the child then does at execve(2) (time_namespaces(7)).
    //
    // Root building a container with an id block (the default): the root is built by real
    // root in the new mount namespace, and the user namespace comes last, with the lock
    // (child_lock.cc), so the command is the block's root with every mount locked and no
    // capability over any other namespace. Otherwise the user namespace comes first, and a
    // nested one locks the mounts its root made.
    const rootFlow = c.container !== null && c.maps?.auto === true && o.lockMounts !== false && !hasIdmap(c.container);
    // A joiner of a pid namespace lives in the box before the lock; it must stay non-dumpable
    // there, and the lock's helper cannot open a non-dumpable child's maps: no lock then.
    const lock = c.container !== null && c.maps !== null && o.lockMounts !== false && (rootFlow || !c.join.has('pid'));
    const offsets = o.timeOffsets !== undefined;
    const newFlags = [...c.newNs].filter((t) => !(rootFlow && t === 'user')).reduce((f, t) => f | CLONE_FLAG[t], 0) & ~(offsets ? K.CLONE_NEWTIME : 0);
    const newUser = c.newNs.has('user') && !rootFlow;
    // rlimits and oom_score_adj first, by the parent (prlimit(2) can raise a hard limit, which
    // the child could not in a user namespace); inherited by a fork below.
    const parent = parentSide(security);
    if (parent) plan.parent();
    if (c.join.size === 0) {
      plan.cloneFlags = newFlags;
      if (newUser) userns(plan, c.maps!);
    } else {
      // Whatever runs inside the joined namespaces before execve is a copy of this process:
      // non-dumpable first (as runc's nsexec), so nothing in the container can ptrace it,
      // read its memory, environment or /proc/PID/exe, or take its fds with pidfd_getfd(2).
      // The flag belongs to the mm, so the child gets its own (spawn.cc sees this step).
      plan.dumpable(false);
      // Root joins the user namespace last, as nsenter(1)'s second pass does: a box's other
      // namespaces may belong to a more privileged user namespace (the initial one, for a box
      // root built), where only real root may enter them.
      // An unprivileged caller needs a user namespace first to hold any capability; when the
      // one to join is nested in another of its own (a box whose mounts are locked), it enters
      // that outer one first, where the box's other namespaces belong, and the inner one last.
      const handle = (t: NamespaceType): Namespace | undefined => {
        const j = c.join.get(t);
        if (j === undefined || typeof j !== 'number') return j;
        const ns = openNamespace(t, { pid: j });
        opened.push(ns);
        return ns;
      };
      const userJoin = handle('user');
      let userLast = process.geteuid!() === 0;
      if (userJoin && !userLast) {
        const outer = outerUserns(userJoin);
        if (outer) {
          opened.push(outer);
          plan.setns(outer[kFd], CLONE_FLAG.user, 'user');
          userLast = true;
        }
      }
      if (userJoin && !userLast) plan.setns(userJoin[kFd], CLONE_FLAG.user, 'user');
      for (const t of NAMESPACE_TYPES) {
        if (t === 'user') continue;
        const ns = handle(t);
        if (ns) plan.setns(ns[kFd], CLONE_FLAG[t], t);
      }
      if (userJoin && userLast) plan.setns(userJoin[kFd], CLONE_FLAG.user, 'user');
      if (c.join.has('user')) {
        // Become the joined user namespace's root, as nsenter(1) does: the caller's own ids
        // may not be mapped there (a root caller's never are in an id block), and an unmapped
        // uid cannot create files; root's supplementary groups are dropped with them.
        if (process.geteuid!() === 0) plan.setgroups([]);
        plan.setgid(0);
        plan.setuid(0);
      }
      const forkFlags = newFlags & (K.CLONE_NEWPID | K.CLONE_NEWTIME);
      const unshareFlags = newFlags & ~forkFlags;
      if (unshareFlags) plan.unshare(unshareFlags);
      if (newUser) userns(plan, c.maps!);
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
    if (!c.container) for (const [path, value] of security.sysctl) plan.sysctl(path, value, false);
    if (!c.container && c.newNs.has('mnt') && o.propagation !== 'unchanged') {
      plan.propagation(o.propagation === 'slave' ? K.MS_SLAVE : o.propagation === 'shared' ? K.MS_SHARED : K.MS_PRIVATE);
    }
    if (c.container) {
      const idmapSources: string[] = [];
      const joinedNet = c.join.get('net');
      if (!rootFlow && joinedNet !== undefined && c.container.rootfs !== undefined && c.container.defaultMounts !== false) {
        sysfs = joinedSysfs(typeof joinedNet === 'number' ? opened.find((n) => n.type === 'net')! : joinedNet);
      }
      addContainerSteps(plan, c.container, {
        idmapSources,
        newUser: newUser || c.join.has('user'),
        newPid: c.newNs.has('pid'),
        newNet: c.newNs.has('net'),
        joinedNet: joinedNet !== undefined,
        sysfsFd: sysfs?.[kFd],
        newIpc: c.newNs.has('ipc'),
        root: process.geteuid!() === 0,
        lock,
        rootOwner: rootFlow ? range!.base : undefined,
        sysctl: security.sysctl,
      });
      if (idmapSources.length > 0) {
        if (!c.maps || !c.newNs.has('user')) throw invalidArgValue('options.mounts', o.mounts, "has idmapped volumes, which need 'user' in options.namespaces");
        if (idmapSources.length > 8) throw invalidArgValue('options.mounts', o.mounts, 'has more than 8 idmapped volumes');
        c.maps.idmapSources = idmapSources;
      }
    }
    if (rootFlow) {
      // The block's maps, written by the helper; then become the block's root.
      plan.lock(c.maps!.uidMap, c.maps!.gidMap);
      plan.setgroups([]);
      plan.setgid(0);
      plan.setuid(0);
    } else if (lock) {
      // A joiner (non-dumpable, its /proc files root's) is dumpable again for the helper to
      // write its maps, then not: it is outside every joined pid namespace meanwhile.
      if (c.join.size > 0) plan.dumpable(true);
      plan.lock(identityMap(c.maps!.uidMap), identityMap(c.maps!.gidMap));
      if (c.join.size > 0) plan.dumpable(false);
    }
    // A sandbox (a user namespace, or root) cannot type into the caller's terminal, and does
    // not share the caller's session keyring. Before setuid: seccomp without no_new_privs
    // needs CAP_SYS_ADMIN, which a switch to a non-zero uid drops.
    const sandbox = c.newNs.has('user') || c.join.has('user') || c.container !== null;
    if (sandbox && o.noNewSessionKeyring !== true) plan.keyring();
    // The default seccomp profile refuses TIOCSTI/TIOCLINUX itself: one filter fewer to load.
    const tiocstiInProfile = security.seccompSource === defaultSeccompProfile;
    if (sandbox && !tiocstiInProfile && (c.newNs.has('user') || c.join.has('user') || process.geteuid!() === 0)) plan.noTiocsti();
    addBeforeCredentials(plan, security);
    if (o.groups !== undefined) plan.setgroups(o.groups);
    if (o.gid !== undefined) plan.setgid(o.gid);
    if (o.uid !== undefined) plan.setuid(o.uid);
    addAfterCredentials(plan, security);
    prepared = prepareStdio(c.stdio);
    plan.fds(prepared.pairs);
    // After every inherited fd is closed, and inside the new root: a cwd such as
    // /proc/self/fd/N cannot name one of nsbox's fds or a host directory.
    if (o.cwd !== undefined) plan.chdir(o.cwd, c.container !== null);
    // After setuid: a credential change clears it.
    if (o.dieWithParent ?? !o.detached) plan.pdeathsig(9);
    addLast(plan, security);
    plan.exec(c.file, !c.file.includes('/'), c.argv, c.env);

    const p = plan.build();
    const r = native.spawn(p.ops, p.strings, c.maps, parent);
    if (!r.ok && r.step === -1 && r.errno === 38 /* ENOSYS */) {
      throw nsboxError('ERR_NSBOX_UNSUPPORTED', 'spawn needs clone3(2) with CLONE_CLEAR_SIGHAND (Linux 5.5 or later); this kernel has no clone3.');
    }
    if (!r.ok) {
      // step -1: clone3 itself; -2: the status protocol broke (the child was killed and reaped).
      const info = r.step < 0 ? { step: r.step === -1 ? 'clone' : 'spawn', syscall: 'clone3', path: undefined } : p.steps[r.step]!;
      const sysName = r.sysid ? SYSCALL_OF[r.sysid & ((1 << SYS_ITEM_SHIFT) - 1)] : undefined;
      const ctx: { step: string; path?: string; pid: number; cgroup?: string } = { step: info.step, pid: r.pid };
      const item = r.sysid ? (r.sysid >>> SYS_ITEM_SHIFT) - 1 : -1;
      const path = r.path ?? (item >= 0 ? info.paths?.[item] : info.path) ?? (r.step === -1 ? c.cgroup?.directory : undefined);
      if (path !== undefined) ctx.path = path;
      if (r.step === -1 && c.cgroup) ctx.cgroup = c.cgroup.path;
      throw new SysError(r.errno, r.syscall ?? sysName ?? info.syscall, ctx);
    }
    releaseStdio(prepared, false);
    const stdio: Array<Readable | Writable | null> = [];
    const maxFd = Math.max(2, ...c.stdio.keys());
    for (let i = 0; i <= maxFd; i++) {
      const end = prepared.parentEnds.get(i);
      stdio.push(end ? wrapEnd(end.fd, end.readable) : null);
    }
    // The id block stays claimed until the child has exited (released in onExit); until the
    // watcher exists, the outer catch still owns it.
    const claimed = range;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    let child: NsboxChild;
    let notifier: SeccompNotifier | undefined;
    try {
      if (r.listener !== undefined) {
        const fd = r.listener;
        try {
          notifier = new SeccompNotifier(fd);
        } catch (err) {
          closeSync(fd);
          throw err;
        }
      }
      child = new NsboxChild({
        pid: r.pid,
        pidfd: r.pidfd,
        stdio,
        seccompNotifier: notifier,
        onExit: () => {
          claimed?.release();
          if (timer) clearTimeout(timer);
          if (onAbort) o.signal!.removeEventListener('abort', onAbort);
        },
      });
    } catch (err) {
      native.killReap(r.pidfd); // no watcher owns the pidfd: reap here, never leak the child
      notifier?.close();
      for (const s of stdio) s?.destroy();
      throw err;
    }
    range = undefined;
    if (o.timeout !== undefined) timer = setTimeout(() => child.kill(c.killSignal), o.timeout);
    if (o.signal) {
      onAbort = () => child.kill(c.killSignal);
      o.signal.addEventListener('abort', onAbort, { once: true });
    }
    return child;
  } catch (err) {
    if (prepared) releaseStdio(prepared, true);
    range?.release();
    throw err;
  } finally {
    sysfs?.close();
    for (const ns of opened) ns.close();
    if (cgroupFd >= 0) closeSync(cgroupFd);
  }
}

export { NsboxChild, type ExitStatus } from './child.js';
export type { SpawnOptions, TimeOffsets } from './options.js';
export type { IdMapping, SetgroupsPolicy } from './idmap.js';
export type { StdioOptions, StdioSource } from './stdio.js';
