/**
 * rtnetlink message bodies: ifinfomsg (links), ifaddrmsg (addresses), rtmsg (routes), with
 * their attributes and IFLA_LINKINFO/IFLA_INFO_DATA per link kind. Encoders take resolved
 * values (indexes, fds); decoders return the public result types (addresses: address.ts, routes: route.ts). Attribute order follows
 * iproute2's, so a request is byte-for-byte what `ip` sends (test/unit/data/ip-requests.json).
 * @internal
 * @module
 */
import { NetlinkDecodeError } from '../../errors.js';
import { ipText, macText } from './text.js';
import type { IfIndex, IpvlanMode, Link, MacvlanMode, OperState, Scope } from './objects.js';
import { NL, table } from './constants.js';
import { MessageWriter, Reader, attr, parseAttrs, type Attrs, type NlMessage } from './wire.js';

const IFINFOMSG = NL.SIZEOF_IFINFOMSG;

export const MACVLAN_MODES = table<MacvlanMode>({
  private: NL.MACVLAN_MODE_PRIVATE,
  vepa: NL.MACVLAN_MODE_VEPA,
  bridge: NL.MACVLAN_MODE_BRIDGE,
  passthru: NL.MACVLAN_MODE_PASSTHRU,
  source: NL.MACVLAN_MODE_SOURCE,
});

export const IPVLAN_MODES = table<IpvlanMode>({ l2: NL.IPVLAN_MODE_L2, l3: NL.IPVLAN_MODE_L3, l3s: NL.IPVLAN_MODE_L3S });

export const SCOPES = table<Scope>({
  global: NL.RT_SCOPE_UNIVERSE,
  site: NL.RT_SCOPE_SITE,
  link: NL.RT_SCOPE_LINK,
  host: NL.RT_SCOPE_HOST,
  nowhere: NL.RT_SCOPE_NOWHERE,
});

const OPER_STATES = table<OperState>({
  unknown: NL.IF_OPER_UNKNOWN,
  notpresent: NL.IF_OPER_NOTPRESENT,
  down: NL.IF_OPER_DOWN,
  lowerlayerdown: NL.IF_OPER_LOWERLAYERDOWN,
  testing: NL.IF_OPER_TESTING,
  dormant: NL.IF_OPER_DORMANT,
  up: NL.IF_OPER_UP,
});

/** Interface flags by name, in the order `ip link` prints them. */
const IFF_NAMES: ReadonlyArray<[string, number]> = [
  ['LOOPBACK', NL.IFF_LOOPBACK],
  ['BROADCAST', NL.IFF_BROADCAST],
  ['POINTOPOINT', NL.IFF_POINTOPOINT],
  ['MULTICAST', NL.IFF_MULTICAST],
  ['NOARP', NL.IFF_NOARP],
  ['PROMISC', NL.IFF_PROMISC],
  ['UP', NL.IFF_UP],
  ['LOWER_UP', NL.IFF_LOWER_UP],
];

// ---------------------------------------------------------------------------------- links

function ifinfomsg(w: MessageWriter, index = 0, flags = 0, change = 0, family = NL.AF_UNSPEC): void {
  w.u8(family).u8(0).u16(0).i32(index).u32(flags).u32(change);
}

/** A link to create, with every name already resolved to an index and netns to an fd. */
export interface NewLinkRequest {
  name: string;
  kind: 'veth' | 'bridge' | 'dummy' | 'macvlan' | 'vlan' | 'ipvlan' | 'vxlan';
  up?: boolean;
  mtu?: number;
  mac?: Buffer;
  master?: number;
  /** IFLA_LINK: the parent of a macvlan or vlan. */
  parent?: number;
  macvlanMode?: number;
  vlanId?: number;
  ipvlanMode?: number;
  vxlan?: { id: number; remote?: Buffer; local?: Buffer; link?: number; port: number };
  peer?: { name: string; mtu?: number; mac?: Buffer; netnsFd?: number };
  /** A veth's transmit and receive queues, at both ends (default 1: see encodeNewLink). */
  queues?: number;
}

function linkCommon(w: MessageWriter, name: string, mtu?: number, mac?: Buffer): void {
  w.attrString(NL.IFLA_IFNAME, name);
  if (mtu !== undefined) w.attrU32(NL.IFLA_MTU, mtu);
  if (mac !== undefined) w.attr(NL.IFLA_ADDRESS, mac);
}

/**
 * RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL: `ip link add`. With `echo`, NLM_F_ECHO: the kernel
 * (6.1 and later) answers with the new link's RTM_NEWLINK before its ACK — its index, and for
 * a veth the peer's index as IFLA_LINK — so no lookup is needed.
 *
 * A veth gets IFLA_NUM_TX_QUEUES and IFLA_NUM_RX_QUEUES at both ends (`queues`, default 1).
 * Without them the kernel gives each end one queue of each kind per possible CPU, then, the
 * device registered, cuts the number in use to one (veth_init_queues): each cut waits for an
 * RCU grace period (synchronize_net, expedited under the rtnl lock), two per end. With one
 * queue asked for, the end state in use is the same — one queue each — and the request takes
 * about half the time (docs/performance.md).
 */
export function encodeNewLink(r: NewLinkRequest, echo = false, at?: { netnsFd?: number }): MessageWriter {
  const w = new MessageWriter(
    NL.RTM_NEWLINK,
    NL.NLM_F_REQUEST | NL.NLM_F_ACK | NL.NLM_F_EXCL | NL.NLM_F_CREATE | (echo ? NL.NLM_F_ECHO : 0),
  );
  ifinfomsg(w, 0, r.up ? NL.IFF_UP : 0, r.up ? NL.IFF_UP : 0);
  if (r.parent !== undefined) w.attrU32(NL.IFLA_LINK, r.parent);
  // Before the name, where iproute2 puts them (`numtxqueues N numrxqueues N`).
  const queues = r.kind === 'veth' ? (r.queues ?? 1) : undefined;
  if (queues !== undefined) w.attrU32(NL.IFLA_NUM_TX_QUEUES, queues).attrU32(NL.IFLA_NUM_RX_QUEUES, queues);
  linkCommon(w, r.name, r.mtu, r.mac);
  if (r.master !== undefined) w.attrU32(NL.IFLA_MASTER, r.master);
  // IFLA_INFO_KIND is an NLA_STRING: iproute2 sends it without the NUL, and so do we.
  w.begin(NL.IFLA_LINKINFO).attr(NL.IFLA_INFO_KIND, Buffer.from(r.kind, 'latin1'));
  if (r.kind === 'veth' && r.peer) {
    w.begin(NL.IFLA_INFO_DATA).begin(NL.VETH_INFO_PEER);
    ifinfomsg(w);
    if (queues !== undefined) w.attrU32(NL.IFLA_NUM_TX_QUEUES, queues).attrU32(NL.IFLA_NUM_RX_QUEUES, queues);
    linkCommon(w, r.peer.name, r.peer.mtu, r.peer.mac);
    if (r.peer.netnsFd !== undefined) {
      // `at` learns where the fd's four bytes sit in the message (after the attribute's header),
      // for a caller that writes the fd in later (connectToHost('new', …)).
      if (at) at.netnsFd = w.length + 4;
      w.attrU32(NL.IFLA_NET_NS_FD, r.peer.netnsFd);
    }
    w.end().end();
  } else if (r.kind === 'macvlan' && r.macvlanMode !== undefined) {
    w.begin(NL.IFLA_INFO_DATA).attrU32(NL.IFLA_MACVLAN_MODE, r.macvlanMode).end();
  } else if (r.kind === 'vlan' && r.vlanId !== undefined) {
    w.begin(NL.IFLA_INFO_DATA).attrU16(NL.IFLA_VLAN_ID, r.vlanId).end();
  } else if (r.kind === 'ipvlan' && r.ipvlanMode !== undefined) {
    w.begin(NL.IFLA_INFO_DATA).attrU16(NL.IFLA_IPVLAN_MODE, r.ipvlanMode).end();
  } else if (r.kind === 'vxlan' && r.vxlan) {
    const v = r.vxlan;
    w.begin(NL.IFLA_INFO_DATA).attrU32(NL.IFLA_VXLAN_ID, v.id);
    if (v.remote) w.attr(v.remote.length === 4 ? NL.IFLA_VXLAN_GROUP : NL.IFLA_VXLAN_GROUP6, v.remote);
    if (v.local) w.attr(v.local.length === 4 ? NL.IFLA_VXLAN_LOCAL : NL.IFLA_VXLAN_LOCAL6, v.local);
    if (v.link !== undefined) w.attrU32(NL.IFLA_VXLAN_LINK, v.link);
    // IFLA_VXLAN_PORT is big-endian (__be16), unlike the other integers here.
    w.attr(NL.IFLA_VXLAN_PORT, Uint8Array.of(v.port >> 8, v.port & 0xff));
    w.end();
  }
  w.end();
  return w;
}

/** Changes to a link by index (`ip link set`). */
export interface SetLinkRequest {
  index: number;
  up?: boolean;
  mtu?: number;
  name?: string;
  mac?: Buffer;
  /** 0 detaches (`nomaster`). */
  master?: number;
  netnsFd?: number;
  /** IPv4 settings of the link (`net.ipv4.conf.IF.*`), by IPV4_DEVCONF_* number: IFLA_AF_SPEC. */
  inetConf?: ReadonlyArray<readonly [number, number]>;
}

/** RTM_NEWLINK without NLM_F_CREATE on an existing index: `ip link set`. */
export function encodeSetLink(r: SetLinkRequest): MessageWriter {
  const w = new MessageWriter(NL.RTM_NEWLINK, NL.NLM_F_REQUEST | NL.NLM_F_ACK);
  const change = r.up === undefined ? 0 : NL.IFF_UP;
  ifinfomsg(w, r.index, r.up ? NL.IFF_UP : 0, change);
  if (r.name !== undefined) w.attrString(NL.IFLA_IFNAME, r.name);
  if (r.mtu !== undefined) w.attrU32(NL.IFLA_MTU, r.mtu);
  if (r.mac !== undefined) w.attr(NL.IFLA_ADDRESS, r.mac);
  if (r.master !== undefined) w.attrU32(NL.IFLA_MASTER, r.master);
  if (r.netnsFd !== undefined) w.attrU32(NL.IFLA_NET_NS_FD, r.netnsFd);
  if (r.inetConf !== undefined) {
    // IFLA_AF_SPEC { AF_INET { IFLA_INET_CONF { IPV4_DEVCONF_X: u32 … } } } (inet_set_link_af).
    w.begin(NL.IFLA_AF_SPEC).begin(NL.AF_INET).begin(NL.IFLA_INET_CONF);
    for (const [k, v] of r.inetConf) w.attrU32(k, v);
    w.end().end().end();
  }
  return w;
}

/** RTM_GETLINK: a dump (no target), or one link by index or name. */
export function encodeGetLink(target?: { index: number } | { name: string }): MessageWriter {
  const dump = target === undefined;
  const w = new MessageWriter(NL.RTM_GETLINK, NL.NLM_F_REQUEST | (dump ? NL.NLM_F_DUMP : 0));
  ifinfomsg(w, target && 'index' in target ? target.index : 0);
  if (target && 'name' in target) w.attrString(NL.IFLA_IFNAME, target.name);
  // As `ip link show`: no statistics (half of each message, and kernel work to gather them).
  w.attrU32(NL.IFLA_EXT_MASK, NL.RTEXT_FILTER_SKIP_STATS);
  return w;
}

/** RTM_DELLINK by index. */
export function encodeDelLink(index: number): MessageWriter {
  const w = new MessageWriter(NL.RTM_DELLINK, NL.NLM_F_REQUEST | NL.NLM_F_ACK);
  ifinfomsg(w, index);
  return w;
}

/** The link attributes decodeLink reads (the others are bounds-checked and skipped). */
const LINK_ATTRS: ReadonlySet<number> = new Set([
  NL.IFLA_IFNAME,
  NL.IFLA_MTU,
  NL.IFLA_ADDRESS,
  NL.IFLA_MASTER,
  NL.IFLA_LINK,
  NL.IFLA_LINK_NETNSID,
  NL.IFLA_OPERSTATE,
  NL.IFLA_LINKINFO,
]);

const LINKINFO_ATTRS: ReadonlySet<number> = new Set([NL.IFLA_INFO_KIND, NL.IFLA_INFO_DATA]);

function flagNames(flags: number): string[] {
  return IFF_NAMES.filter(([, bit]) => flags & bit).map(([n]) => n);
}

const LINK_INDEX_ATTRS: ReadonlySet<number> = new Set([NL.IFLA_LINK]);

/**
 * The two ends' indexes from the answer to a veth's RTM_NEWLINK sent with NLM_F_ECHO: the echo
 * (the host end's link message) carries its index and, as IFLA_LINK, the peer's
 * (veth_get_iflink), read without decoding the whole link. Undefined when the answer has no
 * usable echo (a kernel before 6.1): look the ends up by name then.
 */
export function vethEchoIndexes(answer: readonly NlMessage[]): { host: IfIndex; peer: IfIndex } | undefined {
  const msg = answer.find((m) => m.type === NL.RTM_NEWLINK);
  if (msg === undefined) return undefined;
  const base = msg.offset + NL.SIZEOF_NLMSGHDR;
  if (msg.body.length < IFINFOMSG) throw new NetlinkDecodeError(`ifinfomsg needs ${IFINFOMSG} bytes, got ${msg.body.length}`, base);
  const index = new Reader(msg.body, base).i32(4);
  const link = attr.u32(parseAttrs(msg.body, IFINFOMSG, base, LINK_INDEX_ATTRS), NL.IFLA_LINK);
  if (index <= 0 || link === undefined || link === 0 || link === index) return undefined;
  return { host: index as IfIndex, peer: link as IfIndex };
}

/** Decodes an RTM_NEWLINK/RTM_DELLINK body into a {@link Link}. */
export function decodeLink(msg: NlMessage): Link {
  const base = msg.offset + NL.SIZEOF_NLMSGHDR;
  const r = new Reader(msg.body, base);
  if (msg.body.length < IFINFOMSG) throw new NetlinkDecodeError(`ifinfomsg needs ${IFINFOMSG} bytes, got ${msg.body.length}`, base);
  const index = r.i32(4) as IfIndex;
  const flags = r.u32(8);
  const a = parseAttrs(msg.body, IFINFOMSG, base, LINK_ATTRS);
  const name = attr.str(a, NL.IFLA_IFNAME);
  if (name === undefined) throw new NetlinkDecodeError('link message without IFLA_IFNAME', base);
  const common = {
    index,
    name,
    up: (flags & NL.IFF_UP) !== 0,
    lowerUp: (flags & NL.IFF_LOWER_UP) !== 0,
    flags: flagNames(flags),
    mtu: attr.u32(a, NL.IFLA_MTU) ?? 0,
    operState: OPER_STATES.byNumber.get(attr.u8(a, NL.IFLA_OPERSTATE) ?? NL.IF_OPER_UNKNOWN) ?? 'unknown',
  } as Omit<Extract<Link, { kind: 'device' }>, 'kind'>;
  const mac = a.get(NL.IFLA_ADDRESS);
  if (mac !== undefined && mac.length > 0) common.mac = macText(mac);
  const master = attr.u32(a, NL.IFLA_MASTER);
  if (master !== undefined && master !== 0) common.master = master as IfIndex;
  const link = attr.u32(a, NL.IFLA_LINK);
  if (link !== undefined && link !== 0 && link !== index) common.link = link as IfIndex;
  const nsid = attr.i32(a, NL.IFLA_LINK_NETNSID);
  if (nsid !== undefined) common.linkNetnsId = nsid;
  const infoBuf = a.get(NL.IFLA_LINKINFO);
  const info = infoBuf === undefined ? undefined : parseAttrs(infoBuf, 0, 0, LINKINFO_ATTRS);
  const kind = info ? attr.str(info, NL.IFLA_INFO_KIND) : undefined;
  // IFLA_INFO_DATA is parsed only for the kinds whose data a result carries (a bridge's has
  // ~40 attributes nobody asked for).
  const data = (): Attrs | undefined => (info ? attr.nested(info, NL.IFLA_INFO_DATA) : undefined);
  switch (kind) {
    case undefined:
      return { kind: 'device', ...common };
    case 'veth':
    case 'bridge':
    case 'dummy':
      return { kind, ...common };
    case 'macvlan': {
      const d = data();
      const m = d ? attr.u32(d, NL.IFLA_MACVLAN_MODE) : undefined;
      const mode = m === undefined ? undefined : MACVLAN_MODES.byNumber.get(m);
      return mode === undefined ? { kind, ...common } : { kind, ...common, mode };
    }
    case 'vlan': {
      const d = data();
      return { kind, ...common, id: (d ? attr.u16(d, NL.IFLA_VLAN_ID) : undefined) ?? 0 };
    }
    case 'ipvlan': {
      const d = data();
      const m = d ? attr.u16(d, NL.IFLA_IPVLAN_MODE) : undefined;
      const mode = m === undefined ? undefined : IPVLAN_MODES.byNumber.get(m);
      return mode === undefined ? { kind, ...common } : { kind, ...common, mode };
    }
    case 'vxlan': {
      const d = data();
      const out: Extract<Link, { kind: 'vxlan' }> = { kind, ...common, id: (d ? attr.u32(d, NL.IFLA_VXLAN_ID) : undefined) ?? 0 };
      if (d) {
        const port = d.get(NL.IFLA_VXLAN_PORT);
        if (port !== undefined) {
          if (port.length !== 2) throw new NetlinkDecodeError(`IFLA_VXLAN_PORT of ${port.length} bytes`, base);
          out.port = (port[0]! << 8) | port[1]!;
        }
        const remote = d.get(NL.IFLA_VXLAN_GROUP) ?? d.get(NL.IFLA_VXLAN_GROUP6);
        if (remote?.some((x) => x !== 0)) out.remote = addrText(remote, remote.length === 4 ? 4 : 6, base)!;
        const local = d.get(NL.IFLA_VXLAN_LOCAL) ?? d.get(NL.IFLA_VXLAN_LOCAL6);
        if (local?.some((x) => x !== 0)) out.local = addrText(local, local.length === 4 ? 4 : 6, base)!;
      }
      return out;
    }
    default:
      return { kind: 'other', type: kind, ...common };
  }
}

// ---------------------------------------------------------------------- shared by bodies

/** 4 or 6 for AF_INET/AF_INET6; anything else is a decode error. */
export function family(n: number, base: number): 4 | 6 {
  if (n === NL.AF_INET) return 4;
  if (n === NL.AF_INET6) return 6;
  throw new NetlinkDecodeError(`address family ${n} is neither AF_INET nor AF_INET6`, base);
}

/** Text of an address attribute whose size must match the family. */
export function addrText(b: Buffer | undefined, fam: 4 | 6, base: number): string | undefined {
  if (b === undefined) return undefined;
  if (b.length !== (fam === 4 ? 4 : 16)) throw new NetlinkDecodeError(`IPv${fam} address attribute of ${b.length} bytes`, base);
  return ipText(b);
}
