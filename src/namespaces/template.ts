/**
 * Sandbox templates: a container prepared once (its root assembled in a mount namespace, the
 * user namespaces, the compiled seccomp filter and capability sets), then started many times,
 * each run in a private copy of that mount tree with fresh pid, net, ipc, uts and cgroup
 * namespaces. See docs/namespaces.md ("Sandbox templates") and docs/security.md ("Templates").
 * @module
 */
import { constants as fsConstants, closeSync, openSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { cgError } from '../cgroups/files.js';
import { abortError, handleClosed, illegalConstructor, invalidArgValue, nsboxError } from '../errors.js';
import { cloneIntoCgroup } from '../features.js';
import { native, type NativeSpawnResult } from '../native.js';
import { defaultSeccompProfile } from '../security/seccomp/filter.js';
import { addAfterCredentials, addBeforeCredentials, addLast, filtersEarly, parentSide } from '../security/steps.js';
import type { NsboxChild } from './child.js';
import { claimIdRange, type IdRange } from './idrange.js';
import { adoptNamespaceFd, type Namespace } from './namespace.js';
import { checkSpawn, type Checked } from './options.js';
import { PlanBuilder, type SerializedPlan } from './plan.js';
import { adopt } from './spawn.js';
import { nativeSpawnAsync } from './spawn-async.js';
import { spawnFailure } from './spawn-plan.js';
import { prepareStdio, releaseStdio } from './stdio.js';
import { dacAmbient, needsExecStub } from './exec-stub.js';
import { addRunSteps, addSetupSteps, layout, type TemplateLayout } from './template-plan.js';
import { checkTemplate, RUN_KEYS, type CheckedTemplate, type TemplateOptions, type TemplateSpawnOptions } from './template-options.js';
import { kFd } from './types.js';

export type { TemplateOptions, TemplateSpawnOptions } from './template-options.js';

const kToken = Symbol('nsbox.SandboxTemplate.new');

/**
 * A prepared sandbox: {@link template} made it; {@link SandboxTemplate.spawn} starts a run.
 * Holds no process: only the namespaces it pinned (fds) and, as root, its id block.
 */
export class SandboxTemplate implements Disposable, AsyncDisposable {
  #l: TemplateLayout;
  #ns: { mnt: Namespace; outer?: Namespace | undefined } | undefined;
  #range: IdRange | undefined;
  #live = 0;
  readonly #t: CheckedTemplate;

  /** @internal */
  constructor(
    token: symbol,
    l: TemplateLayout,
    ns: { mnt: Namespace; outer?: Namespace | undefined },
    range: IdRange | undefined,
    t: CheckedTemplate,
  ) {
    if (token !== kToken) throw illegalConstructor('template()');
    this.#l = l;
    this.#ns = ns;
    this.#range = range;
    this.#t = t;
  }

  /** True once {@link SandboxTemplate.close} has run. */
  get closed(): boolean {
    return this.#ns === undefined;
  }

  /**
   * Starts `command` in a new run of this template: setns(2) into the template's user and
   * mount namespaces, unshare(2) CLONE_NEWNS for a private copy of its mount tree, new pid,
   * net, ipc, uts and cgroup namespaces (as the template's `namespaces` say; the network one
   * joined from `netPool` when the template has one), a fresh /proc (masked as spawn masks
   * it), devpts, /dev/shm, /dev/mqueue and the scratch tmpfs, the hostname, the command's own
   * user namespace, lo up, the security options, execve(2). Nothing a run writes outside a
   * shared volume is seen by another run.
   *
   * Once the command has exec'd, this process holds the run's mount namespace (an O_CLOEXEC fd
   * from ioctl(2) PIDFD_GET_MNT_NAMESPACE, Linux 6.11; never in any run's fd table) so that
   * its teardown is not on the exit's path, and releases it on a native background thread
   * right after the exit has been seen (two runs per thread at most; with more in flight the
   * rest are not held): for a moment after `exited`, this process has one fd more and a
   * volume's source is still mounted in the run's namespace.
   *
   * Blocking: as spawn, the calling thread waits until the child has exec'd or failed
   * ({@link SandboxTemplate.spawnAsync} does not).
   * Privileges: those of the template's creator (the same user).
   * @returns the same child object as spawn (exit, kill, stdio).
   * @throws `ERR_HANDLE_CLOSED` after close() (or the `netPool`'s); `ERR_INVALID_ARG_TYPE`/
   *   `ERR_INVALID_ARG_VALUE`/`ERR_OUT_OF_RANGE` for bad options, before any syscall;
   *   `ABORT_ERR`; {@link SysError} naming the failing `step` ('setns:net', 'setns:mnt',
   *   'propagation', 'proc', 'scratch', 'network', 'exec', …).
   */
  spawn(command: string, args?: readonly string[], options?: TemplateSpawnOptions): NsboxChild;
  spawn(command: string, options?: TemplateSpawnOptions): NsboxChild;
  spawn(command: string, argsOrOptions?: readonly string[] | TemplateSpawnOptions, maybeOptions?: TemplateSpawnOptions): NsboxChild {
    return this.#start(command, argsOrOptions, maybeOptions, (p, maps, parent, finish) =>
      finish(native.spawn(p.ops, p.strings, maps, parent, undefined)),
    );
  }

  /**
   * {@link SandboxTemplate.spawn} without blocking the calling thread while the run is set
   * up, as `spawnAsync()` is to `spawn()`: only clone3(2) runs on the calling thread; the
   * run's status session (its id maps, the wait for execve(2)) runs on a native thread of its
   * own, and the Promise settles from the event loop. Several runs can be in flight at once
   * from one thread, which is what keeps many short sandboxes per second going.
   *
   * Blocking: never waits for the child on the calling thread (clone3 itself: tens of
   * microseconds; rootless, plus the fork of Node's page tables that entering the template's
   * user namespace needs).
   * Privileges: those of the template's creator (the same user).
   * @returns a Promise for the same child object as spawn's.
   * @throws (as a rejection) every error {@link SandboxTemplate.spawn} throws, with the same
   *   `code`, `step`, `syscall` and `path`. Nothing is left behind on failure: the child is
   *   reaped, every fd closed, a pooled network namespace released (never handed out again).
   */
  spawnAsync(command: string, args?: readonly string[], options?: TemplateSpawnOptions): Promise<NsboxChild>;
  spawnAsync(command: string, options?: TemplateSpawnOptions): Promise<NsboxChild>;
  async spawnAsync(
    command: string,
    argsOrOptions?: readonly string[] | TemplateSpawnOptions,
    maybeOptions?: TemplateSpawnOptions,
  ): Promise<NsboxChild> {
    return this.#start(command, argsOrOptions, maybeOptions, (p, maps, parent, finish, c) =>
      nativeSpawnAsync(p, maps, parent, undefined, c, finish),
    );
  }

  /**
   * Both spawns: checks, builds the run's plan, and hands it to `launch` (the native call),
   * whose `finish` turns the result into the child or the failure. What the run held only until
   * the clone (the pooled namespace's handle, the cgroup's fd) is closed when `launch`
   * returns: the child has its own copy of our fd table by then.
   */
  #start<T>(
    command: string,
    argsOrOptions: readonly string[] | TemplateSpawnOptions | undefined,
    maybeOptions: TemplateSpawnOptions | undefined,
    launch: (
      p: SerializedPlan,
      maps: Checked['maps'],
      parent: ReturnType<typeof parentSide>,
      finish: (r: NativeSpawnResult) => NsboxChild,
      c: Checked,
    ) => T,
  ): T {
    const ns = this.#ns;
    if (ns === undefined) throw handleClosed('SandboxTemplate');
    const [args, options] =
      Array.isArray(argsOrOptions) || argsOrOptions === undefined ? [argsOrOptions, maybeOptions] : [undefined, argsOrOptions];
    if (options !== undefined && typeof options === 'object' && options !== null)
      for (const k of Object.keys(options))
        if (!RUN_KEYS.has(k))
          throw invalidArgValue(`options.${k}`, (options as Record<string, unknown>)[k], 'is not a template spawn option');
    const r = checkSpawn(command, args, options);
    const { o } = r;
    if (o.groups !== undefined && o.groups.length > 0 && this.#t.c.maps?.denySetgroups)
      throw invalidArgValue('options.groups', o.groups, "cannot be set: setgroups is 'deny' in the template's user namespace");
    if (o.signal?.aborted) throw abortError(o.signal);
    if (r.cgroup && !cloneIntoCgroup())
      throw nsboxError('ERR_NSBOX_UNSUPPORTED', 'options.cgroup needs clone3(2) with CLONE_INTO_CGROUP (Linux 5.7 or later).');
    const { c: tc, scratch, o: to, netPool } = this.#t;
    const security = tc.security;
    const plan = new PlanBuilder();
    let cgroupFd = -1;
    let pooled: Namespace | undefined;
    let prepared: ReturnType<typeof prepareStdio> | undefined;
    let handedOff = false;
    let live = false;
    try {
      if (r.cgroup) {
        try {
          cgroupFd = openSync(r.cgroup.directory, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
        } catch (cause) {
          throw cgError(cause, r.cgroup.directory, r.cgroup);
        }
        plan.cgroupFd = cgroupFd;
      }
      // Taken once: whatever happens to this run, the namespace is never handed out again.
      // From an empty pool the run's child makes one like it (addRunSteps), rather than this
      // thread waiting for one to be made (take()'s fallback).
      if (netPool) pooled = netPool.tryTake();
      const parent = parentSide(security);
      if (parent) plan.parent();
      addRunSteps(
        plan,
        this.#l,
        { mnt: ns.mnt[kFd], outer: ns.outer?.[kFd], net: netPool ? (pooled?.[kFd] ?? { lo: netPool.lo }) : undefined },
        { container: tc.container!, scratch, hostname: to.hostname, domainname: to.domainname, sysctl: security.sysctl, maps: tc.maps },
      );
      // The run's mount namespace outlives the command until its exit has been seen, then is
      // torn down off the JS thread: not on the exit's path (csrc/exit_pin.h).
      plan.exitPin();
      if (this.#l.run.has('user')) plan.keyring();
      if (security.seccompSource !== defaultSeccompProfile) plan.noTiocsti();
      prepared = prepareStdio(r.stdio);
      const { pairs } = prepared;
      const io = () => {
        plan.fds(pairs);
        if (o.cwd !== undefined) plan.chdir(o.cwd, true, o.cwdOptional === true);
      };
      addBeforeCredentials(plan, security, io);
      if (o.groups !== undefined) plan.setgroups(o.groups);
      if (o.gid !== undefined) plan.setgid(o.gid);
      if (o.uid !== undefined) plan.setuid(o.uid);
      addAfterCredentials(plan, security);
      if (!filtersEarly(security)) io();
      if (o.dieWithParent ?? true) plan.pdeathsig(osConstants.signals.SIGKILL);
      addLast(plan, security);
      // Through the sealed exec stub where the command could write Node's binary (exec-stub.ts):
      // a run's user namespaces map onto the template's ids.
      const stub = needsExecStub(
        true,
        tc.maps !== null
          ? { kind: 'new', uidMap: tc.maps.uidMap, gidMap: tc.maps.gidMap }
          : { kind: 'ours', uid: o.uid ?? process.geteuid!(), dacCaps: dacAmbient(security.caps?.ambient) },
      );
      plan.exec(r.file, !r.file.includes('/'), r.argv, r.env, stub);
      const p = plan.build();
      // As root, the run's user namespace gets the id block's maps from this process (MSG_MAPS).
      const maps = this.#l.outerInit && this.#l.inner ? tc.maps : null;
      const held = prepared;
      // The id block stays the template's until its last run has exited, even after close():
      // a block handed to another sandbox while a run still has its uids would share them. A
      // run counts from before its clone (spawnAsync's may still be set up when close() runs).
      this.#live++;
      live = true;
      const finish = (res: NativeSpawnResult): NsboxChild => {
        handedOff = true;
        try {
          if (!res.ok) throw spawnFailure(res, p, r);
          const child = adopt(res, held, r, undefined, undefined);
          void child.exited.then(() => this.#runEnded());
          return child;
        } catch (err) {
          releaseStdio(held, true);
          this.#runEnded();
          throw err;
        }
      };
      return launch(p, maps, parent, finish, r);
    } catch (err) {
      if (!handedOff) {
        if (prepared) releaseStdio(prepared, true);
        if (live) this.#runEnded();
      }
      throw err;
    } finally {
      pooled?.close();
      if (cgroupFd >= 0) closeSync(cgroupFd);
    }
  }

  /**
   * Releases the template: closes the namespace fds it pinned (the kernel frees the mount tree
   * once no run still uses it) and returns its id block once its last run has exited. Runs
   * already started go on. Idempotent;
   * afterwards {@link SandboxTemplate.spawn} throws `ERR_HANDLE_CLOSED`. Never blocks.
   */
  close(): void {
    const ns = this.#ns;
    if (ns === undefined) return;
    this.#ns = undefined;
    ns.outer?.close();
    ns.mnt.close();
    if (this.#live === 0) this.#releaseRange();
  }

  /** A run has exited (or failed to start): the last one after close() returns the id block. */
  #runEnded(): void {
    this.#live--;
    if (this.#live === 0 && this.#ns === undefined) this.#releaseRange();
  }

  #releaseRange(): void {
    this.#range?.release();
    this.#range = undefined;
  }

  /** {@link SandboxTemplate.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** {@link SandboxTemplate.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/**
 * Prepares a sandbox once: clone3(2) of a setup child that builds the container's root as
 * spawn does (rootfs or layers, default mounts, volumes, masked and read-only paths,
 * pivot_root(2)), makes the whole tree read-only (mount_setattr(2) AT_RECURSIVE), then each
 * read-write volume's own mount and the host submounts it brought in writable again where the
 * host has them read-write (one by one, from this process's /proc/self/mountinfo: what the
 * template mounted under a volume stays read-only), and hands its mount namespace and user
 * namespaces to this process (opened from /proc/PID/ns while it waits), then exits. The
 * seccomp profile is compiled and the capability sets resolved here, once. Each
 * {@link SandboxTemplate.spawn} then only copies the mount tree and makes the per-run
 * namespaces and mounts.
 *
 * Replaces building the same `bwrap`/`spawn()` container for every run of a judge, a code
 * runner or a test farm.
 *
 * Privileges: as spawn with `rootfs` and the same namespaces: none with `'user'` (rootless);
 * root for an id block (the default as root) or for no user namespace.
 * Blocking: the calling thread waits for the setup child (a container spawn's time, ~2 ms).
 * @throws `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE` for bad options,
 *   before any syscall (a non-bind mount, namespaces without 'mnt' or 'pid', an unknown key);
 *   {@link SysError} naming the failing `step` of the setup ('rootfs', 'proc', 'template',
 *   'lock-mounts', …). Nothing is left behind on failure: the setup child is reaped, every fd
 *   closed, the id block released.
 */
export function template(options: TemplateOptions): SandboxTemplate {
  const t = checkTemplate(options);
  const { c } = t;
  const l = layout(c.newNs, c.maps, t.o.lockMounts);
  let range: IdRange | undefined;
  const pinned: Namespace[] = [];
  try {
    if (c.maps?.auto) {
      range = claimIdRange();
      c.maps.uidMap = c.maps.gidMap = `0 ${range.base} ${range.count}\n`;
      l.owner = range.base;
    }
    const plan = new PlanBuilder();
    addSetupSteps(plan, l, c.container!, c.maps);
    const p = plan.build();
    const r = native.spawn(p.ops, p.strings, l.outerUser ? c.maps : null, undefined, undefined);
    if (!r.ok) throw spawnFailure(r, p, c); // the pinned fds were closed by the native side
    native.killReap(r.pidfd); // it has exited (the plan ends without exec): reap it
    for (const fd of r.pinned ?? []) pinned.push(adoptNamespaceFd(fd));
    const want = 1 + (l.outerUser ? 1 : 0);
    if (pinned.length !== want)
      throw nsboxError('ERR_NSBOX_UNSUPPORTED', `template setup pinned ${pinned.length} namespaces, expected ${want}`);
    const [mnt, outer] = pinned;
    const ns = { mnt: mnt!, outer: l.outerUser ? outer : undefined };
    const tpl = new SandboxTemplate(kToken, l, ns, range, t);
    range = undefined;
    pinned.length = 0;
    return tpl;
  } finally {
    for (const n of pinned) n.close();
    range?.release();
  }
}
