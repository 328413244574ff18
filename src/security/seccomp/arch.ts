/**
 * Architectures of the seccomp compiler: AUDIT_ARCH values, syscall tables, the native
 * arch and its compat arches, as runc's `archMap` has them.
 * @module
 */
import * as aarch64 from './tables/aarch64.js';
import * as arm from './tables/arm.js';
import * as x32 from './tables/x32.js';
import * as x86 from './tables/x86.js';
import * as x86_64 from './tables/x86_64.js';
import { invalidArgValue } from '../../errors.js';

/** The architectures the compiler has tables for, in libseccomp's names. */
export type SeccompArch = 'SCMP_ARCH_X86_64' | 'SCMP_ARCH_X86' | 'SCMP_ARCH_X32' | 'SCMP_ARCH_AARCH64' | 'SCMP_ARCH_ARM';

/** Native architectures a filter can be compiled for (Node's `process.arch` names). */
export type NativeArch = 'x64' | 'arm64';

/** `__X32_SYSCALL_BIT`: x32 syscalls arrive with AUDIT_ARCH_X86_64 and this bit in `nr`. */
export const X32_SYSCALL_BIT = 0x40000000;

/** One architecture's facts. @internal */
export interface ArchInfo {
  readonly name: SeccompArch;
  /** AUDIT_ARCH_* as seen in seccomp_data.arch. */
  readonly audit: number;
  /** Whether syscall arguments are 32 bits wide (only the low word of each is compared). */
  readonly narrow: boolean;
  /** The generated table module. */
  readonly table: { readonly TABLE: string; readonly KERNEL: string };
}

/** The tables, by SCMP_ARCH name. @internal */
export const ARCHES: Readonly<Record<SeccompArch, ArchInfo>> = {
  SCMP_ARCH_X86_64: { name: 'SCMP_ARCH_X86_64', audit: x86_64.AUDIT_ARCH, narrow: false, table: x86_64 },
  // x32 registers are 64 bits wide: compared as 64-bit values (libseccomp compares 32 bits).
  SCMP_ARCH_X32: { name: 'SCMP_ARCH_X32', audit: x32.AUDIT_ARCH, narrow: false, table: x32 },
  SCMP_ARCH_X86: { name: 'SCMP_ARCH_X86', audit: x86.AUDIT_ARCH, narrow: true, table: x86 },
  SCMP_ARCH_AARCH64: { name: 'SCMP_ARCH_AARCH64', audit: aarch64.AUDIT_ARCH, narrow: false, table: aarch64 },
  SCMP_ARCH_ARM: { name: 'SCMP_ARCH_ARM', audit: arm.AUDIT_ARCH, narrow: true, table: arm },
};

/** What a process of each native arch can present to a filter (runc's archMap). */
export const NATIVE_ARCHES: Readonly<Record<NativeArch, readonly SeccompArch[]>> = {
  x64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
};

/**
 * libseccomp's other arch names: accepted in a profile and left out of the filter, since no
 * process on x64 or arm64 can present them (a profile written for several hosts lists them).
 */
export const FOREIGN_ARCHES: ReadonlySet<string> = new Set([
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
  'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K',
  'SCMP_ARCH_SH',
  'SCMP_ARCH_SHEB',
]);

/** Other spellings accepted by {@link syscallNumber}: Node's, Go's, the kernel's. */
const ALIASES: Readonly<Record<string, SeccompArch>> = {
  x64: 'SCMP_ARCH_X86_64',
  x86_64: 'SCMP_ARCH_X86_64',
  amd64: 'SCMP_ARCH_X86_64',
  ia32: 'SCMP_ARCH_X86',
  x86: 'SCMP_ARCH_X86',
  i386: 'SCMP_ARCH_X86',
  i686: 'SCMP_ARCH_X86',
  x32: 'SCMP_ARCH_X32',
  arm64: 'SCMP_ARCH_AARCH64',
  aarch64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
};

/** The SCMP_ARCH name of `arch` in any accepted spelling, or undefined. @internal */
export function archByName(arch: string): SeccompArch | undefined {
  if (Object.hasOwn(ARCHES, arch)) return arch as SeccompArch;
  return Object.hasOwn(ALIASES, arch) ? ALIASES[arch] : undefined;
}

/** A parsed table. @internal */
export interface Parsed {
  /** name → number; no prototype, so any string is a safe key. */
  readonly byName: Readonly<Record<string, number>>;
  /** Every number the table assigns, ascending. */
  readonly numbers: Uint32Array;
}
const parsed = new Map<SeccompArch, Parsed>();
const byNumber = new Map<SeccompArch, ReadonlyMap<number, string>>();

/** The parsed table of an arch (parsed once, on first use). @internal */
export function tableOf(arch: SeccompArch): Parsed {
  let p = parsed.get(arch);
  if (p === undefined) {
    const byName = Object.setPrototypeOf(JSON.parse(ARCHES[arch].table.TABLE), null) as Record<string, number>;
    // The generator writes the table in number order.
    p = { byName, numbers: new Uint32Array(Object.values(byName)) };
    parsed.set(arch, p);
  }
  return p;
}

/** The number of `name` on `arch`, if the table has it. @internal */
export function lookup(arch: SeccompArch, name: string): number | undefined {
  return tableOf(arch).byName[name];
}

function namesByNumber(arch: SeccompArch): ReadonlyMap<number, string> {
  let m = byNumber.get(arch);
  if (m === undefined) {
    m = new Map(
      Object.entries(tableOf(arch).byName)
        .map(([n, nr]) => [nr, n] as const)
        .reverse(),
    );
    byNumber.set(arch, m);
  }
  return m;
}

function resolve(arch: string): SeccompArch {
  if (typeof arch !== 'string') throw invalidArgValue('arch', arch, 'must be an architecture name');
  const a = archByName(arch);
  if (a === undefined) {
    throw invalidArgValue('arch', arch, "must be one of 'x64', 'ia32', 'x32', 'arm64', 'arm' or an SCMP_ARCH_* name of these");
  }
  return a;
}

/**
 * The number of a syscall on an architecture, from the kernel's syscall tables
 * (x32 numbers include `__X32_SYSCALL_BIT`; ARM private calls are `0x0f0000 + n`).
 *
 * @param name - the kernel's name, e.g. `'openat'`.
 * @param arch - `'x64'`, `'ia32'`, `'x32'`, `'arm64'`, `'arm'`, or an `SCMP_ARCH_*` name.
 * @returns the number, or undefined if the arch has no such syscall.
 * @throws ERR_INVALID_ARG_VALUE for an unknown arch.
 */
export function syscallNumber(name: string, arch: string): number | undefined {
  return lookup(resolve(arch), name);
}

/**
 * The name of a syscall number on an architecture: the inverse of {@link syscallNumber}.
 *
 * @param nr - the number as seen in seccomp_data.nr.
 * @param arch - as for {@link syscallNumber}.
 * @returns the name, or undefined for a number the arch does not assign.
 * @throws ERR_INVALID_ARG_VALUE for an unknown arch.
 */
export function syscallName(nr: number, arch: string): string | undefined {
  return namesByNumber(resolve(arch)).get(nr);
}
