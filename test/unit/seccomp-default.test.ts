// nsbox's default seccomp profile (src/security/profiles/default.json): held against the
// profile Debian ships with podman (golang-github-containers-common's
// /usr/share/containers/seccomp.json): every call podman's refuses, ours refuses too, except
// the deliberate differences listed below with their reasons (also in docs/security.md).
// Then what ours does, call by call, through the test interpreter.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { compileSeccomp, defaultSeccompProfile, syscallNumber, type SeccompProfile } from '../../src/security/seccomp/index.js';
import { actionOf, loadProgram, runProgram } from '../helpers/bpf.js';
import { tableNumbers } from '../helpers/seccomp-check.js';

const PODMAN = '/usr/share/containers/seccomp.json';
const noPodman = existsSync(PODMAN) ? undefined : `${PODMAN} missing (apt-get install golang-github-containers-common)`;
if (noPodman) console.log(`podman comparison skipped: ${noPodman}`);

/**
 * Calls podman's profile refuses (with no capabilities: a rule under `includes.caps` does not
 * count as allowing) that ours allows, each with its reason.
 */
const DELIBERATE_DIFFERENCES: Readonly<Record<string, string>> = {
  chroot: "podman allows it only with CAP_SYS_CHROOT, which is in the default capability set (Docker's); harmless under no_new_privs",
  // Newer than podman's profile (containers-common 0.50.1, 2022), which gives them ENOSYS by default.
  cachestat: 'linux 6.5: page-cache statistics of a file the caller can open; what mincore already tells',
  fchmodat2: 'linux 6.6: fchmodat with flags; glibc 2.39 calls it for lchmod/fchmodat(AT_SYMLINK_NOFOLLOW)',
  futex_waitv: 'linux 5.16: futex waits on several words (Wine, Proton); same checks as futex',
  futex_wake: 'linux 6.7: the futex2 calls, as futex',
  futex_wait: 'linux 6.7: the futex2 calls, as futex',
  futex_requeue: 'linux 6.7: the futex2 calls, as futex',
  map_shadow_stack: "linux 6.6: CET shadow stacks for the caller's own threads; glibc 2.39 uses it when CET is on",
  mseal: "linux 6.10: seals the caller's own mappings (glibc, Chrome); only removes abilities",
  set_mempolicy_home_node: "linux 5.17: NUMA policy of the caller's own memory, as mbind/set_mempolicy which podman allows",
  statmount: "linux 6.8: mount information of the caller's mount namespace, what /proc/self/mountinfo shows",
  listmount: 'linux 6.8: as statmount (other namespaces need CAP_SYS_ADMIN over them, which the sandbox lacks)',
  lsm_get_self_attr: "linux 6.8: the caller's own LSM attributes, what /proc/self/attr shows",
  lsm_set_self_attr: 'linux 6.8: as writing /proc/self/attr, which every LSM checks',
  lsm_list_modules: 'linux 6.8: the list of active LSMs, what /sys/kernel/security/lsm shows',
  setxattrat: 'linux 6.13: the *xattrat forms of the xattr calls podman allows',
  getxattrat: 'linux 6.13: as getxattr',
  listxattrat: 'linux 6.13: as listxattr',
  removexattrat: 'linux 6.13: as removexattr',
  file_getattr: 'linux 6.17: the FS_IOC_FSGETXATTR ioctl as a syscall; ioctl is allowed',
  file_setattr: 'linux 6.17: the FS_IOC_FSSETXATTR ioctl as a syscall; ioctl is allowed',
  uretprobe:
    'x86_64, linux 6.11: the return trampoline of a uprobe a host tracer planted; refused, the traced program crashes (Docker allows it since 2024)',
  uprobe: 'x86_64, linux 6.16: the same for uprobes',
};

const AUDIT: Record<string, number> = {
  SCMP_ARCH_X86_64: 0xc000003e,
  SCMP_ARCH_X32: 0xc000003e,
  SCMP_ARCH_X86: 0x40000003,
  SCMP_ARCH_AARCH64: 0xc00000b7,
  SCMP_ARCH_ARM: 0x40000028,
};
const NATIVES = [
  ['x64', ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']],
  ['arm64', ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']],
] as const;

/** Argument tuples that reach every argument rule of both profiles. */
function probes(...profiles: SeccompProfile[]): bigint[][] {
  const out: bigint[][] = [[0n, 0n, 0n, 0n, 0n, 0n]];
  for (const p of profiles) {
    for (const r of p.syscalls ?? []) {
      if (!r.args?.length) continue;
      const t = [0n, 0n, 0n, 0n, 0n, 0n];
      for (const a of r.args) t[a.index] = a.op === 'SCMP_CMP_MASKED_EQ' ? BigInt(a.valueTwo ?? 0) : BigInt(a.value);
      out.push(
        t,
        t.map((v) => v + 1n),
        t.map((v) => v | (1n << 36n)),
      );
    }
  }
  return out;
}

describe('the default profile', () => {
  test('every name is known on both native arches with their compat arches (no typo, nothing skipped); it compiles small', () => {
    for (const arch of ['x64', 'arm64'] as const) {
      const c = compileSeccomp(withCompat(arch), { arch });
      expect(c.unknown).toEqual([]);
      expect(c.notify).toBe(false);
      expect(c.flags).toBe(0);
      expect(c.instructions).toBeLessThan(1200);
    }
  });

  test.skipIf(noPodman)("refuses everything podman's profile refuses, but for the deliberate differences", () => {
    const podman = JSON.parse(readFileSync(PODMAN, 'utf8')) as SeccompProfile;
    const found = new Set<string>();
    const violations: string[] = [];
    let checked = 0;
    for (const [native, arches] of NATIVES) {
      const theirs = loadProgram(compileSeccomp(podman, { arch: native, capabilities: [] }).program);
      const ours = loadProgram(compileSeccomp(defaultSeccompProfile, { arch: native }).program);
      const tuples = probes(podman, defaultSeccompProfile as SeccompProfile);
      for (const arch of arches) {
        for (const [nr, name] of tableNumbers(arch)) {
          for (const args of tuples) {
            checked++;
            const t = actionOf(runProgram(theirs, { nr, arch: AUDIT[arch]!, args }));
            const o = actionOf(runProgram(ours, { nr, arch: AUDIT[arch]!, args }));
            if (t === 'allow' || o !== 'allow') continue;
            if (Object.hasOwn(DELIBERATE_DIFFERENCES, name)) found.add(name);
            else violations.push(`${arch} ${name}(${args.join(', ')}): podman ${t}, ours allow`);
          }
        }
      }
    }
    console.log(`${checked} (arch, syscall, args) checked; ${found.size} deliberate differences met`);
    expect(violations).toEqual([]);
    // Each listed difference is real: a stale entry is removed, not kept.
    expect([...found].sort()).toEqual(Object.keys(DELIBERATE_DIFFERENCES).sort());
  });

  describe('call by call (x86_64)', () => {
    const p = loadProgram(compileSeccomp(defaultSeccompProfile, { arch: 'x64' }).program);
    const call = (name: string, ...args: bigint[]): string =>
      actionOf(runProgram(p, { nr: syscallNumber(name, 'x64')!, arch: AUDIT.SCMP_ARCH_X86_64!, args }));
    const NS = {
      NEWNS: 0x20000n,
      NEWCGROUP: 0x02000000n,
      NEWUTS: 0x04000000n,
      NEWIPC: 0x08000000n,
      NEWUSER: 0x10000000n,
      NEWPID: 0x20000000n,
      NEWNET: 0x40000000n,
    };

    test('the everyday set is allowed', () => {
      for (const n of [
        'read',
        'write',
        'openat',
        'mmap',
        'execve',
        'exit_group',
        'futex',
        'rt_sigaction',
        'arch_prctl',
        'getrandom',
        'statx',
        'chroot',
        'seccomp',
        'landlock_create_ruleset',
        'mseal',
        'pidfd_open',
      ]) {
        expect(call(n), n).toBe('allow');
      }
    });

    test.each([
      'keyctl',
      'add_key',
      'request_key',
      'bpf',
      'perf_event_open',
      'userfaultfd',
      'io_uring_setup',
      'io_uring_enter',
      'io_uring_register',
      'kexec_load',
      'kexec_file_load',
      'init_module',
      'finit_module',
      'delete_module',
      'mount',
      'umount2',
      'pivot_root',
      'fsopen',
      'fsmount',
      'move_mount',
      'open_tree',
      'open_tree_attr',
      'mount_setattr',
      'fsconfig',
      'fspick',
      'unshare',
      'setns',
      'ptrace',
      'process_vm_readv',
      'process_vm_writev',
      'open_by_handle_at',
      'name_to_handle_at',
      'acct',
      'swapon',
      'swapoff',
      'reboot',
      'settimeofday',
      'clock_settime',
      'adjtimex',
      'clock_adjtime',
      'syslog',
      'quotactl',
      'quotactl_fd',
      'lookup_dcookie',
      'iopl',
      'ioperm',
      'uselib',
      'ustat',
      'sysfs',
      '_sysctl',
      'fanotify_init',
      'kcmp',
      'modify_ldt',
      'sethostname',
      'setdomainname',
      'vhangup',
      'process_madvise',
    ])('%s is EPERM (named, so never the ENOSYS of an unknown call)', (name) => {
      expect(call(name)).toBe('errno(1)');
    });

    test('clone: allowed without CLONE_NEW* flags, EPERM with any; clone3 ENOSYS so glibc falls back to clone', () => {
      expect(call('clone', 0x01200011n)).toBe('allow'); // fork(): CLONE_CHILD_SETTID|CLEARTID|SIGCHLD
      expect(call('clone', 0x003d0f00n)).toBe('allow'); // pthread_create
      for (const [flag, bit] of Object.entries(NS)) expect(call('clone', bit | 0x11n), flag).toBe('errno(1)');
      expect(call('clone3')).toBe('errno(38)');
    });

    test('personality: only the five values Docker allows', () => {
      for (const v of [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn]) expect(call('personality', v)).toBe('allow');
      for (const v of [0x0040000n /* ADDR_NO_RANDOMIZE */, 1n, 0x1_0000_0000n]) expect(call('personality', v)).toBe('errno(1)');
    });

    test('socket: AF_ALG and AF_VSOCK get EAFNOSUPPORT, NETLINK_AUDIT EINVAL, the rest allowed', () => {
      expect(call('socket', 38n, 5n, 0n)).toBe('errno(97)');
      expect(call('socket', 40n, 1n, 0n)).toBe('errno(97)');
      expect(call('socket', 16n, 3n, 9n)).toBe('errno(22)');
      // socket(2) takes ints: the kernel ignores the high 32 bits, so the rules do too (found
      // in review on 2026-11-30: 1<<32 | AF_VSOCK opened a vsock under this profile).
      expect(call('socket', 0x1_0000_0026n, 5n, 0n)).toBe('errno(97)');
      expect(call('socket', 0xffff_ffff_0000_0028n, 1n, 0n)).toBe('errno(97)');
      expect(call('socket', 0x1_0000_0010n, 3n, 9n)).toBe('errno(22)');
      expect(call('socket', 16n, 3n, 0x1_0000_0009n)).toBe('errno(22)');
      for (const [f, proto] of [
        [2n, 0n],
        [10n, 0n],
        [1n, 0n],
        [16n, 0n],
        [17n, 0n],
      ])
        expect(call('socket', f!, 1n, proto!)).toBe('allow');
    });

    test('ioctl: TIOCSTI and TIOCLINUX refused, also with junk in the high 32 bits the kernel ignores', () => {
      for (const cmd of [0x5412n, 0x541cn, 0xdead_0000_5412n, 0xffff_ffff_0000_541cn]) expect(call('ioctl', 0n, cmd)).toBe('errno(1)');
      for (const cmd of [0x5401n /* TCGETS */, 0x5413n /* TIOCGWINSZ */, 0x541bn /* FIONREAD */, 0x8913n])
        expect(call('ioctl', 0n, cmd)).toBe('allow');
    });

    test('unknown newer syscalls get ENOSYS: listns (6.19), fchroot, numbers past the table, unassigned ones', () => {
      for (const nr of [470, 471, 472, 473, 1000, 400, 0x3fffffff]) {
        expect(actionOf(runProgram(p, { nr, arch: AUDIT.SCMP_ARCH_X86_64! })), String(nr)).toBe('errno(38)');
      }
    });

    test('by default only the native arch: an ia32 or x32 syscall kills the process (bad arch)', () => {
      // SECCOMP_RET_KILL_PROCESS, not KILL_THREAD (the interpreter names both 'kill').
      expect(runProgram(p, { nr: syscallNumber('read', 'ia32')!, arch: AUDIT.SCMP_ARCH_X86! }) >>> 0).toBe(0x80000000);
      expect(runProgram(p, { nr: syscallNumber('read', 'x32')!, arch: AUDIT.SCMP_ARCH_X32! }) >>> 0).toBe(0x80000000);
      expect(compileSeccomp(defaultSeccompProfile, { arch: 'x64' }).instructions).toBeLessThan(300);
    });

    test('with the compat arches asked for, x86 (ia32) and x32 programs get the same policy; socketcall is ENOSYS on x86', () => {
      const p = loadProgram(compileSeccomp(withCompat('x64'), { arch: 'x64' }).program);
      const x86 = (name: string, ...args: bigint[]): string =>
        actionOf(runProgram(p, { nr: syscallNumber(name, 'ia32')!, arch: AUDIT.SCMP_ARCH_X86!, args }));
      const x32 = (name: string): string => actionOf(runProgram(p, { nr: syscallNumber(name, 'x32')!, arch: AUDIT.SCMP_ARCH_X32! }));
      expect(x86('read')).toBe('allow');
      expect(x86('mmap2')).toBe('allow');
      expect(x86('keyctl')).toBe('errno(1)');
      expect(x86('socketcall')).toBe('errno(38)');
      expect(x86('socket', 38n)).toBe('errno(97)');
      expect(x32('read')).toBe('allow');
      expect(x32('rt_sigaction')).toBe('allow');
      expect(x32('mount')).toBe('errno(1)');
    });
  });

  test('with the compat arch asked for, arm64 and arm programs get the same policy', () => {
    const p = loadProgram(compileSeccomp(withCompat('arm64'), { arch: 'arm64' }).program);
    const run = (name: string, arch: 'arm64' | 'arm', ...args: bigint[]): string =>
      actionOf(
        runProgram(p, { nr: syscallNumber(name, arch)!, arch: AUDIT[arch === 'arm' ? 'SCMP_ARCH_ARM' : 'SCMP_ARCH_AARCH64']!, args }),
      );
    expect(run('openat', 'arm64')).toBe('allow');
    expect(run('keyctl', 'arm64')).toBe('errno(1)');
    expect(run('clone', 'arm64', NSFLAG)).toBe('errno(1)');
    expect(run('set_tls', 'arm')).toBe('allow');
    expect(run('cacheflush', 'arm')).toBe('allow');
    expect(run('socket', 'arm', 40n)).toBe('errno(97)');
    expect(actionOf(runProgram(p, { nr: 0x0f0007, arch: AUDIT.SCMP_ARCH_ARM! }))).toBe('errno(38)');
  });
});

const NSFLAG = 0x10000000n | 0x11n;

/** The default profile with the native arch's compat arches added, as Docker's archMap has them. */
function withCompat(arch: 'x64' | 'arm64'): SeccompProfile {
  const architectures = arch === 'x64' ? ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'] : ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'];
  return { ...(defaultSeccompProfile as SeccompProfile), architectures };
}
