#!/usr/bin/env node
// bench/security.mjs — what the secure defaults cost, side by side in one run (security issue,
// "Speed").
//
// 1. Spawn cost: start + reap of /bin/true (static busybox) in a busybox rootfs, six
//    namespaces (user pid mnt uts ipc net), nsbox defaults otherwise:
//      none        spawn('/bin/true', { namespaces, rootfs })
//      hardened    the same with ...hardened()  (Docker's 14 caps, no_new_privs, default seccomp)
//      caps+nnp    hardened() without seccomp    (splits the filter's cost from the rest)
//      landlock    landlock: { fs: [{ path: '/', access: ['read', 'execute'] }] }   (information)
//    timed from the spawn() call to `exited`; target: hardened ÷ none ≤ 1.1×.
//    The kernel's share: bench/syscall-loop.c --load forks children that set no_new_privs
//    and load a program with seccomp(2) (or not) and _exit, for nsbox's default program,
//    nsbox's program of the podman profile and libseccomp's program of the same profile
//    (what crun wrote to its state dir, `seccomp.bpf`, on `crun create`).
// 2. Per-syscall cost of the filter: bench/syscall-loop.c (gcc -O2 -static, copied into the
//    rootfs) makes ITERS raw syscalls per test and prints ns/call (clock_gettime around the
//    loop), run as
//      nsbox default   spawn with hardened(): nsbox's default profile, compiled by nsbox
//      nsbox podman    spawn with hardened() but seccomp = podman's profile (OCI-filtered, below)
//      nsbox floor     spawn with hardened() minus seccomp (no profile filter)
//      crun podman     `crun run`, linux.seccomp = the same OCI-filtered podman profile,
//                      compiled by crun with libseccomp
//      crun floor      `crun run`, no linux.seccomp
//    Filter overhead = row − its own runtime's floor; target: nsbox podman ÷ crun podman
//    (the same policy, our compiler vs libseccomp) ≤ 1.0×. Every nsbox sandbox (rootfs)
//    also loads a second, tiny filter that refuses ioctl TIOCSTI/TIOCLINUX, so nsbox rows
//    show Seccomp_filters 1 (floor) or 2, crun rows 0 or 1; the nsbox floor includes it.
//    podman's file (/usr/share/containers/seccomp.json) is moby's format (archMap,
//    includes/excludes, defaultErrno): it is filtered here as podman/moby do for the default
//    capability set on amd64 (rules kept when includes.arches has amd64 and includes.caps ⊆
//    Docker's 14; dropped when excludes match), giving plain OCI `linux.seccomp`
//    (architectures x86_64, x86, x32) that both runtimes compile.
// 3. Compile time of the default profile: cold (first compileSeccomp in a fresh node
//    process, after import), warm uncached (a structuredClone of it, in a warm process) and
//    cached (the same object again). The same for the OCI-filtered podman profile.
// Rows are interleaved round-robin (the order rotates every round), as in bench/container.mjs.
//
// crun on this hybrid-cgroup host: as root, this script re-executes itself once inside a
// private mount namespace where /sys/fs/cgroup is cgroup2 (bench/lib.mjs,
// reexecWithCgroup2); crun never sees the host's v1 hierarchies.
//
// Usage: node bench/security.mjs [--n 200] [--warmup 10] [--sys-rounds 21] [--iters 1000000]
//                                [--load-rounds 300] [--json FILE] [--save]   (--save: bench/results/security-STAMP.json)
// Needs: gcc with a static libc (libc6-dev), busybox-static (/bin/busybox), a built nsbox;
// for the crun rows root, crun and /usr/share/containers/seccomp.json
// (apt-get install -y crun golang-github-containers-common). It measures; it is not a test.
import { spawn as cpSpawn, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBusyboxRootfs, cgroupIsV2, reexecWithCgroup2 } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const DIST = path.join(ROOT, 'dist/index.js');
const PODMAN_PROFILE = '/usr/share/containers/seccomp.json';
const NS = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net'];
const LANDLOCK = { fs: [{ path: '/', access: ['read', 'execute'] }] };

// ---- options ----------------------------------------------------------------------------
const argv = process.argv.slice(2);
function opt(name, def) {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = argv[i + 1];
  if (v === undefined) throw new Error(`--${name} needs a value`);
  return v;
}
const N = Number(opt('n', 200));
const WARMUP = Number(opt('warmup', 10));
const SYS_ROUNDS = Number(opt('sys-rounds', 21));
const ITERS = Number(opt('iters', 1_000_000));
const LOAD_ROUNDS = Number(opt('load-rounds', 300));
const JSON_OUT = opt('json', null);
const SAVE = argv.includes('--save');
if (!(N > 0) || !(WARMUP >= 0) || !(SYS_ROUNDS > 0) || !(ITERS > 0) || !(LOAD_ROUNDS > 0))
  throw new Error('--n, --sys-rounds, --iters, --load-rounds must be > 0 and --warmup >= 0');

const isRoot = process.geteuid() === 0;
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

// ---- crun: re-exec inside a mount namespace where /sys/fs/cgroup is cgroup2 ----------------
reexecWithCgroup2(fileURLToPath(import.meta.url), argv, has('crun'));

const nsbox = await import(DIST).catch((e) => {
  console.error(`nsbox is not built (${e.message}); run: npm run build:native && npx tsc -p tsconfig.json`);
  process.exit(2);
});
const { spawn: nsSpawn, hardened, compileSeccomp, defaultSeccompProfile } = nsbox;
// Docker's 14, as hardened() sets them: the crun bundles and podman's includes/excludes use them.
const DOCKER_CAPS = hardened().capabilities.bounding;

// ---- scratch dir: rootfs, bundles, the loop binary ----------------------------------------
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-bench-sec-'));
const ROOTFS = path.join(TMP, 'rootfs');
const CRUN_STATE = path.join(TMP, 'crun-state');
const CRUN_ID = `nsbox-bench-sec-${process.pid}`;
const LOOP = '/bin/syscall-loop';
const skipped = [];
const bundles = [];
let cleaned = false;

function cleanup() {
  if (cleaned) return;
  cleaned = true;
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
}

function buildLoop() {
  const out = path.join(ROOTFS, LOOP);
  const r = spawnSync('gcc', ['-O2', '-Wall', '-static', '-o', out, path.join(HERE, 'syscall-loop.c')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc -static syscall-loop.c: ${r.stderr}`);
}

// podman's profile (moby's format) → OCI linux.seccomp for amd64 and Docker's 14 caps, as
// moby's setupSeccomp and podman's containers/common do it.
function mobyToOci(moby, caps) {
  const arch = 'amd64';
  const archName = { SCMP_ARCH_X86_64: 'amd64' };
  const architectures = [];
  for (const m of moby.archMap ?? []) {
    if (archName[m.architecture] === arch) architectures.push(m.architecture, ...(m.subArchitectures ?? []));
  }
  const held = new Set(caps.map((c) => (c.startsWith('CAP_') ? c : `CAP_${c}`)));
  const syscalls = [];
  for (const s of moby.syscalls) {
    const inc = s.includes ?? {};
    const exc = s.excludes ?? {};
    if (exc.arches?.includes(arch)) continue;
    if (exc.caps?.some((c) => held.has(c))) continue;
    if (inc.arches?.length && !inc.arches.includes(arch)) continue;
    if (inc.caps?.length && !inc.caps.every((c) => held.has(c))) continue;
    if (inc.minKernel || exc.minKernel) throw new Error('minKernel rules: not handled by this bench');
    const rule = { names: s.names, action: s.action };
    if (s.errnoRet !== undefined) rule.errnoRet = s.errnoRet;
    if (s.args?.length) rule.args = s.args;
    syscalls.push(rule);
  }
  const oci = { defaultAction: moby.defaultAction, architectures, syscalls };
  if (moby.defaultErrnoRet !== undefined) oci.defaultErrnoRet = moby.defaultErrnoRet;
  return oci;
}

function buildBundle(name, args, seccomp) {
  const dir = path.join(TMP, `bundle-${name}`);
  fs.mkdirSync(dir);
  execFileSync('crun', ['spec'], { cwd: dir });
  const file = path.join(dir, 'config.json');
  const spec = JSON.parse(fs.readFileSync(file, 'utf8'));
  spec.root = { path: ROOTFS, readonly: true };
  spec.process.args = args;
  spec.process.terminal = false;
  // The same capability sets and no_new_privs as hardened() (crun spec's are 3 caps).
  const caps = DOCKER_CAPS.map((c) => (c.startsWith('CAP_') ? c : `CAP_${c}`));
  spec.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
  spec.process.noNewPrivileges = true;
  // crun loads an eBPF device filter for linux.resources.devices and first raises
  // RLIMIT_MEMLOCK, which this VM refuses: perf-baseline §5.
  delete spec.linux.resources;
  if (seccomp) spec.linux.seccomp = seccomp;
  else delete spec.linux.seccomp;
  fs.writeFileSync(file, JSON.stringify(spec, null, 2));
  bundles.push(dir);
  return dir;
}

// libseccomp's program for a bundle: `crun create` writes it to the state dir (for `crun exec`).
function crunProgram(bundle) {
  const id = `${CRUN_ID}-bpf`;
  try {
    execFileSync('crun', ['--root', CRUN_STATE, 'create', '--bundle', bundle, id], { stdio: 'ignore' });
    return fs.readFileSync(path.join(CRUN_STATE, id, 'seccomp.bpf'));
  } finally {
    spawnSync('crun', ['--root', CRUN_STATE, 'delete', '-f', id], { stdio: 'ignore' });
  }
}

// The kernel's cost of loading `program` (and of freeing it at exit), from syscall-loop --load.
function kernelLoad(name, program) {
  const file = path.join(TMP, `${name}.bpf`);
  fs.writeFileSync(file, program);
  const out = execFileSync(path.join(ROOTFS, LOOP), ['--load', file, String(LOAD_ROUNDS)], { encoding: 'utf8' })
    .trim()
    .split(' ');
  const v = Object.fromEntries(Array.from({ length: out.length / 2 }, (_, i) => [out[2 * i], Number(out[2 * i + 1])]));
  return { instructions: v.insns, forkExitUs: v.fork_exit_us, forkLoadExitUs: v.fork_load_exit_us, seccompCallUs: v.seccomp_call_us };
}

// ---- runners ----------------------------------------------------------------------------
const hr = () => process.hrtime.bigint();
const ms = (a, b) => Number(b - a) / 1e6;

async function timeNsbox(options) {
  const t0 = hr();
  const c = nsSpawn('/bin/true', { namespaces: NS, rootfs: ROOTFS, stdio: 'ignore', ...options });
  const st = await c.exited;
  const t = ms(t0, hr());
  if (st.code !== 0) throw new Error(`nsbox exited with ${JSON.stringify(st)}`);
  return t;
}

function parseLoop(text, who) {
  const out = { filters: null, tests: {} };
  for (const line of text.trim().split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'filters') out.filters = Number(f[1]);
    else if (f.length === 4) out.tests[f[0]] = { nr: Number(f[1]), ns: Number(f[2]), ret: Number(f[3]) };
    else throw new Error(`${who}: unexpected output line ${JSON.stringify(line)}`);
  }
  return out;
}

async function loopNsbox(options) {
  const c = nsSpawn(LOOP, [String(ITERS)], { namespaces: NS, rootfs: ROOTFS, stdio: ['ignore', 'pipe', 'inherit'], ...options });
  let text = '';
  c.stdout.setEncoding('utf8');
  c.stdout.on('data', (d) => {
    text += d;
  });
  const st = await c.exited;
  if (st.code !== 0) throw new Error(`nsbox syscall-loop exited with ${JSON.stringify(st)}`);
  return parseLoop(text, 'nsbox');
}

function loopCrun(bundle) {
  return new Promise((resolve, reject) => {
    const c = cpSpawn('crun', ['--root', CRUN_STATE, 'run', '--bundle', bundle, CRUN_ID], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    c.stdout.setEncoding('utf8');
    c.stdout.on('data', (d) => {
      text += d;
    });
    c.once('error', reject);
    c.once('close', (code, sig) => {
      if (code !== 0) reject(new Error(`crun exited with ${code ?? sig}`));
      else resolve(parseLoop(text, 'crun'));
    });
  });
}

// ---- 3. compile time, in fresh node processes ---------------------------------------------
function compileTimes(ociPodman) {
  const script = `
    const t0 = process.hrtime.bigint();
    const m = await import(${JSON.stringify(DIST)});
    const t1 = process.hrtime.bigint();
    const us = (a, b) => Number(b - a) / 1e3;
    const which = process.argv[1];
    const p = which === 'default' ? m.defaultSeccompProfile : JSON.parse(process.argv[2]);
    let a = process.hrtime.bigint();
    const c = m.compileSeccomp(p);
    const cold = us(a, process.hrtime.bigint());
    const hits = [];
    for (let i = 0; i < 200; i++) {
      a = process.hrtime.bigint();
      m.compileSeccomp(p);
      hits.push(us(a, process.hrtime.bigint()));
    }
    hits.sort((x, y) => x - y);
    const cached = hits[hits.length >> 1];
    const warm = [];
    for (let i = 0; i < 60; i++) {
      const q = structuredClone(p);
      a = process.hrtime.bigint();
      m.compileSeccomp(q);
      warm.push(us(a, process.hrtime.bigint()));
    }
    warm.sort((x, y) => x - y);
    console.log(JSON.stringify({ importMs: us(t0, t1) / 1e3, cold, cached, warm: warm[warm.length >> 1], instructions: c.instructions, unknown: c.unknown }));
  `;
  const res = {};
  for (const [which, arg] of [
    ['default', ''],
    ['podman', ociPodman ? JSON.stringify(ociPodman) : null],
  ]) {
    if (arg === null) continue;
    const runs = [];
    for (let i = 0; i < 7; i++) {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, which, arg], { encoding: 'utf8' });
      runs.push(JSON.parse(out.trim().split('\n').pop()));
    }
    const med = (k) =>
      q(
        runs.map((r) => r[k]),
        0.5,
      );
    res[which] = {
      processes: runs.length,
      importMs: med('importMs'),
      coldUs: med('cold'),
      warmUncachedUs: med('warm'),
      cachedUs: med('cached'),
      instructions: runs[0].instructions,
      unknown: runs[0].unknown,
    };
  }
  return res;
}

// ---- stats ------------------------------------------------------------------------------
const q = (s, p) => {
  const v = [...s].sort((a, b) => a - b);
  const i = (v.length - 1) * p;
  const lo = Math.floor(i);
  return v[lo] + (v[Math.min(lo + 1, v.length - 1)] - v[lo]) * (i - lo);
};
const f = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const sign = (x) => `${x >= 0 ? '+' : ''}${f(x)}`;

async function roundRobin(rows, rounds, warmup) {
  for (let r = -warmup; r < rounds; r++) {
    for (let k = 0; k < rows.length; k++) {
      const rw = rows[(k + r + warmup) % rows.length];
      const v = await rw.run();
      if (r >= 0) rw.samples.push(v);
    }
  }
}

// ---- setup ------------------------------------------------------------------------------
buildRootfs();
if (!has('gcc')) throw new Error('gcc not found (apt-get install -y gcc libc6-dev)');
buildLoop();

const H = hardened();
const { seccomp: _drop, ...capsNnp } = H;
let ociPodman = null;
if (fs.existsSync(PODMAN_PROFILE)) ociPodman = mobyToOci(JSON.parse(fs.readFileSync(PODMAN_PROFILE, 'utf8')), DOCKER_CAPS);
else skipped.push(`podman profile rows: no ${PODMAN_PROFILE} (apt-get install -y golang-github-containers-common)`);

let crunOk = false;
if (!isRoot)
  skipped.push('crun rows: need root here (rootless crun needs a user-ns bundle and a delegated cgroup v2, which this host lacks)');
else if (!has('crun')) skipped.push('crun rows: crun not found (apt-get install -y crun)');
else if (!cgroupIsV2()) skipped.push('crun rows: /sys/fs/cgroup is not cgroup2 and the re-exec into a cgroup2 view did not happen');
else if (!ociPodman) skipped.push('crun podman row: no podman profile; crun floor kept');
if (isRoot && has('crun') && cgroupIsV2()) {
  crunOk = true;
  fs.mkdirSync(CRUN_STATE);
}

// 1. spawn rows
const spawnRows = [
  { key: 'none', label: 'nsbox spawn /bin/true, rootfs, no security options', opts: {} },
  { key: 'hardened', label: '… + hardened() (14 caps, no_new_privs, default seccomp)', opts: H },
  { key: 'caps-nnp', label: '… + hardened() minus seccomp (caps + no_new_privs)', opts: capsNnp },
  { key: 'landlock', label: '… + landlock / read,execute (information)', opts: { landlock: LANDLOCK } },
].map((r) => ({ ...r, samples: [], run: () => timeNsbox(r.opts) }));

// 2. syscall rows
const sysRows = [
  { key: 'nsbox-default', label: 'nsbox, hardened() (default profile)', floor: 'nsbox-floor', run: () => loopNsbox(H) },
  ociPodman && {
    key: 'nsbox-podman',
    label: 'nsbox, hardened() with podman profile (our compiler)',
    floor: 'nsbox-floor',
    run: () => loopNsbox({ ...H, seccomp: ociPodman }),
  },
  { key: 'nsbox-floor', label: 'nsbox, hardened() minus seccomp (floor; TIOCSTI filter only)', floor: null, run: () => loopNsbox(capsNnp) },
  crunOk &&
    ociPodman &&
    ((b) => ({
      key: 'crun-podman',
      label: 'crun run, podman profile (libseccomp)',
      floor: 'crun-floor',
      bundle: b,
      run: () => loopCrun(b),
    }))(buildBundle('podman', [LOOP, String(ITERS)], ociPodman)),
  crunOk && {
    key: 'crun-floor',
    label: 'crun run, no seccomp (floor)',
    floor: null,
    run: (
      (b) => () =>
        loopCrun(b)
    )(buildBundle('floor', [LOOP, String(ITERS)], null)),
  },
]
  .filter(Boolean)
  .map((r) => ({ ...r, samples: [] }));

// ---- run ------------------------------------------------------------------------------
const loadBefore = os.loadavg();
const started = new Date();
const t0 = Date.now();
const compile = compileTimes(ociPodman);
await roundRobin(spawnRows, N, WARMUP);
const wallSpawn = (Date.now() - t0) / 1000;
const loads = {};
loads['nsbox default'] = kernelLoad('nsbox-default', compileSeccomp(defaultSeccompProfile).program);
if (ociPodman) loads['nsbox, podman profile'] = kernelLoad('nsbox-podman', compileSeccomp(ociPodman).program);
const podmanRow = sysRows.find((r) => r.key === 'crun-podman');
if (podmanRow) {
  try {
    loads['libseccomp (crun), podman profile'] = kernelLoad('crun-podman', crunProgram(podmanRow.bundle));
  } catch (e) {
    skipped.push(`libseccomp program load: ${e.message}`);
  }
}
await roundRobin(sysRows, SYS_ROUNDS, 1);
const wall = (Date.now() - t0) / 1000;
const loadAfter = os.loadavg();

// ---- report -----------------------------------------------------------------------------
const load = (l) => l.map((x) => x.toFixed(2)).join(' ');
console.log(
  `# security costs, ${started.toISOString()}, kernel ${os.release()}, node ${process.version}, ${os.cpus().length} vCPU, uid ${process.getuid()}`,
);
console.log(`# wall ${wall.toFixed(1)} s (spawn part ${wallSpawn.toFixed(1)} s); load ${load(loadBefore)} → ${load(loadAfter)}`);

const spawnStat = Object.fromEntries(
  spawnRows.map((r) => [
    r.key,
    {
      label: r.label,
      n: r.samples.length,
      median: q(r.samples, 0.5),
      p10: q(r.samples, 0.1),
      p90: q(r.samples, 0.9),
      min: Math.min(...r.samples),
    },
  ]),
);
const base = spawnStat.none.median;
console.log(`\n## 1. spawn → exited, ms (n=${N} per row after ${WARMUP} warm-up rounds, round-robin)`);
console.log('\n| row | n | median | p10 | p90 | min | ÷ none | − none |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of spawnRows) {
  const s = spawnStat[r.key];
  console.log(
    `| ${s.label} | ${s.n} | ${f(s.median)} | ${f(s.p10)} | ${f(s.p90)} | ${f(s.min)} | ${(s.median / base).toFixed(3)}× | ${sign(s.median - base)} |`,
  );
}

console.log(`\n### the kernel's share: fork → no_new_privs → seccomp(2) → _exit, µs (C, median of ${LOAD_ROUNDS} alternating pairs)`);
console.log('\n| program | BPF insns | seccomp(2) call | fork…reaped with it | without | difference |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [k, l] of Object.entries(loads)) {
  console.log(
    `| ${k} | ${l.instructions} | ${f(l.seccompCallUs)} | ${f(l.forkLoadExitUs)} | ${f(l.forkExitUs)} | ${sign(l.forkLoadExitUs - l.forkExitUs)} |`,
  );
}

const TESTS = ['getppid', 'getrandom', 'personality', 'ioctl', 'enosys'];
const sysStat = {};
for (const r of sysRows) {
  const filters = [...new Set(r.samples.map((s) => s.filters))];
  const tests = {};
  for (const t of TESTS) {
    const v = r.samples.map((s) => s.tests[t].ns);
    tests[t] = { median: q(v, 0.5), p10: q(v, 0.1), p90: q(v, 0.9), ret: r.samples[0].tests[t].ret, nr: r.samples[0].tests[t].nr };
  }
  sysStat[r.key] = { label: r.label, floor: r.floor, n: r.samples.length, seccompFilters: filters, tests };
}
console.log(
  `\n## 2. ns per syscall (median of ${SYS_ROUNDS} runs × ${ITERS.toLocaleString('en')} calls; in brackets: − the runtime's floor; ret = last return value)`,
);
console.log(`\n| row | filters | ${TESTS.map((t) => `${t} (${sysRows[0].samples[0].tests[t].nr})`).join(' | ')} |`);
console.log(`|---|---:|${TESTS.map(() => '---:').join('|')}|`);
for (const r of sysRows) {
  const s = sysStat[r.key];
  const fl = r.floor ? sysStat[r.floor] : null;
  const cells = TESTS.map((t) => {
    const m = s.tests[t].median;
    return `${f(m)}${fl ? ` (${sign(m - fl.tests[t].median)})` : ''} ret ${s.tests[t].ret}`;
  });
  console.log(`| ${s.label} | ${s.seccompFilters.join('/')} | ${cells.join(' | ')} |`);
}
const overhead = {};
const MIN_NS = 40; // above seccomp's fixed entry cost (~10–20 ns: crun floor → 1 cached filter)
if (sysStat['nsbox-podman'] && sysStat['crun-podman']) {
  console.log('\n| filter overhead, ns (row − floor) | ' + TESTS.join(' | ') + ' |');
  console.log(`|---|${TESTS.map(() => '---:').join('|')}|`);
  const ov = (k) => Object.fromEntries(TESTS.map((t) => [t, sysStat[k].tests[t].median - sysStat[sysStat[k].floor].tests[t].median]));
  overhead.nsboxDefault = ov('nsbox-default');
  overhead.nsboxPodman = ov('nsbox-podman');
  overhead.crunPodman = ov('crun-podman');
  console.log(`| nsbox default profile | ${TESTS.map((t) => sign(overhead.nsboxDefault[t])).join(' | ')} |`);
  console.log(`| nsbox, podman profile | ${TESTS.map((t) => sign(overhead.nsboxPodman[t])).join(' | ')} |`);
  console.log(`| crun (libseccomp), podman profile | ${TESTS.map((t) => sign(overhead.crunPodman[t])).join(' | ')} |`);
  // nsbox's floor already has a filter (TIOCSTI): seccomp's fixed entry cost and, for ioctl,
  // that filter's run are in it. Against crun's floor (no seccomp at all), everything counts.
  overhead.nsboxPodmanVsNoSeccomp = Object.fromEntries(
    TESTS.map((t) => [t, sysStat['nsbox-podman'].tests[t].median - sysStat['crun-floor'].tests[t].median]),
  );
  console.log(
    `| nsbox, podman profile + TIOCSTI filter − crun floor (no seccomp; cross-runtime) | ${TESTS.map((t) => sign(overhead.nsboxPodmanVsNoSeccomp[t])).join(' | ')} |`,
  );
  // A ratio of two overheads near zero is noise: shown only where libseccomp's is ≥ MIN_NS
  // (an unconditionally allowed syscall skips the filter: the kernel's seccomp action cache).
  overhead.ratio = Object.fromEntries(
    TESTS.map((t) => [t, overhead.crunPodman[t] >= MIN_NS ? overhead.nsboxPodman[t] / overhead.crunPodman[t] : null]),
  );
  console.log(
    `| ratio nsbox ÷ libseccomp (same policy) | ${TESTS.map((t) => (overhead.ratio[t] === null ? `n/a (< ${MIN_NS} ns)` : `${overhead.ratio[t].toFixed(2)}×`)).join(' | ')} |`,
  );
}

console.log(
  '\n## 3. compileSeccomp, µs (median of 7 fresh node processes; warm: median of 60 compiles of a structuredClone; cached: of 200 calls)',
);
console.log(
  '\n| profile | BPF insns | import nsbox, ms | cold (1st compile in the process) | warm, uncached (new object) | cached (same object) |',
);
console.log('|---|---:|---:|---:|---:|---:|');
for (const [k, c] of Object.entries(compile)) {
  console.log(
    `| ${k === 'default' ? 'nsbox default' : 'podman (OCI-filtered)'} | ${c.instructions} | ${c.importMs.toFixed(1)} | ${f(c.coldUs)} | ${f(c.warmUncachedUs)} | ${c.cachedUs.toFixed(2)} |`,
  );
}

const targets = [];
const target = (name, value, ok, goal) => targets.push({ name, value, ok, goal });
const hr1 = spawnStat.hardened.median / base;
target('spawn: hardened ÷ none', `${hr1.toFixed(3)}×`, hr1 <= 1.1, '≤ 1.1×');
target('spawn: caps+nnp ÷ none', `${(spawnStat['caps-nnp'].median / base).toFixed(3)}×`, true, '(split)');
target(
  'spawn: seccomp alone (hardened − caps+nnp)',
  `${sign(spawnStat.hardened.median - spawnStat['caps-nnp'].median)} ms`,
  true,
  '(split)',
);
target('spawn: landlock ÷ none', `${(spawnStat.landlock.median / base).toFixed(3)}×`, true, '(information)');
if (overhead.ratio) {
  for (const t of TESTS) {
    const rt = overhead.ratio[t];
    if (rt !== null) target(`syscall ${t}: filter overhead nsbox ÷ libseccomp (podman profile)`, `${rt.toFixed(2)}×`, rt <= 1.0, '≤ 1.0×');
    else
      target(
        `syscall ${t}: filter overhead nsbox − libseccomp (podman profile)`,
        `${sign(overhead.nsboxPodman[t] - overhead.crunPodman[t])} ns`,
        true,
        `(libseccomp's < ${MIN_NS} ns: action cache)`,
      );
  }
}
console.log('\n| target | value | goal | met |');
console.log('|---|---:|---|---|');
for (const t of targets) console.log(`| ${t.name} | ${t.value} | ${t.goal} | ${t.goal.startsWith('(') ? '–' : t.ok ? 'yes' : 'NO'} |`);
for (const s of skipped) console.log(`\nskipped: ${s}`);

const leftMounts = fs
  .readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .filter((l) => l.includes(TMP));
if (leftMounts.length) console.log(`\nWARNING: mounts left under ${TMP}:\n${leftMounts.join('\n')}`);

const result = {
  date: started.toISOString(),
  kernel: os.release(),
  node: process.version,
  cpus: os.cpus().length,
  uid: process.getuid(),
  n: N,
  warmup: WARMUP,
  sysRounds: SYS_ROUNDS,
  iters: ITERS,
  wall,
  loadavg: { before: loadBefore, after: loadAfter },
  spawn: spawnStat,
  kernelLoad: loads,
  syscalls: sysStat,
  overhead,
  compile,
  targets,
  skipped,
};
const outFiles = [];
if (JSON_OUT) outFiles.push(JSON_OUT);
if (SAVE) {
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  outFiles.push(
    path.join(
      dir,
      `security-${started
        .toISOString()
        .replace(/\.\d+Z$/, 'Z')
        .replaceAll(':', '')}.json`,
    ),
  );
}
for (const file of outFiles) {
  fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`saved ${file}`);
}
cleanup();
if (crunOk && fs.existsSync(`/sys/fs/cgroup/${CRUN_ID}`)) console.log(`WARNING: cgroup /sys/fs/cgroup/${CRUN_ID} left behind`);
