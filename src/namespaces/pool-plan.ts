/**
 * The plan of a spawn that joins a namespace taken from a {@link NamespacePool}.
 * @internal
 * @module
 */
import { K } from '../native.js';
import type { ResolvedMaps } from './idmap.js';
import type { Namespace } from './namespace.js';
import type { PlanBuilder } from './plan.js';
import { userns } from './spawn-plan.js';
import { CLONE_FLAG, kFd } from './types.js';

/**
 * Joins a pooled network namespace without the cost of a general join: clone3(2) makes the
 * pid (and time) namespace, so the child is PID 1 at once (no second fork), while it still
 * has the caller's capabilities; it joins the pooled namespace with setns(2), then
 * unshare(2)s the rest, the user namespace first, so mnt, uts, ipc and cgroup belong to the
 * new user namespace as they would without a pool. The pid namespace (and the pooled network
 * namespace) belong to the caller's user namespace: the command cannot mount a procfs of it
 * or reconfigure the network, which it could not do with a joined namespace either.
 *
 * The child stays dumpable and shares our memory (CLONE_VM), unlike a general join (which
 * makes itself non-dumpable first, so nothing already inside the namespaces it joins can
 * ptrace it): a pooled namespace was made by the pool and handed out once, so no process of
 * anyone else's is in it.
 */
export function addPooledNetSteps(plan: PlanBuilder, ns: Namespace, newFlags: number, newUser: boolean, maps: ResolvedMaps | null): void {
  const atClone = newFlags & (K.CLONE_NEWPID | K.CLONE_NEWTIME);
  plan.cloneFlags = atClone;
  plan.setns(ns[kFd], CLONE_FLAG.net, 'net');
  const rest = newFlags & ~atClone;
  if (rest) plan.unshare(rest);
  if (newUser) userns(plan, maps!);
}
