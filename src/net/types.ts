/**
 * Public types of `nsbox/net`: input specs and query results are separate types, kernel
 * object kinds are discriminated unions, interface indexes are branded.
 * @module
 */
import type { Namespace } from '../namespaces/namespace.js';
import type { IfName, IpvlanMode, MacvlanMode, Scope, Link, Address, Route } from './netlink/objects.js';

// The kernel objects netlink decodes (links, addresses, routes, neighbours) live with the
// decoders; they are part of this module's public types.
export type * from './netlink/objects.js';

/**
 * Which network namespace a call acts in: a {@link Namespace} handle (kept open by the
 * caller), a pid (its `/proc/PID/ns/net`), or a name in /run/netns (`ip netns add` names).
 * Omitted: the caller's own.
 */
export type NetnsTarget = Namespace | number | string;

/** The `netns` option every `nsbox/net` call takes. */
export interface NetnsOptions {
  /** Where to act; omitted: the caller's network namespace. */
  netns?: NetnsTarget;
}

/** What every link spec can say. */
export interface LinkSpecBase {
  /** The new link's name (at most 15 bytes). */
  name: IfName;
  /** MTU. */
  mtu?: number;
  /** Link-layer address `aa:bb:cc:dd:ee:ff`. */
  mac?: string;
  /** Bring it up as it is made. */
  up?: boolean;
  /** A bridge to enslave it to, by name (in the same namespace). */
  master?: IfName;
}

/** The far end of a veth pair. */
export interface VethPeerSpec {
  /** The peer's name. */
  name: IfName;
  /** Create the peer directly in this namespace (IFLA_NET_NS_FD inside VETH_INFO_PEER). */
  netns?: NetnsTarget;
  /** The peer's MTU. */
  mtu?: number;
  /** The peer's link-layer address. */
  mac?: string;
}

/** `ip link add NAME type veth peer name PEER [netns NS]`. */
export interface VethSpec extends LinkSpecBase {
  /** A veth pair. */
  kind: 'veth';
  /** The other end (VETH_INFO_PEER). */
  peer: VethPeerSpec;
  /**
   * Transmit and receive queues at each end, all in use (`numtxqueues N numrxqueues N` on
   * both ends; IFLA_NUM_TX_QUEUES/IFLA_NUM_RX_QUEUES), 1 to 4096. Default 1: the number the
   * kernel leaves in use by itself. Without it the kernel would make one of each per possible
   * CPU and then cut the number in use back to one, which waits for two RCU grace periods per
   * end — about half of a veth's creation time (docs/performance.md); the one difference is
   * the ceiling for `ethtool -L` later, so ask for more queues here when you will use them
   * (multi-queue XDP, RPS-free spreading).
   */
  queues?: number;
}
/** `ip link add NAME type bridge`. */
export interface BridgeSpec extends LinkSpecBase {
  /** A bridge. */
  kind: 'bridge';
}
/** `ip link add NAME type dummy`. */
export interface DummySpec extends LinkSpecBase {
  /** A dummy link (module `dummy`; absent from some kernels). */
  kind: 'dummy';
}
/** `ip link add NAME link PARENT type macvlan mode MODE`. */
export interface MacvlanSpec extends LinkSpecBase {
  /** A macvlan link. */
  kind: 'macvlan';
  /** The link it sits on (`link PARENT`). */
  parent: IfName;
  /** `mode MODE`; the kernel's default is `vepa`. */
  mode?: MacvlanMode;
}
/** `ip link add NAME link PARENT type vlan id ID`. */
export interface VlanSpec extends LinkSpecBase {
  /** An 802.1Q VLAN link (module `8021q`). */
  kind: 'vlan';
  /** The link it sits on (`link PARENT`). */
  parent: IfName;
  /** `id ID`, 0..4094. */
  id: number;
}

/** `ip link add NAME link PARENT type ipvlan mode MODE`. */
export interface IpvlanSpec extends LinkSpecBase {
  /** An ipvlan link. */
  kind: 'ipvlan';
  /** The link it sits on (`link PARENT`). */
  parent: IfName;
  /** `mode MODE`; the kernel's default is `l3`. */
  mode?: IpvlanMode;
}
/** `ip link add NAME type vxlan id ID [remote|group ADDR] [local ADDR] [dev DEV] dstport PORT`. */
export interface VxlanSpec extends LinkSpecBase {
  /** A VXLAN tunnel endpoint. */
  kind: 'vxlan';
  /** The VNI, 0..16777215. */
  id: number;
  /** A unicast remote endpoint or a multicast group (IPv4 or IPv6). */
  remote?: string;
  /** The local source address. */
  local?: string;
  /** The underlay link (`dev DEV`); needed with a multicast group. */
  parent?: IfName;
  /** UDP destination port; default 4789 (IANA; the kernel's own default is 8472). */
  port?: number;
}

/** What {@link addLink} makes: a discriminated union on `kind`. */
export type LinkSpec = VethSpec | BridgeSpec | DummySpec | MacvlanSpec | VlanSpec | IpvlanSpec | VxlanSpec;

/** Changes {@link setLink} makes (`ip link set`); unset fields are left alone. */
export interface LinkChanges {
  /** `up` / `down`. */
  up?: boolean;
  /** `mtu N`. */
  mtu?: number;
  /** `name NEW`. */
  name?: IfName;
  /** `address MAC`. */
  mac?: string;
  /** `master BRIDGE`, or `null` for `nomaster`. */
  master?: IfName | null;
  /** `netns NS`: move the link to another namespace. */
  netns?: NetnsTarget;
}

/** Options of {@link addAddress}. */
export interface AddressOptions extends NetnsOptions {
  /** IPv4 broadcast: an address, or `true` to compute it from the prefix (`broadcast +`). */
  broadcast?: string | true;
  /** Scope, default global. */
  scope?: Scope;
  /** IPv4 label (must start with the link's name). */
  label?: string;
}

/** A route to add, replace or delete (`ip route add|replace|del`). */
export interface RouteSpec {
  /** `'default'` or `ADDR/PREFIX` (an address without prefix is a host route). */
  dst: string;
  /** `via ADDR`. */
  gateway?: string;
  /** `dev NAME`. */
  dev?: IfName;
  /** `table N` (default main, 254). */
  table?: number;
  /** `metric N`. */
  metric?: number;
  /** `scope S` (default: link without a gateway, global with one, as `ip` chooses). */
  scope?: Scope;
  /** `src ADDR` (preferred source). */
  src?: string;
}

/** Filters of {@link routes}. */
export interface RouteQuery extends NetnsOptions {
  /** 4, 6, or both (default). */
  family?: 4 | 6;
  /** A table number, or `'all'`; default main (254), as `ip route`. */
  table?: number | 'all';
}

/** A change reported by {@link events}. */
export type NetEvent = LinkEvent | AddressEvent | RouteEvent;

/** A link appeared or changed (`new`) or went away (`del`). */
export interface LinkEvent {
  /** Discriminant. */
  type: 'link';
  /** RTM_NEWLINK (created or changed) or RTM_DELLINK. */
  action: 'new' | 'del';
  /** The link as the message described it. */
  link: Link;
}

/** An address was added (`new`) or removed (`del`). */
export interface AddressEvent {
  /** Discriminant. */
  type: 'address';
  /** RTM_NEWADDR or RTM_DELADDR. */
  action: 'new' | 'del';
  /** The address. */
  address: Address;
}

/** A route was added or changed (`new`) or removed (`del`), any table. */
export interface RouteEvent {
  /** Discriminant. */
  type: 'route';
  /** RTM_NEWROUTE or RTM_DELROUTE. */
  action: 'new' | 'del';
  /** The route. */
  route: Route;
}

/** Options of {@link addNeighbour}. */
export interface NeighbourOptions extends NetnsOptions {
  /** `nud STATE`; default `'permanent'`, as `ip neigh add`. */
  state?: 'permanent' | 'noarp' | 'reachable' | 'stale';
}
