#!/usr/bin/env node
// bench/testing.mjs — the cost of running a function isolated (issue 16's target: runIsolated
// of a trivial function in user+pid+net namespaces, result back, at most 1.5× the time of
// `child_process.execFile(process.execPath, ['-e', '0'])`: Node's own start-up is the floor).
//
// Cases, each timed from the call to the settled promise (process.hrtime.bigint()):
//   execFile      child_process.execFile(node, ['-e', '0']): the floor
//   spawn         nsbox spawn(node, ['-e', '0']) in user+pid+net namespaces, lo up, awaited
//                 exit: what the namespaces add to a Node start-up
//   inNamespaces  inNamespaces({ namespaces: ['user', 'pid', 'net'] }, () => 42)
//   runIsolated   runIsolated of `export const trivial = () => 42` (a data: URL module, so the
//                 child's ES module loader is counted) in the same namespaces
// Rounds run every case once, in a fresh random order, so foreign load on this shared machine
// hits all alike; medians (and minima, the idle-machine figure) and their ratios to execFile.
// Usage: node bench/testing.mjs [--rounds 60]   (build first: npx tsc -p .)
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({ options: { rounds: { type: 'string', default: '60' } } });
const ROUNDS = Number(opt.rounds);
const { spawn } = await import(pathToFileURL(join(root, 'dist/index.js')).href);
const { inNamespaces, runIsolated } = await import(pathToFileURL(join(root, 'dist/testing/index.js')).href);

const NS = ['user', 'pid', 'net'];
const MODULE = 'data:text/javascript,export const trivial = () => 42';
const cases = {
  execFile: () => new Promise((res, rej) => execFile(process.execPath, ['-e', '0'], (e) => (e ? rej(e) : res(0)))),
  spawn: async () => {
    const c = spawn(process.execPath, ['-e', '0'], { namespaces: NS, network: { lo: true }, stdio: 'ignore' });
    const s = await c.exited;
    if (s.code !== 0) throw new Error(`spawn: ${JSON.stringify(s)}`);
  },
  inNamespaces: async () => {
    if ((await inNamespaces({ namespaces: NS }, () => 42)) !== 42) throw new Error('inNamespaces: wrong result');
  },
  runIsolated: async () => {
    if ((await runIsolated(MODULE, 'trivial', [], { namespaces: NS })) !== 42) throw new Error('runIsolated: wrong result');
  },
};
const runs = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < 3; i++) for (const f of Object.values(cases)) await f(); // warm the page cache
for (let i = 0; i < ROUNDS; i++) {
  const order = Object.keys(cases).sort(() => Math.random() - 0.5);
  for (const k of order) {
    const t = process.hrtime.bigint();
    await cases[k]();
    runs[k].push(Number(process.hrtime.bigint() - t) / 1e6);
  }
}
const q = (a, p) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) * p)];
console.log(
  `node ${process.version}, ${ROUNDS} interleaved rounds, namespaces ${NS.join('+')} (ratios to execFile: of the minima / of the medians):`,
);
for (const k of Object.keys(cases)) {
  const [mn, p10, md, p90] = [q(runs[k], 0), q(runs[k], 0.1), q(runs[k], 0.5), q(runs[k], 0.9)];
  const ratio = k === 'execFile' ? '' : `  (${(mn / q(runs.execFile, 0)).toFixed(2)}× / ${(md / q(runs.execFile, 0.5)).toFixed(2)}×)`;
  console.log(`  ${k.padEnd(14)}min ${mn.toFixed(1)} ms, median ${md.toFixed(1)} ms (p10–p90 ${p10.toFixed(1)}–${p90.toFixed(1)})${ratio}`);
}
console.log('  target: runIsolated at most 1.50× execFile');
