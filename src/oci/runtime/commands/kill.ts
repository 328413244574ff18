/**
 * `kill [--all] ID [SIGNAL]`: SIGTERM by default, to the container's process through a pidfd;
 * `--all`: every process in its cgroup (cgroup.kill for SIGKILL), each through a pidfd too.
 * @internal
 * @module
 */
import { constants } from 'node:os';
import { openCgroup } from '../cgroup.js';
import { RuntimeError } from '../errors.js';
import type { Context } from '../context.js';
import { parseSignal, signalMember, signalProcess } from '../signal.js';
import { statusOf } from '../status.js';
import { checkId, type ContainerRecord } from '../store.js';
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
    await signalAll(rec, cg === null ? [rec.pid] : containerPids(rec), sig);
    return 0;
  }
  if (!(await signalProcess(rec.pid, rec.startTime, sig))) throw new RuntimeError(`container ${id} is not running`);
  return 0;
}

/**
 * `kill --all` of a signal other than SIGKILL: `pids` were read from cgroup.procs, and each
 * may have exited since, been reaped by the container's init and its number taken by a host
 * process (runc freezes the cgroup around its kill(2) loop). The container's process is
 * signalled if its start time still matches, every other one if it is still in the
 * container's cgroup, both checked through a pidfd (signalProcess, signalMember).
 * Resolves to the pids signalled.
 */
export async function signalAll(rec: ContainerRecord, pids: readonly number[], sig: number): Promise<number[]> {
  const sent: number[] = [];
  for (const pid of pids)
    if (await (pid === rec.pid ? signalProcess(pid, rec.startTime, sig) : signalMember(rec, pid, sig))) sent.push(pid);
  return sent;
}
