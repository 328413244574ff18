/**
 * What /proc says about a process, read without the addon (so `state` and `list` stay
 * cheap): its start time, which with the pid names one process for the life of the system
 * (proc(5): /proc/PID/stat field 22, in clock ticks since boot), and whether it is a zombie.
 * @internal
 * @module
 */
import { readFileSync } from 'node:fs';

/** Fields of /proc/PID/stat after the command name (which may contain spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // comm is in parentheses and may itself contain ')': the last one ends it.
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** The process's start time (field 22: `starttime`), as a decimal string, or undefined once it is gone. */
export function startTime(pid: number): string | undefined {
  // After the comm: field 3 (state) is index 0, so field 22 is index 19.
  return statFields(pid)?.[19];
}

/**
 * True while the process named by `pid` and `start` runs: /proc/PID/stat exists, has that
 * start time (so a reused pid reads as gone), and is not a zombie (state `Z`) or dead (`X`).
 */
export function isAlive(pid: number, start: string): boolean {
  if (!(pid > 0)) return false;
  const f = statFields(pid);
  if (f === undefined || f[19] !== start) return false;
  return f[0] !== 'Z' && f[0] !== 'X';
}

/** The command line of a process, for `ps` (arguments joined by spaces), or its comm in brackets. */
export function cmdline(pid: number): string {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (raw !== '') return raw.replace(/\0$/, '').split('\0').join(' ');
    return `[${readFileSync(`/proc/${pid}/comm`, 'utf8').trim()}]`;
  } catch {
    return '?';
  }
}
