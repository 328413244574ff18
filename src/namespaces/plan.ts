/**
 * The spawn plan: an ordered list of steps that the child runs between clone3(2) and
 * execve(2), serialised here once and executed natively with async-signal-safe code only
 * (csrc/plan.h, csrc/child.cc). Each step remembers how to describe its failure, so a
 * `(step index, errno)` from the child becomes a full {@link SysError}.
 *
 * Later capabilities (mounts, pivot_root, cgroup placement, capabilities, seccomp,
 * landlock) are new opcodes plus a builder method here; nothing else changes.
 * @internal
 * @module
 */
import { K } from '../native.js';
import type { ResolvedLandlock } from '../security/landlock.js';
import type { CheckedHook } from './hooks.js';

/** How a failed step is reported. @internal */
export interface StepInfo {
  /** The step's name as `SysError.step` shows it. */
  readonly step: string;
  /** The syscall that failed. */
  readonly syscall: string;
  readonly path?: string;
  /** A step with several items (landlock's rules): the path of each, by the index the child reports. */
  readonly paths?: ReadonlyArray<string | undefined>;
  /** An OP_HOOK: its failure carries a status (hooks.ts hookFailure); its timeout in milliseconds, 0 for none. */
  readonly hook?: { readonly timeout: number };
}

/** The serialised plan handed to native spawn. @internal */
export interface SerializedPlan {
  readonly ops: Int32Array;
  readonly strings: Buffer;
  readonly steps: readonly StepInfo[];
}

/** A 64-bit mask as two int32 words, low first. */
function words64(v: bigint): [number, number] {
  return [Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n))];
}

/** Builds a plan; every method appends one step. @internal */
export class PlanBuilder {
  cloneFlags = 0;
  cgroupFd = -1;
  private readonly words: number[] = [];
  private readonly texts: string[] = [];
  private strBytes = 0;
  private readonly infos: StepInfo[] = [];

  private str(s: string): number {
    const off = this.strBytes;
    this.texts.push(s);
    this.strBytes += Buffer.byteLength(s, 'utf8') + 1;
    return off;
  }

  private push(op: number, args: ArrayLike<number>, info: StepInfo): this {
    const w = this.words;
    w.push(op, args.length);
    // A loop, not a spread: a step's arguments can be a seccomp program's ~400 words, and the
    // first spread of a run's plan is cold code (this path runs once per process in the CLI).
    for (let i = 0; i < args.length; i++) w.push(args[i]!);
    this.infos.push(info);
    return this;
  }

  setns(fd: number, nstype: number, type: string): this {
    return this.push(K.OP.SETNS!, [fd, nstype], { step: `setns:${type}`, syscall: 'setns' });
  }
  /** A template's setup: the parent opens and keeps our namespace of kind `nstype` (CLONE_NEWUSER or CLONE_NEWNS). */
  pin(nstype: number): this {
    return this.push(K.OP.PIN!, [nstype], { step: 'template', syscall: 'open' });
  }
  /**
   * For the parent only (the child skips it): once the command has exec'd, hold its mount
   * namespace until its exit has been seen, then release it off the JS thread (csrc/exit_pin.h).
   */
  exitPin(): this {
    return this.push(K.OP.EXIT_PIN!, [], { step: 'exit-pin', syscall: 'ioctl' });
  }
  /** A template's run: setns(2) into its pinned namespace `fd` of kind `nstype`, keeping a shared mm. */
  enter(fd: number, nstype: number, type: string): this {
    return this.push(K.OP.ENTER!, [fd, nstype], { step: `setns:${type}`, syscall: 'setns' });
  }
  unshare(flags: number): this {
    return this.push(K.OP.UNSHARE!, [flags], { step: 'unshare', syscall: 'unshare' });
  }
  usernsSync(): this {
    return this.push(K.OP.USERNS_SYNC!, [], { step: 'idmap', syscall: 'write' });
  }
  /** `vm`: the new process shares our memory (CLONE_VM) and goes on with the next step on its own part of the stack. */
  fork(flags: number, vm = false): this {
    return this.push(K.OP.FORK!, vm ? [flags, 1] : [flags], { step: 'fork', syscall: 'clone3' });
  }
  setsid(): this {
    return this.push(K.OP.SETSID!, [], { step: 'setsid', syscall: 'setsid' });
  }
  setpgid(pgid: number): this {
    return this.push(K.OP.SETPGID!, [pgid], { step: 'setpgid', syscall: 'setpgid' });
  }
  sethostname(name: string): this {
    return this.push(K.OP.SETHOSTNAME!, [this.str(name)], { step: 'hostname', syscall: 'sethostname' });
  }
  setdomainname(name: string): this {
    return this.push(K.OP.SETDOMAINNAME!, [this.str(name)], { step: 'domainname', syscall: 'setdomainname' });
  }
  setgroups(gids: readonly number[]): this {
    return this.push(K.OP.SETGROUPS!, [gids.length, ...gids], { step: 'groups', syscall: 'setgroups' });
  }
  setgid(gid: number): this {
    return this.push(K.OP.SETGID!, [gid], { step: 'gid', syscall: 'setresgid' });
  }
  setuid(uid: number): this {
    return this.push(K.OP.SETUID!, [uid], { step: 'uid', syscall: 'setresuid' });
  }
  /**
   * `inRoot`: resolved with openat2 RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS, then fchdir.
   * `optional`: a directory that cannot be entered leaves the cwd as it is.
   */
  chdir(path: string, inRoot = false, optional = false): this {
    return this.push(K.OP.CHDIR!, [this.str(path), (inRoot ? 1 : 0) | (optional ? 2 : 0)], { step: 'cwd', syscall: 'chdir', path });
  }
  /** Nested user + mount namespace whose maps are `uidMap`/`gidMap` (identity lines): locks every mount. */
  lock(uidMap: string, gidMap: string, net?: { sysfsMasks?: readonly string[]; sysctl?: ReadonlyArray<readonly [string, string]> }): this {
    const args = [this.str(uidMap), this.str(gidMap)];
    let info: StepInfo = { step: 'lock-mounts', syscall: 'unshare' };
    // net: a network namespace owned by the nested user namespace, with its net.* sysctls
    // (paths under /proc/sys); with sysfsMasks, its fresh sysfs on /sys with those
    // directories masked (mounted before the lock). A failing sysctl is named by its path.
    if (net) {
      const sysctl = net.sysctl ?? [];
      const text = sysctl.map(([path, value]) => `${path.replace(/^\/proc\/sys\//, '')}\n${value}\n`).join('');
      args.push(net.sysfsMasks ? 2 : 1, this.str((net.sysfsMasks ?? []).join(':')), this.str(text));
      if (sysctl.length > 0) info = { ...info, paths: sysctl.map(([path]) => path) };
    }
    return this.push(K.OP.LOCK!, args, info);
  }
  /**
   * A template's run: a new user namespace whose maps are `uidMap`/`gidMap`, written by OP_LOCK's
   * helper, without a mount or network namespace (the run's mounts stay its outer namespace's).
   */
  userOnly(uidMap: string, gidMap: string): this {
    return this.push(K.OP.LOCK!, [this.str(uidMap), this.str(gidMap), 3, this.str(''), this.str('')], {
      step: 'userns',
      syscall: 'unshare',
    });
  }
  /** `lo`: bring lo up (ioctl SIOCSIFFLAGS); `wait`: the parent then configures the namespace. */
  network(lo: boolean, wait: boolean): this {
    return this.push(K.OP.NETWORK!, [lo ? 1 : 0, wait ? 1 : 0], { step: 'network', syscall: 'ioctl' });
  }
  /** prctl(PR_SET_DUMPABLE). Needs a child with its own mm (spawn.cc sees the step). */
  dumpable(on: boolean): this {
    return this.push(K.OP.DUMPABLE!, [on ? 1 : 0], { step: 'dumpable', syscall: 'prctl' });
  }
  /** keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL): a new anonymous session keyring. */
  keyring(): this {
    return this.push(K.OP.KEYRING!, [], { step: 'session-keyring', syscall: 'keyctl' });
  }
  /** A seccomp filter that fails ioctl TIOCSTI and TIOCLINUX with EPERM. */
  noTiocsti(): this {
    return this.push(K.OP.NO_TIOCSTI!, [], { step: 'no-tiocsti', syscall: 'seccomp' });
  }
  /** The parent applies rlimits (prlimit(2)) and oom_score_adj to the child, which waits for it. */
  parent(): this {
    return this.push(K.OP.PARENT!, [], { step: 'rlimits', syscall: 'prlimit64' });
  }
  /** prctl(PR_SET_NO_NEW_PRIVS, 1). */
  noNewPrivs(): this {
    return this.push(K.OP.NO_NEW_PRIVS!, [], { step: 'no-new-privileges', syscall: 'prctl' });
  }
  /** Drops every bounding capability up to `last` not in `keep`, then PR_SET_KEEPCAPS. */
  capBound(keep: bigint, last: number): this {
    return this.push(K.OP.CAP_BOUND!, [...words64(keep), last], { step: 'capabilities', syscall: 'prctl' });
  }
  /** capset(2) of effective/permitted/inheritable, KEEPCAPS off, then the ambient set. */
  capset(eff: bigint, perm: bigint, inh: bigint, amb: bigint, last: number): this {
    const args = [...words64(eff), ...words64(perm), ...words64(inh), ...words64(amb), last];
    return this.push(K.OP.CAPSET!, args, { step: 'capabilities', syscall: 'capset' });
  }
  umask(mask: number): this {
    return this.push(K.OP.UMASK!, [mask], { step: 'umask', syscall: 'umask' });
  }
  personality(persona: number): this {
    return this.push(K.OP.PERSONALITY!, [persona | 0], { step: 'personality', syscall: 'personality' });
  }
  /** seccomp(SECCOMP_SET_MODE_FILTER, flags, program): `program` is struct sock_filter[], host order. */
  seccomp(flags: number, program: Uint8Array): this {
    const n = program.byteLength / 8;
    const copy = new Uint8Array(program); // aligned for the Int32Array view
    const args = new Int32Array(n * 2 + 2);
    args[0] = flags;
    args[1] = n;
    args.set(new Int32Array(copy.buffer, 0, n * 2), 2);
    return this.push(K.OP.SECCOMP!, args, { step: 'seccomp', syscall: 'seccomp' });
  }
  /** Writes `value` to `path` (/proc/sys/…), resolved inside the new root when `inRoot`. */
  sysctl(path: string, value: string, inRoot: boolean): this {
    return this.push(K.OP.SYSCTL!, [this.str(path), this.str(value), inRoot ? 1 : 0], { step: 'sysctl', syscall: 'open', path });
  }
  /** landlock_create_ruleset, a rule per path and port, landlock_restrict_self (csrc/plan.h OP_LANDLOCK). */
  landlock(l: ResolvedLandlock): this {
    const w = (m: number): number[] => [m | 0, Math.floor(m / 2 ** 32) | 0];
    const args = [...w(l.handledFs), ...w(l.handledNet), ...w(l.scoped), l.flags | 0, l.fs.length, l.net.length];
    for (const r of l.fs) args.push(this.str(r.path), r.optional ? 1 : 0, ...w(r.access));
    for (const r of l.net) args.push(r.port, ...w(r.access));
    const paths = [...l.fs.map((r) => r.path), ...l.net.map(() => undefined)];
    return this.push(K.OP.LANDLOCK!, args, { step: 'landlock', syscall: 'landlock_restrict_self', paths });
  }
  /** `pairs`: [target, source] fd pairs; every other fd is closed. */
  fds(pairs: ReadonlyArray<readonly [number, number]>): this {
    const flat = pairs.flat();
    return this.push(K.OP.FDS!, [pairs.length, ...flat], { step: 'stdio', syscall: 'dup3' });
  }
  /**
   * A controlling terminal: `mode` TTY_STDIN (fd 0 is the slave) or TTY_NEW (a pty made by
   * the child from its /dev/ptmx; its master goes to the parent), `size` rows | cols << 16,
   * `as`: the fsuid and fsgid /dev/ptmx is opened with (the command's, when made before setuid),
   * which devpts gives the slave. TTY_CONSOLE is TTY_NEW with the slave also bound onto
   * /dev/console; it needs the capabilities the setup holds.
   */
  terminal(mode: 'stdin' | 'new' | 'console', size = 0, as?: { uid?: number | undefined; gid?: number | undefined }): this {
    if (mode === 'stdin') return this.push(K.OP.TERMINAL!, [K.TTY_STDIN, 0], { step: 'terminal', syscall: 'ioctl' });
    const id = (v: number | undefined) => (v === undefined ? -1 : v | 0);
    if (mode === 'new') {
      const args = as === undefined ? [K.TTY_NEW, size] : [K.TTY_NEW, size, id(as.uid), id(as.gid)];
      return this.push(K.OP.TERMINAL!, args, { step: 'terminal', syscall: 'ioctl', path: '/dev/ptmx' });
    }
    // Item 0 (csrc/child_tty.cc): the /dev/console bind.
    return this.push(K.OP.TERMINAL!, [K.TTY_CONSOLE, size, id(as?.uid), id(as?.gid)], {
      step: 'terminal',
      syscall: 'ioctl',
      path: '/dev/ptmx',
      paths: ['/dev/console'],
    });
  }
  pdeathsig(signal: number): this {
    return this.push(K.OP.PDEATHSIG!, [signal], { step: 'die-with-parent', syscall: 'prctl' });
  }
  /**
   * The child becomes an init (csrc/child_init.cc): non-dumpable, it starts the command (the
   * exec step, which must follow) in a child, forwards signals to it, reaps orphans, and
   * exits with its status. Its failures name the syscall by the child's sysid.
   * `dropCopy`: once the command has exec'd, the init unmaps its copy of Node's memory (all
   * but its stack and the addon's code), with munmap(2) and rseq(2): only where no seccomp
   * filter may refuse those (a refusal by SCMP_ACT_KILL would kill the init).
   * `exec`: spawn may run the init image (csrc/init_image.cc) with execveat(2) instead of
   * forking this process, when nothing else needs the fork (no gate, no hook of the child's,
   * a user namespace not joined, no other uid taken in ours) and a memfd can be executed.
   */
  init(dropCopy = false, exec = false): this {
    return this.push(K.OP.INIT!, exec ? [dropCopy ? 1 : 0, 1] : dropCopy ? [1] : [], { step: 'init', syscall: 'clone' });
  }
  /**
   * The create/start gate (csrc/child_gate.cc): spawn makes a listening socket at `path`; the
   * child resolves the command, reports, and waits for a start. Only the filters and the exec
   * step may follow.
   */
  gate(path: string): this {
    return this.push(K.OP.GATE!, [this.str(path)], { step: 'start-gate', syscall: 'accept4', path });
  }
  /**
   * A hook (csrc/child_hook.cc): `where` K.HOOK_HERE (the child, at its root as it is),
   * K.HOOK_HOST (the child, chroot(2)ed into the caller's root: before pivot_root) or
   * K.HOOK_CALLER (run by the parent). `step`: its name, `hooks.KIND[index]`.
   */
  hook(kind: string, index: number, h: CheckedHook, where: number): this {
    const args = [
      index,
      where,
      h.timeout,
      h.pid ? 1 : 0,
      this.str(h.before),
      this.str(h.after),
      this.str(h.path),
      h.argv.length,
      ...h.argv.map((a) => this.str(a)),
      h.env.length,
      ...h.env.map((e) => this.str(e)),
    ];
    return this.push(K.OP.HOOK!, args, { step: `hooks.${kind}[${index}]`, syscall: 'execve', path: h.path, hook: { timeout: h.timeout } });
  }
  /** `env` null: the environment of this process when the plan is parsed (plan.h kEnvInherit). */
  exec(file: string, search: boolean, argv: readonly string[], env: readonly string[] | null, stub = false): this {
    const envWords = env === null ? [K.ENV_INHERIT] : [env.length, ...env.map((e) => this.str(e))];
    // Bit 1: through the exec stub (csrc/child.cc ExecStep; exec-stub.ts says when).
    const args = [this.str(file), (search ? 1 : 0) | (stub ? 2 : 0), argv.length, ...argv.map((a) => this.str(a)), ...envWords];
    return this.push(K.OP.EXEC!, args, { step: 'exec', syscall: 'execve', path: file });
  }

  /** Private tree, tmpfs base at `stage`, host root at /oldroot (child_fs.cc). */
  fsBase(stage: string): this {
    return this.push(K.OP.FS_BASE!, [this.str(stage)], { step: 'rootfs', syscall: 'mount', path: stage });
  }
  /** mount(2) onto `dst` (in the new root when `mode` has MNT_DST_IN_ROOT). */
  mount(
    src: string | null,
    dst: string,
    fstype: string | null,
    flags: number,
    data: string | null,
    mode: number,
    step: string,
    path?: string,
  ): this {
    const args = [
      src === null ? -1 : this.str(src),
      this.str(dst),
      fstype === null ? -1 : this.str(fstype),
      flags | 0,
      data === null ? -1 : this.str(data),
      mode,
    ];
    return this.push(K.OP.MOUNT!, args, { step, syscall: 'mount', path: path ?? dst });
  }
  mknod(dst: string, mode: number, major: number, minor: number): this {
    return this.push(K.OP.MKNOD!, [this.str(dst), mode, major, minor], { step: 'dev', syscall: 'mknodat', path: dst });
  }
  symlink(target: string, dst: string, step: string): this {
    return this.push(K.OP.SYMLINK!, [this.str(target), this.str(dst)], { step, syscall: 'symlinkat', path: dst });
  }
  /** `nodename`: the child's uts nodename (uname(2)) and a newline follow `content`. */
  writeFile(path: string, content: string, mode: number, step: string, nodename = false): this {
    return this.push(K.OP.WRITE_FILE!, [this.str(path), this.str(content), mode | (nodename ? K.PLAN_WRITE_NODENAME : 0)], {
      step,
      syscall: 'write',
      path,
    });
  }
  /** mount_setattr(2) of `dst`: attributes set and cleared, and `propagation` (one MS_* flag, or none). */
  setattr(dst: string, set: number, clear: number, mode: number, step: string, propagation?: number): this {
    const args = [this.str(dst), set, clear, mode, ...(propagation === undefined ? [] : [propagation])];
    return this.push(K.OP.SETATTR!, args, { step, syscall: 'mount_setattr', path: dst });
  }
  /** mount(NULL, "/", NULL, MS_REC|flag): the propagation of the whole new mount tree. */
  propagation(flag: number): this {
    return this.push(K.OP.PROPAGATION!, [flag], { step: 'propagation', syscall: 'mount', path: '/' });
  }
  /** mkdir -p; with `owner`, the last directory is then chowned to that host uid and gid. */
  mkdir(path: string, mode: number, step: string, owner?: number): this {
    const args = [this.str(path), mode, ...(owner === undefined ? [] : [owner | 0, owner | 0])];
    return this.push(K.OP.MKDIR!, args, { step, syscall: owner === undefined ? 'mkdirat' : 'fchownat', path });
  }
  /** `keepProc`: keep an fd on the child's /proc/PID for a later {@link lock}. */
  pivot(keepProc = false): this {
    return this.push(K.OP.PIVOT!, [keepProc ? 1 : 0], { step: 'pivot_root', syscall: 'pivot_root', path: '/' });
  }

  build(): SerializedPlan {
    const lo = this.cloneFlags >>> 0;
    const hi = Math.floor(this.cloneFlags / 2 ** 32) >>> 0;
    const header = [K.PLAN_VERSION, lo | 0, hi | 0, this.cgroupFd, this.infos.length];
    const ops = new Int32Array(header.length + this.words.length);
    ops.set(header);
    ops.set(this.words, header.length); // the builtin copy: no spread of the whole plan
    return {
      ops,
      strings: Buffer.from(this.texts.length ? `${this.texts.join('\0')}\0` : '', 'utf8'),
      steps: this.infos,
    };
  }
}
