/**
 * Public types of `nsbox/net`: input specs and query results are separate types, kernel
 * object kinds are discriminated unions, interface indexes are branded.
 * @module
 */
import type { Namespace } from '../namespaces/namespace.js';

/** An interface index (`ip link` prints it first), branded so it is not mixed up with other numbers. */
export type IfIndex = number & {
  /** Type-level brand only; no such property exists at run time. */
  readonly __brand: 'IfIndex';
};

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

/** A link's or peer's name: IFNAMSIZ-1 = 15 bytes at most; the kernel refuses longer ones. */
export type IfName = string;

/** Modes of an ipvlan link (`ip link add … type ipvlan mode l2|l3|l3s`). */
export type IpvlanMode = 'l2' | 'l3' | 'l3s';

/** Modes of a macvlan link (`ip link add … type macvlan mode MODE`). */
export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';

/** RFC 2863 operational state (`ip link`'s `state`). */
export type OperState = 'unknown' | 'notpresent' | 'down' | 'lowerlayerdown' | 'testing' | 'dormant' | 'up';

/** Route and address scopes (`scope global|site|link|host|nowhere`), or a raw number. */
export type Scope = 'global' | 'site' | 'link' | 'host' | 'nowhere';

/** What every link has, whatever its kind. */
export interface LinkBase {
  /** The interface index. */
  index: IfIndex;
  /** The interface name. */
  name: string;
  /** IFF_UP: administratively up (`ip link set … up`). */
  up: boolean;
  /** IFF_LOWER_UP: the carrier is present. */
  lowerUp: boolean;
  /** The interface flags by name (`UP`, `BROADCAST`, `LOOPBACK`, `RUNNING`, …), as `ip link` prints them. */
  flags: string[];
  /** The MTU. */
  mtu: number;
  /** The link-layer address, `aa:bb:…`, when the link has one. */
  mac?: string;
  /** The operational state. */
  operState: OperState;
  /** The bridge (or other master) this link is enslaved to. */
  master?: IfIndex;
  /** IFLA_LINK: the peer (veth) or parent (vlan, macvlan), an index in `linkNetnsId`'s namespace when that is set. */
  link?: IfIndex;
  /** IFLA_LINK_NETNSID: the id, in this namespace, of the namespace `link` lives in. */
  linkNetnsId?: number;
}

/** A veth end. `link` is the peer's index. */
export interface VethLink extends LinkBase {
  /** IFLA_INFO_KIND `veth`. */
  kind: 'veth';
}
/** A bridge. */
export interface BridgeLink extends LinkBase {
  /** IFLA_INFO_KIND `bridge`. */
  kind: 'bridge';
}
/** A dummy link. */
export interface DummyLink extends LinkBase {
  /** IFLA_INFO_KIND `dummy`. */
  kind: 'dummy';
}
/** A macvlan link on `link` (its parent). */
export interface MacvlanLink extends LinkBase {
  /** IFLA_INFO_KIND `macvlan`. */
  kind: 'macvlan';
  /** IFLA_MACVLAN_MODE, when the kernel reports it. */
  mode?: MacvlanMode;
}
/** An 802.1Q VLAN link on `link` (its parent). */
export interface VlanLink extends LinkBase {
  /** IFLA_INFO_KIND `vlan`. */
  kind: 'vlan';
  /** The 802.1Q VLAN id (IFLA_VLAN_ID). */
  id: number;
}
/** An ipvlan link on `link` (its parent). */
export interface IpvlanLink extends LinkBase {
  /** IFLA_INFO_KIND `ipvlan`. */
  kind: 'ipvlan';
  /** IFLA_IPVLAN_MODE, when the kernel reports it. */
  mode?: IpvlanMode;
}
/** A VXLAN tunnel endpoint. */
export interface VxlanLink extends LinkBase {
  /** IFLA_INFO_KIND `vxlan`. */
  kind: 'vxlan';
  /** The VXLAN network identifier (IFLA_VXLAN_ID). */
  id: number;
  /** The UDP destination port (IFLA_VXLAN_PORT). */
  port?: number;
  /** The remote endpoint or multicast group (IFLA_VXLAN_GROUP/GROUP6). */
  remote?: string;
  /** The local source address (IFLA_VXLAN_LOCAL/LOCAL6). */
  local?: string;
}
/** A link with no IFLA_INFO_KIND (loopback, physical devices). */
export interface DeviceLink extends LinkBase {
  /** No IFLA_INFO_KIND: loopback or a physical device. */
  kind: 'device';
}
/** Any other kind; `type` is the kernel's IFLA_INFO_KIND (`'vxlan'`, `'tun'`, …). */
export interface OtherLink extends LinkBase {
  /** A kind nsbox does not model. */
  kind: 'other';
  /** The kernel's IFLA_INFO_KIND (`'vxlan'`, `'tun'`, …). */
  type: string;
}

/** A link as the kernel reports it: a discriminated union on `kind`. */
export type Link = VethLink | BridgeLink | DummyLink | MacvlanLink | VlanLink | IpvlanLink | VxlanLink | DeviceLink | OtherLink;

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

/** An address on a link, as `ip -j addr` lists it. */
export interface Address {
  /** 4 or 6. */
  family: 4 | 6;
  /** The link it is on. */
  index: IfIndex;
  /** The address (IFA_LOCAL for IPv4, IFA_ADDRESS for IPv6). */
  address: string;
  /** The prefix length. */
  prefixLength: number;
  /** `address/prefixLength`. */
  cidr: string;
  /** The peer (IFA_ADDRESS) when it differs from the local address (point-to-point). */
  peer?: string;
  /** The IPv4 broadcast address, when set. */
  broadcast?: string;
  /** The IPv4 label (`eth0:1`), when set. */
  label?: string;
  /** The scope. */
  scope: Scope | number;
  /** The raw IFA_F_* flags. */
  flags: number;
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

/** A route, as `ip -j route` lists it. */
export interface Route {
  /** 4 or 6. */
  family: 4 | 6;
  /** `'default'` or `ADDR/PREFIX`. */
  dst: string;
  /** The next hop. */
  gateway?: string;
  /** The output link. */
  dev?: IfIndex;
  /** The routing table (254 is main). */
  table: number;
  /** The metric (RTA_PRIORITY). */
  metric?: number;
  /** The scope. */
  scope: Scope | number;
  /** The preferred source address (RTA_PREFSRC). */
  src?: string;
  /** RTPROT_*: `'kernel'`, `'boot'`, `'static'`, or the number. */
  protocol: 'kernel' | 'boot' | 'static' | number;
  /** RTN_*: `'unicast'`, `'local'`, `'broadcast'`, … or the number. */
  type: 'unicast' | 'local' | 'broadcast' | 'anycast' | 'multicast' | 'blackhole' | 'unreachable' | 'prohibit' | number;
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

/** NUD_* neighbour states (`ip neigh`'s last column). */
export type NeighbourState = 'incomplete' | 'reachable' | 'stale' | 'delay' | 'probe' | 'failed' | 'noarp' | 'permanent';

/** A neighbour table entry (ARP for IPv4, NDP for IPv6), as `ip -j neigh` lists it. */
export interface Neighbour {
  /** 4 or 6. */
  family: 4 | 6;
  /** The link. */
  index: IfIndex;
  /** The neighbour's IP address. */
  address: string;
  /** Its link-layer address, when known. */
  mac?: string;
  /** The NUD_* state bits by name. */
  state: NeighbourState[];
}

/** Options of {@link addNeighbour}. */
export interface NeighbourOptions extends NetnsOptions {
  /** `nud STATE`; default `'permanent'`, as `ip neigh add`. */
  state?: 'permanent' | 'noarp' | 'reachable' | 'stale';
}
