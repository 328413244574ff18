/**
 * Addresses: list, add, delete — `ip addr` over rtnetlink, IPv4 and IPv6.
 * @module
 */
import { invalidArgType, invalidArgValue } from '../errors.js';
import { NL } from './netlink/constants.js';
import { decodeAddress, encodeAddress, encodeGetAddresses, type AddressRequest } from './netlink/address.js';
import { SCOPES } from './netlink/rtnl.js';
import { broadcastOf, parseCidr, parseIp } from './ip.js';
import { checkLinkRef, resolveIndex, withRtnl } from './target.js';
import type { Address, AddressOptions, IfIndex, NetnsOptions } from './types.js';

function options(o: unknown): AddressOptions {
  if (o === null || typeof o !== 'object') throw invalidArgType('options', 'of type object', o);
  return o as AddressOptions;
}

/**
 * Every address of every link in the namespace, IPv4 then IPv6: RTM_GETADDR dump.
 * Replaces `ip -j addr show`. No privileges needed.
 * @throws SysError (syscall `'RTM_GETADDR'`).
 */
export async function addresses(opts: NetnsOptions = {}): Promise<Address[]> {
  const { netns } = options(opts);
  return withRtnl(netns, async (s) => {
    const msgs = await s.request(encodeGetAddresses(), { syscall: 'RTM_GETADDR' });
    return msgs.filter((m) => m.type === NL.RTM_NEWADDR).map(decodeAddress);
  });
}

function buildRequest(cidrText: string, opts: AddressOptions): Omit<AddressRequest, 'index'> {
  const c = parseCidr('address', cidrText);
  const req: Omit<AddressRequest, 'index'> = { family: c.family === 4 ? NL.AF_INET : NL.AF_INET6, prefix: c.prefix, local: c.bytes };
  if (opts.broadcast !== undefined) {
    if (c.family !== 4) throw invalidArgValue('options.broadcast', opts.broadcast, 'applies to IPv4 only');
    if (opts.broadcast === true) req.broadcast = broadcastOf(c);
    else {
      const b = parseIp('options.broadcast', opts.broadcast);
      if (b.family !== 4) throw invalidArgValue('options.broadcast', opts.broadcast, 'must be an IPv4 address');
      req.broadcast = b.bytes;
    }
  }
  if (opts.scope !== undefined) {
    const n = SCOPES.byName[opts.scope];
    if (n === undefined) throw invalidArgValue('options.scope', opts.scope, `must be one of ${Object.keys(SCOPES.byName).join(', ')}`);
    req.scope = n;
  }
  if (opts.label !== undefined) {
    if (typeof opts.label !== 'string') throw invalidArgType('options.label', 'of type string', opts.label);
    if (opts.label.includes('\0')) throw invalidArgValue('options.label', opts.label, 'must not contain null bytes');
    if (c.family !== 4) throw invalidArgValue('options.label', opts.label, 'applies to IPv4 only');
    req.label = opts.label;
  }
  return req;
}

/**
 * Adds `ADDR/PREFIX` to a link: RTM_NEWADDR with NLM_F_CREATE|NLM_F_EXCL. Replaces
 * `ip addr add ADDR/PREFIX dev DEV [broadcast B|+] [scope S] [label L]`.
 * Needs CAP_NET_ADMIN.
 * @throws validation errors before any request; SysError (syscall `'RTM_NEWADDR'`, `ifname`,
 * `kernelMessage`) `EEXIST` (the address is there), `ENODEV`, `EPERM`.
 */
export async function addAddress(dev: string | IfIndex, address: string, opts: AddressOptions = {}): Promise<void> {
  const ref = checkLinkRef('dev', dev);
  const o = options(opts);
  const req = buildRequest(address, o);
  await withRtnl(o.netns, async (s) => {
    const index = await resolveIndex(s, ref);
    await s.request(
      encodeAddress(true, { ...req, index }),
      typeof ref === 'string' ? { syscall: 'RTM_NEWADDR', ifname: ref } : { syscall: 'RTM_NEWADDR' },
    );
  });
}

/**
 * Removes `ADDR/PREFIX` from a link: RTM_DELADDR. Replaces `ip addr del ADDR/PREFIX dev DEV`.
 * Needs CAP_NET_ADMIN.
 * @throws SysError (syscall `'RTM_DELADDR'`, `ifname`) `EADDRNOTAVAIL` (no such address), `ENODEV`.
 */
export async function deleteAddress(dev: string | IfIndex, address: string, opts: NetnsOptions = {}): Promise<void> {
  const ref = checkLinkRef('dev', dev);
  const o = options(opts);
  const req = buildRequest(address, {});
  await withRtnl(o.netns, async (s) => {
    const index = await resolveIndex(s, ref);
    await s.request(
      encodeAddress(false, { ...req, index }),
      typeof ref === 'string' ? { syscall: 'RTM_DELADDR', ifname: ref } : { syscall: 'RTM_DELADDR' },
    );
  });
}
