#!/usr/bin/env node
// bench/cgroup.mjs — one cgroup v2 cycle: create a cgroup, set three limits (one write each),
// spawn /bin/true into it (clone3 CLONE_INTO_CGROUP), wait for its exit, kill, remove —
// nsbox (createCgroup + spawn({ cgroup }) + kill() + remove()) against our C floor
// (bench/cgroup-floor.c, compiled here) doing the same syscalls.
//
// Limits: memory.max, pids.max, cpu.max where the cgroup v2 tree has those controllers (a
// pure v2 host, or the guest: `scripts/vm-run --share "$PWD" -- node bench/cgroup.mjs`).
// On a hybrid host whose v2 tree has only hugetlb, three hugetlb writes stand in for them
// (hugetlb.2MB.max, hugetlb.2MB.rsvd.max, hugetlb.1GB.max) and the output says so.
//
// Method: rounds interleave a chunk of nsbox cycles and a chunk of C cycles (the C program
// times each of its cycles with CLOCK_MONOTONIC); nsbox cycles are timed with
// process.hrtime.bigint() from before createCgroup to after remove() resolves. Medians are
// the figures to quote. Needs root (or a delegated --parent).
// Usage: node bench/cgroup.mjs [--n 300] [--rounds 10] [--parent DIR]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: { n: { type: 'string', default: '300' }, rounds: { type: 'string', default: '10' }, parent: { type: 'string' } },
});
const N = Number(opt.n);
const ROUNDS = Number(opt.rounds);
const { createCgroup, cgroup, findCgroup2, spawn } = await import(join(root, 'dist', 'index.js'));

const v2 = findCgroup2();
if (!v2) throw new Error('cgroup v2 is not mounted');
const real = ['memory', 'pids', 'cpu'].every((c) => v2.controllers.includes(c));
const controllers = real ? ['memory', 'pids', 'cpu'] : ['hugetlb'];
const limits = real
  ? { memory: { max: '64M' }, pids: { max: 64 }, cpu: { max: { quota: 50000, period: 100000 } } }
  : { hugetlb: { '2MB': { max: '4M', rsvdMax: '4M' }, '1GB': { max: 0 } } };
const cFiles = real
  ? ['memory.max=67108864', 'pids.max=64', 'cpu.max=50000 100000']
  : ['hugetlb.2MB.max=4194304', 'hugetlb.2MB.rsvd.max=4194304', 'hugetlb.1GB.max=0'];

const parent = opt.parent ? cgroup(opt.parent) : await createCgroup(`nsbox-bench-${process.pid}`, { controllers });
const tmp = mkdtempSync(join(os.tmpdir(), 'nsbox-cgbench-'));
const floor = join(tmp, 'cgroup-floor');
execFileSync('cc', ['-O2', '-o', floor, join(root, 'bench', 'cgroup-floor.c')]);

async function nsboxCycle(i) {
  const t0 = process.hrtime.bigint();
  const cg = await createCgroup(`${parent.directory}/js-${i}`, { limits });
  const child = spawn('/bin/true', [], { cgroup: cg, stdio: 'ignore' });
  await child.exited;
  await cg.kill();
  await cg.remove();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const js = [];
const c = [];
try {
  for (let w = 0; w < 10; w++) await nsboxCycle(`w${w}`); // warm-up
  const chunk = Math.ceil(N / ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < chunk; i++) js.push(await nsboxCycle(`${r}-${i}`));
    c.push(...JSON.parse(execFileSync(floor, [parent.directory, String(chunk), ...cFiles], { encoding: 'utf8' })));
  }
} finally {
  if (!opt.parent) await parent.remove({ recursive: true });
  rmSync(tmp, { recursive: true, force: true });
}

const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const row = (name, xs) => `| ${name} | ${xs.length} | ${q(xs, 0.5).toFixed(3)} | ${q(xs, 0.1).toFixed(3)} | ${q(xs, 0.9).toFixed(3)} |`;
console.log(
  `cgroup v2 at ${v2.mountPoint}; limits: ${real ? 'memory.max, pids.max, cpu.max' : 'hugetlb.2MB.max, hugetlb.2MB.rsvd.max, hugetlb.1GB.max (substitutes: memory/pids/cpu are not in this v2 tree)'}`,
);
console.log('| cycle | n | median ms | p10 ms | p90 ms |');
console.log('|---|---:|---:|---:|---:|');
console.log(row('nsbox: createCgroup(limits) + spawn({ cgroup }) + exit + kill() + remove()', js));
console.log(row('C floor: mkdir + 3 writes + clone3(CLONE_INTO_CGROUP) + waitpid + cgroup.kill + rmdir', c));
console.log(`nsbox / C (medians): ${(q(js, 0.5) / q(c, 0.5)).toFixed(2)}×`);
