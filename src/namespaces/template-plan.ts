/**
 * The two plans of a sandbox template: the setup, run once, which builds the container's root
 * in a mount namespace and pins it (OP_PIN) with the user namespaces the runs enter; and the
 * run, which enters those (OP_ENTER), takes a private copy of the mount tree, makes what must
 * be new per run and execs. docs/security.md ("Templates") reviews the layout.
 * @internal
 * @module
 */
import { existsSync, lstatSync } from 'node:fs';
import { MASKED_DIRS, MASKED_PATHS, READONLY_PATHS, type ContainerOptions } from '../fs/container.js';
import { mountinfo } from '../fs/mountinfo.js';
import { K } from '../native.js';
import { addContainerSteps } from './container-steps.js';
import type { ResolvedMaps } from './idmap.js';
import { coverage, writablePaths } from './template-mounts.js';
import type { PlanBuilder } from './plan.js';
import { identityMap, userns } from './spawn-plan.js';
import type { NamespaceType } from './types.js';

const M = K.PLAN_MOUNT;
const NOSUID = K.MS_NOSUID;
const NODEV = K.MS_NODEV;
const NOEXEC = K.MS_NOEXEC;

/**
 * Where a template's namespaces come from. `outerInit`: the root is built by real root in a
 * mount namespace of the initial user namespace, and each run makes its pid, ipc, uts and
 * cgroup namespaces with clone3 (no fork); otherwise a user namespace of the template's (U0)
 * owns the mount namespace and each run enters it first, then forks into its pid namespace.
 * `inner`: each run's command gets a user namespace of its own (U1, made per run, nested in the
 * outer one), which owns its network namespace and none of its mounts.
 * @internal
 */
export interface TemplateLayout {
  outerInit: boolean;
  /** U0: a user namespace of the template's owns the mount namespace. */
  outerUser: boolean;
  /** U1: a user namespace of its own for each run's command. */
  inner: boolean;
  /** The per-run namespaces (pid and mnt always). */
  run: ReadonlySet<NamespaceType>;
  root: boolean;
  /** The id block's base (the command's root on the host) when the template has one. */
  owner: number | undefined;
}

/** The layout for a caller (root or not) and the template's options. @internal */
export function layout(run: ReadonlySet<NamespaceType>, maps: ResolvedMaps | null, lockMounts: boolean | undefined): TemplateLayout {
  const root = process.geteuid!() === 0;
  const user = run.has('user');
  const lock = user && lockMounts !== false;
  const outerInit = root && (!user || (maps?.auto === true && lock));
  return { outerInit, outerUser: user && !outerInit, inner: lock, run, root, owner: undefined };
}

/**
 * The setup: clone3 with new mnt, pid, net, ipc, uts (and user, when U0 is the template's), the
 * container's root as spawn builds it, pivot_root, then the whole tree read-only (recursively:
 * nothing a run could write lives in it), then each read-write volume's own mount and the host
 * submounts it brought in writable again where the host has them read-write
 * (template-mounts.ts, from this process's mountinfo), then the pins: the mount namespace and
 * U0. The child then exits: the pinned fds keep both alive, and no process.
 * @internal
 */
export function addSetupSteps(plan: PlanBuilder, l: TemplateLayout, container: ContainerOptions, maps: ResolvedMaps | null): void {
  plan.cloneFlags = K.CLONE_NEWNS | K.CLONE_NEWPID | K.CLONE_NEWNET | K.CLONE_NEWIPC | K.CLONE_NEWUTS | (l.outerUser ? K.CLONE_NEWUSER : 0);
  if (l.outerUser) userns(plan, maps!);
  addContainerSteps(plan, container, {
    idmapSources: [],
    newUser: l.outerUser,
    newPid: true,
    newNet: true,
    newIpc: true,
    root: l.root,
    lock: false,
    rootOwner: l.outerInit ? l.owner : undefined,
    sysctl: [],
    template: true,
  });
  // After pivot_root: "/" is the container's root. Everything read-only, then the read-write
  // volumes' mounts writable again one by one, never recursively: what a template made under
  // one (a mask, a read-only path or volume) and what the host has read-only there stay so.
  plan.setattr('/', K.MOUNT_ATTR_RDONLY, 0, M.MNT_RECURSIVE, 'template');
  const rw = (container.mounts ?? []).some((m) => m.type === 'bind' && m.readOnly !== true);
  // (each through its volume's anchor: a rename in the rootfs meanwhile cannot send the
  // clearing to another mount, such as the root, whose read-only flag every run relies on)
  for (const p of rw ? writablePaths(container, mountinfo('self')) : [])
    plan.setattr(p, 0, K.MOUNT_ATTR_RDONLY, M.MNT_IN_ANCHOR, 'template');
  plan.pin(K.CLONE_NEWNS);
  if (l.outerUser) plan.pin(K.CLONE_NEWUSER);
}

/** The pinned namespaces' fds, as the run enters them. @internal */
export interface PinnedFds {
  mnt: number;
  outer?: number | undefined;
  /**
   * With a pool: the network namespace taken from it for this run (an fd), joined instead of a
   * new one; or, from an empty pool, `{ lo }`: the child makes one as the pool would have.
   */
  net?: number | { lo: boolean } | undefined;
}

let procLists: { masked: Array<[string, boolean]>; readonly: string[] } | undefined;

/** The masked and read-only paths under /proc that this kernel has (with whether each masked one is a directory). */
function procPaths(masked: readonly string[] | undefined, readonly: readonly string[] | undefined): typeof procLists & object {
  const isDir = (p: string) => {
    if (MASKED_DIRS.has(p)) return true;
    try {
      return lstatSync(p).isDirectory();
    } catch {
      return false;
    }
  };
  const pick = (list: readonly string[]) => list.filter((p) => p.startsWith('/proc/') && existsSync(p));
  if (masked === undefined && readonly === undefined) {
    procLists ??= { masked: pick(MASKED_PATHS).map((p) => [p, isDir(p)]), readonly: pick(READONLY_PATHS) };
    return procLists;
  }
  return {
    masked: pick(masked ?? MASKED_PATHS).map((p) => [p, isDir(p)]),
    readonly: pick(readonly ?? READONLY_PATHS),
  };
}

/**
 * A run's copy of a tree that has a shared volume: unshare(2) in the user namespace that owns
 * the template's mount namespace copies peer groups as they are, so without this every run
 * would be a peer of the template and of every other run (a mount one run makes under the
 * volume would reach all of them). Recursively slave (mount_namespaces(7): it still receives
 * what the template's copy gets, sends nothing), then each shared volume a peer group of the
 * run's own, as spawn's `propagation` makes it in a container of its own (recursively for
 * `'rshared'`). Nothing for a template without one: its tree is private throughout.
 */
function ownPeerGroups(plan: PlanBuilder, container: ContainerOptions): void {
  const mounts = container.mounts ?? [];
  const shared = mounts.filter((m) => m.propagation === 'shared' || m.propagation === 'rshared');
  if (shared.length === 0) return;
  const covered = coverage(container);
  plan.propagation(K.MS_SLAVE);
  mounts.forEach((m, i) => {
    if (!shared.includes(m) || covered(i, m.target)) return;
    plan.setattr(m.target, 0, 0, m.propagation === 'rshared' ? M.MNT_RECURSIVE : 0, 'propagation', K.MS_SHARED);
  });
}

/**
 * A run's namespaces and mounts, up to (not including) the security, stdio and exec steps:
 * enter the template (U0, then the mount namespace), a private copy of the tree (with a shared
 * volume: recursively slave, the volume a peer group of the run's own), the new
 * pid/ipc/uts/cgroup namespaces (pid from clone3 for `outerInit`, else unshare + a fork for pid),
 * a fresh /proc with its masks and read-only paths, devpts, /dev/shm, /dev/mqueue, the scratch
 * tmpfs, the hostname; then a new U1 (root there), and the network namespace owned by it, lo up
 * (or, with `fds.net`, the pooled network namespace joined first, before any other step).
 * @internal
 */
export function addRunSteps(
  plan: PlanBuilder,
  l: TemplateLayout,
  fds: PinnedFds,
  t: {
    container: ContainerOptions;
    scratch: readonly string[];
    hostname?: string | undefined;
    domainname?: string | undefined;
    sysctl: ReadonlyArray<readonly [string, string]>;
    maps: ResolvedMaps | null;
  },
): void {
  const run = l.run;
  const perRun =
    (run.has('ipc') ? K.CLONE_NEWIPC : 0) | (run.has('uts') ? K.CLONE_NEWUTS : 0) | (run.has('cgroup') ? K.CLONE_NEWCGROUP : 0);
  // Without U1 the network namespace is made with the others (owned by the outer user namespace).
  // A pooled one is joined first of all, while the child still has the caller's capabilities
  // in the user namespace that owns it (setns(2) needs CAP_SYS_ADMIN there); it comes with lo
  // as the pool made it, and stays owned by the pool's user namespace: the command has no
  // capability over it (docs/security.md, "Templates").
  const pooled = fds.net !== undefined;
  const net = run.has('net') && !pooled;
  const netEarly = net && !l.inner ? K.CLONE_NEWNET : 0;
  const joinPooled = () => {
    if (typeof fds.net === 'number') plan.setns(fds.net, K.CLONE_NEWNET, 'net');
    else if (fds.net !== undefined) {
      plan.unshare(K.CLONE_NEWNET);
      if (fds.net.lo) plan.network(true, false);
    }
  };
  if (l.outerInit) {
    // Only the pid namespace comes from clone3 (it needs the new process); the others are
    // unshared by the child, off the calling thread (spawnAsync's only blocking part is clone3).
    plan.cloneFlags = K.CLONE_NEWPID;
    joinPooled();
    plan.enter(fds.mnt, K.CLONE_NEWNS, 'mnt');
    plan.unshare(K.CLONE_NEWNS | perRun | netEarly);
    ownPeerGroups(plan, t.container);
  } else {
    joinPooled();
    if (fds.outer !== undefined) plan.enter(fds.outer, K.CLONE_NEWUSER, 'user');
    plan.enter(fds.mnt, K.CLONE_NEWNS, 'mnt');
    plan.unshare(K.CLONE_NEWNS | perRun | netEarly);
    ownPeerGroups(plan, t.container);
    plan.fork(K.CLONE_NEWPID, true);
  }
  const defaults = t.container.defaultMounts !== false;
  const owned = l.outerInit && l.owner !== undefined ? `,uid=${l.owner},gid=${l.owner}` : '';
  if (defaults) {
    // (onto the template's own procfs, which it covers: never a directory a rename in the
    // rootfs put at /proc meanwhile, which would leave the template's, unmasked, reachable)
    plan.mount('proc', '/proc', 'proc', NOSUID | NODEV | NOEXEC, null, M.MNT_ANCHOR | M.MNT_DST_PROCFS, 'proc');
    for (const [path, value] of t.sysctl) plan.sysctl(path, value, false);
    const { masked, readonly } = procPaths(t.container.maskedPaths, t.container.readonlyPaths);
    for (const [p, dir] of masked) {
      if (dir)
        plan.mount('tmpfs', p, 'tmpfs', K.MS_RDONLY | NOSUID | NODEV | NOEXEC, 'size=0', M.MNT_OPTIONAL | M.MNT_IN_ANCHOR, 'masked-paths');
      // (the run's /dev/null: the null device itself, opened following no symlink, or the step
      // fails ENXIO; an earlier run with a read-write volume at /dev could have replaced it)
      else
        plan.mount('/dev/null', p, null, K.MS_BIND, null, M.MNT_OPTIONAL | M.MNT_RDONLY | M.MNT_SRC_NULL | M.MNT_IN_ANCHOR, 'masked-paths');
    }
    for (const p of readonly)
      plan.mount(
        null,
        p,
        null,
        K.MS_BIND | K.MS_REC,
        null,
        M.MNT_OPTIONAL | M.MNT_SRC_SELF | M.MNT_RDONLY | M.MNT_RECURSIVE | M.MNT_IN_ANCHOR,
        'readonly-paths',
      );
    const gid5 = l.outerUser ? '' : ',gid=5';
    plan.mount('devpts', '/dev/pts', 'devpts', NOSUID | NOEXEC, `newinstance,ptmxmode=0666,mode=0620${gid5}`, 0, 'dev');
    plan.mount('shm', '/dev/shm', 'tmpfs', NOSUID | NODEV | NOEXEC, `mode=1777,size=65536k${owned}`, 0, 'dev');
    if (run.has('ipc')) plan.mount('mqueue', '/dev/mqueue', 'mqueue', NOSUID | NODEV | NOEXEC, null, 0, 'dev');
  }
  for (const p of t.scratch) plan.mount('tmpfs', p, 'tmpfs', NOSUID | NODEV, `mode=1777${owned}`, 0, 'scratch');
  // Each mount above left the cwd at its target: back to the root before anything else.
  plan.chdir('/');
  if (t.hostname !== undefined) plan.sethostname(t.hostname);
  if (t.domainname !== undefined) plan.setdomainname(t.domainname);
  if (l.inner) {
    // The command's own user namespace, made for this run (a shared one would share its user
    // keyring and per-user limits between runs), then the
    // network namespace it owns. The mount namespace stays the outer one's: the command holds
    // no capability over any mount made for it (one it makes with unshare -m gets them locked).
    // As root its parent is the initial user namespace, where this process writes the id
    // block's maps (OP_USERNS_SYNC: one round trip, measured 0.5 ms faster than a helper);
    // rootless it is nested in U0, where only a helper of the child's can write them.
    const maps = t.maps!;
    if (l.outerInit) {
      plan.unshare(K.CLONE_NEWUSER);
      plan.usernsSync();
    } else plan.userOnly(identityMap(maps.uidMap), identityMap(maps.gidMap));
    if (l.outerInit) plan.setgroups([]);
    plan.setgid(0);
    plan.setuid(0);
    if (net) plan.unshare(K.CLONE_NEWNET);
  } else if (t.maps) {
    // The command in U0 itself: the ids spawn switches to when the caller's are not mapped.
    if (t.maps.switchGid !== undefined) plan.setgid(t.maps.switchGid);
    if (t.maps.switchUid !== undefined) plan.setuid(t.maps.switchUid);
  }
  if (net) plan.network(true, false);
}
