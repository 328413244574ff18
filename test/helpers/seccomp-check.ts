// Runs our filter and libseccomp's on the same (arch, nr, args) tuples and reports where they
// disagree, with the documented differences taken out and checked on their own:
// - the ENOSYS rule: a number the profile does not name, above every number it names on that
//   arch or absent from the arch's table, is ENOSYS in ours (libseccomp: the default action);
// - names libseccomp 2.5 cannot resolve (its table stops at linux 6.7): ours filters them;
// - a syscall with both an unconditional rule and conditional rules of another action: ours
//   tries the conditional ones first, libseccomp drops them;
// - x32: ours compares 64-bit arguments (x32 passes 64-bit registers), libseccomp the low
//   words of argument and value: rules with values past 32 bits are not compared there.
import { compileSeccomp, syscallName, type SeccompProfile } from '../../src/security/seccomp/index.js';
import { actionOf, loadProgram, prng, runProgram, type Program } from './bpf.js';
import { libseccompCompile } from './libseccomp.js';

const AUDIT: Record<string, number> = {
  SCMP_ARCH_X86_64: 0xc000003e,
  SCMP_ARCH_X32: 0xc000003e,
  SCMP_ARCH_X86: 0x40000003,
  SCMP_ARCH_AARCH64: 0xc00000b7,
  SCMP_ARCH_ARM: 0x40000028,
};
const ALIAS: Record<string, string> = {
  SCMP_ARCH_X86_64: 'x64',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_X86: 'ia32',
  SCMP_ARCH_AARCH64: 'arm64',
  SCMP_ARCH_ARM: 'arm',
};
const NATIVE: Record<string, string[]> = {
  x64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
};

/** x86 socketcall and ipc. */
const MULTIPLEXERS = new Set([102, 117]);

/** libseccomp resolves x86 socket and IPC calls to their multiplexer (and filters both). */
function same(arch: string, their: number | undefined, ours: number): boolean {
  return their === ours || (arch === 'SCMP_ARCH_X86' && their !== undefined && MULTIPLEXERS.has(their));
}

/** Every number an arch's table assigns. */
export function tableNumbers(arch: string): Map<number, string> {
  const out = new Map<number, string>();
  const ranges =
    arch === 'SCMP_ARCH_X32'
      ? [[0x40000000, 0x40000000 + 600]]
      : arch === 'SCMP_ARCH_ARM'
        ? [
            [0, 600],
            [0x0f0000, 0x0f0010],
          ]
        : [[0, 600]];
  for (const [lo, hi] of ranges) {
    for (let nr = lo!; nr < hi!; nr++) {
      const n = syscallName(nr, ALIAS[arch]!);
      if (n !== undefined) out.set(nr, n);
    }
  }
  return out;
}

/**
 * The profile's meaning for one call, evaluated straight from the JSON (no BPF): for the
 * rules naming the syscall, the conditional ones in order (a repeated index makes each
 * condition its own rule), then the first unconditional one, then the default. 64-bit
 * comparisons, low words only on 32-bit arches. undefined: not named.
 */
export function reference(profile: SeccompProfile, names: Set<string>, args: bigint[], narrow: boolean): string | undefined {
  const ret = (action: string, errnoRet: number | undefined): string =>
    action === 'SCMP_ACT_ALLOW'
      ? 'allow'
      : action === 'SCMP_ACT_ERRNO'
        ? `errno(${errnoRet ?? 1})`
        : action === 'SCMP_ACT_TRACE'
          ? `trace(${errnoRet ?? 0})`
          : action === 'SCMP_ACT_LOG'
            ? 'log'
            : action === 'SCMP_ACT_TRAP'
              ? 'trap'
              : action === 'SCMP_ACT_NOTIFY'
                ? 'notify'
                : 'kill';
  let uncond: string | undefined;
  let any = false;
  for (const r of profile.syscalls ?? []) {
    if (!r.names.some((n) => names.has(n))) continue;
    any = true;
    const conds = r.args ?? [];
    if (conds.length === 0) {
      uncond ??= ret(r.action, r.errnoRet);
      continue;
    }
    const holds = (c: (typeof conds)[number]): boolean => {
      const m = narrow ? 0xffffffffn : (1n << 64n) - 1n;
      const a = args[c.index]! & m;
      const v = BigInt(c.value) & m;
      const v2 = BigInt(c.valueTwo ?? 0) & m;
      switch (c.op) {
        case 'SCMP_CMP_EQ':
          return a === v;
        case 'SCMP_CMP_NE':
          return a !== v;
        case 'SCMP_CMP_LT':
          return a < v;
        case 'SCMP_CMP_LE':
          return a <= v;
        case 'SCMP_CMP_GT':
          return a > v;
        case 'SCMP_CMP_GE':
          return a >= v;
        case 'SCMP_CMP_MASKED_EQ':
          return (a & v) === (v2 & v);
      }
    };
    const repeated = new Set(conds.map((c) => c.index)).size !== conds.length;
    if (repeated ? conds.some(holds) : conds.every(holds)) return ret(r.action, r.errnoRet);
  }
  if (!any) return undefined;
  return uncond ?? ret(profile.defaultAction, profile.defaultErrnoRet);
}

/**
 * libseccomp 2.5.4 mis-generates two chains on one argument of a 64-bit arch: after one
 * chain's low-word test it falls into the next chain's high-word test without reloading the
 * high word (e.g. `a0 < 0xffffffff || a0 >= 0x100000005` refuses 0xffffffff). Where that
 * shape is present and ours agrees with the reference, a disagreement is libseccomp's.
 */
function libseccompChainBug(profile: SeccompProfile, names: Set<string>, narrow: boolean): boolean {
  if (narrow) return false;
  const seen = new Map<number, number>();
  let alternatives = 0;
  for (const r of profile.syscalls ?? []) {
    if (!r.names.some((n) => names.has(n)) || !r.args?.length) continue;
    const idx = r.args.map((c) => c.index);
    const groups = new Set(idx).size !== idx.length ? idx.map((i) => [i]) : [idx];
    for (const g of groups) {
      alternatives++;
      for (const i of new Set(g)) seen.set(i, (seen.get(i) ?? 0) + 1);
    }
  }
  return alternatives >= 2 && [...seen.values()].some((n) => n >= 2);
}

/** What the comparison found. */
export interface CrossCheck {
  compared: number;
  enosys: number;
  unresolved: number;
  mixed: number;
  x32wide: number;
  /** Disagreements put down to libseccomp's chain bug (ours equal to the reference). */
  libseccompBug: number;
  mismatches: string[];
  /** Names both know but number differently. */
  tableMismatches: string[];
}

function argValues(profile: SeccompProfile): bigint[] {
  const vals = new Set<bigint>([0n, 1n, 0xffffffffn, 0x1_0000_0000n, (1n << 64n) - 1n, 1n << 63n]);
  for (const r of profile.syscalls ?? []) {
    for (const a of r.args ?? []) {
      for (const v of [BigInt(a.value), BigInt(a.valueTwo ?? 0)]) {
        for (const d of [v, v + 1n, v - 1n, v | (1n << 40n), v & 0xffffffffn, v ^ 0xffn]) if (d >= 0n && d < 1n << 64n) vals.add(d);
      }
    }
  }
  return [...vals];
}

/**
 * Compares on every number of each arch's table (and a few outside it), with `tuples`
 * argument tuples for syscalls that have argument rules (seeded). The profile must already
 * be free of Docker `includes`/`excludes`.
 */
export function crossCheck(profile: SeccompProfile, native: 'x64' | 'arm64', seed: number, tuples = 64): CrossCheck {
  const listed = profile.architectures ?? NATIVE[native]!;
  const arches = [NATIVE[native]![0]!, ...listed.filter((a) => NATIVE[native]!.includes(a) && a !== NATIVE[native]![0])];
  const ours = loadProgram(compileSeccomp(profile, { arch: native }).program);
  const lib = libseccompCompile(profile, native, arches);
  const theirs = loadProgram(lib.bpf);
  const rand = prng(seed);
  const r64 = (): bigint => (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32));
  const pool = argValues(profile);
  const res: CrossCheck = {
    compared: 0,
    enosys: 0,
    unresolved: 0,
    mixed: 0,
    x32wide: 0,
    libseccompBug: 0,
    mismatches: [],
    tableMismatches: [],
  };
  const d = profile.defaultAction;
  const enosysRule =
    (d === 'SCMP_ACT_ERRNO' && (profile.defaultErrnoRet ?? 1) !== 38) || d === 'SCMP_ACT_TRAP' || d.startsWith('SCMP_ACT_KILL');
  for (const arch of arches) {
    const table = tableNumbers(arch);
    const byName = new Map([...table].map(([nr, n]) => [n, nr]));
    const named = new Map<number, { uncond: Set<string>; cond: Set<string>; args: boolean; wide: boolean; names: Set<string> }>();
    for (const r of profile.syscalls ?? []) {
      const key = `${r.action}/${r.errnoRet ?? ''}`;
      for (const n of r.names) {
        const nr = byName.get(n);
        if (nr === undefined) continue;
        const e = named.get(nr) ?? { uncond: new Set(), cond: new Set(), args: false, wide: false, names: new Set() };
        named.set(nr, e);
        e.names.add(n);
        if (r.args?.length) {
          e.cond.add(key);
          e.args = true;
        } else e.uncond.add(key);
        if (r.args?.some((a) => BigInt(a.value) > 0xffffffffn || BigInt(a.valueTwo ?? 0) > 0xffffffffn)) e.wide = true;
        const their = lib.resolved[arch]?.[n];
        if (their !== undefined && !same(arch, their, nr)) res.tableMismatches.push(`${arch} ${n}: ours ${nr}, libseccomp ${their}`);
      }
    }
    const maxNamed = Math.max(-1, ...named.keys());
    const base = arch === 'SCMP_ARCH_X32' ? 0x40000000 : 0;
    const extra = [maxNamed + 1, base + 400, base + 1000, base + 0x3fffffff, base + Math.floor(rand() * 0x3fffffff)];
    if (arch !== 'SCMP_ARCH_X32' && arch !== 'SCMP_ARCH_X86_64') extra.push(0xffffffff, 0x80000000);
    for (const nr of [...table.keys(), ...extra]) {
      // libseccomp also applies socket and SysV IPC rules to the x86 multiplexers' first argument.
      if (arch === 'SCMP_ARCH_X86' && MULTIPLEXERS.has(nr)) continue;
      const e = named.get(nr);
      const run = (p: Program, args: bigint[]): string => actionOf(runProgram(p, { nr, arch: AUDIT[arch]!, args }));
      const argSets: bigint[][] = [[0n, 0n, 0n, 0n, 0n, 0n]];
      const n = e?.args ? tuples : 2;
      for (let i = 0; i < n; i++)
        argSets.push(Array.from({ length: 6 }, () => (rand() < 0.7 ? pool[Math.floor(rand() * pool.length)]! : r64())));
      if (e === undefined) {
        if (enosysRule && maxNamed >= 0 && (nr > maxNamed || !table.has(nr))) {
          for (const a of argSets)
            if (run(ours, a) !== 'errno(38)') res.mismatches.push(`${arch} ${nr}: expected ENOSYS, got ${run(ours, a)}`);
          res.enosys++;
          continue;
        }
      } else {
        if ([...e.names].some((x) => !same(arch, lib.resolved[arch]?.[x], nr))) {
          res.unresolved++;
          continue;
        }
        if (e.uncond.size > 0 && e.cond.size > 0 && [...e.cond].some((c) => !e.uncond.has(c))) {
          res.mixed++;
          continue;
        }
        // x32: libseccomp drops the high word of a value; ours compares it (see below).
        if (arch === 'SCMP_ARCH_X32' && e.wide) {
          res.x32wide++;
          continue;
        }
      }
      for (const a of argSets) {
        // x32: ours compares 64-bit arguments (x32 registers are 64 bits), libseccomp the low words.
        const args = arch === 'SCMP_ARCH_X32' ? a.map((v) => v & 0xffffffffn) : a;
        const o = run(ours, args);
        const t = run(theirs, args);
        res.compared++;
        const narrow = arch === 'SCMP_ARCH_X86' || arch === 'SCMP_ARCH_ARM';
        const want = e === undefined ? undefined : reference(profile, e.names, args, narrow);
        if (want !== undefined && o !== want && res.mismatches.length < 50)
          res.mismatches.push(`${arch} nr ${nr}: ours ${o}, the profile says ${want}`);
        if (o !== t && want === o && e !== undefined && libseccompChainBug(profile, e.names, narrow)) {
          res.libseccompBug++;
          continue;
        }
        if (o !== t && res.mismatches.length < 50)
          res.mismatches.push(
            `${arch} nr ${nr} (${table.get(nr) ?? '-'}) args [${args.map((v) => `0x${v.toString(16)}`).join(',')}]: ours ${o}, libseccomp ${t}`,
          );
      }
    }
  }
  return res;
}
