/**
 * compileSeccomp, its caches and nsbox's default profile: what a spawn with a seccomp filter
 * needs. Split from index.ts (which re-exports all of it with the disassembler and the
 * syscall tables) so that a spawn that finds its filter in the store (the linked CLI's,
 * nsbox-oci's) loads neither the compiler nor the tables, nor reads the default profile:
 * in the linked files, the modules imported here as `lazy…` run only when a compile needs
 * them (scripts/bundle.mjs).
 * @internal
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { statPath } from '../../pathstat.js';
import { nsboxError } from '../../errors.js';
import { invalidArgValue } from '../../errors.js';
import { native } from '../../native.js';
import type { NativeArch } from './arch.js';
import * as lazyAsm from './asm.js';
import { SECCOMP_FILTER_FLAG_NEW_LISTENER } from './flags.js';
import * as lazyCompile from './compile.js';
import type { CompileSeccompOptions, SeccompProfile } from './profile.js';
import * as lazyProfile from './profile.js';

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
 * store answers a key only with what it was given for that key. For nsbox's own
 * {@link defaultSeccompProfile} the key names the profile's file (its size, mtime and inode)
 * instead of its text, so that a hit needs neither the file's contents nor its JSON. @internal
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
    text = profile === defaultSeccompProfile ? defaultProfileId() : JSON.stringify(profile);
  } catch {
    return undefined;
  }
  if (typeof text !== 'string') return undefined;
  return `${arch}|${JSON.stringify(options.capabilities ?? null)}|${options.kernel ?? native.kernelRelease()}|${text}`;
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
  const norm = lazyProfile.normalizeProfile(profile, arch, options);
  let out: ReturnType<typeof lazyCompile.compileNormal>;
  try {
    out = lazyCompile.compileNormal(norm);
  } catch (err) {
    if (err instanceof lazyAsm.ProgramTooLarge) {
      throw nsboxError(
        'ERR_NSBOX_SECCOMP_TOO_LARGE',
        `The seccomp profile compiles to ${err.size} BPF instructions; the kernel takes at most ${lazyCompile.MAX_INSNS}`,
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

/** default.json: src/security/seccomp/ and dist/security/seccomp/ sit at the same depth; the package ships src/. */
const DEFAULT_PROFILE = fileURLToPath(new URL('../../../src/security/profiles/default.json', import.meta.url));

/** The default profile's file as a store key names it: a changed file is another key. */
function defaultProfileId(): string {
  // The native stat: no fs.Stats on a spawn's path; statSync only to report the profile missing.
  const st = statPath(DEFAULT_PROFILE, true) ?? statSync(DEFAULT_PROFILE);
  return `nsbox default profile ${st.size} ${st.mtimeMs} ${st.ino}`;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** The default profile's object, empty until {@link loadDefault} fills and freezes it. */
const defaultTarget = {} as SeccompProfile;
let defaultLoaded = false;

function loadDefault(): SeccompProfile {
  if (!defaultLoaded) {
    Object.assign(defaultTarget, JSON.parse(readFileSync(DEFAULT_PROFILE, 'utf8')) as SeccompProfile);
    deepFreeze(defaultTarget);
    defaultLoaded = true;
  }
  return defaultTarget;
}

/**
 * nsbox's default profile (src/security/profiles/default.json): Docker-like, written for
 * nsbox. Default action EPERM; the usual syscall set allowed; kernel keyrings, bpf,
 * perf_event_open, userfaultfd, io_uring, module and kexec calls, the mount API, namespace
 * creation (unshare, setns, clone with CLONE_NEW*; clone3 gets ENOSYS so glibc falls back to
 * clone), ptrace and process_vm_*, AF_ALG/AF_VSOCK sockets, TIOCSTI/TIOCLINUX ioctls, clock
 * and reboot calls refused. docs/security.md lists how it differs from Docker's and podman's.
 * Deep-frozen; its compiled filter is cached like any other profile's.
 *
 * A Proxy of the profile: the file is read and parsed at the first look inside (a property,
 * its keys, JSON.stringify), never by an identity check (`o.seccomp === defaultSeccompProfile`)
 * nor by a compile that finds its filter in a store of compiled filters (the nsbox command's,
 * nsbox-oci's). It behaves as the plain frozen object it stands for; `util.types.isProxy()`
 * tells it apart, and structuredClone() refuses it (clone `{ ...defaultSeccompProfile }`
 * instead).
 */
export const defaultSeccompProfile: Readonly<SeccompProfile> = new Proxy(defaultTarget, {
  get: (_, k) => Reflect.get(loadDefault(), k),
  has: (_, k) => Reflect.has(loadDefault(), k),
  ownKeys: () => Reflect.ownKeys(loadDefault()),
  getOwnPropertyDescriptor: (_, k) => Reflect.getOwnPropertyDescriptor(loadDefault(), k),
  defineProperty: (_, k, d) => Reflect.defineProperty(loadDefault(), k, d),
  deleteProperty: (_, k) => Reflect.deleteProperty(loadDefault(), k),
  set: (_, k, v) => Reflect.set(loadDefault(), k, v),
  isExtensible: () => Reflect.isExtensible(loadDefault()),
  preventExtensions: () => Reflect.preventExtensions(loadDefault()),
  getPrototypeOf: () => Reflect.getPrototypeOf(loadDefault()),
  setPrototypeOf: (_, p) => Reflect.setPrototypeOf(loadDefault(), p),
});
