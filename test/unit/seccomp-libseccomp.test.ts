// Cross-check against libseccomp (test-only oracle, Debian's python3-seccomp): the same
// profile through both compilers, both programs through the test interpreter, on every
// syscall of each arch's table and thousands of seeded random argument tuples. The actions
// must agree except where docs/security.md says ours differs on purpose (see
// test/helpers/seccomp-check.ts), and those cases are asserted on their own.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  defaultSeccompProfile,
  type SeccompAction,
  type SeccompArg,
  type SeccompProfile,
  type SeccompSyscallRule,
} from '../../src/security/seccomp/index.js';
import { prng } from '../helpers/bpf.js';
import { libseccompMissing } from '../helpers/libseccomp.js';
import { crossCheck, tableNumbers } from '../helpers/seccomp-check.js';

const missing = libseccompMissing();
if (missing) console.log(`seccomp cross-check skipped: ${missing}`);
const PODMAN = '/usr/share/containers/seccomp.json';
const noPodman = existsSync(PODMAN) ? undefined : `${PODMAN} missing (apt-get install golang-github-containers-common)`;
if (noPodman) console.log(`podman profile cross-check skipped: ${noPodman}`);

/** Docker's includes/excludes, applied here independently of the compiler's own filter. */
function filterDocker(p: SeccompProfile & { archMap?: unknown }, caps: string[], goArch: string): SeccompProfile {
  type R = SeccompSyscallRule & {
    includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
    excludes?: { caps?: string[]; arches?: string[] };
  };
  const syscalls = (p.syscalls as R[])
    .filter((r) => {
      if (r.includes?.caps?.some((c) => !caps.includes(c))) return false;
      if (r.includes?.arches && !r.includes.arches.includes(goArch)) return false;
      if (r.excludes?.caps?.some((c) => caps.includes(c))) return false;
      if (r.excludes?.arches?.includes(goArch)) return false;
      return true;
    })
    .map(({ includes: _i, excludes: _e, ...r }) => ({ ...r, args: r.args ?? [] }));
  return { defaultAction: p.defaultAction, defaultErrnoRet: p.defaultErrnoRet, syscalls } as SeccompProfile;
}

function report(name: string, r: ReturnType<typeof crossCheck>): void {
  console.log(
    `${name}: ${r.compared} tuples compared, ${r.enosys} ENOSYS-rule numbers, ${r.unresolved} names libseccomp lacks, ${r.mixed} mixed-rule syscalls, ${r.x32wide} wide x32 rules, ${r.libseccompBug} libseccomp chain-bug tuples`,
  );
  expect(r.tableMismatches).toEqual([]);
  expect(r.mismatches).toEqual([]);
}

describe.skipIf(missing)('against libseccomp', () => {
  test.skipIf(noPodman)("podman's profile, without capabilities and with Docker's default set, x64 and arm64", () => {
    const podman = JSON.parse(readFileSync(PODMAN, 'utf8')) as SeccompProfile;
    for (const caps of [[], ['CAP_CHOWN', 'CAP_AUDIT_WRITE', 'CAP_SYS_CHROOT', 'CAP_KILL']]) {
      report(`podman x64 caps=[${caps.join(',')}]`, crossCheck(filterDocker(podman, caps, 'amd64'), 'x64', 1));
      report(`podman arm64 caps=[${caps.join(',')}]`, crossCheck(filterDocker(podman, caps, 'arm64'), 'arm64', 2));
    }
  });

  test("nsbox's default profile, x64 and arm64", () => {
    const r = crossCheck(filterDocker(defaultSeccompProfile as SeccompProfile, [], 'amd64'), 'x64', 3, 200);
    report('default x64', r);
    expect(r.mixed).toBe(2 * 3); // ioctl and socket on each of x86_64, x86, x32: checked in seccomp-default.test.ts
    report('default arm64', crossCheck(filterDocker(defaultSeccompProfile as SeccompProfile, [], 'arm64'), 'arm64', 4, 200));
  });

  test('random profiles (seeded): every action, every operator, repeated indexes, unknown names', () => {
    const actions: SeccompAction[] = [
      'SCMP_ACT_ALLOW',
      'SCMP_ACT_ERRNO',
      'SCMP_ACT_KILL',
      'SCMP_ACT_KILL_PROCESS',
      'SCMP_ACT_TRAP',
      'SCMP_ACT_TRACE',
      'SCMP_ACT_LOG',
    ];
    const ops: SeccompArg['op'][] = [
      'SCMP_CMP_NE',
      'SCMP_CMP_LT',
      'SCMP_CMP_LE',
      'SCMP_CMP_EQ',
      'SCMP_CMP_GE',
      'SCMP_CMP_GT',
      'SCMP_CMP_MASKED_EQ',
    ];
    const values = [
      0n,
      1n,
      2n,
      5n,
      0x7fn,
      0xffn,
      0x5412n,
      0xffffffffn,
      0x1_0000_0000n,
      0x1_0000_0005n,
      0xffff_ffff_0000_0000n,
      (1n << 64n) - 1n,
    ];
    let compared = 0;
    let bugs = 0;
    for (let seed = 100; seed < 124; seed++) {
      const rand = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const native = seed % 3 === 0 ? 'arm64' : 'x64';
      const names = [...tableNumbers(native === 'x64' ? 'SCMP_ARCH_X86_64' : 'SCMP_ARCH_AARCH64').values()];
      // 4094, not 4095: libseccomp refuses ERRNO(4095) (EINVAL), which the kernel and nsbox take.
      const errno = (): number => pick([1, 13, 22, 38, 4094]);
      const defaultAction = pick(actions);
      const profile: SeccompProfile = { defaultAction, defaultErrnoRet: errno(), syscalls: [] };
      // One conditional action per syscall, and an unconditional rule only of that action:
      // where libseccomp's order of overlapping rules is its own choice, nothing is compared.
      const chosen = new Map<string, string>();
      for (let i = 0, n = 1 + Math.floor(rand() * 40); i < n; i++) {
        const action = pick(actions);
        const errnoRet = action === 'SCMP_ACT_ERRNO' || action === 'SCMP_ACT_TRACE' ? errno() : undefined;
        const key = `${action}/${errnoRet}`;
        const ruleNames = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => (rand() < 0.05 ? `nosuch_${i}` : pick(names))).filter(
          (x) => (chosen.get(x) ?? key) === key,
        );
        if (ruleNames.length === 0) continue;
        for (const x of ruleNames) chosen.set(x, key);
        const args = Array.from({ length: rand() < 0.4 ? 0 : 1 + Math.floor(rand() * 3) }, () => {
          const op = pick(ops);
          return {
            index: Math.floor(rand() * (rand() < 0.5 ? 2 : 6)),
            op,
            value: pick(values),
            valueTwo: op === 'SCMP_CMP_MASKED_EQ' ? pick(values) : 0n,
          };
        });
        profile.syscalls!.push({ names: ruleNames, action, ...(errnoRet === undefined ? {} : { errnoRet }), args });
      }
      const r = crossCheck(profile, native, seed, 48);
      expect(r.tableMismatches).toEqual([]);
      expect(r.mismatches, `seed ${seed}: ${JSON.stringify(profile, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`).toEqual(
        [],
      );
      compared += r.compared;
      bugs += r.libseccompBug;
    }
    console.log(
      `random profiles: ${compared} tuples compared, ${bugs} put down to libseccomp's chain bug (ours matching the profile's reference meaning)`,
    );
    expect(compared).toBeGreaterThan(10_000);
  }, 120_000);
});
