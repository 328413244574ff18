// The seccomp compiler: golden listings of small profiles (read them: they are the spec),
// then properties run through the test interpreter (test/helpers/bpf.ts), which validates
// every program as the kernel would before running it.
import { describe, expect, test } from 'vitest';
import {
  compileSeccomp,
  defaultSeccompProfile,
  disassemble,
  syscallName,
  syscallNumber,
  type SeccompProfile,
} from '../../src/security/seccomp/index.js';
import { actionOf, loadProgram, runProgram } from '../helpers/bpf.js';

const AUDIT = { x86_64: 0xc000003e, x86: 0x40000003, aarch64: 0xc00000b7, arm: 0x40000028 };
const X32 = 0x40000000;

function run(profile: SeccompProfile, arch: number, nr: number, args: bigint[] = [], native: 'x64' | 'arm64' = 'x64'): string {
  const p = loadProgram(compileSeccomp(profile, { arch: native }).program);
  return actionOf(runProgram(p, { nr, arch, args }));
}
const nr64 = (name: string): number => syscallNumber(name, 'x64')!;

describe('golden listings', () => {
  test('x86_64 only: arch check, x32 bit to bad-arch (nr -1 excepted), binary search, arg chain, ENOSYS above the last named', () => {
    const c = compileSeccomp(
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        architectures: ['SCMP_ARCH_X86_64'],
        syscalls: [
          { names: ['read', 'write', 'close'], action: 'SCMP_ACT_ALLOW' },
          { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0xffffffff, op: 'SCMP_CMP_EQ' }] },
          { names: ['kill'], action: 'SCMP_ACT_KILL_PROCESS' },
        ],
      },
      { arch: 'x64' },
    );
    expect(disassemble(c.program)).toBe(`\
0000: ld [4]                      ; arch
0001: jeq #0xc000003e  jt 0003 jf 0002
0002: ret #0x80000000             ; KILL_PROCESS
0003: ld [0]                      ; nr
0004: jge #0x40000000  jt 0005 jf 0006
0005: jeq #0xffffffff  jt 0006 jf 0026
0006: jge #0x3e  jt 0014 jf 0007
0007: jge #0x3  jt 0011 jf 0008
0008: jge #0x2  jt 0010 jf 0009
0009: ret #0x7fff0000             ; ALLOW
0010: ret #0x50001                ; ERRNO(1)
0011: jge #0x4  jt 0013 jf 0012
0012: ret #0x7fff0000             ; ALLOW
0013: ret #0x50001                ; ERRNO(1)
0014: jge #0x87  jt 0018 jf 0015
0015: jge #0x3f  jt 0017 jf 0016
0016: ret #0x80000000             ; KILL_PROCESS
0017: ret #0x50001                ; ERRNO(1)
0018: jge #0x88  jt 0025 jf 0019
0019: ld [20]                     ; args[0].hi
0020: jeq #0x0  jt 0021 jf 0024
0021: ld [16]                     ; args[0].lo
0022: jeq #0xffffffff  jt 0023 jf 0024
0023: ret #0x7fff0000             ; ALLOW
0024: ret #0x50001                ; ERRNO(1)
0025: ret #0x50026                ; ERRNO(38)
0026: ret #0x80000000             ; KILL_PROCESS`);
    expect(c).toMatchObject({ instructions: 27, flags: 0, notify: false, notifySyscalls: [], unknown: [] });
  });

  test('aarch64, default ALLOW: masked clone flags, a 64-bit GE whose high word is 0, no ENOSYS rule', () => {
    const c = compileSeccomp(
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_AARCH64'],
        syscalls: [
          {
            names: ['clone'],
            action: 'SCMP_ACT_ERRNO',
            errnoRet: 1,
            args: [{ index: 0, value: 0x10000000, valueTwo: 0x10000000, op: 'SCMP_CMP_MASKED_EQ' }],
          },
          { names: ['mmap'], action: 'SCMP_ACT_LOG', args: [{ index: 2, value: 7n, op: 'SCMP_CMP_GE' }] },
        ],
      },
      { arch: 'arm64' },
    );
    expect(disassemble(c.program)).toBe(`\
0000: ld [4]                      ; arch
0001: jeq #0xc00000b7  jt 0003 jf 0002
0002: ret #0x80000000             ; KILL_PROCESS
0003: ld [0]                      ; nr
0004: jge #0xdd  jt 0012 jf 0005
0005: jge #0xdc  jt 0007 jf 0006
0006: ret #0x7fff0000             ; ALLOW
0007: ld [16]                     ; args[0].lo
0008: and #0x10000000
0009: jeq #0x10000000  jt 0010 jf 0011
0010: ret #0x50001                ; ERRNO(1)
0011: ret #0x7fff0000             ; ALLOW
0012: jge #0xde  jt 0014 jf 0013
0013: ret #0x7fff0000             ; ALLOW
0014: jge #0xdf  jt 0021 jf 0015
0015: ld [36]                     ; args[2].hi
0016: jgt #0x0  jt 0019 jf 0017
0017: ld [32]                     ; args[2].lo
0018: jge #0x7  jt 0019 jf 0020
0019: ret #0x7ffc0000             ; LOG
0020: ret #0x7fff0000             ; ALLOW
0021: ret #0x7fff0000             ; ALLOW`);
  });
});

describe('architectures', () => {
  const p: SeccompProfile = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW' }] };

  test('absent: x86_64, x86 and x32 on x64; aarch64 and arm on arm64; anything else is killed', () => {
    expect(run(p, AUDIT.x86_64, nr64('getpid'))).toBe('allow');
    expect(run(p, AUDIT.x86, syscallNumber('getpid', 'ia32')!)).toBe('allow');
    expect(run(p, AUDIT.x86_64, syscallNumber('getpid', 'x32')!)).toBe('allow');
    expect(run(p, AUDIT.aarch64, 172)).toBe('kill');
    expect(run(p, AUDIT.aarch64, syscallNumber('getpid', 'arm64')!, [], 'arm64')).toBe('allow');
    expect(run(p, AUDIT.arm, syscallNumber('getpid', 'arm')!, [], 'arm64')).toBe('allow');
    expect(run(p, AUDIT.x86_64, 39, [], 'arm64')).toBe('kill');
  });

  test('x32 not listed: every nr with __X32_SYSCALL_BIT gets the bad-arch kill, the x86_64 table still works', () => {
    const q = { ...p, architectures: ['SCMP_ARCH_X86_64'] };
    expect(run(q, AUDIT.x86_64, X32 + 39)).toBe('kill');
    expect(run(q, AUDIT.x86_64, 0xfffffffe)).toBe('kill');
    expect(run(q, AUDIT.x86_64, 0xffffffff)).toBe('errno(38)'); // -1, a tracer's skipped syscall: x86_64's, as in libseccomp
    expect(run(q, AUDIT.x86_64, 39)).toBe('allow');
    expect(run(q, AUDIT.x86, 20)).toBe('kill');
  });

  test('the native arch is always in the filter, as with runc (libseccomp keeps it)', () => {
    const q = { ...p, architectures: ['SCMP_ARCH_X86'] };
    expect(run(q, AUDIT.x86_64, 39)).toBe('allow');
    expect(run(q, AUDIT.x86, 20)).toBe('allow');
    expect(run(q, AUDIT.x86_64, X32 + 39)).toBe('kill');
  });

  test('x32 listed: its own table (x32-only numbers 512-547 included)', () => {
    const q: SeccompProfile = { ...p, syscalls: [{ names: ['rt_sigaction'], action: 'SCMP_ACT_ALLOW' }] };
    expect(syscallNumber('rt_sigaction', 'x32')).toBe(X32 + 512);
    expect(run(q, AUDIT.x86_64, X32 + 512)).toBe('allow');
    expect(run(q, AUDIT.x86_64, X32 + 13)).toBe('errno(38)'); // rt_sigaction's x86_64 number is not an x32 syscall
    expect(run(q, AUDIT.x86_64, 13)).toBe('allow');
  });

  test('foreign arches are accepted and left out; a made-up one is refused', () => {
    const c = compileSeccomp({ ...p, architectures: ['SCMP_ARCH_S390X', 'SCMP_ARCH_X86_64'] }, { arch: 'x64' });
    expect(disassemble(c.program)).not.toMatch(/0x40000003/);
    expect(() => compileSeccomp({ ...p, architectures: ['SCMP_ARCH_Z80'] }, { arch: 'x64' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
  });
});

describe('the ENOSYS rule', () => {
  const p: SeccompProfile = {
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['read'], action: 'SCMP_ACT_ALLOW' },
      { names: ['mseal'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
    ],
  };

  test('unnamed and above the highest named number: ENOSYS; unnamed below it: the default; named: its action', () => {
    expect(run(p, AUDIT.x86_64, nr64('read'))).toBe('allow');
    expect(run(p, AUDIT.x86_64, nr64('openat'))).toBe('errno(1)');
    expect(run(p, AUDIT.x86_64, nr64('mseal'))).toBe('errno(13)');
    expect(run(p, AUDIT.x86_64, nr64('setxattrat'))).toBe('errno(38)');
    expect(run(p, AUDIT.x86_64, 100_000)).toBe('errno(38)');
    expect(run(p, AUDIT.x86_64, X32 - 1)).toBe('errno(38)');
  });

  test('unnamed numbers the table does not assign (x86_64 336+1..423) get ENOSYS even below the highest named', () => {
    expect(syscallName(400, 'x64')).toBeUndefined();
    expect(run(p, AUDIT.x86_64, 400)).toBe('errno(38)');
    expect(run(p, AUDIT.x86_64, nr64('uretprobe'))).toBe('errno(1)');
  });

  test('not applied when the default allows, logs, traces or already is ENOSYS', () => {
    for (const q of [
      { ...p, defaultAction: 'SCMP_ACT_ALLOW' },
      { ...p, defaultAction: 'SCMP_ACT_LOG' },
      { ...p, defaultAction: 'SCMP_ACT_TRACE' },
      { ...p, defaultErrnoRet: 38 },
    ] as SeccompProfile[]) {
      const expected = actionOf(
        runProgram(loadProgram(compileSeccomp(q, { arch: 'x64' }).program), { nr: nr64('openat'), arch: AUDIT.x86_64 }),
      );
      expect(run(q, AUDIT.x86_64, 100_000)).toBe(expected);
    }
  });

  test('applied for KILL and TRAP defaults; not for an arch the profile names nothing of', () => {
    expect(run({ ...p, defaultAction: 'SCMP_ACT_KILL_PROCESS' }, AUDIT.x86_64, 100_000)).toBe('errno(38)');
    expect(run({ ...p, defaultAction: 'SCMP_ACT_TRAP' }, AUDIT.x86_64, 100_000)).toBe('errno(38)');
    const armOnly: SeccompProfile = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['cacheflush'], action: 'SCMP_ACT_ALLOW' }] };
    expect(run(armOnly, AUDIT.aarch64, 100_000, [], 'arm64')).toBe('errno(1)');
    expect(run(armOnly, AUDIT.arm, 0x0f0002, [], 'arm64')).toBe('allow');
    expect(run(armOnly, AUDIT.arm, 1000, [], 'arm64')).toBe('errno(38)'); // below cacheflush, but unassigned
  });
});

describe('argument comparisons (64-bit on x86_64, low word on x86)', () => {
  const V = 0x1_0000_0005n;
  const cases: [string, (a: bigint) => boolean][] = [
    ['SCMP_CMP_EQ', (a) => a === V],
    ['SCMP_CMP_NE', (a) => a !== V],
    ['SCMP_CMP_LT', (a) => a < V],
    ['SCMP_CMP_LE', (a) => a <= V],
    ['SCMP_CMP_GT', (a) => a > V],
    ['SCMP_CMP_GE', (a) => a >= V],
  ];
  const probes = [0n, 4n, 5n, 6n, V - 1n, V, V + 1n, 0xffff_ffffn, 0x2_0000_0000n, 0x2_0000_0005n, (1n << 64n) - 1n, 1n << 63n];

  test.each(cases)('%s against %s', (op, holds) => {
    const p: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [{ index: 3, value: V, op: op as 'SCMP_CMP_EQ' }] }],
    };
    for (const a of probes) {
      expect.soft(run(p, AUDIT.x86_64, nr64('getpid'), [0n, 0n, 0n, a]), `${op} ${a}`).toBe(holds(a) ? 'allow' : 'errno(1)');
      // x86: the kernel zero-extends 32-bit arguments; only low words are compared (value truncated, as libseccomp).
      const lo = a & 0xffff_ffffn;
      const holds32 = {
        SCMP_CMP_EQ: lo === 5n,
        SCMP_CMP_NE: lo !== 5n,
        SCMP_CMP_LT: lo < 5n,
        SCMP_CMP_LE: lo <= 5n,
        SCMP_CMP_GT: lo > 5n,
        SCMP_CMP_GE: lo >= 5n,
      }[op]!;
      expect.soft(run(p, AUDIT.x86, 20, [0n, 0n, 0n, lo]), `x86 ${op} ${lo}`).toBe(holds32 ? 'allow' : 'errno(1)');
    }
  });

  test('MASKED_EQ: (arg & value) == valueTwo, on both words', () => {
    const mask = 0xff00_0000_0000_00ffn;
    const p: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        {
          names: ['getpid'],
          action: 'SCMP_ACT_ALLOW',
          args: [{ index: 5, value: mask, valueTwo: 0x1200_0000_0000_0034n, op: 'SCMP_CMP_MASKED_EQ' }],
        },
      ],
    };
    for (const a of [0x12ff_ffff_ffff_ff34n, 0x1200_0000_0000_0034n, 0x1300_0000_0000_0034n, 0x1200_0000_0000_0035n, 0n]) {
      expect(run(p, AUDIT.x86_64, nr64('getpid'), [0n, 0n, 0n, 0n, 0n, a])).toBe(
        (a & mask) === 0x1200_0000_0000_0034n ? 'allow' : 'errno(1)',
      );
    }
  });

  test('conditions in one rule are ANDed; a repeated index splits the rule into ORed ones (as runc)', () => {
    const and: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        {
          names: ['getpid'],
          action: 'SCMP_ACT_ALLOW',
          args: [
            { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
            { index: 1, value: 2, op: 'SCMP_CMP_EQ' },
          ],
        },
      ],
    };
    expect(run(and, AUDIT.x86_64, 39, [1n, 2n])).toBe('allow');
    expect(run(and, AUDIT.x86_64, 39, [1n, 3n])).toBe('errno(1)');
    const or: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        {
          names: ['getpid'],
          action: 'SCMP_ACT_ALLOW',
          args: [
            { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
            { index: 0, value: 2, op: 'SCMP_CMP_EQ' },
          ],
        },
      ],
    };
    expect(run(or, AUDIT.x86_64, 39, [1n])).toBe('allow');
    expect(run(or, AUDIT.x86_64, 39, [2n])).toBe('allow');
    expect(run(or, AUDIT.x86_64, 39, [3n])).toBe('errno(1)');
  });

  test('conditional rules are tried in profile order before an unconditional rule for the same syscall', () => {
    const p: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['ioctl'], action: 'SCMP_ACT_ALLOW' },
        {
          names: ['ioctl'],
          action: 'SCMP_ACT_ERRNO',
          errnoRet: 1,
          args: [{ index: 1, value: 0xffffffff, valueTwo: 0x5412, op: 'SCMP_CMP_MASKED_EQ' }],
        },
        { names: ['ioctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 2, args: [{ index: 1, value: 0x5412, op: 'SCMP_CMP_GE' }] },
      ],
    };
    expect(run(p, AUDIT.x86_64, nr64('ioctl'), [0n, 0x5412n])).toBe('errno(1)');
    expect(run(p, AUDIT.x86_64, nr64('ioctl'), [0n, 0x7_0000_5412n])).toBe('errno(1)');
    expect(run(p, AUDIT.x86_64, nr64('ioctl'), [0n, 0x5413n])).toBe('errno(2)');
    expect(run(p, AUDIT.x86_64, nr64('ioctl'), [0n, 0x5411n])).toBe('allow');
  });
});

describe('actions, flags, notify', () => {
  test.each([
    ['SCMP_ACT_ALLOW', undefined, 0x7fff0000],
    ['SCMP_ACT_ERRNO', undefined, 0x00050001],
    ['SCMP_ACT_ERRNO', 4095, 0x00050fff],
    ['SCMP_ACT_KILL', undefined, 0],
    ['SCMP_ACT_KILL_THREAD', undefined, 0],
    ['SCMP_ACT_KILL_PROCESS', undefined, 0x80000000],
    ['SCMP_ACT_TRAP', undefined, 0x00030000],
    ['SCMP_ACT_TRACE', undefined, 0x7ff00000],
    ['SCMP_ACT_TRACE', 7, 0x7ff00007],
    ['SCMP_ACT_LOG', undefined, 0x7ffc0000],
    ['SCMP_ACT_NOTIFY', undefined, 0x7fc00000],
  ] as const)('%s (errnoRet %s) returns 0x%s', (action, errnoRet, word) => {
    const c = compileSeccomp(
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action, ...(errnoRet === undefined ? {} : { errnoRet }) }] },
      { arch: 'x64' },
    );
    expect(runProgram(loadProgram(c.program), { nr: 39, arch: AUDIT.x86_64 })).toBe(word);
    expect(c.notify).toBe(action === 'SCMP_ACT_NOTIFY');
    expect(c.flags & 8).toBe(action === 'SCMP_ACT_NOTIFY' ? 8 : 0);
    if (c.notify) expect(c.notifySyscalls).toEqual(['getpid']);
  });

  test('flags map to SECCOMP_FILTER_FLAG_* bits; TSYNC is dropped', () => {
    const c = compileSeccomp(
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        flags: [
          'SECCOMP_FILTER_FLAG_TSYNC',
          'SECCOMP_FILTER_FLAG_LOG',
          'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
          'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
        ],
      },
      { arch: 'x64' },
    );
    expect(c.flags).toBe(2 | 4 | 32);
  });

  test('unknown names are skipped and listed', () => {
    const c = compileSeccomp(
      { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['getpid', 'getpidd', 'cacheflush'], action: 'SCMP_ACT_ALLOW' }] },
      { arch: 'x64' },
    );
    expect(c.unknown).toEqual(['getpidd', 'cacheflush']);
  });
});

describe('limits', () => {
  // Every other x86_64 syscall allowed, each with its own errno: ~390 ranges, a tree whose
  // upper halves lie more than 255 instructions away.
  const names = Array.from({ length: 470 }, (_, i) => syscallName(i, 'x64')).filter((n): n is string => n !== undefined);
  const wide: SeccompProfile = {
    defaultAction: 'SCMP_ACT_KILL',
    architectures: ['SCMP_ARCH_X86_64'],
    syscalls: names.map((n, i) => ({ names: [n], action: 'SCMP_ACT_ERRNO', errnoRet: i % 4000 })),
  };

  test('jumps beyond 255 instructions go through ja trampolines, and every syscall still lands right', () => {
    const c = compileSeccomp(wide, { arch: 'x64' });
    expect(c.instructions).toBeGreaterThan(700);
    expect(disassemble(c.program)).toMatch(/ ja \d{4}/);
    const p = loadProgram(c.program);
    names.forEach((n, i) => expect(runProgram(p, { nr: nr64(n), arch: AUDIT.x86_64 })).toBe(0x00050000 | (i % 4000)));
  });

  test('a program over 4096 instructions is ERR_NSBOX_SECCOMP_TOO_LARGE', () => {
    const rules = Array.from({ length: 800 }, (_, i) => ({
      names: ['ioctl'],
      action: 'SCMP_ACT_ERRNO' as const,
      errnoRet: 1,
      args: [{ index: 1, value: i * 3 + 1, op: 'SCMP_CMP_EQ' as const }],
    }));
    expect(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: rules }, { arch: 'x64' })).toThrow(
      expect.objectContaining({ code: 'ERR_NSBOX_SECCOMP_TOO_LARGE' }),
    );
  });

  test('binary search: every syscall of the default profile runs in a few instructions, none a linear scan', () => {
    const c = compileSeccomp(defaultSeccompProfile, { arch: 'x64' });
    const p = loadProgram(c.program);
    let worst = 0;
    for (let nr = 0; nr < 480; nr++) {
      const stats = { steps: 0 };
      runProgram(p, { nr, arch: AUDIT.x86_64 }, stats);
      worst = Math.max(worst, stats.steps);
    }
    console.log(`default profile, x86_64: ${c.instructions} instructions, at most ${worst} run for any syscall`);
    // ld arch, jeq, ld nr, jge x32, a tree of depth <= 9, an argument chain of a few, ret.
    expect(worst).toBeLessThanOrEqual(24);
  });
});

describe('cache', () => {
  test('a thousand compiles of one profile object compile once; another object compiles again', () => {
    const p: SeccompProfile = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] };
    const first = compileSeccomp(p, { arch: 'x64' });
    for (let i = 0; i < 1000; i++) expect(compileSeccomp(p, { arch: 'x64' })).toBe(first);
    expect(compileSeccomp({ ...p }, { arch: 'x64' })).not.toBe(first);
    expect(compileSeccomp(p, { arch: 'arm64' })).not.toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  test('the default profile is deeply frozen and its filter cached', () => {
    expect(Object.isFrozen(defaultSeccompProfile.syscalls![0]!.names)).toBe(true);
    expect(compileSeccomp(defaultSeccompProfile)).toBe(compileSeccomp(defaultSeccompProfile));
  });
});
