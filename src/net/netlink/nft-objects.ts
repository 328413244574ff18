/**
 * The nf_tables objects as `nsbox/net` builds and returns them (re-exported by
 * src/net/nft/types.ts): tables, chains, rules and the expressions rules are made of, in the
 * kernel's own model (registers, payload offsets), the one `nft --debug=netlink` prints.
 * Specs (what a caller asks for) and results (what a list returns) share these shapes; a
 * result adds the kernel's `handle`. Wire-level types: nothing here depends on the layers above.
 * @module
 */

/** An nf_tables address family (`nft add table FAMILY NAME`). */
export type NftFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

/** A base chain's hook (`hook prerouting|input|forward|output|postrouting|ingress`). */
export type NftHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress';

/** A base chain's type (`type filter|nat|route`). */
export type NftChainType = 'filter' | 'nat' | 'route';

/** A terminal or jump verdict, as `nft` writes it. */
export type NftVerdict =
  | 'accept'
  | 'drop'
  | 'continue'
  | 'return'
  | {
      /** Continue in this chain, then come back (`jump CHAIN`). */
      jump: string;
    }
  | {
      /** Continue in this chain, without coming back (`goto CHAIN`). */
      goto: string;
    };

/**
 * A register: 0 is the verdict register; 1–4 are the 16-byte registers (`reg 1` in
 * `nft --debug=netlink`); 8–23 the 4-byte ones (NFT_REG32_00–15).
 */
export type NftRegister = number;

/** `meta` keys (nft's `meta KEY`, `iifname`, `oifname`, …). */
export type NftMetaKey =
  | 'len'
  | 'protocol'
  | 'mark'
  | 'iif'
  | 'oif'
  | 'iifname'
  | 'oifname'
  | 'iiftype'
  | 'oiftype'
  | 'nfproto'
  | 'l4proto'
  | 'pkttype';

/** `ct` keys (`ct state`, `ct status`, `ct direction`, `ct mark`). */
export type NftCtKey = 'state' | 'direction' | 'status' | 'mark';

/** `cmp` operators. */
export type NftCmpOp = 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte';

/** Header a `payload` expression reads from. */
export type NftPayloadBase = 'll' | 'network' | 'transport';

/** NF_NAT_RANGE_* flags of `nat` and `masq` (`dnat to … persistent`, `masquerade random`). */
export type NftNatFlag = 'map-ips' | 'proto-specified' | 'random' | 'persistent' | 'random-fully';

/** `fib` inputs (`fib saddr . iif`, `fib daddr`) and the `present` test (`… missing`/`exists`). */
export type NftFibFlag = 'saddr' | 'daddr' | 'mark' | 'iif' | 'oif' | 'present';

/** `fib` results: `oif`, `oifname`, or the address `type` (an RTN_* number). */
export type NftFibResult = 'oif' | 'oifname' | 'addrtype';

/** `meta load KEY => reg N`. */
export interface NftMetaExpr {
  /** The expression kind. */
  type: 'meta';
  /** What to load. */
  key: NftMetaKey;
  /** The destination register. */
  dreg: NftRegister;
}
/** `payload load LEN @ BASE header + OFFSET => reg N`. */
export interface NftPayloadExpr {
  /** The expression kind. */
  type: 'payload';
  /** The header. */
  base: NftPayloadBase;
  /** Byte offset in the header. */
  offset: number;
  /** The length in bytes. */
  len: number;
  /** The destination register. */
  dreg: NftRegister;
}
/** `cmp OP reg N DATA`: compares a register with bytes (network order for header fields). */
export interface NftCmpExpr {
  /** The expression kind. */
  type: 'cmp';
  /** The comparison. */
  op: NftCmpOp;
  /** The source register. */
  sreg: NftRegister;
  /** The bytes. */
  data: Uint8Array;
}
/** `bitwise reg D = (reg S & MASK) ^ XOR` over `len` bytes (a prefix match, a flag test). */
export interface NftBitwiseExpr {
  /** The expression kind. */
  type: 'bitwise';
  /** The source register. */
  sreg: NftRegister;
  /** The destination register. */
  dreg: NftRegister;
  /** The length in bytes. */
  len: number;
  /** ANDed with the register. */
  mask: Uint8Array;
  /** XORed after the mask. */
  xor: Uint8Array;
}
/** `immediate reg N DATA`: loads bytes into a data register. */
export interface NftImmediateExpr {
  /** The expression kind. */
  type: 'immediate';
  /** The destination register. */
  dreg: NftRegister;
  /** The bytes. */
  data: Uint8Array;
}
/** `immediate reg 0 VERDICT`: the rule's verdict (`accept`, `drop`, `jump CHAIN`, …). */
export interface NftVerdictExpr {
  /** The expression kind. */
  type: 'verdict';
  /** The verdict. */
  verdict: NftVerdict;
}
/** `nat snat|dnat FAMILY addr_min reg A proto_min reg P flags F`. */
export interface NftNatExpr {
  /** The expression kind. */
  type: 'nat';
  /** Source or destination NAT. */
  nat: 'snat' | 'dnat';
  /** The address family. */
  family: 'ip' | 'ip6';
  /** Register with the lowest address. */
  addrMin?: NftRegister;
  /** Register with the highest address. */
  addrMax?: NftRegister;
  /** Register with the lowest port. */
  protoMin?: NftRegister;
  /** Register with the highest port. */
  protoMax?: NftRegister;
  /** The flags, by name. */
  flags?: NftNatFlag[];
}
/** `masq`: source NAT to the outgoing interface's address. */
export interface NftMasqExpr {
  /** The expression kind. */
  type: 'masq';
  /** Register with the lowest port. */
  protoMin?: NftRegister;
  /** Register with the highest port. */
  protoMax?: NftRegister;
  /** The flags, by name. */
  flags?: NftNatFlag[];
}
/** `fib FLAGS RESULT => reg N`: a routing lookup (`fib daddr type local`). */
export interface NftFibExpr {
  /** The expression kind. */
  type: 'fib';
  /** The flags, by name. */
  flags: NftFibFlag[];
  /** What the lookup yields. */
  result: NftFibResult;
  /** The destination register. */
  dreg: NftRegister;
}
/** `ct load KEY => reg N`. */
export interface NftCtExpr {
  /** The expression kind. */
  type: 'ct';
  /** What to load. */
  key: NftCtKey;
  /** The destination register. */
  dreg: NftRegister;
  /** The connection direction of the key (`ct original|reply …`). */
  direction?: 'original' | 'reply';
}
/** `counter packets P bytes B` (counts start at the given values, 0 by default). */
export interface NftCounterExpr {
  /** The expression kind. */
  type: 'counter';
  /** Packets counted. */
  packets?: bigint;
  /** Bytes counted. */
  bytes?: bigint;
}
/** `lookup reg N set NAME`: a set membership test (`invert`: `!=`). */
export interface NftLookupExpr {
  /** The expression kind. */
  type: 'lookup';
  /** The set's name. */
  set: string;
  /** The source register. */
  sreg: NftRegister;
  /** The destination register. */
  dreg?: NftRegister;
  /** Match when the key is not in the set. */
  invert?: boolean;
}
/** Any other expression, kept as its name and raw NFTA_EXPR_DATA, so a list never fails on a rule others made. */
export interface NftOtherExpr {
  /** The expression kind. */
  type: 'other';
  /** The name. */
  name: string;
  /** The bytes. */
  data: Uint8Array;
}

/** One expression of a rule. */
export type NftExpr =
  | NftMetaExpr
  | NftPayloadExpr
  | NftCmpExpr
  | NftBitwiseExpr
  | NftImmediateExpr
  | NftVerdictExpr
  | NftNatExpr
  | NftMasqExpr
  | NftFibExpr
  | NftCtExpr
  | NftCounterExpr
  | NftLookupExpr
  | NftOtherExpr;

/** A table to add (`nft add table FAMILY NAME { flags owner; }`). */
export interface NftTableSpec {
  /** The address family. */
  family: NftFamily;
  /** The name. */
  name: string;
  /**
   * NFT_TABLE_F_OWNER: the table belongs to the socket that made it; only that socket may
   * change it, and the kernel deletes it when the socket closes (even at SIGKILL).
   */
  owner?: boolean;
  /** NFT_TABLE_F_DORMANT: the table's base chains are not attached to their hooks. */
  dormant?: boolean;
}

/** A table as the kernel lists it. */
export interface NftTable extends NftTableSpec {
  owner: boolean;
  dormant: boolean;
  /** The kernel's handle for the table. */
  handle: bigint;
  /** How many chains, sets and objects use it. */
  use: number;
  /** The netlink port id of the owning socket, for an owned table. */
  ownerPortId?: number;
}

/** A chain to add: a base chain when `hook` is set (`{ type T hook H priority P; policy X; }`). */
export interface NftChainSpec {
  /** The address family. */
  family: NftFamily;
  /** The table's name. */
  table: string;
  /** The name. */
  name: string;
  /** Base chains: the chain type (default `'filter'`). */
  type?: NftChainType;
  /** The hook. */
  hook?: NftHook;
  /** Base chains: the priority (`dstnat` is -100, `filter` 0, `srcnat` 100). Default 0. */
  priority?: number;
  /** Base chains: the verdict when no rule decides (default `'accept'`). */
  policy?: 'accept' | 'drop';
  /** Netdev ingress chains: the device. */
  device?: string;
}

/** A chain as the kernel lists it. */
export interface NftChain extends NftChainSpec {
  /** The kernel's handle (`nft -a` shows it). */
  handle: bigint;
  /** How many rules and jumps use it. */
  use: number;
}

/** A rule to append to a chain (`nft add rule FAMILY TABLE CHAIN …`). */
export interface NftRuleSpec {
  /** The address family. */
  family: NftFamily;
  /** The table's name. */
  table: string;
  /** The chain's name. */
  chain: string;
  /** The expressions, in order. */
  exprs: NftExpr[];
}

/** A rule as the kernel lists it. */
export interface NftRule extends NftRuleSpec {
  /** The kernel's handle (`nft -a` shows it). */
  handle: bigint;
}
