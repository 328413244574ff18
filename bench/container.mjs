#!/usr/bin/env node
// bench/container.mjs — full container start, side by side in one run (issue 3, "Speed").
//
// Start + reap of /bin/true (static busybox) inside a busybox rootfs, six namespaces
// (user pid mnt uts ipc net) with id maps, pivot_root, /proc, /dev, masked paths:
//   nsbox          spawn('/bin/true', { namespaces, rootfs })            defaults on
//   nsbox minimal  the same with defaultMounts: false                    (root + pivot only)
//   nsbox overlay  rootfs: { layers: [ROOTFS, 9 small layers] }          throw-away tmpfs upper
//   bwrap          child_process.spawn('bwrap', ['--unshare-all', '--ro-bind', ROOTFS, '/',
//                  '--proc', '/proc', '--dev', '/dev', '/bin/true'])
//   crun           child_process.spawn('crun', ['run', '--bundle', B, ID])  `crun spec`,
//                  root = ROOTFS read-only, args /bin/true, linux.resources removed
//   C full/minimal/nomask/overlay   bench/container-floor.c, compiled here with gcc into the
//                  temp dir and driven over a pipe (one iteration per request, timed inside C)
//   node spawn     child_process.spawn('/bin/true') on the host: Node's own spawn floor
// Rows are interleaved round-robin (the order rotates every round) so that a burst of
// foreign load on this shared VM hits every row alike. Every Node row uses stdio 'ignore'
// and is timed from the call to the exit event / `exited` (what a caller waits for).
//
// crun on a hybrid-cgroup host (docs/performance.md, the container section): crun 1.8 refuses
// hybrid mode, so as root this script re-executes itself once inside a private mount
// namespace where /sys/fs/cgroup is the cgroup2 hierarchy (unshare -m --propagation
// private + mount -t cgroup2). Every row then runs in that namespace (it differs from the
// host's only under /sys/fs/cgroup) and each crun call costs crun alone, not an extra
// unshare + sh + mount per call. The namespace dies with the process: nothing to unmount.
//
// Usage: node bench/container.mjs [--n 100] [--warmup 10] [--json FILE] [--no-floor-ref]
// Needs: root (crun row; as non-root crun is skipped), gcc, busybox-static (/bin/busybox),
// bubblewrap, crun (apt-get install -y crun), a built nsbox (npm run compile).
// It measures; it is not a test.
import { spawn as cpSpawn, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { buildBusyboxRootfs, cgroupIsV2, crunSpec, reexecWithCgroup2, quantile, rowStats, timeCp } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const FLOOR_C = path.join(HERE, 'floor.c');
const NS = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net'];

// ---- options ----------------------------------------------------------------------------
const argv = process.argv.slice(2);
function opt(name, def) {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = argv[i + 1];
  if (v === undefined) throw new Error(`--${name} needs a value`);
  return v;
}
const N = Number(opt('n', 100));
const WARMUP = Number(opt('warmup', 10));
const JSON_OUT = opt('json', null);
const FLOOR_REF = !argv.includes('--no-floor-ref');
if (!(N > 0) || !(WARMUP >= 0)) throw new Error('--n must be > 0 and --warmup >= 0');

const isRoot = process.geteuid() === 0;
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

// ---- crun: re-exec inside a mount namespace where /sys/fs/cgroup is cgroup2 ----------------
reexecWithCgroup2(fileURLToPath(import.meta.url), argv, has('crun'));

const { spawn: nsSpawn } = await import(path.join(ROOT, 'dist/index.js')).catch((e) => {
  console.error(`nsbox is not built (${e.message}); run: npx node-gyp rebuild && npx tsc -p .`);
  process.exit(2);
});

// ---- scratch dir: rootfs, layers, bundle, C binaries --------------------------------------
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-bench-ct-'));
const ROOTFS = path.join(TMP, 'rootfs');
const LAYERS = Array.from({ length: 9 }, (_, i) => path.join(TMP, 'layers', `l${i + 1}`));
const BUNDLE = path.join(TMP, 'bundle');
const CRUN_STATE = path.join(TMP, 'crun-state');
const CRUN_ID = `nsbox-bench-${process.pid}`;
const skipped = [];
let cfloor = null;
let cleaned = false;

function cleanup() {
  if (cleaned) return;
  cleaned = true;
  if (cfloor) cfloor.stdin.end();
  if (fs.existsSync(CRUN_STATE)) spawnSync('crun', ['--root', CRUN_STATE, 'delete', '-f', CRUN_ID], { stdio: 'ignore' });
  fs.rmSync(TMP, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });

function buildRootfs() {
  buildBusyboxRootfs(ROOTFS);
  LAYERS.forEach((l, i) => {
    fs.mkdirSync(l, { recursive: true });
    fs.writeFileSync(path.join(l, `layer${i + 1}`), `layer ${i + 1}\n`);
  });
}

function buildBundle() {
  fs.mkdirSync(BUNDLE);
  const { spec, file } = crunSpec(BUNDLE, ROOTFS);
  fs.writeFileSync(file, JSON.stringify(spec, null, 2));
  fs.mkdirSync(CRUN_STATE);
}

function compile(src, out, extra = []) {
  const r = spawnSync('gcc', ['-O2', '-Wall', '-o', out, src, ...extra], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc ${src}: ${r.stderr}`);
  return out;
}

// The C program as a server: one iteration per request line, the µs (or -code) as reply.
function startFloor(bin) {
  const child = cpSpawn(bin, ['--serve', ROOTFS, ...LAYERS], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (l) => waiting.shift()?.(Number(l)));
  child.once('exit', () => {
    for (const w of waiting.splice(0)) w(NaN);
  });
  child.run = (mode) =>
    new Promise((resolve) => {
      waiting.push(resolve);
      child.stdin.write(`${mode}\n`);
    });
  return child;
}

// ---- the rows -------------------------------------------------------------------------
const hr = () => process.hrtime.bigint();
const ms = (a, b) => Number(b - a) / 1e6;

async function timeNsbox(options) {
  const t0 = hr();
  const c = nsSpawn('/bin/true', { namespaces: NS, stdio: 'ignore', ...options });
  const st = await c.exited;
  const t = ms(t0, hr());
  if (st.code !== 0) throw new Error(`nsbox exited with ${JSON.stringify(st)}`);
  return t;
}
async function timeC(mode) {
  const us = await cfloor.run(mode);
  if (!(us >= 0)) throw new Error(`container-floor ${mode} failed (${us})`);
  return us / 1000;
}

const rows = [];
function row(key, label, run, how) {
  rows.push({ key, label, run, how, samples: [] });
}

buildRootfs();
row('nsbox', 'nsbox spawn, rootfs dir, defaults', () => timeNsbox({ rootfs: ROOTFS }), 'in-process, spawn() → exited');
// The defaults before the escapes issue: host root inside (uid_map 0 0 1) and no mount lock.
const HOSTROOT = isRoot ? { uidMap: [{ inside: 0, outside: 0 }], gidMap: [{ inside: 0, outside: 0 }] } : {};
row(
  'nsbox-unlocked',
  'nsbox spawn, rootfs dir, lockMounts: false, host-root map (former defaults)',
  () => timeNsbox({ rootfs: ROOTFS, lockMounts: false, ...HOSTROOT }),
  'in-process, spawn() → exited',
);
row(
  'nsbox-min',
  'nsbox spawn, rootfs dir, defaultMounts: false',
  () => timeNsbox({ rootfs: ROOTFS, defaultMounts: false }),
  'in-process, spawn() → exited',
);
row(
  'nsbox-ovl',
  'nsbox spawn, overlay of 10 layers, defaults',
  () => timeNsbox({ rootfs: { layers: [ROOTFS, ...LAYERS] } }),
  'in-process, spawn() → exited',
);
if (has('gcc')) {
  cfloor = startFloor(compile(path.join(HERE, 'container-floor.c'), path.join(TMP, 'container-floor')));
  row('c', 'C container-floor full (= nsbox defaults)', () => timeC('full'), 'inside C, clone → waitpid');
  row('c-nomask', 'C container-floor full − masked/ro paths', () => timeC('nomask'), 'inside C, clone → waitpid');
  row('c-min', 'C container-floor minimal (= defaultMounts: false)', () => timeC('minimal'), 'inside C, clone → waitpid');
  row('c-ovl', 'C container-floor full, overlay of 10 layers', () => timeC('overlay'), 'inside C, clone → waitpid');
} else skipped.push('C rows: gcc not found (apt-get install -y gcc)');
if (has('bwrap')) {
  row(
    'bwrap',
    'Node → bwrap --unshare-all --ro-bind R / --proc --dev',
    () => timeCp('bwrap', ['--unshare-all', '--ro-bind', ROOTFS, '/', '--proc', '/proc', '--dev', '/dev', '/bin/true']),
    'in-process, child_process.spawn → exit',
  );
} else skipped.push('bwrap: not found (apt-get install -y bubblewrap)');
if (!isRoot) skipped.push('crun: needs root here (rootless crun needs a user-ns bundle and a delegated cgroup v2, which this host lacks)');
else if (!has('crun')) skipped.push('crun: not found (apt-get install -y crun)');
else if (!cgroupIsV2()) skipped.push('crun: /sys/fs/cgroup is not cgroup2 and the re-exec into a cgroup2 view did not happen');
else {
  buildBundle();
  row(
    'crun',
    'Node → crun run (OCI bundle, no linux.resources)',
    () => timeCp('crun', ['--root', CRUN_STATE, 'run', '--bundle', BUNDLE, CRUN_ID]),
    'in-process, child_process.spawn → exit',
  );
}
row(
  'node',
  'Node → /bin/true on the host (no namespaces; reference)',
  () => timeCp('/bin/true', []),
  'in-process, child_process.spawn → exit',
);

// ---- run ------------------------------------------------------------------------------
const loadBefore = os
  .loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');
const t0 = Date.now();
for (let r = -WARMUP; r < N; r++) {
  for (let k = 0; k < rows.length; k++) {
    const rw = rows[(k + r + WARMUP) % rows.length];
    const t = await rw.run();
    if (r >= 0) rw.samples.push(t);
  }
}
const wall = (Date.now() - t0) / 1000;
const loadAfter = os
  .loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');

// floor.c's sandbox mode (bind onto itself, /proc only) as an extra batch reference.
let floorRef = null;
// It maps uid 0 to 0, so it runs as root only.
if (FLOOR_REF && isRoot && fs.existsSync(FLOOR_C) && has('gcc')) {
  try {
    const bin = compile(FLOOR_C, path.join(TMP, 'floor'), [`-DROOTFS="${ROOTFS}"`, '-lm']);
    const out = execFileSync(bin, ['sandbox', String(N)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    floorRef = JSON.parse(out.trim().split('\n').pop());
  } catch (e) {
    skipped.push(`floor.c reference: ${String(e.stderr || e.message).trim()}`);
  }
}

// ---- report ---------------------------------------------------------------------------
const q = quantile;
const stat = rowStats(rows);
const f = (x) => (x >= 10 ? x.toFixed(1) : x.toFixed(2));

const leftMounts = fs
  .readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .filter((l) => l.includes(TMP));
console.log(`# container start, ${new Date().toISOString()}, kernel ${os.release()}, node ${process.version}, ${os.cpus().length} vCPU`);
console.log(`# n=${N} per row after ${WARMUP} warm-up rounds, round-robin; wall ${wall.toFixed(1)} s; load ${loadBefore} → ${loadAfter}`);
console.log('\n| row | n | median ms | p10 | p90 | min | ÷ nsbox | measured |');
console.log('|---|---:|---:|---:|---:|---:|---:|---|');
const base = stat.nsbox.median;
for (const r of rows) {
  const s = stat[r.key];
  console.log(
    `| ${s.label} | ${s.n} | ${f(s.median)} | ${f(s.p10)} | ${f(s.p90)} | ${f(s.min)} | ${(s.median / base).toFixed(2)}× | ${s.how} |`,
  );
}
if (floorRef)
  console.log(
    `| floor.c sandbox (reference; batch after the run, bind onto itself + /proc only) | ${floorRef.n} | ${f(floorRef.median_us / 1000)} | | | ${f(floorRef.min_us / 1000)} | ${(floorRef.median_us / 1000 / base).toFixed(2)}× | inside C |`,
  );

const targets = [];
const target = (name, value, ok, goal) => targets.push({ name, value, ok, goal });
if (stat.c) target('nsbox ÷ C (full)', `${(base / stat.c.median).toFixed(2)}×`, base / stat.c.median <= 1.3, '≤ 1.3×');
if (stat.c && stat['c-min'])
  target(
    'nsbox minimal ÷ C minimal',
    `${(stat['nsbox-min'].median / stat['c-min'].median).toFixed(2)}×`,
    stat['nsbox-min'].median / stat['c-min'].median <= 1.3,
    '(≤ 1.3×)',
  );
if (stat.bwrap) target('bwrap ÷ nsbox', `${(stat.bwrap.median / base).toFixed(2)}×`, stat.bwrap.median / base >= 3, '≥ 3×');
if (stat.crun) target('crun ÷ nsbox', `${(stat.crun.median / base).toFixed(2)}×`, stat.crun.median / base >= 5, '≥ 5×');
if (stat['nsbox-unlocked']) {
  const l = base - stat['nsbox-unlocked'].median;
  target(
    'containment (id block + lock + keyring + TIOCSTI filter) − former defaults',
    `${l >= 0 ? '+' : ''}${l.toFixed(3)} ms`,
    true,
    '(reference)',
  );
}
const d = stat['nsbox-ovl'].median - base;
target('overlay(10) − dir, nsbox', `${d >= 0 ? '+' : ''}${d.toFixed(2)} ms`, d <= 1, '≤ +1 ms');
if (stat['c-ovl']) target('overlay(10) − dir, C', `${(stat['c-ovl'].median - stat.c.median).toFixed(2)} ms`, true, '(reference)');
console.log('\n| target | value | goal | met |');
console.log('|---|---:|---|---|');
for (const t of targets) console.log(`| ${t.name} | ${t.value} | ${t.goal} | ${t.goal.startsWith('(') ? '–' : t.ok ? 'yes' : 'NO'} |`);
for (const s of skipped) console.log(`\nskipped: ${s}`);
if (leftMounts.length) console.log(`\nWARNING: mounts left under ${TMP}:\n${leftMounts.join('\n')}`);

if (JSON_OUT) {
  fs.writeFileSync(
    JSON_OUT,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        kernel: os.release(),
        node: process.version,
        n: N,
        warmup: WARMUP,
        wall,
        loadBefore,
        loadAfter,
        stat,
        floorRef,
        targets,
        skipped,
      },
      null,
      2,
    ),
  );
}
cleanup();
// crun created and removed its cgroup per run; check none is left (cgroup2 view).
if (stat.crun && fs.existsSync(`/sys/fs/cgroup/${CRUN_ID}`)) console.log(`WARNING: cgroup /sys/fs/cgroup/${CRUN_ID} left behind`);
