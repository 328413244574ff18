/**
 * Signals for `kill`: parsed as runc takes them (a name with or without `SIG`, any case, or
 * a number), and sent race-free: pidfd_open(2), then the start time checked, then
 * pidfd_send_signal(2) — a pid reused since create is never signalled.
 * @internal
 * @module
 */
import { constants } from 'node:os';
import { UsageError } from './errors.js';
import { startTime } from './proc.js';

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
export async function signalProcess(pid: number, start: string, sig: number): Promise<boolean> {
  const { native } = await import('../../native.js');
  const { SysError } = await import('../../errors.js');
  let fd: number;
  try {
    fd = native.pidfdOpen(pid);
  } catch (err) {
    if ((err as { code?: string }).code === 'ESRCH') return false;
    throw err;
  }
  try {
    // The pidfd names whatever had the pid when it was opened: if the start time still
    // matches now, that is the recorded process (a reused pid has a later start time).
    if (startTime(pid) !== start) return false;
    const e = native.pidfdSignal(fd, sig);
    if (e === constants.errno.ESRCH) return false;
    if (e !== 0) throw new SysError(e, 'pidfd_send_signal', { pid });
    return true;
  } finally {
    native.close(fd);
  }
}
