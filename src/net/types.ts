/**
 * Public types of `nsbox/net`: input specs and query results are separate types, kernel
 * object kinds are discriminated unions, interface indexes are branded.
 * @module
 */
import type { Namespace } from '../namespaces/namespace.js';

/** An interface index (`ip link` prints it first), branded so it is not mixed up with other numbers. */
export type IfIndex = number & { readonly __brand: 'IfIndex' };

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
export interface VethLink extends LinkBase { kind: 'veth' }
/** A bridge. */
export interface BridgeLink extends LinkBase { kind: 'bridge' }
/** A dummy link. */
export interface DummyLink extends LinkBase { kind: 'dummy' }
/** A macvlan link on `link` (its parent). */
export interface MacvlanLink extends LinkBase { kind: 'macvlan'; mode?: MacvlanMode }
/** An 802.1Q VLAN link on `link` (its parent). */
export interface VlanLink extends LinkBase { kind: 'vlan'; id: number }
/** A link with no IFLA_INFO_KIND (loopback, physical devices). */
export interface DeviceLink extends LinkBase { kind: 'device' }
/** Any other kind; `type` is the kernel's IFLA_INFO_KIND (`'vxlan'`, `'tun'`, …). */
export interface OtherLink extends LinkBase { kind: 'other'; type: string }

/** A link as the kernel reports it: a discriminated union on `kind`. */
export type Link = VethLink | BridgeLink | DummyLink | MacvlanLink | VlanLink | DeviceLink | OtherLink;

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
export interface VethSpec extends LinkSpecBase { kind: 'veth'; peer: VethPeerSpec }
/** `ip link add NAME type bridge`. */
export interface BridgeSpec extends LinkSpecBase { kind: 'bridge' }
/** `ip link add NAME type dummy`. */
export interface DummySpec extends LinkSpecBase { kind: 'dummy' }
/** `ip link add NAME link PARENT type macvlan mode MODE`. */
export interface MacvlanSpec extends LinkSpecBase { kind: 'macvlan'; parent: IfName; mode?: MacvlanMode }
/** `ip link add NAME link PARENT type vlan id ID`. */
export interface VlanSpec extends LinkSpecBase { kind: 'vlan'; parent: IfName; id: number }

/** What {@link addLink} makes: a discriminated union on `kind`. */
export type LinkSpec = VethSpec | BridgeSpec | DummySpec | MacvlanSpec | VlanSpec;

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
export type NetEvent =
  | { type: 'link'; action: 'new' | 'del'; link: Link }
  | { type: 'address'; action: 'new' | 'del'; address: Address }
  | { type: 'route'; action: 'new' | 'del'; route: Route };
