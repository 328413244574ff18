// bench/lib.mjs — what several benchmarks share: running crun on this hybrid-cgroup host,
// and a busybox rootfs.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const CGROUP2_MAGIC = 0x63677270;

/** Is /sys/fs/cgroup the cgroup2 hierarchy (in this mount namespace)? */
export function cgroupIsV2() {
  try {
    return fs.statfsSync('/sys/fs/cgroup').type === CGROUP2_MAGIC;
  } catch {
    return false;
  }
}

/**
 * crun 1.8 refuses a hybrid-cgroup host, and runc/crun must never write to the host's v1
 * hierarchies (docs/performance.md, the container section): as root with crun installed, re-run
 * `script` once inside a private mount namespace where /sys/fs/cgroup is the cgroup2
 * hierarchy, and exit with its status. Every row then runs there (it differs from the
 * host's only under /sys/fs/cgroup); the namespace dies with the process.
 */
export function reexecWithCgroup2(script, argv, haveCrun) {
  if (process.geteuid() !== 0 || !haveCrun || cgroupIsV2() || process.env.NSBOX_BENCH_CG2 === '1') return;
  const inner = [
    'sh',
    '-c',
    'mount -t cgroup2 none /sys/fs/cgroup && exec "$@"',
    'sh',
    process.execPath,
    ...process.execArgv,
    script,
    ...argv,
  ];
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', ...inner], {
    stdio: 'inherit',
    env: { ...process.env, NSBOX_BENCH_CG2: '1' },
  });
  process.exit(r.status ?? 1);
}

/** A busybox rootfs at `dir`: /bin/busybox and a symlink per applet, /etc/passwd and group. */
export function buildBusyboxRootfs(dir) {
  const bb = '/bin/busybox';
  if (!fs.existsSync(bb)) throw new Error('no /bin/busybox: apt-get install -y busybox-static');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'root']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.copyFileSync(bb, path.join(dir, 'bin/busybox'));
  fs.chmodSync(path.join(dir, 'bin/busybox'), 0o755);
  for (const applet of execFileSync(bb, ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (!applet || applet === 'busybox') continue;
    fs.symlinkSync('busybox', path.join(dir, 'bin', applet));
  }
  fs.writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  fs.writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\n');
}

/** The `p` quantile of `samples`, interpolated between the two nearest ranks. */
export function quantile(samples, p) {
  const v = [...samples].sort((x, y) => x - y);
  const i = (v.length - 1) * p;
  const lo = Math.floor(i);
  return v[lo] + (v[Math.min(lo + 1, v.length - 1)] - v[lo]) * (i - lo);
}

/** Per row `{ key, label, how, samples }`: n, median, p10, p90 and min, keyed by `key`. */
export function rowStats(rows) {
  return Object.fromEntries(
    rows.map((r) => [
      r.key,
      {
        label: r.label,
        how: r.how,
        n: r.samples.length,
        median: quantile(r.samples, 0.5),
        p10: quantile(r.samples, 0.1),
        p90: quantile(r.samples, 0.9),
        min: Math.min(...r.samples),
      },
    ]),
  );
}

/** A copy of `a` in a random order (Fisher–Yates): interleaved rounds in a fresh order each. */
export function shuffle(a) {
  const b = [...a];
  for (let i = b.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [b[i], b[j]] = [b[j], b[i]];
  }
  return b;
}

/** Wall time in ms of `cmd args…` run by child_process.spawn to its exit (stdio ignored); rejects on a non-zero exit. */
export function timeCp(cmd, args) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn(cmd, args, { stdio: 'ignore' });
    c.once('error', reject);
    c.once('exit', (code, sig) => {
      const t = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`${cmd} exited with ${code ?? sig}`));
      else resolve(t);
    });
  });
}

/**
 * `crun spec`'s default config.json in `bundle` (made if missing), with the root `rootfs`
 * read-only, process `/bin/true`, no terminal, and no `linux.resources` (crun loads an eBPF
 * device filter for them and first raises RLIMIT_MEMLOCK, which this VM, without
 * CAP_SYS_RESOURCE, refuses). Returns the spec to edit further and the file to write it to.
 * Only writes a file: `crun spec` starts no container.
 */
export function crunSpec(bundle, rootfs) {
  fs.mkdirSync(bundle, { recursive: true });
  execFileSync('crun', ['spec'], { cwd: bundle });
  const file = path.join(bundle, 'config.json');
  const spec = JSON.parse(fs.readFileSync(file, 'utf8'));
  spec.root = { path: rootfs, readonly: true };
  spec.process.args = ['/bin/true'];
  spec.process.terminal = false;
  delete spec.linux.resources;
  return { spec, file };
}

/** The checkout's root (bench/..). */
export const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

/** `--name VALUE` of this process's arguments (a string), or `def`. */
export function option(name, def) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? def : argv[i + 1];
}

/**
 * Two builds side by side (bench/security-ab.mjs, bench/mounts-ab.mjs): each row's function
 * called with `before` and with `after`, in a fresh random order every round, `n` timed rounds
 * after `warmup`; `pause(name)` (optional) awaited after each call. Prints and returns each
 * row's medians and their ratio after ÷ before.
 */
export async function abRows(rows, before, after, { n, warmup, pause }) {
  const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const results = [];
  for (const [name, f] of Object.entries(rows)) {
    const t = { before: [], after: [] };
    for (let i = 0; i < n + warmup; i++) {
      for (const k of Math.random() < 0.5 ? ['before', 'after'] : ['after', 'before']) {
        const t0 = process.hrtime.bigint();
        await f(k === 'before' ? before : after);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (i >= warmup) t[k].push(ms);
        if (pause) await pause(name);
      }
    }
    const r = { row: name, before: median(t.before), after: median(t.after) };
    r.ratio = r.after / r.before;
    results.push(r);
    console.log(`${name}: before ${r.before.toFixed(3)} ms, after ${r.after.toFixed(3)} ms, ${r.ratio.toFixed(2)}×`);
  }
  return results;
}
