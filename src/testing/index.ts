/// <reference types="node" preserve="true" />
/**
 * `nsbox/testing`: helpers for tests of kernel features, for any test framework (none is
 * imported). A JavaScript function run inside fresh namespaces in a new Node process, its
 * result or exception handed back ({@link runIsolated}, {@link inNamespaces}); per-test kernel
 * objects removed after the test whether it passed or failed ({@link useNetns},
 * {@link useVeth}, {@link useMountns}, {@link useCgroup}); and skipping with the reason printed
 * where the kernel or the privileges fall short ({@link skipReason}, {@link skipUnless}).
 * See docs/testing.md.
 * @module
 */
export { runIsolated, inNamespaces, type IsolatedOptions, type IsolatedError } from './isolated.js';
export {
  useNetns,
  useVeth,
  useMountns,
  useCgroup,
  TestNetns,
  TestVeth,
  TestMountns,
  type VethFixtureOptions,
  type CgroupFixtureOptions,
} from './fixtures.js';
export type { CleanupHook } from './hooks.js';
export { skipReason, skipUnless, type Requirement, type TestLike } from './skip.js';
