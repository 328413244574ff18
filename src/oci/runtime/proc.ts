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

/**
 * The command line of a process, for `ps`: its arguments joined by spaces, or its comm in
 * brackets (a kernel thread, a zombie), each escaped by {@link escapeArg}: both are the
 * container's to choose, and go to the operator's terminal.
 */
export function cmdline(pid: number): string {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`);
    if (raw.length !== 0) {
      const args = [];
      for (let at = 0; at < raw.length; ) {
        let end = raw.indexOf(0, at);
        if (end === -1) end = raw.length;
        args.push(escapeArg(raw.subarray(at, end)));
        at = end + 1;
      }
      return args.join(' ');
    }
    const comm = readFileSync(`/proc/${pid}/comm`);
    return `[${escapeArg(comm.subarray(0, comm.at(-1) === 0x0a ? -1 : undefined))}]`;
  } catch {
    return '?';
  }
}

// ignoreBOM: a leading U+FEFF is kept (and escaped), not dropped.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/**
 * What a terminal would act on rather than print: C0 and C1 controls and DEL (`\p{Cc}`: ESC
 * starts an escape sequence, U+009B is CSI to some terminals), format characters (`\p{Cf}`:
 * bidi overrides that reorder what is shown), line and paragraph separators; and `\`, so the
 * escaped text reads back unambiguously.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\\]/gu;

/**
 * One argument (raw bytes) as text that is safe on a terminal and loses nothing: `\` is `\\`,
 * an ASCII control or DEL is `\xNN`, another code point that is not printable is `\u{N}`, and
 * in an argument that is not valid UTF-8 each byte from 0x80 on is `\xNN` too. Not ps(1)'s `?`:
 * that hides what a hostile process wrote, and cannot be told from a real `?`.
 */
export function escapeArg(bytes: Uint8Array): string {
  let text: string;
  let invalid = false;
  try {
    text = utf8.decode(bytes);
  } catch {
    text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    invalid = true;
  }
  const re = invalid ? /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\\\x80-\xff]/gu : UNSAFE;
  return text.replace(re, (c) => {
    if (c === '\\') return '\\\\';
    const n = c.codePointAt(0)!;
    if (n < 0x80 || invalid) return `\\x${n.toString(16).padStart(2, '0')}`;
    return `\\u{${n.toString(16)}}`;
  });
}
