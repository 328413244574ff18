/**
 * Neighbours: list, add, replace, delete — `ip neigh` over rtnetlink (ARP and NDP entries).
 * @module
 */
import { invalidArgType, invalidArgValue } from '../errors.js';
import { NL } from './netlink/constants.js';
import { NUD_STATES, decodeNeighbour, encodeGetNeighbours, encodeNeighbour } from './netlink/neigh.js';
import { macBytes, parseIp } from './ip.js';
import { checkLinkRef, resolveIndex, withRtnl } from './target.js';
import type { IfIndex, Neighbour, NeighbourOptions, NetnsOptions } from './types.js';

function opts<T>(o: unknown): T {
  if (o === null || typeof o !== 'object') throw invalidArgType('options', 'of type object', o);
  return o as T;
}

/**
 * The neighbour table (IPv4 ARP and IPv6 NDP entries): RTM_GETNEIGH dump. Replaces
 * `ip -j neigh show`. No privileges needed.
 * @throws SysError (syscall `'RTM_GETNEIGH'`).
 */
export async function neighbours(options: NetnsOptions = {}): Promise<Neighbour[]> {
  const { netns } = opts<NetnsOptions>(options);
  return withRtnl(netns, async (s) => {
    const msgs = await s.request(encodeGetNeighbours(), { syscall: 'RTM_GETNEIGH' });
    const out: Neighbour[] = [];
    for (const m of msgs) {
      if (m.type !== NL.RTM_NEWNEIGH) continue;
      const n = decodeNeighbour(m);
      if (n) out.push(n);
    }
    return out;
  });
}

async function modify(
  op: 'add' | 'replace' | 'del',
  dev: string | IfIndex,
  address: string,
  mac: string | undefined,
  o: NeighbourOptions,
): Promise<void> {
  const ref = checkLinkRef('dev', dev);
  const ip = parseIp('address', address);
  const lladdr = mac === undefined ? undefined : macBytes('mac', mac);
  const stateName = o.state ?? 'permanent';
  const state = NUD_STATES.find(([n]) => n === stateName)?.[1];
  if (state === undefined || !['permanent', 'noarp', 'reachable', 'stale'].includes(stateName)) {
    throw invalidArgValue('options.state', o.state, "must be 'permanent', 'noarp', 'reachable' or 'stale'");
  }
  const syscall = op === 'del' ? 'RTM_DELNEIGH' : 'RTM_NEWNEIGH';
  await withRtnl(o.netns, async (s) => {
    const index = await resolveIndex(s, ref);
    const req = { family: ip.family === 4 ? NL.AF_INET : NL.AF_INET6, index, dst: ip.bytes, state, ...(lladdr ? { lladdr } : {}) };
    await s.request(encodeNeighbour(op, req), typeof ref === 'string' ? { syscall, ifname: ref } : { syscall });
  });
}

/**
 * Adds a neighbour entry: RTM_NEWNEIGH with NLM_F_CREATE|NLM_F_EXCL. Replaces
 * `ip neigh add ADDR lladdr MAC dev DEV [nud STATE]`. Needs CAP_NET_ADMIN.
 * @throws validation errors before any request; SysError (syscall `'RTM_NEWNEIGH'`, `ifname`,
 * `kernelMessage`) `EEXIST`, `ENODEV`, `EPERM`.
 */
export async function addNeighbour(dev: string | IfIndex, address: string, mac: string, options: NeighbourOptions = {}): Promise<void> {
  await modify('add', dev, address, mac, opts<NeighbourOptions>(options));
}

/**
 * Adds or replaces a neighbour entry: RTM_NEWNEIGH with NLM_F_CREATE|NLM_F_REPLACE. Replaces
 * `ip neigh replace ADDR lladdr MAC dev DEV [nud STATE]`. Needs CAP_NET_ADMIN.
 * @throws as {@link addNeighbour}, without `EEXIST`.
 */
export async function replaceNeighbour(dev: string | IfIndex, address: string, mac: string, options: NeighbourOptions = {}): Promise<void> {
  await modify('replace', dev, address, mac, opts<NeighbourOptions>(options));
}

/**
 * Deletes a neighbour entry: RTM_DELNEIGH. Replaces `ip neigh del ADDR dev DEV`.
 * Needs CAP_NET_ADMIN.
 * @throws SysError (syscall `'RTM_DELNEIGH'`, `ifname`) `ENOENT` (no such entry), `ENODEV`.
 */
export async function deleteNeighbour(dev: string | IfIndex, address: string, options: NetnsOptions = {}): Promise<void> {
  await modify('del', dev, address, undefined, opts<NeighbourOptions>(options));
}
