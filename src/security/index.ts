/// <reference types="node" preserve="true" />
/**
 * `nsbox/security`: what a spawned process may do — capabilities, no_new_privs, resource
 * limits, oom_score_adj, umask, personality, namespaced sysctls, seccomp filters (compiled
 * from OCI/Docker profiles in TypeScript, with user notification) and Landlock rulesets — as
 * spawn options in the OCI runtime spec's shapes, plus readers for /proc. See docs/security.md.
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
export { hardened } from './presets.js';
export {
  compileSeccomp,
  defaultSeccompProfile,
  disassemble,
  syscallName,
  syscallNumber,
  type CompiledSeccomp,
  type CompileSeccompOptions,
  type SeccompAction,
  type SeccompArg,
  type SeccompOperator,
  type SeccompProfile,
  type SeccompArchMapEntry,
  type SeccompRuleFilter,
  type NativeArch,
  type SeccompSyscallRule,
} from './seccomp/index.js';
export { SeccompNotification, SeccompNotifier, type AddFdOptions } from './notify.js';
export {
  landlockAbi,
  landlockForCommand,
  type LandlockRuleset,
  type LandlockFsRule,
  type LandlockNetRule,
  type LandlockFsAccess,
  type LandlockFsAccessName,
  type LandlockNetAccess,
  type LandlockScope,
  type LandlockCommandOptions,
} from './landlock.js';
