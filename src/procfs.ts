/**
 * Small, synchronous procfs readers shared by the modules. Reading a procfs file is cheap
 * and never waits on anything but the kernel generating the text, so these are sync.
 * @internal
 * @module
 */
import { readFileSync } from 'node:fs';
import { fromFsError, invalidArgType, outOfRange } from './errors.js';

/** A process id, or `'self'` for the calling process. */
export type ProcTarget = number | 'self';

/**
 * Checks a pid argument before any syscall: a positive safe integer or `'self'`.
 * @throws TypeError `ERR_INVALID_ARG_TYPE`, RangeError `ERR_OUT_OF_RANGE`.
 * @internal
 */
export function checkPid(name: string, pid: unknown): ProcTarget {
  if (pid === 'self') return pid;
  if (typeof pid !== 'number') throw invalidArgType(name, "of type number or 'self'", pid);
  if (!Number.isSafeInteger(pid) || pid < 1) throw outOfRange(name, 'a positive integer', pid);
  return pid;
}

/**
 * Reads `/proc/<pid>/<file>` as UTF-8. Node's own fs error is re-thrown as a {@link SysError}
 * (same `code`, `errno`, `syscall`, `path`; plus `pid`), so nsbox throws one error class.
 * @internal
 */
export function readProc(pid: ProcTarget, file: string): string {
  const path = `/proc/${pid}/${file}`;
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw toSysError(cause, path, typeof pid === 'number' ? pid : undefined);
  }
}

/** Converts a Node fs error into a SysError (with `pid`); anything else is returned unchanged. @internal */
export function toSysError(cause: unknown, path: string, pid?: number): unknown {
  return fromFsError(cause, pid === undefined ? { path } : { path, pid });
}
