/**
 * A container's state as `state` and `list` print it, derived from the kernel each time:
 * its process alive with the recorded start time (else `stopped`, whatever the file says),
 * the start gate's socket still there (`created`), its cgroup frozen (`paused`), else
 * `running`. No addon: /proc, the gate path and cgroup.freeze are read as files.
 * @internal
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { deriveStatus, type OciState, type OciStatus } from '../state.js';
import { isAlive } from './proc.js';
import type { ContainerRecord } from './store.js';

/** `cgroup.freeze` of the container's cgroup reads 1 (undefined without a cgroup). */
function frozen(rec: ContainerRecord): boolean | undefined {
  if (rec.cgroupDir === undefined) return undefined;
  try {
    return readFileSync(`${rec.cgroupDir}/cgroup.freeze`, 'latin1').trim() === '1';
  } catch {
    return undefined;
  }
}

/** The status the kernel gives for `rec` now. */
export function statusOf(rec: ContainerRecord): OciStatus {
  const alive = isAlive(rec.pid, rec.startTime);
  if (!alive) return 'stopped';
  const f = frozen(rec);
  return deriveStatus({
    alive,
    waitingForStart: rec.gate !== undefined && existsSync(rec.gate),
    ...(f !== undefined && { frozen: f }),
  });
}

/** runc's `state` JSON for `rec`: the pid is 0 once stopped. */
export function ociState(rec: ContainerRecord): OciState {
  const status = statusOf(rec);
  const s: OciState = {
    ociVersion: rec.ociVersion,
    id: rec.id,
    pid: status === 'stopped' ? 0 : rec.pid,
    status,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    owner: rec.owner,
  };
  if (rec.annotations && Object.keys(rec.annotations).length > 0) s.annotations = rec.annotations;
  return s;
}
