/**
 * Outbound NAT and published ports, as Docker's bridge network gives them, built on owned
 * nf_tables tables: each call makes one table that belongs to its own netlink socket, so it
 * holds exactly that call's rules, disposing the handle removes exactly them, and the kernel
 * removes them itself if the process dies — nothing is left behind, even after SIGKILL.
 * @module
 */
import { closeSync, writeSync } from 'node:fs';
import { invalidArgType, invalidArgValue, outOfRange } from '../../errors.js';
import { native } from '../../native.js';
import { NL } from '../netlink/constants.js';
import { decodeRoute, encodeGetRoutes } from '../netlink/route.js';
import { RtnlSocket } from '../netlink/socket.js';
import { ipText, parseCidr, parseIp, type Cidr } from '../ip.js';
import { checkIfName, holdNetns, type HeldNetns } from '../target.js';
import type { NetnsOptions } from '../types.js';
import * as m from './match.js';
import { type NftSession, nftablesAt } from './session.js';
import type { NftChainSpec, NftExpr, NftOp } from './types.js';

/** Options of {@link masquerade}. */
export interface MasqueradeOptions extends NetnsOptions {
  /** The source subnet to translate (`'10.88.0.0/24'`, or IPv6). */
  subnet: string;
  /** Translate only what leaves through this interface (`oifname`); default: whatever leaves for outside the subnet. */
  outInterface?: string;
}

/** One published port. */
export interface PublishPortSpec {
  /** The port on the host side that is published. */
  hostPort: number;
  /** Publish on this host address only (default: every local address, `fib daddr type local`). */
  hostAddress?: string;
  /** The transport protocol. */
  protocol: 'tcp' | 'udp';
  /** The address traffic is forwarded to (a container's). */
  target: string;
  /** The port on the target. */
  targetPort: number;
}

/** Options of {@link publishPort}. */
export interface PublishPortOptions extends NetnsOptions, PublishPortSpec {
  /**
   * Hairpin NAT, so that hosts on the target's own subnet (containers on the same bridge) can
   * use the published address too: their connections are masqueraded, as the target would
   * otherwise answer them directly. `true` (default): the subnet of the directly connected
   * route to the target (none: no hairpin rule); a CIDR: that subnet; `false`: none.
   */
  hairpin?: boolean | string;
}

/** Options of {@link publishPorts}: several ports, one transaction, one handle. */
export interface PublishPortsOptions extends NetnsOptions {
  /** The ports. */
  ports: PublishPortSpec[];
  /** As {@link PublishPortOptions.hairpin}. */
  hairpin?: boolean | string;
}

/** What a port resolves to before any rule is made. */
export interface ResolvedPort {
  /** The transport protocol. */
  protocol: 'tcp' | 'udp';
  hostPort: number;
  hostAddress?: Buffer;
  target: Buffer;
  /** The port on the target. */
  targetPort: number;
  hairpin?: Cidr;
}

const live = new Set<NatHandle>();
let serial = 0;

/**
 * The rules of one {@link masquerade} or {@link publishPorts} call: an owned nf_tables table
 * in a network namespace. Keep it for as long as the rules should stay; the module keeps it
 * reachable until it is closed, so garbage collection never removes rules behind your back.
 */
export class NatHandle {
  #session: NftSession | null;
  #closing: Promise<void> | undefined;
  /** The table's family (`'ip'` or `'ip6'`). */
  readonly family: 'ip' | 'ip6';
  /** The table's name (`nsbox_nat_<pid>_<n>`), as `nft list tables` shows it. */
  readonly table: string;

  /** @internal */
  constructor(session: NftSession, family: 'ip' | 'ip6', table: string) {
    this.#session = session;
    this.family = family;
    this.table = table;
    live.add(this);
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#session === null;
  }

  /**
   * Removes the rules: deletes the table (`nft delete table FAMILY NAME`) in one transaction,
   * then closes the socket on a detached thread. Idempotent (a second call returns the first
   * call's promise). Does not block the event loop: the rules are gone when it resolves.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const s = this.#session;
    if (!s) return Promise.resolve();
    this.#closing = s
      .commit([{ delete: { table: { family: this.family, name: this.table } } }])
      .catch(() => {
        // Whatever the kernel said, closing the socket below deletes an owned table.
      })
      .finally(() => {
        this.#session = null;
        live.delete(this);
        // The table is gone; close(2) would still wait for the kernel to finish destroying
        // it (an RCU grace period), so it runs on a detached thread.
        s.closeInBackground();
      });
    return this.#closing;
  }

  /** Same as {@link NatHandle.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Removes the rules synchronously: closes the socket, and the kernel deletes the owned
   * table within close(2) (waiting for an RCU grace period: up to a few milliseconds).
   */
  [Symbol.dispose](): void {
    const s = this.#session;
    this.#session = null;
    live.delete(this);
    s?.close();
  }
}

function optionsObject(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object') throw invalidArgType('options', 'of type object', v);
  return v as Record<string, unknown>;
}

function checkPort(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) throw outOfRange(name, 'an integer from 1 to 65535', v);
  return v;
}

const base = (family: 'ip' | 'ip6', table: string, name: string, hook: NftChainSpec['hook'], priority: number): NftChainSpec => ({
  family,
  table,
  name,
  /** The expression kind. */
  type: 'nat',
  hook,
  priority,
  policy: 'accept',
});

/** The operations of a masquerade table (exported for the golden-bytes test). @internal */
export function masqueradePlan(table: string, subnet: Cidr, outInterface: string | undefined, owner: boolean): NftOp[] {
  const family = subnet.family === 4 ? 'ip' : 'ip6';
  const exprs: NftExpr[] = [...m.ipPrefix('saddr', subnet.bytes, subnet.prefix)];
  if (outInterface !== undefined) exprs.push(...m.ifname('oifname', outInterface));
  else exprs.push(...m.ipPrefix('daddr', subnet.bytes, subnet.prefix, 'neq'));
  exprs.push(...m.counter(), ...m.masq());
  return [
    { add: { table: { family, name: table, owner } } },
    { add: { chain: base(family, table, 'postrouting', 'postrouting', 100) } },
    { add: { rule: { family, table, chain: 'postrouting', exprs } } },
  ];
}

/**
 * The operations of a published-ports table (exported for the golden-bytes test): a regular
 * chain `ports` with one DNAT rule per port, jumped to from prerouting (traffic from outside)
 * and output (the namespace's own), as Docker's DOCKER chain; and in postrouting one hairpin
 * masquerade per subnet: `ip saddr S ip daddr S ct status dnat masquerade`. @internal
 */
export function publishPlan(table: string, family: 'ip' | 'ip6', ports: readonly ResolvedPort[], owner: boolean): NftOp[] {
  const ops: NftOp[] = [
    { add: { table: { family, name: table, owner } } },
    { add: { chain: { family, table, name: 'ports' } } },
    { add: { chain: base(family, table, 'prerouting', 'prerouting', -100) } },
    { add: { chain: base(family, table, 'output', 'output', -100) } },
  ];
  const subnets = new Map<string, Cidr>();
  for (const p of ports) if (p.hairpin) subnets.set(`${p.hairpin.text}/${p.hairpin.prefix}`, p.hairpin);
  if (subnets.size > 0) ops.push({ add: { chain: base(family, table, 'postrouting', 'postrouting', 100) } });
  for (const p of ports) {
    const exprs = [
      ...(p.hostAddress ? m.ipAddr('daddr', p.hostAddress) : m.fibDaddrLocal()),
      ...m.dport(p.protocol, p.hostPort),
      ...m.dnat(p.target, p.targetPort),
    ];
    ops.push({ add: { rule: { family, table, chain: 'ports', exprs } } });
  }
  for (const chain of ['prerouting', 'output']) ops.push({ add: { rule: { family, table, chain, exprs: m.verdict({ jump: 'ports' }) } } });
  for (const c of subnets.values()) {
    const exprs = [...m.ipPrefix('saddr', c.bytes, c.prefix), ...m.ipPrefix('daddr', c.bytes, c.prefix), ...m.ctStatusDnat(), ...m.masq()];
    ops.push({ add: { rule: { family, table, chain: 'postrouting', exprs } } });
  }
  return ops;
}

/** Writes '1' to a forwarding sysctl of the namespace (opened there by the dedicated thread). @internal */
export function enableForwarding(held: HeldNetns, family: 4 | 6): void {
  const path = family === 4 ? '/proc/sys/net/ipv4/ip_forward' : '/proc/sys/net/ipv6/conf/all/forwarding';
  const fd = native.openInNetns(held.fd, path, true);
  try {
    writeSync(fd, '1');
  } finally {
    closeSync(fd);
  }
}

function contains(c: Cidr, addr: Buffer): boolean {
  if (c.bytes.length !== addr.length) return false;
  for (let bit = 0; bit < c.prefix; bit++) {
    const i = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((c.bytes[i]! & mask) !== (addr[i]! & mask)) return false;
  }
  return true;
}

/** The directly connected subnet (a link-scope route of the main table) holding `addr`, longest prefix first. */
async function connectedSubnet(held: HeldNetns, addr: Buffer): Promise<Cidr | undefined> {
  const s = new RtnlSocket(held.fd);
  try {
    const msgs = await s.request(encodeGetRoutes(addr.length === 4 ? NL.AF_INET : NL.AF_INET6), { syscall: 'RTM_GETROUTE' });
    let best: Cidr | undefined;
    for (const msg of msgs) {
      if (msg.type !== NL.RTM_NEWROUTE) continue;
      const r = decodeRoute(msg);
      if (r.table !== NL.RT_TABLE_MAIN || r.gateway !== undefined || r.scope !== 'link' || r.dst === 'default') continue;
      const c = parseCidr('route', r.dst, true);
      if (contains(c, addr) && (!best || c.prefix > best.prefix)) best = c;
    }
    return best;
  } finally {
    s.close();
  }
}

/** A table name of this process: `nsbox_KIND_PID_N`. @internal */
export function tableName(kind: string): string {
  serial += 1;
  return `nsbox_${kind}_${process.pid}_${serial}`;
}

/** Commits `ops` (which make `table`, owned) on a new session, whose handle it returns. @internal */
export async function ownedTable(held: HeldNetns, family: 'ip' | 'ip6', table: string, ops: NftOp[]): Promise<NatHandle> {
  const session = nftablesAt(held.fd);
  try {
    await session.commit(ops);
  } catch (err) {
    session.close();
    throw err;
  }
  return new NatHandle(session, family, table);
}

/**
 * Source NAT for a subnet: connections from `subnet` leaving the namespace (through
 * `outInterface` when given, else to anywhere outside the subnet) take the address of the
 * interface they leave by. Also enables forwarding in that namespace only
 * (net.ipv4.ip_forward, or net.ipv6.conf.all.forwarding), which closing does not undo.
 *
 * Replaces `sysctl -w net.ipv4.ip_forward=1` and
 * `nft add table ip T '{ flags owner; }'; nft add chain ip T postrouting '{ type nat hook
 * postrouting priority srcnat; }'; nft add rule ip T postrouting ip saddr SUBNET ip daddr !=
 * SUBNET counter masquerade` (Docker's `-s SUBNET ! -o BRIDGE -j MASQUERADE`).
 *
 * Needs CAP_NET_ADMIN in the user namespace owning the network namespace (and CAP_SYS_ADMIN
 * to enter another one). Does not block the event loop or touch the calling thread.
 * @returns a handle; `close()` (or `await using`) removes exactly its rules.
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` before any syscall; SysError
 * (`'open'` of the sysctl, `'NFNL_MSG_BATCH_BEGIN'` `EPERM`, `'NFT_MSG_NEWRULE'` …, see
 * {@link NftSession.commit}).
 */
export async function masquerade(options: MasqueradeOptions): Promise<NatHandle> {
  const o = optionsObject(options);
  const subnet = parseCidr('options.subnet', o.subnet);
  const out = o.outInterface === undefined ? undefined : checkIfName('options.outInterface', o.outInterface);
  const held = holdNetns('options.netns', options.netns);
  try {
    enableForwarding(held, subnet.family);
    const table = tableName('masq');
    const family = subnet.family === 4 ? 'ip' : 'ip6';
    return await ownedTable(held, family, table, masqueradePlan(table, subnet, out, true));
  } finally {
    held.release();
  }
}

function checkSpec(name: string, v: unknown): Omit<ResolvedPort, 'hairpin'> {
  const s = optionsObject(v);
  if (s.protocol !== 'tcp' && s.protocol !== 'udp') throw invalidArgValue(`${name}.protocol`, s.protocol, "must be 'tcp' or 'udp'");
  const r: Omit<ResolvedPort, 'hairpin'> = {
    /** The transport protocol. */
    protocol: s.protocol,
    hostPort: checkPort(`${name}.hostPort`, s.hostPort),
    target: parseIp(`${name}.target`, s.target).bytes,
    /** The port on the target. */
    targetPort: checkPort(`${name}.targetPort`, s.targetPort),
  };
  if (s.hostAddress !== undefined) {
    r.hostAddress = parseIp(`${name}.hostAddress`, s.hostAddress).bytes;
    if (r.hostAddress.length !== r.target.length)
      throw invalidArgValue(`${name}.hostAddress`, s.hostAddress, 'must be of the family of target');
  }
  return r;
}

/**
 * Publishes several ports in one transaction, with one handle: see {@link publishPort}.
 * Every port must have a target of the same address family.
 * @throws as {@link publishPort}; `ERR_INVALID_ARG_VALUE` for an empty list or mixed families.
 */
export async function publishPorts(options: PublishPortsOptions): Promise<NatHandle> {
  const o = optionsObject(options);
  if (!Array.isArray(o.ports) || o.ports.length === 0) throw invalidArgValue('options.ports', o.ports, 'must be a non-empty array');
  const ports: ResolvedPort[] = o.ports.map((p, i) => checkSpec(`options.ports[${i}]`, p));
  const v6 = ports[0]!.target.length === 16;
  ports.forEach((p, i) => {
    if ((p.target.length === 16) !== v6)
      throw invalidArgValue(`options.ports[${i}].target`, ipText(p.target), 'must be of the family of the first port');
  });
  const hp = o.hairpin ?? true;
  let hairpin: Cidr | undefined;
  if (typeof hp === 'string') {
    hairpin = parseCidr('options.hairpin', hp);
    if (hairpin.bytes.length !== ports[0]!.target.length) throw invalidArgValue('options.hairpin', hp, 'must be of the family of target');
  } else if (typeof hp !== 'boolean') throw invalidArgType('options.hairpin', 'a boolean or a CIDR string', hp);
  const held = holdNetns('options.netns', options.netns);
  try {
    for (const p of ports) {
      if (hairpin) p.hairpin = hairpin;
      else if (hp === true) {
        const c = await connectedSubnet(held, p.target);
        if (c) p.hairpin = c;
      }
    }
    const table = tableName('pub');
    const family = v6 ? 'ip6' : 'ip';
    return await ownedTable(held, family, table, publishPlan(table, family, ports, true));
  } finally {
    held.release();
  }
}

/**
 * Publishes a port: connections to `hostPort` on the namespace's own addresses (or on
 * `hostAddress`) are forwarded to `target:targetPort` (DNAT, in prerouting for traffic from
 * outside and in output for the namespace's own), keeping the client's address; with hairpin
 * NAT for clients on the target's own subnet (see {@link PublishPortOptions.hairpin}).
 * Forwarding must be enabled (as {@link masquerade} does).
 *
 * Replaces `nft add rule ip T prerouting fib daddr type local tcp dport HOSTPORT dnat to
 * TARGET:PORT` (and the same in output; Docker's `-p HOSTPORT:PORT`), in an owned table.
 *
 * Needs CAP_NET_ADMIN in the user namespace owning the network namespace. Does not block the
 * event loop or touch the calling thread.
 * @returns a handle; `close()` (or `await using`) removes exactly its rules.
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE`/`ERR_OUT_OF_RANGE` before any
 * syscall; SysError from the route lookup (`'RTM_GETROUTE'`) or the transaction (see
 * {@link NftSession.commit}: `EPERM`, `ENOENT`, `EOPNOTSUPP` without nf_nat).
 */
export async function publishPort(options: PublishPortOptions): Promise<NatHandle> {
  const o = optionsObject(options);
  checkSpec('options', o); // so errors name options.hostPort, not options.ports[0].hostPort
  const { netns, hairpin, ...spec } = o as unknown as PublishPortOptions;
  const opts: PublishPortsOptions = { ports: [spec] };
  if (netns !== undefined) opts.netns = netns;
  if (hairpin !== undefined) opts.hairpin = hairpin;
  return publishPorts(opts);
}

/** How many NAT handles this process holds open (for leak checks in tests). @internal */
export function liveNatHandles(): number {
  return live.size;
}
