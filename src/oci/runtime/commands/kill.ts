/**
 * `kill [--all] ID [SIGNAL]`: SIGTERM by default, to the container's process through a pidfd;
 * `--all`: every process in its cgroup (cgroup.kill for SIGKILL).
 * @internal
 * @module
 */
import { constants } from 'node:os';
import { openCgroup } from '../cgroup.js';
import { RuntimeError } from '../errors.js';
import type { Context } from '../context.js';
import { parseSignal, signalProcess } from '../signal.js';
import { statusOf } from '../status.js';
import { checkId } from '../store.js';
import { containerPids } from './query.js';

export async function main(ctx: Context): Promise<number> {
  const id = checkId(ctx.args[0]);
  const sig = parseSignal(ctx.args[1] ?? 'SIGTERM');
  const rec = ctx.store.read(id);
  if (statusOf(rec) === 'stopped') throw new RuntimeError(`container ${id} is not running`);
  if (ctx.flags.all) {
    const cg = await openCgroup(rec);
    if (cg !== null && sig === constants.signals.SIGKILL) {
      await cg.kill();
      return 0;
    }
    for (const pid of cg === null ? [rec.pid] : containerPids(rec)) {
      if (pid === rec.pid) await signalProcess(pid, rec.startTime, sig);
      else
        try {
          process.kill(pid, sig);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
        }
    }
    return 0;
  }
  if (!(await signalProcess(rec.pid, rec.startTime, sig))) throw new RuntimeError(`container ${id} is not running`);
  return 0;
}
