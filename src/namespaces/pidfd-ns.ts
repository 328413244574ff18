/**
 * The namespaces of a process named by a pid, pinned by a pidfd so that a pid reused meanwhile
 * is never taken for it.
 *
 * A pid names a process only until that process is reaped; then the kernel may hand the number
 * to another one. Opening `/proc/PID/ns/X` by path can therefore reach a stranger's namespace,
 * and several opens of one pid can reach two processes. So the process is pinned first with
 * pidfd_open(2), and every namespace is then taken through that pidfd:
 * - Linux 6.11 and later: ioctl(pidfd, PIDFD_GET_*_NAMESPACE) returns the namespace of exactly
 *   the pidfd's process (ESRCH once it has exited);
 * - before: `/proc/PID/ns/X` is opened, then pidfd_send_signal(2) with signal 0 asks whether
 *   the pidfd's process is still unreaped. If it is, its pid cannot have been reused, so the
 *   file opened in between was its own; if not, the fd is closed and the open fails ESRCH.
 * @internal
 * @module
 */
import { SysError } from '../errors.js';
import { K, native } from '../native.js';
import type { NamespaceFile } from './types.js';

// (K's, not node:os's: `nsbox run` loads no node:os unless it needs to)
const { ESRCH, ENOENT, ENOTTY, EINVAL, EOPNOTSUPP } = K.ERRNO;

/** False once the kernel answered ENOTTY/EINVAL: it predates PIDFD_GET_*_NAMESPACE (6.11). */
let nsIoctl = true;

/** The `/proc` file that names namespace `file` of `pid`: the `path` of every error here. */
const procPath = (pid: number, file: NamespaceFile): string => `/proc/${pid}/ns/${file}`;

/** `err` (a SysError from native code) again with `pid` and `path`; `err` becomes its `cause`. */
function withPid(err: unknown, pid: number, path: string): unknown {
  if (!(err instanceof SysError)) return err;
  const out = new SysError(err.errno, err.syscall, { path, pid });
  Object.defineProperty(out, 'cause', { value: err, writable: true, configurable: true, enumerable: false });
  return out;
}

/**
 * pidfd_open(2) of `pid` (with PIDFD_THREAD for a thread id that leads no thread group), for
 * {@link nsFdOfPidfd}. The caller closes it (native.close).
 * @throws SysError `ESRCH` (no such process: it exited and was reaped), `EINVAL` (a thread id
 * before Linux 6.9), syscall `'pidfd_open'`, with `pid` and `path` (the namespace file meant).
 */
export function openPidfd(pid: number, file: NamespaceFile): number {
  try {
    return native.pidfdOpen(pid);
  } catch (err) {
    if (!(err instanceof SysError) || err.errno !== -EINVAL) throw withPid(err, pid, procPath(pid, file));
  }
  try {
    return native.pidfdOpen(pid, true);
  } catch (err) {
    throw withPid(err, pid, procPath(pid, file));
  }
}

/**
 * The nsfs fd (O_CLOEXEC) of namespace `file` of the process `pidfd` names (`pid` is its number
 * in our pid namespace, for the /proc fallback and the errors). The pidfd stays the caller's.
 * @throws SysError with `pid` and `path` (`/proc/PID/ns/FILE`): `ESRCH` once the process has
 * exited (syscall `'ioctl'`, `'open'` or `'pidfd_send_signal'`), `EACCES` without ptrace read
 * access (`'ioctl'`, or `'open'` before Linux 6.11), `ENOENT` (`'open'`) for a kind the kernel
 * lacks, or `pid_for_children` before the pid namespace has its first process.
 */
export function nsFdOfPidfd(pidfd: number, pid: number, file: NamespaceFile): number {
  const path = procPath(pid, file);
  // pid_for_children always by path: /proc hides a pid namespace that has no init yet (ENOENT),
  // where the ioctl would hand it out.
  if (nsIoctl && file !== 'pid_for_children') {
    const fd = native.nsFromPidfd(pidfd, K.PIDFD_GET_NS[file]);
    if (fd >= 0) return fd;
    if (fd === -ENOTTY || fd === -EINVAL) nsIoctl = false;
    else if (fd !== -EOPNOTSUPP) throw new SysError(fd, 'ioctl', { path, pid }); // EOPNOTSUPP: /proc says ENOENT
  }
  let fd: number;
  try {
    fd = native.nsOpen(path);
  } catch (err) {
    // An exited process (zombie or reaped) has no namespaces left: ESRCH, as the ioctl says.
    if (err instanceof SysError && err.errno === -ENOENT && native.pidfdExited(pidfd)) throw new SysError(ESRCH, 'open', { path, pid });
    throw withPid(err, pid, path);
  }
  // Only ESRCH means reaped (EPERM: alive, but not ours to signal).
  if (native.pidfdSignal(pidfd, 0) === ESRCH) {
    native.close(fd);
    throw new SysError(ESRCH, 'pidfd_send_signal', { path, pid });
  }
  return fd;
}

/** Forces the /proc fallback (true) or restores the probe (false), for tests. @internal */
export function forceProcFallback(on: boolean): void {
  nsIoctl = !on;
}
