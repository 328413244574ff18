#!/usr/bin/env node
// bench/template.mjs — sandbox templates (issue 13, item 1), side by side in one run.
//
// Start + reap of /bin/true (static busybox) in a busybox rootfs with nsbox's default mounts
// and six namespaces (user pid mnt uts ipc net):
//   template      tpl.spawn('/bin/true') of template({ rootfs, namespaces: six })   per run: a copy
//                 of the prepared mount tree, new pid ipc uts net namespaces, a fresh /proc with
//                 its masks and read-only paths, devpts, /dev/shm, /dev/mqueue, a /tmp tmpfs,
//                 the command's user namespace entered, lo up, session keyring, TIOCSTI filter
//   template as the floor   the same with uidMap/gidMap 0 0 1 (as root) and lockMounts: false: the
//                 command in the template's user namespace, no per-run one (the C floor's model)
//   nsbox spawn   spawn('/bin/true', { namespaces: six, rootfs })   the whole container per spawn
//   C floor       bench/container-floor.c full, compiled here, driven over a pipe, timed inside
//                 C from clone to waitpid: the full setup per spawn in plain C (no lock, map 0 0 1)
//   bwrap         child_process.spawn('bwrap', …) with the same mounts as nsbox's defaults as far
//                 as bwrap can make them: --unshare-{user,pid,net,ipc,uts} (six namespaces with
//                 the implied mnt), --ro-bind R /, --proc /proc, masks (--tmpfs + --remount-ro for
//                 the directories, --ro-bind /dev/null for the files), the read-only /proc paths
//                 (--ro-bind of the host's /proc/X: bwrap binds from the host), --ro-bind /sys,
//                 --dev /dev, --tmpfs /dev/shm, --mqueue /dev/mqueue, --tmpfs /tmp. Not the
//                 /etc/{hostname,hosts,resolv.conf} files (bwrap needs an fd per file): three
//                 binds fewer than nsbox, in bwrap's favour.
//   node          child_process.spawn('/bin/true') on the host (reference)
//   node busybox  child_process.spawn(R/bin/true): the rootfs's static busybox, the binary every
//                 other row runs, on the host without namespaces (Node's floor, reference)
//   nsbox bare    spawn(R/bin/true) without namespaces (nsbox's own floor, reference)
// Added for issue 13's levers (as root: a pool of network namespaces needs CAP_SYS_ADMIN):
//   template + netPool   tpl.spawn('/bin/true') of template({ rootfs, namespaces: six, netPool }):
//                 as `template`, but the run's network namespace is taken from a
//                 namespacePool({ kind: 'net', size: --pool }) filled before the timed rounds and
//                 refilled in the background (its lo already up): setns(2) instead of
//                 unshare(CLONE_NEWNET) + lo up in the run; the namespace belongs to the pool's
//                 (initial) user namespace, not to the run's
//   template + netPool, spawnAsync   the same through tpl.spawnAsync(): the run's session (maps,
//                 the wait for execve) on a native thread; timed from the call to the exit
//   C floor, pooled netns   bench/container-floor.c pooled: the whole setup per spawn in C as a
//                 template run orders it (real root mounts, then the user namespace), joining a
//                 network namespace made before its clock starts (what the pool does for
//                 nsbox): the C floor with the same lever, for reference
// The targets stay as issue 13 defines them (template rows ÷ the C floor `full`); the pooled C
// row shows what the same lever gives plain C.
// Added for issue 13's last target (≥ 6× faster than Node → crun run), as root:
//   crun          Node → `crun --root S --cgroup-manager cgroupfs run --bundle B ID` (as root): a
//                 bundle from `crun spec` (its /proc, /dev tmpfs, devpts, /dev/shm, mqueue, sysfs
//                 ro, /sys/fs/cgroup ro, masked and read-only paths, capabilities,
//                 noNewPrivileges) with root R read-only, args /bin/true, a /tmp tmpfs, the six
//                 namespaces (crun spec's pid net ipc uts mnt + user, 0 → an id block of 65,536
//                 as the template's default as root), cgroupsPath /nsbox-bench-crun/ID, no
//                 linux.resources (crun's eBPF device filter needs RLIMIT_MEMLOCK this VM
//                 refuses). Differs from the template rows: crun makes a cgroup per run (they
//                 make none; crun 1.8.1 also gave the container a cgroup namespace of its own),
//                 and has no /etc files, no lo up, no session keyring, no TIOCSTI filter (it
//                 sets noNewPrivileges and drops capabilities).
//                 Timed by bench/crun-driver.mjs, a Node process driven over a pipe, from its
//                 child_process.spawn('crun', …) call to the exit event (Node → crun run, as
//                 the other Node rows are timed, but in a second, smaller Node process).
//   crun driver → busybox   the driver's own child_process.spawn of R/bin/true, no namespaces
//                 (reference: that second Node process's floor, against `node busybox`)
// How the crun row is safe on this hybrid-cgroup host (the v1 hierarchies under /sys/fs/cgroup
// belong to the machine; crun must never write there): the driver is started ONCE per bench
// run as `unshare --mount --propagation private -- sh -c 'mount -t cgroup2 none /sys/fs/cgroup
// && exec node bench/crun-driver.mjs …'`, so only in its private mount namespace
// /sys/fs/cgroup is the cgroup2 hierarchy (the host's /sys/fs/cgroup/unified); the driver
// checks statfs(/sys/fs/cgroup) == CGROUP2_SUPER_MAGIC before its first crun call and exits
// without calling crun otherwise. crun's cgroups land in the host's v2 tree under
// /nsbox-bench-crun: the driver removes every one and the parent at the end, and this script
// then checks from the host that nsbox-bench-crun is gone from its v2 tree and that no
// cgroup2 mount at /sys/fs/cgroup leaked into the host's mount namespace (the private one dies
// with the driver). The unshare and the mount (once per bench run) are not timed.
// Rows are interleaved round-robin, the order rotating every round; Node rows time the call to
// the exit event.
//
// Then sustained throughput: templates/s over `--seconds` (default 20) with 4 and with 16 runs
// in flight (spawn → exit → reap; a finished run starts the next; each level timed in
// two halves, 4-16-16-4, so that a change of load weighs on both), from the main thread and from
// two worker threads (a template each, half the runs each), and nsbox spawn the same way; then
// (as root) the template with a netPool through spawnAsync from the main thread and from two
// workers (a template and a pool of --pool each), and spawnAsync without a pool. Last, the C
// floor sustained the same way (from 2026-11-30): 4 and 16 container-floor processes, each
// doing `full` K times in a row (K from the row's median, so the whole takes about --seconds
// on 2 cores; plus its own warm-up tenth, counted), all started at once: containers ÷ wall.
//
// Usage: node bench/template.mjs [--n 200] [--warmup 20] [--seconds 20] [--pool 64] [--json FILE]
// Needs: gcc, /bin/busybox (busybox-static), bwrap, a built nsbox; for the crun rows root, crun
// (apt-get install -y crun) and unshare (util-linux). Measures; not a test.
import { spawn as cpSpawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { buildBusyboxRootfs, quantile, rowStats, timeCp } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const NS = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net'];
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? def : argv[i + 1];
};
// A worker of the sustained runs with threads: a template of its own, `inflight` lanes.
if (!isMainThread) {
  const { template, namespacePool } = await import(path.join(ROOT, 'dist/index.js'));
  const pool = workerData.pool ? namespacePool({ kind: 'net', size: workerData.pool }) : undefined;
  await pool?.ready();
  const t = template({ ...workerData.options, ...(pool ? { netPool: pool } : {}) });
  const start = workerData.async
    ? async () => (await t.spawnAsync('/bin/true', [], { stdio: 'ignore' })).exited
    : () => t.spawn('/bin/true', [], { stdio: 'ignore' }).exited;
  let done = 0;
  let failed = 0;
  const errors = new Set();
  // Both workers start together: each reports ready, then waits for the start time.
  parentPort.postMessage({ ready: true });
  const end = await new Promise((resolve) => parentPort.once('message', resolve));
  const lane = async () => {
    while (Date.now() < end) {
      try {
        const st = await start();
        if (st.code === 0) done++;
        else failed++;
      } catch (e) {
        failed++;
        errors.add(e.code ?? e.message);
      }
    }
  };
  await Promise.all(Array.from({ length: workerData.inflight }, lane));
  t.close();
  pool?.close();
  parentPort.postMessage({ done, failed, errors: [...errors] });
  process.exit(0); // this worker only
}
const N = Number(opt('n', 200));
const WARMUP = Number(opt('warmup', 20));
const SECONDS = Number(opt('seconds', 20));
const JSON_OUT = opt('json', null);
const POOL = Number(opt('pool', 64));
const ROOT_USER = process.geteuid() === 0;
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

const { spawn: nsSpawn, template, namespacePool } = await import(path.join(ROOT, 'dist/index.js'));
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-bench-tpl-'));
const ROOTFS = path.join(TMP, 'rootfs');
buildBusyboxRootfs(ROOTFS);
fs.mkdirSync(path.join(ROOTFS, 'mnt'), { recursive: true });
const skipped = [];
let cfloor = null;
let tpl = null;
let tplFloor = null;
let tplPool = null;
let pool = null;
let crun = null;
function cleanup() {
  crun?.stdin.end();
  tpl?.close();
  tplFloor?.close();
  tplPool?.close();
  pool?.close();
  cfloor?.stdin.end();
  fs.rmSync(TMP, { recursive: true, force: true });
}
process.on('exit', cleanup);

const hr = () => process.hrtime.bigint();
const ms = (a, b) => Number(b - a) / 1e6;
async function timeChild(start) {
  const t0 = hr();
  const st = await start().exited;
  const t = ms(t0, hr());
  if (st.code !== 0) throw new Error(`exited with ${JSON.stringify(st)}`);
  return t;
}
function startFloor(bin) {
  const child = cpSpawn(bin, ['--serve', ROOTFS], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (l) => waiting.shift()?.(Number(l)));
  child.run = (mode) =>
    new Promise((resolve) => {
      waiting.push(resolve);
      child.stdin.write(`${mode}\n`);
    });
  return child;
}

// The crun driver (see the header): once per bench run, in a private mount namespace with
// cgroup2 at /sys/fs/cgroup. Resolves when it is ready, or with `failure` (it then exited
// without calling crun).
const CRUN_ID = `nsbox-bench-${process.pid}`;
const CRUN_UIDBASE = 0x6000_0000; // an id block of its own, away from nsbox's (0x7000_0000 up)
function startCrun() {
  // The container's root (uid CRUN_UIDBASE on the host) must reach R through the 0700 temp dir.
  fs.chmodSync(TMP, 0o711);
  const driver = path.join(HERE, 'crun-driver.mjs');
  const args = [path.join(TMP, 'crun-bundle'), path.join(TMP, 'crun-state'), CRUN_ID, String(CRUN_UIDBASE)];
  const child = cpSpawn(
    'unshare',
    ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount -t cgroup2 none /sys/fs/cgroup && exec "$@"', 'sh'].concat(
      process.execPath,
      driver,
      ROOTFS,
      args,
    ),
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  const last = [];
  lines.on('line', (l) => (waiting.length ? waiting.shift()(l) : last.push(l)));
  child.once('exit', (code) => {
    child.exitCode_ = code;
    for (const w of waiting.splice(0)) w(`error driver exited (${code})`);
  });
  const next = () => new Promise((resolve) => (last.length ? resolve(last.shift()) : waiting.push(resolve)));
  child.run = async (what = 'run') => {
    const p = next();
    child.stdin.write(`${what}\n`);
    const l = await p;
    const t = Number(l);
    if (!(t >= 0)) throw new Error(`crun: ${l}`);
    return t;
  };
  // End of input: the driver deletes what crun left and says `clean` or `left …`, then exits.
  child.stop = async () => {
    const p = next();
    child.stdin.end();
    const l = await p;
    if (child.exitCode_ === undefined) await new Promise((r) => child.once('exit', r));
    return l;
  };
  return next().then((l) => {
    if (l !== 'ready') child.failure = l.replace(/^error /, '');
    return child;
  });
}

tpl = template({ rootfs: ROOTFS, namespaces: NS });
// As the C floor does it: host root inside (map 0 0 1, as root), no per-run user namespace for
// the command (lockMounts: false), so no lock helper; rootless this is the caller's uid as 0.
const HOSTROOT = process.geteuid() === 0 ? { uidMap: [{ inside: 0, outside: 0 }], gidMap: [{ inside: 0, outside: 0 }] } : {};
tplFloor = template({ rootfs: ROOTFS, namespaces: NS, lockMounts: false, ...HOSTROOT });
const rows = [];
const row = (key, label, run, how) => rows.push({ key, label, run, how, samples: [] });
row(
  'template',
  'nsbox template.spawn, six namespaces, defaults',
  () => timeChild(() => tpl.spawn('/bin/true', [], { stdio: 'ignore' })),
  'in-process, spawn() → exited',
);
row(
  'template-floor',
  'nsbox template.spawn, as the C floor: host-root map, lockMounts: false',
  () => timeChild(() => tplFloor.spawn('/bin/true', [], { stdio: 'ignore' })),
  'in-process, spawn() → exited',
);
if (ROOT_USER) {
  pool = namespacePool({ kind: 'net', size: POOL });
  await pool.ready();
  tplPool = template({ rootfs: ROOTFS, namespaces: NS, netPool: pool });
  row(
    'template-pool',
    'nsbox template.spawn + netPool (pooled network namespace)',
    () => timeChild(() => tplPool.spawn('/bin/true', [], { stdio: 'ignore' })),
    'in-process, spawn() → exited',
  );
  row(
    'template-pool-async',
    'nsbox template.spawnAsync + netPool',
    async () => {
      const t0 = hr();
      const st = await (await tplPool.spawnAsync('/bin/true', [], { stdio: 'ignore' })).exited;
      if (st.code !== 0) throw new Error(`exited with ${JSON.stringify(st)}`);
      return ms(t0, hr());
    },
    'in-process, spawnAsync() → exited',
  );
} else skipped.push('template + netPool rows and the pooled C floor: a pool of network namespaces needs root');
row(
  'nsbox',
  'nsbox spawn, rootfs dir, defaults (whole setup per spawn)',
  () => timeChild(() => nsSpawn('/bin/true', { namespaces: NS, rootfs: ROOTFS, stdio: 'ignore' })),
  'in-process, spawn() → exited',
);
if (has('gcc')) {
  const bin = path.join(TMP, 'container-floor');
  const r = spawnSync('gcc', ['-O2', '-Wall', '-o', bin, path.join(HERE, 'container-floor.c')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  cfloor = startFloor(bin);
  row(
    'c',
    'C container-floor full (whole setup per spawn)',
    async () => {
      const us = await cfloor.run('full');
      if (!(us >= 0)) throw new Error(`container-floor failed (${us})`);
      return us / 1000;
    },
    'inside C, clone → waitpid',
  );
  if (ROOT_USER)
    row(
      'c-pooled',
      'C container-floor pooled (full setup, netns made ahead, untimed)',
      async () => {
        const us = await cfloor.run('pooled');
        if (!(us >= 0)) throw new Error(`container-floor pooled failed (${us})`);
        return us / 1000;
      },
      'inside C, clone → waitpid',
    );
} else skipped.push('C floor: gcc not found');
if (has('bwrap')) {
  const a = [
    '--unshare-user',
    '--unshare-pid',
    '--unshare-net',
    '--unshare-ipc',
    '--unshare-uts',
    '--ro-bind',
    ROOTFS,
    '/',
    '--proc',
    '/proc',
  ];
  for (const d of ['/proc/acpi', '/proc/asound', '/proc/scsi']) if (fs.existsSync(d)) a.push('--tmpfs', d, '--remount-ro', d);
  for (const f of ['/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug'])
    if (fs.existsSync(f)) a.push('--ro-bind', '/dev/null', f);
  for (const p of ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'])
    if (fs.existsSync(p)) a.push('--ro-bind', p, p);
  a.push('--ro-bind', '/sys', '/sys');
  for (const d of ['/sys/firmware', '/sys/devices/virtual/powercap']) if (fs.existsSync(d)) a.push('--tmpfs', d, '--remount-ro', d);
  a.push('--dev', '/dev', '--tmpfs', '/dev/shm', '--mqueue', '/dev/mqueue', '--tmpfs', '/tmp', '/bin/true');
  row(
    'bwrap',
    'Node → bwrap, six namespaces, the same mounts (but the /etc files)',
    () => timeCp('bwrap', a),
    'in-process, child_process.spawn → exit',
  );
} else skipped.push('bwrap: not found');
if (!ROOT_USER) skipped.push('crun: as root only (rootless crun needs a delegated cgroup v2 this host lacks)');
else if (!has('crun') || !has('unshare')) skipped.push('crun: crun or unshare not found (apt-get install -y crun)');
else {
  crun = await startCrun();
  if (crun.failure) {
    skipped.push(`crun: ${crun.failure}`);
    crun = null;
  } else {
    row(
      'crun',
      'Node → crun run, the same six namespaces, crun spec mounts (crun-driver.mjs)',
      () => crun.run(),
      'in the crun driver (Node), child_process.spawn → exit',
    );
    row(
      'crun-driver-busybox',
      "the crun driver's Node → the rootfs's /bin/true, no namespaces (reference)",
      () => crun.run('true'),
      'in the crun driver (Node), child_process.spawn → exit',
    );
  }
}
row('node', 'Node → /bin/true on the host (reference)', () => timeCp('/bin/true', []), 'in-process, child_process.spawn → exit');
// The same binary as every other row (the rootfs's static busybox), without any isolation:
// where a Node caller's floor is.
const BB_TRUE = path.join(ROOTFS, 'bin/true');
row(
  'node-busybox',
  "Node → the rootfs's /bin/true (static busybox) on the host, no namespaces (reference)",
  () => timeCp(BB_TRUE, []),
  'in-process, child_process.spawn → exit',
);
row(
  'nsbox-bare',
  "nsbox spawn of the rootfs's /bin/true, no namespaces (reference)",
  () => timeChild(() => nsSpawn(BB_TRUE, [], { stdio: 'ignore' })),
  'in-process, spawn() → exited',
);

const load0 = os
  .loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');
const t0 = Date.now();
for (let r = -WARMUP; r < N; r++)
  for (let k = 0; k < rows.length; k++) {
    const rw = rows[(k + r + WARMUP) % rows.length];
    const t = await rw.run();
    if (r >= 0) rw.samples.push(t);
  }
const wall = (Date.now() - t0) / 1000;
// The crun driver's clean-up, then the host's view: no cgroup left in its v2 tree, no cgroup2
// mount at /sys/fs/cgroup in the host's mount namespace.
let crunCleanup = null;
if (crun) {
  const said = await crun.stop();
  crun = null;
  // The host's v2 tree: /sys/fs/cgroup/unified on a hybrid host, /sys/fs/cgroup on a unified one.
  const left = ['/sys/fs/cgroup/unified/nsbox-bench-crun', '/sys/fs/cgroup/nsbox-bench-crun'].some((d) => fs.existsSync(d));
  const leaked = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === '/sys/fs/cgroup' && l.includes(' - cgroup2 '));
  crunCleanup = `driver: ${said}; host: ${left ? 'nsbox-bench-crun cgroup LEFT' : 'no cgroup left'}, ${leaked ? 'cgroup2 mount at /sys/fs/cgroup LEAKED' : 'no mount leaked'}`;
}

// Sustained: `inflight` runs at a time for SECONDS; each exit starts the next.
// `isAsync`: start() resolves to the child (spawnAsync) instead of returning it.
async function sustained(start, inflight, isAsync = false, seconds = SECONDS) {
  let done = 0;
  let failed = 0;
  const errors = new Set();
  const end = Date.now() + seconds * 1000;
  const rss0 = process.memoryUsage().rss;
  const t = hr();
  const lane = async () => {
    while (Date.now() < end) {
      // A refused spawn counts as failed, with its code (rootless: EDQUOT from the kernel's
      // per-uid key quota, kernel.keys.maxkeys, when session keyrings outrun the key collector).
      try {
        const st = await (isAsync ? (await start()).exited : start().exited);
        if (st.code === 0) done++;
        else failed++;
      } catch (e) {
        failed++;
        errors.add(e.code ?? e.message);
      }
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  const secs = ms(t, hr()) / 1000;
  const rssGrowthMB = (process.memoryUsage().rss - rss0) / 2 ** 20;
  return { inflight, runs: done, failed, errors: [...errors], seconds: secs, perSecond: done / secs, rssGrowthMB };
}
// The same over two worker threads (a template each, half the runs in flight each): spawn
// blocks its thread until the child has exec'd, so one thread cannot keep both cores busy.
// Each worker builds its template (and pool) first; the clock starts once all are ready.
async function sustainedWorkers(inflight, { workers = 2, pool: poolSize = 0, async: useAsync = false, seconds = SECONDS } = {}) {
  const ws = Array.from(
    { length: workers },
    () =>
      new Worker(new URL(import.meta.url), {
        workerData: { options: { rootfs: ROOTFS, namespaces: NS }, inflight: inflight / workers, pool: poolSize, async: useAsync },
      }),
  );
  const messages = ws.map((w) => {
    const queue = [];
    const waiting = [];
    w.on('message', (m) => (waiting.length ? waiting.shift()(m) : queue.push(m)));
    const failed = new Promise((_, reject) => w.once('error', reject));
    return () => Promise.race([queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiting.push(r)), failed]);
  });
  await Promise.all(messages.map((next) => next()));
  const end = Date.now() + seconds * 1000;
  const t = hr();
  for (const w of ws) w.postMessage(end);
  const results = await Promise.all(messages.map((next) => next()));
  const secs = ms(t, hr()) / 1000;
  const done = results.reduce((a, r) => a + r.done, 0);
  return {
    inflight,
    runs: done,
    failed: results.reduce((a, r) => a + r.failed, 0),
    errors: [...new Set(results.flatMap((r) => r.errors))],
    seconds: secs,
    perSecond: done / secs,
    rssGrowthMB: null,
  };
}
// Each row's 4 and 16 in flight are timed in two halves of --seconds each, in the order 4, 16,
// 16, 4 (ABBA), and summed: a change of the machine's load during the row weighs on both alike.
const throughput = [];
const sustainedRows = [
  ['template', (n, secs) => sustained(() => tpl.spawn('/bin/true', [], { stdio: 'ignore' }), n, false, secs)],
  ['template, 2 worker threads', (n, secs) => sustainedWorkers(n, { seconds: secs })],
  ['nsbox spawn', (n, secs) => sustained(() => nsSpawn('/bin/true', { namespaces: NS, rootfs: ROOTFS, stdio: 'ignore' }), n, false, secs)],
  ['template, spawnAsync', (n, secs) => sustained(async () => tpl.spawnAsync('/bin/true', [], { stdio: 'ignore' }), n, true, secs)],
];
if (ROOT_USER)
  sustainedRows.push(
    [
      'template + netPool, spawnAsync',
      (n, secs) => sustained(async () => tplPool.spawnAsync('/bin/true', [], { stdio: 'ignore' }), n, true, secs),
    ],
    ['template + netPool, spawnAsync, 2 worker threads', (n, secs) => sustainedWorkers(n, { pool: POOL, async: true, seconds: secs })],
  );
for (const [name, run] of sustainedRows) {
  const parts = { 4: [], 16: [] };
  for (const n of [4, 16, 16, 4]) parts[n].push(await run(n, SECONDS / 2));
  for (const n of [4, 16]) {
    const p = parts[n];
    const sum = (k) => p.reduce((a, r) => a + r[k], 0);
    const rss = p.every((r) => r.rssGrowthMB !== null) ? sum('rssGrowthMB') : null;
    throughput.push({
      row: name,
      inflight: n,
      runs: sum('runs'),
      failed: sum('failed'),
      errors: [...new Set(p.flatMap((r) => r.errors))],
      seconds: sum('seconds'),
      perSecond: sum('runs') / sum('seconds'),
      rssGrowthMB: rss,
    });
  }
}
// The C floor sustained: `inflight` processes of container-floor, each `full K` in a row.
const cRow = rows.find((r) => r.key === 'c');
const cMedian = cRow && cRow.samples.length > 0 ? quantile(cRow.samples, 0.5) : 0;
if (cfloor && cMedian > 0) {
  const bin = path.join(TMP, 'container-floor');
  for (const inflight of [4, 16]) {
    const k = Math.max(20, Math.round((SECONDS * 1000 * 2) / cMedian / inflight));
    const t = hr();
    const codes = await Promise.all(
      Array.from(
        { length: inflight },
        () => new Promise((resolve) => cpSpawn(bin, ['full', String(k), ROOTFS], { stdio: 'ignore' }).on('exit', resolve)),
      ),
    );
    const secs = ms(t, hr()) / 1000;
    const runs = codes.every((c) => c === 0) ? inflight * (k + Math.max(3, Math.floor(k / 10))) : 0;
    throughput.push({
      row: 'C container-floor full, one process per lane',
      inflight,
      runs,
      failed: codes.filter((c) => c !== 0).length,
      errors: [],
      seconds: secs,
      perSecond: runs / secs,
      rssGrowthMB: null,
    });
  }
}
const load1 = os
  .loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');

const q = quantile;
const stat = rowStats(rows);
const f = (x) => (x >= 10 ? x.toFixed(1) : x.toFixed(2));
const base = stat.template.median;
console.log(
  `# sandbox templates, ${new Date().toISOString()}, kernel ${os.release()}, node ${process.version}, ${os.cpus().length} vCPU, euid ${process.geteuid()}`,
);
console.log(`# n=${N} per row after ${WARMUP} warm-up rounds, round-robin; wall ${wall.toFixed(1)} s; load ${load0} → ${load1}`);
console.log('\n| row | n | median ms | p10 | p90 | min | ÷ template | measured |\n|---|---:|---:|---:|---:|---:|---:|---|');
for (const r of rows) {
  const s = stat[r.key];
  console.log(
    `| ${s.label} | ${s.n} | ${f(s.median)} | ${f(s.p10)} | ${f(s.p90)} | ${f(s.min)} | ${(s.median / base).toFixed(2)}× | ${s.how} |`,
  );
}
console.log(`\n| sustained (${SECONDS} s) | in flight | runs | per second | RSS growth MB |\n|---|---:|---:|---:|---:|`);
for (const t of throughput)
  console.log(
    `| ${t.row} | ${t.inflight} | ${t.runs}${t.failed ? ` (+${t.failed} failed${t.errors.length ? `: ${t.errors.join(', ')}` : ''})` : ''} | ${t.perSecond.toFixed(0)} | ${t.rssGrowthMB === null ? '–' : t.rssGrowthMB.toFixed(1)} |`,
  );
const targets = [];
if (stat.c) targets.push({ name: 'template ÷ C floor', value: base / stat.c.median, goal: '≤ 0.8×', ok: base / stat.c.median <= 0.8 });
if (stat.bwrap)
  targets.push({ name: 'bwrap ÷ template', value: stat.bwrap.median / base, goal: '≥ 4×', ok: stat.bwrap.median / base >= 4 });
if (stat.c)
  targets.push({
    name: 'template as the floor ÷ C floor',
    value: stat['template-floor'].median / stat.c.median,
    goal: '(reference)',
    ok: true,
  });
if (stat.crun) targets.push({ name: 'crun ÷ template', value: stat.crun.median / base, goal: '≥ 6×', ok: stat.crun.median / base >= 6 });
if (stat['crun-driver-busybox'] && stat['node-busybox'])
  targets.push({
    name: "crun driver's Node → busybox ÷ Node → busybox",
    value: stat['crun-driver-busybox'].median / stat['node-busybox'].median,
    goal: '(reference)',
    ok: true,
  });
targets.push({ name: 'template ÷ nsbox spawn', value: base / stat.nsbox.median, goal: '(reference)', ok: true });
for (const k of ['template-pool', 'template-pool-async']) {
  if (!stat[k]) continue;
  const v = stat[k].median;
  if (stat.c) targets.push({ name: `${k} ÷ C floor`, value: v / stat.c.median, goal: '≤ 0.8×', ok: v / stat.c.median <= 0.8 });
  if (stat.bwrap) targets.push({ name: `bwrap ÷ ${k}`, value: stat.bwrap.median / v, goal: '≥ 4×', ok: stat.bwrap.median / v >= 4 });
  if (stat.crun) targets.push({ name: `crun ÷ ${k}`, value: stat.crun.median / v, goal: '≥ 6×', ok: stat.crun.median / v >= 6 });
  if (stat['c-pooled']) targets.push({ name: `${k} ÷ C floor pooled`, value: v / stat['c-pooled'].median, goal: '(reference)', ok: true });
  if (stat.node) targets.push({ name: `${k} ÷ Node → /bin/true`, value: v / stat.node.median, goal: '(reference)', ok: true });
  if (stat['node-busybox'])
    targets.push({ name: `${k} ÷ Node → busybox true`, value: v / stat['node-busybox'].median, goal: '(reference)', ok: true });
}
// No drop from 4 to 16 in flight: each sustained row's 16 ÷ 4.
for (const name of new Set(throughput.map((t) => t.row))) {
  const [a, b] = [4, 16].map((n) => throughput.find((t) => t.row === name && t.inflight === n));
  if (a && b && name.startsWith('template'))
    targets.push({
      name: `${name}: 16 ÷ 4 in flight`,
      value: b.perSecond / a.perSecond,
      goal: '≥ 1× (no drop)',
      ok: b.perSecond >= a.perSecond,
    });
}
const best = Math.max(...throughput.filter((t) => t.row.startsWith('template')).map((t) => t.perSecond));
targets.push({ name: 'templates/s (best of 4, 16 in flight, 1 or 2 threads)', value: best, goal: '≥ 1000/s', ok: best >= 1000 });
const cBest = Math.max(0, ...throughput.filter((t) => t.row.startsWith('C container-floor')).map((t) => t.perSecond));
if (cBest > 0)
  targets.push({
    name: 'best templates/s ÷ the C floor’s sustained containers/s (same run)',
    value: best / cBest,
    goal: '(reference)',
    ok: true,
  });
console.log('\n| target | value | goal | met |\n|---|---:|---|---|');
for (const t of targets)
  console.log(
    `| ${t.name} | ${t.value >= 100 ? t.value.toFixed(0) : `${t.value.toFixed(2)}×`} | ${t.goal} | ${t.goal.startsWith('(') ? '–' : t.ok ? 'yes' : 'NO'} |`,
  );
for (const s of skipped) console.log(`\nskipped: ${s}`);
if (crunCleanup) console.log(`\ncrun clean-up: ${crunCleanup}`);
if (JSON_OUT)
  fs.writeFileSync(
    JSON_OUT,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        kernel: os.release(),
        node: process.version,
        euid: process.geteuid(),
        n: N,
        warmup: WARMUP,
        seconds: SECONDS,
        wall,
        load: [load0, load1],
        stat,
        throughput,
        targets,
        skipped,
        crunCleanup,
      },
      null,
      2,
    ),
  );
cleanup();
process.exit(0);
