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

/** Each sysctl of the interface's directory under /proc/sys/net/ipv4/conf/IF: the value it gets. */
const IPV4: ReadonlyArray<[string, string]> = [
  // Strict reverse-path filtering: a packet from the sandbox whose source would not be routed
  // back through this interface (a forged address) is dropped on arrival.
  ['rp_filter', '1'],
  ['accept_redirects', '0'],
  ['accept_source_route', '0'],
];

/** For a link that carries IPv6 of the caller's: no router advertisements, no addresses from them, no redirects. */
const IPV6_USED: ReadonlyArray<[string, string]> = [
  ['accept_ra', '0'],
  ['autoconf', '0'],
  ['accept_redirects', '0'],
];

/** For a link with no IPv6 of the caller's: no IPv6 at all (no link-local address, no neighbour or router discovery). */
const IPV6_UNUSED: ReadonlyArray<[string, string]> = [['disable_ipv6', '1']];

/**
 * Sets the host-side sysctls of `ifname` in this process's network namespace (the JS thread's:
 * /proc/sys/net follows the opener's namespace). `ipv6`: the caller gives the link IPv6
 * addresses (router advertisements, autoconfiguration and redirects refused) rather than none
 * (IPv6 disabled on it). A kernel without IPv6 has no such directory: skipped. Call it while
 * the link is down, before it can receive anything.
 * @throws SysError (`syscall` 'open' or 'write', `path`) — the caller deletes the link.
 */
export function hardenHostLink(ifname: string, ipv6: boolean): void {
  for (const [name, value] of IPV4) write(`/proc/sys/net/ipv4/conf/${ifname}/${name}`, value);
  if (!existsSync('/proc/sys/net/ipv6/conf')) return;
  for (const [name, value] of ipv6 ? IPV6_USED : IPV6_UNUSED) write(`/proc/sys/net/ipv6/conf/${ifname}/${name}`, value);
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
