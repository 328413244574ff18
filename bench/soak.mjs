#!/usr/bin/env node
// bench/soak.mjs — does memory stay flat over many spawns? 100,000 spawns (by default) of a
// mix, 8 in flight, with this process's RSS, V8 heap, external memory, fd count and live
// children printed every 10,000 spawns.
//
// The mix, in turn: spawn 'ignore' without namespaces; spawn with five namespaces and a
// 'pipe' stdout read to its end; spawn with six (+ net); a failing spawn (ENOENT at execve,
// the SysError built and dropped); spawnAsync with five namespaces. That covers the stdio
// streams, the pidfd watchers, SysError construction, the namespaces' kernel-side cleanup and
// spawnAsync's thread and thread-safe function.
//
// Method: RSS after a full GC (node --expose-gc; without it, RSS as it is) at every report;
// growth is the last report against the one at 10,000 (the first ones include warm-up: JIT,
// lazily made pools). Reports go to stdout as JSON lines; --save writes them with the run's
// facts under bench/results/.
//
// Usage: node --expose-gc bench/soak.mjs [--n 100000] [--every 10000] [--inflight 8]
//                                         [--mix ignore,pipe5,six,fail,async5] [--save]
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    every: { type: 'string', default: '10000' },
    inflight: { type: 'string', default: '8' },
    mix: { type: 'string', default: 'ignore,pipe5,six,fail,async5' },
    save: { type: 'boolean', default: false },
  },
});
const nsbox = await import(join(root, 'dist', 'index.js'));
const N = Number(opt.n);
const EVERY = Number(opt.every);
const INFLIGHT = Number(opt.inflight);
const FIVE = ['user', 'pid', 'mnt', 'uts', 'ipc'];
const SIX = [...FIVE, 'net'];

const drain = (s) => new Promise((r) => s.on('data', () => {}).on('end', r));
const exited = (child) => (child.exitCode !== null || child.signalCode !== null ? undefined : child.exited);
const kinds = {
  ignore: async () => exited(nsbox.spawn('/bin/true', { stdio: 'ignore' })),
  pipe5: async () => {
    const c = nsbox.spawn('/bin/echo', ['soak'], { namespaces: FIVE, stdio: ['ignore', 'pipe', 'ignore'] });
    await Promise.all([drain(c.stdout), c.exited]);
  },
  six: async () => exited(nsbox.spawn('/bin/true', { namespaces: SIX, stdio: 'ignore' })),
  fail: async () => {
    try {
      nsbox.spawn('/nonexistent/soak', { namespaces: ['user'], stdio: 'ignore' });
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
  },
  async5: async () => exited(await nsbox.spawnAsync('/bin/true', { namespaces: FIVE, stdio: 'ignore' })),
};
const mix = opt.mix.split(',').map((k) => {
  if (!kinds[k]) throw new Error(`unknown mix entry ${k}`);
  return kinds[k];
});

const fds = () => readdirSync('/proc/self/fd').length;
const threads = () => Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
// RSS by kind of mapping (/proc/self/smaps): brk heap (malloc's main arena), other anonymous
// memory (V8's pages, malloc's thread arenas, thread stacks), and file-backed (code).
function smaps() {
  const out = { brkMB: 0, anonMB: 0, fileMB: 0 };
  let kind = 'anonMB';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) kind = head[1] === '[heap]' ? 'brkMB' : head[1].startsWith('/') ? 'fileMB' : 'anonMB';
    else if (line.startsWith('Rss:')) out[kind] += Number(line.split(/\s+/)[1]) * 1024;
  }
  for (const k of Object.keys(out)) out[k] = mb(out[k]);
  return out;
}
const mb = (b) => Math.round((b / 1048576) * 10) / 10;
function report(done, t0) {
  globalThis.gc?.();
  const m = process.memoryUsage();
  const r = {
    spawns: done,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    rssMB: mb(m.rss),
    heapUsedMB: mb(m.heapUsed),
    heapTotalMB: mb(m.heapTotal),
    ...smaps(),
    externalMB: mb(m.external),
    arrayBuffersMB: mb(m.arrayBuffers),
    fds: fds(),
    threads: threads(),
  };
  console.log(JSON.stringify(r));
  return r;
}

const started = new Date();
console.log(`# nsbox soak — ${started.toISOString()}, node ${process.version}, kernel ${os.release()}, uid ${process.getuid()}`);
console.log(`# ${N} spawns, mix ${opt.mix}, ${INFLIGHT} in flight, gc ${globalThis.gc ? 'forced before each report' : 'not exposed'}`);
const t0 = performance.now();
const reports = [report(0, t0)];
let next = 0;
let done = 0;
await new Promise((res, rej) => {
  let active = 0;
  const one = () => {
    if (next >= N) {
      if (active === 0) res();
      return;
    }
    const kind = mix[next++ % mix.length];
    active++;
    kind().then(() => {
      active--;
      done++;
      if (done % EVERY === 0) reports.push(report(done, t0));
      one();
    }, rej);
  };
  for (let i = 0; i < INFLIGHT; i++) one();
});
const base = reports.find((r) => r.spawns === EVERY) ?? reports[0];
const last = reports.at(-1);
const growth = Math.round((last.rssMB - base.rssMB) * 10) / 10;
console.log(`# RSS ${base.rssMB} MB at ${base.spawns} spawns → ${last.rssMB} MB at ${last.spawns}: ${growth >= 0 ? '+' : ''}${growth} MB`);
if (opt.save) {
  const stamp = started
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const file = join(root, 'bench', 'results', `soak-${stamp}.json`);
  const facts = {
    started: started.toISOString(),
    node: process.version,
    execArgv: process.execArgv,
    kernel: os.release(),
    uid: process.getuid(),
  };
  writeFileSync(
    file,
    `${JSON.stringify({ ...facts, n: N, mix: opt.mix, inflight: INFLIGHT, gc: !!globalThis.gc, growthMB: growth, reports }, null, 2)}\n`,
  );
  console.log(`# saved ${file}`);
}
