/**
 * The only file that loads the addon. It declares the whole native contract as one typed
 * interface and casts once; nothing else touches the raw binding.
 *
 * fds cross this boundary as plain numbers; the public API wraps every one of them in an
 * object with `close()` (STYLE.md: fds never appear as bare numbers in the public API).
 * @internal
 * @module
 */
import { join } from 'node:path';
import { PACKAGE_ROOT, dlopenOnce, localAddon } from './dlopen.js';
import { SysError, nsboxError } from './errors.js';
import type { Features } from './features.js';

/** Numbers from the kernel headers, exported by csrc/constants.cc. @internal */
export interface NativeConstants {
  readonly CLONE_NEWUSER: number;
  readonly CLONE_NEWPID: number;
  readonly CLONE_NEWNS: number;
  readonly CLONE_NEWUTS: number;
  readonly CLONE_NEWIPC: number;
  readonly CLONE_NEWNET: number;
  readonly CLONE_NEWCGROUP: number;
  readonly CLONE_NEWTIME: number;
  readonly MS_BIND: number;
  readonly MS_REC: number;
  readonly MS_SHARED: number;
  readonly MS_PRIVATE: number;
  readonly MS_SLAVE: number;
  readonly MS_UNBINDABLE: number;
  readonly MS_RDONLY: number;
  readonly MS_NOSUID: number;
  readonly MS_NODEV: number;
  readonly MS_NOEXEC: number;
  readonly MS_REMOUNT: number;
  readonly MNT_DETACH: number;
  readonly MNT_FORCE: number;
  readonly MNT_EXPIRE: number;
  readonly UMOUNT_NOFOLLOW: number;
  /** Spawn-plan opcodes shared with csrc/plan.h. */
  readonly OP: Readonly<Record<string, number>>;
  /** The syscall a failing step's SysId names (csrc/plan.h), by number. */
  readonly SYSID: Readonly<Record<number, string>>;
  /** csrc/plan.h kSysItemShift: the failing item of a multi-item step sits above the SysId. */
  readonly SYS_ITEM_SHIFT: number;
  /** Signal numbers by name: the names and order of os.constants.signals, without loading node:os. */
  readonly SIGNAL: Readonly<Record<NodeJS.Signals, number>>;
  /** The errnos the spawn path branches on. */
  readonly ERRNO: {
    readonly ESRCH: number;
    readonly ENOSYS: number;
    readonly ENOENT: number;
    readonly EINVAL: number;
    readonly ENOTTY: number;
    readonly EOPNOTSUPP: number;
  };
  /** Capability numbers by kernel name (`CAP_SYS_ADMIN`), from the build's headers. */
  readonly CAP: Readonly<Record<string, number>>;
  /** RLIMIT_* resource numbers by name. */
  readonly RLIMIT: Readonly<Record<string, number>>;
  /** personality(2) domains (PER_LINUX, PER_LINUX32) and flags (ADDR_NO_RANDOMIZE…). */
  readonly PERSONALITY: Readonly<Record<string, number>>;
  readonly SECCOMP_FILTER_FLAG_NEW_LISTENER: number;
  /** OP_TERMINAL modes (csrc/plan.h TerminalMode). */
  readonly TTY_STDIN: number;
  readonly TTY_NEW: number;
  readonly TTY_CONSOLE: number;
  /** OP_HOOK places (csrc/plan.h HookWhere). */
  readonly HOOK_HERE: number;
  readonly HOOK_HOST: number;
  readonly HOOK_CALLER: number;
  /** Version of the spawn-plan wire format (csrc/plan.h). */
  readonly PLAN_VERSION: number;
  /** OP_EXEC's envc for the process's own environment, read when the plan is parsed. */
  readonly ENV_INHERIT: number;
  /** OP_MOUNT mode bits (csrc/plan.h MountMode). */
  readonly PLAN_MOUNT: Readonly<
    Record<
      | 'MNT_DST_IN_ROOT'
      | 'MNT_MKDIR'
      | 'MNT_MKFILE'
      | 'MNT_OPTIONAL'
      | 'MNT_RDONLY'
      | 'MNT_RECURSIVE'
      | 'MNT_SRC_OPTIONAL'
      | 'MNT_FROM_TREE'
      | 'MNT_SRC_SELF'
      | 'MNT_FROM_FD'
      | 'MNT_COPYUP'
      | 'MNT_COPYUP_MODE'
      | 'MNT_SRC_NULL'
      | 'MNT_ANCHOR'
      | 'MNT_IN_ANCHOR'
      | 'MNT_DST_PROCFS',
      number
    >
  >;
  /** OP_WRITE_FILE mode bit: append the child's uts nodename and a newline (csrc/plan.h WriteMode). */
  readonly PLAN_WRITE_NODENAME: number;
  readonly MS_NOATIME: number;
  readonly MS_RELATIME: number;
  readonly MS_STRICTATIME: number;
  readonly MS_NODIRATIME: number;
  readonly MOUNT_ATTR_RDONLY: number;
  readonly MOUNT_ATTR_NOSUID: number;
  readonly MOUNT_ATTR_NODEV: number;
  readonly MOUNT_ATTR_NOEXEC: number;
  /**
   * ioctl(pidfd, PIDFD_GET_*_NAMESPACE) request of each /proc/PID/ns file (Linux 6.11,
   * include/uapi/linux/pidfd.h).
   */
  readonly PIDFD_GET_NS: Readonly<
    Record<'user' | 'pid' | 'mnt' | 'net' | 'uts' | 'ipc' | 'cgroup' | 'time' | 'pid_for_children' | 'time_for_children', number>
  >;
  /** Landlock uapi bits (csrc/landlock.h): `ACCESS_FS_*`, `ACCESS_NET_*`, `SCOPE_*`, `RESTRICT_SELF_*`. */
  readonly LANDLOCK: Readonly<Record<string, number>>;
}

/**
 * What features.cc probes once; src/features.ts documents, caches and freezes it.
 * Each boolean says the kernel has the interface (the syscall answered with something other
 * than ENOSYS/ENOTTY), not that this process may use it for everything.
 * @internal
 */
export type NativeFeatures = Pick<
  Features,
  | 'clone3'
  | 'cloneIntoCgroup'
  | 'pidfd'
  | 'pidfdSendSignal'
  | 'closeRange'
  | 'timeNamespace'
  | 'newMountApi'
  | 'mountSetattr'
  | 'openat2'
  | 'userNamespaces'
  | 'nsGetIoctls'
  | 'euid'
  | 'egid'
  | 'landlock'
> & {
  /** 0 when a user namespace could be created, else the positive errno clone(CLONE_NEWUSER) gave. */
  readonly userNamespacesErrno: number;
};

/** Numbers from the kernel's mount headers, exported by csrc/mount.cc. @internal */
export interface NativeMountConstants {
  readonly MS_RDONLY: number;
  readonly MS_NOSUID: number;
  readonly MS_NODEV: number;
  readonly MS_NOEXEC: number;
  readonly MS_SYNCHRONOUS: number;
  readonly MS_REMOUNT: number;
  readonly MS_DIRSYNC: number;
  readonly MS_NOSYMFOLLOW: number;
  readonly MS_NOATIME: number;
  readonly MS_NODIRATIME: number;
  readonly MS_BIND: number;
  readonly MS_REC: number;
  readonly MS_SILENT: number;
  readonly MS_RELATIME: number;
  readonly MS_STRICTATIME: number;
  readonly MS_LAZYTIME: number;
  readonly MS_PRIVATE: number;
  readonly MS_SLAVE: number;
  readonly MS_SHARED: number;
  readonly MS_UNBINDABLE: number;
  readonly MNT_FORCE: number;
  readonly MNT_DETACH: number;
  readonly MNT_EXPIRE: number;
  readonly UMOUNT_NOFOLLOW: number;
  readonly MOUNT_ATTR_RDONLY: number;
  readonly MOUNT_ATTR_NOSUID: number;
  readonly MOUNT_ATTR_NODEV: number;
  readonly MOUNT_ATTR_NOEXEC: number;
  readonly MOUNT_ATTR__ATIME: number;
  readonly MOUNT_ATTR_RELATIME: number;
  readonly MOUNT_ATTR_NOATIME: number;
  readonly MOUNT_ATTR_STRICTATIME: number;
  readonly MOUNT_ATTR_NODIRATIME: number;
  readonly MOUNT_ATTR_IDMAP: number;
  readonly MOUNT_ATTR_NOSYMFOLLOW: number;
  readonly FSCONFIG_SET_FLAG: number;
  readonly FSCONFIG_SET_STRING: number;
  readonly FSCONFIG_SET_PATH: number;
  readonly FSCONFIG_CMD_CREATE: number;
  readonly FSCONFIG_CMD_RECONFIGURE: number;
  readonly OPEN_TREE_CLONE: number;
  readonly AT_RECURSIVE: number;
  readonly AT_EMPTY_PATH: number;
  readonly RESOLVE_IN_ROOT: number;
  readonly RESOLVE_NO_MAGICLINKS: number;
  readonly RESOLVE_NO_SYMLINKS: number;
  readonly RESOLVE_NO_XDEV: number;
  readonly RESOLVE_BENEATH: number;
  readonly O_PATH: number;
  readonly O_DIRECTORY: number;
  readonly O_NOFOLLOW: number;
}

/** A pseudo-file (cgroup events file, PSI trigger, /proc/PID/mountinfo) polled for POLLPRI in this thread's event loop (csrc/filewatch.cc). @internal */
export interface NativeFileWatch {
  /** Stops polling and closes the fd (which removes a PSI trigger); idempotent. */
  close(): void;
  /** uv_ref/uv_unref of the poll handle. */
  ref(on: boolean): void;
  /** The datagrams (and receive errors, as errno numbers) queued now, read without waiting for the loop. */
  receiveNow(): Array<Buffer | number>;
}

/** What the parent applies to the child at OP_PARENT (csrc/spawn_maps.cc ApplyParentSide). @internal */
export interface SpawnParentSide {
  /** (resource, soft, hard) triples for prlimit(2). */
  readonly rlimits?: BigUint64Array;
  /** Written to /proc/PID/oom_score_adj. */
  readonly oomScoreAdj?: number;
}

/**
 * Result of a native spawn: either a started child or the failing step (-1: clone3; -2: the
 * status protocol broke, the child was killed and reaped; `syscall` says which call). @internal
 */
export type NativeSpawnResult =
  | { ok: true; pid: number; pidfd: number; listener?: number; gated?: true; terminal?: number; pinned?: number[] }
  | { ok: false; step: number; errno: number; pid: number; sysid?: number; syscall?: string; path?: string; stderr?: string };

/** A pidfd watcher (csrc/pidfd.cc): owns the pidfd, polls it in the event loop. @internal */
export interface NativeChildWatch {
  /** pidfd_send_signal(2); returns 0 or a positive errno (ESRCH once exited). */
  kill(signal: number): number;
  /** uv_ref/uv_unref of the poll handle. */
  ref(on: boolean): void;
  /** The datagrams (and receive errors, as errno numbers) queued now, read without waiting for the loop. */
  receiveNow(): Array<Buffer | number>;
  /** Stops watching and closes the pidfd without reaping (the child is left to our subreaper). */
  release(): void;
  readonly pid: number;
  /** The pidfd, lent for a synchronous call; -1 once the watch has stopped (exit seen, or released). */
  readonly fd: number;
}

/** A seccomp user-notification fd polled by this environment's loop (csrc/seccomp_notify.cc). @internal */
export interface NativeSeccompListener {
  /** SECCOMP_IOCTL_NOTIF_SEND: 0 or a positive errno. */
  respond(id: bigint, value: bigint, error: number, flags: number): number;
  /** SECCOMP_IOCTL_NOTIF_ID_VALID: 0 while the target waits, else a positive errno. */
  idValid(id: bigint): number;
  /** SECCOMP_IOCTL_NOTIF_ADDFD: the fd number in the target, or -errno. */
  addFd(id: bigint, srcfd: number, newfd: number, flags: number, newfdFlags: number): number;
  close(): void;
  ref(on: boolean): void;
  /** The listener's fd number while open, else -1 (this object still owns it). */
  fd(): number;
}

/** A NETLINK_ROUTE socket polled by this environment's loop (csrc/netlink.cc). @internal */
export interface NativeNetlinkSocket {
  /** sendto(2) to the kernel: 0 or a positive errno (EBADF once closed). */
  send(message: Buffer): number;
  /** Stops polling and closes the socket; idempotent. */
  close(): void;
  /** Stops polling and closes the socket on a detached thread (close(2) of an nf_tables socket may wait for an RCU grace period). */
  closeDetached(): void;
  /**
   * uv_ref/uv_unref of the poll handle. A socket in no multicast group is polled from its
   * first ref(true) on; a positive errno if that polling could not start.
   */
  ref(on: boolean): number | undefined;
  /** The datagrams (and receive errors, as errno numbers) queued now, read without waiting for the loop. */
  receiveNow(): Array<Buffer | number>;
  /** The port id the kernel bound (sockaddr_nl.nl_pid). */
  readonly portId: number;
}

/** What csrc/startup_files.cc reads of a stat(2). @internal */
export type StatNumbers = [mode: number, uid: number, size: number, mtimeSec: number, mtimeNsec: number, ino: number, dev: number];

/** The complete native contract. @internal */
export interface NativeBinding {
  setErrorFactory(factory: (errno: number, syscall: string, path?: string, dest?: string) => Error): void;

  // startup_files.cc: the linked bins' loader's readers (src/oci/runtime/linked.ts); undefined for
  // anything but a readable regular file (the source as UTF-8 text; a cache owned by the euid or `owner`,
  // writable by no one else, starting with `header`, a decimal generation and a newline)
  readLinkedSource(path: string): [source: string, ...stat: StatNumbers] | undefined;
  readLinkedCache(path: string, header: string, owner: number): [data: Buffer, generation: number] | undefined;
  /**
   * A seccomp store entry (oci/runtime/seccomp-cache.ts) holding exactly `key`, if the file is regular, not a
   * symlink, the euid's (or `owner`'s, when given) and writable by no one else: [its first line, the key's
   * UTF-8 length, a copy of the program bytes after the key]; else undefined.
   */
  readSeccompEntry(path: string, key: string, owner?: number): [meta: string, keyBytes: number, program: Uint8Array] | undefined;
  /** features.cc: gettid() === getpid(): the thread whose process.env is the process's environment. */
  onProcessMainThread(): boolean;
  /** [mode, uid, size, mtimeSec, mtimeNsec, ino, dev] of stat/lstat; undefined for ENOENT/ENOTDIR (pathstat.ts). */
  statPath(path: string, follow: boolean): StatNumbers | undefined;
  /** The whole file read to EOF as UTF-8 (as readFileSync(path, 'utf8')); SysError open/read, EFBIG past 16 MiB. */
  readTextFile(path: string): string;
  /** readlink(2) (as readlinkSync(path)); SysError readlink. */
  readLink(path: string): string;
  /** process_exit.cc: fflush(NULL), then _exit(status) (status 0..255); never returns (exit-now.ts). */
  exitNow(status: number): never;
  readonly constants: NativeConstants;

  // features.cc
  probeFeatures(): NativeFeatures;
  /** probeFeatures().cloneIntoCgroup alone (one clone3 that fails before a child exists). */
  probeCloneIntoCgroup(): boolean;
  /** uname(2)'s release: os.release() without loading node:os. */
  kernelRelease(): string;
  /** landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION), 0 when absent or disabled. */
  landlockAbi(): number;

  // ns.cc — namespace handles (fds are O_CLOEXEC)
  /** open(path, O_RDONLY|O_CLOEXEC); throws SysError. */
  nsOpen(path: string): number;
  /**
   * ioctl(pidfd, cmd, 0) with cmd one of PIDFD_GET_NS: an O_CLOEXEC nsfs fd, or -errno (ENOTTY
   * before Linux 6.11, EOPNOTSUPP for a kind the kernel lacks, ESRCH once exited, EACCES).
   */
  nsFromPidfd(pidfd: number, cmd: number): number;
  /** fstat: [st_dev, st_ino]. */
  nsStat(fd: number): [number, number];
  /** ioctl(NS_GET_NSTYPE): a CLONE_NEW* value. */
  nsGetType(fd: number): number;
  /** ioctl(NS_GET_USERNS) or ioctl(NS_GET_PARENT): a new fd. */
  nsGetRelative(fd: number, which: 'userns' | 'parent'): number;
  /** ioctl(NS_GET_OWNER_UID) on a user namespace. */
  nsGetOwnerUid(fd: number): number;
  /** close(2). */
  close(fd: number): void;
  /** open(O_RDWR|O_CREAT|O_NOFOLLOW|O_CLOEXEC) + flock(LOCK_EX|LOCK_NB): the fd, or -1 if held elsewhere; throws SysError. */
  lockFile(path: string): number;
  /** setns(fd, nstype) on the calling thread. */
  setnsThread(fd: number, nstype: number): void;
  /** unshare(flags) on the calling thread. */
  unshareThread(flags: number): void;
  /** On a dedicated native thread: unshare(flag), open /proc/thread-self/ns/<name>, return the fd. */
  nsCreate(flag: number, name: string): number;
  /**
   * On a dedicated thread the caller waits for (csrc/ns_make.cc): unshare(flag), open
   * /proc/thread-self/ns/<name>, then (network namespaces only) `lo` up when `lo`, an unbound
   * NETLINK_ROUTE socket (SOCK_NONBLOCK, extended and capped ACKs) inside when `rtnl`.
   * Returns [nsFd, socketFd or -1, st_dev, st_ino of nsFd].
   */
  nsMake(flag: number, name: string, lo: boolean, rtnl: boolean): [fd: number, rtnl: number, dev: number, ino: number];
  /**
   * nsMake's network namespace and rtnetlink socket, then, in the same trip on the same
   * thread (csrc/ns_make.cc NsMakeConnected), up to three exchanges as netlinkExchange makes
   * them: `steps` is [datagram, inner]… (step 0: the veth, one request with NLM_F_ECHO on the
   * host socket; inner: on the new namespace's socket, else on the host socket). `patches`
   * holds (step, offset, what) triples: what 2 writes the namespace's fd (step 0), 0 the host
   * end's index and 1 the peer's (from step 0's echo; steps 1 and 2). Returns [nsFd, sock,
   * st_dev, st_ino, done, hostIndex, childIndex, errno, syscall, answers0..2]: `done` steps
   * were answered (each answer undefined when all ACKs), the last of them possibly refused;
   * errno/syscall is a transport failure in step `done`; sock is -1 (closed) when every step
   * was answered and none refused, else a handle fd; hostIndex 0 when there was no echo (later
   * steps not sent). `writes`: [path, value, …] (up to 4 pairs) written from the caller's
   * network namespace after step 0 was answered and before step 1; the first that fails ends
   * the trip with errno/syscall ('setns', 'open', 'write') and writeFailed, its index (else -1).
   * Throws SysError for the namespace itself, as nsMake.
   */
  nsMakeConnected(
    steps: Array<Buffer | boolean>,
    patches: Uint32Array,
    writes?: string[],
  ): [
    fd: number,
    sock: number,
    dev: number,
    ino: number,
    done: number,
    hostIndex: number,
    childIndex: number,
    errno: number,
    syscall: string | undefined,
    a0: Buffer | undefined,
    a1: Buffer | undefined,
    a2: Buffer | undefined,
    writeFailed: number,
  ];
  /**
   * Starts a detached thread that makes `count` namespaces as nsMake does (no socket) and
   * returns at once; `onMade(fd, 0, '')` runs on the JS thread for each, or
   * `onMade(-1, errno, syscall)` once for the failure that ends the batch.
   */
  nsFill(
    flag: number,
    name: string,
    lo: boolean,
    rtnl: false,
    count: number,
    onMade: (fd: number, errno: number, syscall: string) => void,
  ): void;

  // mount.cc — every `nsFd` is -1 (act on the calling thread) or a mount namespace fd (act
  // on a dedicated thread that enters it and exits). Fds returned are O_CLOEXEC.
  /** mount(2). */
  mountIn(nsFd: number, source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  /** umount2(2). */
  umountIn(nsFd: number, target: string, flags: number): void;
  /** fsopen(2) with FSOPEN_CLOEXEC: an fs context fd. */
  fsopen(fstype: string): number;
  /** fsconfig(2); throws SysError with the key as `path`. */
  fsconfig(fd: number, cmd: number, key: string | null, value: string | null, aux: number): void;
  /** Drains the fs context's message log: one "e …"/"w …"/"i …" string per read(2). */
  fsLog(fd: number): string[];
  /** fsmount(2) with FSMOUNT_CLOEXEC and MOUNT_ATTR_* `attrs`: a detached mount fd. */
  fsmount(fd: number, attrs: number): number;
  /** open_tree(2) with OPEN_TREE_CLOEXEC | flags. */
  openTreeIn(nsFd: number, path: string, flags: number): number;
  /** move_mount(2) of `mountFd` (MOVE_MOUNT_F_EMPTY_PATH) onto `target`. */
  attachIn(nsFd: number, mountFd: number, target: string): void;
  /** mount_setattr(2); `dirFd` -1 is AT_FDCWD, `usernsFd` -1 is none. */
  setattrIn(
    nsFd: number,
    dirFd: number,
    path: string,
    atFlags: number,
    set: number,
    clr: number,
    propagation: number,
    usernsFd: number,
  ): void;
  /** open(root, O_PATH|O_DIRECTORY) then openat2(rootfd, path, { flags: oflags|O_CLOEXEC, resolve }). */
  resolveIn(nsFd: number, root: string, path: string, oflags: number, resolve: number): number;

  // filewatch.cc
  /**
   * Polls `path` for POLLPRI. With `trigger` null (an events file, mountinfo), each change calls
   * onEvent(the file's new text, 0); with a PSI `trigger` (written once to the fd opened
   * O_RDWR), each trigger event calls onEvent(null, 0). A failed read or poll calls
   * onEvent(null, positive errno) once and stops polling.
   */
  readonly FileWatch: new (
    path: string,
    trigger: string | null,
    onEvent: (text: string | null, errno: number) => void,
  ) => NativeFileWatch;

  // seccomp_notify.cc
  /** A seccomp listener polled in this environment's loop: onNotification(struct seccomp_notif | null, errno). */
  readonly SeccompListener: new (
    fd: number,
    onNotification: (notif: Buffer | null, errno: number) => void,
  ) => NativeSeccompListener;

  // spawn.cc
  /**
   * clone3 + run the plan in the child; blocks only until the child has exec'd or failed
   * (like child_process.spawn). `ops` and `strings` are built by src/namespaces/plan.ts.
   */
  spawn(
    ops: Int32Array,
    strings: Buffer,
    maps: SpawnMaps | null,
    parent?: SpawnParentSide,
    onNetwork?: (pid: number) => number,
  ): NativeSpawnResult;
  /**
   * spawn without blocking the calling thread (spawn_async.cc): clone3 here, the status
   * session (id maps, helpers, hooks, the wait for execve) on a thread of its own. Returns a
   * result at once only when no child was made (clone3 or the gate failed); otherwise
   * undefined, and `onDone` gets the result from the event loop.
   */
  spawnAsync(
    ops: Int32Array,
    strings: Buffer,
    maps: SpawnMaps | null,
    parent: SpawnParentSide | undefined,
    onNetwork: ((pid: number) => number) | undefined,
    onDone: (result: NativeSpawnResult) => void,
  ): NativeSpawnResult | undefined;

  // pidfd.cc
  /**
   * Starts polling `pidfd` in this thread's event loop; calls onExit(code, signal) once.
   * `persist`: the environment's teardown closes the pidfd and leaves the child running.
   */
  watchChild(pid: number, pidfd: number, onExit: (code: number | null, signal: number | null) => void, persist?: boolean): NativeChildWatch;
  /** SIGKILL + waitid + close for a pidfd no watcher owns yet. */
  killReap(pidfd: number): void;
  /** pipe2(O_CLOEXEC): [read end, write end]. */
  pipe(): [number, number];
  /** open("/dev/null", O_RDWR|O_CLOEXEC). */
  devNull(): number;
  /**
   * Every fd the functions above and the namespace/mount functions return is recorded for the
   * environment's teardown (docs/threading.md, "When a worker ends"); native.close() forgets
   * it, and so does this, for an fd a libuv handle (a net.Socket) has taken over.
   */
  forgetFd(fd: number): void;
  /**
   * pidfd_open(2) of any pid: an O_CLOEXEC pidfd (close with close()); throws SysError.
   * `thread`: PIDFD_THREAD (Linux 6.9), for a thread id that leads no thread group.
   */
  pidfdOpen(pid: number, thread?: boolean): number;
  /** poll(2) without waiting: true once the pidfd's process has exited (zombie or reaped). */
  pidfdExited(fd: number): boolean;
  /** pidfd_send_signal(2) on a pidfd from pidfdOpen: 0 or a positive errno (ESRCH once exited). */
  pidfdSignal(fd: number, signal: number): number;

  // pty.cc
  /** open("/dev/ptmx"), unlock, the slave by TIOCGPTPEER (else its path), TIOCSWINSZ when rows or cols: [master, slave, path]. */
  openPty(rows: number, cols: number): [number, number, string];
  /** The slave's /dev/pts/N in the master's devpts instance (TIOCGPTN). */
  ptyPath(master: number): string;
  /** TIOCSWINSZ. */
  ptyResize(fd: number, rows: number, cols: number): void;
  /** fcntl(F_DUPFD_CLOEXEC): a second fd of the same open file. */
  ptyDup(fd: number): number;
  /** tcgetattr/tcsetattr: ONLCR of c_oflag on (1) or off (0); on a master, its slave's. */
  ptySetOnlcr(fd: number, on: number): void;
  /** TIOCGWINSZ: [rows, cols]. */
  ptySize(fd: number): [number, number];
  /** connect(2) a SOCK_STREAM unix socket to `path`, sendmsg(2) `fd` (SCM_RIGHTS) with `name` as data. */
  sendFd(path: string, fd: number, name: string): void;

  // gate_client.cc
  /** A start gate's namespaces (plan.h kGateNamespaces): 8 fds in kGateNsNames' order, -1 where none came; CLOEXEC. */
  gateNamespaces(path: string, timeoutMs: number): number[];
  /** A start gate's start without the event loop: connect, send kGateStart, unlink the path, read to EOF (at most timeoutMs; -1 none). */
  gateStart(path: string, timeoutMs: number): Buffer;

  // bpf.cc
  /** bpf(BPF_PROG_LOAD) of a BPF_PROG_TYPE_CGROUP_DEVICE program: [fd, 0, ''], or [-1, errno, the verifier's log]. */
  bpfLoadDeviceProgram(insns: Buffer): [number, number, string];
  /** BPF_PROG_QUERY: ids of the device programs attached to the cgroup directory itself. */
  bpfQueryDevicePrograms(dir: string): number[];
  /** BPF_PROG_ATTACH (BPF_F_ALLOW_MULTI) of `progFd` to the cgroup directory, then BPF_PROG_DETACH of those attached before. */
  bpfSetDevicePrograms(dir: string, progFd: number): void;

  // netlink.cc
  /** rtnetlink numbers from <linux/rtnetlink.h>, <linux/if_link.h>, <linux/veth.h>, … */
  readonly netlinkConstants: Readonly<Record<string, number>>;
  /**
   * A NETLINK_ROUTE socket made in the network namespace of `nsFd` (-1: the caller's) by a
   * dedicated thread, bound to multicast `groups`; calls onMessage(datagram) per datagram
   * received, onMessage(null, errno) on a receive error.
   */
  readonly NetlinkSocket: new (
    nsFd: number,
    groups: number,
    onMessage: (datagram: Buffer | null, errno?: number) => void,
    protocol?: number,
    /** An unbound NETLINK_ROUTE socket nsMake opened in the namespace; taken over (never close it after). */
    made?: number,
  ) => NativeNetlinkSocket;
  /** nf_tables numbers from the uapi headers (csrc/nftables.cc). */
  readonly nftConstants: Readonly<Record<string, number>>;
  /**
   * A file opened read-only or write-only (O_CLOEXEC) by a dedicated thread inside the network
   * namespace of `nsFd` (-1: ours): the namespace's own /proc/sys/net sysctls. Returns the fd.
   */
  openInNetns(nsFd: number, path: string, write: boolean): number;
  /**
   * Sends each rtnetlink request (not a dump) on one blocking socket made in the namespace
   * of `nsfd` (-1: ours) on a dedicated thread; returns each one's answer datagrams up to its
   * ACK, stopping after the first refusal. Synchronous: for spawn's network step only.
   */
  netlinkTransact(nsfd: number, requests: Buffer[]): Buffer[];
  /**
   * Sends `request` (rtnetlink requests with NLM_F_ACK and distinct sequence numbers, not
   * dumps, at most 16) as one datagram on the NETLINK_ROUTE socket `fd` (-1: the
   * environment's host socket, made on first use, closed at teardown) and reads until each is
   * ACKed or refused; returns the answering datagrams, concatenated, or undefined when all
   * were plain ACKs. rtnetlink answers inside sendto(2), so nothing waits; a missing answer
   * is waited for at most 1 s (ETIMEDOUT).
   */
  netlinkExchange(fd: number, request: Buffer): Buffer | undefined;
  /**
   * A non-blocking NETLINK_ROUTE socket made in the network namespace of `nsFd` by a
   * dedicated thread, for netlinkExchange. Returns the fd (O_CLOEXEC; release it with close).
   */
  netlinkSocketIn(nsFd: number): number;
  /**
   * An AF_INET/AF_INET6 socket of `type` made in the network namespace of `nsFd` by a
   * dedicated thread, bound to `addr` (4 or 16 bytes; empty: unbound) and `port`, listening
   * when `backlog` >= 0. Returns the fd (O_CLOEXEC).
   */
  inetSocketIn(nsFd: number, family: number, type: number, addr: Buffer, port: number, backlog: number): number;
}

/** How the parent writes the id maps of a new user namespace. @internal */
export interface SpawnMaps {
  /** 'direct' writes /proc/PID/{setgroups,uid_map,gid_map}; 'helper' runs newuidmap/newgidmap. */
  mode: 'direct' | 'helper';
  uidMap: string;
  gidMap: string;
  /** Write "deny" to /proc/PID/setgroups before gid_map (needed for an unprivileged writer). */
  denySetgroups: boolean;
  /** helper mode: argv of newuidmap and newgidmap without the pid, e.g. ['/usr/bin/newuidmap', '0', '1000', '1', ...]. */
  uidHelper?: string[];
  gidHelper?: string[];
  /** Sources of idmapped volumes: the parent makes their trees after writing the maps. */
  idmapSources?: string[];
  /** helper mode: the bound on each helper's run in ms (default 10000); then ETIMEDOUT. */
  helperTimeout?: number;
}

const root = PACKAGE_ROOT;

function load(): NativeBinding {
  try {
    // node-gyp-build's choice when it is a local build (a checkout's, or the install script's
    // source build) or this package's glibc prebuild, taken at once (dlopen.ts localAddon):
    // its search (package.json, directory listings, node:os) is a noticeable part of each
    // start-up. Anything else (musl, build/Debug, NSBOX_PREBUILD) goes through node-gyp-build.
    const local = localAddon();
    if (local !== undefined) return dlopenOnce<NativeBinding>(local);
    const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);
    const gypBuild = require('node-gyp-build') as (dir: string) => unknown;
    return gypBuild(root) as NativeBinding;
  } catch (cause) {
    const err = nsboxError(
      'ERR_NSBOX_ADDON_LOAD',
      `nsbox could not load its native addon. It looked for a prebuild in ${join(root, 'prebuilds', `${process.platform}-${process.arch}`)} ` +
        `and for a local build in ${join(root, 'build', 'Release')} (node-gyp-build). ` +
        `Build it with \`npm rebuild nsbox\` (or \`npm run build:native\` in a checkout); that needs python3, make and a C++ compiler. ` +
        `nsbox runs on Linux only. Cause: ${(cause as Error).message}`,
    );
    (err as Error & { cause?: unknown }).cause = cause;
    throw err;
  }
}

/** The loaded addon. @internal */
export const native: NativeBinding = load();

native.setErrorFactory((errno, syscall, path, dest) => {
  const ctx: { path?: string; dest?: string } = {};
  if (path !== undefined) ctx.path = path;
  if (dest !== undefined) ctx.dest = dest;
  return new SysError(errno, syscall, ctx);
});

/** The kernel constants. @internal */
export const K: NativeConstants = native.constants;

/** The kernel's mount constants (csrc/mount.cc). @internal */
/** The mount API's constants: the same table as {@link K}, typed for src/fs. @internal */
export const MK: NativeMountConstants = native.constants as unknown as NativeMountConstants;
