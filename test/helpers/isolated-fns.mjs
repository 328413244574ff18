// Functions test/integration/testing.test.ts runs with runIsolated (plain JavaScript: the
// isolated Node process loads this module with import(), without vitest's transform).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** What the function sees of its namespaces. */
export async function probe() {
  const { links } = await import('nsbox/net');
  return {
    pid: process.pid,
    ppid: process.ppid,
    uid: process.getuid(),
    hostname: hostname(),
    links: (await links()).map((l) => l.name),
    // /proc/self/net is the reading process's network namespace whatever /proc shows.
    dev: readFileSync('/proc/self/net/dev', 'utf8')
      .split('\n')
      .slice(2)
      .map((l) => l.split(':')[0].trim())
      .filter((n) => n !== ''),
    ns: readFileSync('/proc/self/status', 'utf8').match(/^NSpid:\s*(.*)$/m)[1],
  };
}

/** Echoes structured-clone data back, with a few kinds the v8 serializer keeps. */
export function echo(value) {
  return { value, map: new Map([['k', 1n]]), date: new Date(0), bytes: new Uint8Array([1, 2, 3]), set: new Set(['a']) };
}

/** A real SysError from nsbox: mounting on a missing path inside a user and mount namespace. */
export async function mountMissing(path) {
  const { mountTmpfs } = await import('nsbox/fs');
  mountTmpfs(path);
  return 'mounted?';
}

/** Never returns (a busy loop keeps the event loop from ever running again). */
export function hang() {
  for (;;);
}

/** Starts a grandchild that would outlive a careless runner, then hangs. */
export async function hangWithChild() {
  const { spawn } = await import('node:child_process');
  const c = spawn('sleep', ['1000'], { stdio: 'ignore' });
  await new Promise((r) => c.once('spawn', r));
  for (;;);
}

/** The default export: a + b. */
export default function add(a, b) {
  return a + b;
}
