/**
 * Types of `nsbox/net`'s nf_tables API: the objects (re-exported from the codec) and the
 * transaction operations, shaped like `nft -j`'s commands (`{ add: { table: … } }`).
 * @module
 */
import type { NftChainSpec, NftFamily, NftRuleSpec, NftTableSpec } from '../netlink/nft-objects.js';

export type * from '../netlink/nft-objects.js';

/** Which table to delete (`nft delete table FAMILY NAME`). */
export interface NftTableRef {
  /** The address family. */
  family: NftFamily;
  /** The name. */
  name: string;
}
/** Which chain to delete (`nft delete chain FAMILY TABLE NAME`). */
export interface NftChainRef {
  /** The address family. */
  family: NftFamily;
  /** The table's name. */
  table: string;
  /** The name. */
  name: string;
}
/** Which rule to delete (`nft delete rule FAMILY TABLE CHAIN handle N`). */
export interface NftRuleRef {
  /** The address family. */
  family: NftFamily;
  /** The table's name. */
  table: string;
  /** The chain's name. */
  chain: string;
  /** The kernel's handle (`nft -a` shows it). */
  handle: bigint;
}

/**
 * One operation of a transaction, as `nft -j` writes commands: `{ add: { table } }`,
 * `{ add: { chain } }`, `{ add: { rule } }` (appended), `{ delete: { table|chain|rule } }`.
 */
export type NftOp =
  | {
      /** `nft add table`. */
      add: {
        /** The table. */
        table: NftTableSpec;
      };
    }
  | {
      /** `nft add chain`. */
      add: {
        /** The chain. */
        chain: NftChainSpec;
      };
    }
  | {
      /** `nft add rule` (appended to the chain). */
      add: {
        /** The rule. */
        rule: NftRuleSpec;
      };
    }
  | {
      /** `nft delete table` (with its chains and rules). */
      delete: {
        /** The table. */
        table: NftTableRef;
      };
    }
  | {
      /** `nft delete chain` (it must be empty and unreferenced). */
      delete: {
        /** The chain. */
        chain: NftChainRef;
      };
    }
  | {
      /** `nft delete rule … handle N`. */
      delete: {
        /** The rule. */
        rule: NftRuleRef;
      };
    };

/** Filters of a list: a family, and for chains and rules a table (and for rules a chain). */
export interface NftListQuery {
  /** The address family. */
  family?: NftFamily;
  /** The table's name. */
  table?: string;
  /** The chain's name. */
  chain?: string;
}
