/**
 * seccomp user notification (seccomp_unotify(2)) for Node: a syscall that a filter sends to
 * user space (`SCMP_ACT_NOTIFY`) waits in the kernel until this process answers it. The
 * listener fd comes back from the child over the status socket (the command never holds
 * it) and is polled in the event loop; each notification is an object to answer.
 * @module
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { fromFsError, handleClosed, outOfRange, SysError } from '../errors.js';
import { native, type NativeSeccompListener } from '../native.js';
import { EventQueue } from '../queue.js';
import { syscallName } from './seccomp/index.js';

/** AUDIT_ARCH_* values (linux/audit.h) and the names the syscall tables use. */
const ARCH_OF: Readonly<Record<number, string>> = {
  3221225534: 'x86_64',
  1073741827: 'x86',
  3221225655: 'aarch64',
  1073741864: 'arm',
};
const X32_BIT = 0x40000000;
const SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1;
const SECCOMP_ADDFD_FLAG_SETFD = 1;
const SECCOMP_ADDFD_FLAG_SEND = 2;
const O_CLOEXEC = 0o2000000;

/** What {@link SeccompNotification.addFd} takes. */
export interface AddFdOptions {
  /** Put the fd at this number in the target (SECCOMP_ADDFD_FLAG_SETFD). Default: the lowest free one. */
  targetFd?: number;
  /** O_CLOEXEC on the new fd. Default false. */
  cloexec?: boolean;
  /** Add the fd and answer the syscall with its number, atomically (SECCOMP_ADDFD_FLAG_SEND). Default false. */
  send?: boolean;
}

/**
 * One syscall waiting for an answer. Exactly one of `respond`, `fail`, `continue` (or
 * `addFd` with `send`) should be called; until then the calling thread sleeps in the kernel.
 */
export class SeccompNotification {
  /** The kernel's cookie for this notification. */
  readonly id: bigint;
  /** The calling thread, as a pid in the listener's pid namespace (0 if not visible there). */
  readonly pid: number;
  /** The syscall number, as the target's architecture numbers it. */
  readonly nr: number;
  /** The syscall's name, or `syscall_<nr>` when not in nsbox's tables. */
  readonly syscall: string;
  /** The target's architecture: 'x86_64', 'x86', 'x32', 'aarch64', 'arm', or the AUDIT_ARCH value in hex. */
  readonly arch: string;
  /** The six arguments, as 64-bit values. */
  readonly args: readonly bigint[];
  /** The instruction pointer at the syscall. */
  readonly instructionPointer: bigint;
  readonly #listener: SeccompNotifier;

  /** @internal */
  constructor(listener: SeccompNotifier, raw: Buffer) {
    this.#listener = listener;
    this.id = raw.readBigUInt64LE(0);
    this.pid = raw.readUInt32LE(8);
    const nr = raw.readInt32LE(16);
    const audit = raw.readUInt32LE(20);
    let arch = ARCH_OF[audit] ?? `0x${audit.toString(16)}`;
    if (arch === 'x86_64' && nr & X32_BIT) arch = 'x32';
    this.nr = arch === 'x32' ? nr & ~X32_BIT : nr;
    this.arch = arch;
    this.syscall = syscallName(this.nr, arch) ?? `syscall_${this.nr}`;
    this.instructionPointer = raw.readBigUInt64LE(24);
    this.args = Object.freeze([0, 1, 2, 3, 4, 5].map((i) => raw.readBigUInt64LE(32 + 8 * i)));
  }

  #answer(value: bigint, error: number, flags: number): void {
    const err = this.#listener[kNative]().respond(this.id, value, error, flags);
    if (err !== 0) throw new SysError(err, 'ioctl', { step: 'SECCOMP_IOCTL_NOTIF_SEND' });
  }

  /** The syscall returns `value` (SECCOMP_IOCTL_NOTIF_SEND). @throws {@link SysError} ENOENT if the target is gone or was interrupted. */
  respond(value: number | bigint = 0): void {
    this.#answer(BigInt.asIntN(64, BigInt(value)), 0, 0);
  }

  /** The syscall fails with `errno` (a positive number, e.g. 1 for EPERM). */
  fail(errno: number): void {
    if (!Number.isInteger(errno) || errno <= 0 || errno > 4095) throw outOfRange('errno', 'an integer from 1 to 4095', errno);
    this.#answer(0n, -errno, 0);
  }

  /**
   * The kernel runs the syscall as if no filter had asked (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
   * Not a security decision: the target may have changed the memory the arguments point to
   * since you read it (seccomp_unotify(2)); use it to let through what you did not inspect.
   */
  continue(): void {
    this.#answer(0n, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
  }

  /** True while the target still waits for this notification (SECCOMP_IOCTL_NOTIF_ID_VALID). */
  valid(): boolean {
    return this.#listener[kNative]().idValid(this.id) === 0;
  }

  /**
   * Reads `length` bytes of the target's memory at `address` through /proc/PID/mem, checking
   * after the open that the notification is still pending, so the pid cannot have been
   * reused for another process (the pattern seccomp_unotify(2) prescribes).
   * @throws {@link SysError} (e.g. EIO for an unmapped address, ENOENT when no longer valid).
   */
  readMemory(address: bigint | number, length: number): Buffer {
    const path = `/proc/${this.pid}/mem`;
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (cause) {
      throw fromFsError(cause, { path, pid: this.pid }, 'open');
    }
    try {
      if (!this.valid()) throw new SysError(2, 'ioctl', { path, pid: this.pid, step: 'SECCOMP_IOCTL_NOTIF_ID_VALID' });
      const buf = Buffer.alloc(length);
      let n: number;
      try {
        n = readSync(fd, buf, 0, length, BigInt(address));
      } catch (cause) {
        throw fromFsError(cause, { path, pid: this.pid }, 'pread');
      }
      return buf.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  }

  /** A NUL-terminated string of the target's memory (a path argument), at most `max` bytes. */
  readString(address: bigint | number, max = 4096): string {
    let out = Buffer.alloc(0);
    let at = BigInt(address);
    while (out.length < max) {
      // Page by page: a string near the end of a mapping must not fail on the next page.
      const room = Number(4096n - (at % 4096n));
      const chunk = this.readMemory(at, Math.min(room, max - out.length));
      const nul = chunk.indexOf(0);
      out = Buffer.concat([out, nul >= 0 ? chunk.subarray(0, nul) : chunk]);
      if (nul >= 0 || chunk.length === 0) break;
      at += BigInt(chunk.length);
    }
    return out.toString('utf8');
  }

  /**
   * Installs a copy of `fd` (one of this process's) into the target (SECCOMP_IOCTL_NOTIF_ADDFD).
   * Returns its number there. With `send`, this also answers the syscall with that number.
   */
  addFd(fd: number, options: AddFdOptions = {}): number {
    const flags = (options.targetFd !== undefined ? SECCOMP_ADDFD_FLAG_SETFD : 0) | (options.send ? SECCOMP_ADDFD_FLAG_SEND : 0);
    const r = this.#listener[kNative]().addFd(this.id, fd, options.targetFd ?? 0, flags, options.cloexec ? O_CLOEXEC : 0);
    if (r < 0) throw new SysError(-r, 'ioctl', { step: 'SECCOMP_IOCTL_NOTIF_ADDFD' });
    return r;
  }
}

const kNative = Symbol('nsbox.seccompListener');

/**
 * The notifications of one seccomp filter, as an async iterator: `for await (const n of
 * child.seccompNotifier) { … n.respond(0) }`. Ends when every process using the filter has
 * exited. Notifications are never dropped: each one is a thread waiting in the kernel.
 * Keeps the event loop alive only while a `next()` is pending.
 */
export class SeccompNotifier implements AsyncIterableIterator<SeccompNotification>, Disposable {
  #native: NativeSeccompListener | undefined;
  #queue = new EventQueue<SeccompNotification>(() => this.#native);

  /** Takes ownership of the listener `fd`. @internal */
  constructor(fd: number) {
    this.#native = new native.SeccompListener(fd, (raw, errno) => {
      if (raw) this.#queue.push(new SeccompNotification(this, raw));
      else this.#queue.finish(errno ? new SysError(errno, 'ioctl', { step: 'SECCOMP_IOCTL_NOTIF_RECV' }) : undefined);
    });
    this.#native.ref(false);
  }

  /** @internal */
  [kNative](): NativeSeccompListener {
    if (!this.#native) throw handleClosed('seccomp notifier');
    return this.#native;
  }

  /**
   * The listener's fd number, for `sendFd()` to pass a copy to an agent (runtime-spec
   * `linux.seccomp.listenerPath`); this object keeps owning it. @internal
   * @throws `ERR_HANDLE_CLOSED` once closed.
   */
  rawFd(): number {
    const fd = this[kNative]().fd();
    if (fd < 0) throw handleClosed('seccomp notifier');
    return fd;
  }

  /** The next notification; waits in the event loop. */
  next(): Promise<IteratorResult<SeccompNotification>> {
    return this.#queue.next();
  }

  /** Ends the iteration; the listener stays open for notifications already taken. */
  return(): Promise<IteratorResult<SeccompNotification>> {
    this.#queue.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** The notifier is its own iterator: `for await (const n of notifier)`. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * Closes the listener. Every syscall still waiting on it fails with ENOSYS, and later ones
   * that the filter would notify fail too (seccomp_unotify(2)). Idempotent.
   */
  close(): void {
    this.#queue.finish();
    this.#native?.close();
    this.#native = undefined;
  }

  /** {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
