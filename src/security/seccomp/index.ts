/**
 * seccomp: an OCI seccomp profile → classic BPF compiler in TypeScript, its syscall tables,
 * a disassembler and nsbox's default profile. The program it makes is loaded by the spawn
 * plan's child with seccomp(2) (SECCOMP_SET_MODE_FILTER, with `flags`).
 *
 * docs/security.md ("seccomp") states the compiler's rules: architectures and x32, the
 * ENOSYS rule, the bad-arch action, argument splitting, limits.
 * @module
 */
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { nsboxError } from '../../errors.js';
import { invalidArgValue } from '../../errors.js';
import type { NativeArch } from './arch.js';
import { ProgramTooLarge } from './asm.js';
import { SECCOMP_FILTER_FLAG_NEW_LISTENER } from './flags.js';
import { MAX_INSNS, compileNormal } from './compile.js';
import { normalizeProfile, type CompileSeccompOptions, type SeccompProfile } from './profile.js';

export { disassemble } from './disasm.js';
export { SECCOMP_FILTER_FLAG_NEW_LISTENER } from './flags.js';
export { syscallName, syscallNumber, type NativeArch, type SeccompArch } from './arch.js';
export type {
  CompileSeccompOptions,
  SeccompAction,
  SeccompArchMapEntry,
  SeccompArg,
  SeccompOperator,
  SeccompProfile,
  SeccompRuleFilter,
  SeccompSyscallRule,
} from './profile.js';

/** A compiled filter. Shared by every compile of the same profile object: never mutate `program`. */
export interface CompiledSeccomp {
  /** struct sock_filter[] in host byte order, 8 bytes an instruction, for SECCOMP_SET_MODE_FILTER. */
  readonly program: Uint8Array;
  /** `program.length / 8`; at most 4096 (BPF_MAXINSNS). */
  readonly instructions: number;
  /** SECCOMP_FILTER_FLAG_* bits for seccomp(2); includes NEW_LISTENER (1 << 3) when any rule notifies. */
  readonly flags: number;
  /** Whether a rule has `SCMP_ACT_NOTIFY`, so seccomp(2) returns a listener fd. */
  readonly notify: boolean;
  /** The syscalls under `SCMP_ACT_NOTIFY`. */
  readonly notifySyscalls: readonly string[];
  /** Names in the profile that no table of the filter's arches has: skipped, as runc skips them. A typo check. */
  readonly unknown: readonly string[];
}

const cache = new WeakMap<object, Map<string, CompiledSeccomp>>();

/**
 * Somewhere to keep compiled filters beyond this process, for a program that compiles the
 * same profile in one short-lived process after another (the OCI runtime: podman hands every
 * `create` the same profile). {@link compileSeccomp} asks it before compiling and gives it
 * what it compiled. `key` names exactly what was compiled: the arch, the options and the
 * profile's JSON text (so a store is for profiles parsed from JSON, as config.json's are); a
 * store answers a key only with what it was given for that key. @internal
 */
export interface SeccompStore {
  get(key: string): CompiledSeccomp | undefined;
  set(key: string, compiled: CompiledSeccomp): void;
}
let store: SeccompStore | undefined;

/** Sets this process's {@link SeccompStore}; undefined removes it. @internal */
export function setSeccompStore(s: SeccompStore | undefined): void {
  store = s;
}

/** A store's key for a compile: everything its result depends on; undefined when JSON cannot say the profile (a bigint). */
function storeKey(profile: SeccompProfile, arch: NativeArch, options: CompileSeccompOptions): string | undefined {
  let text: string | undefined;
  try {
    text = JSON.stringify(profile);
  } catch {
    return undefined;
  }
  if (typeof text !== 'string') return undefined;
  return `${arch}|${JSON.stringify(options.capabilities ?? null)}|${options.kernel ?? release()}|${text}`;
}

function remember(profile: SeccompProfile, key: string, compiled: CompiledSeccomp): CompiledSeccomp {
  let perProfile = cache.get(profile);
  if (perProfile === undefined) cache.set(profile, (perProfile = new Map()));
  perProfile.set(key, compiled);
  return compiled;
}

function nativeArch(arch: unknown): NativeArch {
  if (arch === 'x64' || arch === 'arm64') return arch;
  throw invalidArgValue('options.arch', arch, "must be 'x64' or 'arm64'");
}

/**
 * Compiles an OCI seccomp profile (config.json's `linux.seccomp`; Docker's and podman's
 * profile files, with `archMap` and `includes`/`excludes`, too) to a classic BPF program.
 *
 * Rules, in short (docs/security.md has them in full): the native arch is always in the
 * filter, the others when `architectures` lists them (absent: x86_64+x86+x32, or
 * aarch64+arm); any other arch gets SECCOMP_RET_KILL_PROCESS, x32 (nr ≥ 0x40000000 under
 * AUDIT_ARCH_X86_64) included unless listed. When the default action refuses (ERRNO but not
 * ENOSYS, KILL*, TRAP), a syscall number the profile does not name gets ENOSYS if it is
 * above every number the profile names on that arch or absent from the arch's table, so
 * glibc's fallbacks (clone3 → clone, faccessat2 → faccessat) work. For one syscall, the
 * conditional rules are tried in profile order, the first that holds gives its action; then
 * its first unconditional rule, else the default (libseccomp instead drops conditional rules
 * when an unconditional one exists: nsbox keeps them, so a refusal such as TIOCSTI can
 * carve an exception out of an allowed `ioctl`).
 *
 * The result is cached by the identity of `profile` (and the options): a thousand compiles
 * of one object compile once. Treat a profile as immutable once compiled.
 *
 * @param profile - the profile.
 * @param options - `arch` (default `process.arch`), and for Docker-style rules `capabilities`
 *   (default Docker's 14) and `kernel` (default `os.release()`).
 * @returns the program, its seccomp(2) flags, and the notify and unknown-name lists.
 * @throws ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE / ERR_OUT_OF_RANGE for a bad profile
 *   (the message names the offending property, e.g. `profile.syscalls[3].args[0].index`);
 *   ERR_NSBOX_SECCOMP_TOO_LARGE when the program would exceed 4096 instructions.
 */
export function compileSeccomp(profile: SeccompProfile, options: CompileSeccompOptions = {}): CompiledSeccomp {
  const arch = nativeArch(options.arch ?? process.arch);
  const key = `${arch}|${options.capabilities?.join(',') ?? ''}|${options.kernel ?? ''}`;
  const hit = typeof profile === 'object' && profile !== null ? cache.get(profile)?.get(key) : undefined;
  if (hit !== undefined) return hit;
  const sk = store === undefined ? undefined : storeKey(profile, arch, options);
  const kept = sk === undefined ? undefined : store?.get(sk);
  if (kept !== undefined) return remember(profile, key, kept);
  const norm = normalizeProfile(profile, arch, options);
  let out: ReturnType<typeof compileNormal>;
  try {
    out = compileNormal(norm);
  } catch (err) {
    if (err instanceof ProgramTooLarge) {
      throw nsboxError(
        'ERR_NSBOX_SECCOMP_TOO_LARGE',
        `The seccomp profile compiles to ${err.size} BPF instructions; the kernel takes at most ${MAX_INSNS}`,
      );
    }
    throw err;
  }
  const notify = out.notifySyscalls.length > 0;
  const compiled: CompiledSeccomp = Object.freeze({
    program: out.program,
    instructions: out.program.length / 8,
    flags: norm.flags | (notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0),
    notify,
    notifySyscalls: Object.freeze(out.notifySyscalls),
    unknown: Object.freeze(out.unknown),
  });
  if (sk !== undefined) store?.set(sk, compiled);
  return remember(profile, key, compiled);
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/**
 * nsbox's default profile (src/security/profiles/default.json): Docker-like, written for
 * nsbox. Default action EPERM; the usual syscall set allowed; kernel keyrings, bpf,
 * perf_event_open, userfaultfd, io_uring, module and kexec calls, the mount API, namespace
 * creation (unshare, setns, clone with CLONE_NEW*; clone3 gets ENOSYS so glibc falls back to
 * clone), ptrace and process_vm_*, AF_ALG/AF_VSOCK sockets, TIOCSTI/TIOCLINUX ioctls, clock
 * and reboot calls refused. docs/security.md lists how it differs from Docker's and podman's.
 * Deep-frozen; its compiled filter is cached like any other profile's.
 */
export const defaultSeccompProfile: Readonly<SeccompProfile> = deepFreeze(
  // src/security/seccomp/ and dist/security/seccomp/ sit at the same depth; the package ships src/.
  JSON.parse(readFileSync(new URL('../../../src/security/profiles/default.json', import.meta.url), 'utf8')) as SeccompProfile,
);
