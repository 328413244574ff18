/**
 * The values of `nsbox run`'s options: ids, namespace kinds, id-map lines, veth addresses,
 * and the usage error every bad one becomes. Pure.
 * @module
 */
import type { IdMapping } from '../namespaces/idmap.js';
import { NAMESPACE_TYPES, isNamespaceType, type NamespaceType } from '../namespaces/types.js';

/** Where `--net veth` without an address gets one: the first /30 that no route and no other run holds (src/net/veth-claim.ts). */
export const DEFAULT_VETH_POOL = '10.200.0.0/16';

/**
 * `--net`: how the command's network is set up. `veth` without addresses: a free /30 of
 * {@link DEFAULT_VETH_POOL}, picked when the run's network is set up.
 */
export type NetMode = { mode: 'none' } | { mode: 'host' } | { mode: 'veth'; childAddress?: string; hostAddress?: string };

/** A bad command line. The CLI prints `nsbox: <message>` and exits 125. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const MAX_ID = 0xfffffffe;

export function id(opt: string, v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > MAX_ID) throw new UsageError(`${opt}: '${v}' is not an id (0 to ${MAX_ID})`);
  return Number(v);
}

export function kind(opt: string, v: string): NamespaceType {
  if (!isNamespaceType(v)) throw new UsageError(`${opt}: unknown namespace '${v}' (one of ${NAMESPACE_TYPES.join(', ')})`);
  return v;
}

export function mapping(opt: string, v: string): IdMapping {
  const m = /^(\d+):(\d+):(\d+)$/.exec(v);
  if (!m) throw new UsageError(`${opt}: '${v}' is not INSIDE:OUTSIDE:COUNT`);
  const [inside, outside, count] = [m[1]!, m[2]!, m[3]!].map(Number) as [number, number, number];
  if (count < 1 || inside + count - 1 > MAX_ID || outside + count - 1 > MAX_ID) {
    throw new UsageError(`${opt}: '${v}' is not a range of ids between 0 and ${MAX_ID}`);
  }
  return { inside, outside, count };
}

/** `veth[:ADDR/PREFIX]`: the inner address and the host end's (the prefix's first other address); plain `veth`: none yet. */
export function vethMode(opt: string, v: string): NetMode {
  if (v === 'veth') return { mode: 'veth' };
  const text = v.slice('veth:'.length);
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  const bytes = m ? [m[1], m[2], m[3], m[4]].map(Number) : [];
  const prefix = m ? Number(m[5]) : -1;
  if (!m || bytes.some((b) => b > 255) || prefix < 1 || prefix > 30) {
    throw new UsageError(`${opt}: '${text}' is not an IPv4 ADDR/PREFIX with a prefix from 1 to 30`);
  }
  const addr = bytes.reduce((a, b) => a * 256 + b, 0);
  const size = 2 ** (32 - prefix);
  const network = addr - (addr % size);
  if (addr === network || addr === network + size - 1)
    throw new UsageError(`${opt}: ${text} is the network or broadcast address of its prefix`);
  const host = addr === network + 1 ? network + 2 : network + 1;
  const dotted = (n: number) => [24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join('.');
  return { mode: 'veth', childAddress: `${dotted(addr)}/${prefix}`, hostAddress: `${dotted(host)}/${prefix}` };
}

export function noNul(opt: string, v: string): string {
  if (v.includes('\0')) throw new UsageError(`${opt}: value contains a NUL byte`);
  return v;
}

/** One --publish: [IP:]HOSTPORT:PORT[/udp]. */
export interface PublishArg {
  /** The host address to publish on (IPv4); undefined: all of them. */
  hostAddress?: string;
  hostPort: number;
  port: number;
  protocol: 'tcp' | 'udp';
  /** As given, for messages. */
  text: string;
}

/** net.isIPv4, node:net loaded only for a --publish with an address (it costs ~2 ms of every run). */
const isIPv4 = (text: string): boolean => process.getBuiltinModule('node:net').isIPv4(text);

/** `[IP:]HOSTPORT:PORT[/udp]` (or `/tcp`, the default), IP an IPv4 address of the host. */
export function publishArg(opt: string, v: string): PublishArg {
  const m = /^(?:([\d.]+):)?(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/.exec(v);
  const [hostPort, port] = m ? [Number(m[2]), Number(m[3])] : [0, 0];
  if (!m || hostPort < 1 || hostPort > 65535 || port < 1 || port > 65535 || (m[1] !== undefined && !isIPv4(m[1])))
    throw new UsageError(`${opt}: '${v}' is not [IP:]HOSTPORT:PORT[/udp] (an IPv4 address, ports from 1 to 65535)`);
  const p: PublishArg = { hostPort, port, protocol: (m[4] ?? 'tcp') as 'tcp' | 'udp', text: v };
  if (m[1] !== undefined) p.hostAddress = m[1];
  return p;
}
