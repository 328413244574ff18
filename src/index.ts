/// <reference types="node" preserve="true" />
/**
 * nsbox: Linux isolation primitives for Node.js — namespaces and isolated spawn, mounts,
 * cgroup v2, rtnetlink and process security — as typed modules. Everything in `nsbox/namespaces`,
 * `nsbox/cgroups`, `nsbox/fs`, `nsbox/net` and `nsbox/security` is re-exported here.
 * @module
 */
export { SysError, type SysErrorContext, type NsboxErrorCode } from './errors.js';
export { features, type Features, type CapabilitySets } from './features.js';
export * from './namespaces/index.js';
export * from './cgroups/index.js';
export * from './fs/index.js';
export * from './net/index.js';
export * from './security/index.js';
