/**
 * What `start`, `run` and `exec` need of a created process without the spawn code: the state
 * hooks read, the start gate, and handing a pty master to `--console-socket`. Kept apart from
 * container.ts (create's module) so that `start` loads neither spawn nor the config mapping.
 * @internal
 * @module
 */
import type { Pty } from '../../namespaces/pty.js';
import type { OciState } from '../state.js';
import type { ContainerRecord } from './store.js';

/** The state as hooks read it on stdin. */
export function hookState(
  rec: Pick<ContainerRecord, 'ociVersion' | 'id' | 'pid' | 'bundle' | 'rootfs' | 'created' | 'owner' | 'annotations'>,
  status: OciState['status'],
): OciState {
  const s: OciState = {
    ociVersion: rec.ociVersion,
    id: rec.id,
    status,
    pid: rec.pid,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    owner: rec.owner,
  };
  if (rec.annotations) s.annotations = rec.annotations;
  return s;
}

/** Sends a pty master to `--console-socket` and closes ours. */
export async function sendTerminal(socket: string, pty: Pty): Promise<void> {
  const { sendFd } = await import('../../namespaces/pty.js');
  try {
    sendFd(socket, pty);
  } finally {
    pty.close();
  }
}

/**
 * Lets a created container's process exec process.args: connects to its start gate. Resolves
 * once execve(2) has succeeded.
 */
export async function startGate(gate: string): Promise<void> {
  const { openStartGate } = await import('../../namespaces/start-gate.js');
  await openStartGate(gate);
}

/**
 * {@link startGate} blocking, for `start`, which has nothing else to do meanwhile: no node:net
 * and no event-loop turns (podman runs `start` once per container).
 */
export async function startGateSync(gate: string): Promise<void> {
  const { openStartGateSync } = await import('../../namespaces/start-gate.js');
  openStartGateSync(gate);
}
