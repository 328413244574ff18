// A system container (LXC's job): Debian bookworm booting its own systemd as PID 1 under
// podman's systemd mode, as root in the pure cgroup v2 guest (scripts/guest-tests.sh), once
// per runtime in RUNTIMES: crun is the reference, so a failure of ours is ours.
// What systemd needs of its container, and what podman's --systemd=always puts in config.json
// for it: tmpfs on /run, /run/lock, /tmp and /var/log/journal, each a copy of the image's
// directory (`tmpcopyup`); a cgroup namespace and /sys/fs/cgroup mounted read-write (a
// delegated cgroup v2 subtree, where systemd moves itself to init.scope and enables
// controllers for its services); `container=podman` in the environment; and SIGRTMIN+3 as the
// stop signal (systemd's "halt"), which `podman stop` sends through the runtime's `kill`.
// The root filesystem is debootstrap's (scripts/systemd-rootfs.sh), made on the host, since the
// guest has no network, and cached between runs. Boot to `running` is timed for both runtimes
// in the same run, from before `podman run` to systemd's own FinishTimestampMonotonic (the
// same CLOCK_MONOTONIC: no time namespace), so polling costs are not counted.
// Never run on the host: podman and crun write to every cgroup v1 hierarchy of a hybrid host.
// Outside such a guest (not root, no podman, cgroup v1 mounted, or no rootfs tarball) every
// test skips with the reason.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { cgroupV1, which } from '../helpers/guest-env.mjs';

/** nsbox-oci as npm's bin link would run it (the bin has no x bit in a checkout). */
const NSBOX_OCI = join(tmpdir(), `nsbox-oci-sd-${process.pid}`);
/** The runtimes under test: [name, path of the runtime binary]; crun first, the reference. */
const RUNTIMES = [
  ['crun', '/usr/bin/crun'],
  ['nsbox-oci', NSBOX_OCI],
];
const IMG = 'localhost/nsbox-bookworm-systemd:1';
/** podman stop's timeout: after it, podman would SIGKILL (exit status 137). */
const STOP_TIMEOUT = 120;

const repo = fileURLToPath(new URL('../..', import.meta.url));
const ROOTFS_TAR = execFileSync('bash', [join(repo, 'scripts/systemd-rootfs.sh'), '--path'], { encoding: 'utf8' }).trim();
const v1 = cgroupV1;
const skip =
  process.geteuid() !== 0
    ? 'needs root'
    : which('podman') === ''
      ? 'podman is not installed (apt-get install podman)'
      : v1
        ? 'cgroup v1 is mounted here: podman would write to the machine’s v1 hierarchies (run in the guest: scripts/guest-tests.sh)'
        : !existsSync(ROOTFS_TAR)
          ? `no systemd rootfs at ${ROOTFS_TAR}: make it on the host with scripts/systemd-rootfs.sh (debootstrap; the guest has no network)`
          : false;

let work;
let storage;
/** Boot figures per runtime, for the summary. */
const boots = {};

/** podman with its storage in our work dir; returns { code, stdout, stderr }. */
function podman(args, opts = {}) {
  const r = spawnSync('podman', [...storage, ...args], { encoding: 'utf8', timeout: 300_000, ...opts });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
/** The same, asserting success; returns stdout. */
function ok(args, opts) {
  const r = podman(args, opts);
  assert.equal(r.code, 0, `podman ${args.join(' ')}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
  return r.stdout;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits, from outside the container, until its systemd has moved itself to init.scope and
 * enabled `pids` for its units in its root cgroup's subtree_control (bounded: 120 s); returns
 * that file's content. The tests exec into the container only afterwards: `podman exec` puts
 * its process in the container's root cgroup (crun and nsbox-oci alike, as runc: the init's
 * cgroup only when the root refuses processes), and while one is there systemd's write to the
 * root's cgroup.subtree_control fails (EBUSY: no internal processes) and is not retried — a
 * test polling `systemctl is-system-running` during the boot left both runtimes' containers
 * without controllers (seen in the guest: crun's subtree_control empty for 40 s with one
 * `podman exec … sleep` started at the boot, `memory pids` after 1 s without it).
 */
async function delegated(container) {
  const pid = ok(['inspect', '-f', '{{.State.Pid}}', container]).trim();
  const end = Date.now() + 120_000;
  let last = '';
  while (Date.now() < end) {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    const path = line?.slice(3) ?? '';
    if (path.endsWith('/init.scope')) {
      last = readFileSync(`/sys/fs/cgroup${path.slice(0, -'/init.scope'.length)}/cgroup.subtree_control`, 'utf8').trim();
      if (/\bpids\b/.test(last)) return last;
    }
    await sleep(50);
  }
  assert.fail(`systemd in ${container} did not delegate pids to its units within 120 s (its cgroup: ${pid}; subtree_control: '${last}')`);
}

before(() => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'nsbox-systemd-'));
  // podman's storage on a tmpfs of its own: the guest's root is an overlay, and
  // overlay-on-overlay is refused.
  mkdirSync(join(work, 'storage'));
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', join(work, 'storage')]);
  storage = ['--root', join(work, 'storage/graph'), '--runroot', join(work, 'storage/run')];
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  writeFileSync(NSBOX_OCI, `#!/bin/sh\nexec '${process.execPath}' '${join(repo, pkg.bin['nsbox-oci'])}' "$@"\n`, { mode: 0o755 });
  const t0 = Date.now();
  ok(['import', ROOTFS_TAR, IMG], { stdio: ['ignore', 'ignore', 'pipe'] });
  console.log(`podman import of ${ROOTFS_TAR}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

after(() => {
  if (skip || !work) return;
  const names = Object.keys(boots);
  if (names.length === 2) {
    const [a, b] = names.map((n) => boots[n]);
    console.log(
      `boot to running (podman run → systemd's FinishTimestamp): ${names[0]} ${a.total.toFixed(2)} s, ${names[1]} ${b.total.toFixed(2)} s, ratio ${(b.total / a.total).toFixed(2)}`,
    );
  }
  podman(['rm', '-af', '-t', '0']);
  podman(['rmi', '-af']);
  spawnSync('umount', ['-R', join(work, 'storage')]);
  rmSync(work, { recursive: true, force: true });
  rmSync(NSBOX_OCI, { force: true });
});

for (const [name, runtime] of RUNTIMES) {
  describe(`podman --systemd=always --runtime ${name}: Debian's systemd as PID 1`, { skip }, () => {
    const c = `nsbox-sd-${name.replace(/\W/g, '')}`;
    const exec = (script) => ok(['exec', c, 'sh', '-c', script]);
    after(() => podman(['rm', '-f', '-t', '0', c]));

    test('boots to running: systemd is PID 1, no unit failed; the boot is timed', async () => {
      const t0 = process.hrtime.bigint(); // CLOCK_MONOTONIC, as systemd's *TimestampMonotonic
      ok(['run', '-d', '--name', c, '--systemd=always', '--runtime', runtime, IMG, '/sbin/init']);
      const started = process.hrtime.bigint();
      await delegated(c);
      // is-system-running --wait fails at once while systemd's bus is not up yet: ask again.
      let state = '';
      const end = Date.now() + 600_000;
      while (Date.now() < end) {
        state = podman(['exec', c, 'systemctl', 'is-system-running', '--wait']).stdout.trim();
        if (state === 'running' || state === 'degraded') break;
        await sleep(500);
      }
      const failed = podman(['exec', c, 'systemctl', '--failed', '--no-legend', '--plain']).stdout;
      assert.equal(state, 'running', `systemctl is-system-running: ${state}\nfailed units:\n${failed}`);
      assert.equal(failed.trim(), '');
      assert.equal(exec('cat /proc/1/comm').trim(), 'systemd');
      const show = Object.fromEntries(
        exec('systemctl show -p UserspaceTimestampMonotonic -p FinishTimestampMonotonic')
          .trim()
          .split('\n')
          .map((l) => l.split('=')),
      );
      const us = (v) => Number(v) / 1e6;
      const base = Number(t0 / 1000n) / 1e6;
      const b = {
        total: us(show.FinishTimestampMonotonic) - base, // podman run → startup finished
        toInit: us(show.UserspaceTimestampMonotonic) - base, // podman, conmon and the runtime until systemd runs
        systemd: us(show.FinishTimestampMonotonic) - us(show.UserspaceTimestampMonotonic), // systemd's own boot
        podmanRun: Number(started - t0) / 1e9,
      };
      assert.ok(b.total > 0 && b.toInit > 0 && b.systemd > 0, JSON.stringify({ show, base }));
      boots[name] = b;
      console.log(
        `${name}: boot to running ${b.total.toFixed(2)} s (until systemd runs ${b.toInit.toFixed(2)} s, systemd's own ${b.systemd.toFixed(2)} s; podman run -d returned after ${b.podmanRun.toFixed(2)} s)`,
      );
    });

    test('what systemd needs: container=podman, its own cgroup namespace with a writable cgroup2 (init.scope, controllers delegated), tmpfs /run and /tmp copied from the image', async () => {
      const out = exec(
        [
          'tr "\\0" "\\n" < /proc/1/environ | grep ^container=',
          'cat /proc/1/cgroup',
          'findmnt -no FSTYPE,OPTIONS /sys/fs/cgroup | cut -d, -f1',
          'cat /sys/fs/cgroup/cgroup.subtree_control', // non-empty since delegated(): one line
          'findmnt -no FSTYPE /run; findmnt -no FSTYPE /tmp; findmnt -no FSTYPE /run/lock',
          'test -d /run/systemd/netif && echo copied', // a directory of the image's /run
          'stat -c %a /tmp', // the image's /tmp mode
        ].join('; '),
      ).split('\n');
      assert.equal(out[0], 'container=podman');
      assert.equal(out[1], '0::/init.scope'); // systemd moved itself below its namespace's root
      assert.match(out[2], /^cgroup2\s+rw$/);
      assert.match(out[3], /\bpids\b/); // systemd enabled controllers for its units
      assert.deepEqual(out.slice(4, 8), ['tmpfs', 'tmpfs', 'tmpfs', 'copied']);
      assert.match(out[8], /^1777$/);
    });

    test('podman exec runs in it: a service is visible, systemctl answers, the process is in the container’s cgroup tree', () => {
      assert.equal(exec('systemctl is-active systemd-journald').trim(), 'active');
      assert.match(exec('cat /proc/self/cgroup'), /^0::\//);
      assert.equal(exec('cat /proc/1/comm').trim(), 'systemd');
    });

    test('podman stop: SIGRTMIN+3 (the image’s stop signal for systemd) makes systemd halt cleanly, exit 0, well before the SIGKILL timeout', () => {
      assert.equal(ok(['inspect', '--format', '{{.Config.StopSignal}}', c]).trim(), '37'); // SIGRTMIN+3
      const t0 = Date.now();
      ok(['stop', '-t', String(STOP_TIMEOUT), c]);
      const s = (Date.now() - t0) / 1000;
      console.log(`${name}: podman stop took ${s.toFixed(2)} s`);
      assert.ok(s < STOP_TIMEOUT, `podman stop took ${s} s: it had to SIGKILL`);
      // SIGKILL would be 137; systemd's halt in a container exits 0.
      assert.equal(ok(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', c]).trim(), 'exited 0');
      ok(['rm', c]);
      assert.equal(ok(['ps', '-aq', '--filter', `name=${c}`]), '');
    });
  });
}
