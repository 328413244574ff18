// Real clients nobody here wrote, driving OCI runtimes: podman (Docker's command line) and
// podman-compose (Docker Compose), run as root in the pure cgroup v2 guest
// (scripts/guest-tests.sh), once per runtime in RUNTIMES. crun is the reference: the same
// scenarios must pass with it, so a failure of ours is ours, not the scenario's.
// Never run on the host: podman and crun write to every cgroup v1 hierarchy of a hybrid host.
// Outside such a guest (not root, no podman, or cgroup v1 mounted) every test skips with the reason.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { cgroupV1, which } from '../helpers/guest-env.mjs';

/** nsbox-oci as npm's bin link would run it (the bin has no x bit in a checkout). */
const NSBOX_OCI = join(tmpdir(), `nsbox-oci-${process.pid}`);
/** The runtimes under test: [name, path of the runtime binary]; crun first, the reference. */
const RUNTIMES = [
  ['crun', '/usr/bin/crun'],
  ['nsbox-oci', NSBOX_OCI],
];

const IMG = 'localhost/nsbox-bb:1';
const v1 = cgroupV1;
const skip =
  process.geteuid() !== 0
    ? 'needs root'
    : which('podman') === ''
      ? 'podman is not installed (apt-get install podman podman-compose)'
      : v1
        ? 'cgroup v1 is mounted here: podman would write to the machine’s v1 hierarchies (run in the guest: scripts/guest-tests.sh)'
        : false;

/** podman with a runtime; returns { code, stdout, stderr }. */
function podman(runtime, args, opts = {}) {
  const r = spawnSync('podman', ['--runtime', runtime, ...args], { encoding: 'utf8', timeout: 180_000, ...opts });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', signal: r.signal };
}
/** The same, asserting success; returns stdout. */
function ok(runtime, args, opts) {
  const r = podman(runtime, args, opts);
  assert.equal(r.code, 0, `podman ${args.join(' ')}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
  return r.stdout;
}

let work;
before(() => {
  if (skip) return;
  // podman's storage on a tmpfs: the guest's root is an overlay, and overlay-on-overlay is refused.
  mkdirSync('/var/lib/containers', { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', '/var/lib/containers']);
  work = mkdtempSync(join(tmpdir(), 'nsbox-podman-'));
  // package.json's bin: what npm links as nsbox-oci (the linked CommonJS file).
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'));
  const cli = fileURLToPath(new URL(`../../${pkg.bin['nsbox-oci']}`, import.meta.url));
  writeFileSync(NSBOX_OCI, `#!/bin/sh\nexec '${process.execPath}' '${cli}' "$@"\n`, { mode: 0o755 });
  const root = join(work, 'rootfs');
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'www']) mkdirSync(join(root, d), { recursive: true });
  execFileSync('cp', ['/bin/busybox', join(root, 'bin/busybox')]);
  for (const a of execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n'))
    if (a && a !== 'busybox') symlinkSync('busybox', join(root, 'bin', a));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
  writeFileSync(join(root, 'www/index.html'), 'hello from httpd\n');
  execFileSync('tar', ['-C', root, '-cf', join(work, 'bb.tar'), '.']);
  execFileSync('podman', ['import', join(work, 'bb.tar'), IMG], { stdio: 'ignore' });
});
after(() => {
  if (skip || !work) return;
  spawnSync('podman', ['rm', '-af', '-t', '0'], { stdio: 'ignore' });
  spawnSync('podman', ['volume', 'prune', '-f'], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
  rmSync(NSBOX_OCI, { force: true });
  spawnSync('umount', ['-l', '/var/lib/containers']);
});

for (const [name, runtime] of RUNTIMES) {
  describe(`podman --runtime ${name}`, { skip }, () => {
    test('run --rm: its own hostname, root inside, its own cgroup namespace', () => {
      const out = ok(runtime, ['run', '--rm', IMG, 'sh', '-c', 'hostname; id -u; cat /proc/self/cgroup; echo $$']).split('\n');
      assert.match(out[0], /^[0-9a-f]{12}$/); // podman names the host after the container ID
      assert.equal(out[1], '0');
      assert.equal(out[2], '0::/');
      assert.equal(out[3], '1');
    });

    test('--memory 32m OOM-kills an allocating process: exit 137', () => {
      const r = podman(runtime, [
        'run',
        '--rm',
        '--memory',
        '32m',
        '--memory-swap',
        '32m',
        IMG,
        'sh',
        '-c',
        'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived',
      ]);
      assert.equal(r.code, 137, r.stderr);
      assert.doesNotMatch(r.stdout, /survived/);
    });

    test('a named volume keeps a file from one container to the next', () => {
      const vol = `nsbox-data-${name}`;
      ok(runtime, ['volume', 'create', vol]);
      ok(runtime, ['run', '--rm', '-v', `${vol}:/data`, IMG, 'sh', '-c', 'echo kept > /data/f']);
      assert.equal(ok(runtime, ['run', '--rm', '-v', `${vol}:/data`, IMG, 'cat', '/data/f']), 'kept\n');
      ok(runtime, ['volume', 'rm', vol]);
    });

    test('-d -p 8080:80 httpd answers; exec, ps, top, pause/unpause, stop (SIGTERM then SIGKILL), rm', async () => {
      const c = `nsbox-web-${name}`;
      ok(runtime, ['run', '-d', '--name', c, '-p', '8080:80', IMG, 'httpd', '-f', '-p', '80', '-h', '/www']);
      try {
        let page = '';
        for (let i = 0; i < 30 && page === ''; i++) {
          page = spawnSync('wget', ['-q', '-O', '-', 'http://127.0.0.1:8080/'], { encoding: 'utf8' }).stdout ?? '';
          if (page === '') await new Promise((r) => setTimeout(r, 500));
        }
        assert.equal(page, 'hello from httpd\n');
        assert.match(ok(runtime, ['exec', c, 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "']), /^httpd -f -p 80 -h \/www/);
        assert.match(ok(runtime, ['ps', '--format', '{{.Names}} {{.Status}}']), new RegExp(`^${c} Up`, 'm'));
        assert.match(ok(runtime, ['top', c, 'pid', 'args']), /^1\s+httpd -f -p 80/m);
        ok(runtime, ['pause', c]);
        assert.match(ok(runtime, ['ps', '-a', '--format', '{{.Names}} {{.Status}}']), new RegExp(`^${c} Paused`, 'm'));
        ok(runtime, ['unpause', c]);
        // busybox httpd as PID 1 has no SIGTERM handler: podman stop must fall back to SIGKILL.
        const t0 = Date.now();
        ok(runtime, ['stop', '-t', '2', c]);
        assert.ok(Date.now() - t0 >= 2000);
        assert.match(ok(runtime, ['ps', '-a', '--format', '{{.Names}} {{.Status}}']), new RegExp(`^${c} Exited \\(137\\)`, 'm'));
      } finally {
        podman(runtime, ['rm', '-f', '-t', '0', c]);
      }
      assert.equal(ok(runtime, ['ps', '-aq', '--filter', `name=${c}`]), '');
    });

    test('run -it under script(1): the console socket gives the command a terminal', () => {
      const r = spawnSync('script', ['-qec', `podman --runtime ${runtime} run --rm -it ${IMG} sh -c 'tty; stty size'`, '/dev/null'], {
        encoding: 'utf8',
        timeout: 180_000,
      });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /\/dev\/pts\/0/);
    });

    test('podman-compose: two services on one network, one reaches the other by its name; down leaves nothing', () => {
      const dir = join(work, `compose-${name}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'compose.yml'),
        [
          'services:',
          '  web:',
          `    image: ${IMG}`,
          '    command: httpd -f -p 80 -h /www',
          '  client:',
          `    image: ${IMG}`,
          '    command: sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://web/ && exit 0; sleep 1; done; exit 1"',
          '    depends_on: [web]',
          '',
        ].join('\n'),
      );
      // podman-compose has no --runtime: podman reads it from CONTAINERS_CONF.
      const conf = join(dir, 'containers.conf');
      writeFileSync(conf, `[engine]\nruntime = "${name}"\n[engine.runtimes]\n${name} = ["${runtime}"]\n`);
      const env = { ...process.env, CONTAINERS_CONF: conf };
      const run = (args) =>
        spawnSync('podman-compose', ['-p', `nsbox${name.replace(/\W/g, '')}`, ...args], {
          cwd: dir,
          env,
          encoding: 'utf8',
          timeout: 300_000,
        });
      try {
        const up = run(['up', '-d']);
        assert.equal(up.status, 0, up.stdout + up.stderr);
        const cid = `nsbox${name.replace(/\W/g, '')}_client_1`;
        const wait = spawnSync('podman', ['wait', cid], { env, encoding: 'utf8', timeout: 120_000 });
        assert.equal(wait.stdout.trim(), '0', `client exit status\n${wait.stderr}`);
        // podman wait says 0 for a container that never started too: it must have run.
        assert.match(
          spawnSync('podman', ['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}} {{.State.StartedAt}}', cid], {
            env,
            encoding: 'utf8',
          }).stdout,
          /^exited 0 (?!0001-01-01)/,
        );
        assert.match(spawnSync('podman', ['logs', cid], { env, encoding: 'utf8' }).stdout, /hello from httpd/);
        assert.match(
          spawnSync('podman', ['inspect', '--format', '{{.OCIRuntime}}', cid], { env, encoding: 'utf8' }).stdout,
          new RegExp(name),
        );
      } finally {
        const down = run(['down', '-t', '1']);
        assert.equal(down.status, 0, down.stdout + down.stderr);
      }
      assert.equal(ok(runtime, ['ps', '-aq']), '');
      // podman-compose 1.0 (Debian 12) leaves the project's network after down, whatever the
      // runtime: removed here, so the next run starts clean.
      const net = `nsbox${name.replace(/\W/g, '')}_default`;
      spawnSync('podman', ['network', 'rm', net], { stdio: 'ignore' });
      assert.equal(spawnSync('podman', ['network', 'ls', '-q', '--filter', `name=${net}`], { encoding: 'utf8' }).stdout, '');
    });
  });
}
