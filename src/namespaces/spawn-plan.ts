/**
 * The namespace part of spawn's plan: joins (with the user namespace first or last), new
 * namespaces, id maps, the mount lock, and what the child's failure report becomes.
 * @internal
 * @module
 */
import { SysError, invalidArgValue } from '../errors.js';
import { addContainerSteps, sysfsMasks } from './container-steps.js';
import type { DetachedMount } from '../fs/newapi.js';
import * as lazyNewapi from '../fs/newapi.js';
import * as lazyHooks from './hooks.js';
import { K, native, type NativeSpawnResult } from '../native.js';
import type { ResolvedMaps } from './idmap.js';
import { openNamespace, openNamespaceOfPidfd, type Namespace } from './namespace.js';
import { openPidfd } from './pidfd-ns.js';
import type { Checked, TimeOffsets } from './options.js';
import type { PlanBuilder, SerializedPlan } from './plan.js';
import * as lazyThread from './thread.js';
import { CLONE_FLAG, NAMESPACE_TYPES, kFd, type NamespaceType } from './types.js';

/** The text /proc/PID/timens_offsets takes: `<clock> <secs> <nanosecs>` lines. */
export function offsetText(o: TimeOffsets): string {
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
export function userns(plan: PlanBuilder, maps: ResolvedMaps): void {
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

export function hasIdmap(o: { mounts?: ReadonlyArray<{ type: string; idmap?: boolean }> }): boolean {
  return (o.mounts ?? []).some((m) => m.type === 'bind' && m.idmap === true);
}

/** uid_map text of a nested user namespace that keeps every id of its parent: `inside inside count`. */
export function identityMap(text: string): string {
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
export function joinedSysfs(net: Namespace): DetachedMount | undefined {
  try {
    return lazyThread.withNamespaces(net, () => {
      const ctx = lazyNewapi.fsopen('sysfs');
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

/**
 * The joins of `c`: the joiner made non-dumpable, user namespace first (rootless) or last
 * (root), then the new namespaces by unshare(2) and a fork for pid/time. Handles opened for
 * joins by pid go to `opened` (the caller closes them).
 */
export function addJoinSteps(plan: PlanBuilder, c: Checked, opened: Namespace[], newFlags: number, newUser: boolean): void {
  // Whatever runs inside the joined namespaces before execve is a copy of this process:
  // non-dumpable first (as runc's nsexec), so nothing in the container can ptrace it,
  // read its memory, environment or /proc/PID/exe, or take its fds with pidfd_getfd(2).
  // The flag belongs to the mm, so the child gets its own (spawn.cc sees this step).
  plan.dumpable(false);
  // Joins by pid: one pidfd per pid, opened at its first namespace, so every namespace taken
  // from a pid is that one process's (a pid reused between two opens is ESRCH, never joined).
  const pidfds = new Map<number, number>();
  const handle = (t: NamespaceType): Namespace | undefined => {
    const j = c.join.get(t);
    if (j === undefined || typeof j !== 'number') return j;
    let pidfd = pidfds.get(j);
    if (pidfd === undefined) pidfds.set(j, (pidfd = openPidfd(j, t)));
    const ns = openNamespaceOfPidfd(pidfd, j, t);
    opened.push(ns);
    return ns;
  };
  try {
    addJoins(plan, c, handle, opened);
  } finally {
    for (const fd of pidfds.values()) native.close(fd);
  }
  const forkFlags = newFlags & (K.CLONE_NEWPID | K.CLONE_NEWTIME);
  const unshareFlags = newFlags & ~forkFlags;
  if (unshareFlags) plan.unshare(unshareFlags);
  if (newUser) userns(plan, c.maps!);
  if (forkFlags || c.join.has('pid') || c.join.has('time')) plan.fork(forkFlags);
}

/** The setns steps of addJoinSteps, user namespace first or last, each handle from `handle`. */
function addJoins(plan: PlanBuilder, c: Checked, handle: (t: NamespaceType) => Namespace | undefined, opened: Namespace[]): void {
  // Root joins the user namespace last, as nsenter(1)'s second pass does: a box's other
  // namespaces may belong to a more privileged user namespace (the initial one, for a box
  // root built), where only real root may enter them.
  // An unprivileged caller needs a user namespace first to hold any capability; when the
  // one to join is nested in another of its own (a box whose mounts are locked), it enters
  // that outer one first, where the box's other namespaces belong, and the inner one last.
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
}

/**
 * A new network namespace that comes with the lock, so the command's user namespace owns it;
 * `sysfsMasks` when the container has its default /sys (a fresh sysfs of that namespace).
 */
export interface LockNet {
  sysfsMasks?: readonly string[];
  /** net.* sysctls, written in it by the lock's helper. */
  sysctl: ReadonlyArray<readonly [string, string]>;
}

const isNetSysctl = ([path]: readonly [string, string]) => path.startsWith('/proc/sys/net/');

/** The LockNet of a spawn whose lock makes the new network namespace, else undefined. */
export function lockNet(c: Checked, lock: boolean): LockNet | undefined {
  if (!lock || !c.newNs.has('net')) return undefined;
  // Hooks before pivot_root run in the container's network namespace (runc's createContainer;
  // an OCI prestart hook configures it through /proc/PID/ns/net): it must exist then, before
  // the lock, so the clone makes it, with the outer user namespace.
  if (c.hooks && (c.hooks.createRuntime.length > 0 || c.hooks.createContainer.length > 0)) return undefined;
  const sysctl = c.security.sysctl.filter(isNetSysctl);
  // The helper reads "path\nvalue\n" pairs: a value with a newline stays with the setup's
  // namespace (owned by the outer user namespace), written with the container's mounts.
  if (sysctl.some(([, value]) => value.includes('\n'))) return undefined;
  const ct = c.container!;
  // A sysfs the caller mounts (config.json's /sys) is mounted by the setup, before the lock,
  // and sysfs may only be mounted by the user namespace that owns the network namespace: then
  // the clone makes it, with the outer user namespace (as before the network came with the lock).
  if (ct.mounts?.some((m) => m.type === 'sysfs')) return undefined;
  return ct.rootfs !== undefined && ct.defaultMounts !== false ? { sysfsMasks: sysfsMasks(ct.maskedPaths), sysctl } : { sysctl };
}

/**
 * The mount lock: as root with the id block, the block's maps (then its root); otherwise an
 * identity-mapped nested user namespace. `rootFlow` and `lock` as spawn decides them.
 */
export function addLockSteps(plan: PlanBuilder, c: Checked, rootFlow: boolean, lock: boolean, net?: LockNet): void {
  if (rootFlow) {
    // The block's maps, written by the helper; then become the block's root.
    plan.lock(c.maps!.uidMap, c.maps!.gidMap, net);
    plan.setgroups([]);
    plan.setgid(0);
    plan.setuid(0);
  } else if (lock) {
    // A joiner (non-dumpable, its /proc files root's) is dumpable again for the helper to
    // write its maps, then not: it is outside every joined pid namespace meanwhile.
    if (c.join.size > 0) plan.dumpable(true);
    plan.lock(identityMap(c.maps!.uidMap), identityMap(c.maps!.gidMap), net);
    if (c.join.size > 0) plan.dumpable(false);
  }
}

/** The SysError a failed native spawn stands for: the step's name, syscall and path. */
/**
 * A pty made in a container with a root of its own is also its /dev/console (OP_TERMINAL
 * TTY_CONSOLE), as runc and crun make it.
 */
export function hasConsole(c: Checked): boolean {
  return c.terminal?.kind === 'new' && c.container?.rootfs !== undefined;
}

export function spawnFailure(r: Extract<NativeSpawnResult, { ok: false }>, p: SerializedPlan, c: Checked): SysError {
  const hook = r.step >= 0 ? p.steps[r.step] : undefined;
  if (hook?.hook)
    return lazyHooks.hookFailure(
      r.errno,
      r.sysid ?? 0,
      { ...hook, timeout: hook.hook.timeout },
      { pid: r.pid, ...(r.stderr && { stderr: r.stderr }) },
    );
  // step -1: clone3 itself; -2: the status protocol broke (the child was killed and reaped).
  const info =
    r.step < 0 ? { step: r.step === -1 ? 'clone' : 'spawn', syscall: 'clone3', path: undefined, paths: undefined } : p.steps[r.step]!;
  const sysName = r.sysid ? K.SYSID[r.sysid & ((1 << K.SYS_ITEM_SHIFT) - 1)] : undefined;
  const ctx: { step: string; path?: string; pid: number; cgroup?: string } = { step: info.step, pid: r.pid };
  const item = r.sysid ? (r.sysid >>> K.SYS_ITEM_SHIFT) - 1 : -1;
  const path = r.path ?? (item >= 0 ? info.paths?.[item] : info.path) ?? (r.step === -1 ? c.cgroup?.directory : undefined);
  if (path !== undefined) ctx.path = path;
  if (r.step === -1 && c.cgroup) ctx.cgroup = c.cgroup.path;
  return new SysError(r.errno, r.syscall ?? sysName ?? info.syscall, ctx);
}

/**
 * The container's steps (root, mounts, pivot_root). A joined network namespace gets a sysfs
 * made here for it, returned for the caller to close once the child has it (closed here if
 * anything fails first). Idmapped volumes' sources go to `c.maps`.
 */
export function addContainer(
  plan: PlanBuilder,
  c: Checked,
  opened: readonly Namespace[],
  f: {
    rootFlow: boolean;
    lock: boolean;
    newUser: boolean;
    rootOwner: number | undefined;
    netInLock: boolean;
    beforeHooks?: (() => void) | undefined;
  },
): DetachedMount | undefined {
  const { o, security } = c;
  const container = c.container!;
  const idmapSources: string[] = [];
  const joinedNet = c.join.get('net');
  let sysfs: DetachedMount | undefined;
  if (!f.rootFlow && joinedNet !== undefined && container.rootfs !== undefined && container.defaultMounts !== false) {
    sysfs = joinedSysfs(typeof joinedNet === 'number' ? opened.find((n) => n.type === 'net')! : joinedNet);
  }
  try {
    addContainerSteps(plan, container, {
      idmapSources,
      newUser: f.newUser || c.join.has('user'),
      newPid: c.newNs.has('pid'),
      newNet: c.newNs.has('net'),
      sysfsInLock: f.netInLock,
      joinedNet: joinedNet !== undefined,
      sysfsFd: sysfs?.[kFd],
      newIpc: c.newNs.has('ipc'),
      root: process.geteuid!() === 0,
      lock: f.lock,
      rootOwner: f.rootOwner,
      console: hasConsole(c),
      hooks: c.hooks,
      beforeHooks: f.beforeHooks,
      // net.* sysctls go to the lock's helper when the lock makes the network namespace.
      sysctl: f.netInLock ? security.sysctl.filter((s) => !isNetSysctl(s)) : security.sysctl,
    });
    if (idmapSources.length > 0) {
      if (!c.maps || !c.newNs.has('user'))
        throw invalidArgValue('options.mounts', o.mounts, "has idmapped volumes, which need 'user' in options.namespaces");
      if (idmapSources.length > 8) throw invalidArgValue('options.mounts', o.mounts, 'has more than 8 idmapped volumes');
      c.maps.idmapSources = idmapSources;
    }
  } catch (err) {
    sysfs?.close();
    throw err;
  }
  return sysfs;
}
