/**
 * The ports published now by nsbox processes: the DNAT rules of every `nsbox_pub_*` table
 * (made by {@link publishPorts}), read back from the kernel, so that a second publish of the
 * same host port can be refused instead of silently shadowing the first; and the sockets that
 * listen on a port of the caller's namespace (userspace forwarders, {@link forwardPort}, and
 * any other program's), which a DNAT of that port would shadow as well.
 * @module
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';
import { ipText } from '../ip.js';
import type { NetnsOptions } from '../types.js';
import { openNftables } from './session.js';
import type { NftExpr, NftRule } from './types.js';

/** A port published by a `nsbox_pub_*` table, as {@link publishedPorts} lists it. */
export interface PublishedPort {
  /** The table's family. */
  family: 'ip' | 'ip6';
  /** The table's name (`nsbox_pub_<pid>_<n>`: the pid of the process that made it). */
  table: string;
  /** The transport protocol. */
  protocol: 'tcp' | 'udp';
  /** The port published on the host side. */
  hostPort: number;
  /** The host address it is published on; undefined: every local address. */
  hostAddress?: string;
  /** The address it is forwarded to. */
  target: string;
  /** The port it is forwarded to. */
  targetPort: number;
}

const PROTO: Readonly<Record<number, 'tcp' | 'udp'>> = { 6: 'tcp', 17: 'udp' };

/** A DNAT rule of a published-ports table (nat.ts's publishPlan), or undefined for any other rule. @internal */
export function decodePublishRule(exprs: readonly NftExpr[]): Omit<PublishedPort, 'family' | 'table'> | undefined {
  let loaded: 'daddr' | 'proto' | 'dport' | 'fib' | undefined;
  let hostAddress: string | undefined;
  let local = false;
  let protocol: 'tcp' | 'udp' | undefined;
  let hostPort: number | undefined;
  let target: string | undefined;
  let targetPort: number | undefined;
  let dnat = false;
  for (const e of exprs) {
    if (e.type === 'payload') {
      const v6 = e.base === 'network' && e.offset === 24 && e.len === 16;
      if (e.base === 'network' && ((e.offset === 16 && e.len === 4) || v6)) loaded = 'daddr';
      else if (e.base === 'transport' && e.offset === 2 && e.len === 2) loaded = 'dport';
      else loaded = undefined;
    } else if (e.type === 'meta') loaded = e.key === 'l4proto' ? 'proto' : undefined;
    else if (e.type === 'fib') loaded = 'fib';
    else if (e.type === 'cmp' && e.op === 'eq') {
      if (loaded === 'daddr') hostAddress = ipText(Buffer.from(e.data));
      else if (loaded === 'proto') protocol = PROTO[e.data[0]!];
      else if (loaded === 'dport') hostPort = (e.data[0]! << 8) | e.data[1]!;
      else if (loaded === 'fib') local = true;
      loaded = undefined;
    } else if (e.type === 'immediate') {
      if (e.data.length === 4 || e.data.length === 16) target = ipText(Buffer.from(e.data));
      else if (e.data.length === 2) targetPort = (e.data[0]! << 8) | e.data[1]!;
    } else if (e.type === 'nat' && e.nat === 'dnat') dnat = true;
  }
  if (!dnat || protocol === undefined || hostPort === undefined || target === undefined || targetPort === undefined) return undefined;
  if (hostAddress === undefined && !local) return undefined;
  return { protocol, hostPort, ...(hostAddress !== undefined ? { hostAddress } : {}), target, targetPort };
}

/**
 * The ports that `nsbox_pub_*` tables of the namespace publish now (tables of this process
 * too). A table removed while it is being read is left out. Replaces reading `nft list
 * ruleset` for `dnat to` rules. Needs CAP_NET_ADMIN (nf_tables answers no dump without it).
 * Does not block the event loop.
 * @throws SysError (`'NFT_MSG_GETTABLE'`, `'NFT_MSG_GETRULE'`: `EPERM`).
 */
export async function publishedPorts(options: NetnsOptions = {}): Promise<PublishedPort[]> {
  const nft = openNftables(options);
  try {
    const out: PublishedPort[] = [];
    for (const t of await nft.tables()) {
      if (!t.name.startsWith('nsbox_pub_') || (t.family !== 'ip' && t.family !== 'ip6')) continue;
      const family = t.family;
      let rules: NftRule[];
      try {
        rules = await nft.rules({ family, table: t.name, chain: 'ports' });
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') continue;
        throw err;
      }
      for (const r of rules) {
        const p = decodePublishRule(r.exprs);
        if (p) out.push({ family, table: t.name, ...p });
      }
    }
    return out;
  } finally {
    nft.close();
  }
}

/** A socket of the caller's network namespace that takes new flows on a port, as {@link listeningSockets} lists it. @internal */
export interface ListeningSocket {
  protocol: 'tcp' | 'udp';
  /** The address it is bound to (`0.0.0.0` or `::`: every one; an IPv4-mapped IPv6 address as IPv4). */
  address: string;
  port: number;
  /** Its inode (`socket:[INODE]` among a process's fds). */
  inode: number;
}

/** `/proc/net` prints each 32-bit word of an address as a number in host byte order. */
function procAddress(hex: string): string {
  const b = Buffer.alloc(hex.length / 2);
  for (let w = 0; w < b.length / 4; w++) {
    const v = Number.parseInt(hex.slice(w * 8, w * 8 + 8), 16);
    if (endianness() === 'LE') b.writeUInt32LE(v, w * 4);
    else b.writeUInt32BE(v, w * 4);
  }
  const mapped = b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  return ipText(mapped ? b.subarray(12) : b);
}

/**
 * The TCP sockets listening and the UDP sockets bound but not connected in the caller's
 * network namespace (`/proc/net/{tcp,udp}{,6}`, as `ss -ltun` reads them): what a DNAT rule for
 * their port would take new flows from. Sync (procfs). @internal
 */
export function listeningSockets(): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  for (const [file, protocol, state] of [
    ['tcp', 'tcp', '0A'], // TCP_LISTEN
    ['tcp6', 'tcp', '0A'],
    ['udp', 'udp', '07'], // TCP_CLOSE: unconnected
    ['udp6', 'udp', '07'],
  ] as const) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${file}`, 'utf8');
    } catch {
      continue; // no IPv6
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== state) continue;
      const [addr, port] = f[1]!.split(':') as [string, string];
      out.push({ protocol, address: procAddress(addr), port: Number.parseInt(port, 16), inode: Number(f[9]) });
    }
  }
  return out;
}

/** The pid and command name of a process that holds socket `inode` (a scan of /proc/PID/fd), or undefined. @internal */
export function socketHolder(inode: number): { pid: number; comm: string } | undefined {
  const want = `socket:[${inode}]`;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === want)
          return { pid: Number(pid), comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trim() };
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return undefined;
}
