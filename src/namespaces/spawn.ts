/**
 * `spawn()`: start a process in new and/or existing namespaces, the way
 * child_process.spawn starts one without.
 * @module
 */
import type { Readable, Writable } from 'node:stream';
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { cgError } from '../cgroups/files.js';
import { abortError, nsboxError, SysError } from '../errors.js';
import * as lazyFeatures from '../features.js';
import { K, native, type NativeSpawnResult, type SpawnParentSide } from '../native.js';
import { NsboxChild } from './child.js';
import type { Namespace } from './namespace.js';
import { checkSpawn, type Checked, type SpawnOptions } from './options.js';
import { PlanBuilder, type SerializedPlan } from './plan.js';
import { prepareStdio, releaseStdio, wrapEnd, type PreparedStdio } from './stdio.js';
import type { Pty } from './pty.js';
import * as lazyPty from './pty.js';
import { claimIdRange, type IdRange } from './idrange.js';
import type { SeccompNotifier } from '../security/notify.js';
import * as lazyNotify from '../security/notify.js';
import { defaultSeccompProfile } from '../security/seccomp/filter.js';
import { addAfterCredentials, addBeforeCredentials, addLast, filtersEarly, parentSide } from '../security/steps.js';
import * as lazyStartGate from './start-gate.js';
import type { DetachedMount } from '../fs/newapi.js';
import { CLONE_FLAG } from './types.js';
import { dacAmbient, needsExecStub } from './exec-stub.js';
import * as lazyPoolPlan from './pool-plan.js';
import { addContainer, addJoinSteps, addLockSteps, hasConsole, hasIdmap, lockNet, offsetText, spawnFailure, userns } from './spawn-plan.js';
import type { NetworkSetup, SpawnVethLink } from '../net/spawn-network.js';
import * as lazySpawnNetwork from '../net/spawn-network.js';

/**
 * Wraps the started child: stdio streams, the seccomp notifier, the pidfd watcher, the
 * timeout and abort signal. `claimed` (the id block) is released when the child exits.
 * If anything here fails, the child is killed and reaped and nothing is left open.
 * @internal (also used by template.ts)
 */
export function adopt(
  r: Extract<NativeSpawnResult, { ok: true }>,
  prepared: PreparedStdio,
  c: Checked,
  claimed: IdRange | undefined,
  veth: SpawnVethLink | undefined,
): NsboxChild {
  const { o } = c;
  releaseStdio(prepared, false);
  const stdio: Array<Readable | Writable | null> = [];
  const maxFd = Math.max(2, ...c.stdio.keys());
  for (let i = 0; i <= maxFd; i++) {
    const end = prepared.parentEnds.get(i);
    stdio.push(end ? wrapEnd(end.fd, end.readable) : null);
    prepared.parentEnds.delete(i); // the stream owns it: a later failure must not close it again
  }
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  let child: NsboxChild;
  let notifier: SeccompNotifier | undefined;
  let terminal: Pty | undefined;
  try {
    if (r.terminal !== undefined) terminal = new lazyPty.Pty(r.terminal, -1, native.ptyPath(r.terminal));
    if (r.listener !== undefined) {
      // The native listener takes the fd (and closes it if it cannot poll it); until it
      // exists, the environment's teardown owns it (csrc/addon.cc), so no close here.
      notifier = new lazyNotify.SeccompNotifier(r.listener);
    }
    child = new NsboxChild({
      pid: r.pid,
      pidfd: r.pidfd,
      stdio,
      seccompNotifier: notifier,
      terminal,
      veth,
      gated: r.gated === true,
      onExit: () => {
        claimed?.release();
        if (timer) clearTimeout(timer);
        if (onAbort) o.signal!.removeEventListener('abort', onAbort);
      },
    });
  } catch (err) {
    native.killReap(r.pidfd); // no watcher owns the pidfd: reap here, never leak the child
    notifier?.close();
    if (terminal) terminal.close();
    else if (r.terminal !== undefined) native.close(r.terminal);
    for (const s of stdio) s?.destroy();
    throw err;
  }
  if (o.timeout !== undefined) timer = setTimeout(() => child.kill(c.killSignal), o.timeout);
  if (o.signal) {
    onAbort = () => child.kill(c.killSignal);
    o.signal.addEventListener('abort', onAbort, { once: true });
  }
  return child;
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
 * multi-range maps as an unprivileged user; for `network.veth`, CAP_NET_ADMIN in the caller's
 * network namespace (root), while `network.lo` needs nothing (the namespace is the child's).
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
 *   'seccomp', 'lock-mounts', 'network', 'init', 'start-gate', 'exec', a hook's
 *   'hooks.createContainer[0]'), its `syscall`, `code` and `path` (and for
 *   'network' the refused request as `syscall`, with `ifname` and `kernelMessage`; for a hook
 *   `ECANCELED` or `ETIMEDOUT` with its `status` or `signal` and `stderr`) — e.g. `ENOENT` with syscall 'execve' for a
 *   missing command, or `ENOENT` with syscall 'openat2' and the rule's `path` for a missing
 *   Landlock rule path; `ERR_NSBOX_UNSUPPORTED` for a strict Landlock ruleset the kernel
 *   cannot enforce; `ERR_NSBOX_SECCOMP_TOO_LARGE` for a seccomp profile over 4096
 *   instructions. Nothing is left behind on failure: the child is reaped, every fd closed.
 */
export function spawn(command: string, args?: readonly string[], options?: SpawnOptions): NsboxChild;
export function spawn(command: string, options?: SpawnOptions): NsboxChild;
export function spawn(command: string, argsOrOptions?: readonly string[] | SpawnOptions, maybeOptions?: SpawnOptions): NsboxChild {
  const [args, options] =
    Array.isArray(argsOrOptions) || argsOrOptions === undefined ? [argsOrOptions, maybeOptions] : [undefined, argsOrOptions];
  return start(checkSpawn(command, args, options), (p, c, parent, hook, finish) =>
    finish(native.spawn(p.ops, p.strings, c.maps, parent, hook)),
  );
}

/**
 * The native call of a spawn, given the built plan; `finish` turns its result into the child
 * (or throws the failure) and releases what the spawn held either way. @internal
 */
export type Launch<T> = (
  p: SerializedPlan,
  c: Checked,
  parent: SpawnParentSide | undefined,
  hook: ((pid: number) => number) | undefined,
  finish: (r: NativeSpawnResult) => NsboxChild,
) => T;

/** Builds the plan of a checked spawn and hands it to `run`. @internal */
export function start<T>(c: Checked, run: Launch<T>): T {
  const { o, security } = c;
  if (o.signal?.aborted) throw abortError(o.signal);

  if (c.cgroup && !lazyFeatures.cloneIntoCgroup()) {
    throw nsboxError(
      'ERR_NSBOX_UNSUPPORTED',
      'options.cgroup needs clone3(2) with CLONE_INTO_CGROUP (Linux 5.7 or later); this kernel lacks it.',
    );
  }
  const plan = new PlanBuilder();
  const opened: Namespace[] = [];
  let prepared: ReturnType<typeof prepareStdio> | undefined;
  let cgroupFd = -1;
  let range: IdRange | undefined;
  let sysfs: DetachedMount | undefined;
  let network: NetworkSetup | undefined;
  let handedOff = false;
  try {
    let pooled: Namespace | undefined;
    if (c.netPool) {
      // A fresh namespace from the pool, joined like any handle; closed below (finally)
      // once the child holds it.
      pooled = c.netPool.take();
      opened.push(pooled);
      c.join.set('net', pooled);
    }
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
    // With the lock, a new network namespace is made with the command's (nested) user
    // namespace, which then owns it: the command has CAP_NET_ADMIN/CAP_NET_RAW over it.
    const net = lockNet(c, lock);
    const newFlags =
      [...c.newNs].filter((t) => !(rootFlow && t === 'user') && !(net && t === 'net')).reduce((f, t) => f | CLONE_FLAG[t], 0) &
      ~(offsets ? K.CLONE_NEWTIME : 0);
    const newUser = c.newNs.has('user') && !rootFlow;
    // rlimits and oom_score_adj first, by the parent (prlimit(2) can raise a hard limit, which
    // the child could not in a user namespace); inherited by a fork below.
    const parent = parentSide(security);
    if (parent) plan.parent();
    if (c.join.size === 0) {
      plan.cloneFlags = newFlags;
      if (newUser) userns(plan, c.maps!);
    } else if (pooled && c.join.size === 1 && !c.container) {
      lazyPoolPlan.addPooledNetSteps(plan, pooled, newFlags, newUser, c.maps);
    } else {
      addJoinSteps(plan, c, opened, newFlags, newUser);
    }
    if (offsets) {
      plan.unshare(K.CLONE_NEWTIME);
      plan.writeFile('/proc/self/timens_offsets', offsetText(o.timeOffsets!), 0, 'time-offsets');
    }
    // A join of a pid namespace (no new one, no container) enters the box by a fork that
    // csrc/child.cc ForkFirst makes at the first step the fork does not inherit: a box process
    // holding CAP_SYS_PTRACE can attach to it from then on, so that fork must come after the
    // credentials, the capability sets and the filters. The session, process group, terminal,
    // fds and cwd steps (which would make it earlier) come after them then, under the filters.
    const lateIo = c.join.has('pid') && !c.newNs.has('pid') && c.container === null;
    const session = () => {
      if (o.detached && !c.terminal) plan.setsid(); // the terminal step makes the session
      if (o.processGroup !== undefined && o.processGroup !== false) plan.setpgid(o.processGroup === true ? 0 : o.processGroup);
    };
    if (!lateIo) session();
    if (o.hostname !== undefined) plan.sethostname(o.hostname);
    if (o.domainname !== undefined) plan.setdomainname(o.domainname);
    if (!c.container) for (const [path, value] of security.sysctl) plan.sysctl(path, value, false);
    const propagation = { private: K.MS_PRIVATE, slave: K.MS_SLAVE, shared: K.MS_SHARED, unbindable: K.MS_UNBINDABLE };
    if (!c.container && c.newNs.has('mnt') && o.propagation !== 'unchanged') plan.propagation(propagation[o.propagation ?? 'private']);
    // Once the network namespace exists, and while the child holds capabilities over it: lo
    // up by the child, links moved in and a veth made by us while it waits. After the lock
    // when the lock makes it; in a container whose links are moved in, before its hooks
    // (createRuntime, createContainer find them inside, as runc moves them before its hooks).
    // `lo` alone is the child's own step: no NetworkSetup, no network module loaded.
    if (c.network && (c.network.veth !== undefined || c.network.move.length > 0)) network = new lazySpawnNetwork.NetworkSetup(c.network);
    const networkStep: { lo: boolean; parentSide: boolean; moves: boolean } | undefined = network
      ? network
      : c.network?.lo
        ? { lo: true, parentSide: false, moves: false }
        : undefined;
    let networkAdded = false;
    const addNetwork = () => {
      if (networkAdded || !networkStep) return;
      networkAdded = true;
      plan.network(networkStep.lo, networkStep.parentSide);
    };
    if (c.container)
      sysfs = addContainer(plan, c, opened, {
        rootFlow,
        lock,
        newUser,
        rootOwner: rootFlow ? range!.base : undefined,
        netInLock: !!net,
        beforeHooks: !net && networkStep?.moves ? addNetwork : undefined,
      });
    if (!net) addNetwork();
    addLockSteps(plan, c, rootFlow, lock, net);
    // A container's tree is private until here: after pivot_root and after the lock (whose
    // copy into a less privileged mount namespace would reduce shared to slave), so 'shared'
    // is a peer group of the container's own.
    if (c.container && o.propagation !== undefined && o.propagation !== 'unchanged' && o.propagation !== 'private')
      plan.propagation(propagation[o.propagation]);
    if (net) addNetwork();
    // A sandbox (a user namespace, or root) cannot type into the caller's terminal, and does
    // not share the caller's session keyring. Before setuid: seccomp without no_new_privs
    // needs CAP_SYS_ADMIN, which a switch to a non-zero uid drops.
    const sandbox = c.newNs.has('user') || c.join.has('user') || c.container !== null;
    if (sandbox && o.noNewSessionKeyring !== true) plan.keyring();
    // The default seccomp profile refuses TIOCSTI/TIOCLINUX itself: one filter fewer to load.
    const tiocstiInProfile = security.seccompSource === defaultSeccompProfile;
    if (sandbox && !tiocstiInProfile && (c.newNs.has('user') || c.join.has('user') || process.geteuid!() === 0)) plan.noTiocsti();
    // A pty made in a container with a root of its own is also its /dev/console (runc's
    // mountConsole): the bind needs the setup's capabilities, so it comes before seccomp,
    // the credentials and the capability sets; the pty is still made with the command's
    // ids (as fs ids), so the command owns its terminal either way.
    const newTty = c.terminal?.kind === 'new' ? c.terminal : undefined;
    const devConsole = newTty !== undefined && hasConsole(c);
    if (devConsole) plan.terminal('console', newTty.size, { uid: o.uid, gid: o.gid });
    // The terminal, stdio (every other fd closed) and the cwd: before Landlock and seccomp,
    // which could refuse what they use (/dev/ptmx, close_range(2), openat2(2)). After the
    // credential steps, or with the filters before them when those come early (no
    // no_new_privs, steps.ts), as runc and crun do their stdio and chdir before that filter.
    prepared = prepareStdio(c.stdio);
    const { pairs } = prepared;
    const io = (early: boolean) => {
      // A pty made by the child as the command's uid (it owns its terminal): after setuid, or
      // before it with that uid as fsuid; its fds 0-2 are then the slave, which OP_FDS keeps.
      if (newTty && !devConsole) plan.terminal('new', newTty.size, early ? { uid: o.uid, gid: o.gid } : undefined);
      plan.fds(pairs);
      if (c.terminal?.kind === 'pty') plan.terminal('stdin');
      // After every inherited fd is closed, and inside the new root: a cwd such as
      // /proc/self/fd/N cannot name one of nsbox's fds or a host directory.
      if (o.cwd !== undefined) plan.chdir(o.cwd, c.container !== null, o.cwdOptional === true);
    };
    addBeforeCredentials(plan, security, () => {
      if (!lateIo) io(true);
    });
    if (o.groups !== undefined) plan.setgroups(o.groups);
    if (o.gid !== undefined) plan.setgid(o.gid);
    if (o.uid !== undefined) plan.setuid(o.uid);
    addAfterCredentials(plan, security);
    if (lateIo) session();
    if (!filtersEarly(security) || lateIo) io(false);
    // After setuid: a credential change clears it.
    if (o.dieWithParent ?? (!o.detached && o.startGate === undefined)) plan.pdeathsig(K.SIGNAL.SIGKILL);
    // The create/start boundary: everything above is applied at create, the filters and the
    // execve below at start (runc and crun wait there too: docs/security.md).
    // A filter with a listener is loaded before the gate: its fd comes back to spawn here.
    const early = o.startGate !== undefined && lazyStartGate.filtersBeforeGate(security);
    if (early) addLast(plan, security);
    if (o.startGate !== undefined) plan.gate(o.startGate);
    if (!early) addLast(plan, security);
    // startContainer hooks: after the gate and the filters, right before execve, with
    // everything of the command's applied (runc runs them there too).
    for (const [i, h] of (c.hooks?.startContainer ?? []).entries()) plan.hook('startContainer', i, h, K.HOOK_HERE);
    // Last: the init runs every step above itself, so it is as confined as the command.
    // The init lets go of its copy of Node's memory once the command runs (csrc/child_init.cc
    // DropCopy) unless a seccomp profile other than nsbox's default may refuse munmap or rseq.
    // Under the same condition, and when the command can never hold CAP_SYS_PTRACE (out of
    // its bounding set), the init may be the init image instead of a fork of this process
    // (csrc/init_image.cc): its mm then belongs to the command's user namespace, where
    // CAP_SYS_PTRACE would let the command trace it (docs/security.md, "The init").
    if (o.init) {
      const dropCopy = !security.seccomp || security.seccompSource === defaultSeccompProfile;
      // Root's execve(2) permits bounding ∪ inheritable (the ambient set is in both): neither
      // may hold CAP_SYS_PTRACE.
      const ptrace = 1n << BigInt(K.CAP.CAP_SYS_PTRACE!);
      const noPtrace = security.caps !== undefined && ((security.caps.bounding | security.caps.inheritable) & ptrace) === 0n;
      plan.init(dropCopy, dropCopy && noPtrace);
    }
    // The command's execve made by the sealed exec stub where the command could otherwise reach
    // Node's binary through /proc/self/exe and write it (exec-stub.ts, CVE-2019-5736).
    const stub = needsExecStub(
      c.newNs.has('mnt') || c.join.has('mnt') || c.container !== null,
      c.join.has('user')
        ? { kind: 'joined' }
        : c.maps !== null
          ? { kind: 'new', uidMap: c.maps.uidMap, gidMap: c.maps.gidMap }
          : { kind: 'ours', uid: o.uid ?? process.geteuid!(), dacCaps: dacAmbient(security.caps?.ambient) },
    );
    plan.exec(c.file, !c.file.includes('/'), c.argv, c.env, stub);

    const p = plan.build();
    // From here `finish` owns the stdio ends and the id block: it releases them if it throws.
    const held = prepared;
    let heldRange = range;
    const finish = (r: NativeSpawnResult): NsboxChild => {
      handedOff = true;
      try {
        if (!r.ok && r.step === -1 && r.errno === K.ERRNO.ENOSYS) {
          throw nsboxError(
            'ERR_NSBOX_UNSUPPORTED',
            'spawn needs clone3(2) with CLONE_CLEAR_SIGHAND (Linux 5.5 or later); this kernel has no clone3.',
          );
        }
        if (!r.ok) {
          network?.undo();
          throw network?.error ? network.failure(r.pid) : spawnFailure(r, p, c);
        }
        // spawnAsync settles here, after spawn's own finally: the moved links' namespace
        // handle is let go now (undo() let it go on failure).
        network?.release();
        // The id block stays claimed until the child has exited (released in onExit); until
        // adopt() has made the watcher, the catch below still owns it.
        const child = adopt(r, held, c, heldRange, network?.veth);
        heldRange = undefined;
        return child;
      } catch (err) {
        releaseStdio(held, true);
        heldRange?.release();
        throw err;
      }
    };
    return run(p, c, parent, network?.parentSide ? network.hook : undefined, finish);
  } catch (err) {
    if (!handedOff) {
      if (prepared) releaseStdio(prepared, true);
      range?.release();
    }
    throw err;
  } finally {
    network?.release();
    sysfs?.close();
    for (const ns of opened) ns.close();
    if (cgroupFd >= 0) closeSync(cgroupFd);
  }
}

export { NsboxChild, type ExitStatus } from './child.js';
export type { SpawnOptions, TimeOffsets } from './options.js';
export type { IdMapping, SetgroupsPolicy } from './idmap.js';
export type { StdioOptions, StdioSource } from './stdio.js';
