/**
 * `start ID`: a created container's process execs process.args (through its start gate);
 * then the poststart hooks run (a failure is only logged, runtime.md).
 * @internal
 * @module
 */
import { RuntimeError } from '../errors.js';
import type { Context } from '../context.js';
import { hookState, startGate } from '../gate.js';
import { statusOf } from '../status.js';
import { checkId, type ContainerRecord } from '../store.js';

export async function main(ctx: Context): Promise<number> {
  const id = checkId(ctx.args[0]);
  if (!ctx.store.has(id)) throw new RuntimeError(`container ${id} does not exist`);
  const unlock = await ctx.store.lock(id);
  try {
    await startRecord(ctx, ctx.store.read(id));
    return 0;
  } finally {
    unlock();
  }
}

/** Starts a created container and runs its poststart hooks. */
export async function startRecord(ctx: Pick<Context, 'log'>, rec: ContainerRecord): Promise<void> {
  const status = statusOf(rec);
  if (status !== 'created') throw new RuntimeError(`cannot start container ${rec.id}: it is ${status}, not created`);
  await startGate(rec.gate!);
  if (rec.hooks?.poststart?.length) {
    const { runHooks } = await import('../../hooks.js');
    try {
      await runHooks(rec.hooks, 'poststart', hookState(rec, 'running'));
    } catch (err) {
      ctx.log.warn((err as Error).message);
    }
  }
}
