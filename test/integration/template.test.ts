// Sandbox templates against the real kernel: what one run does is not seen by the next or by a
// concurrent one (files in / and /tmp, /dev/shm, mounts, processes, hostname, network, user
// keyring), every run is PID 1 of its own pid namespace with only lo, and close() leaves no
// process, fd or mount behind. Runs as root (id block) and, for the rootless part, as a user.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, onTestFinished, test, vi } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  createCgroup,
  findCgroup2,
  namespacePool,
  type NsboxChild,
  type SandboxTemplate,
  SysError,
  template,
  type TemplateOptions,
} from '../../src/index.js';
import { canUserns, isRoot, testIf } from '../helpers/env.js';
import { childPids, fdCount, nsId, output } from '../helpers/proc.js';

const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p) && statSync(p).size > 500_000);
const ttest = testIf(canUserns && BUSYBOX !== undefined, 'needs user namespaces and a static busybox (Debian busybox-static)');

let dir: string;
let rootfs: string;
let hostMounts: string;

beforeAll(() => {
  if (!BUSYBOX) return;
  dir = mkdtempSync(join(tmpdir(), 'nsbox-tpl-'));
  chmodSync(dir, 0o755);
  rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'etc', 'root', 'mnt']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(BUSYBOX!, join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  for (const a of execFileSync(BUSYBOX!, ['--list'], { encoding: 'utf8' }).trim().split('\n'))
    if (a !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', a));
  // For the host's python3, bound in read-only by the keyring test.
  mkdirSync(join(rootfs, 'usr'));
  symlinkSync('usr/lib', join(rootfs, 'lib'));
  symlinkSync('usr/lib64', join(rootfs, 'lib64'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});
// The host's mounts that involve this file's directory (the rootfs, volumes): other test files
// run in parallel and may mount and unmount elsewhere meanwhile.
// Also any mount on a path a run mounts on inside (/proc, /tmp, /dev/...): one that landed on
// the host's instead would show there.
const RUN_TARGETS = new Set(['/', '/proc', '/sys', '/tmp', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/etc/hostname', '/etc/hosts']);
const ourMounts = (): string =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => (dir !== undefined && l.includes(dir)) || RUN_TARGETS.has(l.split(' ')[4]!))
    .join('\n');
beforeEach(() => {
  hostMounts = ourMounts();
});
afterEach(() => {
  // Templates and runs live in mount namespaces of their own: nothing of theirs shows here.
  expect(ourMounts()).toBe(hostMounts);
});

// Each run's mount namespace is held by this process over the run's exit and closed by a
// native thread just after the exit is seen (csrc/exit_pin.h): an fd count taken right after a
// run may still include it for a moment. A baseline is taken once the count is steady, and a
// check after runs waits (2 s at most) for the count to come back.
async function settledFds(): Promise<number> {
  let n = fdCount();
  for (;;) {
    await sleep(30);
    const m = fdCount();
    if (m === n) return m;
    n = m;
  }
}
const fdsBack = (n: number) => vi.waitFor(() => expect(fdCount()).toBe(n), { timeout: 2000, interval: 5 });
/** This process's fds that are open on the namespace `id` (`mnt:[…]`). */
const ourFdsOn = (id: string): string[] =>
  readdirSync('/proc/self/fd').filter((f) => {
    try {
      return readlinkSync(`/proc/self/fd/${f}`) === id;
    } catch {
      return false; // closed meanwhile (readdir's own fd)
    }
  });
// ioctl(pidfd, PIDFD_GET_MNT_NAMESPACE) came with Linux 6.11; before it, runs are not pinned.
const [kMajor, kMinor] = release().split('.').map(Number) as [number, number];
const exitPins = kMajor > 6 || (kMajor === 6 && kMinor >= 11);
const ptest = testIf(
  canUserns && BUSYBOX !== undefined && exitPins,
  'needs user namespaces, a static busybox and Linux 6.11 (PIDFD_GET_MNT_NAMESPACE)',
);

const sh = (t: SandboxTemplate, script: string) => output(t.spawn('/bin/sh', ['-c', `exec 2>&1; ${script}`]));
const make = (o: Partial<TemplateOptions> = {}) => template({ rootfs, ...o });

describe('isolation between runs', () => {
  ttest('a file written in /, /tmp or /dev/shm by one run is absent in the next', async () => {
    using t = make();
    const a = await sh(
      t,
      'echo x > /f; echo y > /tmp/f && echo tmp-ok; echo z > /dev/shm/f && echo shm-ok; touch /dev/f; ls /tmp /dev/shm',
    );
    expect(a.stdout).toMatch(/can't create \/f: Read-only file system/);
    expect(a.stdout).toContain('tmp-ok');
    expect(a.stdout).toContain('shm-ok');
    expect(a.stdout).toMatch(/touch: \/dev\/f: Read-only file system/);
    const b = await sh(
      t,
      'ls -A /tmp /dev/shm; test -e /f || echo no-f; test -e /tmp/f || echo no-tmp-f; test -e /dev/shm/f || echo no-shm-f',
    );
    expect(b.stdout).toContain('no-f');
    expect(b.stdout).toContain('no-tmp-f');
    expect(b.stdout).toContain('no-shm-f');
    expect(existsSync(join(rootfs, 'f'))).toBe(false);
    expect(existsSync(join(rootfs, 'tmp/f'))).toBe(false);
  });

  ttest('each run is PID 1 of its own pid namespace, with its hostname and only lo', async () => {
    using t = make({ hostname: 'tpl' });
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await sh(
        t,
        'echo $$; hostname; ip -o link | cut -d: -f2; for n in pid net uts ipc mnt; do readlink /proc/self/ns/$n; done',
      );
      const l = r.stdout.trim().split('\n');
      expect(l[0]).toBe('1');
      expect(l[1]).toBe('tpl');
      expect(l[2]!.trim()).toBe('lo');
      ids.push(l.slice(3).join(' '));
    }
    expect(ids[0]).not.toBe(ids[1]);
  });

  ttest('a run cannot change the hostname the next one sees, nor keep a mount or a process', async () => {
    using t = make({ hostname: 'tpl' });
    const a = await sh(
      t,
      'hostname evil; unshare -m sh -c "mount -t tmpfs x /mnt && echo own-mount"; (sleep 30 &) ; umount /tmp || echo locked',
    );
    expect(a.stdout).toContain('locked');
    const b = await sh(t, 'hostname; grep -c " /mnt " /proc/self/mountinfo; ps -o pid,comm | grep -c sleep');
    expect(b.stdout.trim().split('\n')).toEqual(['tpl', '0', '0']);
  });

  ttest('two concurrent runs do not see each other', async () => {
    using t = make();
    const a = t.spawn('/bin/sh', ['-c', 'echo a > /tmp/a; sleep 1 & sleep 0.5; ls /tmp; ps -o comm | grep -c sleep; wait']);
    const b = t.spawn('/bin/sh', ['-c', 'echo b > /tmp/b; sleep 1 & sleep 0.5; ls /tmp; ps -o comm | grep -c sleep; wait']);
    const [ra, rb] = await Promise.all([output(a), output(b)]);
    expect(ra.stdout.trim().split('\n')).toEqual(['a', '1']);
    expect(rb.stdout.trim().split('\n')).toEqual(['b', '1']);
  });

  ttest("the masks of each run's fresh /proc hold, even for a command that keeps CAP_SYS_ADMIN", async () => {
    using t = make();
    const r = await sh(
      t,
      'wc -c < /proc/timer_list; umount /proc/timer_list || echo refused; unshare -m sh -c "umount /proc/timer_list || echo locked"; echo 1 > /proc/sys/kernel/domainname || echo ro',
    );
    expect(r.stdout.trim().split('\n')[0]).toBe('0');
    expect(r.stdout).toContain('refused');
    expect(r.stdout).toContain('locked');
    expect(r.stdout).toContain('ro');
  });

  testIf(canUserns && BUSYBOX !== undefined && existsSync('/usr/bin/python3'), 'needs /usr/bin/python3')(
    "a key one run adds to its user keyring is not in the next run's (each run has its own user namespace)",
    async () => {
      using t = make({ mounts: [{ type: 'bind', source: '/usr', target: '/usr', readOnly: true }] });
      // add_key(2) to @u, then keyctl(KEYCTL_SEARCH) of @u for it: ENOKEY (126) in the next run.
      const code = `
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
if sys.argv[1] == 'add':
    print(libc.syscall(248, b"user", b"nsbox-tpl", b"secret", 6, -4) > 0)
else:
    r = libc.syscall(250, 10, -4, b"user", b"nsbox-tpl", 0)
    print(r, ctypes.get_errno())
`;
      expect((await output(t.spawn('/usr/bin/python3', ['-c', code, 'add']))).stdout).toBe('True\n');
      expect((await output(t.spawn('/usr/bin/python3', ['-c', code, 'search']))).stdout).toBe('-1 126\n');
    },
  );

  ttest('a read-write volume is shared on purpose; a read-only one is not writable', async () => {
    const vol = mkdtempSync(join(dir, 'vol-'));
    const ro = mkdtempSync(join(dir, 'ro-'));
    chmodSync(vol, 0o777);
    chmodSync(ro, 0o777);
    using t = make({
      mounts: [
        { type: 'bind', source: vol, target: '/vol' },
        { type: 'bind', source: ro, target: '/ro', readOnly: true },
      ],
    });
    await sh(t, 'echo kept > /vol/f');
    const b = await sh(t, 'cat /vol/f; touch /ro/x || echo ro');
    expect(b.stdout).toContain('kept');
    expect(b.stdout).toMatch(/Read-only file system/);
  });
});

describe('lifecycle', () => {
  ttest('close() leaves no process, fd or mount; spawn after close throws ERR_HANDLE_CLOSED', async () => {
    const fds = await settledFds();
    const kids = childPids().length;
    const t = make();
    expect(childPids().length).toBe(kids); // a template holds no process, only fds
    // The run has its stdio and nothing else of ours: no namespace fd of the template.
    expect((await sh(t, 'ls /proc/self/fd | tr "\\n" " "')).stdout).toBe('0 1 2 3 ');
    t.close();
    t.close(); // idempotent
    expect(t.closed).toBe(true);
    await fdsBack(fds);
    expect(childPids().length).toBe(kids);
    expect(() => t.spawn('/bin/true')).toThrow(expect.objectContaining({ code: 'ERR_HANDLE_CLOSED' }));
  });

  ttest('a run started before close() goes on after it', async () => {
    const t = make();
    const c = t.spawn('/bin/sh', ['-c', 'sleep 0.3; echo x > /tmp/x && cat /tmp/x; echo $$']);
    t.close();
    expect((await output(c)).stdout).toBe('x\n1\n');
  });

  ttest('await using releases it', async () => {
    const fds = await settledFds();
    {
      await using t = make();
      expect((await sh(t, 'echo ok')).stdout).toBe('ok\n');
    }
    await fdsBack(fds);
  });

  test('invalid options are refused before any syscall', async () => {
    const fds = await settledFds();
    const bad: unknown[] = [
      undefined,
      {},
      { rootfs: '/', namespaces: ['user', 'mnt'] },
      { rootfs: '/', namespaces: ['mnt', 'pid', 'time'] },
      { rootfs: '/', mounts: [{ type: 'tmpfs', target: '/x' }] },
      { rootfs: '/', scratch: ['tmp'] },
      { rootfs: '/', scratch: ['/a/../b'] },
      { rootfs: '/', stdio: 'pipe' },
      { rootfs: '/', namespaces: ['mnt', 'pid'], hostname: 'x' },
    ];
    for (const o of bad)
      expect(() => template(o as TemplateOptions)).toThrow(
        expect.objectContaining({ code: expect.stringMatching(/^ERR_INVALID_ARG_(VALUE|TYPE)$/) }),
      );
    expect(fdCount()).toBe(fds);
  });

  ttest("a run's options are checked before any syscall; a failed run leaves nothing", async () => {
    using t = make();
    const fds = await settledFds();
    expect(() => t.spawn('/bin/true', [], { rootfs: '/' } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => t.spawn('/bin/true', [], { uid: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    let err: unknown;
    try {
      t.spawn('/nonexistent');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: 'ENOENT', syscall: 'execve', step: 'exec' });
    expect(fdCount()).toBe(fds); // a run that never exec'd is never pinned
    expect((await sh(t, 'echo still')).stdout).toBe('still\n');
  });

  testIf(!isRoot && canUserns && BUSYBOX !== undefined, 'runs as an unprivileged user only')(
    'unprivileged: groups (setgroups is denied) and defaultMounts: false with the lock are refused before any syscall',
    () => {
      using t = make();
      expect(() => t.spawn('/bin/true', [], { groups: [1] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      // Each run's user namespace is set up through its /proc: not without the default mounts.
      expect(() => make({ defaultMounts: false })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    },
  );

  ttest('a setup that fails midway leaves nothing: no fd, no child, the id block back', async () => {
    const fds = await settledFds();
    const kids = childPids().length;
    // A volume whose target cannot be made: inside the setup's fresh /proc.
    let err: unknown;
    try {
      make({ mounts: [{ type: 'bind', source: dir, target: '/proc/nsbox-nope' }] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ step: 'mounts' });
    expect(fdCount()).toBe(fds);
    expect(childPids().length).toBe(kids);
  });
});

describe('layouts', () => {
  testIf(isRoot && BUSYBOX !== undefined, 'needs root')(
    'as root without a user namespace: real root in the run, still a fresh tree',
    async () => {
      using t = make({ namespaces: ['mnt', 'pid', 'net', 'ipc', 'uts'] });
      const r = await sh(t, 'cat /proc/self/uid_map; echo $$; echo x > /tmp/x && echo w');
      expect(
        r.stdout
          .trim()
          .split('\n')
          .map((s) => s.trim())[0],
      ).toMatch(/^0\s+0\s+4294967295$/);
      expect(r.stdout).toContain('w');
      expect((await sh(t, 'ls -A /tmp')).stdout).toBe('');
    },
  );

  testIf(isRoot && BUSYBOX !== undefined && findCgroup2() !== null, 'needs root and cgroup v2')(
    'a run starts in the cgroup it is given, which is the root of its cgroup namespace',
    async () => {
      const cg = await createCgroup(`nsbox-tpl-${randomBytes(4).toString('hex')}`);
      try {
        using t = make({ namespaces: ['user', 'mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup'] });
        const c = t.spawn('/bin/sh', ['-c', 'cat /proc/self/cgroup; sleep 0.2'], { cgroup: cg });
        const procs = readFileSync(`${cg.directory}/cgroup.procs`, 'utf8').trim().split('\n');
        expect(procs).toContain(String(c.pid));
        expect((await output(c)).stdout).toMatch(/^0::\/$/m);
      } finally {
        await cg.remove();
      }
    },
  );

  ttest('lockMounts: false runs the command in the template user namespace', async () => {
    using t = make({ lockMounts: false });
    const r = await sh(t, 'echo $$; umount /tmp && echo unmounted');
    expect(r.stdout).toBe('1\nunmounted\n');
  });

  ttest('the security options apply to every run (capabilities, no_new_privs, seccomp)', async () => {
    using t = make({
      capabilities: { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] },
      noNewPrivileges: true,
      seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] },
    });
    for (let i = 0; i < 2; i++) {
      const r = await sh(t, 'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\\t " " "; mkdir /tmp/d || echo refused');
      expect(r.stdout).toContain('CapEff: 0000000000000000');
      expect(r.stdout).toContain('NoNewPrivs: 1');
      expect(r.stdout).toContain('Seccomp: 2');
      expect(r.stdout).toContain('refused');
    }
  });
});

describe('a pooled network namespace per run (netPool)', () => {
  const rtest = testIf(isRoot && BUSYBOX !== undefined, 'needs root (a pool of network namespaces needs CAP_SYS_ADMIN)');
  const netOf = (t: SandboxTemplate, extra = '') =>
    sh(t, `readlink /proc/self/ns/net; ip -o link | cut -d: -f2,3 | tr -d ' '; ${extra}`).then((r) => r.stdout.trim().split('\n'));

  rtest('each run joins a fresh namespace from the pool, never one handed out before, with lo up', async () => {
    await using pool = namespacePool({ kind: 'net', size: 4 });
    await pool.ready();
    using t = make({ netPool: pool });
    // Each run's namespace is held open here until the end: the kernel reuses a freed
    // namespace's inode number, so "never seen before" needs every earlier one still alive.
    const held: number[] = [];
    onTestFinished(() => {
      for (const fd of held) closeSync(fd);
    });
    const run = async (spawnIt: (args: string[]) => Promise<NsboxChild> | NsboxChild) => {
      // The command waits for a line on stdin: its namespace is opened while it surely lives.
      const c = await spawnIt(['-c', "read _; readlink /proc/self/ns/net; ip -o link | cut -d: -f2,3 | tr -d ' '; sleep 0.2"]);
      held.push(openSync(`/proc/${c.pid}/ns/net`, 'r'));
      c.stdin!.end('\n');
      return (await output(c)).stdout.trim().split('\n');
    };
    const io = { stdio: ['pipe', 'pipe', 'inherit'] as const };
    const seen = new Set<string>([nsId('self', 'net')]); // the host's, never a run's
    for (let i = 0; i < 10; i++) {
      const [id, ...links] = await run((a) => t.spawn('/bin/sh', a, io));
      expect(id).toMatch(/^net:\[\d+\]$/);
      expect(seen.has(id!)).toBe(false); // 10 runs through a pool of 4: every one fresh
      seen.add(id!);
      expect(links).toEqual([expect.stringMatching(/^lo:<LOOPBACK,UP,LOWER_UP>/)]);
    }
    // Concurrent runs, from spawn and spawnAsync at once: still one namespace each.
    const runs = await Promise.all([
      ...Array.from({ length: 3 }, () => run((a) => t.spawn('/bin/sh', a, io))),
      ...Array.from({ length: 3 }, () => run((a) => t.spawnAsync('/bin/sh', a, io))),
    ]);
    for (const [id] of runs) {
      expect(seen.has(id!)).toBe(false);
      seen.add(id!);
    }
    expect(seen.size).toBe(17);
  });

  rtest('the command has no power over a pooled namespace (owned by the pool creator), nor anything of ours', async () => {
    await using pool = namespacePool({ kind: 'net', size: 2 });
    using t = make({ netPool: pool });
    const r = await sh(
      t,
      'ip link set lo down || echo no-link; ip addr add 10.9.9.9/32 dev lo || echo no-addr; ' +
        'nc -l -p 80 -w 1 </dev/null || echo no-port-80; ls /proc/self/fd | tr "\\n" " "',
    );
    expect(r.stdout).toContain('no-link');
    expect(r.stdout).toContain('no-addr');
    expect(r.stdout).toContain('no-port-80');
    expect(r.stdout).toMatch(/^0 1 2 3 $/m); // no pool or template fd in the run
    // lo as the pool made it: up, without the address the command tried to add.
    expect(await netOf(t, 'ip -o addr show dev lo | grep -c 10.9.9.9')).toContain('0');
  });

  rtest('from an empty pool the run makes a namespace like a pooled one: fresh, lo up, owned by the pool creator', async () => {
    await using pool = namespacePool({ kind: 'net', size: 1 });
    await pool.ready();
    using t = make({ netPool: pool });
    const script =
      'readlink /proc/self/ns/net; ip -o link | cut -d: -f2,3 | tr -d " "; ip link set lo down 2>/dev/null || echo no-link; sleep 0.2';
    // Eight runs at once through a pool of one: most of them find it empty.
    const outs = await Promise.all(Array.from({ length: 8 }, async () => output(await t.spawnAsync('/bin/sh', ['-c', script]))));
    const ids = new Set<string>([nsId('self', 'net')]);
    for (const r of outs) {
      const [id, link, denied] = r.stdout.trim().split('\n');
      ids.add(id!);
      expect(link).toMatch(/^lo:<LOOPBACK,UP,LOWER_UP>/);
      expect(denied).toBe('no-link');
    }
    expect(ids.size).toBe(9);
  });

  rtest('a failed run uses up its namespace (never handed out again) and leaves nothing', async () => {
    await using pool = namespacePool({ kind: 'net', size: 8 });
    await pool.ready();
    using t = make({ netPool: pool });
    const fds = await settledFds();
    const kids = childPids().length;
    expect(() => t.spawn('/nonexistent')).toThrow(expect.objectContaining({ code: 'ENOENT', step: 'exec' }));
    await expect(t.spawnAsync('/nonexistent')).rejects.toMatchObject({ code: 'ENOENT', step: 'exec', syscall: 'execve' });
    expect(pool.available).toBe(6);
    expect(fdCount()).toBe(fds - 2); // the two namespaces taken, closed
    expect(childPids().length).toBe(kids);
  });

  rtest('a closed pool: template() refuses it; a run after close() throws ERR_HANDLE_CLOSED and leaves nothing', async () => {
    const pool = namespacePool({ kind: 'net', size: 2 });
    using t = make({ netPool: pool });
    pool.close();
    expect(() => make({ netPool: pool })).toThrow(expect.objectContaining({ code: 'ERR_HANDLE_CLOSED' }));
    const fds = await settledFds();
    expect(() => t.spawn('/bin/true')).toThrow(expect.objectContaining({ code: 'ERR_HANDLE_CLOSED' }));
    await expect(t.spawnAsync('/bin/true')).rejects.toMatchObject({ code: 'ERR_HANDLE_CLOSED' });
    expect(fdCount()).toBe(fds);
  });

  testIf(!isRoot && canUserns && BUSYBOX !== undefined, 'runs as an unprivileged user only')(
    'unprivileged: a run of a template with a pool fails with EPERM (the pool cannot be made or joined) and leaves nothing',
    async () => {
      await using pool = namespacePool({ kind: 'net', size: 2 });
      await expect(pool.ready()).rejects.toMatchObject({ code: 'EPERM' });
      using t = make({ netPool: pool });
      const fds = await settledFds();
      const kids = childPids().length;
      expect(() => t.spawn('/bin/true')).toThrow(expect.objectContaining({ code: 'EPERM', step: 'unshare' }));
      await expect(t.spawnAsync('/bin/true')).rejects.toMatchObject({ code: 'EPERM', step: 'unshare' });
      expect(fdCount()).toBe(fds);
      expect(childPids().length).toBe(kids);
    },
  );

  test('netPool is checked before any syscall', async () => {
    const fds = await settledFds();
    expect(() => template({ rootfs: '/', netPool: {} as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(fdCount()).toBe(fds);
    // A pool fills in the background (rootless its fill fails: it holds nothing then).
    await using pool = namespacePool({ kind: 'net', size: 1 });
    await pool.ready().catch(() => {});
    const held = fdCount();
    expect(() => template({ rootfs: '/', namespaces: ['user', 'mnt', 'pid'], netPool: pool })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(fdCount()).toBe(held);
  });
});

describe('spawnAsync', () => {
  ttest('runs are isolated as with spawn: fresh /tmp, PID 1, own namespaces, several in flight', async () => {
    using t = make({ hostname: 'tpl' });
    const script =
      'test -e /tmp/f && echo seen; echo x > /tmp/f; echo $$; hostname; for n in pid net uts ipc mnt; do readlink /proc/self/ns/$n; done; sleep 0.2';
    const children = await Promise.all(Array.from({ length: 6 }, () => t.spawnAsync('/bin/sh', ['-c', script])));
    const outs = await Promise.all(children.map((c) => output(c)));
    const ids = new Set<string>();
    for (const r of outs) {
      expect(r.code).toBe(0);
      const l = r.stdout.trim().split('\n');
      expect(l.slice(0, 2)).toEqual(['1', 'tpl']);
      ids.add(l.slice(2).join(' '));
    }
    expect(ids.size).toBe(6);
    expect((await output(await t.spawnAsync('/bin/sh', ['-c', 'ls -A /tmp']))).stdout).toBe('');
  });

  // Rootless, a run is a copy (CLONE_VM) of an intermediate that reports the copy's pid and
  // exits; the copy's steps once overtook that report and made it fail (EBADF), and the run
  // handed out was the exiting intermediate, its command a child never reaped (1 run in ~2000
  // on 2 busy CPUs). Many runs at once, on more threads than CPUs, to give the race its chances.
  ttest("the pid handed out is the command's, not the intermediate's; every run is reaped", async () => {
    using t = make();
    const kids = childPids().length;
    const worker = async () => {
      for (let i = 0; i < 60; i++) {
        const c = await t.spawnAsync('/bin/sleep', ['30'], { stdio: 'ignore' });
        // The status socket's EOF (do_close_on_exec in execve) comes before the kernel renames
        // the task (setup_new_exec, in the ELF loader): the command's comm may still be the
        // copy's for a moment. The intermediate's never becomes 'sleep' (it exits as it is).
        let comm = readFileSync(`/proc/${c.pid}/comm`, 'utf8');
        for (let k = 0; k < 200 && comm !== 'sleep\n'; k++) {
          await new Promise((r) => setTimeout(r, 5));
          comm = readFileSync(`/proc/${c.pid}/comm`, 'utf8');
        }
        c.kill('SIGKILL');
        const { signal } = await c.exited;
        expect([comm, signal]).toEqual(['sleep\n', 'SIGKILL']);
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    expect(childPids().length).toBe(kids);
  });

  ttest('bad options reject before any syscall; the loop is not blocked while a run is set up', async () => {
    using t = make();
    await expect(t.spawnAsync('/bin/true', [], { rootfs: '/' } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(t.spawnAsync('/bin/true', [], { uid: -1 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    const ac = new AbortController();
    ac.abort();
    await expect(t.spawnAsync('/bin/true', [], { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORT_ERR' });
    let ticks = 0;
    const p = t.spawnAsync('/bin/true');
    await new Promise<void>((resolve) => setImmediate(() => resolve(void ticks++)));
    const c = await p;
    expect(ticks).toBe(1);
    expect((await c.exited).code).toBe(0);
  });

  ttest('a run in flight when close() is called still starts and runs', async () => {
    const t = make();
    const p = t.spawnAsync('/bin/sh', ['-c', 'echo x > /tmp/x && cat /tmp/x; echo $$']);
    t.close();
    expect((await output(await p)).stdout).toBe('x\n1\n');
    await expect(t.spawnAsync('/bin/true')).rejects.toMatchObject({ code: 'ERR_HANDLE_CLOSED' });
  });
});

describe("a run's mount namespace over its exit (exit pin)", () => {
  ptest('held by this process alone (one O_CLOEXEC fd) while the run lives, released after its exit', async () => {
    using t = make();
    const base = await settledFds();
    const a = t.spawn('/bin/sh', ['-c', 'read x; echo done'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const mnt = nsId(a.pid, 'mnt');
    const held = ourFdsOn(mnt);
    expect(held).toHaveLength(1);
    // fdinfo's flags are octal: O_CLOEXEC is 02000000.
    const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${held[0]}`, 'utf8'))![1]!;
    expect(Number.parseInt(flags, 8) & 0o2000000).toBe(0o2000000);
    // Another run started meanwhile has its stdio and nothing else: no namespace of ours.
    // (ls's own fd on the directory is 3; readlink's the pipe of its $(…).)
    const b = await output(
      t.spawn('/bin/sh', ['-c', 'ls /proc/self/fd | tr "\\n" " "; echo; for f in 0 1 2; do readlink /proc/$$/fd/$f; done']),
    );
    expect(b.stdout.split('\n')[0]).toBe('0 1 2 3 ');
    expect(b.stdout).not.toMatch(/mnt:|user:|net:|pid:/);
    a.stdin!.end('\n');
    expect((await output(a)).stdout).toBe('done\n');
    await fdsBack(base);
    expect(ourFdsOn(mnt)).toEqual([]);
  });

  ptest('through spawnAsync too; a killed run, a failed run and close() with a run alive leave no fd and no child', async () => {
    const kids = childPids().length;
    const base = await settledFds();
    {
      using t = make();
      const a = await t.spawnAsync('/bin/sleep', ['30']);
      expect(ourFdsOn(nsId(a.pid, 'mnt'))).toHaveLength(1);
      a.kill('SIGKILL');
      expect((await a.exited).signal).toBe('SIGKILL');
      for (let i = 0; i < 20; i++) expect((await t.spawn('/bin/true').exited).code).toBe(0);
      const many = await Promise.all(Array.from({ length: 20 }, () => t.spawnAsync('/bin/true')));
      for (const c of many) expect((await c.exited).code).toBe(0);
      expect(() => t.spawn('/nonexistent')).toThrow(expect.objectContaining({ code: 'ENOENT', step: 'exec' }));
      await expect(t.spawnAsync('/nonexistent')).rejects.toMatchObject({ code: 'ENOENT', step: 'exec' });
      const late = t.spawn('/bin/sleep', ['30']);
      t.close();
      late.kill('SIGKILL');
      await late.exited;
    }
    await fdsBack(base);
    expect(childPids().length).toBe(kids);
  });

  ptest('only two runs at a time are held: with more in flight, the rest exit as before', async () => {
    using t = make();
    const base = await settledFds();
    const runs = Array.from({ length: 4 }, () => t.spawn('/bin/sleep', ['30']));
    expect(runs.map((c) => ourFdsOn(nsId(c.pid, 'mnt')).length)).toEqual([1, 1, 0, 0]);
    for (const c of runs) c.kill('SIGKILL');
    await Promise.all(runs.map((c) => c.exited));
    await fdsBack(base);
    // Both released: the next run is held again.
    const next = t.spawn('/bin/sleep', ['30']);
    expect(ourFdsOn(nsId(next.pid, 'mnt'))).toHaveLength(1);
    next.kill('SIGKILL');
    await next.exited;
  });

  ptest('a worker that ends with a run alive: the run is killed and its pin closed', async () => {
    const base = await settledFds();
    const dist = new URL('../../dist/index.js', import.meta.url).href;
    const w = new Worker(
      `import { parentPort, workerData } from 'node:worker_threads';
      import { readlinkSync } from 'node:fs';
      const m = await import(${JSON.stringify(dist)});
      const t = m.template({ rootfs: workerData });
      const c = t.spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
      parentPort.postMessage([c.pid, readlinkSync('/proc/' + c.pid + '/ns/mnt')]);
      setInterval(() => {}, 1000);`,
      { eval: true, type: 'module', workerData: rootfs } as never,
    );
    const [pid, mnt] = await new Promise<[number, string]>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    expect(ourFdsOn(mnt)).toHaveLength(1);
    await w.terminate();
    expect(existsSync(`/proc/${pid}`)).toBe(false); // killed and reaped at the worker's end
    expect(ourFdsOn(mnt)).toEqual([]);
    await fdsBack(base);
  });
});
