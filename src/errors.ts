/**
 * Errors thrown by nsbox.
 *
 * Two kinds, as in Node itself:
 * - {@link SysError}: the kernel refused (`code` such as `'EPERM'`, negative `errno`,
 *   `syscall`, and where they apply `path`, `dest`, `step`, …).
 * - Misuse: a synchronous `TypeError`/`RangeError`/`Error` with an `ERR_*` `code`, thrown
 *   before any syscall is made.
 *
 * See docs/errors.md for every code and when it is thrown.
 * @module
 */
import { getSystemErrorMap, inspect } from 'node:util';
import { EXTRA_ERRNOS } from './errnos.js';

/** Node's errno table, built at the first error (libuv's map: ~0.2 ms, of every start-up otherwise). */
let systemErrors: Map<number, [string, string]> | undefined;

/**
 * `[code, description]` of a negative errno: Node's own table first (so `code` is what
 * `util.getSystemErrorName()` says), then the Linux names libuv lacks (`EUSERS`, `ENOEXEC`,
 * `EDQUOT`, …; src/errnos.ts).
 */
function describeErrno(n: number): readonly [string, string] {
  return (systemErrors ??= getSystemErrorMap()).get(n) ?? EXTRA_ERRNOS.get(-n) ?? [`Unknown system error ${-n}`, 'unknown error'];
}

/** Extra context nsbox attaches to a {@link SysError}. */
export interface SysErrorContext {
  /** The file the syscall acted on. */
  path?: string;
  /** The second path of a two-path syscall (mount target, rename destination). */
  dest?: string;
  /** The spawn-plan step that failed (`'setns'`, `'idmap'`, `'exec'`, …). */
  step?: string;
  /** The pid a failing operation was about, when there is one. */
  pid?: number;
  /** The cgroup (its path in the v2 hierarchy, e.g. `/app/web`) a failing cgroupfs access was about. */
  cgroup?: string;
  /** The interface a failing netlink request was about, when there is one. */
  ifname?: string;
  /**
   * The kernel's own explanation: the extended-ACK text of a netlink error
   * (NLMSGERR_ATTR_MSG, e.g. `"Attribute failed policy validation"`), or an fs context's log.
   */
  kernelMessage?: string;
  /** What nsbox knows about why this happens and what to do, when it knows more than the errno says. */
  hint?: string;
  /**
   * The nf_tables transaction message the kernel refused, as `nft` would write the command
   * (`'add rule ip nsbox_pub prerouting'`).
   */
  nftOp?: string;
  /** The refused message's position in its nf_tables transaction (0-based, batch markers not counted). */
  nftIndex?: number;
  /** A failed spawn hook's exit status, when it exited non-zero (spawn's `hooks`). */
  status?: number;
  /** The signal that ended a failed spawn hook (`'SIGKILL'` after its timeout). */
  signal?: string;
  /** The end of a failed spawn hook's stderr (its last 4 KiB). */
  stderr?: string;
}

/**
 * A failed system call, shaped like Node's own system errors, so code that handles
 * `fs` errors handles these the same way.
 *
 * `errno` is negative, as in Node: `util.getSystemErrorName(err.errno) === err.code`.
 * The message reads `EPERM: operation not permitted, mount 'tmpfs' -> '/x'`.
 */
export class SysError extends Error {
  // Declared in Node's order (errno, code, syscall, path, dest), so inspect() reads the same.
  /** Negative errno, as Node reports it. */
  readonly errno: number;
  /**
   * Symbolic errno name, e.g. `'ENOENT'`: Node's name where Node has one (so `-95` is
   * `'ENOTSUP'`), else the kernel's (`'EUSERS'`).
   */
  readonly code: string;
  /** The syscall that failed, e.g. `'execve'`. */
  readonly syscall: string;
  // `declare`: no own property unless set, as in Node's errors (Object.keys, toMatchObject).
  /** The path the syscall acted on, when there is one. */
  declare readonly path?: string;
  /** The second path, when there is one. */
  declare readonly dest?: string;
  /** The spawn-plan step that failed (see docs/errors.md for the list). */
  declare readonly step?: string;
  /** The pid concerned, when there is one. */
  declare readonly pid?: number;
  /** The cgroup concerned (path in the v2 hierarchy), when there is one. */
  declare readonly cgroup?: string;
  /** The interface a netlink request was about, when there is one. */
  declare readonly ifname?: string;
  /** The kernel's extended-ACK text (netlink) or fs context log, when it gave one. */
  declare readonly kernelMessage?: string;
  /** nsbox's explanation of the likely cause and the fix, when it has one (also at the end of the message). */
  declare readonly hint?: string;
  /** The refused nf_tables transaction message, as an `nft` command (`'add rule ip t c'`). */
  declare readonly nftOp?: string;
  /** The refused message's position in its nf_tables transaction. */
  declare readonly nftIndex?: number;
  /** A failed spawn hook's exit status, when it exited non-zero. */
  declare readonly status?: number;
  /** The signal that ended a failed spawn hook. */
  declare readonly signal?: string;
  /** The end of a failed spawn hook's stderr. */
  declare readonly stderr?: string;

  /**
   * @param errno - errno, positive or negative (stored negative).
   * @param syscall - the syscall's name.
   * @param context - path, dest, step, pid.
   */
  constructor(errno: number, syscall: string, context: SysErrorContext = {}) {
    const n = -Math.abs(errno);
    const [code, description] = describeErrno(n);
    let message = `${code}: ${description}, ${syscall}`;
    if (context.path !== undefined) message += ` '${context.path}'`;
    if (context.dest !== undefined) message += ` -> '${context.dest}'`;
    if (context.step !== undefined) message += ` (spawn step '${context.step}')`;
    if (context.ifname !== undefined) message += ` '${context.ifname}'`;
    if (context.nftOp !== undefined) message += ` '${context.nftOp}'`;
    if (context.kernelMessage !== undefined) message += ` (kernel: ${context.kernelMessage})`;
    if (context.hint !== undefined) message += ` — ${context.hint}`;
    super(message);
    this.errno = n;
    this.code = code;
    this.syscall = syscall;
    const self = this as { -readonly [K in keyof SysErrorContext]: SysErrorContext[K] };
    if (context.path !== undefined) self.path = context.path;
    if (context.dest !== undefined) self.dest = context.dest;
    if (context.step !== undefined) self.step = context.step;
    if (context.pid !== undefined) self.pid = context.pid;
    if (context.cgroup !== undefined) self.cgroup = context.cgroup;
    if (context.ifname !== undefined) self.ifname = context.ifname;
    if (context.kernelMessage !== undefined) self.kernelMessage = context.kernelMessage;
    if (context.hint !== undefined) self.hint = context.hint;
    if (context.nftOp !== undefined) self.nftOp = context.nftOp;
    if (context.nftIndex !== undefined) self.nftIndex = context.nftIndex;
    if (context.status !== undefined) self.status = context.status;
    if (context.signal !== undefined) self.signal = context.signal;
    if (context.stderr !== undefined) self.stderr = context.stderr;
  }

  static {
    // On the prototype, not an own property: Object.keys(err) lists only the error's data,
    // as for Node's errors; the stack still reads `SysError: EPERM: …`.
    Object.defineProperty(SysError.prototype, 'name', { value: 'SysError', writable: true, configurable: true, enumerable: false });
  }
}

/** The `ERR_*` codes nsbox throws for misuse (see docs/errors.md). */
export type NsboxErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_HANDLE_CLOSED'
  | 'ERR_NSBOX_THREAD_NAMESPACE'
  | 'ERR_NSBOX_ADDON_LOAD'
  | 'ERR_NSBOX_UNSUPPORTED'
  | 'ERR_NSBOX_CGROUP_CONTROLLER'
  | 'ERR_NSBOX_NO_IDMAP_HELPER'
  | 'ERR_NSBOX_NO_ID_RANGE'
  | 'ERR_NSBOX_NETLINK_DECODE'
  | 'ERR_NSBOX_NETLINK_ENCODE'
  | 'ERR_NSBOX_SECCOMP_TOO_LARGE'
  | 'ERR_NSBOX_HOOK_FAILED'
  | 'ERR_NSBOX_ISOLATED_FAILED'
  | 'ERR_NSBOX_NETWORK_EXISTS'
  | 'ERR_NSBOX_NETWORK_NOT_FOUND'
  | 'ERR_NSBOX_NETWORK_IN_USE'
  | 'ERR_NSBOX_NETWORK_FULL'
  | 'ERR_UNKNOWN_SIGNAL'
  | 'ERR_ILLEGAL_CONSTRUCTOR'
  | 'ERR_INTERNAL_ASSERTION'
  | 'ABORT_ERR';

/** Every {@link NsboxErrorCode}, at run time; the Record type makes a missing or extra one a compile error. */
const CODES: Record<NsboxErrorCode, true> = {
  ERR_INVALID_ARG_TYPE: true,
  ERR_INVALID_ARG_VALUE: true,
  ERR_OUT_OF_RANGE: true,
  ERR_HANDLE_CLOSED: true,
  ERR_NSBOX_THREAD_NAMESPACE: true,
  ERR_NSBOX_ADDON_LOAD: true,
  ERR_NSBOX_UNSUPPORTED: true,
  ERR_NSBOX_CGROUP_CONTROLLER: true,
  ERR_NSBOX_NO_IDMAP_HELPER: true,
  ERR_NSBOX_NO_ID_RANGE: true,
  ERR_NSBOX_NETLINK_DECODE: true,
  ERR_NSBOX_NETLINK_ENCODE: true,
  ERR_NSBOX_SECCOMP_TOO_LARGE: true,
  ERR_NSBOX_HOOK_FAILED: true,
  ERR_NSBOX_ISOLATED_FAILED: true,
  ERR_NSBOX_NETWORK_EXISTS: true,
  ERR_NSBOX_NETWORK_NOT_FOUND: true,
  ERR_NSBOX_NETWORK_IN_USE: true,
  ERR_NSBOX_NETWORK_FULL: true,
  ERR_UNKNOWN_SIGNAL: true,
  ERR_ILLEGAL_CONSTRUCTOR: true,
  ERR_INTERNAL_ASSERTION: true,
  ABORT_ERR: true,
};

/** The codes of {@link NsboxErrorCode} as a list (docs/errors.md documents each). @internal */
export const NSBOX_ERROR_CODES = Object.keys(CODES) as readonly NsboxErrorCode[];

type WithCode<E extends Error> = E & { code: NsboxErrorCode };

function withCode<E extends Error>(err: E, code: NsboxErrorCode): WithCode<E> {
  Object.defineProperty(err, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  // Node's own errors print as "TypeError [ERR_X]: ..."; keep that shape in the stack.
  if (err.stack) err.stack = err.stack.replace(/^(\w+)/, `$1 [${code}]`);
  return err as WithCode<E>;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const ctor = (value as object).constructor?.name;
    return ctor ? `an instance of ${ctor}` : inspect(value, { depth: -1 });
  }
  // As Node: a long string is cut before quoting, so the quotes stay balanced.
  if (typeof value === 'string' && value.length > 28) return `type string (${inspect(`${value.slice(0, 25)}...`)})`;
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof value} (${shown})`;
}

/**
 * A Node fs error (`errno`, `syscall`) as a {@link SysError} with nsbox's context, the fs error
 * kept as a non-enumerable `cause` (as `new Error(msg, { cause })` makes it, so Object.keys
 * stays Node-like). `syscall` overrides Node's name for the call. Anything that is not an fs
 * error is returned unchanged. The one converter every module uses. @internal
 */
export function fromFsError(cause: unknown, context: SysErrorContext, syscall?: string): unknown {
  const e = cause as NodeJS.ErrnoException;
  if (typeof e?.errno !== 'number' || (syscall === undefined && typeof e.syscall !== 'string')) return cause;
  const err = new SysError(e.errno, syscall ?? e.syscall!, context);
  Object.defineProperty(err, 'cause', { value: cause, writable: true, configurable: true, enumerable: false });
  return err;
}

/**
 * `err` again with a `hint` (a new SysError with the same fields; `err` becomes its
 * non-enumerable `cause`), instead of editing a thrown error's message. @internal
 */
export function withHint(err: SysError, hint: string): SysError {
  const ctx: SysErrorContext = { hint };
  for (const k of ['path', 'dest', 'step', 'pid', 'cgroup', 'ifname', 'kernelMessage'] as const) {
    if (err[k] !== undefined) (ctx as Record<string, unknown>)[k] = err[k];
  }
  const out = new SysError(err.errno, err.syscall, ctx);
  Object.defineProperty(out, 'cause', { value: err, writable: true, configurable: true, enumerable: false });
  return out;
}

/** `The "name" argument must be of type X. Received …` */
export function invalidArgType(name: string, expected: string, actual: unknown): WithCode<TypeError> {
  const what = name.includes('.') ? 'property' : 'argument';
  return withCode(new TypeError(`The "${name}" ${what} must be ${expected}. Received ${describe(actual)}`), 'ERR_INVALID_ARG_TYPE');
}

/** `The argument 'name' is invalid. Received …` with a reason. */
export function invalidArgValue(name: string, value: unknown, reason = 'is invalid'): WithCode<TypeError> {
  const what = name.includes('.') ? 'property' : 'argument';
  return withCode(
    new TypeError(`The ${what} '${name}' ${reason}. Received ${inspect(value, { depth: 1, breakLength: Infinity })}`),
    'ERR_INVALID_ARG_VALUE',
  );
}

/** `The value of "name" is out of range. It must be X. Received Y` */
export function outOfRange(name: string, range: string, value: unknown): WithCode<RangeError> {
  return withCode(
    new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${inspect(value)}`),
    'ERR_OUT_OF_RANGE',
  );
}

/** A method was called on a handle after `close()`. */
export function handleClosed(what: string): WithCode<Error> {
  return withCode(new Error(`${what} is closed`), 'ERR_HANDLE_CLOSED');
}

/**
 * `Unknown signal: X`, as child_process throws for a `killSignal` or `kill()` argument that
 * names no signal.
 */
export function unknownSignal(value: unknown): WithCode<TypeError> {
  return withCode(new TypeError(`Unknown signal: ${String(value)}`), 'ERR_UNKNOWN_SIGNAL');
}

/**
 * The error an aborted operation fails with, as Node's own (`events.once`, `fs.promises`,
 * `child_process`): an `Error` named `'AbortError'`, `code` `'ABORT_ERR'`, and the signal's
 * reason as `cause`. The one implementation every nsbox `signal` option uses.
 */
export function abortError(signal: AbortSignal): WithCode<Error> {
  const err = new Error('The operation was aborted', { cause: signal.reason }) as WithCode<Error>;
  // Own properties in Node's order (Object.keys: code, name); the stack reads "AbortError: …".
  err.code = 'ABORT_ERR';
  err.name = 'AbortError';
  if (err.stack) err.stack = err.stack.replace(/^Error/, 'AbortError');
  return err;
}

/** `new` of a class whose instances only nsbox makes (as Node's `ERR_ILLEGAL_CONSTRUCTOR`). @internal */
export function illegalConstructor(use: string): WithCode<TypeError> {
  return withCode(new TypeError(`Illegal constructor: use ${use}`), 'ERR_ILLEGAL_CONSTRUCTOR');
}

/** A broken invariant of nsbox itself: a bug to report (as Node's `ERR_INTERNAL_ASSERTION`). @internal */
export function internalAssertion(message: string): WithCode<Error> {
  return withCode(new Error(`nsbox internal error: ${message}. Please report it.`), 'ERR_INTERNAL_ASSERTION');
}

/** A generic nsbox misuse error with a chosen code. */
export function nsboxError(code: NsboxErrorCode, message: string): WithCode<Error> {
  return withCode(new Error(message), code);
}

/**
 * A netlink message from the kernel (or bytes handed to the decoder) that does not parse:
 * a length that overruns its container, a header shorter than its struct, an attribute of
 * the wrong size. Never a partial result: the whole message is refused.
 * `code` is `'ERR_NSBOX_NETLINK_DECODE'`; `offset` is where in the buffer the fault is.
 */
export class NetlinkDecodeError extends Error {
  /** Always `'ERR_NSBOX_NETLINK_DECODE'`. */
  readonly code = 'ERR_NSBOX_NETLINK_DECODE' as const;
  /** Byte offset of the fault in the decoded buffer. */
  readonly offset: number;

  /** @param message - what is wrong. @param offset - where. */
  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.offset = offset;
  }

  static {
    Object.defineProperty(NetlinkDecodeError.prototype, 'name', {
      value: 'NetlinkDecodeError',
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
}
