/**
 * `pause ID` / `resume ID`: cgroup.freeze of the container's cgroup v2 (nsbox/cgroups'
 * freeze() and thaw(), which wait for cgroup.events to agree).
 * @internal
 * @module
 */
import { needCgroup } from '../cgroup.js';
import { RuntimeError } from '../errors.js';
import type { Context } from '../context.js';
import { statusOf } from '../status.js';
import { lockContainer } from '../lock.js';
import { checkId } from '../store.js';

export async function main(ctx: Context): Promise<number> {
  const id = checkId(ctx.args[0]);
  if (!ctx.store.has(id)) throw new RuntimeError(`container ${id} does not exist`);
  const unlock = lockContainer(ctx.store, id);
  try {
    const rec = ctx.store.read(id);
    const status = statusOf(rec);
    const cg = await needCgroup(rec, ctx.command);
    if (ctx.command === 'pause') {
      if (status !== 'running' && status !== 'created') throw new RuntimeError(`container ${id} is not running (status: ${status})`);
      await cg.freeze();
    } else {
      if (status !== 'paused') throw new RuntimeError(`container ${id} is not paused (status: ${status})`);
      await cg.thaw();
    }
    return 0;
  } finally {
    unlock();
  }
}
