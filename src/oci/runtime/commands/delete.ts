/**
 * `delete [--force] ID`: a stopped container's cgroup (when create made it) and state are
 * removed (and the default parent `/nsbox-oci` when that leaves it empty), then its poststop hooks run (a failure is only logged, runtime.md). A created,
 * running or paused one is refused without --force; with it, everything in it is SIGKILLed
 * first.
 * @internal
 * @module
 */
import { openCgroup, removeCgroup, removeDefaultParent } from '../cgroup.js';
import { RuntimeError } from '../errors.js';
import type { Context } from '../context.js';
import { isAlive } from '../proc.js';
import { signalProcess } from '../signal.js';
import { ociState, statusOf } from '../status.js';
import { lockContainer } from '../lock.js';
import { checkId, type ContainerRecord, type Store } from '../store.js';

export async function main(ctx: Context): Promise<number> {
  const id = checkId(ctx.args[0]);
  const force = ctx.flags.force === true;
  if (!ctx.store.has(id)) {
    if (force) return 0; // runc: delete --force of a missing container is not an error
    throw new RuntimeError(`container ${id} does not exist`);
  }
  const unlock = lockContainer(ctx.store, id);
  try {
    let rec: ContainerRecord;
    try {
      rec = ctx.store.read(id);
    } catch {
      // A directory without state.json: a create that failed half-way (we hold the lock, so
      // none is running).
      if (!force) throw new RuntimeError(`container ${id} was not created completely; delete --force removes what is left`);
      ctx.store.remove(id);
      return 0;
    }
    const status = statusOf(rec);
    if (status !== 'stopped') {
      if (!force) throw new RuntimeError(`cannot delete container ${id} that is not stopped: ${status}`);
      await killAll(rec);
    }
    await destroy(ctx, rec);
    return 0;
  } finally {
    unlock();
  }
}

/** SIGKILL to everything in the container (its cgroup, or its process), and waits until its process is gone. */
export async function killAll(rec: ContainerRecord): Promise<void> {
  const cg = await openCgroup(rec);
  if (cg !== null) await cg.kill();
  else await signalProcess(rec.pid, rec.startTime, 9);
  for (let i = 0; i < 1000 && isAlive(rec.pid, rec.startTime); i++) await new Promise((r) => setTimeout(r, 10));
  if (isAlive(rec.pid, rec.startTime)) throw new RuntimeError(`container ${rec.id}: its process ${rec.pid} survived SIGKILL for 10 s`);
}

/** Removes a stopped container's cgroup (if create made it) and state, then runs its poststop hooks. */
export async function destroy(ctx: { store: Store; log: Context['log'] }, rec: ContainerRecord): Promise<void> {
  const state = ociState(rec);
  if (rec.cgroupOwned) {
    await removeCgroup(rec);
    removeDefaultParent(rec.cgroup, rec.cgroupDir);
  }
  ctx.store.remove(rec.id);
  if (rec.hooks?.poststop?.length) {
    const { runHooks } = await import('../../hooks.js');
    try {
      await runHooks(rec.hooks, 'poststop', state);
    } catch (err) {
      ctx.log.warn((err as Error).message);
    }
  }
}
