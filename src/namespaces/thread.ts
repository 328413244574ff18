/**
 * The calling thread's namespaces: unshare(2) and setns(2) for the kinds the kernel lets one
 * thread of a multi-threaded process change, each with a way back. See docs/threading.md.
 * @module
 */
import { access } from 'node:fs';
import { invalidArgType, invalidArgValue, illegalConstructor } from '../errors.js';
import { native } from '../native.js';
import { Namespace, openNamespace, threadNamespaceError } from './namespace.js';
import { CLONE_FLAG, NAMESPACE_TYPES, kFd, type NamespaceType } from './types.js';

/** The kinds one thread can change on its own: `unshare`/`setns` of these touch only it. */
export type ThreadNamespaceType = 'net' | 'uts' | 'ipc' | 'cgroup';

const THREAD_TYPES: readonly string[] = ['net', 'uts', 'ipc', 'cgroup'];

function checkThreadType(type: unknown, name: string, what: string): ThreadNamespaceType {
  if (typeof type !== 'string') throw invalidArgType(name, 'of type string', type);
  if (THREAD_TYPES.includes(type)) return type as ThreadNamespaceType;
  if ((NAMESPACE_TYPES as readonly string[]).includes(type)) throw threadNamespaceError(type as NamespaceType, what);
  throw invalidArgValue(name, type, `must be one of ${THREAD_TYPES.map((t) => `'${t}'`).join(', ')}`);
}

let poolStarted = false;

/**
 * libuv creates its thread pool lazily, on the first queued work item, from the thread that
 * queues it, and a new thread inherits its creator's namespaces (clone(2)). Queue a no-op
 * now, before this thread first moves, so that no pool thread is ever born (and left for
 * good) in a namespace this thread only visited. Creating the pool is synchronous in
 * uv_queue_work, so the threads exist when this returns.
 */
function startThreadPool(): void {
  if (poolStarted) return;
  poolStarted = true;
  access('/', () => {});
}

/** Opens the calling thread's current namespace of each kind; all or nothing. */
function capture(types: readonly ThreadNamespaceType[]): Namespace[] {
  const out: Namespace[] = [];
  try {
    for (const t of types) out.push(openNamespace(t));
  } catch (err) {
    for (const ns of out) ns.close();
    throw err;
  }
  return out;
}

const kToken = Symbol('nsbox.ThreadNamespaces.new');
let make: (previous: Namespace[]) => ThreadNamespaces;

/**
 * What {@link unshare} and {@link setns} return: the namespaces the calling thread was in
 * before, held open, and {@link ThreadNamespaces.restore} to go back to them.
 *
 * Call `restore()` (or let `using` do it) on the same JS thread, before yielding to the event
 * loop if other code on this thread must not see the changed namespaces.
 */
export class ThreadNamespaces implements Disposable {
  #previous: Namespace[] | undefined;
  /** The kinds that were changed, in the order they were changed. */
  readonly types: readonly ThreadNamespaceType[];

  static {
    make = (previous) => new ThreadNamespaces(kToken, previous);
  }

  private constructor(token: symbol, previous: Namespace[]) {
    if (token !== kToken) throw illegalConstructor('unshare() or setns()');
    this.#previous = previous;
    this.types = Object.freeze(previous.map((ns) => ns.type as ThreadNamespaceType));
  }

  /** True once {@link ThreadNamespaces.restore} has run. */
  get restored(): boolean {
    return this.#previous === undefined;
  }

  /**
   * Moves the calling thread back into the namespaces it was in (setns(2), in reverse
   * order) and closes the handles kept for that. Idempotent. If a setns fails, the others
   * are still attempted, every handle is closed, and the first error is thrown.
   *
   * Touches the calling thread only. Needs nothing beyond what the move there needed
   * (CAP_SYS_ADMIN over the namespaces it returns to, which the thread had).
   * @throws SysError `EPERM` (syscall `'setns'`).
   */
  restore(): void {
    const previous = this.#previous;
    if (previous === undefined) return;
    this.#previous = undefined;
    let first: unknown;
    for (const ns of [...previous].reverse()) {
      try {
        native.setnsThread(ns[kFd], CLONE_FLAG[ns.type]);
      } catch (err) {
        first ??= err;
      }
      ns.close();
    }
    if (first !== undefined) throw first;
  }

  /** Same as {@link ThreadNamespaces.restore}, for `using`. */
  [Symbol.dispose](): void {
    this.restore();
  }
}

/**
 * Moves the **calling thread** into new namespaces of the given kinds: unshare(2) with the
 * matching CLONE_NEW* flags, like `unshare --net --uts` does for a whole process. Only this
 * thread changes; libuv's pool threads (async `fs`, `dns.lookup`, crypto) and other workers
 * stay where they were (docs/threading.md). Allowed kinds: `'net'`, `'uts'`, `'ipc'`,
 * `'cgroup'`.
 *
 * Threads created while this thread is moved (a `new Worker()`) are born in the new
 * namespaces and stay there; nsbox makes libuv start its pool before the first move so the
 * pool never is.
 *
 * Needs CAP_SYS_ADMIN in the thread's user namespace.
 *
 * @returns the way back: {@link ThreadNamespaces.restore}.
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` (empty list, unknown kind) and
 * `ERR_NSBOX_THREAD_NAMESPACE` (`'user'`, `'mnt'`, `'pid'`, `'time'`: use `spawn`), all
 * before any syscall; SysError `EPERM` (syscall `'unshare'`) with nothing changed.
 */
export function unshare(types: readonly ThreadNamespaceType[]): ThreadNamespaces {
  if (!Array.isArray(types)) throw invalidArgType('types', 'an instance of Array', types);
  if (types.length === 0) throw invalidArgValue('types', types, 'must list at least one namespace kind');
  const kinds = [...new Set(types.map((t, i) => checkThreadType(t, `types[${i}]`, 'unshare()')))];
  startThreadPool();
  const previous = capture(kinds);
  try {
    native.unshareThread(kinds.reduce((flags, t) => flags | CLONE_FLAG[t], 0));
  } catch (err) {
    for (const ns of previous) ns.close();
    throw err;
  }
  return make(previous);
}

function checkHandles(value: unknown, what: string): Namespace[] {
  const list = value instanceof Namespace ? [value] : value;
  if (!Array.isArray(list)) throw invalidArgType('namespaces', 'a Namespace or an array of Namespace', value);
  if (list.length === 0) throw invalidArgValue('namespaces', list, 'must hold at least one Namespace');
  const seen = new Set<string>();
  list.forEach((ns: unknown, i) => {
    if (!(ns instanceof Namespace)) throw invalidArgType(`namespaces[${i}]`, 'an instance of Namespace', ns);
    void ns[kFd]; // ERR_HANDLE_CLOSED before any syscall
    checkThreadType(ns.type, `namespaces[${i}].type`, what);
    if (seen.has(ns.type)) throw invalidArgValue('namespaces', ns.id, `holds two '${ns.type}' namespaces`);
    seen.add(ns.type);
  });
  return list as Namespace[];
}

/**
 * Moves the **calling thread** into existing namespaces: setns(2) on each handle, like
 * `nsenter --net=PATH` does for a new process, but for this thread only (libuv's pool and
 * other workers stay where they were, docs/threading.md). Allowed kinds: `'net'`, `'uts'`,
 * `'ipc'`, `'cgroup'`. If one setns fails, the thread is moved back before the error is thrown.
 *
 * As with {@link unshare}, workers started while moved inherit the target namespaces.
 *
 * Needs CAP_SYS_ADMIN in the thread's user namespace and in the target's owning user namespace.
 *
 * @returns the way back: {@link ThreadNamespaces.restore}.
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` (two of one kind),
 * `ERR_HANDLE_CLOSED` and `ERR_NSBOX_THREAD_NAMESPACE` (`'user'`, `'mnt'`, `'pid'`,
 * `'time'`: use `spawn`), all before any syscall; SysError `EPERM` (syscall `'setns'`).
 */
export function setns(namespaces: Namespace | readonly Namespace[]): ThreadNamespaces {
  const list = checkHandles(namespaces, 'setns()');
  startThreadPool();
  const previous = capture(list.map((ns) => ns.type as ThreadNamespaceType));
  let done = 0;
  try {
    for (const ns of list) {
      native.setnsThread(ns[kFd], CLONE_FLAG[ns.type]);
      done++;
    }
  } catch (err) {
    const back = make(previous.slice(0, done));
    for (const ns of previous.slice(done)) ns.close();
    back.restore();
    throw err;
  }
  return make(previous);
}

/**
 * Runs `fn` with the calling thread inside `namespaces` ({@link setns}), and moves the thread
 * back in a `finally` before returning `fn`'s result. Synchronous: the thread is restored
 * as soon as `fn` returns, so if `fn` returns a Promise, whatever it does after its first
 * `await` runs back in the original namespaces. Make sockets and other fds inside `fn`:
 * they stay bound to the namespace they were created in. Like `ip netns exec NAME` for a
 * block of code instead of a command.
 *
 * Touches the calling thread only, for the duration of `fn`. Needs what {@link setns} needs
 * (CAP_SYS_ADMIN in the thread's and the target's owning user namespace).
 *
 * @throws `ERR_INVALID_ARG_TYPE` if `fn` is not a function, before any syscall; what
 * {@link setns} throws; and whatever `fn` throws (after restoring).
 */
export function withNamespaces<T>(namespaces: Namespace | readonly Namespace[], fn: () => T): T {
  if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn);
  const entered = setns(namespaces);
  try {
    return fn();
  } finally {
    entered.restore();
  }
}
