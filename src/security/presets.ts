/**
 * The secure defaults, one option away: what `nsbox run` applies, for `spawn()` callers.
 * @module
 */
import { DEFAULT_CAPABILITIES } from './capabilities.js';
import type { SecurityOptions } from './options.js';
import { defaultSeccompProfile } from './seccomp/filter.js';
import type { SeccompProfile } from './seccomp/profile.js';

/**
 * The security options `nsbox run` uses by default, as Docker's: Docker's capability set in
 * the bounding, effective and permitted sets (nothing inheritable or ambient),
 * no_new_privs, and nsbox's default seccomp profile. Spread it into the options of `spawn()`:
 * `spawn(cmd, args, { ...hardened(), namespaces: [...] })`; `overrides` replace fields.
 *
 * Pure: no syscalls. The default profile is compiled once and cached.
 */
export function hardened(overrides: SecurityOptions = {}): SecurityOptions {
  const caps = [...DEFAULT_CAPABILITIES];
  return {
    capabilities: { bounding: caps, effective: caps, permitted: caps },
    noNewPrivileges: true,
    seccomp: defaultSeccompProfile as SeccompProfile,
    ...overrides,
  };
}
