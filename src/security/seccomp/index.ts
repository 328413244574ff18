/**
 * seccomp: an OCI seccomp profile → classic BPF compiler in TypeScript, its syscall tables,
 * a disassembler and nsbox's default profile. The program it makes is loaded by the spawn
 * plan's child with seccomp(2) (SECCOMP_SET_MODE_FILTER, with `flags`).
 *
 * docs/security.md ("seccomp") states the compiler's rules: architectures and x32, the
 * ENOSYS rule, the bad-arch action, argument splitting, limits.
 * @module
 */
// What a spawn needs (filter.ts), then the tables and the disassembler.
export {
  compileSeccomp,
  defaultSeccompProfile,
  setSeccompStore,
  type CompiledSeccomp,
  type SeccompStore,
} from './filter.js';
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
