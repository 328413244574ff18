/**
 * `nsbox/namespaces`: namespace handles, the calling thread's namespaces, and `spawn`,
 * which starts a process in new or existing namespaces.
 * @module
 */
export { NAMESPACE_TYPES, NAMESPACE_FILES, isNamespaceType, type NamespaceType, type NamespaceFile } from './types.js';
export { spawn, NsboxChild, type SpawnOptions, type ExitStatus, type IdMapping, type SetgroupsPolicy, type StdioOptions, type StdioSource } from './spawn.js';
