// Validation: each bad profile is refused before anything is compiled, with Node's error
// shape: the code, and the offending property's path in the message.
import { describe, expect, test } from 'vitest';
import { compileSeccomp, disassemble, syscallName, syscallNumber, type SeccompProfile } from '../../src/security/seccomp/index.js';

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('did not throw');
}

const ok: SeccompProfile = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] };
const rule = (r: object): SeccompProfile => ({
  defaultAction: 'SCMP_ACT_ERRNO',
  syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }, r as never],
});

describe('profile validation', () => {
  test.each([
    ['not an object', null, 'ERR_INVALID_ARG_TYPE', 'profile'],
    ['bad default action', { defaultAction: 'SCMP_ACT_NOPE' }, 'ERR_INVALID_ARG_VALUE', 'profile.defaultAction'],
    ['NOTIFY as default', { defaultAction: 'SCMP_ACT_NOTIFY' }, 'ERR_INVALID_ARG_VALUE', 'profile.defaultAction'],
    ['defaultErrnoRet 4096', { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 4096 }, 'ERR_OUT_OF_RANGE', 'profile.defaultErrnoRet'],
    [
      'defaultErrnoRet a string',
      { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: '1' },
      'ERR_INVALID_ARG_TYPE',
      'profile.defaultErrnoRet',
    ],
    [
      'unknown flag',
      { defaultAction: 'SCMP_ACT_ERRNO', flags: ['SECCOMP_FILTER_FLAG_NEW_LISTENER'] },
      'ERR_INVALID_ARG_VALUE',
      'profile.flags[0]',
    ],
    [
      'unknown arch',
      { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64', 'x86_64'] },
      'ERR_INVALID_ARG_VALUE',
      'profile.architectures[1]',
    ],
    ['syscalls not an array', { defaultAction: 'SCMP_ACT_ERRNO', syscalls: {} }, 'ERR_INVALID_ARG_TYPE', 'profile.syscalls'],
    ['names missing', rule({ action: 'SCMP_ACT_ALLOW' }), 'ERR_INVALID_ARG_TYPE', 'profile.syscalls[1].names'],
    ['empty name', rule({ names: ['read', ''], action: 'SCMP_ACT_ALLOW' }), 'ERR_INVALID_ARG_VALUE', 'profile.syscalls[1].names[1]'],
    ['bad rule action', rule({ names: ['read'], action: 'ALLOW' }), 'ERR_INVALID_ARG_VALUE', 'profile.syscalls[1].action'],
    ['errnoRet -1', rule({ names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: -1 }), 'ERR_OUT_OF_RANGE', 'profile.syscalls[1].errnoRet'],
    [
      'errnoRet 1.5',
      rule({ names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: 1.5 }),
      'ERR_OUT_OF_RANGE',
      'profile.syscalls[1].errnoRet',
    ],
    [
      'arg index 6',
      rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }),
      'ERR_OUT_OF_RANGE',
      'profile.syscalls[1].args[0].index',
    ],
    [
      'arg index "0"',
      rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: '0', value: 0, op: 'SCMP_CMP_EQ' }] }),
      'ERR_INVALID_ARG_TYPE',
      'profile.syscalls[1].args[0].index',
    ],
    [
      'bad op',
      rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'EQ' }] }),
      'ERR_INVALID_ARG_VALUE',
      'profile.syscalls[1].args[0].op',
    ],
    [
      'negative value',
      rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }),
      'ERR_OUT_OF_RANGE',
      'profile.syscalls[1].args[0].value',
    ],
    [
      'value past 2^64',
      rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1n << 64n, op: 'SCMP_CMP_EQ' }] }),
      'ERR_OUT_OF_RANGE',
      'profile.syscalls[1].args[0].value',
    ],
    [
      'value a string',
      rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: '1', op: 'SCMP_CMP_EQ' }] }),
      'ERR_INVALID_ARG_TYPE',
      'profile.syscalls[1].args[0].value',
    ],
    [
      'valueTwo fractional',
      rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, valueTwo: 0.5, op: 'SCMP_CMP_MASKED_EQ' }] }),
      'ERR_OUT_OF_RANGE',
      'profile.syscalls[1].args[0].valueTwo',
    ],
    [
      'NOTIFY on write',
      rule({ names: ['read', 'write'], action: 'SCMP_ACT_NOTIFY' }),
      'ERR_INVALID_ARG_VALUE',
      'profile.syscalls[1].names[1]',
    ],
    [
      'includes not an object',
      rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', includes: [] }),
      'ERR_INVALID_ARG_TYPE',
      'profile.syscalls[1].includes',
    ],
    [
      'bad minKernel',
      rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: 'new' } }),
      'ERR_INVALID_ARG_VALUE',
      'profile.syscalls[1].includes.minKernel',
    ],
    ['listenerPath a number', { defaultAction: 'SCMP_ACT_ERRNO', listenerPath: 1 }, 'ERR_INVALID_ARG_TYPE', 'profile.listenerPath'],
  ])('%s', (_what, profile, code, path) => {
    const err = thrown(() => compileSeccomp(profile as SeccompProfile, { arch: 'x64' }));
    expect(err.code).toBe(code);
    expect(err.message).toContain(path);
    expect(err).toBeInstanceOf(code === 'ERR_OUT_OF_RANGE' ? RangeError : TypeError);
  });

  test('the native arch option', () => {
    expect(thrown(() => compileSeccomp(ok, { arch: 'ia32' as 'x64' })).code).toBe('ERR_INVALID_ARG_VALUE');
  });

  test('a failed compile is not cached', () => {
    const bad = { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 5000 } as SeccompProfile;
    expect(thrown(() => compileSeccomp(bad, { arch: 'x64' })).code).toBe('ERR_OUT_OF_RANGE');
    bad.defaultErrnoRet = 5;
    expect(compileSeccomp(bad, { arch: 'x64' }).instructions).toBeGreaterThan(0);
  });

  test('OCI and Docker shapes accepted: args null, archMap, includes/excludes, comments, listener fields', () => {
    const c = compileSeccomp(
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        archMap: [
          { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
          { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] },
        ],
        listenerPath: '/run/l.sock',
        listenerMetadata: 'x',
        syscalls: [
          { names: ['read'], action: 'SCMP_ACT_ALLOW', args: null, comment: 'x', includes: {}, excludes: {} },
          { names: ['chroot'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
          { names: ['bpf'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '99.0' } },
        ],
      },
      { arch: 'x64' },
    );
    // archMap picked x86_64 and its x86 sub-arch: x32 is not in, so its numbers are killed.
    expect(disassemble(c.program)).toMatch(/jeq #0x40000003/);
  });
});

describe('syscall tables', () => {
  test('numbers and names by arch, in every accepted spelling', () => {
    expect(syscallNumber('openat', 'x64')).toBe(257);
    expect(syscallNumber('openat', 'SCMP_ARCH_X86_64')).toBe(257);
    expect(syscallNumber('openat', 'ia32')).toBe(295);
    expect(syscallNumber('openat', 'x32')).toBe(0x40000000 + 257);
    expect(syscallNumber('openat', 'arm64')).toBe(56);
    expect(syscallNumber('openat', 'arm')).toBe(322);
    expect(syscallNumber('set_tls', 'arm')).toBe(0x0f0005);
    expect(syscallNumber('mseal', 'aarch64')).toBe(462);
    expect(syscallNumber('file_setattr', 'x64')).toBe(469);
    expect(syscallNumber('open', 'arm64')).toBeUndefined();
    expect(syscallName(56, 'arm64')).toBe('openat');
    expect(syscallName(100_000, 'x64')).toBeUndefined();
    expect(thrown(() => syscallNumber('read', 'sparc')).code).toBe('ERR_INVALID_ARG_VALUE');
  });

  test("the x86 tables agree with this machine's <asm/unistd_*.h> (linux-libc-dev) for every syscall it knows", async () => {
    const { existsSync, readFileSync } = await import('node:fs');
    const files = {
      x64: '/usr/include/x86_64-linux-gnu/asm/unistd_64.h',
      ia32: '/usr/include/x86_64-linux-gnu/asm/unistd_32.h',
      x32: '/usr/include/x86_64-linux-gnu/asm/unistd_x32.h',
    };
    let checked = 0;
    for (const [arch, file] of Object.entries(files)) {
      if (!existsSync(file)) {
        console.log(`skipped ${file}: not installed (linux-libc-dev)`);
        continue;
      }
      for (const m of readFileSync(file, 'utf8').matchAll(/#define __NR_(\w+)\s+\(?(__X32_SYSCALL_BIT \+ )?(\d+)\)?/g)) {
        expect.soft(syscallNumber(m[1]!, arch), `${arch} ${m[1]}`).toBe(Number(m[3]) + (m[2] ? 0x40000000 : 0));
        checked++;
      }
    }
    console.log(`${checked} header numbers checked`);
  });
});
