/**
 * The host side of a link a sandbox sends on — a veth's host end, a bridge nsbox makes — is
 * configured before it comes up so that nothing the sandbox sends changes the host's own
 * network: the kernel's defaults for a new interface trust the link (an IPv6 router
 * advertisement from it installs default routes and prefixes, ICMP redirects are followed,
 * any source address is accepted).
 * @internal
 * @module
 */
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { fromFsError } from '../errors.js';

import { NL } from './netlink/constants.js';
import type { ExchangeRequest } from './netlink/exchange.js';
import { encodeSetLink } from './netlink/rtnl.js';

/**
 * The IPv4 settings of the host side: `net.ipv4.conf.IF.NAME`, by IPV4_DEVCONF_* number and
 * name. Strict reverse-path filtering (a packet from the sandbox whose source would not be
 * routed back through this interface, a forged address, is dropped on arrival); no ICMP
 * redirects, no source routes.
 */
const IPV4: ReadonlyArray<readonly [number, string, number]> = [
  [NL.IPV4_DEVCONF_RP_FILTER, 'rp_filter', 1],
  [NL.IPV4_DEVCONF_ACCEPT_REDIRECTS, 'accept_redirects', 0],
  [NL.IPV4_DEVCONF_ACCEPT_SOURCE_ROUTE, 'accept_source_route', 0],
];
const IPV4_CONF: ReadonlyArray<readonly [number, number]> = IPV4.map(([k, , v]) => [k, v] as const);

/**
 * The host side's IPv4 settings (rtnl.ts encodeSetLink `inetConf`, IFLA_AF_SPEC: no file to
 * open for them), then the link up: two requests of one datagram, in that order (one request
 * would bring it up first: do_setlink applies the flags before IFLA_AF_SPEC). Its IPv6
 * settings are written while it is down ({@link hardenHostLinkIpv6}).
 */
export function upHardened(index: number, ifname: string): ExchangeRequest[] {
  return [
    [encodeSetLink({ index, inetConf: IPV4_CONF }), { syscall: 'RTM_NEWLINK', ifname }],
    [encodeSetLink({ index, up: true }), { syscall: 'RTM_NEWLINK', ifname }],
  ];
}

/** For a link that carries IPv6 of the caller's: no router advertisements, no addresses from them, no redirects. */
const IPV6_USED: ReadonlyArray<[string, string]> = [
  ['accept_ra', '0'],
  ['autoconf', '0'],
  ['accept_redirects', '0'],
];

/** For a link with no IPv6 of the caller's: no IPv6 at all (no link-local address, no neighbour or router discovery). */
const IPV6_UNUSED: ReadonlyArray<[string, string]> = [['disable_ipv6', '1']];

/** Whether this kernel has IPv6 (a kernel without it has no /proc/sys/net/ipv6/conf). Only a yes is kept: a module loaded later turns a no into a yes. */
let hasIpv6 = false;

/**
 * The host-side IPv6 sysctls of `ifname` as [path, value] pairs, to be written in the caller's
 * network namespace (/proc/sys/net follows the writer's; IPv6's settings have no netlink
 * request). `ipv6`: the caller gives the link IPv6 addresses (router advertisements,
 * autoconfiguration and redirects refused) rather than none (IPv6 disabled on it). None on a
 * kernel without IPv6. Write them while the link is down, before it can receive anything.
 */
export function hostIpv6Writes(ifname: string, ipv6: boolean): Array<[string, string]> {
  if (!hasIpv6) {
    if (!existsSync('/proc/sys/net/ipv6/conf')) return [];
    hasIpv6 = true;
  }
  return (ipv6 ? IPV6_USED : IPV6_UNUSED).map(([name, value]) => [`/proc/sys/net/ipv6/conf/${ifname}/${name}`, value]);
}

/**
 * Sets the host-side IPv6 sysctls of `ifname` ({@link hostIpv6Writes}) from the JS thread.
 * Call it while the link is down; the IPv4 settings go with the request that brings it up
 * ({@link upHardened}).
 * @throws SysError (`syscall` 'open' or 'write', `path`) — the caller deletes the link.
 */
export function hardenHostLinkIpv6(ifname: string, ipv6: boolean): void {
  for (const [path, value] of hostIpv6Writes(ifname, ipv6)) write(path, value);
}

/** Every host-side sysctl of `ifname` through /proc/sys (for a link brought up by a request of its own). */
export function hardenHostLink(ifname: string, ipv6: boolean): void {
  for (const [, name, v] of IPV4) write(`/proc/sys/net/ipv4/conf/${ifname}/${name}`, String(v));
  hardenHostLinkIpv6(ifname, ipv6);
}

function write(path: string, value: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (err) {
    throw fromFsError(err, { path });
  }
  try {
    writeSync(fd, value);
  } catch (err) {
    throw fromFsError(err, { path });
  } finally {
    closeSync(fd);
  }
}
