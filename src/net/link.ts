/**
 * Links: list, get, add (veth, bridge, dummy, macvlan, vlan), set, delete — `ip link` over
 * rtnetlink, in a chosen network namespace.
 * @module
 */
import { invalidArgType, invalidArgValue, outOfRange, nsboxError } from '../errors.js';
import { NL } from './netlink/constants.js';
import {
  IPVLAN_MODES,
  MACVLAN_MODES,
  decodeLink,
  encodeDelLink,
  encodeGetLink,
  encodeNewLink,
  encodeSetLink,
  type NewLinkRequest,
  type SetLinkRequest,
} from './netlink/rtnl.js';
import { macBytes, parseIp } from './ip.js';
import { checkIfName, checkLinkRef, holdNetns, resolveIndex, withRtnl, type HeldNetns } from './target.js';
import type { IfIndex, Link, LinkChanges, LinkSpec, NetnsOptions } from './types.js';

const KINDS = ['veth', 'bridge', 'dummy', 'macvlan', 'vlan', 'ipvlan', 'vxlan'] as const;

function checkOptions(options: unknown): NetnsOptions {
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  return options as NetnsOptions;
}

function checkMtu(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 68 || v > 0xffffffff) throw outOfRange(name, 'an integer >= 68', v);
  return v;
}

/**
 * Every link in the namespace: RTM_GETLINK dump. Replaces `ip -j link show`.
 * No privileges needed. Does not block or touch the calling thread.
 * @throws SysError (syscall `'RTM_GETLINK'`, `'setns'`, `'socket'`); `ERR_INVALID_ARG_TYPE`.
 */
export async function links(options: NetnsOptions = {}): Promise<Link[]> {
  const { netns } = checkOptions(options);
  return withRtnl(netns, async (s) => {
    const msgs = await s.request(encodeGetLink(), { syscall: 'RTM_GETLINK' });
    return msgs.filter((m) => m.type === NL.RTM_NEWLINK).map(decodeLink);
  });
}

/**
 * One link by name or index: RTM_GETLINK. Replaces `ip -j link show dev NAME`.
 * @throws SysError `ENODEV` (syscall `'RTM_GETLINK'`, `ifname`) when there is none.
 */
export async function link(nameOrIndex: string | IfIndex, options: NetnsOptions = {}): Promise<Link> {
  const ref = checkLinkRef('nameOrIndex', nameOrIndex);
  const { netns } = checkOptions(options);
  return withRtnl(netns, async (s) => {
    const target = typeof ref === 'number' ? { index: ref } : { name: ref };
    const msgs = await s.request(
      encodeGetLink(target),
      typeof ref === 'string' ? { syscall: 'RTM_GETLINK', ifname: ref } : { syscall: 'RTM_GETLINK' },
    );
    const m = msgs.find((x) => x.type === NL.RTM_NEWLINK);
    if (!m) throw nsboxError('ERR_NSBOX_NETLINK_DECODE', `RTM_GETLINK for ${String(ref)} returned no link`);
    return decodeLink(m);
  });
}

/**
 * Creates a link: RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL. Replaces
 * `ip link add NAME [mtu N] [address MAC] [master BR] [up] type KIND …`:
 * - veth: `numtxqueues Q numrxqueues Q type veth peer name PEER numtxqueues Q numrxqueues Q
 *   [netns NS]` — the peer is created directly in `peer.netns`; `queues` Q, default 1.
 * - bridge, dummy: `type bridge|dummy`.
 * - macvlan: `link PARENT type macvlan mode MODE`; vlan: `link PARENT type vlan id ID`;
 *   ipvlan: `link PARENT type ipvlan mode l2|l3|l3s`.
 * - vxlan: `type vxlan id VNI [remote|group ADDR] [local ADDR] [dev DEV] dstport PORT`.
 *
 * Needs CAP_NET_ADMIN in the namespace's user namespace (and in the peer's). Does not touch
 * the calling thread.
 * @returns the new link as the kernel reports it in its answer (NLM_F_ECHO; a lookup by name
 * on kernels before 6.1): its state when it was made — a link's operational state settles a
 * moment later (`link()` reads it then).
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE`/`ERR_OUT_OF_RANGE` before any
 * request; SysError (syscall `'RTM_NEWLINK'`, `ifname`, `kernelMessage`) `EEXIST`, `EPERM`,
 * `EINVAL` (e.g. a name over 15 bytes), `ENOTSUP` (EOPNOTSUPP: kind not in this kernel, `kernelMessage` "Unknown device type").
 */
export async function addLink(spec: LinkSpec, options: NetnsOptions = {}): Promise<Link> {
  if (spec === null || typeof spec !== 'object') throw invalidArgType('spec', 'of type object', spec);
  if (!(KINDS as readonly string[]).includes(spec.kind))
    throw invalidArgValue('spec.kind', spec.kind, `must be one of ${KINDS.join(', ')}`);
  const name = checkIfName('spec.name', spec.name);
  const { netns } = checkOptions(options);
  const req: NewLinkRequest = { name, kind: spec.kind };
  const mtu = checkMtu('spec.mtu', spec.mtu);
  if (mtu !== undefined) req.mtu = mtu;
  if (spec.mac !== undefined) req.mac = macBytes('spec.mac', spec.mac);
  if (spec.up !== undefined) req.up = spec.up === true;
  if (spec.master !== undefined) checkIfName('spec.master', spec.master);
  let peerNs: HeldNetns | undefined;
  if (spec.kind === 'veth') {
    if (spec.peer === null || typeof spec.peer !== 'object') throw invalidArgType('spec.peer', 'of type object', spec.peer);
    req.peer = { name: checkIfName('spec.peer.name', spec.peer.name) };
    const pm = checkMtu('spec.peer.mtu', spec.peer.mtu);
    if (pm !== undefined) req.peer.mtu = pm;
    if (spec.peer.mac !== undefined) req.peer.mac = macBytes('spec.peer.mac', spec.peer.mac);
    if (spec.queues !== undefined) {
      if (typeof spec.queues !== 'number') throw invalidArgType('spec.queues', 'of type number', spec.queues);
      if (!Number.isInteger(spec.queues) || spec.queues < 1 || spec.queues > 4096)
        throw outOfRange('spec.queues', 'an integer from 1 to 4096', spec.queues);
      req.queues = spec.queues;
    }
  } else if (spec.kind === 'macvlan') {
    checkIfName('spec.parent', spec.parent);
    if (spec.mode !== undefined) {
      const m = MACVLAN_MODES.byName[spec.mode];
      if (m === undefined) throw invalidArgValue('spec.mode', spec.mode, `must be one of ${Object.keys(MACVLAN_MODES.byName).join(', ')}`);
      req.macvlanMode = m;
    }
  } else if (spec.kind === 'vlan') {
    checkIfName('spec.parent', spec.parent);
    if (typeof spec.id !== 'number' || !Number.isInteger(spec.id) || spec.id < 0 || spec.id > 4094)
      throw outOfRange('spec.id', 'an integer from 0 to 4094', spec.id);
    req.vlanId = spec.id;
  } else if (spec.kind === 'ipvlan') {
    checkIfName('spec.parent', spec.parent);
    if (spec.mode !== undefined) {
      const m = IPVLAN_MODES.byName[spec.mode];
      if (m === undefined) throw invalidArgValue('spec.mode', spec.mode, `must be one of ${Object.keys(IPVLAN_MODES.byName).join(', ')}`);
      req.ipvlanMode = m;
    }
  } else if (spec.kind === 'vxlan') {
    if (typeof spec.id !== 'number' || !Number.isInteger(spec.id) || spec.id < 0 || spec.id > 0xffffff)
      throw outOfRange('spec.id', 'an integer from 0 to 16777215', spec.id);
    const port = spec.port ?? 4789;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw outOfRange('spec.port', 'an integer from 1 to 65535', port);
    req.vxlan = { id: spec.id, port };
    if (spec.remote !== undefined) req.vxlan.remote = parseIp('spec.remote', spec.remote).bytes;
    if (spec.local !== undefined) req.vxlan.local = parseIp('spec.local', spec.local).bytes;
    if (spec.parent !== undefined) checkIfName('spec.parent', spec.parent);
  }
  if (spec.kind === 'veth' && spec.peer.netns !== undefined) peerNs = holdNetns('spec.peer.netns', spec.peer.netns);
  try {
    return await withRtnl(netns, async (s) => {
      if (spec.master !== undefined) req.master = await resolveIndex(s, spec.master);
      if (spec.kind === 'macvlan' || spec.kind === 'vlan' || spec.kind === 'ipvlan') req.parent = await resolveIndex(s, spec.parent);
      if (spec.kind === 'vxlan' && spec.parent !== undefined && req.vxlan) req.vxlan.link = await resolveIndex(s, spec.parent);
      if (peerNs && req.peer) req.peer.netnsFd = peerNs.fd;
      // NLM_F_ECHO: the kernel (6.1 and later) answers with the new link's RTM_NEWLINK. Not a
      // lookup by name after: a GETLINK of a link made a moment ago first runs its pending
      // linkwatch work, which for a veth whose peer is down waits for an RCU grace period.
      const echo = await s.request(encodeNewLink(req, true), { syscall: 'RTM_NEWLINK', ifname: name });
      const made = echo.find((m) => m.type === NL.RTM_NEWLINK);
      if (made !== undefined) return decodeLink(made);
      const [m] = await s.request(encodeGetLink({ name }), { syscall: 'RTM_GETLINK', ifname: name });
      return decodeLink(m!);
    });
  } finally {
    peerNs?.release();
  }
}

/**
 * Changes a link: RTM_NEWLINK on its index. Replaces `ip link set DEV [up|down] [mtu N]
 * [name NEW] [address MAC] [master BR|nomaster] [netns NS]`. Unset fields are left alone.
 * Needs CAP_NET_ADMIN. Does not touch the calling thread.
 * @throws validation errors before any request; SysError (syscall `'RTM_NEWLINK'` or
 * `'RTM_GETLINK'`, `ifname`, `kernelMessage`) `ENODEV`, `EEXIST`, `EINVAL`, `EPERM`.
 */
export async function setLink(nameOrIndex: string | IfIndex, changes: LinkChanges, options: NetnsOptions = {}): Promise<void> {
  const ref = checkLinkRef('nameOrIndex', nameOrIndex);
  if (changes === null || typeof changes !== 'object') throw invalidArgType('changes', 'of type object', changes);
  const { netns } = checkOptions(options);
  const mtu = checkMtu('changes.mtu', changes.mtu);
  const mac = changes.mac === undefined ? undefined : macBytes('changes.mac', changes.mac);
  if (changes.name !== undefined) checkIfName('changes.name', changes.name);
  if (changes.master !== undefined && changes.master !== null) checkIfName('changes.master', changes.master);
  const target = changes.netns === undefined ? undefined : holdNetns('changes.netns', changes.netns);
  const ifname = typeof ref === 'string' ? ref : undefined;
  try {
    await withRtnl(netns, async (s) => {
      const req: SetLinkRequest = { index: await resolveIndex(s, ref) };
      if (changes.up !== undefined) req.up = changes.up === true;
      if (mtu !== undefined) req.mtu = mtu;
      if (changes.name !== undefined) req.name = changes.name;
      if (mac !== undefined) req.mac = mac;
      if (changes.master === null) req.master = 0;
      else if (changes.master !== undefined) req.master = await resolveIndex(s, changes.master);
      if (target) req.netnsFd = target.fd;
      await s.request(encodeSetLink(req), ifname === undefined ? { syscall: 'RTM_NEWLINK' } : { syscall: 'RTM_NEWLINK', ifname });
    });
  } finally {
    target?.release();
  }
}

/**
 * Deletes a link (and a veth's peer with it): RTM_DELLINK. Replaces `ip link del DEV`.
 * Needs CAP_NET_ADMIN. Blocks in the kernel's rcu_barrier for tens of milliseconds on some
 * kernels, but not the event loop.
 * @throws SysError (syscall `'RTM_DELLINK'`/`'RTM_GETLINK'`, `ifname`) `ENODEV`, `EPERM`, `EOPNOTSUPP` (lo).
 */
export async function deleteLink(nameOrIndex: string | IfIndex, options: NetnsOptions = {}): Promise<void> {
  const ref = checkLinkRef('nameOrIndex', nameOrIndex);
  const { netns } = checkOptions(options);
  await withRtnl(netns, async (s) => {
    const index = await resolveIndex(s, ref);
    await s.request(encodeDelLink(index), typeof ref === 'string' ? { syscall: 'RTM_DELLINK', ifname: ref } : { syscall: 'RTM_DELLINK' });
  });
}
