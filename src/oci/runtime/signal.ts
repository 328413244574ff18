/**
 * Signals for `kill`: parsed as runc takes them (a name with or without `SIG`, any case, or
 * a number), and sent race-free: pidfd_open(2), then the process checked (the container's
 * process: its start time; another one for `kill --all`: its cgroup), then
 * pidfd_send_signal(2) — a pid reused meanwhile by a process outside is never signalled.
 * @internal
 * @module
 */
import { constants } from 'node:os';
import { UsageError } from './errors.js';
import { processCgroupDir } from './cgroup.js';
import { startTime } from './proc.js';
import type { ContainerRecord } from './store.js';

/** `TERM`, `SIGTERM`, `sigterm`, `15` → 15. @throws UsageError for anything else. */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 64) return n;
    throw new UsageError(`unknown signal "${text}": a number must be from 1 to 64`);
  }
  const up = text.toUpperCase();
  const name = (up.startsWith('SIG') ? up : `SIG${up}`) as NodeJS.Signals;
  const n = (constants.signals as Record<string, number>)[name];
  if (n === undefined) throw new UsageError(`unknown signal "${text}"`);
  return n;
}

/**
 * Sends `sig` to the process `pid` started at `start`. Resolves false when that process is
 * gone (exited, or its pid now names another process).
 * @throws SysError from pidfd_open (other than ESRCH) or pidfd_send_signal (EPERM).
 */
export function signalProcess(pid: number, start: string, sig: number): Promise<boolean> {
  return signalIf(pid, () => startTime(pid) === start, sig);
}

/**
 * Sends `sig` to `pid` if it is in the container's cgroup or below it, for `kill --all`: a
 * pid read from cgroup.procs may have exited and been reaped since (by the container's own
 * init), and its number taken by a process outside. Resolves false when it was not signalled.
 * @throws SysError from pidfd_open (other than ESRCH) or pidfd_send_signal (EPERM).
 */
export function signalMember(rec: ContainerRecord, pid: number, sig: number): Promise<boolean> {
  return signalIf(pid, () => processCgroupDir(rec, pid) !== undefined, sig);
}

/**
 * pidfd_open(2) of `pid`, then `check()`, then pidfd_send_signal(2). The pidfd names the
 * process that had the pid when it was opened, P. A pid is reused only once its process is
 * reaped, so whatever `check()` reads in /proc/PID afterwards is either P's, or P is reaped and
 * the signal fails with ESRCH: a process that took the pid is never signalled.
 */
async function signalIf(pid: number, check: () => boolean, sig: number): Promise<boolean> {
  const { native } = await import('../../native.js');
  const { SysError } = await import('../../errors.js');
  let fd: number;
  try {
    fd = native.pidfdOpen(pid);
  } catch (err) {
    const code = (err as { code?: string }).code;
    // ESRCH: gone. EINVAL: the number now names a thread, not a process (pidfd_open(2)).
    if (code === 'ESRCH' || code === 'EINVAL') return false;
    throw err;
  }
  try {
    if (!check()) return false;
    const e = native.pidfdSignal(fd, sig);
    if (e === constants.errno.ESRCH) return false;
    if (e !== 0) throw new SysError(e, 'pidfd_send_signal', { pid });
    return true;
  } finally {
    native.close(fd);
  }
}
