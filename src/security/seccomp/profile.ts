/**
 * The OCI seccomp profile (config.json's `linux.seccomp`, Docker's and podman's profile
 * files): its types and their validation into the compiler's normal form.
 * @module
 */
import { release } from 'node:os';
import { invalidArgType, invalidArgValue, outOfRange } from '../../errors.js';
import { ARCHES, FOREIGN_ARCHES, NATIVE_ARCHES, type NativeArch, type SeccompArch } from './arch.js';
import { DOCKER_CAPABILITIES } from '../defaults.js';

/** What the filter does with a syscall (libseccomp's names, as in the OCI runtime spec). */
export type SeccompAction =
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';

/** How an argument is compared: unsigned 64-bit, `MASKED_EQ` is `(arg & value) == valueTwo`. */
export type SeccompOperator =
  | 'SCMP_CMP_NE'
  | 'SCMP_CMP_LT'
  | 'SCMP_CMP_LE'
  | 'SCMP_CMP_EQ'
  | 'SCMP_CMP_GE'
  | 'SCMP_CMP_GT'
  | 'SCMP_CMP_MASKED_EQ';

/** One condition on a syscall argument. */
export interface SeccompArg {
  /** Which argument, 0 to 5. */
  index: number;
  /** Unsigned, up to 2^64 − 1 (use a bigint past 2^53). For `MASKED_EQ`, the mask. */
  value: number | bigint;
  /** For `MASKED_EQ`, what the masked argument must equal (its bits outside the mask ignored, as libseccomp); otherwise unused. */
  valueTwo?: number | bigint;
  /** The comparison. */
  op: SeccompOperator;
}

/** Docker's and podman's rule filter: a rule applies only on these capabilities, arches, kernels. */
export interface SeccompRuleFilter {
  /** Capabilities (`CAP_SYS_ADMIN` or `SYS_ADMIN`): includes needs all, excludes any. */
  caps?: string[];
  /** Go's arch names (`amd64`, `arm64`, `x32`, `x86`, `arm`): compared with the native arch. */
  arches?: string[];
  /** Includes only: the least kernel release, e.g. `'4.8'`. */
  minKernel?: string;
}

/** A rule: the syscalls it names get `action` when every condition in `args` holds. */
export interface SeccompSyscallRule {
  /** Syscall names; names in no table of any requested arch are skipped (see `unknown`). */
  names: string[];
  /** The action. */
  action: SeccompAction;
  /** errno for `SCMP_ACT_ERRNO` (default 1, EPERM, as runc and crun), tracer data for `SCMP_ACT_TRACE` (default 0). */
  errnoRet?: number;
  /** Conditions, ANDed; when one index repeats, each condition becomes its own rule (ORed), as in runc. */
  args?: SeccompArg[] | null;
  /** Docker/podman: apply only when all of these hold. */
  includes?: SeccompRuleFilter;
  /** Docker/podman: skip when any of these holds. */
  excludes?: SeccompRuleFilter;
  /** Free text, ignored. */
  comment?: string;
}

/** Docker's `archMap` entry: a native arch and the compat arches that go with it. */
export interface SeccompArchMapEntry {
  /** The native arch, e.g. `SCMP_ARCH_X86_64`. */
  architecture: string;
  /** Its compat arches. */
  subArchitectures?: string[];
}

/** An OCI seccomp profile (runtime-spec config-linux.md#seccomp), plus Docker's `archMap`/`includes`. */
export interface SeccompProfile {
  /** What syscalls no rule names get. `SCMP_ACT_NOTIFY` is refused here (the kernel and runc refuse it). */
  defaultAction: SeccompAction;
  /** errno of a `SCMP_ACT_ERRNO` default (default 1). */
  defaultErrnoRet?: number;
  /** `SCMP_ARCH_*` names; absent: the native arch and its compat arches. */
  architectures?: string[];
  /** Docker's form of `architectures`, used when that is absent. */
  archMap?: SeccompArchMapEntry[];
  /** `SECCOMP_FILTER_FLAG_TSYNC|LOG|SPEC_ALLOW|WAIT_KILLABLE_RECV`. TSYNC is accepted and dropped (the child is single-threaded). */
  flags?: string[];
  /** OCI: the socket the listener fd is sent to (not used by the compiler). */
  listenerPath?: string;
  /** OCI: opaque data sent with the listener fd (not used by the compiler). */
  listenerMetadata?: string;
  /** The rules. */
  syscalls?: SeccompSyscallRule[];
}

/** Options of compileSeccomp. */
export interface CompileSeccompOptions {
  /** The native arch the filter is for; default `process.arch`. */
  arch?: NativeArch;
  /** Capabilities for Docker-style `includes.caps`/`excludes.caps`; default Docker's 14. */
  capabilities?: readonly string[];
  /** Kernel release for `includes.minKernel`; default `os.release()`. */
  kernel?: string;
}

/** SECCOMP_RET_* of each action, before the data bits. @internal */
export const ACTION_RET: Readonly<Record<SeccompAction, number>> = {
  SCMP_ACT_KILL: 0,
  SCMP_ACT_KILL_THREAD: 0,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_TRACE: 0x7ff00000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_NOTIFY: 0x7fc00000,
  SCMP_ACT_ALLOW: 0x7fff0000,
};

/** The flag names the OCI spec lists, and their SECCOMP_FILTER_FLAG_* bits. @internal */
export const FLAG_BITS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: 0, // dropped: see SeccompProfile.flags
  SECCOMP_FILTER_FLAG_LOG: 1 << 1,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 1 << 2,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 1 << 5,
};

/** Syscalls refused under SCMP_ACT_NOTIFY: the child sends the listener fd with them after loading. */
const NO_NOTIFY = new Set(['write', 'sendmsg']);

/** A condition in normal form. @internal */
export interface Cond {
  readonly index: number;
  readonly op: SeccompOperator;
  readonly value: bigint;
  readonly valueTwo: bigint;
}

/** A rule in normal form: `alternatives` ORed, each an AND of conditions; `[[]]` is unconditional. @internal */
export interface NormRule {
  readonly names: readonly string[];
  readonly action: SeccompAction;
  readonly ret: number;
  readonly alternatives: readonly (readonly Cond[])[];
}

/** A validated profile. @internal */
export interface NormProfile {
  readonly defaultAction: SeccompAction;
  readonly defaultRet: number;
  readonly arches: readonly SeccompArch[];
  readonly flags: number;
  readonly rules: readonly NormRule[];
}

const U64_MAX = (1n << 64n) - 1n;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringArray(v: unknown, path: string): string[] {
  if (!Array.isArray(v)) throw invalidArgType(path, 'an array of strings', v);
  v.forEach((s, i) => {
    if (typeof s !== 'string' || s === '') throw invalidArgValue(`${path}[${i}]`, s, 'must be a non-empty string');
  });
  return v as string[];
}

function action(v: unknown, path: string): SeccompAction {
  if (typeof v !== 'string' || !Object.hasOwn(ACTION_RET, v)) {
    throw invalidArgValue(path, v, `must be one of ${Object.keys(ACTION_RET).join(', ')}`);
  }
  return v as SeccompAction;
}

function errno(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number') throw invalidArgType(path, 'of type number', v);
  if (!Number.isInteger(v) || v < 0 || v > 4095) throw outOfRange(path, 'an integer from 0 to 4095', v);
  return v;
}

function retOf(act: SeccompAction, data: number | undefined): number {
  const base = ACTION_RET[act];
  if (act === 'SCMP_ACT_ERRNO') return (base | (data ?? 1)) >>> 0;
  if (act === 'SCMP_ACT_TRACE') return (base | (data ?? 0)) >>> 0;
  return base;
}

function u64(v: unknown, path: string): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n || v > U64_MAX) throw outOfRange(path, '>= 0 and <= 2^64 - 1', v);
    return v;
  }
  if (typeof v !== 'number') throw invalidArgType(path, 'of type number or bigint', v);
  if (!Number.isInteger(v) || v < 0 || v > 2 ** 64 - 1) throw outOfRange(path, 'an integer >= 0 and <= 2^64 - 1', v);
  return BigInt(v);
}

const OPS = new Set<string>([
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
]);

function cond(a: unknown, path: string): Cond {
  if (!isObject(a)) throw invalidArgType(path, 'of type object', a);
  const { index, op } = a;
  if (typeof index !== 'number') throw invalidArgType(`${path}.index`, 'of type number', index);
  if (!Number.isInteger(index) || index < 0 || index > 5) throw outOfRange(`${path}.index`, 'an integer from 0 to 5', index);
  if (typeof op !== 'string' || !OPS.has(op)) throw invalidArgValue(`${path}.op`, op, `must be one of ${[...OPS].join(', ')}`);
  const value = u64(a.value, `${path}.value`);
  let valueTwo = a.valueTwo === undefined || a.valueTwo === null ? 0n : u64(a.valueTwo, `${path}.valueTwo`);
  // Bits of valueTwo outside the mask are ignored, as libseccomp does (so runc and crun).
  if (op === 'SCMP_CMP_MASKED_EQ') valueTwo &= value;
  return { index, op: op as SeccompOperator, value, valueTwo };
}

function capName(c: string): string {
  const u = c.toUpperCase();
  return u.startsWith('CAP_') ? u : `CAP_${u}`;
}

function kernelAtLeast(kernel: string, min: string): boolean {
  const parse = (s: string): number[] => (/^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(s) ?? []).slice(1).map((x) => Number(x ?? 0));
  const k = parse(kernel);
  const m = parse(min);
  for (let i = 0; i < 3; i++) if ((k[i] ?? 0) !== (m[i] ?? 0)) return (k[i] ?? 0) > (m[i] ?? 0);
  return true;
}

const GO_ARCH: Readonly<Record<NativeArch, string>> = { x64: 'amd64', arm64: 'arm64' };

/** Whether a Docker-style rule applies with these capabilities, arch and kernel (moby's seccomp_linux.go). */
function applies(rule: Record<string, unknown>, path: string, native: NativeArch, caps: ReadonlySet<string>, kernel: string): boolean {
  const inc = rule.includes ?? undefined;
  const exc = rule.excludes ?? undefined;
  if (inc !== undefined && inc !== null) {
    if (!isObject(inc)) throw invalidArgType(`${path}.includes`, 'of type object', inc);
    if (inc.caps != null && !stringArray(inc.caps, `${path}.includes.caps`).every((c) => caps.has(capName(c)))) return false;
    if (inc.arches != null && !stringArray(inc.arches, `${path}.includes.arches`).includes(GO_ARCH[native])) return false;
    if (inc.minKernel != null) {
      if (typeof inc.minKernel !== 'string' || !/^\d+(\.\d+)*/.test(inc.minKernel)) {
        throw invalidArgValue(`${path}.includes.minKernel`, inc.minKernel, "must be a kernel release like '5.8'");
      }
      if (!kernelAtLeast(kernel, inc.minKernel)) return false;
    }
  }
  if (exc !== undefined && exc !== null) {
    if (!isObject(exc)) throw invalidArgType(`${path}.excludes`, 'of type object', exc);
    if (exc.caps != null && stringArray(exc.caps, `${path}.excludes.caps`).some((c) => caps.has(capName(c)))) return false;
    if (exc.arches != null && stringArray(exc.arches, `${path}.excludes.arches`).includes(GO_ARCH[native])) return false;
  }
  return true;
}

function arches(p: Record<string, unknown>, native: NativeArch): SeccompArch[] {
  let names: string[];
  let path = 'profile.architectures';
  if (p.architectures != null) {
    names = stringArray(p.architectures, path);
  } else if (p.archMap != null) {
    path = 'profile.archMap';
    if (!Array.isArray(p.archMap)) throw invalidArgType(path, 'an array', p.archMap);
    names = [];
    p.archMap.forEach((e: unknown, i) => {
      if (!isObject(e)) throw invalidArgType(`${path}[${i}]`, 'of type object', e);
      const main = stringArray([e.architecture], `${path}[${i}].architecture`)[0]!;
      if (main === NATIVE_ARCHES[native][0]) names.push(main, ...stringArray(e.subArchitectures ?? [], `${path}[${i}].subArchitectures`));
    });
    if (names.length === 0) return [...NATIVE_ARCHES[native]];
  } else {
    return [...NATIVE_ARCHES[native]];
  }
  // The native arch is always in the filter: libseccomp's seccomp_init() adds it and runc never removes it.
  const out: SeccompArch[] = [NATIVE_ARCHES[native][0]!];
  names.forEach((n, i) => {
    if (Object.hasOwn(ARCHES, n)) {
      const a = n as SeccompArch;
      // An arch the native one cannot run is left out, like a foreign one.
      if (NATIVE_ARCHES[native].includes(a) && !out.includes(a)) out.push(a);
    } else if (!FOREIGN_ARCHES.has(n)) {
      throw invalidArgValue(`${path}[${i}]`, n, 'must be an SCMP_ARCH_* name');
    }
  });
  return out;
}

/**
 * Validates a profile and brings it to normal form: actions as SECCOMP_RET_* words, rules
 * filtered by Docker's includes/excludes, repeated argument indexes split into ORed rules.
 * @internal
 */
export function normalizeProfile(profile: unknown, native: NativeArch, options: CompileSeccompOptions): NormProfile {
  if (!isObject(profile)) throw invalidArgType('profile', 'of type object', profile);
  const defaultAction = action(profile.defaultAction, 'profile.defaultAction');
  if (defaultAction === 'SCMP_ACT_NOTIFY') {
    throw invalidArgValue(
      'profile.defaultAction',
      defaultAction,
      "cannot be SCMP_ACT_NOTIFY (the kernel would notify the listener's own syscalls)",
    );
  }
  const defaultErrno = errno(profile.defaultErrnoRet, 'profile.defaultErrnoRet');
  let flags = 0;
  if (profile.flags != null) {
    stringArray(profile.flags, 'profile.flags').forEach((f, i) => {
      if (!Object.hasOwn(FLAG_BITS, f))
        throw invalidArgValue(`profile.flags[${i}]`, f, `must be one of ${Object.keys(FLAG_BITS).join(', ')}`);
      flags |= FLAG_BITS[f]!;
    });
  }
  for (const k of ['listenerPath', 'listenerMetadata'] as const) {
    if (profile[k] != null && typeof profile[k] !== 'string') throw invalidArgType(`profile.${k}`, 'of type string', profile[k]);
  }
  const caps = new Set((options.capabilities ?? DOCKER_CAPABILITIES).map(capName));
  const kernel = options.kernel ?? release();
  const rules: NormRule[] = [];
  const syscalls = profile.syscalls ?? [];
  if (!Array.isArray(syscalls)) throw invalidArgType('profile.syscalls', 'an array', syscalls);
  syscalls.forEach((r: unknown, i) => {
    const path = `profile.syscalls[${i}]`;
    if (!isObject(r)) throw invalidArgType(path, 'of type object', r);
    const names = stringArray(r.names, `${path}.names`);
    const act = action(r.action, `${path}.action`);
    const data = errno(r.errnoRet, `${path}.errnoRet`);
    const args = r.args ?? [];
    if (!Array.isArray(args)) throw invalidArgType(`${path}.args`, 'an array', args);
    const conds = args.map((a: unknown, j) => cond(a, `${path}.args[${j}]`));
    if (act === 'SCMP_ACT_NOTIFY') {
      const bad = names.findIndex((n) => NO_NOTIFY.has(n));
      if (bad >= 0)
        throw invalidArgValue(
          `${path}.names[${bad}]`,
          names[bad],
          'cannot be under SCMP_ACT_NOTIFY (the child sends the listener fd with it)',
        );
    }
    if (!applies(r, path, native, caps, kernel)) return;
    const repeated = new Set(conds.map((c) => c.index)).size !== conds.length;
    rules.push({ names, action: act, ret: retOf(act, data), alternatives: repeated ? conds.map((c) => [c]) : [conds] });
  });
  return { defaultAction, defaultRet: retOf(defaultAction, defaultErrno), arches: arches(profile, native), flags, rules };
}
