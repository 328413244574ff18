/// <reference types="node" preserve="true" />
/**
 * `nsbox/cgroups`: cgroup v2. Discovery (where the v2 hierarchy is mounted, which cgroup a
 * process is in), and {@link Cgroup}: create, members, controllers, typed limits, statistics,
 * freeze/thaw, kill, removal, events and PSI as async iterators. cgroup v1 hierarchies are
 * never touched. See docs/cgroups.md.
 * @module
 */
export { findCgroup2, currentCgroup, type Cgroup2Mount, type CurrentCgroup } from './discovery.js';
export { Cgroup, type CgroupType, type RemoveCgroupOptions } from './cgroup.js';
export type { CgroupEventKind, CgroupEventMap, PressureEvent, PressureKind, PressureTriggerOptions } from './events.js';
export { cgroup, createCgroup, type CreateCgroupOptions } from './create.js';
export type { DeviceRule } from './device-filter.js';
export type {
  CgroupLimits,
  CgroupLimitValues,
  CpuLimits,
  CpusetLimits,
  HugetlbSizeLimits,
  IoDeviceLimit,
  IoLimits,
  MemoryLimits,
  PidsLimits,
} from './limits.js';
export type {
  CgroupEvents,
  CgroupStat,
  CpuStats,
  HugetlbSizeStats,
  IoDeviceStats,
  MemoryEvents,
  MemoryStats,
  PidsEvents,
  PidsStats,
  Pressure,
  PressureLine,
} from './stats.js';
export type { Bytes, LimitValue } from './units.js';
