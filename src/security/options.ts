/**
 * The security options of `spawn()`, in the OCI runtime spec's names and shapes
 * (`process.capabilities`, `process.noNewPrivileges`, `process.rlimits`,
 * `process.oomScoreAdj`, `process.user.umask`, `linux.seccomp`, `linux.sysctl`,
 * `linux.personality`), and their validation — before any syscall.
 * @module
 */
import { invalidArgType, invalidArgValue } from '../errors.js';
import { allCapabilities, CAP_SETS, capabilityMask, capabilityNames, lastCap, type LinuxCapabilities } from './capabilities.js';
import type { LandlockRuleset, ResolvedLandlock } from './landlock.js';
import * as lazyLandlock from './landlock.js';
import { compileSeccomp, type CompiledSeccomp } from './seccomp/filter.js';
import type { SeccompProfile } from './seccomp/profile.js';
import { checkOomScoreAdj, checkSysctl, checkUmask, packRlimits, personalityValue, type Personality, type Rlimit } from './limits.js';

/**
 * What a spawned process may do: its capabilities, no_new_privs, resource limits and the
 * other per-process settings. Every field is optional and left as the caller's when absent
 * (spawn is a primitive); {@link hardened} gives the defaults `nsbox run` uses.
 */
export interface SecurityOptions {
  /**
   * The capability sets after the credential change (OCI `process.capabilities`). A set left
   * out is empty. Absent: the child keeps what it has (all of them in a new user namespace).
   */
  capabilities?: LinuxCapabilities;
  /** prctl(PR_SET_NO_NEW_PRIVS): setuid bits and file capabilities grant nothing at execve(2). */
  noNewPrivileges?: boolean;
  /** Resource limits, set by the parent with prlimit(2) before the child runs any step. */
  rlimits?: Rlimit[];
  /** /proc/PID/oom_score_adj (-1000..1000), written by the parent before the child runs any step. */
  oomScoreAdj?: number;
  /** umask(2) of the command (e.g. `0o022`). Absent: inherited. */
  umask?: number;
  /** personality(2): the execution domain (`LINUX32` makes `uname -m` say i686) and flags. */
  personality?: Personality;
  /**
   * Namespaced sysctls (`{ 'net.ipv4.ip_forward': '1' }`), written in the child's namespaces
   * before /proc/sys is made read-only. A key that is not namespaced is refused.
   */
  sysctl?: Record<string, string | number>;
  /**
   * A seccomp filter (OCI `linux.seccomp` / Docker profile JSON), compiled to classic BPF in
   * TypeScript (cached per profile object) and loaded by the child just before execve(2).
   * `SCMP_ACT_NOTIFY` rules need `noNewPrivileges` and give the child a `seccompNotifier`.
   */
  seccomp?: SeccompProfile;
  /**
   * A Landlock ruleset (landlock(7)) the child puts on itself after every mount, pivot_root
   * and id change, just before exec: whatever it handles is denied except what its rules
   * grant, for the command and everything it starts. Rule paths are the child's view (the
   * container's paths). Needs Landlock (`features().landlock` > 0; best-effort mode runs
   * without it) and, for landlock_restrict_self(2), no_new_privs or CAP_SYS_ADMIN in the
   * child's user namespace (root, or a new user namespace): else EPERM, step 'landlock'.
   * See {@link LandlockRuleset} and docs/security.md.
   */
  landlock?: LandlockRuleset;
}

/** The names {@link SecurityOptions} adds to the spawn options. @internal */
export const SECURITY_KEYS: readonly string[] = [
  'capabilities',
  'noNewPrivileges',
  'rlimits',
  'oomScoreAdj',
  'umask',
  'personality',
  'sysctl',
  'seccomp',
  'landlock',
];

/**
 * Syscalls the child makes after loading the filter (sending the listener, execve): a
 * notify rule on one of them would wait for an answer spawn() cannot give yet.
 */
const AFTER_FILTER = new Set(['execve', 'execveat', 'sendmsg', 'sendto', 'close', 'rt_sigprocmask', 'exit_group', 'exit']);

/** Validated security options. @internal */
export interface CheckedSecurity {
  /** Masks of the five sets, or undefined to leave capabilities alone. */
  caps?: { bounding: bigint; effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint; last: number };
  noNewPrivileges: boolean;
  rlimits?: BigUint64Array;
  oomScoreAdj?: number;
  umask?: number;
  personality?: number;
  /** (path under /proc/sys, value) pairs. */
  sysctl: Array<[string, string]>;
  seccomp?: CompiledSeccomp;
  /** The profile object `seccomp` was compiled from. */
  seccompSource?: object;
  /** The ruleset masked to this kernel's Landlock ABI, or undefined (none asked, or none applies). */
  landlock?: ResolvedLandlock;
}

function checkCapabilities(v: unknown): CheckedSecurity['caps'] {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw invalidArgType('options.capabilities', 'an object of capability sets', v);
  for (const k of Object.keys(v)) {
    if (!(CAP_SETS as readonly string[]).includes(k))
      throw invalidArgValue(
        `options.capabilities.${k}`,
        (v as Record<string, unknown>)[k],
        `is not a capability set: use ${CAP_SETS.join(', ')}`,
      );
  }
  const c = v as LinuxCapabilities;
  const m = {
    bounding: capabilityMask(c.bounding, 'options.capabilities.bounding'),
    effective: capabilityMask(c.effective, 'options.capabilities.effective'),
    permitted: capabilityMask(c.permitted, 'options.capabilities.permitted'),
    inheritable: capabilityMask(c.inheritable, 'options.capabilities.inheritable'),
    ambient: capabilityMask(c.ambient, 'options.capabilities.ambient'),
    last: lastCap(),
  };
  // What capset(2) and PR_CAP_AMBIENT_RAISE would refuse, said before any syscall.
  const outside = (a: bigint, b: bigint) => a & ~b;
  if (outside(m.effective, m.permitted))
    throw invalidArgValue('options.capabilities.effective', c.effective, 'must be a subset of permitted');
  if (outside(m.ambient, m.permitted & m.inheritable))
    throw invalidArgValue('options.capabilities.ambient', c.ambient, 'must be a subset of both permitted and inheritable');
  return m;
}

/**
 * Checks the security options of `o`. `own` names the namespaces the child has of its own
 * (new or joined), for sysctl. @internal
 */
export function checkSecurity(o: SecurityOptions, own: ReadonlySet<string>): CheckedSecurity {
  if (o.noNewPrivileges !== undefined && typeof o.noNewPrivileges !== 'boolean')
    throw invalidArgType('options.noNewPrivileges', 'of type boolean', o.noNewPrivileges);
  const out: CheckedSecurity = { noNewPrivileges: o.noNewPrivileges === true, sysctl: checkSysctl(o.sysctl, own) };
  const caps = checkCapabilities(o.capabilities);
  if (caps) out.caps = caps;
  const rl = packRlimits(o.rlimits);
  if (rl) out.rlimits = rl;
  const oom = checkOomScoreAdj(o.oomScoreAdj);
  if (oom !== undefined) out.oomScoreAdj = oom;
  const um = checkUmask(o.umask);
  if (um !== undefined) out.umask = um;
  const per = personalityValue(o.personality);
  if (per !== undefined) out.personality = per;
  if (o.seccomp !== undefined) {
    if (typeof o.seccomp !== 'object' || o.seccomp === null) throw invalidArgType('options.seccomp', 'a seccomp profile object', o.seccomp);
    // Docker-style `includes.caps` rules follow the capabilities the command will hold.
    const held = out.caps ? capabilityNames(out.caps.effective | out.caps.permitted) : allCapabilities();
    const sc = compileSeccomp(o.seccomp, { capabilities: held });
    if (sc.notify) {
      if (!out.noNewPrivileges)
        throw invalidArgValue(
          'options.seccomp',
          'SCMP_ACT_NOTIFY',
          'has notify rules, which need options.noNewPrivileges: true (the filter then loads last, just before execve)',
        );
      const bad = sc.notifySyscalls.filter((n: string) => AFTER_FILTER.has(n));
      if (bad.length > 0)
        throw invalidArgValue(
          'options.seccomp',
          bad.join(', '),
          'notifies a syscall the child itself makes after loading the filter (it would wait forever)',
        );
    }
    out.seccomp = sc;
    out.seccompSource = o.seccomp;
  }
  if (o.landlock !== undefined) {
    const ll = lazyLandlock.resolveLandlock('options.landlock', o.landlock);
    if (ll) out.landlock = ll;
  }
  return out;
}
