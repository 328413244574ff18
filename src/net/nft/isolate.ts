/**
 * Direct-access protection for an address behind the host, as Docker 28 gives every
 * container's address: packets for the address that do not come in through its own link
 * are dropped before routing, so a neighbour that routes the address's subnet through the
 * host reaches only what is published (DNAT to the address happens after, at dstnat).
 * @module
 */
import { invalidArgType } from '../../errors.js';
import { parseIp } from '../ip.js';
import { checkIfName, holdNetns } from '../target.js';
import type { NetnsOptions } from '../types.js';
import * as m from './match.js';
import { ownedTable, tableName, type NatHandle } from './nat.js';
import type { NftOp } from './types.js';

/** Options of {@link isolateAddress}. */
export interface IsolateAddressOptions extends NetnsOptions {
  /** The address to protect (a container's, IPv4 or IPv6). */
  address: string;
  /** The only interface packets for `address` may come in by (its veth's host end, or its bridge). May not exist yet. */
  inInterface: string;
  /**
   * Let in replies to the address's own connections (`ct state established,related`), for an
   * address that reaches the outside without NAT: the chain then runs after conntrack
   * (priority -150) instead of at raw (-300). Default false.
   */
  allowReplies?: boolean;
}

/**
 * The operations of an isolation table (exported for the unit test): a filter chain at
 * prerouting, priority raw (-300), with `ip daddr ADDR iifname != IF counter drop`; with
 * `allowReplies`, at -150 with `… ct state != established,related counter drop`. @internal
 */
export function isolatePlan(table: string, address: Uint8Array, inInterface: string, allowReplies: boolean, owner: boolean): NftOp[] {
  const family = address.length === 16 ? 'ip6' : 'ip';
  const exprs = [
    ...m.ipAddr('daddr', address),
    ...m.ifname('iifname', inInterface, 'neq'),
    ...(allowReplies ? m.ctStateNone(['established', 'related']) : []),
    ...m.counter(),
    ...m.verdict('drop'),
  ];
  return [
    { add: { table: { family, name: table, owner } } },
    {
      add: {
        chain: {
          family,
          table,
          name: 'isolate',
          type: 'filter',
          hook: 'prerouting',
          priority: allowReplies ? -150 : -300,
          policy: 'accept',
        },
      },
    },
    { add: { rule: { family, table, chain: 'isolate', exprs } } },
  ];
}

/**
 * Drops packets for `address` that come in by any interface but `inInterface`, in an owned
 * table (`nsbox_iso_<pid>_<n>`) of the namespace: a host of the LAN that routes the address's
 * subnet through this one cannot reach the address's ports directly, nor can another
 * container through its own link. Published ports still work (their packets are for the
 * host's address until DNAT, after this chain), as do the host's own connections (output,
 * not prerouting) and everything through `inInterface`.
 *
 * Replaces `nft add table ip T '{ flags owner; }'; nft add chain ip T isolate '{ type filter
 * hook prerouting priority raw; }'; nft add rule ip T isolate ip daddr ADDR iifname != IF
 * counter drop` (Docker 28's `raw PREROUTING -d ADDR ! -i BRIDGE -j DROP`).
 *
 * Needs CAP_NET_ADMIN in the user namespace owning the network namespace. Does not block the
 * event loop or touch the calling thread.
 * @returns a handle; `close()` (or `await using`) removes the rule.
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` before any syscall; SysError from
 * the transaction (see {@link NftSession.commit}: `EPERM`).
 */
export async function isolateAddress(options: IsolateAddressOptions): Promise<NatHandle> {
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  const address = parseIp('options.address', options.address);
  const inInterface = checkIfName('options.inInterface', options.inInterface);
  const allowReplies = options.allowReplies ?? false;
  if (typeof allowReplies !== 'boolean') throw invalidArgType('options.allowReplies', 'of type boolean', allowReplies);
  const held = holdNetns('options.netns', options.netns);
  try {
    const table = tableName('iso');
    const family = address.family === 6 ? 'ip6' : 'ip';
    return await ownedTable(held, family, table, isolatePlan(table, address.bytes, inInterface, allowReplies, true));
  } finally {
    held.release();
  }
}
