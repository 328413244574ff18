/**
 * Devices: the nodes runtime-spec requires in every container (config-linux.md "Default
 * Devices"), and `linux.resources.devices`, the cgroup device allow-list, which nsbox can
 * only honour in one shape until it has a BPF_CGROUP_DEVICE program.
 * @module
 */
import type { DeviceNode } from '../fs/container.js';
import type { LinuxCapabilities } from '../security/capabilities.js';
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

/**
 * Accepts `linux.resources.devices` only when nsbox gives the same result without a cgroup
 * device filter: a first rule that denies every device for every access, later rules that
 * only allow, and a container that cannot make device nodes (a user namespace, or no
 * CAP_MKNOD in its bounding set). runc and crun always allow the default devices and those
 * of `linux.devices`, which are then exactly the nodes nsbox puts in /dev. Device nodes that
 * the root filesystem itself holds stay openable (a cgroup filter would deny them): see
 * docs/oci.md. Anything else is refused.
 * @throws `ERR_NSBOX_UNSUPPORTED` naming the rule.
 * @internal
 */
export function checkDeviceRules(
  rules: readonly OciDeviceCgroup[],
  c: { userns: boolean; capabilities: LinuxCapabilities | undefined },
): void {
  if (rules.length === 0) return;
  const why = 'nsbox has no cgroup device filter (BPF_CGROUP_DEVICE) yet; it honours only a deny-all list followed by allow rules';
  const first = rules[0]!;
  const denyAll =
    first.allow === false &&
    (first.type === undefined || first.type === 'a') &&
    anyNumber(first.major) &&
    anyNumber(first.minor) &&
    (first.access === undefined || ['r', 'w', 'm'].every((a) => first.access!.includes(a)));
  if (!denyAll) throw unsupported(at('linux.resources.devices', 0), why);
  rules.forEach((r, i) => {
    if (i > 0 && !r.allow) throw unsupported(at('linux.resources.devices', i), why);
  });
  const mknod = c.capabilities === undefined || (c.capabilities.bounding ?? []).includes('CAP_MKNOD');
  if (!c.userns && mknod)
    throw unsupported(
      'linux.resources.devices',
      'the container could mknod(2) any device (CAP_MKNOD in its bounding set, no user namespace) and nsbox has no cgroup device filter to deny it; drop CAP_MKNOD or add a user namespace',
    );
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
