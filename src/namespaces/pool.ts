/**
 * Namespace pools: network namespaces made ahead of time, off the JS thread, handed out one
 * per spawn and never twice.
 * @module
 */
import { SysError, handleClosed, illegalConstructor, invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { native } from '../native.js';
import { adoptNamespaceFd, type Namespace } from './namespace.js';
import { CLONE_FLAG } from './types.js';

/** Options of {@link namespacePool}. */
export interface NamespacePoolOptions {
  /** The kind of namespace pooled. Only `'net'`: the one whose creation costs (~0.4 ms of kernel time). */
  kind: 'net';
  /** How many namespaces to keep ready: an integer from 1 to 1024. */
  size: number;
  /** Bring `lo` up in each one (`ip link set lo up`), as bwrap does. Default `true`. */
  lo?: boolean;
}

/** The largest pool: 1,024 idle namespaces is already ~1,024 fds and several MiB of kernel memory. */
const MAX_SIZE = 1024;

const kToken = Symbol('nsbox.NamespacePool.new');

/**
 * A pool of network namespaces made ahead of time (see {@link namespacePool}). Each one is
 * fresh: made by unshare(2) for this pool, with only `lo` in it (up unless `lo: false`), and
 * handed out once. Give the pool to `spawn` as `join: { net: pool }` (spawn takes one, the
 * child joins it, spawn closes its handle), or {@link NamespacePool.take} one yourself.
 *
 * The pool refills in the background after every take, on a detached native thread that
 * calls unshare(2) on itself and exits when its batch is made: neither the JS thread nor
 * libuv's pool ever changes namespace. A used namespace is never returned to the pool: it
 * dies with its last process and handle, destroyed by the kernel's own cleanup worker, so its
 * teardown is not billed to the next spawn.
 */
export class NamespacePool implements Disposable, AsyncDisposable {
  /** The kind of namespace this pool holds. */
  readonly kind: 'net';
  /** How many namespaces the pool keeps ready. */
  readonly size: number;
  /** Whether each namespace gets `lo` up (the `lo` option). */
  readonly lo: boolean;
  #ready: Namespace[] = [];
  /** Namespaces a fill thread still owes us. */
  #owed = 0;
  #closed = false;
  /** The failure that stopped the last fill, until a fill succeeds again. */
  #error: SysError | undefined;
  #waiters: Array<() => void> = [];

  /** Use {@link namespacePool}: the constructor throws `ERR_ILLEGAL_CONSTRUCTOR`. */
  constructor(token: symbol, kind: 'net', size: number, lo: boolean) {
    if (token !== kToken) throw illegalConstructor('namespacePool()');
    this.kind = kind;
    this.size = size;
    this.lo = lo;
  }

  /** How many namespaces are ready to take now. */
  get available(): number {
    return this.#ready.length;
  }

  /** True once {@link NamespacePool.close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Starts a fill for what is missing, unless one is under way or the pool is closed; after a
   * take (`low`), only once half the pool is gone, so one thread makes a batch of size/2
   * instead of one thread per take. @internal
   */
  fill(low = false): void {
    if (this.#closed || this.#owed > 0) return;
    const count = this.size - this.#ready.length;
    if (count <= 0 || (low && this.#ready.length > this.size / 2)) return;
    let owed = count;
    native.nsFill(CLONE_FLAG.net, 'net', this.lo, false, count, (fd, errno, syscall) => {
      if (fd < 0) {
        // The batch stopped here: it owes nothing more.
        this.#owed -= owed;
        owed = 0;
        this.#error = new SysError(errno, syscall);
      } else {
        this.#owed--;
        owed--;
        if (this.#closed) native.close(fd);
        else {
          this.#error = undefined;
          this.#ready.push(adoptNamespaceFd(fd));
        }
      }
      this.#wake();
    });
    this.#owed = count;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /**
   * Takes a namespace out of the pool: the caller owns the handle (close it once the
   * process that joins it has started; the namespace lives on in that process). Once half
   * the pool is gone, starts a refill of the missing ones in the background.
   *
   * Never waits: from an empty pool it makes the namespace synchronously, as a refill does
   * (unshare(2), `lo` up, on a dedicated native thread), blocking the caller for that
   * (~0.4 ms).
   * Needs CAP_SYS_ADMIN (and for `lo`, CAP_NET_ADMIN) in the caller's user namespace.
   * @throws `ERR_HANDLE_CLOSED` after close; SysError `EPERM` (syscall `'unshare'`),
   * `ENOSPC` (`/proc/sys/user/max_net_namespaces`) when the pool is empty and making one fails.
   */
  take(): Namespace {
    if (this.#closed) throw handleClosed('NamespacePool');
    let ns = this.#ready.shift();
    if (ns === undefined) {
      const [fd] = native.nsMake(CLONE_FLAG.net, 'net', this.lo, false);
      ns = adoptNamespaceFd(fd);
    }
    this.fill(true);
    return ns;
  }

  /**
   * {@link NamespacePool.take} without its fallback: a ready namespace, or `undefined` when
   * the pool is empty (then the caller makes its own; a template run's child does, off this
   * thread). Starts a refill as take() does. @internal
   */
  tryTake(): Namespace | undefined {
    if (this.#closed) throw handleClosed('NamespacePool');
    const ns = this.#ready.shift();
    this.fill(true);
    return ns;
  }

  /**
   * Resolves once the pool holds `size` namespaces (right away if it does). Useful before a
   * benchmark or a burst of spawns. Does not block the event loop.
   * @throws (rejects) the SysError that stopped the background fill (e.g. `EPERM`, syscall
   * `'unshare'`, for a caller without CAP_SYS_ADMIN); `ERR_HANDLE_CLOSED` if the pool is or
   * gets closed.
   */
  async ready(): Promise<void> {
    let tried = false;
    for (;;) {
      if (this.#closed) throw handleClosed('NamespacePool');
      if (this.#ready.length >= this.size) return;
      if (this.#owed === 0) {
        // A failed fill is tried once more before its error is the answer.
        if (this.#error && tried) throw this.#error;
        this.#error = undefined;
        tried = true;
        this.fill();
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /**
   * Closes every namespace still in the pool (close(2) of each handle; the kernel destroys
   * them in its cleanup worker) and stops refilling: namespaces a fill thread hands over
   * later are closed as they arrive. Handles already taken are the takers'. Idempotent;
   * never blocks. {@link NamespacePool[Symbol.asyncDispose]} also waits for the fill thread.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const ready = this.#ready;
    this.#ready = [];
    for (const ns of ready) ns.close();
    this.#wake();
  }

  /** Same as {@link NamespacePool.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** {@link NamespacePool.close}, then waits until no fill thread owes a namespace (each is closed as it arrives). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    while (this.#owed > 0) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}

/**
 * Makes a pool of `size` network namespaces, filled in the background from now on: each one
 * made by unshare(2) on a detached native thread with `lo` brought up, so a spawn that joins
 * one (`spawn(cmd, { namespaces: […], join: { net: pool } })`) skips the ~0.4 ms the kernel
 * spends creating a network namespace inside clone(2). Like running `unshare --net` ahead of
 * time, minus the bind mounts of `ip netns add`.
 *
 * Privileges: CAP_SYS_ADMIN (and CAP_NET_ADMIN for `lo`) in the caller's user namespace —
 * root, in practice; a rootless caller gets the fill's `EPERM` from
 * {@link NamespacePool.ready} and from `take()` on an empty pool. Does not block: returns
 * before the first namespace exists. Close it (`using`/`await using`, or `close()`) to
 * release the idle ones.
 *
 * @throws `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE` (a kind other than `'net'`),
 * `ERR_OUT_OF_RANGE` (size) before any syscall; SysError `EAGAIN` (syscall `'pthread_create'`).
 */
export function namespacePool(options: NamespacePoolOptions): NamespacePool {
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  const { kind, size, lo } = options;
  if (typeof kind !== 'string') throw invalidArgType('options.kind', 'of type string', kind);
  if (kind !== 'net') throw invalidArgValue('options.kind', kind, "must be 'net' (the only kind a pool pays for)");
  if (typeof size !== 'number') throw invalidArgType('options.size', 'of type number', size);
  if (!Number.isInteger(size) || size < 1 || size > MAX_SIZE) throw outOfRange('options.size', `an integer >= 1 and <= ${MAX_SIZE}`, size);
  if (lo !== undefined && typeof lo !== 'boolean') throw invalidArgType('options.lo', 'of type boolean', lo);
  const pool = new NamespacePool(kToken, kind, size, lo ?? true);
  pool.fill();
  return pool;
}
