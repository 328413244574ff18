#!/usr/bin/env node
// bench/spawn.mjs — how long does it take to start and reap `/bin/true`?
//
// nsbox.spawn (with and without six new namespaces) side by side with Node's own
// child_process, Node calling unshare(1) and bwrap(1), and the C floor (bench/floor.c,
// compiled here into a temp dir).
//
// Method (see docs/performance.md):
//   - Every sample is timed in this process with process.hrtime.bigint(), from just before
//     the spawn call to the moment the exit is observed ('exit' event, or spawnSync's
//     return). Cleanup that follows (draining pipes, waiting for 'close') is not timed.
//   - Cases are interleaved: each round runs every case once, in a fresh random order, so
//     a burst of foreign load on this shared machine hits all cases alike instead of
//     whichever case happened to be running.
//   - Medians are the figures to quote; p10/p90 show the spread.
//   - The C floor runs in small chunks between rounds (it times its own loop and prints one
//     median per chunk); its row is the median of the chunk medians.
//   - Every case that makes a net namespace leaves work to the kernel's asynchronous netns
//     cleanup, which competes with whatever runs next; interleaving spreads that tax over
//     all cases. `--cases cp.,nsbox` runs the Node-only comparison without the peers' churn.
//
// Usage: node bench/spawn.mjs [--n 300] [--warmup 10] [--save] [--floor PATH]
//                             [--cases key-prefix,...   e.g. cp.,nsbox,node>bwrap,C:]
//                             [--ballast MiB   touched memory held by this process, to show
//                                              what a fork-based spawn pays in a big process]
//                             [--pool-size N   the refilled pool of the 'nsbox6pool' row (16)]
//   (npm run bench -- --n 500 --save)
// Build first: npx node-gyp rebuild && npx tsc -p .
import * as cp from 'node:child_process';
import {
  accessSync,
  constants as fsc,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ---- options ----------------------------------------------------------------------------
const { values: opt } = parseArgs({
  options: {
    n: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '10' },
    save: { type: 'boolean', default: false },
    floor: { type: 'string', default: join(root, 'bench', 'floor.c') },
    cases: { type: 'string' },
    ballast: { type: 'string', default: '0' },
    'pool-size': { type: 'string', default: '16' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(
    'usage: node bench/spawn.mjs [--n N (300)] [--warmup N (10)] [--save] [--floor path/to/floor.c] [--cases prefix,...] [--ballast MiB (0)]',
  );
  process.exit(0);
}
const N = Number(opt.n);
const WARMUP = Number(opt.warmup);
const BALLAST = Number(opt.ballast);
const POOL_SIZE = Number(opt['pool-size']);
if (!(N >= 10) || !(WARMUP >= 0) || !(BALLAST >= 0)) throw new RangeError('--n must be >= 10, --warmup and --ballast >= 0');
// Memory of a "large application": libuv's fork copies the page tables of all of it.
const ballast = BALLAST > 0 ? Buffer.alloc(BALLAST * 2 ** 20, 1) : null;

const distIndex = join(root, 'dist', 'index.js');
if (!existsSync(distIndex)) {
  console.error('bench: dist/index.js is missing; build first: npx node-gyp rebuild && npx tsc -p .');
  process.exit(1);
}
const nsbox = await import(distIndex);

const TRUE = '/bin/true';
// --cases: keep only the cases whose key starts with one of these prefixes (default: all).
const prefixes = opt.cases ? opt.cases.split(',').filter(Boolean) : null;
const wanted = (key) => !prefixes || prefixes.some((p) => key.startsWith(p));
const SIX = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net'];
const tmp = mkdtempSync(join(os.tmpdir(), 'nsbox-bench-'));
const skipped = []; // [case or group, reason]

// ---- timing one spawn ---------------------------------------------------------------------

/**
 * Times one asynchronous spawn: `start()` must return a child (ChildProcess or NsboxChild).
 * The clock stops when 'exit' fires; then, untimed, any stdout/stderr pipe is drained and
 * we wait for 'close' so that every pipe is closed before the next sample.
 */
function timeAsync(start) {
  return new Promise((resolveP, reject) => {
    let t1 = 0n;
    const guard = setTimeout(() => reject(new Error('no close within 10 s')), 10_000);
    const t0 = process.hrtime.bigint();
    const child = start();
    child.once('error', (e) => {
      clearTimeout(guard);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      t1 = process.hrtime.bigint();
      if (code !== 0) {
        clearTimeout(guard);
        reject(new Error(`exit code ${code} signal ${signal}`));
        return;
      }
      // Node's ChildProcess resumes unread pipes at exit itself; do the same for both.
      child.stdout?.resume();
      child.stderr?.resume();
    });
    child.once('close', () => {
      clearTimeout(guard);
      if (t1 !== 0n) resolveP(t1 - t0);
    });
  });
}

/** Times child_process.spawnSync: the call returns after the child has been reaped. */
function timeSync(file, args, options) {
  const t0 = process.hrtime.bigint();
  const r = cp.spawnSync(file, args, options);
  const t1 = process.hrtime.bigint();
  if (r.status !== 0) throw new Error(`${file}: status ${r.status} ${r.error ?? r.stderr}`);
  return t1 - t0;
}

// The pooled rows' pools (issue 13). 'nsbox6pool' takes from a pool of --pool-size (16)
// namespaces, refilled in the background as the run goes (a batch of size/2 once half is
// gone, on a thread at nice 19): the steady state of a server that spawns back to back.
// 'nsbox6pool:prefilled' takes from a pool that holds one namespace per sample, filled before
// the first round: no namespace is made during the run (a burst served from stock).
const pools = [];
let pool = null;
const netPool = () => {
  if (!pool) pools.push((pool = nsbox.namespacePool({ kind: 'net', size: POOL_SIZE })));
  return pool;
};
let stock = null;
const cpSpawn = (file, args, stdio) => () => timeAsync(() => cp.spawn(file, args, { stdio }));
const nsSpawn = (options) => () => timeAsync(() => nsbox.spawn(TRUE, options));

// ---- the peers' tools ---------------------------------------------------------------------

function which(tool) {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    try {
      accessSync(join(dir || '.', tool), fsc.X_OK);
      return join(dir || '.', tool);
    } catch {}
  }
  return null;
}

/** Runs a peer once before benchmarking it; returns a reason to skip it, or null. */
function probe(file, args) {
  const r = cp.spawnSync(file, args, { encoding: 'utf8' });
  if (r.error) return r.error.message;
  if (r.status !== 0) return `exit ${r.status}: ${(r.stderr || '').trim().split('\n')[0]}`;
  return null;
}

// A minimal rootfs like the baseline's (setup-rootfs.sh): static busybox with /bin/true a
// link to it, plus the proc and dev mount points bwrap needs under a read-only root.
function busyboxRootfs() {
  const bb = which('busybox');
  if (!bb) return null;
  const rootfs = join(tmp, 'rootfs');
  for (const d of ['bin', 'proc', 'dev', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(bb, join(rootfs, 'bin', 'busybox'));
  symlinkSync('busybox', join(rootfs, 'bin', 'true'));
  return rootfs;
}

// ---- the cases ------------------------------------------------------------------------------
// key: short id used by the ratios and in the JSON; label: what the table shows.
const cases = [
  { key: 'cp.spawnSync', label: 'child_process.spawnSync (stdio pipe)', run: () => timeSync(TRUE, [], {}) },
  { key: 'cp.spawn:ignore', label: "child_process.spawn (stdio 'ignore')", run: cpSpawn(TRUE, [], 'ignore') },
  { key: 'cp.spawn:pipe', label: "child_process.spawn (stdio 'pipe')", run: cpSpawn(TRUE, [], 'pipe') },
  { key: 'nsbox:ignore', label: "nsbox.spawn, no namespaces ('ignore')", run: nsSpawn({ stdio: 'ignore' }) },
  { key: 'nsbox:pipe', label: "nsbox.spawn, no namespaces ('pipe')", run: nsSpawn({ stdio: 'pipe' }) },
  { key: 'nsbox6:ignore', label: "nsbox.spawn, 6 namespaces ('ignore')", run: nsSpawn({ namespaces: SIX, stdio: 'ignore' }) },
  { key: 'nsbox6:pipe', label: "nsbox.spawn, 6 namespaces ('pipe')", run: nsSpawn({ namespaces: SIX, stdio: 'pipe' }) },
  // Context: the same without the net namespace, the only expensive one (perf-baseline.md §2).
  { key: 'nsbox5:ignore', label: "nsbox.spawn, 5 ns, no net ('ignore')", run: nsSpawn({ namespaces: SIX.slice(0, 5), stdio: 'ignore' }) },
  // Issue 13: the six namespaces with the network one taken from a namespacePool (made
  // ahead of time on a background thread, lo up) and joined by setns(2) in the child; the
  // other five are new. The pool refills in the background between samples (untimed work on
  // the other CPU, as a server's pool would do between requests).
  {
    key: 'nsbox6pool:ignore',
    label: "nsbox.spawn, 5 ns + pooled netns ('ignore')",
    run: () => timeAsync(() => nsbox.spawn(TRUE, { namespaces: SIX.slice(0, 5), join: { net: netPool() }, stdio: 'ignore' })),
  },
  {
    key: 'nsbox6pool:prefilled',
    label: "nsbox.spawn, 5 ns + netns from a filled pool ('ignore')",
    run: () => timeAsync(() => nsbox.spawn(TRUE, { namespaces: SIX.slice(0, 5), join: { net: stock }, stdio: 'ignore' })),
  },
  // The init (spawn's `init`, nsbox run's default): a copy-on-write fork of this process as
  // PID 1 instead of a CLONE_VM child, and the command one clone(CLONE_VM|CLONE_VFORK) further.
  {
    key: 'nsbox6+init:ignore',
    label: "nsbox.spawn, 6 ns + init ('ignore')",
    run: nsSpawn({ namespaces: SIX, init: true, stdio: 'ignore' }),
  },
  // The init image (csrc/init_image.cc): the same, with Docker's capabilities (no
  // CAP_SYS_PTRACE in the bounding set), so PID 1 is a sealed memfd executed by the CLONE_VM
  // child instead of a fork of this process. The capability steps are the only other change.
  {
    key: 'nsbox6+image:ignore',
    label: "nsbox.spawn, 6 ns + init image, Docker's caps ('ignore')",
    run: nsSpawn({ namespaces: SIX, init: true, capabilities: nsbox.hardened().capabilities, stdio: 'ignore' }),
  },
];

// Node → peer tool: child_process.spawn with stdio 'ignore' (the cheaper Node spawn, so the
// peers get the benefit of the doubt), awaited to 'exit'.
const peers = [];
const unshareArgs = ['--user', '--map-root-user', '--pid', '--fork', '--mount', '--uts', '--ipc', '--net', TRUE];
peers.push({ key: 'node>unshare', label: 'Node → unshare -Ur, 6 ns', tool: 'unshare', args: unshareArgs });
// "Namespaces only": bwrap's --unshare-all with the host root bound as is, the fair
// counterpart of nsbox with six namespaces (nsbox does no mounts yet).
peers.push({
  key: 'node>bwrap:ns',
  label: 'Node → bwrap, ns only (--dev-bind / /)',
  tool: 'bwrap',
  args: ['--unshare-all', '--dev-bind', '/', '/', TRUE],
});
// Host root read-only plus a fresh /proc and /dev (host /bin/true, dynamically linked).
peers.push({
  key: 'node>bwrap:host',
  label: 'Node → bwrap, ro host root + proc + dev',
  tool: 'bwrap',
  args: ['--unshare-all', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', TRUE],
});
// The baseline's form: a busybox rootfs (static /bin/true) plus /proc and /dev.
const rootfs = which('bwrap') ? busyboxRootfs() : null;
if (rootfs) {
  peers.push({
    key: 'node>bwrap:busybox',
    label: 'Node → bwrap, busybox rootfs (baseline)',
    tool: 'bwrap',
    args: ['--unshare-all', '--ro-bind', rootfs, '/', '--proc', '/proc', '--dev', '/dev', TRUE],
  });
} else if (which('bwrap')) skipped.push(['node>bwrap:busybox', 'busybox not found: no rootfs for the baseline form']);

for (const p of peers) {
  if (!wanted(p.key)) continue;
  const file = which(p.tool);
  const reason = file ? probe(file, p.args) : `${p.tool} not found in PATH`;
  if (reason) skipped.push([p.key, reason]);
  else cases.push({ key: p.key, label: p.label, run: cpSpawn(file, p.args, 'ignore') });
}

cases.splice(0, cases.length, ...cases.filter((c) => wanted(c.key)));

// ---- the C floor ------------------------------------------------------------------------------
// Chunks of 10 iterations (plus floor.c's own 3 warm-up ones) every 10 rounds: about as
// many net namespaces per round as one Node case makes, not a burst of hundreds.
const FLOOR_CHUNK_N = 10;
const floorModes = [
  { key: 'C:vfork', label: 'C floor: vfork + exec + wait', mode: 'vfork' },
  { key: 'C:clone6', label: 'C floor: clone(6 ns) + exec + wait', mode: `clone:${SIX.join(',')}` },
  { key: 'C:clone5', label: 'C floor: clone(5 ns, no net) + exec', mode: `clone:${SIX.slice(0, 5).join(',')}` },
].filter((m) => wanted(m.key));
let floorBin = null;
if (!floorModes.length) {
  /* not asked for */
} else if (!existsSync(opt.floor)) skipped.push(['C floor', `${opt.floor} not found`]);
else if (!which('gcc')) skipped.push(['C floor', 'gcc not found']);
else {
  floorBin = join(tmp, 'floor');
  const r = cp.spawnSync('gcc', ['-O2', '-o', floorBin, opt.floor, '-lm'], { encoding: 'utf8' });
  if (r.status !== 0) {
    skipped.push(['C floor', `gcc failed: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}`]);
    floorBin = null;
  }
}
const floorMedians = new Map(floorModes.map((m) => [m.key, []])); // µs, one per chunk
function runFloorChunk() {
  for (const m of floorModes) {
    if (!floorMedians.has(m.key)) continue; // failed before
    const r = cp.spawnSync(floorBin, [m.mode, String(FLOOR_CHUNK_N)], { encoding: 'utf8' });
    const line = r.status === 0 ? r.stdout.trim().split('\n').pop() : null;
    if (!line) {
      skipped.push([m.key, `floor ${m.mode} failed: ${(r.stderr || '').trim()}`]);
      floorMedians.delete(m.key);
      continue;
    }
    floorMedians.get(m.key).push(JSON.parse(line).median_us);
  }
}

// ---- leak witnesses -----------------------------------------------------------------------
const fdCount = () => readdirSync('/proc/self/fd').length;
function childPids() {
  const pids = [];
  for (const t of readdirSync('/proc/self/task')) {
    const s = readFileSync(`/proc/self/task/${t}/children`, 'utf8').trim();
    if (s) pids.push(...s.split(/\s+/).map(Number));
  }
  return pids;
}
const settle = () => new Promise((r) => setTimeout(r, 50)); // let uv_close callbacks run

// ---- run ------------------------------------------------------------------------------------
function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const loadBefore = os.loadavg();
const started = new Date();
console.log(`nsbox spawn benchmark — ${started.toISOString()}`);
console.log(
  `kernel ${os.release()}, node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim()}), uid ${process.getuid()}`,
);
console.log(`n = ${N} per case after ${WARMUP} warm-up rounds; ${cases.length} cases interleaved in random order each round`);
if (ballast) console.log(`ballast: ${BALLAST} MiB of touched memory held by this process`);
for (const [what, why] of skipped) console.log(`skipped ${what}: ${why}`);

// fds are counted after the warm-up rounds: the first child_process.spawn with pipes opens
// /dev/null once for the life of the process, which is not a per-call leak.
if (cases.some((c) => c.key === 'nsbox6pool:prefilled')) {
  pools.push((stock = nsbox.namespacePool({ kind: 'net', size: Math.min(1024, WARMUP + N + 1) })));
  await stock.ready();
}
let fdsBefore = fdCount();
let pooledBefore = pools.reduce((n, p) => n + p.available, 0); // idle pooled namespaces: one fd each
const samples = new Map(cases.map((c) => [c.key, []]));
const rounds = WARMUP + N;
for (let round = 0; round < rounds; round++) {
  if (round === WARMUP) {
    await settle();
    fdsBefore = fdCount();
    pooledBefore = pools.reduce((n, p) => n + p.available, 0);
  }
  for (const c of shuffle([...cases])) {
    const ns = await c.run();
    if (round >= WARMUP) samples.get(c.key).push(Number(ns) / 1e6); // ms
  }
  const measured = round - WARMUP + 1;
  if (floorBin && measured > 0 && measured % FLOOR_CHUNK_N === 0) runFloorChunk();
  if (process.stderr.isTTY) process.stderr.write(`\rround ${round + 1}/${rounds}`);
}
if (process.stderr.isTTY) process.stderr.write('\n');
// The pools' idle namespaces were counted in "before"; closed now, they are not leaks.
for (const p of pools) await p[Symbol.asyncDispose]();
fdsBefore -= pooledBefore;
await settle();
const fdsAfter = fdCount();
const leftChildren = childPids();
const loadAfter = os.loadavg();
rmSync(tmp, { recursive: true, force: true });

// ---- statistics -------------------------------------------------------------------------------
function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => {
    const i = (s.length - 1) * p;
    const lo = Math.floor(i);
    return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
  };
  return {
    n: s.length,
    median: q(0.5),
    p10: q(0.1),
    p90: q(0.9),
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    min: s[0],
    max: s[s.length - 1],
  };
}

const rows = cases.map((c) => ({ key: c.key, label: c.label, ...stats(samples.get(c.key)) }));
for (const m of floorModes) {
  const meds = floorMedians.get(m.key);
  if (!floorBin || !meds?.length) continue;
  const st = stats(meds.map((us) => us / 1000));
  // n = iterations timed by floor.c; p10/p90 columns hold the lowest/highest chunk median.
  rows.push({
    key: m.key,
    label: m.label,
    n: meds.length * FLOOR_CHUNK_N,
    median: st.median,
    p10: st.min,
    p90: st.max,
    mean: null,
    chunks: meds.length,
  });
}
const byKey = new Map(rows.map((r) => [r.key, r]));

// ---- table ------------------------------------------------------------------------------------
const f3 = (x) => (x == null ? '–' : x < 10 ? x.toFixed(3) : x.toFixed(2));
const pad = (s, w, right = false) => (right ? String(s).padStart(w) : String(s).padEnd(w));
const W = Math.max(...rows.map((r) => r.label.length));
console.log();
console.log(
  `${pad('case', W)}  ${pad('n', 5, true)}  ${pad('median ms', 9, true)}  ${pad('p10', 7, true)}  ${pad('p90', 7, true)}  ${pad('mean', 7, true)}`,
);
console.log('-'.repeat(W + 46));
for (const r of rows) {
  console.log(
    `${pad(r.label, W)}  ${pad(r.n, 5, true)}  ${pad(f3(r.median), 9, true)}  ${pad(f3(r.p10), 7, true)}  ${pad(f3(r.p90), 7, true)}  ${pad(f3(r.mean), 7, true)}`,
  );
}
if (floorBin)
  console.log(
    `(C floor rows: median of ${Math.floor(N / FLOOR_CHUNK_N)} chunks of ${FLOOR_CHUNK_N} timed by floor.c itself; p10/p90 columns = lowest/highest chunk median)`,
  );

// ---- ratios against the targets -----------------------------------------------------------------
// [numerator, denominator, target ('<=' or '>=' value) or null for context]
const ratioSpecs = [
  ['nsbox6:ignore', 'cp.spawn:ignore', ['<=', 1.0]],
  ['nsbox6pool:ignore', 'cp.spawn:ignore', ['<=', 0.8]],
  ['nsbox6pool:ignore', 'nsbox6:ignore', null],
  ['nsbox6pool:prefilled', 'cp.spawn:ignore', ['<=', 0.8]],
  ['nsbox6pool:prefilled', 'nsbox5:ignore', null],
  ['nsbox6:pipe', 'cp.spawn:pipe', ['<=', 1.0]],
  ['nsbox:ignore', 'cp.spawn:ignore', null],
  ['node>bwrap:ns', 'nsbox6:ignore', ['>=', 3.0]],
  ['node>bwrap:host', 'nsbox6:ignore', ['>=', 3.0]],
  ['node>bwrap:busybox', 'nsbox6:ignore', ['>=', 3.0]],
  ['node>unshare', 'nsbox6:ignore', null],
  ['nsbox6:ignore', 'C:clone6', null],
  ['nsbox5:ignore', 'C:clone5', null],
  ['nsbox:ignore', 'C:vfork', null],
  ['nsbox6+init:ignore', 'nsbox6:ignore', null],
  ['nsbox6+init:ignore', 'cp.spawn:ignore', null],
  ['nsbox6+image:ignore', 'nsbox6+init:ignore', null],
  ['nsbox6+image:ignore', 'nsbox6:ignore', null],
  ['nsbox6+image:ignore', 'cp.spawn:ignore', null],
];
const ratios = [];
console.log();
console.log('ratios of medians');
for (const [a, b, target] of ratioSpecs) {
  const ra = byKey.get(a),
    rb = byKey.get(b);
  if (!ra || !rb) continue;
  const value = ra.median / rb.median;
  const ok = target ? (target[0] === '<=' ? value <= target[1] : value >= target[1]) : null;
  ratios.push({ numerator: a, denominator: b, value, target: target ? `${target[0]} ${target[1]}` : null, met: ok });
  const verdict = target ? `target ${target[0]} ${target[1].toFixed(1)}×: ${ok ? 'met' : 'NOT met'}` : '(context)';
  console.log(`  ${pad(`${a} ÷ ${b}`, 40)} ${pad(value.toFixed(2) + '×', 7, true)}  ${verdict}`);
}

// ---- leaks --------------------------------------------------------------------------------------
const leak = { fdsBefore, fdsAfter, children: leftChildren };
console.log();
console.log(
  `leak check: fds ${fdsBefore} before, ${fdsAfter} after; children left: ${leftChildren.length ? leftChildren.join(' ') : 'none'}`,
);
console.log(`load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}`);
if (fdsAfter > fdsBefore || leftChildren.length) process.exitCode = 1;
if (ballast) ballast.fill(0, 0, 1); // keep it alive to the end

// ---- --save -------------------------------------------------------------------------------------
if (opt.save) {
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = started
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', ''); // 2026-11-22T060917Z
  const file = join(dir, `spawn-${stamp}.json`);
  const out = {
    date: started.toISOString(),
    kernel: os.release(),
    node: process.version,
    cpus: os.cpus().length,
    uid: process.getuid(),
    n: N,
    warmup: WARMUP,
    ballastMiB: BALLAST,
    loadavg: { before: loadBefore, after: loadAfter },
    rows: rows.map(({ key, label, n, median, p10, p90, mean }) => ({
      key,
      label,
      n,
      median_ms: median,
      p10_ms: p10,
      p90_ms: p90,
      mean_ms: mean,
    })),
    ratios,
    skipped,
    leak,
  };
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(`saved ${file}`);
}
