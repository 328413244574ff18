#!/usr/bin/env node
// bench/start-gate.mjs — what the create/start split costs: spawn with `startGate` (to the
// gate), openStartGate (to the command's execve), and the whole create → start → exit of
// `/bin/true`, side by side with a plain spawn → exit of the same container.
//
// Method: as bench/spawn.mjs — process.hrtime.bigint() around each phase, the two cases
// interleaved in a random order each round, medians quoted with p10/p90.
// Container: a new user, pid and mount namespace with the host's root (`rootfs: 'host'`),
// stdio 'ignore'.
//
// Usage: node bench/start-gate.mjs [--n 200] [--warmup 10] [--ballast MiB]
// Build first: npm run build:native && npx tsc -p .
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: { n: { type: 'string', default: '200' }, warmup: { type: 'string', default: '10' }, ballast: { type: 'string', default: '0' } },
});
const N = Number(opt.n);
const WARMUP = Number(opt.warmup);
const ballast = Number(opt.ballast) > 0 ? Buffer.alloc(Number(opt.ballast) * 2 ** 20, 1) : null;
const { spawn, openStartGate } = await import(join(root, 'dist', 'index.js'));
const dir = mkdtempSync(join(tmpdir(), 'nsbox-bench-gate-'));
const box = { namespaces: ['user', 'pid', 'mnt'], rootfs: 'host', stdio: 'ignore' };
const ms = (a, b) => Number(b - a) / 1e6;
let k = 0;

const samples = { 'spawn → exit': [], 'create (spawn → gate)': [], 'start (openStartGate)': [], 'create → start → exit': [] };
const cases = {
  async plain(record) {
    const t0 = process.hrtime.bigint();
    const c = spawn('/bin/true', [], box);
    await c.exited;
    if (record) samples['spawn → exit'].push(ms(t0, process.hrtime.bigint()));
  },
  async gated(record) {
    const path = join(dir, `g${k++}`);
    const t0 = process.hrtime.bigint();
    const c = spawn('/bin/true', [], { ...box, startGate: path });
    const t1 = process.hrtime.bigint();
    await openStartGate(path);
    const t2 = process.hrtime.bigint();
    await c.exited;
    const t3 = process.hrtime.bigint();
    if (!record) return;
    samples['create (spawn → gate)'].push(ms(t0, t1));
    samples['start (openStartGate)'].push(ms(t1, t2));
    samples['create → start → exit'].push(ms(t0, t3));
  },
};
for (let i = 0; i < WARMUP + N; i++) {
  const order = Object.keys(cases).sort(() => Math.random() - 0.5);
  for (const name of order) await cases[name](i >= WARMUP);
}
rmSync(dir, { recursive: true, force: true });
const q = (a, p) => a.toSorted((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p * a.length))];
console.log(
  `n=${N}${ballast ? `, ballast ${ballast.length / 2 ** 20} MiB` : ''}, load ${(await import('node:os')).loadavg()[0].toFixed(1)}`,
);
console.log('| phase | median ms | p10 ms | p90 ms |\n|---|---:|---:|---:|');
for (const [name, a] of Object.entries(samples))
  console.log(`| ${name} | ${q(a, 0.5).toFixed(2)} | ${q(a, 0.1).toFixed(2)} | ${q(a, 0.9).toFixed(2)} |`);
