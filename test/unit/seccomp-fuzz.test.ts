// Random profiles (seeded), well-formed and broken: compileSeccomp throws nothing but typed
// ERR_* errors; every program it returns passes the kernel's checks (the interpreter's
// validator), has at most 4096 instructions, and gives, for random calls, the action the
// profile's reference meaning gives (test/helpers/seccomp-check.ts, evaluated on the JSON).
import { describe, expect, test } from 'vitest';
import { compileSeccomp, syscallName, type SeccompProfile } from '../../src/security/seccomp/index.js';
import { actionOf, loadProgram, prng, runProgram } from '../helpers/bpf.js';
import { reference } from '../helpers/seccomp-check.js';

const ACTIONS = [
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
];
const OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'];
const JUNK: unknown[] = [null, undefined, -1, 1.5, 'x', {}, [], 2 ** 64, -0, NaN, 1n << 70n, true];

function profileFrom(rand: () => number, broken: boolean): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const maybe = <T>(v: T): unknown => (broken && rand() < 0.03 ? pick(JUNK) : v);
  const names = Array.from({ length: 480 }, (_, i) => syscallName(i, 'x64')).filter((n) => n !== undefined);
  const value = (): bigint | number =>
    pick([0, 1, 7, 0x5412, 0xffffffff, 2 ** 40, 0n, 1n << 63n, (1n << 64n) - 1n, BigInt(Math.floor(rand() * 2 ** 53))]);
  const rules = Array.from({ length: Math.floor(rand() * (rand() < 0.1 ? 600 : 30)) }, () => {
    const action = pick(ACTIONS.filter((a) => a !== 'SCMP_ACT_NOTIFY' || rand() < 0.2));
    return maybe({
      names: maybe(Array.from({ length: 1 + Math.floor(rand() * 5) }, () => maybe(rand() < 0.05 ? 'made_up' : pick(names)))),
      action: maybe(action),
      ...(rand() < 0.5 ? { errnoRet: maybe(Math.floor(rand() * 4096)) } : {}),
      args: maybe(
        Array.from({ length: rand() < 0.5 ? 0 : 1 + Math.floor(rand() * 4) }, () =>
          maybe({
            index: maybe(Math.floor(rand() * 6)),
            op: maybe(pick(OPS)),
            value: maybe(value()),
            valueTwo: maybe(value()),
          }),
        ),
      ),
    });
  });
  return maybe({
    defaultAction: maybe(pick(ACTIONS.filter((a) => a !== 'SCMP_ACT_NOTIFY'))),
    ...(rand() < 0.7 ? { defaultErrnoRet: maybe(Math.floor(rand() * 4096)) } : {}),
    ...(rand() < 0.3
      ? {
          architectures: maybe([
            'SCMP_ARCH_X86_64',
            ...(rand() < 0.5 ? ['SCMP_ARCH_X32'] : []),
            ...(rand() < 0.5 ? ['SCMP_ARCH_X86'] : []),
          ]),
        }
      : {}),
    ...(rand() < 0.2 ? { flags: maybe(['SECCOMP_FILTER_FLAG_LOG']) } : {}),
    syscalls: maybe(rules),
  });
}

describe('fuzz', () => {
  test("2,000 random profiles: typed errors only, valid programs, the profile's meaning", () => {
    const rand = prng(2024);
    const counts = { compiled: 0, refused: 0, tooLarge: 0, calls: 0 };
    for (let i = 0; i < 2000; i++) {
      const profile = profileFrom(rand, i % 2 === 1) as SeccompProfile;
      let c: ReturnType<typeof compileSeccomp>;
      try {
        c = compileSeccomp(profile, { arch: 'x64' });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        expect(typeof code === 'string' && code.startsWith('ERR_'), String(err)).toBe(true);
        if (code === 'ERR_NSBOX_SECCOMP_TOO_LARGE') counts.tooLarge++;
        else counts.refused++;
        continue;
      }
      counts.compiled++;
      expect(c.instructions).toBeLessThanOrEqual(4096);
      const p = loadProgram(c.program);
      for (let j = 0; j < 40; j++) {
        const nr = Math.floor(rand() * 470);
        const name = syscallName(nr, 'x64');
        if (name === undefined) continue;
        const args = Array.from(
          { length: 6 },
          () => (rand() < 0.5 ? BigInt(Math.floor(rand() * 2 ** 32)) << 32n : 0n) | BigInt(Math.floor(rand() * 8)),
        );
        const want = reference(profile, new Set([name]), args, false);
        if (want === undefined) continue;
        expect(actionOf(runProgram(p, { nr, arch: 0xc000003e, args }))).toBe(want);
        counts.calls++;
      }
    }
    console.log(
      `fuzz: ${counts.compiled} compiled, ${counts.refused} refused, ${counts.tooLarge} too large, ${counts.calls} calls checked`,
    );
    expect(counts.compiled).toBeGreaterThan(500);
    expect(counts.refused).toBeGreaterThan(100);
  }, 120_000);
});
