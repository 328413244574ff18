#!/usr/bin/env node
// bench/podman.mjs — a whole `podman run --rm IMG true` with each OCI runtime, side by side
// (issue 12's target: nsbox-oci at most 1.3× runc). Root, podman, runc and crun, and pure
// cgroup v2 only: run it in the guest, never on a hybrid host (podman, runc and crun write to
// every cgroup v1 hierarchy they find):
//
//   flock /tmp/nsbox-vm.lock scripts/vm-run --share "$PWD" -- node bench/podman.mjs --rounds 12
//
// Setup, as test/guest/podman.test.mjs: podman's storage on a tmpfs at /var/lib/containers
// (the guest's root is an overlay; overlay on overlay is refused), and an image made by
// `podman import` of a busybox rootfs tar (no registry is needed).
// Method: each round runs `podman --runtime R run --rm IMG true` once per runtime, in a fresh
// random order; a run is timed from before the spawn to podman's exit. One warm-up round is
// discarded. After each run the script waits until no `podman container cleanup` (conmon's
// exit command) is left, untimed, so one run's tail never overlaps the next. nsbox-oci runs
// through a two-line wrapper (`exec node ENTRY "$@"`, ENTRY package.json's bin: the linked
// dist/oci-runtime/nsbox-oci.js), as npm's bin link would run it.
// Then a trace: the same command a few times more per runtime through a wrapper that logs
// every runtime call (its argv, start, end, exit status), giving the calls podman makes per
// container and what each costs — the wrapper's own sh and date(1) are outside the interval.
// Last, single commands in this machine: `node -e 0`, `nsbox-oci --version`, `runc --version`.
// Usage: node bench/podman.mjs [--rounds 12] [--trace 3] [--cycles 10] [--modules]
//          [--entry NAME=FILE]... [--only runs,trace,commands,single] [--json FILE]
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { shuffle } from './lib.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '12' },
    trace: { type: 'string', default: '3' },
    cycles: { type: 'string', default: '10' },
    only: { type: 'string', default: 'runs,trace,commands,single' },
    modules: { type: 'boolean', default: false },
    entry: { type: 'string', multiple: true, default: [] },
    json: { type: 'string' },
  },
});
const ROUNDS = Number(opt.rounds);
const TRACE = Number(opt.trace);
const CYCLES = Number(opt.cycles);
const ONLY = new Set(opt.only.split(','));
const IMG = 'localhost/nsbox-bench-bb:1';

const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
const v1 = readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .some((l) => / - cgroup /.test(l));
const missing = ['podman', 'runc', 'crun'].filter((c) => which(c) === '');
if (process.geteuid() !== 0 || missing.length > 0 || v1) {
  console.error(
    process.geteuid() !== 0
      ? 'bench/podman.mjs: needs root'
      : missing.length > 0
        ? `bench/podman.mjs: not installed: ${missing.join(', ')}`
        : 'bench/podman.mjs: cgroup v1 is mounted here; run it in the pure cgroup v2 guest (scripts/vm-run)',
  );
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'nsbox-podman-bench-'));
/** A two-line wrapper that runs a JS entry with this node, as npm's bin link would. */
const wrapper = (name, entry) => {
  const path = join(work, name);
  writeFileSync(path, `#!/bin/sh\nexec '${process.execPath}' '${entry}' "$@"\n`, { mode: 0o755 });
  return path;
};
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
const nsboxOci = wrapper('nsbox-oci', join(repo, pkg.bin['nsbox-oci']));
/** [name, runtime binary] */
const RUNTIMES = [
  ['runc', which('runc')],
  ['crun', which('crun')],
  ['nsbox-oci', nsboxOci],
];
// --modules: also tsc's unlinked modules (dist/oci-cli.js), to measure what linking gains.
if (opt.modules) RUNTIMES.push(['nsbox-oci-modules', wrapper('nsbox-oci-modules', join(repo, 'dist', 'oci-cli.js'))]);
// --entry NAME=FILE: any other build of nsbox-oci, side by side.
for (const e of opt.entry) {
  const [name, file] = e.split('=');
  RUNTIMES.push([name, wrapper(name, resolve(file))]);
}

/** A runtime wrapper that appends `name start end status argv…` (tab-separated) to LOG. */
const traceLog = join(work, 'trace.log');
function tracer(name, bin) {
  const path = join(work, `trace-${name}`);
  const script = [
    '#!/bin/sh',
    't0=$(date +%s%N)',
    `'${bin}' "$@"`,
    'rc=$?',
    't1=$(date +%s%N)',
    `printf '%s\\t%s\\t%s\\t%s' '${name}' "$t0" "$t1" "$rc" >> '${traceLog}'`,
    `for a in "$@"; do printf '\\t%s' "$a" >> '${traceLog}'; done`,
    `printf '\\n' >> '${traceLog}'`,
    'exit $rc',
    '',
  ].join('\n');
  writeFileSync(path, script, { mode: 0o755 });
  return path;
}

/** Pids of conmon's exit command (`podman container cleanup`) still running. */
function cleanups() {
  const pids = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (argv[0].endsWith('podman') && argv.includes('cleanup')) pids.push(p);
    } catch {}
  }
  return pids;
}
function settle() {
  for (let i = 0; i < 600 && cleanups().length > 0; i++) spawnSync('sleep', ['0.05']);
}

function podmanRun(runtime) {
  const t = process.hrtime.bigint();
  // SIGKILL: podman run proxies SIGTERM to the container and would keep waiting.
  const r = spawnSync('podman', ['--runtime', runtime, 'run', '--rm', IMG, 'true'], {
    encoding: 'utf8',
    timeout: 300_000,
    killSignal: 'SIGKILL',
  });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`podman --runtime ${runtime} run --rm ${IMG} true: ${r.status} ${r.signal ?? ''}\n${r.stderr}`);
  settle();
  return ms;
}

const q = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))];
const median = (a) => q(a, 0.5);

let mounted = false;
const result = { date: new Date().toISOString(), node: process.version, rounds: ROUNDS, runs: {}, trace: {}, single: {} };
try {
  mkdirSync('/var/lib/containers', { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', '/var/lib/containers']);
  mounted = true;
  const root = join(work, 'rootfs');
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root']) mkdirSync(join(root, d), { recursive: true });
  execFileSync('cp', ['/bin/busybox', join(root, 'bin/busybox')]);
  for (const a of execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n'))
    if (a && a !== 'busybox') symlinkSync('busybox', join(root, 'bin', a));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
  execFileSync('tar', ['-C', root, '-cf', join(work, 'bb.tar'), '.']);
  execFileSync('podman', ['import', join(work, 'bb.tar'), IMG], { stdio: 'ignore' });

  const versions = {
    podman: execFileSync('podman', ['--version'], { encoding: 'utf8' }).trim(),
    conmon: execFileSync('conmon', ['--version'], { encoding: 'utf8' }).split('\n')[0],
    runc: execFileSync(RUNTIMES[0][1], ['--version'], { encoding: 'utf8' }).split('\n')[0],
    crun: execFileSync(RUNTIMES[1][1], ['--version'], { encoding: 'utf8' }).split('\n')[0],
  };
  result.versions = versions;
  console.log(`${Object.values(versions).join(', ')}, node ${process.version}`);

  // 1. The interleaved runs.
  if (ONLY.has('runs')) runs();
  if (ONLY.has('trace') && TRACE > 0) trace();
  if (ONLY.has('commands') && CYCLES > 0) commands(root);
  if (ONLY.has('single')) single();
  if (opt.json) writeFileSync(opt.json, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  if (mounted) {
    spawnSync('podman', ['rm', '-af', '-t', '0'], { stdio: 'ignore' });
    spawnSync('umount', ['-l', '/var/lib/containers']);
  }
  rmSync(work, { recursive: true, force: true });
}

function runs() {
  for (const [name] of RUNTIMES) result.runs[name] = [];
  for (let round = -1; round < ROUNDS; round++) {
    for (const [name, bin] of shuffle(RUNTIMES)) {
      const ms = podmanRun(bin);
      if (round >= 0) result.runs[name].push(ms);
    }
  }
  console.log(`\npodman run --rm ${IMG} true, ${ROUNDS} interleaved rounds (1 warm-up round discarded):`);
  const base = median(result.runs.runc);
  for (const [name] of RUNTIMES) {
    const r = result.runs[name];
    const ratio = name === 'runc' ? '' : `  ${(median(r) / base).toFixed(2)}× runc`;
    console.log(
      `  ${name.padEnd(10)} median ${median(r).toFixed(0)} ms, p90 ${q(r, 0.9).toFixed(0)} ms, min ${q(r, 0).toFixed(0)} ms${ratio}`,
    );
  }
  console.log('  target: nsbox-oci at most 1.30× runc');
}

// 2. The trace: which runtime commands, how many, how long.
function trace() {
  {
    const tracers = RUNTIMES.map(([name, bin]) => [name, tracer(name, bin)]);
    for (let i = 0; i < TRACE; i++) for (const [, bin] of shuffle(tracers)) podmanRun(bin);
    const GLOBAL_WITH_VALUE = new Set(['--root', '--log', '--log-format', '--criu']);
    for (const line of readFileSync(traceLog, 'utf8').split('\n')) {
      if (line === '') continue;
      const [name, t0, t1, rc, ...argv] = line.split('\t');
      let i = 0;
      while (i < argv.length && argv[i].startsWith('-')) i += GLOBAL_WITH_VALUE.has(argv[i]) ? 2 : 1;
      const cmd = argv[i] ?? argv.join(' ');
      const t = (result.trace[name] ??= { calls: 0, commands: {}, example: {} });
      t.calls++;
      (t.commands[cmd] ??= []).push(Number(BigInt(t1) - BigInt(t0)) / 1e6);
      if (rc !== '0') t.commands[`${cmd} (exit ${rc})`] = (t.commands[`${cmd} (exit ${rc})`] ?? 0) + 1;
      t.example[cmd] ??= argv.join(' ');
    }
    console.log(`\nRuntime calls per container (${TRACE} traced runs each), with each command's median time:`);
    for (const [name] of RUNTIMES) {
      const t = result.trace[name];
      if (!t) continue;
      const cmds = Object.entries(t.commands)
        .filter(([, v]) => Array.isArray(v))
        .map(([c, v]) => `${c} ×${(v.length / TRACE).toFixed(1).replace(/\.0$/, '')} ${median(v).toFixed(0)} ms`);
      console.log(`  ${name.padEnd(10)} ${(t.calls / TRACE).toFixed(1)} calls: ${cmds.join(', ')}`);
    }
    for (const a of Object.values(result.trace['nsbox-oci']?.example ?? {})) console.log(`    e.g. nsbox-oci ${a}`);
  }
}

// 3. Each runtime command alone, with podman's own config.json: captured once from
// `podman create --network none` + `podman init` (crun), its root path pointed at our busybox
// rootfs and its cgroup path made unique per cycle. Each cycle runs, for every runtime in a
// random order: create (stdio /dev/null, a pid file), start, state once the process has exited,
// delete --force — podman's calls, with their flags — each timed alone. create's stdout is
// /dev/null and its stderr a file, which the created process inherits (as conmon's pipes).
function commands(rootfs) {
  const cap = execFileSync('podman', ['--runtime', RUNTIMES[1][1], 'create', '--network', 'none', IMG, 'true'], {
    encoding: 'utf8',
  }).trim();
  execFileSync('podman', ['--runtime', RUNTIMES[1][1], 'init', cap], { stdio: 'ignore' });
  const userdata = execFileSync('podman', ['inspect', '--format', '{{.StaticDir}}', cap], { encoding: 'utf8' }).trim();
  const text = readFileSync(join(userdata, 'config.json'), 'utf8');
  const names = ['create', 'start', 'state', 'delete'];
  const times = Object.fromEntries(RUNTIMES.map(([n]) => [n, Object.fromEntries(names.map((c) => [c, []]))]));
  const gone = (pid) => {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'latin1');
      return /^[ZX]$/.test(st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3));
    } catch {
      return true;
    }
  };
  for (let cycle = -1; cycle < CYCLES; cycle++) {
    for (const [name, bin] of shuffle(RUNTIMES)) {
      const id = `bench${cycle + 1}${name.replace(/\W/g, '')}${Math.random().toString(16).slice(2, 8)}`;
      const bundle = join(work, `bundle-${id}`);
      mkdirSync(bundle);
      // Its bind mounts (/etc/hosts, /etc/hostname…) stay in the captured container's userdata.
      const config = JSON.parse(text);
      if (config.linux.cgroupsPath) config.linux.cgroupsPath = config.linux.cgroupsPath.replaceAll(cap, id);
      config.root = { path: rootfs, readonly: false };
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
      const root = join(work, `root-${name}`);
      const run = (cmd, ...args) => {
        // stderr goes to a file: the created process inherits it, and a pipe would stay open.
        const err = openSync(join(work, 'stderr'), 'w');
        const t = process.hrtime.bigint();
        const r = spawnSync(bin, ['--root', root, cmd, ...args], {
          stdio: ['ignore', cmd === 'state' ? 'pipe' : 'ignore', err],
          encoding: 'utf8',
        });
        const ms = Number(process.hrtime.bigint() - t) / 1e6;
        closeSync(err);
        if (r.status !== 0) throw new Error(`${name} ${cmd} ${args.join(' ')}: ${r.status}\n${readFileSync(join(work, 'stderr'), 'utf8')}`);
        if (cycle >= 0) times[name][cmd].push(ms);
        return r.stdout;
      };
      const pidFile = join(bundle, 'pidfile');
      run('create', '--bundle', bundle, '--pid-file', pidFile, id);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      run('start', id);
      for (let i = 0; i < 2000 && !gone(pid); i++) spawnSync('sleep', ['0.01']);
      const st = JSON.parse(run('state', id));
      if (st.status !== 'stopped') throw new Error(`${name}: ${id} is ${st.status}, not stopped`);
      run('delete', '--force', id);
      rmSync(bundle, { recursive: true, force: true });
    }
  }
  execFileSync('podman', ['rm', '-f', '-t', '0', cap], { stdio: 'ignore' });
  result.commands = times;
  console.log(`\nEach command alone, podman's config.json (--network none), ${CYCLES} interleaved cycles; median ms (÷ runc):`);
  console.log(`  ${'runtime'.padEnd(10)}${names.map((c) => c.padStart(16)).join('')}${'sum'.padStart(16)}`);
  const sum = (n) => names.reduce((a, c) => a + median(times[n][c]), 0);
  for (const [name] of RUNTIMES) {
    const cells = names.map((c) => {
      const m = median(times[name][c]);
      return `${m.toFixed(0)} (${(m / median(times.runc[c])).toFixed(2)}×)`.padStart(16);
    });
    console.log(
      `  ${name.padEnd(10)}${cells.join('')}${`${sum(name).toFixed(0)} (${(sum(name) / sum('runc')).toFixed(2)}×)`.padStart(16)}`,
    );
  }
}

// 4. Single commands, for scale (Node's start-up under this machine's CPU).
function single() {
  const time = (cmd, args, n = 7) => {
    const ms = [];
    for (let i = 0; i < n; i++) {
      const t = process.hrtime.bigint();
      const r = spawnSync(cmd, args, { stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.status}`);
      ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return median(ms);
  };
  result.single = {
    'node -e 0': time(process.execPath, ['-e', '0']),
    'nsbox-oci --version': time(nsboxOci, ['--version']),
    'runc --version': time(RUNTIMES[0][1], ['--version']),
    'crun --version': time(RUNTIMES[1][1], ['--version']),
  };
  for (const [name, bin] of RUNTIMES.slice(3)) result.single[`${name} --version`] = time(bin, ['--version']);
  console.log('\nOne process each, median of 7:');
  for (const [k, v] of Object.entries(result.single)) console.log(`  ${k.padEnd(22)}${v.toFixed(1)} ms`);
}
