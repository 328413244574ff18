/**
 * `linux.netDevices` (runtime-spec 1.2, config-linux.md "Network Devices"): host interfaces
 * moved into the container's network namespace, optionally renamed, as runc 1.2 moves them.
 * @module
 */
import { NL } from '../net/netlink/constants.js';
import { addAddress, addresses } from '../net/address.js';
import { link, setLink } from '../net/link.js';
import type { NetnsTarget } from '../net/types.js';
import { at, unsupported, valueError } from './check.js';
import type { OciLinux } from './types.js';

/** The interfaces to move: host name → name inside the container. */
export type OciNetDevicePlan = Array<{
  /** The interface's name on the host (the key of `linux.netDevices`). */
  host: string;
  /** Its name inside the container (`name`, default the host name). */
  name: string;
}>;

/** IFNAMSIZ less its NUL. */
const IFNAME_MAX = 15;

/** runc's devValidName: 1 to 15 bytes, not `.` or `..`, no `/`, `:` or space. */
function validIfName(n: string): boolean {
  return n.length > 0 && Buffer.byteLength(n) <= IFNAME_MAX && n !== '.' && n !== '..' && !/[/: \0]/.test(n);
}

/**
 * Checks `linux.netDevices` as runc does: the container needs a network namespace of its own
 * in `linux.namespaces`, the runtime needs root (moving a host link needs CAP_NET_ADMIN over
 * the host's namespace), and every name must be a valid interface name. Two devices may not
 * end up with the same name. Pure but for geteuid(2). @internal
 */
export function planNetDevices(linux: OciLinux, hasNetns: boolean): OciNetDevicePlan | undefined {
  const devices = linux.netDevices;
  if (devices === undefined || Object.keys(devices).length === 0) return undefined;
  if (!hasNetns)
    throw valueError('linux.netDevices', 'needs a network namespace in linux.namespaces (it would move them nowhere)', devices);
  if (process.geteuid!() !== 0)
    throw unsupported('linux.netDevices', 'moving host interfaces needs root (runc refuses them for rootless containers too)');
  const plan: OciNetDevicePlan = [];
  const seen = new Set<string>();
  for (const [host, d] of Object.entries(devices)) {
    if (!validIfName(host)) throw valueError(at('linux.netDevices', host), 'is not a valid interface name', host);
    const name = d.name === undefined || d.name === '' ? host : d.name;
    if (!validIfName(name)) throw valueError(at(at('linux.netDevices', host), 'name'), 'is not a valid interface name', d.name);
    if (seen.has(name)) throw valueError(at(at('linux.netDevices', host), 'name'), 'is the name of another device too', name);
    seen.add(name);
    plan.push({ host, name });
  }
  return plan;
}

/**
 * Moves each planned host interface into `netns` (a pid, or a Namespace), as runc 1.2 does: the
 * link is set down, moved and renamed in one RTM_NEWLINK (`IFLA_NET_NS_FD` + `IFLA_IFNAME`, so
 * the name never clashes in either namespace), its permanent global addresses (which the
 * kernel drops on the move) are added again inside, and it is set up there. Stops at the
 * first failure; what was moved goes with the namespace: when it is destroyed, the kernel
 * returns physical devices to the initial namespace and deletes virtual ones (runtime-spec
 * "Namespace lifecycle"). Needs CAP_NET_ADMIN over both namespaces. Async (netlink in the
 * event loop); does not touch the calling thread.
 * @throws SysError from netlink (`ENODEV` for a missing host interface, with `ifname`).
 */
export async function moveNetDevices(plan: OciNetDevicePlan, netns: NetnsTarget): Promise<void> {
  for (const { host, name } of plan) {
    const l = await link(host);
    await setLink(l.index, { up: false });
    const keep = (await addresses()).filter(
      (a) => a.index === l.index && (a.flags & NL.IFA_F_PERMANENT!) !== 0 && (a.scope === 'global' || a.scope === 0),
    );
    await setLink(l.index, { netns, name });
    for (const a of keep) await addAddress(name, a.cidr, { netns, ...(a.broadcast !== undefined && { broadcast: a.broadcast }) });
    await setLink(name, { up: true }, { netns });
  }
}
