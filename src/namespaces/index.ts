/// <reference types="node" preserve="true" />
/**
 * `nsbox/namespaces`: namespace handles, the calling thread's namespaces, and `spawn`,
 * which starts a process in new or existing namespaces.
 * @module
 */
export { NAMESPACE_TYPES, NAMESPACE_FILES, isNamespaceType, type NamespaceType, type NamespaceFile } from './types.js';
export {
  spawn,
  NsboxChild,
  type SpawnOptions,
  type TimeOffsets,
  type ExitStatus,
  type IdMapping,
  type SetgroupsPolicy,
  type StdioOptions,
  type StdioSource,
} from './spawn.js';
// Not through spawn.js: a spawn without a terminal never loads the pty module (scripts/bundle.mjs).
export { openPty, sendFd, Pty, type PtyOptions, type PtySize, type SendFdOptions, type TerminalOption } from './pty.js';
export { spawnAsync } from './spawn-async.js';
export {
  Namespace,
  openNamespace,
  openNamespacePath,
  createNamespace,
  type CreatableNamespaceType,
  type OpenNamespaceOptions,
} from './namespace.js';
export {
  openStartGate,
  openStartGateSync,
  type StartGateNamespacesOptions,
  type StartGateOptions,
  type StartGateSyncOptions,
  startGateNamespaces,
} from './start-gate.js';
export { namespacePool, NamespacePool, type NamespacePoolOptions } from './pool.js';
export { template, SandboxTemplate, type TemplateOptions, type TemplateSpawnOptions } from './template.js';
export type { SpawnHook, SpawnHooks } from './hooks.js';
export { persistNamespace, unpersistNamespace, type PersistNamespaceOptions } from './persist.js';
export { unshare, setns, withNamespaces, ThreadNamespaces, type ThreadNamespaceType } from './thread.js';
