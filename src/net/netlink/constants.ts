/**
 * rtnetlink numbers, from the kernel headers through csrc/netlink.cc (never typed by hand).
 * The name list is checked against the native export at load: a missing number is an error
 * here, not a silent `undefined` in a request.
 * @internal
 * @module
 */
import { native } from '../../native.js';

/** Every constant csrc/netlink.cc exports. */
export const NETLINK_CONSTANT_NAMES = [
  'SIZEOF_NLMSGHDR', 'SIZEOF_NLMSGERR', 'SIZEOF_IFINFOMSG', 'SIZEOF_IFADDRMSG', 'SIZEOF_RTMSG', 'SIZEOF_NDMSG',
  'SIZEOF_RTATTR', 'NLMSG_ALIGNTO', 'NLA_ALIGNTO', 'NLA_F_NESTED', 'NLA_F_NET_BYTEORDER',
  'AF_UNSPEC', 'AF_INET', 'AF_INET6', 'AF_BRIDGE', 'SOCK_STREAM', 'SOCK_DGRAM',
  'NLM_F_REQUEST', 'NLM_F_MULTI', 'NLM_F_ACK', 'NLM_F_ECHO', 'NLM_F_DUMP_INTR', 'NLM_F_ROOT', 'NLM_F_MATCH',
  'NLM_F_DUMP', 'NLM_F_REPLACE', 'NLM_F_EXCL', 'NLM_F_CREATE', 'NLM_F_APPEND', 'NLM_F_CAPPED', 'NLM_F_ACK_TLVS',
  'NLMSG_NOOP', 'NLMSG_ERROR', 'NLMSG_DONE', 'NLMSG_OVERRUN', 'NLMSGERR_ATTR_MSG', 'NLMSGERR_ATTR_OFFS',
  'RTM_NEWLINK', 'RTM_DELLINK', 'RTM_GETLINK', 'RTM_SETLINK', 'RTM_NEWADDR', 'RTM_DELADDR', 'RTM_GETADDR',
  'RTM_NEWROUTE', 'RTM_DELROUTE', 'RTM_GETROUTE', 'RTM_NEWNEIGH', 'RTM_DELNEIGH', 'RTM_GETNEIGH',
  'IFLA_ADDRESS', 'IFLA_BROADCAST', 'IFLA_IFNAME', 'IFLA_MTU', 'IFLA_LINK', 'IFLA_MASTER', 'IFLA_OPERSTATE',
  'IFLA_LINKINFO', 'IFLA_NET_NS_PID', 'IFLA_NET_NS_FD', 'IFLA_TXQLEN', 'IFLA_LINK_NETNSID', 'IFLA_IFALIAS',
  'IFLA_CARRIER', 'IFLA_NUM_TX_QUEUES', 'IFLA_NUM_RX_QUEUES', 'IFLA_EXT_MASK', 'RTEXT_FILTER_SKIP_STATS', 'IFLA_INFO_KIND', 'IFLA_INFO_DATA',
  'IFLA_INFO_SLAVE_KIND', 'VETH_INFO_PEER', 'IFLA_MACVLAN_MODE', 'MACVLAN_MODE_PRIVATE', 'MACVLAN_MODE_VEPA',
  'MACVLAN_MODE_BRIDGE', 'MACVLAN_MODE_PASSTHRU', 'MACVLAN_MODE_SOURCE', 'IFLA_VLAN_ID', 'IFLA_VLAN_PROTOCOL',
  'IFLA_IPVLAN_MODE', 'IPVLAN_MODE_L2', 'IPVLAN_MODE_L3', 'IPVLAN_MODE_L3S', 'IFLA_VXLAN_ID', 'IFLA_VXLAN_GROUP',
  'IFLA_VXLAN_GROUP6', 'IFLA_VXLAN_LINK', 'IFLA_VXLAN_LOCAL', 'IFLA_VXLAN_LOCAL6', 'IFLA_VXLAN_PORT',
  'IFF_UP', 'IFF_BROADCAST', 'IFF_LOOPBACK', 'IFF_POINTOPOINT', 'IFF_RUNNING', 'IFF_NOARP', 'IFF_PROMISC',
  'IFF_MULTICAST', 'IFF_LOWER_UP', 'IF_OPER_UNKNOWN', 'IF_OPER_NOTPRESENT', 'IF_OPER_DOWN',
  'IF_OPER_LOWERLAYERDOWN', 'IF_OPER_TESTING', 'IF_OPER_DORMANT', 'IF_OPER_UP', 'ARPHRD_ETHER', 'ARPHRD_LOOPBACK',
  'ARPHRD_NONE', 'IFA_ADDRESS', 'IFA_LOCAL', 'IFA_LABEL', 'IFA_BROADCAST', 'IFA_CACHEINFO', 'IFA_FLAGS',
  'IFA_F_PERMANENT', 'IFA_F_NODAD', 'IFA_F_SECONDARY', 'RTA_DST', 'RTA_SRC', 'RTA_IIF', 'RTA_OIF', 'RTA_GATEWAY',
  'RTA_PRIORITY', 'RTA_PREFSRC', 'RTA_TABLE', 'RTA_METRICS', 'RTN_UNSPEC', 'RTN_UNICAST', 'RTN_LOCAL',
  'RTN_BROADCAST', 'RTN_ANYCAST', 'RTN_MULTICAST', 'RTN_BLACKHOLE', 'RTN_UNREACHABLE', 'RTN_PROHIBIT',
  'RTPROT_UNSPEC', 'RTPROT_KERNEL', 'RTPROT_BOOT', 'RTPROT_STATIC', 'RT_SCOPE_UNIVERSE', 'RT_SCOPE_SITE',
  'RT_SCOPE_LINK', 'RT_SCOPE_HOST', 'RT_SCOPE_NOWHERE', 'RT_TABLE_UNSPEC', 'RT_TABLE_MAIN', 'RT_TABLE_LOCAL',
  'RT_TABLE_DEFAULT', 'NDA_DST', 'NDA_LLADDR', 'NUD_INCOMPLETE', 'NUD_REACHABLE', 'NUD_STALE', 'NUD_DELAY',
  'NUD_PROBE', 'NUD_FAILED', 'NUD_NOARP', 'NUD_PERMANENT', 'NUD_NONE', 'RTMGRP_LINK', 'RTMGRP_NEIGH',
  'RTMGRP_IPV4_IFADDR', 'RTMGRP_IPV4_ROUTE', 'RTMGRP_IPV6_IFADDR', 'RTMGRP_IPV6_ROUTE',
] as const;

/** A constant's name. */
export type NetlinkConstantName = (typeof NETLINK_CONSTANT_NAMES)[number];

/** The numbers, keyed by their header names. */
export type NetlinkConstants = Readonly<Record<NetlinkConstantName, number>>;

function load(): NetlinkConstants {
  const raw = native.netlinkConstants;
  const out = {} as Record<NetlinkConstantName, number>;
  for (const name of NETLINK_CONSTANT_NAMES) {
    const v = raw[name];
    if (typeof v !== 'number') throw new Error(`nsbox: the native addon lacks netlink constant ${name}; rebuild it`);
    out[name] = v;
  }
  return Object.freeze(out);
}

/** The rtnetlink numbers. */
export const NL: NetlinkConstants = load();

/** Bijective name ↔ number tables: a missing mapping is a compile error (Record over a union). */
export function table<N extends string>(map: Record<N, number>): { byName: Readonly<Record<N, number>>; byNumber: ReadonlyMap<number, N> } {
  const byNumber = new Map<number, N>();
  for (const [name, value] of Object.entries(map) as [N, number][]) byNumber.set(value, name);
  return { byName: Object.freeze({ ...map }), byNumber };
}
