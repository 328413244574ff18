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
 * The addon node-gyp-build would load, found without its search (a require of its own, node:os,
 * a listing of prebuilds/ and its tag parsing: ~4 ms of every start-up of an installed
 * package, measured against a checkout's), in its own order:
 * - `build/Release/nsbox.node`, a checkout's or the install script's source build;
 * - else, unless `build/Debug` exists (node-gyp-build's second choice, left to it), the
 *   prebuild this package ships for the platform, `prebuilds/linux-ARCH/nsbox.glibc.node`,
 *   when the libc is glibc as node-gyp-build decides it (`LIBC`, else musl if
 *   `/etc/alpine-release` exists) and the file is there.
 * `PREBUILDS_ONLY` skips the builds, as in node-gyp-build; `NSBOX_PREBUILD` leaves every choice
 * to node-gyp-build. Undefined when node-gyp-build must choose.
 * @internal
 */
export function localAddon(): string | undefined {
  if (process.env.NSBOX_PREBUILD !== undefined) return undefined;
  const local = join(PACKAGE_ROOT, 'build', 'Release', 'nsbox.node');
  const prebuild = join(PACKAGE_ROOT, 'prebuilds', `linux-${process.arch}`, 'nsbox.glibc.node');
  // Loaded already in this thread (the bin's loader loads it before the library does): the
  // choice was made, with its stats, the first time.
  const loaded = (globalThis as { [LOADED]?: Map<string, unknown> })[LOADED];
  if (loaded?.has(local) && !process.env.PREBUILDS_ONLY) return local;
  if (loaded?.has(prebuild)) return prebuild;
  if (!process.env.PREBUILDS_ONLY) {
    if (existsSync(local)) return local;
    if (existsSync(join(PACKAGE_ROOT, 'build', 'Debug'))) return undefined;
  }
  if (process.platform !== 'linux') return undefined;
  const libc = process.env.LIBC || (existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
  return libc === 'glibc' && existsSync(prebuild) ? prebuild : undefined;
}
