// Worker threads ending while their nsbox objects are busy: children spawned, mount table
// and netlink socket polled, requests in flight, handles never closed. Nothing may crash the
// process (a fatal N-API error while JS cannot run any more), no child may be left behind,
// and every fd a worker held must be closed when it ends (docs/threading.md, "When a worker
// ends"). Each scenario runs in its own Node process so that a crash shows as its exit
// status, not as a lost test run.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { isRoot, usernsTest } from '../helpers/env.js';

const dist = new URL('../../dist/index.js', import.meta.url).href;
const script = `
  import { Worker } from 'node:worker_threads';
  const pids = [];
  for (let i = 0; i < 60; i++) {
    const w = new Worker(\`import { parentPort } from 'node:worker_threads';
      const m = await import(${JSON.stringify(dist)});
      for (let j = 0; j < 3; j++) m.spawn('true', { stdio: 'pipe' });
      const s = m.spawn('sleep', ['60'], { stdio: 'ignore' });
      m.watchMounts().next();
      m.links().catch(() => {});
      parentPort.postMessage(s.pid);\`, { eval: true, type: 'module' });
    pids.push(await new Promise((r, j) => { w.once('message', r); w.once('error', j); }));
    await new Promise((r) => setTimeout(r, i % 3));
    await w.terminate();
  }
  console.log(JSON.stringify(pids));`;

const alive = (pid: number): boolean => {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
};

/** Runs a Node program in its own process; its last stdout line is JSON. */
function runNode(args: string[], timeout: number): { status: number | null; signal: string | null; result: unknown; stderr: string } {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout, maxBuffer: 16 << 20 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let result: unknown = null;
  try {
    result = JSON.parse(last);
  } catch {
    // no result: the status and stderr say why
  }
  return { status: r.status, signal: r.signal, result, stderr: r.stderr.slice(0, 2000) };
}

test('60 workers terminated mid-flight: no crash, every child reaped', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  const pids = JSON.parse(out.trim().split('\n').pop()!) as number[];
  expect(pids).toHaveLength(60);
  expect(pids.filter(alive)).toEqual([]);
}, 150_000);

// Node's own ESM loader reads a module's source with open/read/close requests; a worker
// terminated between them never runs the close (Node 20), so the fd of a .js/.mjs file can
// outlive a worker terminated while it was still importing. That is not nsbox's to close.
const moduleSource = (t: string): boolean => /-> \/.*\.(m?js|json)$/.test(t);

const stress = fileURLToPath(new URL('../helpers/teardown-stress.mjs', import.meta.url));
// The issue asks for 20 rounds of 50; a worker costs ~90 ms of CPU to start and import
// nsbox, so CI runs 4 rounds (200 terminations, ~20 s on 2 cores); NSBOX_TEARDOWN_ROUNDS=20
// runs the full soak.
const rounds = Number(process.env.NSBOX_TEARDOWN_ROUNDS ?? 4);

usernsTest(
  `50 workers × ${rounds} rounds terminated mid-spawn, mid-netlink, mid-watch: no abort, no zombie, no fd growth`,
  () => {
    const r = runNode([stress, '50', String(rounds)], 60_000 + rounds * 30_000);
    // An abort (issue 10, defect 4) is SIGABRT here.
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    const s = r.result as {
      spawns: number;
      before: { fds: number; nsFds: number };
      after: { fds: number; nsFds: number };
      newFds: string[];
      liveChildren: number[];
      zombies: number[];
      errors: string[];
    };
    expect(s.errors).toEqual([]);
    expect(s.spawns).toBeGreaterThan(0); // the workers were busy when they were terminated
    // No child outlives its worker (defect 5): neither running nor as a zombie.
    expect(s.zombies).toEqual([]);
    expect(s.liveChildren).toEqual([]);
    // Every nsfs fd is closed (defect 6), and no other fd is left but Node's own (above).
    expect(s.after.nsFds).toBe(s.before.nsFds);
    expect(s.newFds.filter((t) => !moduleSource(t))).toEqual([]);
  },
  60_000 + rounds * 30_000,
);

test('namespace and mount handles a worker never closed are closed when it ends', () => {
  const program = `
    import { Worker } from 'node:worker_threads';
    import { readdirSync, readlinkSync } from 'node:fs';
    const ns = () => readdirSync('/proc/self/fd').filter((n) => {
      try { return /^(cgroup|ipc|mnt|net|pid|time|user|uts)(_for_children)?:\\[\\d+\\]$/.test(readlinkSync('/proc/self/fd/' + n)); } catch { return false; }
    }).length;
    const before = ns();
    const held = [];
    for (let i = 0; i < 10; i++) {
      const w = new Worker(\`import { parentPort } from 'node:worker_threads';
        const m = await import(${JSON.stringify(dist)});
        const keep = [m.openNamespace('net'), m.openNamespace('uts'), m.openNamespace('user')];
        if (${isRoot}) keep.push(m.createNamespace('net'), m.createNamespace('ipc'), m.fsopen('tmpfs'), m.openTree('/tmp', { clone: true }));
        // Half end by themselves (process.exit, once the parent has the count: a message
        // posted right before process.exit may be lost), half are terminated.
        parentPort.once('message', () => process.exit(0));
        parentPort.postMessage(keep.length);
        setInterval(() => {}, 1000);\`, { eval: true, type: 'module' });
      held.push(await new Promise((r, j) => { w.once('message', r); w.once('error', j); w.once('exit', (c) => j(new Error('worker exited with ' + c + ' before reporting'))); }));
      if (i % 2 === 0) {
        const exited = new Promise((r) => w.once('exit', r));
        w.postMessage('exit');
        await exited;
      } else await w.terminate();
    }
    console.log(JSON.stringify({ held, before, after: ns() }));`;
  const r = runNode(['--input-type=module', '-e', program], 60_000);
  expect(r.status).toBe(0);
  const s = r.result as { held: number[]; before: number; after: number };
  expect(s.held.every((n) => n >= 3)).toBe(true);
  expect(s.after).toBe(s.before);
}, 90_000);

test("a spawning worker's clone stack is unmapped when it ends", () => {
  // spawn's cached stack (csrc/spawn.cc Stack) is 256 KiB with a PROT_NONE guard page at the
  // bottom: a 252 KiB anonymous rw-p mapping in /proc/self/maps. Before the fix each of these
  // 20 workers left one behind.
  const program = `
    import { Worker } from 'node:worker_threads';
    import { readFileSync } from 'node:fs';
    const stacks = () => readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => {
      const [range, perms, , , inode] = l.split(/\\s+/);
      if (!range) return false;
      const [a, b] = range.split('-').map((x) => parseInt(x, 16));
      return b - a === 252 * 1024 && perms === 'rw-p' && inode === '0';
    }).length;
    await import(${JSON.stringify(dist)});
    const before = stacks();
    for (let i = 0; i < 20; i++) {
      const w = new Worker(\`const m = await import(${JSON.stringify(dist)}); await m.spawn('true', { stdio: 'ignore' }).exited;\`, { eval: true, type: 'module' });
      await new Promise((r) => w.once('exit', r));
    }
    console.log(JSON.stringify({ before, after: stacks() }));`;
  const r = runNode(['--input-type=module', '-e', program], 60_000);
  expect(r.status).toBe(0);
  const s = r.result as { before: number; after: number };
  expect(s.after - s.before).toBeLessThan(3); // 20 before the fix; a stray same-sized mapping is not a leak
}, 90_000);
