/**
 * Loading the addon by its path, once per thread: shared by native.ts and the linked bins'
 * loader (oci/runtime/linked.ts), which loads it first to read its files with it.
 * @internal
 * @module
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root: dist/, build/ and prebuilds/ are in it. @internal */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** This thread's addons by path, as require()'s cache would hold them (see dlopenOnce). */
const LOADED = Symbol.for('nsbox.native.loaded');

/**
 * `require(file)` for an addon at an absolute path, without require()'s resolution (a stat of
 * each directory, the package.json reads): ~0.6 ms of every start-up. Loaded once per thread
 * and path, as require() does, whichever copy of this module asks (each linked file carries
 * one): a second init would replace the environment's addon state.
 * @internal
 */
export function dlopenOnce<T>(file: string): T {
  const g = globalThis as { [LOADED]?: Map<string, unknown> };
  const loaded = (g[LOADED] ??= new Map());
  let exports = loaded.get(file) as T | undefined;
  if (exports === undefined) {
    const m = { exports: {} as T };
    process.dlopen(m, file);
    loaded.set(file, (exports = m.exports));
  }
  return exports;
}

/**
 * node-gyp-build's first choice when it is a local build (a checkout's, or the install
 * script's source build): `build/Release/nsbox.node`, if it is there and neither
 * NSBOX_PREBUILD nor PREBUILDS_ONLY changes that choice; undefined otherwise.
 * @internal
 */
export function localAddon(): string | undefined {
  if (process.env.NSBOX_PREBUILD !== undefined || process.env.PREBUILDS_ONLY) return undefined;
  const local = join(PACKAGE_ROOT, 'build', 'Release', 'nsbox.node');
  // Loaded already in this thread (the bin's loader loads it before the library does): no stat.
  return (globalThis as { [LOADED]?: Map<string, unknown> })[LOADED]?.has(local) || existsSync(local) ? local : undefined;
}
