#!/usr/bin/env node
// bench/template-ab.mjs — two builds of nsbox side by side in one process (issue 13, the exit
// pin): this checkout ("after") and another checkout given by --before DIR ("before", e.g.
// /work/main, built: its dist/ and build/Release). Each build has its own templates and pool;
// the rows of both are interleaved round-robin (the order rotating every round), so the
// machine's load weighs on both alike; ratios are after ÷ before of the medians.
//   template + netPool           tpl.spawn('/bin/true') of template({ rootfs, namespaces: six,
//                                netPool: namespacePool({ kind: 'net', size: --pool }) }), spawn → exited
//   template + netPool, async    the same through tpl.spawnAsync(), call → exited
//   template                     without the pool (the run makes its network namespace)
// Then sustained runs of `template + netPool, async` with 4 and 16 in flight, --seconds per
// build and level (two halves: 4 and 16 in flight timed 4, 16, 16, 4, before first at 4 and
// after first at 16), the halves summed.
// The rootfs is bench/lib.mjs's busybox one (the same as bench/template.mjs). As root only
// (the pool). Measures; not a test.
//
// Usage: node bench/template-ab.mjs --before DIR [--n 300] [--warmup 20] [--seconds 10] [--pool 64] [--json FILE]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ROOT, buildBusyboxRootfs, option as opt, quantile } from './lib.mjs';

const BEFORE = opt('before', null);
if (!BEFORE || process.geteuid() !== 0) {
  console.error(
    'usage (as root): node bench/template-ab.mjs --before DIR [--n 300] [--warmup 20] [--seconds 10] [--pool 64] [--json FILE]',
  );
  process.exit(2);
}
const N = Number(opt('n', 300));
const WARMUP = Number(opt('warmup', 20));
const SECONDS = Number(opt('seconds', 10));
const POOL = Number(opt('pool', 64));
const JSON_OUT = opt('json', null);
const NS = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net'];
const builds = { before: path.resolve(BEFORE), after: ROOT };

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-bench-ab-'));
const ROOTFS = path.join(TMP, 'rootfs');
buildBusyboxRootfs(ROOTFS);
const T = {};
process.on('exit', () => {
  for (const b of Object.values(T)) {
    b.tpl.close();
    b.plain.close();
    b.pool.close();
  }
  fs.rmSync(TMP, { recursive: true, force: true });
});
for (const [k, dir] of Object.entries(builds)) {
  const m = await import(path.join(dir, 'dist/index.js'));
  const pool = m.namespacePool({ kind: 'net', size: POOL });
  await pool.ready();
  T[k] = {
    pool,
    tpl: m.template({ rootfs: ROOTFS, namespaces: NS, netPool: pool }),
    plain: m.template({ rootfs: ROOTFS, namespaces: NS }),
  };
}
const hr = () => process.hrtime.bigint();
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const io = { stdio: 'ignore' };
const rows = [];
for (const k of Object.keys(builds)) {
  rows.push({ build: k, row: 'template + netPool', run: () => T[k].tpl.spawn('/bin/true', [], io).exited, samples: [] });
  rows.push({
    build: k,
    row: 'template + netPool, async',
    run: async () => (await T[k].tpl.spawnAsync('/bin/true', [], io)).exited,
    samples: [],
  });
  rows.push({ build: k, row: 'template', run: () => T[k].plain.spawn('/bin/true', [], io).exited, samples: [] });
}
const load0 = load();
for (let r = -WARMUP; r < N; r++)
  for (let i = 0; i < rows.length; i++) {
    const row = rows[(i + r + WARMUP) % rows.length];
    const t0 = hr();
    const st = await row.run();
    const t = Number(hr() - t0) / 1e6;
    if (st.code !== 0) throw new Error(`${row.build} ${row.row}: exited with ${JSON.stringify(st)}`);
    if (r >= 0) row.samples.push(t);
  }
async function sustained(k, inflight, secs) {
  let done = 0;
  const end = Date.now() + secs * 1000;
  const t = hr();
  const lane = async () => {
    while (Date.now() < end) if ((await (await T[k].tpl.spawnAsync('/bin/true', [], io)).exited).code === 0) done++;
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  return { done, seconds: Number(hr() - t) / 1e9 };
}
const sums = {};
for (const n of [4, 16, 16, 4])
  for (const k of n === 4 ? ['before', 'after'] : ['after', 'before']) {
    const r = await sustained(k, n, SECONDS / 2);
    const s = (sums[`${k} ${n}`] ??= { build: k, inflight: n, runs: 0, seconds: 0 });
    s.runs += r.done;
    s.seconds += r.seconds;
  }
const load1 = load();
const stat = rows.map((r) => ({
  build: r.build,
  row: r.row,
  n: r.samples.length,
  median: quantile(r.samples, 0.5),
  p10: quantile(r.samples, 0.1),
  p90: quantile(r.samples, 0.9),
}));
const throughput = Object.values(sums).map((s) => ({ ...s, perSecond: s.runs / s.seconds }));
console.log(
  `# nsbox before (${builds.before}) / after (${builds.after}), ${new Date().toISOString()}, kernel ${os.release()}, load ${load0} → ${load1}`,
);
console.log(`# n=${N} per row after ${WARMUP} warm-up rounds, round-robin\n`);
console.log(
  '| row | before median ms | after median ms | after − before | after ÷ before | before p10/p90 | after p10/p90 |\n|---|---:|---:|---:|---:|---|---|',
);
for (const name of new Set(stat.map((s) => s.row))) {
  const [b, a] = ['before', 'after'].map((k) => stat.find((s) => s.build === k && s.row === name));
  const f = (x) => x.toFixed(3);
  console.log(
    `| ${name} | ${f(b.median)} | ${f(a.median)} | ${f(a.median - b.median)} | ${(a.median / b.median).toFixed(3)}× | ${f(b.p10)} / ${f(b.p90)} | ${f(a.p10)} / ${f(a.p90)} |`,
  );
}
console.log(
  `\n| sustained, template + netPool, async (${SECONDS} s each) | in flight | before runs/s | after runs/s | after ÷ before |\n|---|---:|---:|---:|---:|`,
);
for (const n of [4, 16]) {
  const [b, a] = ['before', 'after'].map((k) => throughput.find((t) => t.build === k && t.inflight === n));
  console.log(`| | ${n} | ${b.perSecond.toFixed(0)} | ${a.perSecond.toFixed(0)} | ${(a.perSecond / b.perSecond).toFixed(3)}× |`);
}
if (JSON_OUT)
  fs.writeFileSync(
    JSON_OUT,
    `${JSON.stringify({ date: new Date().toISOString(), kernel: os.release(), node: process.version, builds, n: N, warmup: WARMUP, seconds: SECONDS, load: [load0, load1], stat, throughput }, null, 2)}\n`,
  );
