#!/usr/bin/env node
// bench/throughput.mjs — sustained spawns per second (spawn → exit → reap of /bin/true) with
// N spawns in flight, nsbox side by side with Node's own child_process.spawn.
//
// Method (docs/performance.md, "Throughput and memory over many spawns"):
//   - A slice keeps `level` spawns in flight for `--slice` ms: each exit starts the next
//     spawn. Its rate is the spawns completed (exit observed) divided by the slice's wall time.
//   - Every round runs every (case, level) pair once, in a fresh random order, so foreign load
//     on this shared machine hits all pairs alike. Medians over rounds are the figures to
//     quote; the ratio of the medians at the highest and the lowest level says whether
//     throughput drops as more spawns are in flight.
//   - Per slice also: this process's CPU time (user + system) per spawn, the event loop's
//     delay (perf_hooks.monitorEventLoopDelay, p99), and the share of the slice the JS thread
//     spent inside the spawn call itself (for spawn: blocked until the child has exec'd).
//
// Usage: node bench/throughput.mjs [--rounds 15] [--slice 1000] [--levels 1,4,16]
//                                  [--cases cp,nsbox,nsbox5,nsbox6] [--save]
// Build first: npm run build:native && npx tsc -p .
import * as cp from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    slice: { type: 'string', default: '1000' },
    levels: { type: 'string', default: '1,4,16' },
    cases: { type: 'string', default: 'cp,nsbox,nsbox5,nsbox6,async,async5,async6' },
    save: { type: 'boolean', default: false },
  },
});
const nsbox = await import(join(root, 'dist', 'index.js'));
const TRUE = '/bin/true';
const SIX = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net'];
const all = {
  cp: { label: 'child_process.spawn, no namespaces', start: () => cp.spawn(TRUE, [], { stdio: 'ignore' }) },
  nsbox: { label: 'nsbox.spawn, no namespaces', start: () => nsbox.spawn(TRUE, { stdio: 'ignore' }) },
  nsbox5: {
    label: 'nsbox.spawn, 5 ns (user pid mnt uts ipc)',
    start: () => nsbox.spawn(TRUE, { namespaces: SIX.slice(0, 5), stdio: 'ignore' }),
  },
  nsbox6: { label: 'nsbox.spawn, 6 ns (+ net)', start: () => nsbox.spawn(TRUE, { namespaces: SIX, stdio: 'ignore' }) },
  // spawnAsync: the same spawns, the setup's wait off the JS thread (several in flight at once).
  async: { label: 'nsbox.spawnAsync, no namespaces', start: () => nsbox.spawnAsync(TRUE, { stdio: 'ignore' }) },
  async5: {
    label: 'nsbox.spawnAsync, 5 ns',
    start: () => nsbox.spawnAsync(TRUE, { namespaces: SIX.slice(0, 5), stdio: 'ignore' }),
  },
  async6: { label: 'nsbox.spawnAsync, 6 ns', start: () => nsbox.spawnAsync(TRUE, { namespaces: SIX, stdio: 'ignore' }) },
};
const caseKeys = opt.cases.split(',').filter((k) => all[k]);
const levels = opt.levels.split(',').map(Number);
const SLICE = Number(opt.slice);
const ROUNDS = Number(opt.rounds);

// A child (spawn, child_process) or a Promise of one (spawnAsync): resolves once it has exited.
const exitOf = async (c) => {
  const child = await c;
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((r) => child.once('exit', r));
};

/** One slice: `level` spawns in flight for SLICE ms; rate, CPU ms per spawn, loop delay p99. */
async function slice(start, level) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const stop = t0 + SLICE;
  let done = 0;
  let inCall = 0; // ms the JS thread spent inside the spawn call itself
  await new Promise((res, rej) => {
    let active = 0;
    const one = () => {
      active++;
      let c;
      try {
        const a = performance.now();
        c = start();
        inCall += performance.now() - a;
      } catch (err) {
        rej(err);
        return;
      }
      exitOf(c).then(() => {
        active--;
        done++;
        if (performance.now() < stop) one();
        else if (active === 0) res();
      }, rej);
    };
    for (let i = 0; i < level; i++) one();
  });
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  h.disable();
  return {
    rate: (done / wall) * 1000,
    cpuMsPerSpawn: (cpu.user + cpu.system) / 1000 / done,
    loopP99Ms: h.percentile(99) / 1e6,
    inCallPct: (inCall / wall) * 100,
  };
}

const shuffle = (a) => {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const started = new Date();
console.log(`nsbox throughput benchmark — ${started.toISOString()}`);
console.log(`kernel ${os.release()}, node ${process.version}, ${os.cpus().length} CPUs, uid ${process.getuid()}`);
console.log(`${ROUNDS} rounds × ${caseKeys.length} cases × levels ${levels.join('/')}, ${SLICE} ms slices, interleaved`);
const pairs = caseKeys.flatMap((k) => levels.map((level) => ({ k, level })));
const samples = new Map(pairs.map((p) => [`${p.k}@${p.level}`, []]));
const loadBefore = os.loadavg();
for (const p of pairs) await slice(all[p.k].start, p.level); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (const p of shuffle([...pairs])) samples.get(`${p.k}@${p.level}`).push(await slice(all[p.k].start, p.level));
  if (process.stderr.isTTY) process.stderr.write(`\rround ${r + 1}/${ROUNDS}`);
}
if (process.stderr.isTTY) process.stderr.write('\n');

const rows = [];
for (const k of caseKeys) {
  const row = { key: k, label: all[k].label, levels: {} };
  for (const level of levels) {
    const xs = samples.get(`${k}@${level}`);
    row.levels[level] = {
      rate: median(xs.map((x) => x.rate)),
      cpuMsPerSpawn: median(xs.map((x) => x.cpuMsPerSpawn)),
      loopP99Ms: median(xs.map((x) => x.loopP99Ms)),
      inCallPct: median(xs.map((x) => x.inCallPct)),
      rates: xs.map((x) => Math.round(x.rate)),
    };
  }
  const lo = row.levels[levels[0]].rate;
  const hi = row.levels[levels.at(-1)].rate;
  row.ratioHighToLow = hi / lo;
  rows.push(row);
}
const fmt = (x, d = 0) => x.toFixed(d).padStart(7);
console.log(`\n${'case'.padEnd(42)}${levels.map((l) => `${l} in flight`.padStart(14)).join('')}   ${levels.at(-1)}/${levels[0]}`);
for (const row of rows) {
  const cells = levels.map((l) => `${fmt(row.levels[l].rate)}/s`.padStart(14)).join('');
  console.log(`${row.label.padEnd(42)}${cells}   ${row.ratioHighToLow.toFixed(2)}×`);
}
console.log('\nthis process: CPU ms per spawn / event-loop delay p99 ms');
for (const row of rows) {
  const cells = levels.map((l) => `${row.levels[l].cpuMsPerSpawn.toFixed(3)}/${row.levels[l].loopP99Ms.toFixed(1)}`.padStart(14)).join('');
  console.log(`${row.label.padEnd(42)}${cells}`);
}
console.log('\nshare of wall time the JS thread spent inside the spawn call (%)');
for (const row of rows) {
  const cells = levels.map((l) => `${row.levels[l].inCallPct.toFixed(0)}%`.padStart(14)).join('');
  console.log(`${row.label.padEnd(42)}${cells}`);
}
const loadAfter = os.loadavg();
console.log(`load average before ${loadBefore[0].toFixed(2)}, after ${loadAfter[0].toFixed(2)}`);
if (opt.save) {
  const stamp = started
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const file = join(root, 'bench', 'results', `throughput-${stamp}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        started: started.toISOString(),
        kernel: os.release(),
        node: process.version,
        cpus: os.cpus().length,
        uid: process.getuid(),
        rounds: ROUNDS,
        sliceMs: SLICE,
        levels,
        loadBefore,
        loadAfter,
        rows,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`saved ${file}`);
}
