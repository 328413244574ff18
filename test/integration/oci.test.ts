// nsbox/oci end to end: a bundle with a busybox root, runc's default config.json (and the
// rootless one) turned into spawn options and run; the isolation is asserted from inside the
// container (hostname, PID 1, uid_map, masked /proc/kcore, read-only /proc/sys and root,
// capabilities and no_new_privs from /proc/self/status, rlimits, /dev).
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { findCgroup2, spawn } from '../../src/index.js';
import { defaultSpec, loadBundle, prepareCgroup, toSpawnOptions, type OciSpec } from '../../src/oci/index.js';
import { canUserns, isRoot, testIf } from '../helpers/env.js';
import { childPids, fdCount, mounts, output } from '../helpers/proc.js';

const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p) && statSync(p).size > 500_000);
const noBusybox = BUSYBOX === undefined ? 'no static busybox (Debian busybox-static)' : undefined;
const rootTest = testIf(isRoot && !noBusybox, noBusybox ?? 'a rootful bundle needs root');
const rootlessTest = testIf(
  !isRoot && canUserns && !noBusybox,
  noBusybox ?? (isRoot ? 'the rootless spec is run as an unprivileged user' : 'no user namespaces here'),
);
const v2 = findCgroup2();
const hugetlb = isRoot && v2?.controllers.includes('hugetlb') === true && existsSync('/sys/kernel/mm/hugepages/hugepages-2048kB');
const cgTest = testIf(
  hugetlb && !noBusybox,
  !isRoot ? 'writing cgroupfs needs root here' : 'the cgroup v2 tree here has no hugetlb controller with 2MB pages',
);
const noPids = isRoot && v2 !== null && !v2.controllers.includes('pids');
const noPidsTest = testIf(noPids, !isRoot ? 'writing cgroupfs needs root here' : 'the pids controller is available in cgroup v2 here');
const bundleTest = testIf(!noBusybox, noBusybox ?? '');

let dir: string;

/** A bundle: DIR/rootfs with busybox, DIR/config.json. */
function bundle(config: OciSpec): string {
  const b = join(dir, randomBytes(4).toString('hex'));
  const rootfs = join(b, 'rootfs');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'root']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(BUSYBOX!, join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  for (const a of execFileSync(BUSYBOX!, ['--list'], { encoding: 'utf8' }).trim().split('\n'))
    if (a !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(b, 'config.json'), JSON.stringify(config));
  return b;
}

const SCRIPT = [
  'echo host=$(hostname)',
  'echo pid=$$',
  'echo uidmap=$(cat /proc/self/uid_map)',
  'echo kcore=$(if [ -e /proc/kcore ]; then wc -c < /proc/kcore; else echo absent; fi)',
  'echo timerlist=$(wc -c < /proc/timer_list)',
  'echo sysw=$(echo 1 2>&1 > /proc/sys/kernel/ns_last_pid)',
  'echo rootw=$(touch /x 2>&1)',
  'grep -E "^(CapEff|CapBnd|NoNewPrivs|Uid)" /proc/self/status',
  'echo nofile=$(ulimit -n)',
  'echo dev=$(ls /dev | tr "\\n" " ")',
  'echo null=$(echo x > /dev/null && echo ok)',
].join('; ');

function spec(rootless: boolean, edit?: (c: OciSpec) => void): OciSpec {
  const c = defaultSpec({ rootless });
  c.process!.terminal = false;
  c.process!.args = ['sh', '-c', `exec 2>&1; ${SCRIPT}`];
  edit?.(c);
  return c;
}

async function run(c: OciSpec, extra?: Parameters<typeof toSpawnOptions>[1] & object) {
  const b = bundle(c);
  const { config, dir: at } = await loadBundle(b);
  using m = toSpawnOptions(config, { ...extra, bundle: at });
  const out = await output(spawn(m.command, m.args, m.options));
  return { ...out, lines: Object.fromEntries(out.stdout.split('\n').map((l) => /^(\w+)[=:]\s*(.*)$/.exec(l)?.slice(1) ?? [l, ''])) };
}

/** A masked /proc/kcore reads empty (this kernel may have none: CONFIG_PROC_KCORE). */
const KCORE = existsSync('/proc/kcore') ? '0' : 'absent';
// CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29): runc spec's set.
const RUNC_CAPS = ((1n << 5n) | (1n << 10n) | (1n << 29n)).toString(16).padStart(16, '0');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsbox-oci-'));
  chmodSync(dir, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a runc spec bundle run through toSpawnOptions + spawn', () => {
  rootTest("as root: runc's default spec (no user namespace)", async () => {
    const fds = fdCount();
    const table = mounts();
    const r = await run(spec(false));
    expect(r.code, r.stdout).toBe(0);
    expect(r.lines.host).toBe('runc');
    expect(r.lines.pid).toBe('1');
    expect(r.lines.uidmap).toMatch(/^0 0 4294967295$/);
    expect(r.lines.kcore).toBe(KCORE);
    expect(r.lines.timerlist).toBe('0');
    expect(r.lines.sysw).toMatch(/Read-only file system/);
    expect(r.lines.rootw).toMatch(/Read-only file system/);
    expect(r.lines.CapEff).toBe(RUNC_CAPS);
    expect(r.lines.CapBnd).toBe(RUNC_CAPS);
    expect(r.lines.NoNewPrivs).toBe('1');
    expect(r.lines.nofile).toBe('1024');
    for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'pts', 'shm', 'mqueue', 'fd', 'ptmx'])
      expect(r.lines.dev).toContain(d);
    expect(r.lines.null).toBe('ok');
    expect(childPids()).toEqual([]);
    expect(fdCount()).toBe(fds);
    expect(mounts()).toEqual(table);
  });

  rootTest('as root with a user namespace and a 65536-id map (podman --userns)', async () => {
    const r = await run(
      spec(false, (c) => {
        c.linux!.namespaces!.push({ type: 'user' });
        c.linux!.uidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
        c.linux!.gidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
        c.mounts = c.mounts!.filter((m) => m.destination !== '/sys/fs/cgroup');
      }),
    );
    expect(r.code, r.stdout).toBe(0);
    expect(r.lines.uidmap).toMatch(/^0 300000 65536$/);
    expect(r.lines.Uid).toMatch(/^0\s+0\s+0\s+0$/);
    expect(r.lines.kcore).toBe(KCORE);
    expect(r.lines.timerlist).toBe('0');
    expect(r.lines.sysw).toMatch(/Read-only file system/);
    expect(r.lines.CapEff).toBe(RUNC_CAPS);
    expect(r.lines.null).toBe('ok');
  });

  rootTest('linux.devices: a character device made with mknod and a FIFO', async () => {
    const r = await run(
      spec(false, (c) => {
        c.linux!.devices = [
          { type: 'c', path: '/dev/zero2', major: 1, minor: 5, fileMode: 0o640 },
          { type: 'p', path: '/dev/fifo0' },
        ];
        c.process!.args = [
          'sh',
          '-c',
          'exec 2>&1; echo z=$(head -c 4 /dev/zero2 | wc -c) $(stat -c %a /dev/zero2); [ -p /dev/fifo0 ] && echo fifo=yes',
        ];
      }),
    );
    expect(r.code, r.stdout).toBe(0);
    expect(r.lines.z).toBe('4 640');
    expect(r.lines.fifo).toBe('yes');
  });

  rootTest('an "idmap" bind mount shows host-root files as the container root\'s', async () => {
    const vol = join(dir, `vol-${randomBytes(4).toString('hex')}`);
    mkdirSync(vol);
    writeFileSync(join(vol, 'f'), 'x');
    const owner = (options: string[]) =>
      run(
        spec(false, (c) => {
          c.linux!.namespaces!.push({ type: 'user' });
          c.linux!.uidMappings = [{ containerID: 0, hostID: 320000, size: 65536 }];
          c.linux!.gidMappings = [{ containerID: 0, hostID: 320000, size: 65536 }];
          c.mounts = [
            ...c.mounts!.filter((m) => m.destination !== '/sys/fs/cgroup'),
            { destination: '/tmp', type: 'bind', source: vol, options },
          ];
          c.process!.args = ['sh', '-c', 'echo owner=$(stat -c %u /tmp/f)'];
        }),
      );
    const mapped = await owner(['rbind', 'idmap']);
    expect(mapped.code, mapped.stdout).toBe(0);
    expect(mapped.lines.owner).toBe('0');
    const plain = await owner(['rbind']);
    expect(plain.lines.owner).toBe('65534');
  });

  /** A user namespace with CAP_SYS_ADMIN in it, trying to unmount a mask. */
  const unmask = (lockMounts: boolean) =>
    run(
      spec(false, (c) => {
        c.linux!.namespaces!.push({ type: 'user' });
        c.linux!.uidMappings = [{ containerID: 0, hostID: 310000, size: 65536 }];
        c.linux!.gidMappings = [{ containerID: 0, hostID: 310000, size: 65536 }];
        c.mounts = c.mounts!.filter((m) => m.destination !== '/sys/fs/cgroup');
        for (const set of ['bounding', 'effective', 'permitted'] as const) c.process!.capabilities![set]!.push('CAP_SYS_ADMIN');
        c.process!.args = [
          'sh',
          '-c',
          'umount /proc/timer_list 2>/dev/null; echo umount=$?; echo masked=$(grep -c " /proc/timer_list " /proc/self/mountinfo)',
        ];
      }),
      { bundle: '', lockMounts },
    );

  rootTest('lockMounts: true keeps the masks whatever the capabilities; false (the default, as runc) does not', async () => {
    const locked = await unmask(true);
    expect(locked.code, locked.stdout).toBe(0);
    expect(locked.lines.umount).not.toBe('0');
    expect(locked.lines.masked).toBe('1');
    const unlocked = await unmask(false);
    expect(unlocked.code, unlocked.stdout).toBe(0);
    expect(unlocked.lines.umount).toBe('0');
    expect(unlocked.lines.masked).toBe('0');
  });

  rootlessTest("as an unprivileged user: runc's rootless spec", async () => {
    const r = await run(spec(true));
    expect(r.code, r.stdout).toBe(0);
    expect(r.lines.host).toBe('runc');
    expect(r.lines.pid).toBe('1');
    expect(r.lines.uidmap).toMatch(new RegExp(`^0 ${process.geteuid!()} 1$`));
    expect(r.lines.kcore).toBe(KCORE);
    expect(r.lines.timerlist).toBe('0');
    expect(r.lines.sysw).toMatch(/Read-only file system/);
    expect(r.lines.rootw).toMatch(/Read-only file system/);
    expect(r.lines.CapEff).toBe(RUNC_CAPS);
    expect(r.lines.NoNewPrivs).toBe('1');
    expect(r.lines.nofile).toBe('1024');
    expect(r.lines.null).toBe('ok');
  });

  testIf(!noBusybox && (isRoot || canUserns), noBusybox ?? 'no user namespaces here')(
    "process.terminal: the container's own /dev/pts/0, sized by consoleSize; the master is the child's terminal",
    async () => {
      const b = bundle(
        spec(!isRoot, (c) => {
          c.process!.terminal = true;
          c.process!.consoleSize = { height: 30, width: 90 };
          c.process!.args = ['sh', '-c', 'tty; stty size'];
        }),
      );
      const { config, dir: at } = await loadBundle(b);
      using m = toSpawnOptions(config, { bundle: at });
      const child = spawn(m.command, m.args, m.options);
      using pty = child.terminal!;
      const out = pty.stream();
      let text = '';
      out.on('data', (d: Buffer) => (text += d.toString()));
      await new Promise((resolve) => out.once('end', resolve));
      expect(text).toBe('/dev/pts/0\r\n30 90\r\n');
      expect((await child.exited).code).toBe(0);
    },
  );

  bundleTest('a refused field fails before anything is spawned, naming its JSON path', async () => {
    const b = bundle(spec(false, (c) => (c.process!.ioPriority = { class: 'IOPRIO_CLASS_IDLE' } as never)));
    const { config } = await loadBundle(b);
    expect(() => toSpawnOptions(config, { bundle: b })).toThrow(
      expect.objectContaining({ code: 'ERR_NSBOX_UNSUPPORTED', jsonPath: 'process.ioPriority' }),
    );
    expect(childPids()).toEqual([]);
  });
});

describe('linux.resources on cgroup v2', () => {
  cgTest('hugepageLimits: the container starts in its cgroup with hugetlb.2MB.max set', async () => {
    const name = `nsbox-oci-test-${randomBytes(4).toString('hex')}`;
    const c = spec(false, (c) => {
      c.linux!.cgroupsPath = `/${name}/ctr`;
      c.linux!.resources = { ...c.linux!.resources, hugepageLimits: [{ pageSize: '2MB', limit: 4 * 2097152 }] };
      c.process!.args = ['sh', '-c', 'cat /proc/self/cgroup; cat /sys/fs/cgroup/hugetlb.2MB.max'];
    });
    const b = bundle(c);
    const { config } = await loadBundle(b);
    using m = toSpawnOptions(config, { bundle: b });
    expect(m.cgroup).toMatchObject({ path: `/${name}/ctr`, controllers: ['hugetlb'] });
    const cg = await prepareCgroup(m.cgroup!);
    try {
      expect(cg.path).toBe(`${v2!.root === '/' ? '' : v2!.root}/${name}/ctr`);
      const r = await output(spawn(m.command, m.args, { ...m.options, cgroup: cg }));
      expect(r.code, r.stdout + r.stderr).toBe(0);
      // A new cgroup namespace rooted at the container's cgroup: it sees itself as /.
      expect(r.stdout.split('\n')).toContain('0::/');
      expect(r.stdout.trim().split('\n').at(-1)).toBe(String(4 * 2097152));
    } finally {
      await cg.remove();
      await cg.parent()!.remove();
    }
  });

  cgTest('a cgroupsPath that names a cgroup with processes is refused', async () => {
    const name = `nsbox-oci-test-${randomBytes(4).toString('hex')}`;
    const c = spec(false, (c) => {
      c.linux!.cgroupsPath = `/${name}`;
      c.process!.args = ['sleep', '30'];
    });
    const b = bundle(c);
    using m = toSpawnOptions(c, { bundle: b });
    const cg = await prepareCgroup(m.cgroup!);
    const child = spawn(m.command, m.args, { ...m.options, cgroup: cg });
    try {
      await expect(prepareCgroup(m.cgroup!)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', jsonPath: 'linux.cgroupsPath' });
    } finally {
      child.kill('SIGKILL');
      await child.exited;
      await cg.remove();
    }
  });

  noPidsTest('a limit whose controller is not in cgroup v2 here is a clear error, and nothing is left behind', async () => {
    const name = `nsbox-oci-test-${randomBytes(4).toString('hex')}`;
    const c = spec(false, (c) => {
      c.linux!.cgroupsPath = `/${name}`;
      c.linux!.resources = { pids: { limit: 10 } };
    });
    using m = toSpawnOptions(c, { bundle: bundle(c) });
    await expect(prepareCgroup(m.cgroup!)).rejects.toMatchObject({ code: 'ERR_NSBOX_CGROUP_CONTROLLER', controller: 'pids' });
    expect(existsSync(`${v2!.mountPoint}/${name}`)).toBe(false);
  });
});

describe('linux.resources.devices: the cgroup device filter', () => {
  const devTest = testIf(isRoot && v2 !== null && !noBusybox, noBusybox ?? 'loading a cgroup device program needs root');
  // podman's default rules (pkg/specgen, as podman 4.3 writes them).
  const PODMAN_RULES = [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c' as const, major: -1, minor: -1, access: 'm' },
    { allow: true, type: 'b' as const, major: -1, minor: -1, access: 'm' },
    ...[
      [1, 3],
      [1, 8],
      [1, 7],
      [5, 0],
      [1, 5],
      [1, 9],
      [5, 1],
      [136, -1],
      [5, 2],
      [10, 200],
    ].map(([major, minor]) => ({ allow: true, type: 'c' as const, major, minor, access: 'rwm' })),
  ];
  // A block device of this host that no rule allows: /dev/vda's numbers, else a loop device's.
  const host = ['/dev/vda', '/dev/sda', '/dev/loop0'].find((p) => existsSync(p) && statSync(p).isBlockDevice());
  const rdev = host === undefined ? undefined : statSync(host).rdev;
  const [hostMajor, hostMinor] = rdev === undefined ? [7, 0] : [Math.floor(rdev / 256) & 0xfff, (rdev & 0xff) | ((rdev >> 12) & 0xfff00)];

  devTest("podman's rules: the container's /dev nodes work, a host disk it makes as root cannot be opened", async () => {
    const name = `nsbox-oci-test-${randomBytes(4).toString('hex')}`;
    const c = spec(false, (c) => {
      c.linux!.cgroupsPath = `/${name}`;
      c.linux!.resources = { devices: PODMAN_RULES };
      for (const set of ['bounding', 'effective', 'permitted'] as const) c.process!.capabilities![set]!.push('CAP_MKNOD');
      c.process!.args = [
        'sh',
        '-c',
        [
          'echo null=$(echo x > /dev/null && echo ok)',
          'echo zero=$(head -c 4 /dev/zero | wc -c)',
          'echo urandom=$(head -c 4 /dev/urandom | wc -c)',
          'echo full=$(echo x 2>&1 > /dev/full)',
          `echo mknod=$(mknod /dev/hostdisk b ${hostMajor} ${hostMinor} 2>&1 && echo ok)`,
          'echo open=$(head -c 1 /dev/hostdisk 2>&1 >/dev/null && echo ok)',
          'echo mem=$(mknod /dev/mem2 c 1 1 && head -c 1 /dev/mem2 2>&1 >/dev/null && echo ok)',
        ].join('; '),
      ];
    });
    const b = bundle(c);
    const { config } = await loadBundle(b);
    using m = toSpawnOptions(config, { bundle: b });
    expect(m.cgroup?.devices?.optional).toBe(false);
    const fds = fdCount();
    const cg = await prepareCgroup(m.cgroup!);
    try {
      expect(fdCount()).toBe(fds);
      expect(cg.devicePrograms()).toHaveLength(1);
      const r = await output(spawn(m.command, m.args, { ...m.options, cgroup: cg }));
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const lines = Object.fromEntries(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(/=(.*)/s).slice(0, 2)),
      );
      expect(lines).toEqual({
        null: 'ok',
        zero: '4',
        urandom: '4',
        full: expect.stringMatching(/No space left on device/), // opened: the write itself fails
        mknod: 'ok', // podman allows mknod of any device (b *:* m)
        open: expect.stringMatching(/Operation not permitted/),
        mem: expect.stringMatching(/Operation not permitted/),
      });
    } finally {
      await cg.remove();
    }
  });
});

describe('linux.resources.devices without the privilege for a filter', () => {
  const capsh = ['/usr/sbin/capsh', '/sbin/capsh'].find((p) => existsSync(p));
  const dropTest = testIf(
    isRoot && v2 !== null && capsh !== undefined,
    !isRoot ? 'needs root (to drop CAP_SYS_ADMIN and CAP_BPF)' : 'no capsh (libcap2-bin)',
  );
  // prepareCgroup in a root process without CAP_SYS_ADMIN and CAP_BPF: it can still make
  // cgroups (root owns them) but not load the program, as a rootless runtime with a
  // delegated subtree. The plan comes from toSpawnOptions in this process.
  async function prepareWithoutBpf(plan: unknown): Promise<string> {
    const url = new URL('../../dist/oci/index.js', import.meta.url).href; // dist/: built by pretest
    const script = `const { prepareCgroup } = await import(${JSON.stringify(url)});
      try { const cg = await prepareCgroup(${JSON.stringify(plan)}); console.log('ok', cg.devicePrograms().length); await cg.remove(); }
      catch (e) { console.log(e.code, e.syscall); }`;
    return execFileSync(capsh!, ['--drop=cap_sys_admin,cap_bpf', '--', '-c', `"${process.execPath}" --input-type=module -e "$0"`, script], {
      encoding: 'utf8',
    }).trim();
  }

  dropTest('a list that holds without a filter is left out; any other fails with EPERM', async () => {
    const name = `nsbox-oci-test-${randomBytes(4).toString('hex')}`;
    const c = spec(false, (c) => {
      c.linux!.cgroupsPath = `/${name}`;
      c.linux!.resources = {
        devices: [
          { allow: false, access: 'rwm' },
          { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
        ],
      };
    });
    const b = bundle(c);
    using m = toSpawnOptions(c, { bundle: b });
    expect(m.cgroup?.devices?.optional).toBe(true);
    expect(await prepareWithoutBpf(m.cgroup)).toBe('ok 0');
    c.linux!.resources!.devices!.push({ allow: false, type: 'c', major: 1, minor: 3, access: 'w' });
    using strict = toSpawnOptions(c, { bundle: b });
    expect(await prepareWithoutBpf(strict.cgroup)).toBe('EPERM BPF_PROG_LOAD');
    expect(existsSync(join(v2!.mountPoint, name))).toBe(false); // removed again on failure
  });
});
