/**
 * The kernel objects rtnetlink reports, as the decoders build them and `nsbox/net` returns
 * them (re-exported by src/net/types.ts): links, addresses, routes, neighbours. Wire-level
 * types: nothing here depends on the layers above netlink.
 * @module
 */

/** An interface index (`ip link` prints it first), branded so it is not mixed up with other numbers. */
export type IfIndex = number & {
  /** Type-level brand only; no such property exists at run time. */
  readonly __brand: 'IfIndex';
};

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
