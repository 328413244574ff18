/**
 * `start ID`: the startContainer hooks run in the container's namespaces, then a created
 * container's process execs process.args (through its start gate); then the poststart hooks
 * run (a failure is only logged, runtime.md).
 * @internal
 * @module
 */
import { RuntimeError } from '../errors.js';
import type { Context } from '../context.js';
import { hookContainer, hookState, startGate } from '../gate.js';
import { isAlive } from '../proc.js';
import { signalProcess } from '../signal.js';
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
  if (rec.hooks?.startContainer?.length) await startContainerHooks(rec);
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

/**
 * runtime.md: the startContainer hooks run in the container's namespaces once start is
 * called, before process.args; one that fails stops the container (its process, waiting at
 * the gate, is SIGKILLed: it never runs the command) and fails start. Without an `env` of its
 * own a hook gets the process's, as runc gives it.
 */
async function startContainerHooks(rec: ContainerRecord): Promise<void> {
  const { runHooks } = await import('../../hooks.js');
  const env = rec.config.process?.env;
  const hooks = { startContainer: rec.hooks!.startContainer!.map((h) => (h.env === undefined && env !== undefined ? { ...h, env } : h)) };
  try {
    await runHooks(hooks, 'startContainer', hookState(rec, 'created'), { container: hookContainer(rec) });
  } catch (err) {
    await signalProcess(rec.pid, rec.startTime, 9).catch(() => undefined);
    for (let i = 0; i < 500 && isAlive(rec.pid, rec.startTime); i++) await new Promise((r) => setTimeout(r, 10));
    throw err;
  }
}
