#!/usr/bin/env node
// bench/cli.mjs — the wall time of `nsbox run -- /bin/true` against `node -e 0` (issue 13's
// target: at most 1.3× node -e 0) and against bwrap doing about the same isolation.
//
// Rows (each a fresh process, timed from before the spawn to after its exit, spawnSync):
//   node -e 0                  Node's own start-up and exit: the floor of any Node command.
//   nsbox run                  package.json's bin (dist/nsbox-cli/nsbox.cjs) with the default
//                              options: user, pid, mnt, uts, ipc, net and cgroup namespaces, the
//                              host's /usr, /etc (and /bin, /lib… as their symlinks) read-only
//                              on a tmpfs root with /tmp, /proc, /dev, /sys, the default seccomp
//                              profile and capabilities, an init as PID 1; as root, a block of
//                              65,536 host ids (the default).
//   nsbox run --net none       the same, with lo up in the new network namespace.
//   nsbox run --rootfs R       a static busybox rootfs bound as the root (R/bin/true is busybox).
//   nsbox run, no code cache   the bin with NSBOX_CODE_CACHE=0: what the V8 code cache saves.
//   nsbox run, other user      (as root, when uid 65534 can read the bin) the bin run as uid
//                              65534, who does not own the linked files: with root's code
//                              cache beside the files (from 2026-11-30 the only one: no
//                              per-user cache in ~/.cache, which a sandbox could forge), and
//                              with none (NSBOX_CODE_CACHE=0).
//   nsbox run (tsc modules)    tsc's unlinked ES modules (node dist/cli.js): Node's ES module
//                              loader over ~110 files, which the bin replaces.
//   bwrap (host dirs)          bwrap --unshare-all --die-with-parent with the same root as
//                              nsbox's default (tmpfs /, /usr and /etc read-only, the host's
//                              symlinks, tmpfs /tmp, --proc, --dev), exec'd directly: a C
//                              program doing about what nsbox run does, without Node.
//   bwrap --bind R /           bwrap with the busybox rootfs as its root.
// bwrap does a little less than nsbox's default: no seccomp filter, and a single-id user
// namespace instead of a block of 65,536 ids.
// Method: rounds of every row once, in a fresh random order, one warm-up round discarded (and
// three runs of each nsbox row before it, so the code caches exist). NODE_EXTRA_CA_CERTS and
// NODE_OPTIONS are removed from the children's environment: with NODE_EXTRA_CA_CERTS, Node
// reads and parses that whole file at start-up (50 ms here for a distribution's bundle).
// Usage: node bench/cli.mjs [--rounds 40] [--entry NAME=FILE]... [--json FILE]
//   --entry: another build of the nsbox bin (a file node runs), as an extra row.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildBusyboxRootfs, shuffle } from './lib.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '40' },
    entry: { type: 'string', multiple: true, default: [] },
    json: { type: 'string' },
  },
});
const ROUNDS = Number(opt.rounds);
const BIN = join(repo, JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).bin.nsbox);
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
delete env.NODE_OPTIONS;
const noCache = { ...env, NSBOX_CODE_CACHE: '0' };

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const q = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))];
/** Runs `file args…` to its exit (`as`: more spawnSync options, a uid); returns the wall time in ms. */
function time(file, args, e = env, as = {}) {
  const t = process.hrtime.bigint();
  const r = spawnSync(file, args, { stdio: ['ignore', 'ignore', 'pipe'], env: e, ...as });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')}: ${r.status} ${r.signal ?? ''}\n${r.stderr}`);
  return ms;
}

/** bwrap's arguments for nsbox's default root: the host's system directories read-only on a tmpfs. */
function bwrapHostRoot() {
  const a = ['--tmpfs', '/'];
  for (const name of ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'etc']) {
    const p = `/${name}`;
    if (!existsSync(p)) continue;
    if (lstatSync(p).isSymbolicLink()) a.push('--symlink', readlinkSync(p), p);
    else a.push('--ro-bind', p, p);
  }
  return [...a, '--tmpfs', '/tmp', '--proc', '/proc', '--dev', '/dev'];
}

const dir = mkdtempSync(join(tmpdir(), 'nsbox-cli-bench-'));
const result = {
  date: new Date().toISOString(),
  node: process.version,
  kernel: release(),
  euid: process.geteuid(),
  rounds: ROUNDS,
  rows: {},
  runs: {},
};
try {
  const rootfs = join(dir, 'rootfs');
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].some((p) => existsSync(p) && lstatSync(p).size > 500_000);
  if (busybox) buildBusyboxRootfs(rootfs);
  const run = ['run', '--', '/bin/true'];
  const rows = [
    ['node -e 0', 'node -e 0', () => time(process.execPath, ['-e', '0'])],
    ['nsbox run', `node ${BIN} run -- /bin/true`, () => time(process.execPath, [BIN, ...run])],
    [
      'nsbox run --net none',
      `node ${BIN} run --net none -- /bin/true`,
      () => time(process.execPath, [BIN, 'run', '--net', 'none', '--', '/bin/true']),
    ],
    ['nsbox run, no code cache', `NSBOX_CODE_CACHE=0 node ${BIN} run -- /bin/true`, () => time(process.execPath, [BIN, ...run], noCache)],
    ['nsbox run (tsc modules)', 'node dist/cli.js run -- /bin/true', () => time(process.execPath, [join(repo, 'dist/cli.js'), ...run])],
  ];
  // Another user than the linked files' owner (a global install run by anyone but root).
  const other = { uid: 65534, gid: 65534 };
  if (
    process.geteuid() === 0 &&
    lstatSync(BIN).uid !== other.uid &&
    spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(BIN)}, 4)`], other).status === 0
  ) {
    const home = join(dir, 'home');
    chmodSync(dir, 0o711); // mkdtemp's 0700: the user must reach its home
    mkdirSync(home);
    chownSync(home, other.uid, other.gid);
    const as = { ...env, HOME: home };
    rows.push(
      ['nsbox run, other user', `uid 65534: node ${BIN} run -- /bin/true`, () => time(process.execPath, [BIN, ...run], as, other)],
      [
        'nsbox run, other user, no code cache',
        `uid 65534: NSBOX_CODE_CACHE=0 node ${BIN} run -- /bin/true`,
        () => time(process.execPath, [BIN, ...run], { ...as, NSBOX_CODE_CACHE: '0' }, other),
      ],
    );
  }
  if (busybox)
    rows.push([
      'nsbox run --rootfs R',
      `node ${BIN} run --rootfs R -- /bin/true`,
      () => time(process.execPath, [BIN, 'run', '--rootfs', rootfs, '--', '/bin/true']),
    ]);
  for (const e of opt.entry) {
    const [name, file] = e.split('=');
    rows.push([name, `node ${file} run -- /bin/true`, () => time(process.execPath, [resolve(file), ...run])]);
  }
  if (has('bwrap')) {
    const host = ['--unshare-all', '--die-with-parent', ...bwrapHostRoot(), '/bin/true'];
    rows.push(['bwrap (host dirs)', `bwrap ${host.join(' ')}`, () => time('bwrap', host)]);
    if (busybox) {
      const own = ['--unshare-all', '--die-with-parent', '--bind', rootfs, '/', '--proc', '/proc', '--dev', '/dev', '/bin/true'];
      rows.push(['bwrap --bind R /', `bwrap ${own.join(' ').replace(rootfs, 'R')}`, () => time('bwrap', own)]);
    }
  } else console.error('bench/cli.mjs: no bwrap (apt-get install -y bubblewrap): its rows are left out');
  for (const [label, what] of rows) result.rows[label] = what;

  for (const [label, , fn] of rows) if (label.startsWith('nsbox')) for (let i = 0; i < 3; i++) fn();
  for (let round = -1; round < ROUNDS; round++) {
    for (const [label, , fn] of shuffle(rows)) {
      const ms = fn();
      if (round >= 0) (result.runs[label] ??= []).push(ms);
    }
  }
  // The minimum is what a command costs on an idle machine; the median includes whatever
  // else the machine does (other processes compete for the cores).
  const [n0, n5] = [q(result.runs['node -e 0'], 0), q(result.runs['node -e 0'], 0.5)];
  console.log(
    `node ${process.version}, euid ${process.geteuid()}, ${ROUNDS} interleaved rounds, without NODE_EXTRA_CA_CERTS (ratios to node -e 0: of the minima / of the medians):`,
  );
  result.summary = {};
  for (const [label] of rows) {
    const r = result.runs[label];
    const [mn, md] = [q(r, 0), q(r, 0.5)];
    result.summary[label] = { min: +mn.toFixed(2), median: +md.toFixed(2), p90: +q(r, 0.9).toFixed(2), ratioMedian: +(md / n5).toFixed(3) };
    const ratio = label === 'node -e 0' ? '' : `  (${(mn / n0).toFixed(2)}× / ${(md / n5).toFixed(2)}×)`;
    console.log(`  ${label.padEnd(38)}min ${mn.toFixed(1).padStart(6)} ms, median ${md.toFixed(1).padStart(6)} ms${ratio}`);
  }
  console.log('  target: nsbox run at most 1.30× node -e 0 (of the medians)');
  if (opt.json) writeFileSync(opt.json, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
