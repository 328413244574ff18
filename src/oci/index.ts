/**
 * `nsbox/oci`: the OCI runtime spec on nsbox. {@link parseConfig} and {@link loadBundle} check a
 * config.json (every error names the JSON path of the bad field); {@link toSpawnOptions} maps
 * it onto `spawn()`'s options, refusing by name what nsbox cannot honour yet;
 * {@link translateResources} and {@link prepareCgroup} put `linux.resources` on cgroup v2;
 * {@link defaultSpec} and {@link features} are what `runc spec` and `runc features` print;
 * {@link deriveStatus} gives a container's status from kernel facts;
 * {@link containerProcessState} is the message for a seccomp agent (`linux.seccomp.listenerPath`); {@link runHooks} runs OCI
 * hooks with the state on stdin. See docs/oci.md.
 *
 * Not re-exported from `nsbox` itself: it is a layer over the other modules (and its
 * `features()` is the runtime spec's, not the kernel's).
 * @module
 */
export { parseConfig, loadBundle, OCI_NAMESPACE_TYPES, type OciBundle } from './parse.js';
export { toSpawnOptions, type ToSpawnOptionsOptions, type OciSpawn, type OciCgroupPlan } from './spawn-options.js';
export type { OciDeviceFilter } from './devices.js';
export { moveNetDevices, type OciNetDevicePlan } from './net-devices.js';
export {
  translateResources,
  sharesToWeight,
  blkioWeightToIoWeight,
  type CgroupWrite,
  type CgroupResourcePlan,
  type TranslateOptions,
} from './resources.js';
export { prepareCgroup } from './cgroup.js';
export { runHooks, type HookContainer, type HookError, type RunHooksOptions } from './hooks.js';
export { defaultSpec, type DefaultSpecOptions } from './spec.js';
export { features, type OciFeatures } from './features.js';
export {
  deriveStatus,
  containerProcessState,
  SECCOMP_FD_NAME,
  type OciState,
  type OciStatus,
  type ContainerFacts,
  type OciContainerProcessState,
} from './state.js';
export type * from './types.js';
