/**
 * The Linux parts of an OCI runtime-spec 1.2 `config.json` as TypeScript types, in the spec's
 * own names and shapes (config.md, config-linux.md). Fields nsbox cannot honour are typed too:
 * {@link toSpawnOptions} refuses them by name instead of dropping them.
 * @module
 */
import type { LinuxCapabilities } from '../security/capabilities.js';
import type { Personality } from '../security/limits.js';
import type { SeccompProfile } from '../security/seccomp/index.js';

/** The whole config.json (config.md). */
export interface OciSpec {
  /** The runtime-spec version the bundle follows; nsbox accepts 1.0.x to 1.2.x. */
  ociVersion: string;
  /** The container's root filesystem. */
  root?: OciRoot;
  /** Mounts on top of the root, in order. */
  mounts?: OciMount[];
  /** The container process. Needed for `start`. */
  process?: OciProcess;
  /** sethostname(2) in the container's uts namespace. */
  hostname?: string;
  /** setdomainname(2) in the container's uts namespace. */
  domainname?: string;
  /** Lifecycle hooks (not run by this module: see docs/oci.md). */
  hooks?: OciHooks;
  /** Arbitrary metadata. */
  annotations?: Record<string, string>;
  /** Linux-specific settings. */
  linux?: OciLinux;
}

/** `root` (config.md#root). */
export interface OciRoot {
  /** The root filesystem: absolute, or relative to the bundle. */
  path: string;
  /** Mount the root read-only. */
  readonly?: boolean;
}

/** One entry of `mounts` (config.md#mounts). */
export interface OciMount {
  /** Absolute path inside the container. */
  destination: string;
  /** Device name, directory (bind mounts: absolute or relative to the bundle) or a dummy. */
  source?: string;
  /** Filesystem type (`proc`, `tmpfs`, `bind`, `none`, …). */
  type?: string;
  /** mount(8) options, in runc's vocabulary (`rbind`, `ro`, `nosuid`, `mode=755`, …). */
  options?: string[];
  /** An idmapped mount's uid mappings (refused by nsbox: use the `idmap` option). */
  uidMappings?: OciIdMapping[];
  /** An idmapped mount's gid mappings (refused by nsbox: use the `idmap` option). */
  gidMappings?: OciIdMapping[];
}

/** `process.user` (config.md#user). */
export interface OciUser {
  /** uid inside the container. */
  uid: number;
  /** gid inside the container. */
  gid: number;
  /** umask of the process; left unchanged when absent. */
  umask?: number;
  /** Supplementary groups. */
  additionalGids?: number[];
  /** The Windows user name; ignored on Linux with a warning (as runc and crun ignore it). */
  username?: string;
}

/** `process.consoleSize`. */
export interface OciBox {
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
}

/** One entry of `process.rlimits` (config.md#posix-process). */
export interface OciRlimit {
  /** `RLIMIT_NOFILE`, … */
  type: string;
  /** Soft limit. */
  soft: number;
  /** Hard limit. */
  hard: number;
}

/** `process.ioPriority` (refused by nsbox for now). */
export interface OciIoPriority {
  /** `IOPRIO_CLASS_RT`, `IOPRIO_CLASS_BE` or `IOPRIO_CLASS_IDLE`. */
  class: string;
  /** Priority within the class, 0–7. */
  priority?: number;
}

/** `process.scheduler` (refused by nsbox for now). */
export interface OciScheduler {
  /** `SCHED_OTHER`, `SCHED_FIFO`, … */
  policy: string;
  /** Nice value. */
  nice?: number;
  /** Static priority. */
  priority?: number;
  /** `SCHED_FLAG_*` names. */
  flags?: string[];
  /** SCHED_DEADLINE runtime, ns. */
  runtime?: number;
  /** SCHED_DEADLINE deadline, ns. */
  deadline?: number;
  /** SCHED_DEADLINE period, ns. */
  period?: number;
}

/** `process` (config.md#process). */
export interface OciProcess {
  /** Allocate a pseudo-terminal inside the container (spawn's `terminal`); its master is the child's `terminal`. */
  terminal?: boolean;
  /** Size of that terminal. */
  consoleSize?: OciBox;
  /** Working directory, absolute inside the container. */
  cwd: string;
  /** `KEY=value` strings. */
  env?: string[];
  /** argv; `args[0]` is looked up in `PATH` from `env`. */
  args?: string[];
  /** Windows only: refused on Linux. */
  commandLine?: string;
  /** Resource limits. */
  rlimits?: OciRlimit[];
  /** AppArmor profile (refused: this module supports no AppArmor). */
  apparmorProfile?: string;
  /** Capability sets. */
  capabilities?: LinuxCapabilities;
  /** prctl(PR_SET_NO_NEW_PRIVS). */
  noNewPrivileges?: boolean;
  /** /proc/PID/oom_score_adj. */
  oomScoreAdj?: number;
  /** Scheduling policy (refused for now). */
  scheduler?: OciScheduler;
  /** SELinux label (refused: this module supports no SELinux). */
  selinuxLabel?: string;
  /** I/O priority (refused for now). */
  ioPriority?: OciIoPriority;
  /** CPU affinity of `exec` (refused for now). */
  execCPUAffinity?: {
    /** CPU list of the runtime's process before it enters the container. */
    initial?: string;
    /** CPU list of the process after it has entered. */
    final?: string;
  };
  /** The user the process runs as. */
  user: OciUser;
}

/** One hook (config.md#posix-platform-hooks). */
export interface OciHook {
  /** Absolute path of the program. */
  path: string;
  /** argv, `args[0]` included. */
  args?: string[];
  /** `KEY=value` strings. */
  env?: string[];
  /** Seconds before the hook is killed. */
  timeout?: number;
}

/** `hooks` (config.md#posix-platform-hooks). */
export interface OciHooks {
  /** Deprecated: run after the namespaces exist, before pivot_root. */
  prestart?: OciHook[];
  /** In the runtime namespace, after the environment is created. */
  createRuntime?: OciHook[];
  /** In the container namespace, after the environment is created. */
  createContainer?: OciHook[];
  /** In the container namespace, before the user process starts. */
  startContainer?: OciHook[];
  /** After the user process has started. */
  poststart?: OciHook[];
  /** After the container is deleted. */
  poststop?: OciHook[];
}

/** A namespace kind in config-linux.md's words. */
export type OciNamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

/** One entry of `linux.namespaces`: new, or joined by `path`. */
export interface OciNamespace {
  /** The kind. */
  type: OciNamespaceType;
  /** A namespace file to join (e.g. `/proc/1234/ns/net`); absent: a new namespace. */
  path?: string;
}

/** One line of a user namespace's id map (config-linux.md#user-namespace-mappings). */
export interface OciIdMapping {
  /** First id inside. */
  containerID: number;
  /** First id on the host. */
  hostID: number;
  /** How many ids. */
  size: number;
}

/** One entry of `linux.devices`: a node that must exist in the container. */
export interface OciDevice {
  /** `c`, `b`, `u` (unbuffered character) or `p` (FIFO). */
  type: 'c' | 'b' | 'u' | 'p';
  /** Absolute path inside the container. */
  path: string;
  /** Major number (not for `p`). */
  major?: number;
  /** Minor number (not for `p`). */
  minor?: number;
  /** Permission bits (a decimal number in JSON). */
  fileMode?: number;
  /** Owner inside the container. */
  uid?: number;
  /** Group inside the container. */
  gid?: number;
}

/** One rule of `linux.resources.devices` (the cgroup device allow-list). */
export interface OciDeviceCgroup {
  /** Allow or deny. */
  allow: boolean;
  /** `a` (all), `c` or `b`. */
  type?: 'a' | 'c' | 'b';
  /** Major number; absent or -1: any. */
  major?: number | null;
  /** Minor number; absent or -1: any. */
  minor?: number | null;
  /** Any of `r`, `w`, `m`. */
  access?: string;
}

/** `linux.resources.memory` (cgroup v1 names; translated to v2). */
export interface OciMemory {
  /** Bytes; -1 unlimited. */
  limit?: number;
  /** Bytes (memory.low on v2). */
  reservation?: number;
  /** Memory plus swap, bytes; -1 unlimited. */
  swap?: number;
  /** Kernel memory (no v2 equivalent). */
  kernel?: number;
  /** Kernel TCP memory (no v2 equivalent). */
  kernelTCP?: number;
  /** vm.swappiness of the cgroup (no v2 equivalent). */
  swappiness?: number;
  /** Disable the OOM killer (no v2 equivalent). */
  disableOOMKiller?: boolean;
  /** Hierarchical accounting (always on in v2). */
  useHierarchy?: boolean;
  /** Check usage before lowering the limit on update. */
  checkBeforeUpdate?: boolean;
}

/** `linux.resources.cpu`. */
export interface OciCpu {
  /** v1 shares, 2–262144 (cpu.weight on v2). */
  shares?: number;
  /** µs per period; -1 unlimited. */
  quota?: number;
  /** cpu.max.burst, µs. */
  burst?: number;
  /** µs. */
  period?: number;
  /** Realtime runtime (no v2 equivalent). */
  realtimeRuntime?: number;
  /** Realtime period (no v2 equivalent). */
  realtimePeriod?: number;
  /** cpuset.cpus. */
  cpus?: string;
  /** cpuset.mems. */
  mems?: string;
  /** cpu.idle: 1 for SCHED_IDLE. */
  idle?: number;
}

/** A block device by number. */
export interface OciBlockDevice {
  /** Major number. */
  major: number;
  /** Minor number. */
  minor: number;
}

/** `linux.resources.blockIO.weightDevice[]`. */
export interface OciWeightDevice extends OciBlockDevice {
  /** 10–1000. */
  weight?: number;
  /** CFQ only (no v2 equivalent). */
  leafWeight?: number;
}

/** `linux.resources.blockIO.throttle*Device[]`. */
export interface OciThrottleDevice extends OciBlockDevice {
  /** Bytes or operations per second. */
  rate: number;
}

/** `linux.resources.blockIO`. */
export interface OciBlockIO {
  /** 10–1000 (io.weight or io.bfq.weight on v2). */
  weight?: number;
  /** CFQ only (no v2 equivalent). */
  leafWeight?: number;
  /** Per-device weights. */
  weightDevice?: OciWeightDevice[];
  /** io.max rbps. */
  throttleReadBpsDevice?: OciThrottleDevice[];
  /** io.max wbps. */
  throttleWriteBpsDevice?: OciThrottleDevice[];
  /** io.max riops. */
  throttleReadIOPSDevice?: OciThrottleDevice[];
  /** io.max wiops. */
  throttleWriteIOPSDevice?: OciThrottleDevice[];
}

/** `linux.resources.hugepageLimits[]`. */
export interface OciHugepageLimit {
  /** `2MB`, `1GB`, `64KB`… */
  pageSize: string;
  /** Bytes. */
  limit: number;
}

/** `linux.resources`. */
export interface OciResources {
  /** The cgroup device allow-list. */
  devices?: OciDeviceCgroup[];
  /** Memory. */
  memory?: OciMemory;
  /** CPU and cpuset. */
  cpu?: OciCpu;
  /** Tasks. */
  pids?: {
    /** Tasks; -1 (or 0) unlimited. */
    limit: number;
  };
  /** Block I/O. */
  blockIO?: OciBlockIO;
  /** Huge pages. */
  hugepageLimits?: OciHugepageLimit[];
  /** net_cls/net_prio (cgroup v1 only). */
  network?: {
    /** net_cls class id. */
    classID?: number;
    /** net_prio priorities per interface. */
    priorities?: Array<{
      /** Interface name. */
      name: string;
      /** Its priority. */
      priority: number;
    }>;
  };
  /** rdma.max, per device. */
  rdma?: Record<
    string,
    {
      /** Maximum hca_handles. */
      hcaHandles?: number;
      /** Maximum hca_objects. */
      hcaObjects?: number;
    }
  >;
  /** cgroup v2 files and their values, written as they are. */
  unified?: Record<string, string>;
}

/** `linux` (config-linux.md). */
export interface OciLinux {
  /** Namespaces to create or join. */
  namespaces?: OciNamespace[];
  /** uid map of a new user namespace. */
  uidMappings?: OciIdMapping[];
  /** gid map of a new user namespace. */
  gidMappings?: OciIdMapping[];
  /** Offsets of a new time namespace. */
  timeOffsets?: Record<
    string,
    {
      /** Seconds. */
      secs?: number;
      /** Nanoseconds. */
      nanosecs?: number;
    }
  >;
  /** Device nodes to make available. */
  devices?: OciDevice[];
  /** Network devices to move in (refused for now). */
  netDevices?: Record<
    string,
    {
      /** Its name inside the container. */
      name?: string;
    }
  >;
  /** The cgroup, in the v2 hierarchy. */
  cgroupsPath?: string;
  /** cgroup limits. */
  resources?: OciResources;
  /** Intel RDT (refused: not supported). */
  intelRdt?: Record<string, unknown>;
  /** NUMA memory policy (refused for now). */
  memoryPolicy?: {
    /** `MPOL_*` mode. */
    mode: string;
    /** Node list. */
    nodes?: string;
    /** `MPOL_F_*` flags. */
    flags?: string[];
  };
  /** Namespaced sysctls. */
  sysctl?: Record<string, string>;
  /** The seccomp filter. */
  seccomp?: SeccompProfile;
  /** Propagation of the root mount: private/rprivate accepted, see docs/oci.md. */
  rootfsPropagation?: string;
  /** Paths masked inside the container. */
  maskedPaths?: string[];
  /** Paths made read-only inside the container. */
  readonlyPaths?: string[];
  /** SELinux mount label (refused: this module supports no SELinux). */
  mountLabel?: string;
  /** Execution domain. */
  personality?: Personality;
}
