/**
 * Types of `nsbox/net`'s nf_tables API: the objects (re-exported from the codec) and the
 * transaction operations, shaped like `nft -j`'s commands (`{ add: { table: … } }`).
 * @module
 */
import type { NftChain, NftChainSpec, NftFamily, NftRule, NftRuleSpec, NftTable, NftTableSpec } from '../netlink/nft-objects.js';

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

/** A table was added (`new`) or deleted (`del`): NFT_MSG_NEWTABLE / NFT_MSG_DELTABLE. */
export interface NftTableEvent {
  /** Discriminant. */
  type: 'table';
  /** Added or deleted. */
  action: 'new' | 'del';
  /** The table as the notification describes it (`use` as it was then). */
  table: NftTable;
}
/** A chain was added or deleted: NFT_MSG_NEWCHAIN / NFT_MSG_DELCHAIN. */
export interface NftChainEvent {
  /** Discriminant. */
  type: 'chain';
  /** Added or deleted. */
  action: 'new' | 'del';
  /** The chain. */
  chain: NftChain;
}
/** A rule was added or deleted: NFT_MSG_NEWRULE / NFT_MSG_DELRULE (with its expressions and handle). */
export interface NftRuleEvent {
  /** Discriminant. */
  type: 'rule';
  /** Added or deleted. */
  action: 'new' | 'del';
  /** The rule. */
  rule: NftRule;
}
/**
 * A transaction was committed: NFT_MSG_NEWGEN, sent after the notifications of every change
 * it made (`nft monitor`'s `# new generation N by process PID (NAME)`).
 */
export interface NftGenerationEvent {
  /** Discriminant. */
  type: 'generation';
  /** The new generation id (what `NftSession.generation()` returns now). */
  id: number;
  /** The pid of the process whose socket committed it (NFTA_GEN_PROC_PID), as the kernel saw it. */
  pid?: number;
  /** That process's name (NFTA_GEN_PROC_NAME, its `comm`). */
  processName?: string;
}
/**
 * One nf_tables change notification, decoded to the objects the list calls return. Sets,
 * set elements, stateful objects and flowtables are not decoded and not reported.
 */
export type NftEvent = NftTableEvent | NftChainEvent | NftRuleEvent | NftGenerationEvent;
