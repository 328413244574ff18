/**
 * Expression builders: the `nft` phrases NAT and a simple firewall are written in, as the
 * expression lists `nft` itself compiles them to (`nft --debug=netlink` shows the same), so a
 * rule made here lists back in `nft list ruleset` as the phrase it came from.
 *
 * Every builder takes already-checked values (bytes, ports) and loads into register 1 (and 2
 * for a NAT port), as nft does.
 * @module
 */
import { NL } from '../netlink/constants.js';
import { NFT } from '../netlink/nft-constants.js';
import type { NftCmpOp, NftCtKey, NftExpr, NftNatFlag, NftVerdict } from '../netlink/nft-objects.js';

const R1 = 1;
const R2 = 2;

function hostU32(v: number): Uint8Array {
  // Registers hold host-order values for meta/ct/fib results: the kernel compares the raw bytes.
  return new Uint8Array(new Uint32Array([v >>> 0]).buffer);
}
function be16(v: number): Uint8Array {
  return Uint8Array.of((v >> 8) & 0xff, v & 0xff);
}

/** A transport protocol by name. */
export type L4Proto = 'tcp' | 'udp';
const L4: Readonly<Record<L4Proto, number>> = { tcp: NFT.IPPROTO_TCP, udp: NFT.IPPROTO_UDP };

/**
 * `ip saddr|daddr [!=] ADDR/PREFIX` (or `ip6 …`): the header bytes the prefix covers, masked
 * when the prefix does not end on a byte (nft: `payload load; [bitwise;] cmp`).
 */
export function ipPrefix(field: 'saddr' | 'daddr', addr: Uint8Array, prefix: number, op: 'eq' | 'neq' = 'eq'): NftExpr[] {
  if (prefix === 0) return []; // ADDR/0 matches every packet
  const v6 = addr.length === 16;
  const offset = (v6 ? 8 : 12) + (field === 'daddr' ? (v6 ? 16 : 4) : 0);
  if (prefix % 8 === 0) {
    const len = prefix / 8;
    return [
      { type: 'payload', base: 'network', offset, len, dreg: R1 },
      { type: 'cmp', op, sreg: R1, data: Uint8Array.from(addr.subarray(0, len)) },
    ];
  }
  const len = addr.length;
  const mask = new Uint8Array(len);
  for (let i = 0; i < len; i++)
    mask[i] = i < Math.floor(prefix / 8) ? 0xff : i === Math.floor(prefix / 8) ? (0xff << (8 - (prefix % 8))) & 0xff : 0;
  const net = addr.map((b, i) => b & mask[i]!);
  return [
    { type: 'payload', base: 'network', offset, len, dreg: R1 },
    { type: 'bitwise', sreg: R1, dreg: R1, len, mask, xor: new Uint8Array(len) },
    { type: 'cmp', op, sreg: R1, data: net },
  ];
}

/** `ip daddr|saddr ADDR` (a whole address). */
export function ipAddr(field: 'saddr' | 'daddr', addr: Uint8Array, op: 'eq' | 'neq' = 'eq'): NftExpr[] {
  return ipPrefix(field, addr, addr.length * 8, op);
}

/** `meta l4proto tcp|udp`. */
export function l4proto(proto: L4Proto): NftExpr[] {
  return [
    { type: 'meta', key: 'l4proto', dreg: R1 },
    { type: 'cmp', op: 'eq', sreg: R1, data: Uint8Array.of(L4[proto]) },
  ];
}

/** `tcp|udp dport PORT` (nft: `meta l4proto`, then the port at transport header + 2). */
export function dport(proto: L4Proto, port: number): NftExpr[] {
  return [
    ...l4proto(proto),
    { type: 'payload', base: 'transport', offset: 2, len: 2, dreg: R1 },
    { type: 'cmp', op: 'eq', sreg: R1, data: be16(port) },
  ];
}

/** `iifname|oifname [!=] NAME` (the name NUL-padded to IFNAMSIZ, as nft compares it). */
export function ifname(key: 'iifname' | 'oifname', name: string, op: NftCmpOp = 'eq'): NftExpr[] {
  const data = new Uint8Array(16);
  data.set(Buffer.from(name, 'utf8').subarray(0, 15));
  return [
    { type: 'meta', key, dreg: R1 },
    { type: 'cmp', op, sreg: R1, data },
  ];
}

/** `fib daddr type local`: the destination is an address of this namespace. */
export function fibDaddrLocal(): NftExpr[] {
  return [
    { type: 'fib', flags: ['daddr'], result: 'addrtype', dreg: R1 },
    { type: 'cmp', op: 'eq', sreg: R1, data: hostU32(NL.RTN_LOCAL) },
  ];
}

/** `ct status dnat`: the connection's destination was translated. */
export function ctStatusDnat(): NftExpr[] {
  return ctBits('status', NFT.IPS_DST_NAT);
}

/** The ct state names of `ct state …`. */
export type CtState = 'invalid' | 'established' | 'related' | 'new' | 'untracked';
const CT_STATE_BITS: Readonly<Record<CtState, number>> = {
  invalid: NFT.NF_CT_STATE_INVALID_BIT,
  established: 1 << (NFT.IP_CT_ESTABLISHED + 1),
  related: 1 << (NFT.IP_CT_RELATED + 1),
  new: 1 << (NFT.IP_CT_NEW + 1),
  untracked: NFT.NF_CT_STATE_UNTRACKED_BIT,
};

/** `ct state S1,S2`: any of the states. */
export function ctState(states: readonly CtState[]): NftExpr[] {
  return ctBits('state', stateBits(states));
}

/** `ct state != S1,S2`: none of the states (nft: the same bitwise, compared equal to 0). */
export function ctStateNone(states: readonly CtState[]): NftExpr[] {
  return ctBits('state', stateBits(states), 'eq');
}

function stateBits(states: readonly CtState[]): number {
  let bits = 0;
  for (const s of states) bits |= CT_STATE_BITS[s];
  return bits;
}

/** `ct KEY & BITS != 0` (any of them), or `== 0` with `op` 'eq' (none). */
function ctBits(key: NftCtKey, bits: number, op: 'eq' | 'neq' = 'neq'): NftExpr[] {
  return [
    { type: 'ct', key, dreg: R1 },
    { type: 'bitwise', sreg: R1, dreg: R1, len: 4, mask: hostU32(bits), xor: new Uint8Array(4) },
    { type: 'cmp', op, sreg: R1, data: new Uint8Array(4) },
  ];
}

/** `counter`. */
export function counter(): NftExpr[] {
  return [{ type: 'counter' }];
}

/** `masquerade [random|persistent|fully-random]`. */
export function masq(flags?: NftNatFlag[]): NftExpr[] {
  return [flags === undefined ? { type: 'masq' } : { type: 'masq', flags }];
}

/** `dnat to ADDR[:PORT]` (`dnat to [ADDR6]:PORT` for IPv6). */
export function dnat(addr: Uint8Array, port?: number): NftExpr[] {
  const out: NftExpr[] = [{ type: 'immediate', dreg: R1, data: Uint8Array.from(addr) }];
  const nat: NftExpr = { type: 'nat', nat: 'dnat', family: addr.length === 16 ? 'ip6' : 'ip', addrMin: R1 };
  if (port !== undefined) {
    out.push({ type: 'immediate', dreg: R2, data: be16(port) });
    nat.protoMin = R2;
    nat.flags = ['proto-specified'];
  }
  out.push(nat);
  return out;
}

/** A verdict statement (`accept`, `drop`, `jump CHAIN`, …). */
export function verdict(v: NftVerdict): NftExpr[] {
  return [{ type: 'verdict', verdict: v }];
}
