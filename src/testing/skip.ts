/**
 * `skipReason()` and `skipUnless()`: why a test cannot run here, from `features()` and the
 * process's privileges, so one suite runs as root, rootless and on older kernels unedited.
 * @module
 */
import { invalidArgValue } from '../errors.js';
import { features } from '../features.js';
import { findDelegatedCgroup } from './cgroup-parent.js';

/**
 * What a test needs:
 * - `'root'`: euid 0 with CAP_SYS_ADMIN; `'rootless'`: not root (tests of unprivileged behaviour);
 * - `'userns'`: user namespaces can be created (`features().userNamespaces`): {@link runIsolated}'s default;
 * - `'netns'`, `'mountns'`: {@link useNetns}/{@link useVeth} and {@link useMountns} (CAP_SYS_ADMIN);
 * - `'cgroup'`: a delegated cgroup v2 parent for {@link useCgroup}; `'cgroup:memory'`: with
 *   that controller usable in the test cgroup;
 * - a kernel interface `features()` probes: `'clone3'`, `'cloneIntoCgroup'`, `'pidfd'`,
 *   `'closeRange'`, `'timeNamespace'`, `'newMountApi'`, `'mountSetattr'`, `'openat2'`,
 *   `'landlock'` (any ABI) or `'landlock>=N'`;
 * - `'newuidmap'`: the setuid helpers for multi-range id maps.
 */
export type Requirement =
  | 'root'
  | 'rootless'
  | 'userns'
  | 'netns'
  | 'mountns'
  | 'cgroup'
  | `cgroup:${string}`
  | 'clone3'
  | 'cloneIntoCgroup'
  | 'pidfd'
  | 'closeRange'
  | 'timeNamespace'
  | 'newMountApi'
  | 'mountSetattr'
  | 'openat2'
  | 'landlock'
  | `landlock>=${number}`
  | 'newuidmap';

const KERNEL = ['clone3', 'cloneIntoCgroup', 'pidfd', 'closeRange', 'timeNamespace', 'newMountApi', 'mountSetattr', 'openat2'] as const;

function reasonFor(req: Requirement): string | false {
  const f = features();
  const privileged = f.root && f.capSysAdmin;
  switch (req) {
    case 'root':
      return !privileged && `needs root (euid 0 with CAP_SYS_ADMIN; this is uid ${f.euid})`;
    case 'rootless':
      return f.root && 'runs as an unprivileged user only';
    case 'userns':
      return !f.userNamespaces && `user namespaces cannot be created here (${f.userNamespacesError ?? 'refused'})`;
    case 'netns':
      return (
        !privileged && 'a network namespace the test acts in from outside needs root (rootless: inNamespaces with a user and net namespace)'
      );
    case 'mountns':
      return !privileged && 'a mount namespace held from outside needs root (rootless: inNamespaces with a user and mnt namespace)';
    case 'landlock':
      return f.landlock === 0 && 'Landlock is not available in this kernel';
    case 'newuidmap':
      return (f.newuidmap === null || f.newgidmap === null) && 'newuidmap/newgidmap (package uidmap) are not installed';
  }
  if (req === 'cgroup' || req.startsWith('cgroup:')) {
    const parent = findDelegatedCgroup();
    if (typeof parent === 'string') return parent;
    const ctl = req.slice('cgroup:'.length);
    if (req === 'cgroup' || parent.subtreeControl().includes(ctl)) return false;
    if (!parent.controllers().includes(ctl))
      return `the ${ctl} controller is not available under ${parent.directory} (offered: ${parent.controllers().join(' ') || 'none'})`;
    if (parent.path !== '/' && parent.procs().length > 0)
      return `the ${ctl} controller is not enabled in ${parent.directory}, which has processes (no-internal-process rule)`;
    return false;
  }
  const ll = /^landlock>=(\d+)$/.exec(req);
  if (ll) return f.landlock < Number(ll[1]) && `needs Landlock ABI ${ll[1]} (this kernel has ${f.landlock || 'none'})`;
  if ((KERNEL as readonly string[]).includes(req)) {
    const k = req as (typeof KERNEL)[number];
    return !f[k] && `this kernel (${f.kernel}) lacks ${k}`;
  }
  throw invalidArgValue('requirement', req, 'is not a known requirement');
}

/**
 * Why a test needing `requirements` cannot run here, or `false` when it can: the first unmet
 * one's reason (`'needs root (…)'`, `'this kernel (5.4.0) lacks cloneIntoCgroup'`). Fits both
 * frameworks: `test('x', { skip: skipReason('netns') }, fn)` in node:test (which prints the
 * reason), `test.skipIf(skipReason('netns'))` in vitest (see {@link skipUnless} to have the
 * reason printed there). Reads `features()` (probed once) and, for `'cgroup'`, cgroupfs.
 * @throws `ERR_INVALID_ARG_VALUE` for an unknown requirement.
 */
export function skipReason(...requirements: Requirement[]): string | false {
  for (const r of requirements) {
    const why = reasonFor(r);
    if (why) return why;
  }
  return false;
}

/** A test function as vitest's `test`/`it` and node:test's `test`/`it` are: callable, with `.skip`. */
export interface TestLike {
  (name: string, ...rest: never[]): unknown;
  /** Registers a skipped test. */
  skip: (name: string, ...rest: never[]) => unknown;
}

/**
 * `test` itself when `requirements` are met here, else a stand-in that registers each test as
 * skipped with the reason in its name (`'moves a veth [skipped: needs root (…)]'`), so every
 * reporter prints why: `const rootTest = skipUnless(test, 'netns')`. Its modifiers skip too
 * (`rootTest.fails(…)`, `rootTest.only(…)`, `rootTest.each(table)(…)`). Works with vitest's and
 * node:test's `test` and `it`. Evaluated once, when called.
 * @throws `ERR_INVALID_ARG_VALUE` for an unknown requirement.
 */
export function skipUnless<T extends TestLike>(test: T, ...requirements: Requirement[]): T {
  const why = skipReason(...requirements);
  if (!why) return test;
  const skipped = (name: string, ...rest: never[]) => test.skip(`${name} [skipped: ${why}]`, ...rest);
  // Modifiers (vitest's `.fails`, `.only`, `.concurrent`; node:test's `.only`, `.todo`) skip too;
  // `.each(table)` gives the stand-in back.
  return new Proxy(skipped, {
    get(target, prop) {
      if (prop === 'skip') return test.skip;
      if (prop === 'each') return () => skipped;
      const v = (test as unknown as Record<PropertyKey, unknown>)[prop];
      return typeof v === 'function' ? skipped : (v ?? Reflect.get(target, prop));
    },
  }) as unknown as T;
}
