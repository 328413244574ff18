/**
 * The state of a container as runc's `state` command prints it (runtime.md "State", plus
 * runc's `rootfs`, `created` and `owner`), and the status derived from kernel facts rather
 * than from a file: the runtime CLI reads the facts; this module decides.
 * @module
 */

/** A container's status (runtime.md, plus runc's `paused`). */
export type OciStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** runc's `state` JSON. */
export interface OciState {
  /** The runtime-spec version of this state. */
  ociVersion: string;
  /** The container id. */
  id: string;
  /** Its status, as {@link deriveStatus} finds it. */
  status: OciStatus;
  /** The container process's pid in the runtime's pid namespace; 0 once stopped. */
  pid: number;
  /** The bundle directory, absolute. */
  bundle: string;
  /** The root filesystem, absolute (runc). */
  rootfs: string;
  /** When it was created, RFC 3339 with nanoseconds (runc). */
  created: string;
  /** The user who created it, or '' (runc). */
  owner: string;
  /** config.json's annotations. */
  annotations?: Record<string, string>;
}

/** What the kernel says about a container, as the runtime reads it (pidfd, cgroup files). */
export interface ContainerFacts {
  /** The container process is alive: its pidfd is not readable (poll) and it is not a zombie. */
  alive: boolean;
  /** The process is waiting before execve(2) for `start` (the create/start boundary). */
  waitingForStart: boolean;
  /** The cgroup is frozen: `frozen 1` in cgroup.events (or cgroup.freeze reads 1). Undefined without a cgroup. */
  frozen?: boolean;
  /** The container's setup has not finished yet (the runtime's create is still running). */
  creating?: boolean;
}

/**
 * The status the facts give: `stopped` once the process is gone, `creating` while being set
 * up, `created` while it waits for `start`, `paused` when its cgroup is frozen, else
 * `running`. Pure.
 */
export function deriveStatus(facts: ContainerFacts): OciStatus {
  if (!facts.alive) return 'stopped';
  if (facts.creating) return 'creating';
  if (facts.frozen) return 'paused';
  if (facts.waitingForStart) return 'created';
  return 'running';
}
