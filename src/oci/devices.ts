/**
 * Devices: the nodes runtime-spec requires in every container (config-linux.md "Default
 * Devices"), and `linux.resources.devices`, the cgroup device allow-list, enforced by a
 * BPF_CGROUP_DEVICE program on the container's cgroup (src/cgroups/devices.ts).
 * @module
 */
import type { prepareCgroup } from './cgroup.js';
import type { DeviceNode } from '../fs/container.js';
import type { LinuxCapabilities } from '../security/capabilities.js';
import { checkDeviceRules as checkRules, type DeviceRule } from '../cgroups/device-filter.js';
import { at, unsupported, valueError } from './check.js';
import type { OciDevice, OciDeviceCgroup } from './types.js';

/** /dev/null, zero, full, random, urandom and tty, mode 0666 (config-linux.md "Default Devices"). @internal */
export const DEFAULT_DEVICES: readonly DeviceNode[] = Object.freeze([
  { path: '/dev/null', type: 'c', major: 1, minor: 3, mode: 0o666 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, mode: 0o666 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, mode: 0o666 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, mode: 0o666 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, mode: 0o666 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, mode: 0o666 },
] as const);

const anyNumber = (v: number | null | undefined) => v === undefined || v === null || v === -1;

/** The device filter of a container's cgroup (`linux.resources.devices`), attached by {@link prepareCgroup}. */
export interface OciDeviceFilter {
  /** `linux.resources.devices`, then an allow-`rwm` rule per node nsbox makes in /dev, and /dev/ptmx and /dev/pts/*. */
  rules: DeviceRule[];
  /**
   * The list can be honoured without a filter (deny-all, then only allows, and a container
   * that cannot mknod(2)): when the caller may not load one (rootless: EPERM), the filter is
   * skipped, as runc and crun skip device rules inside a user namespace.
   */
  optional: boolean;
}

/**
 * The device filter for `linux.resources.devices` (validated again, as the cgroup module
 * takes rules, naming the JSON path): allow rules for the device nodes nsbox makes in /dev
 * (`nodes`: the default devices and `linux.devices`) and for the container's devpts
 * (/dev/ptmx c 5:2, /dev/pts/* c 136:*), placed after the list's leading deny-all rule if it
 * has one and before its other rules — so that they stay usable under a deny-all list while
 * a rule of the config can still deny one of them, as crun orders its default devices (runc
 * appends them, so that under runc they cannot be denied). Unlike runc and crun, no wildcard
 * `c *:* m` / `b *:* m` (mknod of any device) and no /dev/net/tun are added.
 * @internal
 */
export function planDeviceRules(
  rules: readonly OciDeviceCgroup[],
  nodes: readonly DeviceNode[],
  c: { userns: boolean; capabilities: LinuxCapabilities | undefined },
): OciDeviceFilter {
  const checked = checkRules('linux.resources.devices', rules);
  const first = rules[0];
  const denyAll =
    first !== undefined &&
    !first.allow &&
    (first.type === undefined || first.type === 'a') &&
    anyNumber(first.major) &&
    anyNumber(first.minor) &&
    (first.access === undefined || first.access === '' || ['r', 'w', 'm'].every((a) => first.access!.includes(a)));
  const mknod = c.capabilities === undefined || (c.capabilities.bounding ?? []).includes('CAP_MKNOD');
  const optional = denyAll && rules.slice(1).every((r) => r.allow) && (c.userns || !mknod);
  const own: DeviceRule[] = nodes
    .filter((n) => n.type === 'c' || n.type === 'b')
    .map((n) => ({ allow: true, type: n.type as 'b' | 'c', major: n.major!, minor: n.minor!, access: 'rwm' }));
  own.push({ allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, { allow: true, type: 'c', major: 136, access: 'rwm' });
  // As crun orders them: after a leading deny-all (which stays the default), before the
  // config's other rules, so that a rule of the config can still deny one of them.
  const lead = denyAll ? 1 : 0;
  return { rules: [...checked.slice(0, lead), ...own, ...checked.slice(lead)], optional };
}

/**
 * `linux.devices` after the spec's default devices (an entry with the same path replaces a
 * default one). `u` is a character device. @internal
 */
export function mapDevices(list: readonly OciDevice[] | undefined): DeviceNode[] {
  const devices: DeviceNode[] = [...DEFAULT_DEVICES];
  (list ?? []).forEach((d, i) => {
    const p = at('linux.devices', i);
    for (const k of ['uid', 'gid'] as const)
      if (d[k] !== undefined && d[k] !== 0) throw unsupported(at(p, k), "a device owner other than 0 (the node is root's)");
    if (d.type !== 'p' && (d.major === undefined || d.minor === undefined))
      throw valueError(at(p, d.major === undefined ? 'major' : 'minor'), 'is required for a device that is not a FIFO', undefined);
    const node: DeviceNode = { path: d.path, type: d.type === 'u' ? 'c' : d.type };
    if (d.type !== 'p') Object.assign(node, { major: d.major, minor: d.minor });
    if (d.fileMode !== undefined) node.mode = d.fileMode & 0o777;
    const same = devices.findIndex((x) => x.path === d.path);
    if (same >= 0) devices[same] = node;
    else devices.push(node);
  });
  return devices;
}
