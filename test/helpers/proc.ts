// Independent witnesses of what the library did: /proc, and counts of what a test may leak.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { NsboxChild } from '../../src/index.js';

/** Open fds of this process. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Live children of this process (every thread's), from /proc/self/task/<tid>/children. */
export function childPids(): number[] {
  const out: number[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const s = readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim();
      if (s) out.push(...s.split(/\s+/).map(Number));
    } catch {
      // thread ended while we looked
    }
  }
  return out;
}

/** Mount points of this process. */
export function mounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[4]!);
}

/** `net:[4026531840]` for /proc/<pid>/ns/<type>. */
export function nsId(pid: number | 'self', type: string): string {
  return readlinkSync(`/proc/${pid}/ns/${type}`);
}

/** Collects a child's stdout/stderr and waits for its exit. */
export async function output(child: NsboxChild): Promise<{ stdout: string; stderr: string; code: number | null; signal: string | null }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const closed = new Promise<void>((r) => child.once('close', () => r()));
  const { code, signal } = await child.exited;
  await closed;
  return { stdout, stderr, code, signal };
}

/**
 * The lines of a stream as they come, for readiness handshakes: the child prints a line when
 * it has done something, the test awaits `next()` instead of sleeping. Lines that arrive
 * before they are asked for are kept.
 */
export function lines(stream: Readable): { next(): Promise<string> } {
  const it = createInterface({ input: stream, crlfDelay: Infinity })[Symbol.asyncIterator]();
  return {
    async next() {
      const r = await it.next();
      if (r.done) throw new Error('the stream ended before the line the test waits for');
      return r.value;
    },
  };
}
