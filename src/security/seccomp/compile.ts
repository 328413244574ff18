/**
 * The compiler proper: a validated profile (profile.ts) to a classic BPF program.
 *
 * Layout: `ld arch`, one `jeq` per AUDIT_ARCH (the native arch first), the bad-arch
 * `ret KILL_PROCESS`; then per arch `ld nr` and a binary search over ranges of syscall
 * numbers, each range one action (consecutive numbers with equal handling merged), so every
 * syscall pays ⌈log2(ranges)⌉ jumps. A syscall with argument rules gets their chains at its
 * leaf. docs/seccomp-fragment.md states every rule.
 * @module
 * @internal
 */
import { Assembler, NEXT, OP, type Target } from './asm.js';
import { ARCHES, X32_SYSCALL_BIT, lookup, tableOf, type SeccompArch } from './arch.js';
import type { Cond, NormProfile } from './profile.js';

/** SECCOMP_RET_KILL_PROCESS: what a syscall of an architecture the filter lacks gets. @internal */
export const BAD_ARCH_RET = 0x80000000;
/** SECCOMP_RET_ERRNO | ENOSYS. @internal */
export const ENOSYS_RET = 0x00050000 | 38;
/** The kernel's BPF_MAXINSNS. @internal */
export const MAX_INSNS = 4096;

const NR = 0;
const ARCH = 4;
const argLo = (i: number): number => 16 + 8 * i; // little-endian hosts (x86, arm64)
const argHi = (i: number): number => 20 + 8 * i;

/** What a syscall number does: a plain return, or argument chains then a fallback. */
interface Handler {
  /** Equal keys, equal handling: the return word for a plain return, a string for chains. */
  readonly key: number | string;
  readonly ret?: number;
  readonly chains?: readonly { readonly alts: readonly (readonly Cond[])[]; readonly ret: number }[];
  readonly fallback?: number;
}

interface Range {
  lo: number;
  hi: number;
  h: Handler;
}

/** Whether an unknown, newer syscall gets ENOSYS instead of the default action. */
function enosysApplies(p: NormProfile): boolean {
  const a = p.defaultAction;
  if (a === 'SCMP_ACT_ERRNO') return p.defaultRet !== ENOSYS_RET;
  return a === 'SCMP_ACT_KILL' || a === 'SCMP_ACT_KILL_THREAD' || a === 'SCMP_ACT_KILL_PROCESS' || a === 'SCMP_ACT_TRAP';
}

/** The result of compiling: the program and what the caller needs to load it. @internal */
export interface CompileOutput {
  program: Uint8Array;
  notifySyscalls: string[];
  unknown: string[];
}

/** Per-arch handlers: number → handler, for the numbers the profile names. */
function handlersOf(p: NormProfile, arch: SeccompArch): Map<number, Handler> {
  const uncond = new Map<number, number>();
  const chains = new Map<number, { alts: readonly (readonly Cond[])[]; ret: number }[]>();
  for (const r of p.rules) {
    const isUncond = r.alternatives.length === 1 && r.alternatives[0]!.length === 0;
    for (const name of r.names) {
      const nr = lookup(arch, name);
      if (nr === undefined) continue;
      if (isUncond) {
        // The first unconditional rule is the syscall's fallback, after its conditional rules.
        if (!uncond.has(nr)) uncond.set(nr, r.ret);
      } else {
        let c = chains.get(nr);
        if (c === undefined) chains.set(nr, (c = []));
        c.push({ alts: r.alternatives, ret: r.ret });
      }
    }
  }
  const out = new Map<number, Handler>();
  const plain = new Map<number, Handler>();
  for (const [nr, ret] of uncond) {
    if (chains.has(nr)) continue;
    let h = plain.get(ret);
    if (h === undefined) plain.set(ret, (h = { key: ret, ret }));
    out.set(nr, h);
  }
  for (const [nr, c] of chains) {
    const fallback = uncond.get(nr) ?? p.defaultRet;
    const key = `c${fallback}:${JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}` : v))}`;
    out.set(nr, { key, chains: c, fallback });
  }
  return out;
}

/** Ranges covering [lo, hi] for one arch (x32: the numbers with the x32 bit). */
function rangesOf(p: NormProfile, arch: SeccompArch, lo: number, hi: number): Range[] {
  const handlers = handlersOf(p, arch);
  const named = new Float64Array(handlers.size);
  let i = 0;
  for (const nr of handlers.keys()) named[i++] = nr;
  named.sort();
  const maxNamed = named.length > 0 ? named[named.length - 1]! : -1;
  const enosys = enosysApplies(p) && named.length > 0;
  const dflt: Handler = { key: p.defaultRet, ret: p.defaultRet };
  const nosys: Handler = enosys ? { key: ENOSYS_RET, ret: ENOSYS_RET } : dflt;
  // Without the ENOSYS rule only named numbers differ from the default; with it, so do the
  // numbers outside the table (and everything above the highest named number).
  const table = enosys ? tableOf(arch).numbers : new Uint32Array(0);
  const ranges: Range[] = [];
  const push = (start: number, end: number, h: Handler): void => {
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last.h.key === h.key) last.hi = end;
    else ranges.push({ lo: start, hi: end, h });
  };
  let cur = lo;
  let ti = 0;
  let ni = 0;
  for (;;) {
    while (ti < table.length && table[ti]! < cur) ti++;
    while (ni < named.length && named[ni]! < cur) ni++;
    const t = ti < table.length ? table[ti]! : Infinity;
    const n = ni < named.length ? named[ni]! : Infinity;
    const next = Math.min(t, n);
    if (next > hi) {
      if (cur <= hi) push(cur, hi, nosys);
      return ranges;
    }
    if (next > cur) push(cur, next - 1, nosys);
    push(next, next, n === next ? handlers.get(next)! : next > maxNamed ? nosys : dflt);
    cur = next + 1;
  }
}

function emitCond(a: Assembler, c: Cond, narrow: boolean, fail: Target): void {
  const vh = Number(c.value >> 32n) >>> 0;
  const vl = Number(c.value & 0xffffffffn) >>> 0;
  const th = Number(c.valueTwo >> 32n) >>> 0;
  const tl = Number(c.valueTwo & 0xffffffffn) >>> 0;
  const lo = argLo(c.index);
  const hi = argHi(c.index);
  if (narrow) {
    // 32-bit arches: the kernel zero-extends arguments; only the low word is compared, as libseccomp does.
    a.ld(lo);
    switch (c.op) {
      case 'SCMP_CMP_EQ':
        return a.jmp(OP.JEQ_K, vl, NEXT, fail);
      case 'SCMP_CMP_NE':
        return a.jmp(OP.JEQ_K, vl, fail, NEXT);
      case 'SCMP_CMP_GT':
        return a.jmp(OP.JGT_K, vl, NEXT, fail);
      case 'SCMP_CMP_GE':
        return a.jmp(OP.JGE_K, vl, NEXT, fail);
      case 'SCMP_CMP_LT':
        return a.jmp(OP.JGE_K, vl, fail, NEXT);
      case 'SCMP_CMP_LE':
        return a.jmp(OP.JGT_K, vl, fail, NEXT);
      case 'SCMP_CMP_MASKED_EQ':
        a.and(vl);
        return a.jmp(OP.JEQ_K, tl, NEXT, fail);
    }
  }
  if (c.op === 'SCMP_CMP_MASKED_EQ' && vh === 0) {
    // The high word of the mask is 0: the high words match only when valueTwo's is 0 too.
    if (th !== 0) return a.ja(fail);
    a.ld(lo);
    a.and(vl);
    return a.jmp(OP.JEQ_K, tl, NEXT, fail);
  }
  const ok = a.label();
  a.ld(hi);
  switch (c.op) {
    case 'SCMP_CMP_EQ':
      a.jmp(OP.JEQ_K, vh, NEXT, fail);
      a.ld(lo);
      a.jmp(OP.JEQ_K, vl, NEXT, fail);
      break;
    case 'SCMP_CMP_NE':
      a.jmp(OP.JEQ_K, vh, NEXT, ok);
      a.ld(lo);
      a.jmp(OP.JEQ_K, vl, fail, NEXT);
      break;
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE':
      // hi > vh: holds; hi < vh: fails; equal: the low words decide. (hi <= 0 means hi == 0.)
      a.jmp(OP.JGT_K, vh, ok, NEXT);
      if (vh !== 0) a.jmp(OP.JEQ_K, vh, NEXT, fail);
      a.ld(lo);
      a.jmp(c.op === 'SCMP_CMP_GT' ? OP.JGT_K : OP.JGE_K, vl, NEXT, fail);
      break;
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE':
      a.jmp(OP.JGT_K, vh, fail, NEXT);
      if (vh !== 0) a.jmp(OP.JEQ_K, vh, NEXT, ok);
      a.ld(lo);
      a.jmp(c.op === 'SCMP_CMP_LT' ? OP.JGE_K : OP.JGT_K, vl, fail, NEXT);
      break;
    case 'SCMP_CMP_MASKED_EQ':
      a.and(vh);
      a.jmp(OP.JEQ_K, th, NEXT, fail);
      a.ld(lo);
      a.and(vl);
      a.jmp(OP.JEQ_K, tl, NEXT, fail);
      break;
  }
  a.place(ok);
}

function emitHandler(a: Assembler, h: Handler, narrow: boolean): void {
  if (h.ret !== undefined) return a.ret(h.ret);
  // Rules in profile order, the first whose conditions all hold gives its action.
  for (const chain of h.chains!) {
    for (const alt of chain.alts) {
      const fail = a.label();
      for (const c of alt) emitCond(a, c, narrow, fail);
      a.ret(chain.ret);
      a.place(fail);
    }
  }
  a.ret(h.fallback!);
}

/** Binary search over ranges[i..j] (A holds nr); forward-only: the upper half is laid out after the lower. */
function emitTree(a: Assembler, ranges: Range[], i: number, j: number, narrow: boolean): void {
  if (i === j) return emitHandler(a, ranges[i]!.h, narrow);
  const m = (i + j + 1) >> 1;
  const upper = a.label();
  a.jmp(OP.JGE_K, ranges[m]!.lo, upper, NEXT);
  emitTree(a, ranges, i, m - 1, narrow);
  a.place(upper);
  emitTree(a, ranges, m, j, narrow);
}

/** The names (of applying rules) that no table of the filter's arches has: skipped, as runc does. */
function unknownNames(p: NormProfile): string[] {
  const out = new Set<string>();
  for (const r of p.rules) for (const n of r.names) if (!p.arches.some((arch) => lookup(arch, n) !== undefined)) out.add(n);
  return [...out];
}

/**
 * Compiles a normalised profile. Throws ProgramTooLarge past MAX_INSNS.
 * @internal
 */
export function compileNormal(p: NormProfile): CompileOutput {
  const a = new Assembler();
  // A second bad-arch return at the end, for the x32 checks (cBPF only jumps forward).
  const bad = a.label();
  let badUsed = false;
  const has = (x: SeccompArch): boolean => p.arches.includes(x);
  // Group arches by AUDIT_ARCH: x86_64 and x32 share one.
  const groups: SeccompArch[][] = [];
  for (const arch of p.arches) {
    if (arch === 'SCMP_ARCH_X32' && has('SCMP_ARCH_X86_64')) continue;
    groups.push(arch === 'SCMP_ARCH_X86_64' && has('SCMP_ARCH_X32') ? ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'] : [arch]);
  }
  const entries = groups.map(() => a.label());
  a.ld(ARCH);
  groups.forEach((g, i) => a.jmp(OP.JEQ_K, ARCHES[g[0]!].audit, entries[i]!, NEXT));
  a.ret(BAD_ARCH_RET);
  groups.forEach((g, i) => {
    a.place(entries[i]!);
    a.ld(NR);
    const x86_64 = g.includes('SCMP_ARCH_X86_64');
    const x32 = g.includes('SCMP_ARCH_X32');
    if (x86_64 || x32) {
      // The x32 ABI shares AUDIT_ARCH_X86_64 and sets __X32_SYSCALL_BIT in nr. nr -1 (a
      // tracer's skipped syscall) stays x86_64's, as libseccomp has it.
      const high = a.label();
      const tree64 = a.label();
      const x32Entry = x32 ? a.label() : bad;
      badUsed ||= !x32 || !x86_64;
      a.jmp(OP.JGE_K, X32_SYSCALL_BIT, high, tree64);
      a.place(high);
      a.jmp(OP.JEQ_K, 0xffffffff, x86_64 ? tree64 : x32Entry, x32Entry);
      a.place(tree64);
      if (x86_64) {
        const r = rangesOf(p, 'SCMP_ARCH_X86_64', 0, X32_SYSCALL_BIT - 1);
        emitTree(a, r, 0, r.length - 1, false);
      } else {
        a.ja(bad);
      }
      if (x32) {
        a.place(x32Entry);
        const r = rangesOf(p, 'SCMP_ARCH_X32', X32_SYSCALL_BIT, 0xffffffff);
        emitTree(a, r, 0, r.length - 1, false);
      }
    } else {
      const r = rangesOf(p, g[0]!, 0, 0xffffffff);
      emitTree(a, r, 0, r.length - 1, ARCHES[g[0]!].narrow);
    }
  });
  if (badUsed) {
    a.place(bad);
    a.ret(BAD_ARCH_RET);
  }
  const notify = new Set<string>();
  for (const r of p.rules) {
    if (r.action !== 'SCMP_ACT_NOTIFY') continue;
    for (const n of r.names) if (p.arches.some((arch) => lookup(arch, n) !== undefined)) notify.add(n);
  }
  return { program: a.assemble(MAX_INSNS), notifySyscalls: [...notify], unknown: unknownNames(p) };
}
