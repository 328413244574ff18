/**
 * Types of `nsbox/net`'s nf_tables API: the objects (re-exported from the codec) and the
 * transaction operations, shaped like `nft -j`'s commands (`{ add: { table: … } }`).
 * @module
 */
import type { NftChainSpec, NftFamily, NftRuleSpec, NftTableSpec } from '../netlink/nft-objects.js';

export type * from '../netlink/nft-objects.js';

/** Which table to delete (`nft delete table FAMILY NAME`). */
export interface NftTableRef {
  family: NftFamily;
  name: string;
}
/** Which chain to delete (`nft delete chain FAMILY TABLE NAME`). */
export interface NftChainRef {
  family: NftFamily;
  table: string;
  name: string;
}
/** Which rule to delete (`nft delete rule FAMILY TABLE CHAIN handle N`). */
export interface NftRuleRef {
  family: NftFamily;
  table: string;
  chain: string;
  handle: bigint;
}

/**
 * One operation of a transaction, as `nft -j` writes commands: `{ add: { table } }`,
 * `{ add: { chain } }`, `{ add: { rule } }` (appended), `{ delete: { table|chain|rule } }`.
 */
export type NftOp =
  | { add: { table: NftTableSpec } }
  | { add: { chain: NftChainSpec } }
  | { add: { rule: NftRuleSpec } }
  | { delete: { table: NftTableRef } }
  | { delete: { chain: NftChainRef } }
  | { delete: { rule: NftRuleRef } };

/** Filters of a list: a family, and for chains and rules a table (and for rules a chain). */
export interface NftListQuery {
  family?: NftFamily;
  table?: string;
  chain?: string;
}
