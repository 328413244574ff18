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

const systemErrors = getSystemErrorMap();

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
}

/**
 * A failed system call, shaped like Node's own system errors, so code that handles
 * `fs` errors handles these the same way.
 *
 * `errno` is negative, as in Node: `util.getSystemErrorName(err.errno) === err.code`.
 * The message reads `EPERM: operation not permitted, mount 'tmpfs' -> '/x'`.
 */
export class SysError extends Error {
  /** Symbolic errno name, e.g. `'ENOENT'`. */
  readonly code: string;
  /** Negative errno, as Node reports it. */
  readonly errno: number;
  /** The syscall that failed, e.g. `'execve'`. */
  readonly syscall: string;
  /** The path the syscall acted on, when there is one. */
  readonly path?: string;
  /** The second path, when there is one. */
  readonly dest?: string;
  /** The spawn-plan step that failed. */
  readonly step?: string;
  /** The pid concerned, when there is one. */
  readonly pid?: number;

  /**
   * @param errno - errno, positive or negative (stored negative).
   * @param syscall - the syscall's name.
   * @param context - path, dest, step, pid.
   */
  constructor(errno: number, syscall: string, context: SysErrorContext = {}) {
    const n = -Math.abs(errno);
    const [code, description] = systemErrors.get(n) ?? [`Unknown system error ${-n}`, 'unknown error'];
    let message = `${code}: ${description}, ${syscall}`;
    if (context.path !== undefined) message += ` '${context.path}'`;
    if (context.dest !== undefined) message += ` -> '${context.dest}'`;
    if (context.step !== undefined) message += ` (spawn step '${context.step}')`;
    super(message);
    this.name = 'SysError';
    this.code = code;
    this.errno = n;
    this.syscall = syscall;
    if (context.path !== undefined) this.path = context.path;
    if (context.dest !== undefined) this.dest = context.dest;
    if (context.step !== undefined) this.step = context.step;
    if (context.pid !== undefined) this.pid = context.pid;
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
  | 'ERR_NSBOX_NO_IDMAP_HELPER';

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
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof value} (${shown})`;
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

/** A generic nsbox misuse error with a chosen code. */
export function nsboxError(code: NsboxErrorCode, message: string): WithCode<Error> {
  return withCode(new Error(message), code);
}
