/**
 * Namespace handles: an open nsfs file (`/proc/PID/ns/X`, a bind mount of one, or an fd the
 * kernel hands back), with the queries of ioctl_ns(2).
 * @module
 */
import { FdHandle } from '../handle.js';
import { statSync } from 'node:fs';
import { SysError, fromFsError, invalidArgType, invalidArgValue, nsboxError, outOfRange, illegalConstructor } from '../errors.js';
import { native } from '../native.js';
import { CLONE_FLAG, NAMESPACE_FILES, kFd, typeOfFlag, type NamespaceFile, type NamespaceType } from './types.js';
import { nsFdOfPidfd, openPidfd } from './pidfd-ns.js';

/** The kinds {@link createNamespace} can make on a dedicated native thread. */
export type CreatableNamespaceType = 'net' | 'uts' | 'ipc' | 'cgroup' | 'mnt';

const CREATABLE: readonly string[] = ['net', 'uts', 'ipc', 'cgroup', 'mnt'];

/** Options of {@link openNamespace}. */
export interface OpenNamespaceOptions {
  /**
   * Open the namespace of process `pid` (what `/proc/<pid>/ns/<type>` names) instead of the
   * calling thread's `/proc/thread-self/ns/<type>`. The process is pinned by a pidfd first, so
   * a pid reused by another process meanwhile is refused (ESRCH), never joined.
   */
  pid?: number;
}

/** The largest pid the kernel can hand out (PID_MAX_LIMIT on 64-bit, proc(5) pid_max). */
const PID_MAX_LIMIT = 4_194_304;

/**
 * Checks a pid argument: an integer from 1 to PID_MAX_LIMIT, else ERR_INVALID_ARG_TYPE /
 * ERR_OUT_OF_RANGE naming `name` (the option the caller wrote, e.g. `options.join.net`).
 * @internal
 */
export function checkPid(name: string, pid: unknown): number {
  if (typeof pid !== 'number') throw invalidArgType(name, 'of type number', pid);
  if (!Number.isInteger(pid) || pid < 1 || pid > PID_MAX_LIMIT) throw outOfRange(name, `an integer >= 1 and <= ${PID_MAX_LIMIT}`, pid);
  return pid;
}

const kToken = Symbol('nsbox.Namespace.new');
let adopt: (fd: number, known?: KnownNamespace) => Namespace;

/** What the call that made an nsfs fd already knows of it: no ioctl or fstat needed. */
interface KnownNamespace {
  type: NamespaceType;
  dev: number;
  ino: number;
}

/**
 * A namespace, held open by an nsfs file descriptor (namespaces(7), ioctl_ns(2)).
 *
 * Holding the handle keeps the namespace alive even when no process is in it. Get one from
 * {@link openNamespace}, {@link openNamespacePath}, {@link createNamespace} or the `net`
 * module; release it with {@link Namespace.close} (or `using`). After `close()`, `type`,
 * `dev`, `ino` and `id` still read as they were and every method throws `ERR_HANDLE_CLOSED`.
 */
export class Namespace extends FdHandle {
  /** The namespace's kind, from ioctl(NS_GET_NSTYPE). */
  readonly type: NamespaceType;
  /** `st_dev` of the nsfs file: with {@link Namespace.ino}, identifies the namespace. */
  readonly dev: number;
  /** `st_ino` of the nsfs file: the number `readlink /proc/PID/ns/X` shows. */
  readonly ino: number;

  static {
    adopt = (fd, known) => new Namespace(kToken, fd, known);
  }

  private constructor(token: symbol, fd: number, known?: KnownNamespace) {
    if (token !== kToken) throw illegalConstructor('openNamespace() or createNamespace()');
    if (known !== undefined) {
      super(fd, `Namespace handle (${known.type}:[${known.ino}])`);
      this.type = known.type;
      this.dev = known.dev;
      this.ino = known.ino;
      return;
    }
    let type: NamespaceType | undefined;
    let dev: number;
    let ino: number;
    try {
      const flag = native.nsGetType(fd);
      type = typeOfFlag(flag);
      if (type === undefined) throw nsboxError('ERR_NSBOX_UNSUPPORTED', `unknown namespace type 0x${flag.toString(16)}`);
      [dev, ino] = native.nsStat(fd);
    } catch (err) {
      native.close(fd);
      throw err;
    }
    super(fd, `Namespace handle (${type}:[${ino}])`);
    this.type = type;
    this.dev = dev;
    this.ino = ino;
  }

  /** `"net:[4026531840]"`: the text `readlink /proc/PID/ns/net` prints for this namespace. */
  get id(): string {
    return `${this.type}:[${this.ino}]`;
  }

  /**
   * True if `other` is the same namespace (same `st_dev` and `st_ino`, ioctl_ns(2)). Compares
   * what `readlink /proc/A/ns/X` and `readlink /proc/B/ns/X` would.
   * @throws `ERR_INVALID_ARG_TYPE` if `other` is not a Namespace; `ERR_HANDLE_CLOSED`.
   */
  equals(other: Namespace): boolean {
    void this[kFd]; // ERR_HANDLE_CLOSED before anything else
    if (!(other instanceof Namespace)) throw invalidArgType('other', 'an instance of Namespace', other);
    return this.dev === other.dev && this.ino === other.ino;
  }

  /**
   * The user namespace that owns this namespace: ioctl(NS_GET_USERNS), ioctl_ns(2). For a
   * user namespace that is its parent. Replaces `lsns -o NS,USERNS`-style lookups. No
   * privileges needed; does not touch the calling thread.
   * @returns a new handle, to close on its own.
   * @throws SysError `EPERM` (syscall `'ioctl'`) when the owner is outside the caller's user
   * namespace; `ERR_HANDLE_CLOSED`.
   */
  userNamespace(): Namespace {
    return adopt(native.nsGetRelative(this[kFd], 'userns'));
  }

  /**
   * The parent of a hierarchical (user or pid) namespace: ioctl(NS_GET_PARENT), ioctl_ns(2).
   * No privileges needed; does not touch the calling thread.
   * @returns a new handle, to close on its own.
   * @throws SysError `EPERM` (syscall `'ioctl'`) when the parent is outside the caller's
   * namespace (the initial namespace has none); `ERR_INVALID_ARG_VALUE` for other kinds,
   * before any syscall; `ERR_HANDLE_CLOSED`.
   */
  parent(): Namespace {
    const fd = this[kFd];
    if (this.type !== 'user' && this.type !== 'pid') {
      throw nsboxError('ERR_INVALID_ARG_VALUE', `parent() needs a user or pid namespace; ${this.id} is not hierarchical`);
    }
    return adopt(native.nsGetRelative(fd, 'parent'));
  }

  /**
   * The uid of the user that created this user namespace, as seen from the caller's user
   * namespace: ioctl(NS_GET_OWNER_UID), ioctl_ns(2). No privileges needed.
   * @throws `ERR_INVALID_ARG_VALUE` if this is not a user namespace, before any syscall;
   * `ERR_HANDLE_CLOSED`.
   */
  ownerUid(): number {
    const fd = this[kFd];
    if (this.type !== 'user') {
      throw nsboxError('ERR_INVALID_ARG_VALUE', `ownerUid() needs a user namespace; ${this.id} is not one`);
    }
    return native.nsGetOwnerUid(fd);
  }

  /**
   * Closes the fd. Idempotent. The namespace itself lives on while a process, a bind mount
   * (see {@link persistNamespace}) or another fd holds it (namespaces(7)). close(2); never
   * blocks, needs no privilege.
   */
  override close(): void {
    closeRtnlSocket(this);
    super.close();
  }
}

/**
 * The unbound NETLINK_ROUTE socket {@link createNamespace} opened inside a new network
 * namespace in the same thread trip, until the net module takes it (the first socket it
 * needs there, e.g. connectToHost's) or the handle is closed.
 */
const rtnlSockets = new WeakMap<Namespace, number>();
const rtnlLeaks = new FinalizationRegistry<number>((fd) => {
  try {
    native.close(fd);
  } catch {
    // gone either way; the handle's own finalizer warns
  }
});

function closeRtnlSocket(ns: Namespace): void {
  const fd = rtnlSockets.get(ns);
  if (fd === undefined) return;
  rtnlSockets.delete(ns);
  rtnlLeaks.unregister(ns);
  native.close(fd);
}

/**
 * Takes the rtnetlink socket made with `ns` (-1 if there is none, or it was taken): the
 * caller owns it from now on (native NetlinkSocket takes it over). @internal
 */
export function takeRtnlSocket(ns: Namespace): number {
  const fd = rtnlSockets.get(ns);
  if (fd === undefined || ns.closed) return -1;
  rtnlSockets.delete(ns);
  rtnlLeaks.unregister(ns);
  return fd;
}

/** Wraps an nsfs fd nsbox just opened; closes it if it is not a namespace. @internal */
export function adoptNamespaceFd(fd: number): Namespace {
  return adopt(fd);
}

/**
 * Wraps a network namespace fd nsbox just made, whose identity came with it (nsMakeConnected,
 * as nsMake's does for createNamespace). @internal
 */
export function adoptMadeNetns(fd: number, dev: number, ino: number): Namespace {
  return adopt(fd, { type: 'net', dev, ino });
}

function checkNamespaceFile(type: unknown): NamespaceFile {
  if (typeof type !== 'string') throw invalidArgType('type', 'of type string', type);
  if (!(NAMESPACE_FILES as readonly string[]).includes(type)) {
    throw invalidArgValue('type', type, `must be one of ${NAMESPACE_FILES.map((t) => `'${t}'`).join(', ')}`);
  }
  return type as NamespaceFile;
}

/**
 * Opens a namespace of the calling thread (`/proc/thread-self/ns/<type>`) or, with `pid`,
 * of a process (`/proc/<pid>/ns/<type>`), as namespaces(7) describes. `'pid_for_children'`
 * and `'time_for_children'` open the namespace the next children will be born in.
 *
 * What `readlink /proc/self/ns/net` or `lsns -p PID` report, as a handle that `setns`,
 * `spawn` and {@link persistNamespace} accept. Without `pid`, this is the namespace of the
 * thread that runs this JS (see docs/threading.md), not necessarily of the whole process.
 *
 * With `pid`, the process is pinned first with pidfd_open(2): on Linux 6.11 and later the
 * namespace comes from ioctl(pidfd, PIDFD_GET_*_NAMESPACE); before, `/proc/<pid>/ns/<type>`
 * is opened and the pidfd then checked unreaped (pidfd_send_signal(2), signal 0). Either way a
 * process that exits, and whose pid is reused, before the namespace is open is never mistaken
 * for the one meant: the call fails `ESRCH`. (The pid itself is only as good as when nsbox
 * gets it: for a child of `spawn`, prefer `child.namespace(type)`, which uses its own pidfd.)
 * Needs ptrace read access to `pid` (same user, or CAP_SYS_PTRACE); does not touch the
 * calling thread.
 *
 * @throws `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE` (unknown type), `ERR_OUT_OF_RANGE`
 * (pid) before any syscall. With `pid`, SysErrors carry `pid` and `path`
 * (`/proc/<pid>/ns/<type>`): `ESRCH` (no such process, or it exited; syscall `'pidfd_open'`,
 * `'ioctl'`, `'open'` or `'pidfd_send_signal'`), `EACCES` (no ptrace access; `'ioctl'`, or
 * `'open'` before Linux 6.11), `ENOENT` (`'open'`: a kind the kernel lacks, or
 * pid_for_children before the pid namespace has its first process), `EINVAL`
 * (`'pidfd_open'`: a thread id before Linux 6.9). Without `pid`: `ENOENT`, `EACCES` (`'open'`).
 */
export function openNamespace(type: NamespaceFile, options: OpenNamespaceOptions = {}): Namespace {
  const file = checkNamespaceFile(type);
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  const { pid } = options;
  if (pid === undefined) return adopt(native.nsOpen(`/proc/thread-self/ns/${file}`));
  checkPid('options.pid', pid);
  const pidfd = openPidfd(pid, file);
  try {
    return adopt(nsFdOfPidfd(pidfd, pid, file));
  } finally {
    native.close(pidfd);
  }
}

/**
 * {@link openNamespace} of the process a pidfd the caller holds names (`pid`: its number, for
 * the /proc fallback and errors): a spawned child's own pidfd, or one opened once for several
 * namespaces of a process, so all of them are that one process's. The pidfd stays the caller's.
 * @throws as openNamespace with `pid`.
 * @internal
 */
export function openNamespaceOfPidfd(pidfd: number, pid: number, type: NamespaceFile): Namespace {
  return adopt(nsFdOfPidfd(pidfd, pid, checkNamespaceFile(type)));
}

/**
 * Opens any nsfs file: a `/proc/PID/ns/X` link, or a namespace bind-mounted somewhere, such
 * as `/run/netns/NAME` (what `ip netns add` and {@link persistNamespace} make). Checks with
 * ioctl(NS_GET_NSTYPE) that it is a namespace. Like `nsenter --net=PATH` without entering.
 * Needs read access to `path`; does not touch the calling thread.
 *
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` (empty path, NUL byte) before any
 * syscall; `ERR_INVALID_ARG_VALUE` if the file is not a namespace (nothing is left open);
 * SysError `ENOENT`/`EACCES` (syscall `'stat'` or `'open'`, with `path`).
 */
export function openNamespacePath(path: string): Namespace {
  checkPath('path', path);
  let isFile: boolean;
  try {
    // A FIFO would block open(2); every nsfs inode is a regular file (S_IFREG, fs/nsfs.c).
    isFile = statSync(path).isFile();
  } catch (err) {
    throw fromFsError(err, { path }, 'stat');
  }
  if (!isFile) throw invalidArgValue('path', path, 'is not a namespace file');
  const fd = native.nsOpen(path);
  try {
    native.nsGetType(fd);
  } catch (err) {
    native.close(fd);
    if (err instanceof SysError && err.code === 'ENOTTY') throw invalidArgValue('path', path, 'is not a namespace file');
    throw err;
  }
  return adopt(fd);
}

/** Rejects what cannot be a path: non-strings, empty strings, NUL bytes. @internal */
export function checkPath(name: string, path: unknown): asserts path is string {
  if (typeof path !== 'string') throw invalidArgType(name, 'of type string', path);
  if (path === '' || path.includes('\0')) throw invalidArgValue(name, path, 'must be a non-empty string without null bytes');
}

/** The error for the kinds a thread of a multi-threaded process cannot usefully act on. @internal */
export function threadNamespaceError(type: NamespaceType, what: string): Error {
  const why: Record<string, string> = {
    user: 'the kernel refuses a user namespace change in a multi-threaded process (EINVAL), and Node always runs several threads',
    mnt: "a mount namespace change splits the thread's cwd and root from the rest of the process (setns even fails with EINVAL)",
    pid: 'a pid namespace only applies to children created afterwards, never to the calling thread itself',
    time: 'a time namespace only applies to children, and setns refuses it in a multi-threaded process (EUSERS)',
  };
  return nsboxError(
    'ERR_NSBOX_THREAD_NAMESPACE',
    `${what} cannot act on a '${type}' namespace from a thread: ${why[type] ?? 'not supported'}. ` +
      'Start a process in it with spawn() instead' +
      (type === 'mnt' ? ", or hold a new one with createNamespace('mnt')." : '.'),
  );
}

/**
 * Makes a new namespace of `type` and returns a handle that keeps it alive, with no process
 * in it: what `unshare --net=FILE` does, minus the bind mount (add one with
 * {@link persistNamespace}). The work happens on a dedicated native thread that calls
 * unshare(2) and opens `/proc/thread-self/ns/<type>`, so neither the JS thread nor libuv's
 * pool ever changes namespace (docs/threading.md): a short-lived one for most kinds; for
 * `'net'`, one kept for the environment that, once the namespace (and an rtnetlink socket in
 * it) is made, goes back into the caller's network namespace with setns(2) and waits for the
 * next call (it is stopped and joined when the environment ends; one that cannot go back
 * exits instead). Blocks the caller for the few syscalls that takes.
 *
 * Needs CAP_SYS_ADMIN in the calling thread's user namespace.
 *
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` before any syscall;
 * `ERR_NSBOX_THREAD_NAMESPACE` for `'user'`, `'pid'`, `'time'` (use `spawn`); SysError
 * `EPERM` (syscall `'unshare'`), `ENOSPC` (namespace limit, `/proc/sys/user/max_*_namespaces`).
 */
export function createNamespace(type: CreatableNamespaceType): Namespace {
  if (typeof type !== 'string') throw invalidArgType('type', 'of type string', type);
  const t: string = type;
  if (t === 'user' || t === 'pid' || t === 'time') throw threadNamespaceError(t, 'createNamespace()');
  if (!CREATABLE.includes(type)) {
    throw invalidArgValue('type', type, `must be one of ${CREATABLE.map((t) => `'${t}'`).join(', ')}`);
  }
  if (type !== 'net') return adopt(native.nsCreate(CLONE_FLAG[type], type));
  // One thread trip for the namespace and the rtnetlink socket the net module will use
  // first in it (connectToHost, loUp, addLink): see takeRtnlSocket.
  // The type is the one asked for and the identity comes back with the fds: no lookups.
  const [fd, sock, dev, ino] = native.nsMake(CLONE_FLAG.net, 'net', false, true);
  const ns = adopt(fd, { type: 'net', dev, ino });
  rtnlSockets.set(ns, sock);
  rtnlLeaks.register(ns, sock, ns);
  return ns;
}
