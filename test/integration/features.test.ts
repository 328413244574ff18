// features() against independent witnesses: the kernel version, procfs read by another
// process, findmnt, unshare(1), capsh, uname.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { features } from '../../src/index.js';
import { canUserns, testIf } from '../helpers/env.js';

const f = features();

function sh(script: string): string {
  return execFileSync('sh', ['-c', script], { encoding: 'utf8' }).trim();
}

/** Is `cmd` installed? Also in the sbin directories an unprivileged user's PATH lacks (capsh). */
function has(cmd: string): boolean {
  try {
    sh(`PATH="$PATH:/usr/sbin:/sbin" command -v ${cmd}`);
    return true;
  } catch {
    return false;
  }
}

// The kernel version as a witness for the syscall probes. seccomp (Docker's default
// profile answers ENOSYS for some of these) would make the version lie, so such a test is
// skipped with its reason rather than asserted.
const [major, minor] = sh('uname -r').split('.').map(Number) as [number, number];
const atLeast = (a: number, b: number): boolean => major > a || (major === a && minor >= b);
const noSeccomp = /^Seccomp:\s*0$/m.test(readFileSync('/proc/self/status', 'utf8'));
const kernelTest = testIf(noSeccomp, 'a seccomp filter is active, so the kernel version does not predict the syscalls');

describe('features()', () => {
  test('is probed once: the same frozen object every time, deeply frozen', () => {
    expect(features()).toBe(f);
    expect(Object.isFrozen(f)).toBe(true);
    expect(Object.isFrozen(f.capabilities)).toBe(true);
    if (f.cgroup2 !== null) {
      expect(Object.isFrozen(f.cgroup2)).toBe(true);
      expect(Object.isFrozen(f.cgroup2.controllers)).toBe(true);
    }
    expect(() => {
      (f as { root: boolean }).root = !f.root;
    }).toThrow(TypeError);
  });

  kernelTest.each([
    ['clone3', 5, 3],
    ['cloneIntoCgroup', 5, 7],
    ['pidfd', 5, 3],
    ['pidfdSendSignal', 5, 1],
    ['closeRange', 5, 9],
    ['newMountApi', 5, 2],
    ['openat2', 5, 6],
    ['mountSetattr', 5, 12],
    ['nsGetIoctls', 4, 11],
  ] as const)('%s matches the kernel version (>= %i.%i)', (name, a, b) => {
    expect(f[name]).toBe(atLeast(a, b));
  });

  test('timeNamespace ⇔ /proc/self/ns/time exists', () => {
    expect(f.timeNamespace).toBe(existsSync('/proc/self/ns/time'));
  });

  test('userNamespaces ⇔ unshare -U succeeds; the error is set only when false', () => {
    expect(f.userNamespaces).toBe(canUserns);
    if (f.userNamespaces) expect(f.userNamespacesError).toBeUndefined();
    else expect(f.userNamespacesError).toMatch(/^E[A-Z]+$/);
  });

  test('root, euid, egid match the process and id(1)', () => {
    expect(f.root).toBe(process.geteuid!() === 0);
    expect(f.euid).toBe(process.geteuid!());
    expect(f.egid).toBe(process.getegid!());
    expect(f.euid).toBe(Number(sh('id -u')));
  });

  test('capabilities match /proc/<pid>/status as another process reads it', () => {
    const status = sh(`cat /proc/${process.pid}/status`);
    const hex = (name: string) => BigInt(`0x${new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(status)![1]}`);
    expect(f.capabilities.effective).toBe(hex('CapEff'));
    expect(f.capabilities.bounding).toBe(hex('CapBnd'));
    // The effective set is within the bounding set for a process that gained nothing by exec.
    expect(f.capabilities.effective & ~f.capabilities.bounding).toBe(0n);
  });

  testIf(has('capsh'), 'capsh (libcap2-bin) is not installed')('capSysAdmin and capSysResource match capsh --decode', () => {
    const names = sh(`PATH="$PATH:/usr/sbin:/sbin" capsh --decode=${f.capabilities.effective.toString(16)}`);
    expect(f.capSysAdmin).toBe(/\bcap_sys_admin\b/.test(names));
    expect(f.capSysResource).toBe(/\bcap_sys_resource\b/.test(names));
  });

  test('cgroup2 matches findmnt -t cgroup2 and the controllers file', () => {
    let targets: string[] = [];
    try {
      const out = execFileSync('findmnt', ['-J', '-l', '-t', 'cgroup2', '-o', 'TARGET'], { encoding: 'utf8' });
      targets = (JSON.parse(out) as { filesystems: { target: string }[] }).filesystems.map((e) => e.target);
    } catch {
      // findmnt exits 1 when nothing matches
    }
    if (targets.length === 0) {
      expect(f.cgroup2).toBeNull();
      return;
    }
    expect(targets).toContain(f.cgroup2!.mountPoint);
    const controllers = readFileSync(`${f.cgroup2!.mountPoint}/cgroup.controllers`, 'utf8').trim().split(/\s+/).filter(Boolean);
    expect([...f.cgroup2!.controllers]).toEqual(controllers);
    let v1 = false;
    try {
      execFileSync('findmnt', ['-n', '-t', 'cgroup'], { stdio: 'ignore' });
      v1 = true;
    } catch {
      // none
    }
    expect(f.cgroup2!.hybrid).toBe(v1);
  });

  test('newuidmap/newgidmap are what the shell finds, or null', () => {
    for (const name of ['newuidmap', 'newgidmap'] as const) {
      let found: string | null = null;
      try {
        found = realpathSync(sh(`PATH=/usr/bin:/usr/sbin:/bin command -v ${name}`));
      } catch {
        // not installed
      }
      expect(f[name] === null ? null : realpathSync(f[name]!)).toBe(found);
    }
  });

  test('kernel is uname -r', () => {
    expect(f.kernel).toBe(sh('uname -r'));
  });

  test('probing left nothing behind: no new fds, no children', async () => {
    // features() above already probed; the native probe itself is re-run here directly.
    const { native } = await import('../../src/native.js');
    // Count the kinds of fds the probes open (pidfds, fs contexts, namespaces, the root dir),
    // not every fd: the test runner's own pipes and sockets come and go meanwhile.
    const probeFds = () =>
      readdirSync('/proc/self/fd')
        .map((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`);
          } catch {
            return '';
          }
        })
        .filter((t) => /^anon_inode:\[(pidfd|fscontext)\]$|^\w+:\[\d+\]$|^\/$/.test(t) && !/^(socket|pipe):/.test(t))
        .sort();
    const children = () => readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim();
    const before = [probeFds(), children()];
    for (let i = 0; i < 20; i++) native.probeFeatures();
    expect([probeFds(), children()]).toEqual(before);
  });
});
