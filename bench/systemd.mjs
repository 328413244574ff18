#!/usr/bin/env node
// bench/systemd.mjs — a system container's boot with each OCI runtime, side by side (issue 15's
// target: Debian's systemd as PID 1 reaches `running` with nsbox-oci in at most 1.2× the time
// with crun). Root, podman, crun and pure cgroup v2 only: run it in the guest, never on a
// hybrid host (podman and crun write to every cgroup v1 hierarchy they find):
//
//   scripts/systemd-rootfs.sh     # on the host first: the guest has no network
//   flock /tmp/nsbox-vm.lock scripts/vm-run --share "$PWD" --mem 3072 -- node bench/systemd.mjs --rounds 3
//
// Setup, as test/guest/systemd.test.mjs: podman's storage on a tmpfs of its own, the image
// `podman import`ed from scripts/systemd-rootfs.sh's tarball (debootstrap bookworm, minbase +
// systemd). Method: each round boots `podman run -d --systemd=always --runtime R IMG
// /sbin/init` once per runtime, in a fresh random order; a boot is timed from before the
// spawn of `podman run` to systemd's own FinishTimestampMonotonic (CLOCK_MONOTONIC in both:
// the container has no time namespace), read once `systemctl is-system-running --wait`
// answers, so the `podman exec` polls are not counted. UserspaceTimestampMonotonic (systemd's
// start) splits it into the runtime's part (podman, conmon, the runtime's create and start)
// and systemd's own boot. Then `podman stop` (SIGRTMIN+3) is timed, and the container removed.
// The first --warmup rounds (default 1) are discarded: the guest reads node, crun and the
// image's files cold through virtiofs, and nsbox-oci writes its V8 code caches, at first use.
// nsbox-oci runs through a two-line wrapper, as npm's bin link would run it.
// Usage: node bench/systemd.mjs [--rounds 3] [--warmup 1] [--json FILE]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, warmup: { type: 'string', default: '1' }, json: { type: 'string' } },
});
const ROUNDS = Number(opt.rounds);
const WARMUP = Number(opt.warmup);
const IMG = 'localhost/nsbox-bench-systemd:1';
const TAR = execFileSync('bash', [join(repo, 'scripts/systemd-rootfs.sh'), '--path'], { encoding: 'utf8' }).trim();

const v1 = readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .some((l) => / - cgroup /.test(l));
const why =
  process.geteuid() !== 0
    ? 'needs root'
    : spawnSync('sh', ['-c', 'command -v podman && command -v crun'], { stdio: 'ignore' }).status !== 0
      ? 'needs podman and crun'
      : v1
        ? 'cgroup v1 is mounted here; run it in the pure cgroup v2 guest (scripts/vm-run)'
        : spawnSync('test', ['-s', TAR]).status !== 0
          ? `no ${TAR}: run scripts/systemd-rootfs.sh on the host first`
          : undefined;
if (why) {
  console.error(`bench/systemd.mjs: ${why}`);
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'nsbox-bench-systemd-'));
mkdirSync(join(work, 'storage'));
execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', join(work, 'storage')]);
const storage = ['--root', join(work, 'storage/graph'), '--runroot', join(work, 'storage/run')];
const podman = (args) => {
  const r = spawnSync('podman', [...storage, ...args], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`podman ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
const nsbox = join(work, 'nsbox-oci');
writeFileSync(nsbox, `#!/bin/sh\nexec '${process.execPath}' '${join(repo, pkg.bin['nsbox-oci'])}' "$@"\n`, { mode: 0o755 });
const RUNTIMES = { crun: '/usr/bin/crun', 'nsbox-oci': nsbox };

/** One boot: [total, runtime's part, systemd's own, stop] in seconds. */
function boot(runtime) {
  const name = `bench-sd-${process.pid}`;
  const t0 = process.hrtime.bigint();
  podman(['run', '-d', '--name', name, '--systemd=always', '--runtime', runtime, IMG, '/sbin/init']);
  for (let i = 0; i < 600; i++) {
    const s = spawnSync('podman', [...storage, 'exec', name, 'systemctl', 'is-system-running', '--wait'], { encoding: 'utf8' });
    if (/^(running|degraded)/.test(s.stdout)) break;
    spawnSync('sleep', ['0.5']);
  }
  const show = Object.fromEntries(
    podman(['exec', name, 'systemctl', 'show', '-p', 'UserspaceTimestampMonotonic', '-p', 'FinishTimestampMonotonic'])
      .trim()
      .split('\n')
      .map((l) => l.split('=')),
  );
  const base = Number(t0 / 1000n) / 1e6;
  const start = Number(show.UserspaceTimestampMonotonic) / 1e6;
  const finish = Number(show.FinishTimestampMonotonic) / 1e6;
  const s0 = Date.now();
  podman(['stop', '-t', '120', name]);
  const stop = (Date.now() - s0) / 1000;
  podman(['rm', name]);
  return [finish - base, start - base, finish - start, stop];
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const results = Object.fromEntries(Object.keys(RUNTIMES).map((n) => [n, []]));
try {
  podman(['import', TAR, IMG]);
  for (let r = -WARMUP; r < ROUNDS; r++) {
    const order = Object.keys(RUNTIMES).sort(() => Math.random() - 0.5);
    for (const n of order) {
      const b = boot(RUNTIMES[n]);
      if (r >= 0) results[n].push(b);
      const round = r < 0 ? 'warm-up' : `round ${r + 1}`;
      console.log(`${round} ${n}: ${b.map((x) => x.toFixed(2)).join(' ')} (total, until systemd runs, systemd's own, stop; s)`);
    }
  }
} finally {
  spawnSync('podman', [...storage, 'rm', '-af', '-t', '0'], { stdio: 'ignore' });
  spawnSync('umount', ['-R', join(work, 'storage')]);
  rmSync(work, { recursive: true, force: true });
}
const summary = {};
for (const [n, rows] of Object.entries(results)) {
  summary[n] = {};
  ['total', 'toInit', 'systemd', 'stop'].forEach((k, i) => {
    summary[n][k] = median(rows.map((x) => x[i]));
  });
}
console.log('medians (s):', JSON.stringify(summary));
console.log(`boot to running, nsbox-oci / crun: ${(summary['nsbox-oci'].total / summary.crun.total).toFixed(2)}`);
const ratios = results.crun.map((c, i) => (results['nsbox-oci'][i] ? results['nsbox-oci'][i][0] / c[0] : Number.NaN));
console.log(`per round: ${ratios.map((x) => x.toFixed(2)).join(' ')}`);
if (opt.json)
  writeFileSync(opt.json, JSON.stringify({ date: new Date().toISOString(), rounds: ROUNDS, warmup: WARMUP, results, summary }, null, 2));
