#!/usr/bin/env node
// bench/template-exit-trace.mjs — how long a template run's command takes to exit, in the
// kernel (issue 13, the exit pin): from its sched:sched_process_exit tracepoint (do_exit, before
// exit_mm and exit_task_namespaces) to its last sched:sched_switch (the task dead, after
// exit_notify: from then on its parent can see the exit), from `perf record -a` around N
// sequential runs of tpl.spawn('/bin/true') (template + netPool, six namespaces, the busybox
// rootfs of bench/lib.mjs). Given --before DIR, that checkout's build is traced too, the two
// alternating --rounds times. As root (perf, the pool). Measures; not a test.
//
// Usage: node bench/template-exit-trace.mjs [--before DIR] [--n 300] [--rounds 2] [--json FILE]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, buildBusyboxRootfs, option as opt, quantile } from './lib.mjs';

const N = Number(opt('n', 300));
const ROUNDS = Number(opt('rounds', 2));
const JSON_OUT = opt('json', null);
const argv = process.argv.slice(2);
const builds = { ...(opt('before', null) ? { before: path.resolve(opt('before')) } : {}), after: ROOT };

// The traced program: N sequential runs, nothing else.
if (argv[0] === '--runs') {
  const [, dir, rootfs, n] = argv;
  const m = await import(path.join(dir, 'dist/index.js'));
  const pool = m.namespacePool({ kind: 'net', size: 64 });
  await pool.ready();
  const t = m.template({ rootfs, namespaces: ['user', 'pid', 'mnt', 'uts', 'ipc', 'net'], netPool: pool });
  for (let i = 0; i < Number(n); i++) await t.spawn('/bin/true', [], { stdio: 'ignore' }).exited;
  t.close();
  pool.close();
  process.exit(0);
}

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-bench-exit-'));
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));
const ROOTFS = path.join(TMP, 'rootfs');
buildBusyboxRootfs(ROOTFS);
const DATA = path.join(TMP, 'perf.data');

/** µs from each `true`'s sched_process_exit to its final switch-out (prev_state X or Z). */
function exitTimes(script) {
  const started = new Map();
  const out = [];
  for (const line of script.split('\n')) {
    const m = /^\s*(.+?)\s+(\d+)\s+\[\d+\]\s+([\d.]+):\s+(\S+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, comm, pid, t, ev, rest] = m;
    if (ev.startsWith('sched:sched_process_exit') && comm === 'true') started.set(Number(pid), Number(t));
    else if (ev.startsWith('sched:sched_switch')) {
      const s = /prev_pid=(\d+) .*prev_state=([XZ])/.exec(rest);
      if (s && started.has(Number(s[1]))) {
        out.push((Number(t) - started.get(Number(s[1]))) * 1e6);
        started.delete(Number(s[1]));
      }
    }
  }
  return out;
}

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const samples = Object.fromEntries(Object.keys(builds).map((k) => [k, []]));
const load0 = load();
for (let r = 0; r < ROUNDS; r++)
  for (const [k, dir] of Object.entries(builds)) {
    const rec = spawnSync(
      'perf',
      [
        'record',
        '-q',
        '-e',
        'sched:sched_process_exit',
        '-e',
        'sched:sched_switch',
        '-a',
        '-o',
        DATA,
        '--',
        process.execPath,
        fileURLToPath(import.meta.url),
        '--runs',
        dir,
        ROOTFS,
        String(N),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    if (rec.status !== 0) throw new Error(`perf record: status ${rec.status}`);
    const script = spawnSync('perf', ['script', '-i', DATA], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
    samples[k].push(...exitTimes(script.stdout));
  }
const load1 = load();
console.log(
  `# exit of a template run's command in the kernel (sched_process_exit → last switch-out), ${new Date().toISOString()}, kernel ${os.release()}, load ${load0} → ${load1}`,
);
console.log('\n| build | n | median µs | p10 | p90 |\n|---|---:|---:|---:|---:|');
const stat = {};
for (const [k, s] of Object.entries(samples)) {
  stat[k] = { dir: builds[k], n: s.length, median: quantile(s, 0.5), p10: quantile(s, 0.1), p90: quantile(s, 0.9) };
  console.log(
    `| ${k} (${builds[k]}) | ${s.length} | ${stat[k].median.toFixed(0)} | ${stat[k].p10.toFixed(0)} | ${stat[k].p90.toFixed(0)} |`,
  );
}
if (JSON_OUT)
  fs.writeFileSync(
    JSON_OUT,
    `${JSON.stringify({ date: new Date().toISOString(), kernel: os.release(), n: N, rounds: ROUNDS, load: [load0, load1], stat }, null, 2)}\n`,
  );
