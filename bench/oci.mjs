#!/usr/bin/env node
// bench/oci.mjs — the start-up cost of nsbox-oci's commands against `node -e 0` (issue 12's
// target: `state ID` at most 1.3× `node -e 0`). podman starts the runtime three times per
// container (create, start, delete --force), so what a command loads before it answers is the
// figure that matters.
//
// `state`: the container is a state record under a temporary --root whose process is a
// `sleep` this script started (status `running`): `state` takes exactly the path it takes for
// a real container (state.json, /proc/PID/stat, the gate path, cgroup.freeze), with no
// privileges.
// `--lifecycle` (root): also podman's three calls on a real container, a static busybox
// `true` with defaultSpec's config: `create --bundle B --pid-file F ID`, `start ID`, then
// (once its process has exited, untimed) `state ID` and `delete --force ID`. The container
// gets nsbox-oci's default cgroup (/nsbox-oci/ID in the v2 tree), which delete removes.
// Method: each round runs every case once, in a fresh random order; each is a fresh `node`
// process (spawnSync, timed from before the spawn to after the exit). NODE_EXTRA_CA_CERTS and
// NODE_OPTIONS are removed from the children's environment: with NODE_EXTRA_CA_CERTS, Node
// reads and parses that whole file at start-up (50 ms here for a distribution's bundle),
// which inflates `node -e 0` and every command alike and hides what the commands add.
// Usage: node bench/oci.mjs [--rounds 40] [--lifecycle] [--entry NAME=FILE]... [--json FILE]
//   --entry: another build of the bin, as an extra column (default: package.json's bin only)
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { shuffle } from './lib.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '40' },
    lifecycle: { type: 'boolean', default: false },
    entry: { type: 'string', multiple: true, default: [] },
    json: { type: 'string' },
  },
});
const ROUNDS = Number(opt.rounds);
const BINS = [['nsbox-oci', join(repo, JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).bin['nsbox-oci'])]];
for (const e of opt.entry) {
  const [name, file] = e.split('=');
  BINS.push([name, resolve(file)]);
}
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
delete env.NODE_OPTIONS;

const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p) && statSync(p).size > 500_000);
if (opt.lifecycle && (process.geteuid() !== 0 || BUSYBOX === undefined)) {
  console.error('bench/oci.mjs --lifecycle: needs root and a static busybox (Debian busybox-static)');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'nsbox-oci-bench-'));
const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
const q = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))];
/** Runs `node ARGS…` to its exit; stdout and stderr are files (a container created by it inherits them). */
function time(args) {
  const [o, e] = [openSync(join(dir, 'out'), 'w'), openSync(join(dir, 'err'), 'w')];
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', o, e], env });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  closeSync(o);
  closeSync(e);
  if (r.status !== 0) throw new Error(`node ${args.join(' ')}: ${r.status} ${r.signal ?? ''}\n${readFileSync(join(dir, 'err'), 'utf8')}`);
  return { ms, out: readFileSync(join(dir, 'out'), 'utf8') };
}

/** A bundle whose process is a static busybox `true`, with defaultSpec's config (as root). */
async function makeBundle() {
  const { defaultSpec } = await import(join(repo, 'dist/oci/index.js'));
  const bundle = join(dir, 'bundle');
  const rootfs = join(bundle, 'rootfs');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'root']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  symlinkSync('busybox', join(rootfs, 'bin/true'));
  const config = defaultSpec({ rootless: false });
  config.process.terminal = false;
  config.process.args = ['true'];
  delete config.process.capabilities.ambient;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  return bundle;
}

const gone = (pid) => {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return /^[ZX]$/.test(st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3));
  } catch {
    return true;
  }
};

/** Containers created and not yet deleted: [bin, root, id], removed in `finally` after a failure. */
const live = new Set();
const result = { date: new Date().toISOString(), node: process.version, rounds: ROUNDS, runs: { 'node -e 0': [] } };
try {
  const stat = readFileSync(`/proc/${sleeper.pid}/stat`, 'latin1');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  const sroot = join(dir, 'state-root');
  mkdirSync(join(sroot, 'b1'), { recursive: true, mode: 0o700 });
  const rec = {
    ociVersion: '1.2.0',
    id: 'b1',
    pid: sleeper.pid,
    startTime: start,
    bundle: dir,
    rootfs: join(dir, 'rootfs'),
    created: new Date().toISOString(),
    owner: 'bench',
    gate: join(sroot, 'b1', 'gate'),
    config: { ociVersion: '1.2.0' },
  };
  writeFileSync(join(sroot, 'b1', 'state.json'), JSON.stringify(rec));
  const bundle = opt.lifecycle ? await makeBundle() : undefined;

  const cases = [['node -e 0', () => [time(['-e', '0']).ms]]];
  for (const [name, bin] of BINS) {
    const check = JSON.parse(time([bin, '--root', sroot, 'state', 'b1']).out);
    if (check.status !== 'running') throw new Error(`${name}: state says ${check.status}`);
    cases.push([`${name} --version`, () => [time([bin, '--version']).ms]]);
    cases.push([`${name} state ID`, () => [time([bin, '--root', sroot, 'state', 'b1']).ms]]);
    if (bundle)
      cases.push([
        `${name} lifecycle`,
        () => {
          const root = join(dir, `root-${name}`);
          const id = `bench-${Math.random().toString(16).slice(2, 10)}`;
          const pidFile = join(dir, 'pid');
          const entry = [bin, root, id];
          live.add(entry);
          const c = time([bin, '--root', root, 'create', '--bundle', bundle, '--pid-file', pidFile, id]).ms;
          const pid = Number(readFileSync(pidFile, 'utf8'));
          const s = time([bin, '--root', root, 'start', id]).ms;
          for (let i = 0; i < 2000 && !gone(pid); i++) spawnSync('sleep', ['0.005']);
          const st = time([bin, '--root', root, 'state', id]);
          if (JSON.parse(st.out).status !== 'stopped') throw new Error(`${name}: ${id} is not stopped`);
          const d = time([bin, '--root', root, 'delete', '--force', id]).ms;
          live.delete(entry);
          return [c, s, st.ms, d];
        },
      ]);
  }
  const LIFE = ['create', 'start', 'state (stopped)', 'delete --force'];
  for (let i = 0; i < 3; i++) time(['-e', '0']); // warm the page cache
  for (let round = -1; round < ROUNDS; round++) {
    for (const [label, run] of shuffle(cases)) {
      const ms = run();
      if (round < 0) continue; // one warm-up round
      if (ms.length === 1) (result.runs[label] ??= []).push(ms[0]);
      else for (const [i, c] of LIFE.entries()) (result.runs[label.replace('lifecycle', c)] ??= []).push(ms[i]);
    }
  }
  // The minimum is what a command costs on an idle machine; the median includes whatever
  // else the machine does (other processes compete for the cores).
  const [n0, n5] = [q(result.runs['node -e 0'], 0), q(result.runs['node -e 0'], 0.5)];
  console.log(
    `node ${process.version}, ${ROUNDS} interleaved rounds, without NODE_EXTRA_CA_CERTS (ratios to node -e 0: of the minima / of the medians):`,
  );
  for (const [label, r] of Object.entries(result.runs)) {
    const [mn, md] = [q(r, 0), q(r, 0.5)];
    const ratio = label === 'node -e 0' ? '' : `  (${(mn / n0).toFixed(2)}× / ${(md / n5).toFixed(2)}×)`;
    console.log(`  ${label.padEnd(32)}min ${mn.toFixed(1)} ms, median ${md.toFixed(1)} ms${ratio}`);
  }
  console.log('  target: state at most 1.30× node -e 0');
  if (opt.json) writeFileSync(opt.json, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  for (const [bin, root, id] of live) spawnSync(process.execPath, [bin, '--root', root, 'delete', '--force', id], { stdio: 'ignore', env });
  sleeper.kill();
  rmSync(dir, { recursive: true, force: true });
}
