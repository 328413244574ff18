/// <reference types="node" preserve="true" />
/**
 * `nsbox/fs`: mounts. mount(2)/umount2(2) with typed flags, typed filesystems (tmpfs, proc,
 * sysfs, devpts, mqueue, cgroup2, overlay), the new mount API as handles (fsopen, open_tree,
 * mount_setattr, move_mount; idmapped mounts), path resolution confined to a root, and the
 * mount table (`mountinfo`, `watchMounts`). Every path-taking call accepts `{ namespace }`
 * to act inside a mount namespace held by a handle. See docs/fs.md.
 * @module
 */
export { mountinfo, parseMountinfo, type MountInfoEntry, type MountPropagation } from './mountinfo.js';
export type { MountFlag, MountAttr, Propagation, MountDataValue, InNamespaceOptions } from './flags.js';
export {
  mount,
  umount,
  bind,
  remount,
  setPropagation,
  type MountOptions,
  type UmountOptions,
  type BindOptions,
  type RemountOptions,
} from './mount.js';
export {
  tmpfsSpec,
  procSpec,
  sysfsSpec,
  devptsSpec,
  mqueueSpec,
  cgroup2Spec,
  overlaySpec,
  mountTmpfs,
  mountProc,
  mountSysfs,
  mountDevpts,
  mountMqueue,
  mountCgroup2,
  mountOverlay,
  type MountSpec,
  type FilesystemOptions,
  type Size,
  type TmpfsOptions,
  type ProcOptions,
  type DevptsOptions,
  type Cgroup2Options,
  type OverlayOptions,
} from './filesystems.js';
export {
  fsopen,
  openTree,
  FsContext,
  DetachedMount,
  type FsSysError,
  type FsMountOptions,
  type SetAttrOptions,
  type OpenTreeOptions,
} from './newapi.js';
export { resolveInRoot, PathHandle, type ResolveFlag, type ResolveOptions } from './resolve.js';
export { watchMounts, type WatchMountsOptions } from './watch.js';
export {
  MASKED_PATHS,
  READONLY_PATHS,
  type RootfsSpec,
  type OverlayRootfs,
  type ContainerMount,
  type BindMount,
  type TmpfsMount,
  type SpecialMount,
  type DeviceNode,
} from './container.js';
