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

/**
 * runtime-spec's container process state (config-linux.md "seccomp", `listenerPath`): the
 * message a runtime sends to the seccomp agent with the listener fd as SCM_RIGHTS, as runc and
 * crun send it. `fds` names the fds of that message in order.
 */
export interface OciContainerProcessState {
  /** The runtime-spec version. */
  ociVersion: string;
  /** `['seccompFd']`: the one fd the message carries. */
  fds: string[];
  /** The process the filter is on, in the runtime's pid namespace. */
  pid: number;
  /** `linux.seccomp.listenerMetadata`, when set. */
  metadata?: string;
  /** The container's state (runtime.md "State"): `creating` at create, `running` for exec. */
  state: Pick<OciState, 'ociVersion' | 'id' | 'status' | 'pid' | 'bundle' | 'annotations'>;
}

/** The seccomp fd's name in {@link OciContainerProcessState.fds} (runtime-spec's `SeccompFdName`). */
export const SECCOMP_FD_NAME = 'seccompFd';

/**
 * The message for a seccomp agent: `state` (its spec fields only) with the process's `pid` and
 * the config's `listenerMetadata`. Send it with the listener: `sendFd(listenerPath,
 * child.seccompNotifier, { name: JSON.stringify(msg) })`. Pure.
 */
export function containerProcessState(state: OciContainerProcessState['state'], pid: number, metadata?: string): OciContainerProcessState {
  const s: OciContainerProcessState['state'] = {
    ociVersion: state.ociVersion,
    id: state.id,
    status: state.status,
    pid: state.pid,
    bundle: state.bundle,
  };
  if (state.annotations !== undefined) s.annotations = state.annotations;
  return { ociVersion: state.ociVersion, fds: [SECCOMP_FD_NAME], pid, ...(metadata !== undefined && { metadata }), state: s };
}
