/**
 * nf_tables rule expressions on the wire (NFTA_RULE_EXPRESSIONS: a list of NFTA_LIST_ELEM,
 * each NFTA_EXPR_NAME + NFTA_EXPR_DATA). Attributes are written in libnftnl's order, so a
 * rule encodes to the very bytes `nft` sends (test/unit/nft-golden.test.ts); numbers inside
 * are big-endian, as the kernel's nla_get_be32 reads them.
 * @internal
 * @module
 */
import { NetlinkDecodeError, nsboxError } from '../../errors.js';
import { NL, table } from './constants.js';
import { NFT } from './nft-constants.js';
import type {
  NftCmpOp,
  NftCtKey,
  NftExpr,
  NftFibFlag,
  NftFibResult,
  NftMetaKey,
  NftNatFlag,
  NftPayloadBase,
  NftVerdict,
} from './nft-objects.js';
import { Reader, parseAttrs, type Attrs, type MessageWriter } from './wire.js';

const NESTED = NL.NLA_F_NESTED;

/** A big-endian u32 payload. */
export function be32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0, 0);
  return b;
}
/** A big-endian u64 payload. */
export function be64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, v), 0);
  return b;
}

function fixedBe(a: Attrs, type: number, size: 4 | 8, what: string): Buffer | undefined {
  const b = a.get(type);
  if (b === undefined) return undefined;
  if (b.length !== size) throw new NetlinkDecodeError(`${what} has ${b.length} bytes, not ${size}`, 0);
  return b;
}
/** A big-endian u32 attribute, or undefined. */
export function getBe32(a: Attrs, type: number, what = 'be32'): number | undefined {
  return fixedBe(a, type, 4, what)?.readUInt32BE(0);
}
/** A big-endian u64 attribute, or undefined. */
export function getBe64(a: Attrs, type: number, what = 'be64'): bigint | undefined {
  return fixedBe(a, type, 8, what)?.readBigUInt64BE(0);
}
function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new NetlinkDecodeError(`${what} is missing`, 0);
  return v;
}

export const META_KEYS = table<NftMetaKey>({
  len: NFT.NFT_META_LEN,
  protocol: NFT.NFT_META_PROTOCOL,
  mark: NFT.NFT_META_MARK,
  iif: NFT.NFT_META_IIF,
  oif: NFT.NFT_META_OIF,
  iifname: NFT.NFT_META_IIFNAME,
  oifname: NFT.NFT_META_OIFNAME,
  iiftype: NFT.NFT_META_IFTYPE,
  oiftype: NFT.NFT_META_OIFTYPE,
  nfproto: NFT.NFT_META_NFPROTO,
  l4proto: NFT.NFT_META_L4PROTO,
  pkttype: NFT.NFT_META_PKTTYPE,
});
export const CT_KEYS = table<NftCtKey>({
  state: NFT.NFT_CT_STATE,
  direction: NFT.NFT_CT_DIRECTION,
  status: NFT.NFT_CT_STATUS,
  mark: NFT.NFT_CT_MARK,
});
export const CMP_OPS = table<NftCmpOp>({
  eq: NFT.NFT_CMP_EQ,
  neq: NFT.NFT_CMP_NEQ,
  lt: NFT.NFT_CMP_LT,
  lte: NFT.NFT_CMP_LTE,
  gt: NFT.NFT_CMP_GT,
  gte: NFT.NFT_CMP_GTE,
});
export const PAYLOAD_BASES = table<NftPayloadBase>({
  ll: NFT.NFT_PAYLOAD_LL_HEADER,
  network: NFT.NFT_PAYLOAD_NETWORK_HEADER,
  transport: NFT.NFT_PAYLOAD_TRANSPORT_HEADER,
});
export const FIB_RESULTS = table<NftFibResult>({
  oif: NFT.NFT_FIB_RESULT_OIF,
  oifname: NFT.NFT_FIB_RESULT_OIFNAME,
  addrtype: NFT.NFT_FIB_RESULT_ADDRTYPE,
});
export const FIB_FLAGS: Readonly<Record<NftFibFlag, number>> = {
  saddr: NFT.NFTA_FIB_F_SADDR,
  daddr: NFT.NFTA_FIB_F_DADDR,
  mark: NFT.NFTA_FIB_F_MARK,
  iif: NFT.NFTA_FIB_F_IIF,
  oif: NFT.NFTA_FIB_F_OIF,
  present: NFT.NFTA_FIB_F_PRESENT,
};
export const NAT_FLAGS: Readonly<Record<NftNatFlag, number>> = {
  'map-ips': NFT.NF_NAT_RANGE_MAP_IPS,
  'proto-specified': NFT.NF_NAT_RANGE_PROTO_SPECIFIED,
  random: NFT.NF_NAT_RANGE_PROTO_RANDOM,
  persistent: NFT.NF_NAT_RANGE_PERSISTENT,
  'random-fully': NFT.NF_NAT_RANGE_PROTO_RANDOM_FULLY,
};
const VERDICTS = table<'accept' | 'drop' | 'continue' | 'return' | 'jump' | 'goto'>({
  accept: NFT.NF_ACCEPT,
  drop: NFT.NF_DROP,
  continue: NFT.NFT_CONTINUE,
  return: NFT.NFT_RETURN,
  jump: NFT.NFT_JUMP,
  goto: NFT.NFT_GOTO,
});

/** Flag names → their OR. */
export function flagBits<N extends string>(map: Readonly<Record<N, number>>, names: readonly N[]): number {
  let v = 0;
  for (const n of names) v |= map[n];
  return v >>> 0;
}
/** A bit mask → flag names; bits without a name are dropped (decoding only). */
export function bitNames<N extends string>(map: Readonly<Record<N, number>>, bits: number): N[] {
  return (Object.keys(map) as N[]).filter((n) => (bits & map[n]) !== 0);
}

/** NFTA_DATA_VALUE nested in `type`. */
function putValue(w: MessageWriter, type: number, v: Uint8Array): void {
  w.begin(type | NESTED)
    .attr(NFT.NFTA_DATA_VALUE, v)
    .end();
}
function getValue(a: Attrs, type: number, what: string): Uint8Array {
  const d = a.get(type);
  if (d === undefined) throw new NetlinkDecodeError(`${what} is missing`, 0);
  return Uint8Array.from(need(parseAttrs(d).get(NFT.NFTA_DATA_VALUE), `${what} value`));
}

function encodeVerdict(w: MessageWriter, v: NftVerdict): void {
  w.begin(NFT.NFTA_IMMEDIATE_DATA | NESTED).begin(NFT.NFTA_DATA_VERDICT | NESTED);
  if (typeof v === 'string') w.attrBe32(NFT.NFTA_VERDICT_CODE, VERDICTS.byName[v]);
  else if ('jump' in v) w.attrBe32(NFT.NFTA_VERDICT_CODE, NFT.NFT_JUMP).attrString(NFT.NFTA_VERDICT_CHAIN, v.jump);
  else w.attrBe32(NFT.NFTA_VERDICT_CODE, NFT.NFT_GOTO).attrString(NFT.NFTA_VERDICT_CHAIN, v.goto);
  w.end().end();
}
function decodeVerdict(data: Buffer): NftVerdict {
  const v = need(parseAttrs(data).get(NFT.NFTA_DATA_VERDICT), 'verdict');
  const a = parseAttrs(v);
  const code = need(getBe32(a, NFT.NFTA_VERDICT_CODE, 'verdict code'), 'verdict code') | 0;
  const name = VERDICTS.byNumber.get(code);
  const chain = a.get(NFT.NFTA_VERDICT_CHAIN);
  const chainName = chain === undefined ? '' : chain.toString('utf8', 0, chain.indexOf(0) < 0 ? chain.length : chain.indexOf(0));
  if (name === 'jump') return { jump: chainName };
  if (name === 'goto') return { goto: chainName };
  if (name === undefined) throw new NetlinkDecodeError(`unknown verdict code ${code}`, 0);
  return name;
}

/** Appends one expression (an NFTA_LIST_ELEM) to `w`. The expression must be valid (see src/net/nft/validate.ts). */
export function encodeExpr(w: MessageWriter, e: NftExpr): void {
  const name = e.type === 'verdict' ? 'immediate' : e.type === 'other' ? e.name : e.type;
  w.begin(NFT.NFTA_LIST_ELEM | NESTED).attrString(NFT.NFTA_EXPR_NAME, name);
  w.begin(NFT.NFTA_EXPR_DATA | NESTED);
  switch (e.type) {
    case 'meta':
      w.attrBe32(NFT.NFTA_META_KEY, META_KEYS.byName[e.key]).attrBe32(NFT.NFTA_META_DREG, e.dreg);
      break;
    case 'payload':
      w.attrBe32(NFT.NFTA_PAYLOAD_DREG, e.dreg)
        .attrBe32(NFT.NFTA_PAYLOAD_BASE, PAYLOAD_BASES.byName[e.base])
        .attrBe32(NFT.NFTA_PAYLOAD_OFFSET, e.offset)
        .attrBe32(NFT.NFTA_PAYLOAD_LEN, e.len);
      break;
    case 'cmp':
      w.attrBe32(NFT.NFTA_CMP_SREG, e.sreg).attrBe32(NFT.NFTA_CMP_OP, CMP_OPS.byName[e.op]);
      putValue(w, NFT.NFTA_CMP_DATA, e.data);
      break;
    case 'bitwise':
      w.attrBe32(NFT.NFTA_BITWISE_SREG, e.sreg).attrBe32(NFT.NFTA_BITWISE_DREG, e.dreg).attrBe32(NFT.NFTA_BITWISE_LEN, e.len);
      putValue(w, NFT.NFTA_BITWISE_MASK, e.mask);
      putValue(w, NFT.NFTA_BITWISE_XOR, e.xor);
      break;
    case 'immediate':
      w.attrBe32(NFT.NFTA_IMMEDIATE_DREG, e.dreg);
      putValue(w, NFT.NFTA_IMMEDIATE_DATA, e.data);
      break;
    case 'verdict':
      w.attrBe32(NFT.NFTA_IMMEDIATE_DREG, NFT.NFT_REG_VERDICT);
      encodeVerdict(w, e.verdict);
      break;
    case 'nat':
      w.attrBe32(NFT.NFTA_NAT_TYPE, e.nat === 'snat' ? NFT.NFT_NAT_SNAT : NFT.NFT_NAT_DNAT);
      w.attrBe32(NFT.NFTA_NAT_FAMILY, e.family === 'ip' ? NFT.NFPROTO_IPV4 : NFT.NFPROTO_IPV6);
      if (e.addrMin !== undefined) w.attrBe32(NFT.NFTA_NAT_REG_ADDR_MIN, e.addrMin);
      if (e.addrMax !== undefined) w.attrBe32(NFT.NFTA_NAT_REG_ADDR_MAX, e.addrMax);
      if (e.protoMin !== undefined) w.attrBe32(NFT.NFTA_NAT_REG_PROTO_MIN, e.protoMin);
      if (e.protoMax !== undefined) w.attrBe32(NFT.NFTA_NAT_REG_PROTO_MAX, e.protoMax);
      if (e.flags !== undefined) w.attrBe32(NFT.NFTA_NAT_FLAGS, flagBits(NAT_FLAGS, e.flags));
      break;
    case 'masq':
      if (e.flags !== undefined) w.attrBe32(NFT.NFTA_MASQ_FLAGS, flagBits(NAT_FLAGS, e.flags));
      if (e.protoMin !== undefined) w.attrBe32(NFT.NFTA_MASQ_REG_PROTO_MIN, e.protoMin);
      if (e.protoMax !== undefined) w.attrBe32(NFT.NFTA_MASQ_REG_PROTO_MAX, e.protoMax);
      break;
    case 'fib':
      w.attrBe32(NFT.NFTA_FIB_FLAGS, flagBits(FIB_FLAGS, e.flags))
        .attrBe32(NFT.NFTA_FIB_RESULT, FIB_RESULTS.byName[e.result])
        .attrBe32(NFT.NFTA_FIB_DREG, e.dreg);
      break;
    case 'ct':
      w.attrBe32(NFT.NFTA_CT_KEY, CT_KEYS.byName[e.key]).attrBe32(NFT.NFTA_CT_DREG, e.dreg);
      if (e.direction !== undefined) w.attrU8(NFT.NFTA_CT_DIRECTION, e.direction === 'original' ? 0 : 1);
      break;
    case 'counter':
      // As nft: no attributes for a counter that starts at 0.
      if (e.bytes !== undefined) w.attrBe64(NFT.NFTA_COUNTER_BYTES, e.bytes);
      if (e.packets !== undefined) w.attrBe64(NFT.NFTA_COUNTER_PACKETS, e.packets);
      break;
    case 'lookup':
      w.attrBe32(NFT.NFTA_LOOKUP_SREG, e.sreg);
      if (e.dreg !== undefined) w.attrBe32(NFT.NFTA_LOOKUP_DREG, e.dreg);
      w.attrString(NFT.NFTA_LOOKUP_SET, e.set);
      if (e.invert) w.attrBe32(NFT.NFTA_LOOKUP_FLAGS, NFT.NFT_LOOKUP_F_INV);
      break;
    case 'other':
      w.bytes(e.data);
      break;
    default:
      throw nsboxError('ERR_NSBOX_NETLINK_ENCODE', `unknown nf_tables expression ${(e as { type: string }).type}`);
  }
  w.end().end();
}

function lookup<N extends string>(t: { byNumber: ReadonlyMap<number, N> }, v: number, what: string): N {
  const n = t.byNumber.get(v);
  if (n === undefined) throw new NetlinkDecodeError(`unknown ${what} ${v}`, 0);
  return n;
}

/** Decodes one expression from an NFTA_LIST_ELEM payload. An expression this codec does not model becomes `{ type: 'other' }`. */
export function decodeExpr(elem: Buffer): NftExpr {
  const a = parseAttrs(elem);
  const nameBuf = need(a.get(NFT.NFTA_EXPR_NAME), 'expression name');
  const nul = nameBuf.indexOf(0);
  const name = nameBuf.toString('utf8', 0, nul < 0 ? nameBuf.length : nul);
  const data = a.get(NFT.NFTA_EXPR_DATA) ?? Buffer.alloc(0);
  const d = parseAttrs(data);
  const reg = (t: number, what: string) => need(getBe32(d, t, what), what);
  try {
    switch (name) {
      case 'meta':
        return {
          type: 'meta',
          key: lookup(META_KEYS, reg(NFT.NFTA_META_KEY, 'meta key'), 'meta key'),
          dreg: reg(NFT.NFTA_META_DREG, 'meta dreg'),
        };
      case 'payload':
        return {
          type: 'payload',
          base: lookup(PAYLOAD_BASES, reg(NFT.NFTA_PAYLOAD_BASE, 'payload base'), 'payload base'),
          offset: reg(NFT.NFTA_PAYLOAD_OFFSET, 'payload offset'),
          len: reg(NFT.NFTA_PAYLOAD_LEN, 'payload len'),
          dreg: reg(NFT.NFTA_PAYLOAD_DREG, 'payload dreg'),
        };
      case 'cmp':
        return {
          type: 'cmp',
          op: lookup(CMP_OPS, reg(NFT.NFTA_CMP_OP, 'cmp op'), 'cmp op'),
          sreg: reg(NFT.NFTA_CMP_SREG, 'cmp sreg'),
          data: getValue(d, NFT.NFTA_CMP_DATA, 'cmp data'),
        };
      case 'bitwise':
        return {
          type: 'bitwise',
          sreg: reg(NFT.NFTA_BITWISE_SREG, 'bitwise sreg'),
          dreg: reg(NFT.NFTA_BITWISE_DREG, 'bitwise dreg'),
          len: reg(NFT.NFTA_BITWISE_LEN, 'bitwise len'),
          mask: getValue(d, NFT.NFTA_BITWISE_MASK, 'bitwise mask'),
          xor: getValue(d, NFT.NFTA_BITWISE_XOR, 'bitwise xor'),
        };
      case 'immediate': {
        const dreg = reg(NFT.NFTA_IMMEDIATE_DREG, 'immediate dreg');
        const imm = need(d.get(NFT.NFTA_IMMEDIATE_DATA), 'immediate data');
        if (dreg === NFT.NFT_REG_VERDICT) return { type: 'verdict', verdict: decodeVerdict(imm) };
        return { type: 'immediate', dreg, data: getValue(d, NFT.NFTA_IMMEDIATE_DATA, 'immediate data') };
      }
      case 'nat': {
        const fam = reg(NFT.NFTA_NAT_FAMILY, 'nat family');
        const e: NftExpr = {
          type: 'nat',
          nat: reg(NFT.NFTA_NAT_TYPE, 'nat type') === NFT.NFT_NAT_SNAT ? 'snat' : 'dnat',
          family: fam === NFT.NFPROTO_IPV6 ? 'ip6' : 'ip',
        };
        const opt = (t: number) => getBe32(d, t);
        const am = opt(NFT.NFTA_NAT_REG_ADDR_MIN);
        if (am !== undefined) e.addrMin = am;
        const ax = opt(NFT.NFTA_NAT_REG_ADDR_MAX);
        if (ax !== undefined) e.addrMax = ax;
        const pm = opt(NFT.NFTA_NAT_REG_PROTO_MIN);
        if (pm !== undefined) e.protoMin = pm;
        const px = opt(NFT.NFTA_NAT_REG_PROTO_MAX);
        if (px !== undefined) e.protoMax = px;
        const f = opt(NFT.NFTA_NAT_FLAGS);
        if (f !== undefined) e.flags = bitNames(NAT_FLAGS, f);
        return e;
      }
      case 'masq': {
        const e: NftExpr = { type: 'masq' };
        const f = getBe32(d, NFT.NFTA_MASQ_FLAGS);
        if (f !== undefined) e.flags = bitNames(NAT_FLAGS, f);
        const pm = getBe32(d, NFT.NFTA_MASQ_REG_PROTO_MIN);
        if (pm !== undefined) e.protoMin = pm;
        const px = getBe32(d, NFT.NFTA_MASQ_REG_PROTO_MAX);
        if (px !== undefined) e.protoMax = px;
        return e;
      }
      case 'fib':
        return {
          type: 'fib',
          flags: bitNames(FIB_FLAGS, reg(NFT.NFTA_FIB_FLAGS, 'fib flags')),
          result: lookup(FIB_RESULTS, reg(NFT.NFTA_FIB_RESULT, 'fib result'), 'fib result'),
          dreg: reg(NFT.NFTA_FIB_DREG, 'fib dreg'),
        };
      case 'ct': {
        const e: NftExpr = {
          type: 'ct',
          key: lookup(CT_KEYS, reg(NFT.NFTA_CT_KEY, 'ct key'), 'ct key'),
          dreg: reg(NFT.NFTA_CT_DREG, 'ct dreg'),
        };
        const dir = d.get(NFT.NFTA_CT_DIRECTION);
        if (dir !== undefined && dir.length >= 1) e.direction = dir[0] === 0 ? 'original' : 'reply';
        return e;
      }
      case 'counter':
        return { type: 'counter', packets: getBe64(d, NFT.NFTA_COUNTER_PACKETS) ?? 0n, bytes: getBe64(d, NFT.NFTA_COUNTER_BYTES) ?? 0n };
      case 'lookup': {
        const set = need(d.get(NFT.NFTA_LOOKUP_SET), 'lookup set');
        const n = set.indexOf(0);
        const e: NftExpr = {
          type: 'lookup',
          set: set.toString('utf8', 0, n < 0 ? set.length : n),
          sreg: reg(NFT.NFTA_LOOKUP_SREG, 'lookup sreg'),
        };
        const dreg = getBe32(d, NFT.NFTA_LOOKUP_DREG);
        if (dreg !== undefined) e.dreg = dreg;
        if (((getBe32(d, NFT.NFTA_LOOKUP_FLAGS) ?? 0) & NFT.NFT_LOOKUP_F_INV) !== 0) e.invert = true;
        return e;
      }
      default:
        return { type: 'other', name, data: Uint8Array.from(data) };
    }
  } catch (err) {
    // A key or base this codec has no name for (a newer kernel's meta key, say) is not a
    // malformed message: keep the expression raw. Malformed lengths still throw.
    if (err instanceof NetlinkDecodeError && /^unknown /.test(err.message)) return { type: 'other', name, data: Uint8Array.from(data) };
    throw err;
  }
}

/** Appends NFTA_RULE_EXPRESSIONS with every expression. */
export function encodeExprs(w: MessageWriter, exprs: readonly NftExpr[]): void {
  w.begin(NFT.NFTA_RULE_EXPRESSIONS | NESTED);
  for (const e of exprs) encodeExpr(w, e);
  w.end();
}

/** Decodes NFTA_RULE_EXPRESSIONS (every NFTA_LIST_ELEM, in order). */
export function decodeExprs(list: Buffer): NftExpr[] {
  const out: NftExpr[] = [];
  // parseAttrs keeps only the last attribute of a type; the list repeats NFTA_LIST_ELEM, so walk it.
  const r = new Reader(list);
  let off = 0;
  while (off < list.length) {
    if (list.length - off < 4) throw new NetlinkDecodeError('expression list: truncated attribute header', off);
    const len = r.u16(off);
    if (len < 4 || len > list.length - off) throw new NetlinkDecodeError(`expression list: attribute length ${len} is invalid`, off);
    out.push(decodeExpr(list.subarray(off + 4, off + len)));
    off += (len + 3) & ~3;
  }
  return out;
}
