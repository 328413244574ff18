/**
 * nf_tables messages (NETLINK_NETFILTER, subsystem NFNL_SUBSYS_NFTABLES): the nfgenmsg
 * header, the batch markers, tables, chains and rules — encoders in libnftnl's attribute
 * order (so they reproduce `nft`'s bytes) and decoders for what a dump returns.
 * @internal
 * @module
 */
import { NetlinkDecodeError } from '../../errors.js';
import { NL, table } from './constants.js';
import { decodeExprs, encodeExprs, getBe32, getBe64 } from './nft-expr.js';
import { NFT } from './nft-constants.js';
import type {
  NftChain,
  NftChainSpec,
  NftChainType,
  NftFamily,
  NftHook,
  NftRule,
  NftRuleSpec,
  NftTable,
  NftTableSpec,
} from './nft-objects.js';
import { MessageWriter, attr, parseAttrs, type NlMessage } from './wire.js';

const NESTED = NL.NLA_F_NESTED;
const REQ = NL.NLM_F_REQUEST;

export const FAMILIES = table<NftFamily>({
  ip: NFT.NFPROTO_IPV4,
  ip6: NFT.NFPROTO_IPV6,
  inet: NFT.NFPROTO_INET,
  arp: NFT.NFPROTO_ARP,
  bridge: NFT.NFPROTO_BRIDGE,
  netdev: NFT.NFPROTO_NETDEV,
});
const INET_HOOKS = table<Exclude<NftHook, 'ingress'>>({
  prerouting: NFT.NF_INET_PRE_ROUTING,
  input: NFT.NF_INET_LOCAL_IN,
  forward: NFT.NF_INET_FORWARD,
  output: NFT.NF_INET_LOCAL_OUT,
  postrouting: NFT.NF_INET_POST_ROUTING,
});
export const CHAIN_TYPES: readonly NftChainType[] = ['filter', 'nat', 'route'];

/** The netlink message type of an nf_tables message (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_*). */
export const nftType = (msg: number): number => (NFT.NFNL_SUBSYS_NFTABLES << 8) | msg;

/** A message with its nfgenmsg: family, NFNETLINK_V0, res_id (big-endian). */
function message(type: number, flags: number, family: number, resId = 0, sizeHint = 256): MessageWriter {
  const w = new MessageWriter(type, flags, sizeHint);
  w.u8(family)
    .u8(NFT.NFNETLINK_V0)
    .bytes(Uint8Array.of((resId >> 8) & 0xff, resId & 0xff));
  return w;
}

/** NFNL_MSG_BATCH_BEGIN for nf_tables (res_id NFNL_SUBSYS_NFTABLES). */
export const encodeBatchBegin = (): MessageWriter => message(NFT.NFNL_MSG_BATCH_BEGIN, REQ, NL.AF_UNSPEC, NFT.NFNL_SUBSYS_NFTABLES);
/** NFNL_MSG_BATCH_END: the kernel commits what the batch holds, or aborts it all. */
export const encodeBatchEnd = (): MessageWriter => message(NFT.NFNL_MSG_BATCH_END, REQ, NL.AF_UNSPEC, NFT.NFNL_SUBSYS_NFTABLES);
/** NFT_MSG_GETGEN: the ruleset generation; also the fence after a batch (see RtnlSocket.sendBatch). */
export const encodeGetGen = (): MessageWriter => message(nftType(NFT.NFT_MSG_GETGEN), REQ, NL.AF_UNSPEC);

/** The generation id from an NFT_MSG_NEWGEN reply. */
export function decodeGen(m: NlMessage): number {
  return getBe32(parseAttrs(m.body, 4, m.offset + 16), NFT.NFTA_GEN_ID, 'NFTA_GEN_ID') ?? 0;
}

/** NFT_MSG_NEWTABLE as `nft add table` sends it (NLM_F_REQUEST only; flags always present). */
export function encodeNewTable(t: NftTableSpec): MessageWriter {
  let flags = 0;
  if (t.owner) flags |= NFT.NFT_TABLE_F_OWNER;
  if (t.dormant) flags |= NFT.NFT_TABLE_F_DORMANT;
  return message(nftType(NFT.NFT_MSG_NEWTABLE), REQ, FAMILIES.byName[t.family])
    .attrString(NFT.NFTA_TABLE_NAME, t.name)
    .attrBe32(NFT.NFTA_TABLE_FLAGS, flags);
}
/** NFT_MSG_DELTABLE: the table with its chains and rules (`nft delete table`). */
export function encodeDelTable(family: NftFamily, name: string): MessageWriter {
  return message(nftType(NFT.NFT_MSG_DELTABLE), REQ, FAMILIES.byName[family]).attrString(NFT.NFTA_TABLE_NAME, name);
}

/** The hook number of `hook` in `family`. */
export function hookNumber(family: NftFamily, hook: NftHook): number {
  // Validation admits 'ingress' for the netdev family only.
  return hook === 'ingress' || family === 'netdev' ? NFT.NF_NETDEV_INGRESS : INET_HOOKS.byName[hook];
}

/** NFT_MSG_NEWCHAIN (NLM_F_CREATE, as `nft add chain`): a base chain when `hook` is set. */
export function encodeNewChain(c: NftChainSpec): MessageWriter {
  const w = message(nftType(NFT.NFT_MSG_NEWCHAIN), REQ | NL.NLM_F_CREATE, FAMILIES.byName[c.family])
    .attrString(NFT.NFTA_CHAIN_TABLE, c.table)
    .attrString(NFT.NFTA_CHAIN_NAME, c.name);
  if (c.hook !== undefined) {
    w.attrString(NFT.NFTA_CHAIN_TYPE, c.type ?? 'filter');
    if (c.policy !== undefined) w.attrBe32(NFT.NFTA_CHAIN_POLICY, c.policy === 'accept' ? NFT.NF_ACCEPT : NFT.NF_DROP);
    w.begin(NFT.NFTA_CHAIN_HOOK | NESTED)
      .attrBe32(NFT.NFTA_HOOK_HOOKNUM, hookNumber(c.family, c.hook))
      .attrBe32(NFT.NFTA_HOOK_PRIORITY, c.priority ?? 0);
    if (c.device !== undefined) w.attrString(NFT.NFTA_HOOK_DEV, c.device);
    w.end();
  }
  return w;
}
/** NFT_MSG_DELCHAIN (`nft delete chain`): the chain must hold no rules. */
export function encodeDelChain(family: NftFamily, tableName: string, name: string): MessageWriter {
  return message(nftType(NFT.NFT_MSG_DELCHAIN), REQ, FAMILIES.byName[family])
    .attrString(NFT.NFTA_CHAIN_TABLE, tableName)
    .attrString(NFT.NFTA_CHAIN_NAME, name);
}

/** NFT_MSG_NEWRULE (NLM_F_CREATE|NLM_F_APPEND, as `nft add rule`): appended to the chain. */
export function encodeNewRule(r: NftRuleSpec): MessageWriter {
  const w = message(nftType(NFT.NFT_MSG_NEWRULE), REQ | NL.NLM_F_CREATE | NL.NLM_F_APPEND, FAMILIES.byName[r.family], 0, 1024)
    .attrString(NFT.NFTA_RULE_TABLE, r.table)
    .attrString(NFT.NFTA_RULE_CHAIN, r.chain);
  encodeExprs(w, r.exprs);
  return w;
}
/** NFT_MSG_DELRULE by handle (`nft delete rule FAMILY TABLE CHAIN handle N`). */
export function encodeDelRule(family: NftFamily, tableName: string, chain: string, handle: bigint): MessageWriter {
  return message(nftType(NFT.NFT_MSG_DELRULE), REQ, FAMILIES.byName[family])
    .attrString(NFT.NFTA_RULE_TABLE, tableName)
    .attrString(NFT.NFTA_RULE_CHAIN, chain)
    .attrBe64(NFT.NFTA_RULE_HANDLE, handle);
}

/** A dump of tables, chains or rules; `family` undefined: every family. Chains and rules may be limited to a table (and rules to a chain). */
export function encodeDump(kind: 'table' | 'chain' | 'rule', family?: NftFamily, tableName?: string, chain?: string): MessageWriter {
  const msg = kind === 'table' ? NFT.NFT_MSG_GETTABLE : kind === 'chain' ? NFT.NFT_MSG_GETCHAIN : NFT.NFT_MSG_GETRULE;
  const w = message(nftType(msg), REQ | NL.NLM_F_DUMP, family === undefined ? NFT.NFPROTO_UNSPEC : FAMILIES.byName[family]);
  if (kind === 'chain' && tableName !== undefined) w.attrString(NFT.NFTA_CHAIN_TABLE, tableName);
  if (kind === 'rule' && tableName !== undefined) w.attrString(NFT.NFTA_RULE_TABLE, tableName);
  if (kind === 'rule' && chain !== undefined) w.attrString(NFT.NFTA_RULE_CHAIN, chain);
  return w;
}

function familyOf(m: NlMessage): NftFamily {
  if (m.body.length < NFT.SIZEOF_NFGENMSG) throw new NetlinkDecodeError('nf_tables message shorter than its nfgenmsg', m.offset + 16);
  const f = FAMILIES.byNumber.get(m.body[0]!);
  if (f === undefined) throw new NetlinkDecodeError(`unknown nf_tables family ${m.body[0]}`, m.offset + 16);
  return f;
}
function attrsOf(m: NlMessage) {
  return parseAttrs(m.body, NFT.SIZEOF_NFGENMSG, m.offset + 16);
}
function needStr(a: ReturnType<typeof parseAttrs>, type: number, what: string): string {
  const s = attr.str(a, type);
  if (s === undefined) throw new NetlinkDecodeError(`${what} is missing`, 0);
  return s;
}

/** An NFT_MSG_NEWTABLE from a dump. */
export function decodeTable(m: NlMessage): NftTable {
  const family = familyOf(m);
  const a = attrsOf(m);
  const flags = getBe32(a, NFT.NFTA_TABLE_FLAGS, 'NFTA_TABLE_FLAGS') ?? 0;
  const t: NftTable = {
    family,
    name: needStr(a, NFT.NFTA_TABLE_NAME, 'NFTA_TABLE_NAME'),
    owner: (flags & NFT.NFT_TABLE_F_OWNER) !== 0,
    dormant: (flags & NFT.NFT_TABLE_F_DORMANT) !== 0,
    handle: getBe64(a, NFT.NFTA_TABLE_HANDLE, 'NFTA_TABLE_HANDLE') ?? 0n,
    use: getBe32(a, NFT.NFTA_TABLE_USE, 'NFTA_TABLE_USE') ?? 0,
  };
  const owner = getBe32(a, NFT.NFTA_TABLE_OWNER, 'NFTA_TABLE_OWNER');
  if (owner !== undefined) t.ownerPortId = owner;
  return t;
}

/** An NFT_MSG_NEWCHAIN from a dump. */
export function decodeChain(m: NlMessage): NftChain {
  const family = familyOf(m);
  const a = attrsOf(m);
  const c: NftChain = {
    family,
    table: needStr(a, NFT.NFTA_CHAIN_TABLE, 'NFTA_CHAIN_TABLE'),
    name: needStr(a, NFT.NFTA_CHAIN_NAME, 'NFTA_CHAIN_NAME'),
    handle: getBe64(a, NFT.NFTA_CHAIN_HANDLE, 'NFTA_CHAIN_HANDLE') ?? 0n,
    use: getBe32(a, NFT.NFTA_CHAIN_USE, 'NFTA_CHAIN_USE') ?? 0,
  };
  const hook = a.get(NFT.NFTA_CHAIN_HOOK);
  if (hook !== undefined) {
    const h = parseAttrs(hook);
    const num = getBe32(h, NFT.NFTA_HOOK_HOOKNUM, 'NFTA_HOOK_HOOKNUM');
    if (num !== undefined) {
      const name = family === 'netdev' ? (num === NFT.NF_NETDEV_INGRESS ? 'ingress' : undefined) : INET_HOOKS.byNumber.get(num);
      if (name !== undefined) c.hook = name;
    }
    const prio = getBe32(h, NFT.NFTA_HOOK_PRIORITY, 'NFTA_HOOK_PRIORITY');
    if (prio !== undefined) c.priority = prio | 0;
    const dev = attr.str(h, NFT.NFTA_HOOK_DEV);
    if (dev !== undefined) c.device = dev;
    const type = attr.str(a, NFT.NFTA_CHAIN_TYPE);
    if (type !== undefined && (CHAIN_TYPES as readonly string[]).includes(type)) c.type = type as NftChainType;
    const policy = getBe32(a, NFT.NFTA_CHAIN_POLICY, 'NFTA_CHAIN_POLICY');
    if (policy !== undefined) c.policy = policy === NFT.NF_DROP ? 'drop' : 'accept';
  }
  return c;
}

/** An NFT_MSG_NEWRULE from a dump, with its expressions. */
export function decodeRule(m: NlMessage): NftRule {
  const family = familyOf(m);
  const a = attrsOf(m);
  const list = a.get(NFT.NFTA_RULE_EXPRESSIONS);
  return {
    family,
    table: needStr(a, NFT.NFTA_RULE_TABLE, 'NFTA_RULE_TABLE'),
    chain: needStr(a, NFT.NFTA_RULE_CHAIN, 'NFTA_RULE_CHAIN'),
    handle: getBe64(a, NFT.NFTA_RULE_HANDLE, 'NFTA_RULE_HANDLE') ?? 0n,
    exprs: list === undefined ? [] : decodeExprs(list),
  };
}
