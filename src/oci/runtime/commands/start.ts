/**
 * `start ID`: a created container's process is let go through its start gate: it runs its
 * startContainer hooks, then execs process.args; then the poststart hooks run (a failure is
 * only logged, runtime.md).
 * @internal
 * @module
 */
import { RuntimeError } from '../errors.js';
import type { Context } from '../context.js';
import { hookState, startGateSync } from '../gate.js';
import { isAlive } from '../proc.js';
import { statusOf } from '../status.js';
import { lockContainer } from '../lock.js';
import { checkId, type ContainerRecord } from '../store.js';

export async function main(ctx: Context): Promise<number> {
  const id = checkId(ctx.args[0]);
  if (!ctx.store.has(id)) throw new RuntimeError(`container ${id} does not exist`);
  const unlock = lockContainer(ctx.store, id);
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
  try {
    // The startContainer hooks run in the container's process, after the gate, before execve
    // (spawn's hooks): one that fails makes it exit without running process.args.
    await startGateSync(rec.gate!);
  } catch (err) {
    if (!rec.hooks?.startContainer?.length) throw err;
    const { ociHookError, startHookOrigin } = await import('../../hooks.js');
    const e = ociHookError(err, startHookOrigin(rec.hooks));
    if (e !== err) for (let i = 0; i < 500 && isAlive(rec.pid, rec.startTime); i++) await new Promise((r) => setTimeout(r, 10));
    throw e;
  }
  if (rec.hooks?.poststart?.length) {
    const { runHooks } = await import('../../hooks.js');
    try {
      await runHooks(rec.hooks, 'poststart', hookState(rec, 'running'));
    } catch (err) {
      ctx.log.warn((err as Error).message);
    }
  }
}
