/**
 * `nsbox/security`: what a spawned process may do — capabilities, no_new_privs, resource
 * limits, oom_score_adj, umask, personality, namespaced sysctls — as spawn options in the
 * OCI runtime spec's shapes, plus readers for /proc. See docs/security.md.
 * @module
 */
export {
  allCapabilities,
  capabilities,
  capabilityNames,
  capabilityNumber,
  DEFAULT_CAPABILITIES,
  lastCap,
  type CapabilityName,
  type LinuxCapabilities,
  type ProcessCapabilities,
} from './capabilities.js';
export type { Personality, Rlimit } from './limits.js';
export type { SecurityOptions } from './options.js';
