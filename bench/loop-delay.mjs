#!/usr/bin/env node
// bench/loop-delay.mjs — how long does the event loop stall while sandboxes start?
// spawn (blocks the JS thread until the child has exec'd) against spawnAsync (only clone3 on
// the JS thread; the setup's waits on a thread of its own), the same spawns, 4 in flight.
//
// Rows: a user namespace with multi-range maps written by newuidmap/newgidmap (as an
// unprivileged user with /etc/subuid and /etc/subgid ranges: the setuid helpers run, and are
// waited for, once per spawn each), and six namespaces with the parent's own map writes.
//
// Method: perf_hooks.monitorEventLoopDelay (1 ms resolution) over a slice of `--slice` ms per
// (row, function); slices interleaved in random order over `--rounds` rounds; per row the
// medians over rounds of the slice's p99 and max delay, and of spawns per second.
//
// Usage (as the unprivileged user, for the newuidmap row):
//   node bench/loop-delay.mjs [--rounds 10] [--slice 1000] [--inflight 4] [--save]
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    slice: { type: 'string', default: '1000' },
    inflight: { type: 'string', default: '4' },
    save: { type: 'boolean', default: false },
  },
});
const nsbox = await import(join(root, 'dist', 'index.js'));
const ROUNDS = Number(opt.rounds);
const SLICE = Number(opt.slice);
const INFLIGHT = Number(opt.inflight);
const uid = process.getuid();
const gid = process.getgid();

function subRange(file) {
  const name = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`) || l.startsWith(`${uid}:`));
  return line ? Number(line.split(':')[1]) : null;
}

const rows = [];
const skipped = [];
const sub = uid === 0 ? null : [subRange('/etc/subuid'), subRange('/etc/subgid')];
if (uid === 0) skipped.push(['newuidmap', 'root writes its maps itself: run as an unprivileged user with subordinate ids']);
else if (!sub[0] || !sub[1]) skipped.push(['newuidmap', 'no /etc/subuid or /etc/subgid range for this user']);
else {
  rows.push({
    key: 'newuidmap',
    label: 'user ns, 2-range maps by newuidmap/newgidmap',
    options: {
      namespaces: ['user'],
      uidMap: [
        { inside: 0, outside: uid },
        { inside: 1, outside: sub[0], count: 1000 },
      ],
      gidMap: [
        { inside: 0, outside: gid },
        { inside: 1, outside: sub[1], count: 1000 },
      ],
      stdio: 'ignore',
    },
  });
}
rows.push({
  key: 'six',
  label: '6 namespaces, maps written by the parent',
  options: { namespaces: ['user', 'pid', 'mnt', 'uts', 'ipc', 'net'], stdio: 'ignore' },
});
const fns = {
  spawn: (o) => nsbox.spawn('/bin/true', o),
  spawnAsync: (o) => nsbox.spawnAsync('/bin/true', o),
};

async function slice(start, options) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  const t0 = performance.now();
  const stop = t0 + SLICE;
  let done = 0;
  h.enable();
  await new Promise((res, rej) => {
    let active = 0;
    const one = () => {
      active++;
      Promise.resolve()
        .then(() => start(options))
        .then((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : c.exited))
        .then(() => {
          active--;
          done++;
          if (performance.now() < stop) one();
          else if (active === 0) res();
        }, rej);
    };
    for (let i = 0; i < INFLIGHT; i++) one();
  });
  h.disable();
  return { rate: (done / (performance.now() - t0)) * 1000, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const shuffle = (a) => {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
};

const started = new Date();
console.log(`nsbox event-loop delay during spawns — ${started.toISOString()}, uid ${uid}, node ${process.version}, kernel ${os.release()}`);
for (const [k, why] of skipped) console.log(`skipped ${k}: ${why}`);
const pairs = rows.flatMap((r) => Object.keys(fns).map((f) => ({ r, f })));
const samples = new Map(pairs.map((p) => [`${p.r.key}:${p.f}`, []]));
for (const p of pairs) await slice(fns[p.f], p.r.options); // warm-up
const loadBefore = os.loadavg();
for (let i = 0; i < ROUNDS; i++) {
  for (const p of shuffle([...pairs])) samples.get(`${p.r.key}:${p.f}`).push(await slice(fns[p.f], p.r.options));
}
const loadAfter = os.loadavg();
const results = pairs.map((p) => {
  const xs = samples.get(`${p.r.key}:${p.f}`);
  return {
    row: p.r.key,
    label: p.r.label,
    fn: p.f,
    rate: median(xs.map((x) => x.rate)),
    p99Ms: median(xs.map((x) => x.p99)),
    maxMs: median(xs.map((x) => x.max)),
    samples: xs,
  };
});
console.log(`\n${'row'.padEnd(48)}${'function'.padEnd(12)}${'spawns/s'.padStart(10)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}`);
for (const r of results)
  console.log(
    `${r.label.padEnd(48)}${r.fn.padEnd(12)}${r.rate.toFixed(0).padStart(10)}${r.p99Ms.toFixed(1).padStart(9)}${r.maxMs.toFixed(1).padStart(9)}`,
  );
console.log(`load average before ${loadBefore[0].toFixed(2)}, after ${loadAfter[0].toFixed(2)}`);
if (opt.save) {
  const stamp = started
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const file = join(root, 'bench', 'results', `loop-delay-${stamp}-uid${uid}.json`);
  const facts = { started: started.toISOString(), node: process.version, kernel: os.release(), uid, loadBefore, loadAfter };
  writeFileSync(file, `${JSON.stringify({ ...facts, rounds: ROUNDS, sliceMs: SLICE, inflight: INFLIGHT, results }, null, 2)}\n`);
  console.log(`saved ${file}`);
}
