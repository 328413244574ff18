/**
 * `spawnAsync()`: {@link spawn} without blocking the calling thread while the child is set up.
 * @module
 */
import { native, type NativeSpawnResult, type SpawnParentSide } from '../native.js';
import type { NsboxChild } from './child.js';
import { checkSpawn, type Checked, type SpawnOptions } from './options.js';
import type { SerializedPlan } from './plan.js';
import { start, type Launch } from './spawn.js';

/**
 * Starts `command` exactly as {@link spawn} does — the same options, the same steps, the same
 * child — but resolves once the child has exec'd (or waits at `startGate`) instead of
 * blocking the calling thread until then. Only clone3(2) runs on the calling thread; the
 * setup's status session runs on a native thread of its own: the id maps (including
 * newuidmap(1)/newgidmap(1), each bounded by a timeout), the rlimits and oom_score_adj
 * written by the parent, hooks run by the caller, and the wait for execve(2). The event loop
 * keeps running meanwhile (timers, I/O, other spawns: several can be in flight at once, which
 * is what keeps many short sandboxes per second going). `network.veth`'s parent side still
 * runs on the JS thread, called from the loop while the child waits.
 *
 * Replaces what `spawn` replaces; use it where a stalled loop matters (servers, many spawns
 * in flight, rootless multi-range maps that run newuidmap).
 *
 * Privileges: as {@link spawn}.
 *
 * Blocking: never waits for the child or a helper on the calling thread (clone3 itself takes
 * tens of microseconds, plus the fork of Node's page tables for the plans that need their own
 * memory: an `init`, a `startGate`, a join of a user namespace).
 *
 * @returns a Promise for the child, as `spawn` would have returned it ('spawn' is emitted on
 *   the next tick after it resolves).
 * @throws (as a rejection) every error {@link spawn} throws, with the same `code`, `step`,
 *   `syscall` and `path`: `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE`/`ERR_OUT_OF_RANGE`
 *   before any syscall; a {@link SysError} with its `step` for a failed setup — e.g. step
 *   'idmap' with syscall 'newuidmap' and code `EPERM` for a refused map, or `ETIMEDOUT` for a
 *   helper that ran past its bound (it is killed and reaped). Nothing is left behind on
 *   failure: the child is reaped, every fd closed.
 */
export function spawnAsync(command: string, args?: readonly string[], options?: SpawnOptions): Promise<NsboxChild>;
export function spawnAsync(command: string, options?: SpawnOptions): Promise<NsboxChild>;
export async function spawnAsync(
  command: string,
  argsOrOptions?: readonly string[] | SpawnOptions,
  maybeOptions?: SpawnOptions,
): Promise<NsboxChild> {
  const [args, options] =
    Array.isArray(argsOrOptions) || argsOrOptions === undefined ? [argsOrOptions, maybeOptions] : [undefined, argsOrOptions];
  return start(checkSpawn(command, args, options), launchAsync);
}

/**
 * spawnAsync's native call (start()'s `run`): the clone now, the result from the loop. A throw
 * here (nothing cloned) is start()'s to clean up after; a failure that comes later is
 * finish()'s. @internal
 */
export const launchAsync: Launch<Promise<NsboxChild>> = (p, c, parent, hook, finish) =>
  nativeSpawnAsync(p, c.maps, parent, hook, c, finish);

/**
 * native.spawnAsync as a Promise of the child that `finish` makes of its result (spawnAsync's
 * and a template's spawnAsync): the clone now, the rest from the loop; a child whose
 * `signal` aborted while it was being set up is killed (its listener came too late to fire).
 * @internal
 */
export function nativeSpawnAsync(
  p: SerializedPlan,
  maps: Checked['maps'],
  parent: SpawnParentSide | undefined,
  hook: ((pid: number) => number) | undefined,
  c: Pick<Checked, 'o' | 'killSignal'>,
  finish: (r: NativeSpawnResult) => NsboxChild,
): Promise<NsboxChild> {
  let resolve!: (child: NsboxChild) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<NsboxChild>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const done = (r: NativeSpawnResult): void => {
    try {
      const child = finish(r);
      if (c.o.signal?.aborted) child.kill(c.killSignal);
      resolve(child);
    } catch (err) {
      reject(err);
    }
  };
  const now = native.spawnAsync(p.ops, p.strings, maps, parent, hook, done);
  if (now !== undefined) done(now);
  return promise;
}
