#!/usr/bin/env node
// bench/init-memory.mjs — what live sandboxes with an init cost in memory while the Node
// process that made them goes on working.
//
// An init (spawn's `init: true`, `nsbox run`'s default) is a copy-on-write fork of this
// process. While it holds that copy, every page of Node's heap that Node rewrites is copied
// for Node and the old page stays, pinned by the init, for as long as the sandbox lives.
// Since the tenth session the init unmaps its copy once the command runs (csrc/child_init.cc
// DropCopy); this script measures both builds the same way.
//
// Method: this process first builds a heap (~30 arrays of 100,000 small objects), then starts
// N sandboxes (`sleep 60` under an init: user, pid, mnt, ipc and uts namespaces, no seccomp),
// waits 300 ms, then rewrites its whole heap four times (new objects, a full GC after each),
// and reports: the inits' summed PSS (/proc/PID/smaps_rollup, which splits each shared page
// among its sharers), their summed VmRSS and VmSize, and the fall of MemAvailable
// (/proc/meminfo) after the spawns and after the rewrites (noisy: the whole machine's).
// Each build runs in its own process, alternating, `--rounds` times.
//
// Usage: node --expose-gc bench/init-memory.mjs [--n 40] [--rounds 2] [--before DIR] [--save]
//   --before DIR: another checkout's built tree (dist/ and build/), as a row beside this one.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = fileURLToPath(import.meta.url);
const repo = resolve(dirname(here), '..');
const { values: opt } = parseArgs({
  options: {
    n: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '2' },
    before: { type: 'string' },
    save: { type: 'boolean', default: false },
    child: { type: 'string' },
  },
});
const N = Number(opt.n);

const kB = (text, field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
const avail = () => kB(readFileSync('/proc/meminfo', 'utf8'), 'MemAvailable') / 1024;

if (opt.child !== undefined) {
  // One measurement, in a process of its own, with the build at opt.child.
  const { spawn } = await import(join(opt.child, 'dist/index.js'));
  let heap = [];
  const build = (v) => {
    heap = [];
    for (let i = 0; i < 30; i++) heap.push(new Array(1e5).fill(v).map((x) => ({ x })));
  };
  build(0);
  globalThis.gc?.();
  const start = avail();
  const kids = [];
  for (let i = 0; i < N; i++)
    kids.push(spawn('/bin/sleep', ['60'], { namespaces: ['user', 'pid', 'mnt', 'ipc', 'uts'], init: true, stdio: 'ignore' }));
  await new Promise((r) => setTimeout(r, 300));
  const afterSpawn = avail();
  for (let round = 1; round <= 4; round++) {
    build(round);
    globalThis.gc?.();
  }
  await new Promise((r) => setTimeout(r, 300));
  const afterRewrite = avail();
  let pss = 0;
  let rss = 0;
  let size = 0;
  for (const k of kids) {
    pss += kB(readFileSync(`/proc/${k.pid}/smaps_rollup`, 'utf8'), 'Pss');
    const st = readFileSync(`/proc/${k.pid}/status`, 'utf8');
    rss += kB(st, 'VmRSS');
    size += kB(st, 'VmSize');
  }
  for (const k of kids) k.kill('SIGKILL');
  await Promise.all(kids.map((k) => k.exited));
  console.log(
    JSON.stringify({
      inits: kids.length,
      pssMB: pss / 1024,
      rssMB: rss / 1024,
      sizeMB: size / 1024,
      availDropSpawnMB: start - afterSpawn,
      availDropRewriteMB: start - afterRewrite,
      nodeRssMB: process.memoryUsage().rss / 1048576,
    }),
  );
  process.exit(0);
}

const builds = [['this', repo], ...(opt.before ? [['before', resolve(opt.before)]] : [])];
const rows = Object.fromEntries(builds.map(([name]) => [name, []]));
for (let r = 0; r < Number(opt.rounds); r++) {
  for (const [name, dir] of r % 2 ? [...builds].reverse() : builds) {
    const p = spawnSync(process.execPath, ['--expose-gc', here, '--child', dir, '--n', String(N)], { encoding: 'utf8' });
    if (p.status !== 0) throw new Error(`${name}: ${p.stderr}`);
    rows[name].push(JSON.parse(p.stdout.trim().split('\n').pop()));
  }
}
const f = (v) => v.toFixed(1).padStart(7);
console.log(`${N} inits alive while their Node process rewrites a heap of ~${Math.round(rows.this[0].nodeRssMB)} MB RSS four times`);
console.log('build        inits PSS MB  inits RSS MB  inits VmSize MB  MemAvailable -MB spawn / rewrite');
for (const [name, list] of Object.entries(rows))
  for (const m of list)
    console.log(
      `${name.padEnd(10)} ${f(m.pssMB)}       ${f(m.rssMB)}      ${f(m.sizeMB)}        ${f(m.availDropSpawnMB)} / ${f(m.availDropRewriteMB)}`,
    );
if (opt.save) {
  const out = join(repo, 'bench/results', `init-memory-${new Date().toISOString().replace(/:|\.\d+/g, '')}.json`);
  writeFileSync(
    out,
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, n: N, before: opt.before, rows }, null, 2)}\n`,
  );
  console.log(`saved ${out}`);
}
