/**
 * nf_tables change notifications as an async iterator: a NETLINK_NETFILTER socket joined to
 * the NFNLGRP_NFTABLES multicast group (`nft monitor`), shaped like {@link events}.
 * @module
 */
import { attr, parseAttrs, type NlMessage } from '../netlink/wire.js';
import { getBe32 } from '../netlink/nft-expr.js';
import { NFT } from '../netlink/nft-constants.js';
import { decodeChain, decodeRule, decodeTable, nftType } from '../netlink/nft.js';
import { monitor, type MonitorIterator, type MonitorOptions } from '../monitor.js';
import type { NftEvent, NftGenerationEvent } from './types.js';

/** Options of {@link nftEvents}: `netns`, and a `signal` that ends the iteration. */
export type NftEventsOptions = MonitorOptions;

/** An async iterator of {@link NftEvent}s that also closes on `close()` and `Symbol.dispose`. */
export type NftEventIterator = MonitorIterator<NftEvent>;

const T = {
  newTable: nftType(NFT.NFT_MSG_NEWTABLE),
  delTable: nftType(NFT.NFT_MSG_DELTABLE),
  newChain: nftType(NFT.NFT_MSG_NEWCHAIN),
  delChain: nftType(NFT.NFT_MSG_DELCHAIN),
  newRule: nftType(NFT.NFT_MSG_NEWRULE),
  delRule: nftType(NFT.NFT_MSG_DELRULE),
  newGen: nftType(NFT.NFT_MSG_NEWGEN),
};

function decodeGeneration(m: NlMessage): NftGenerationEvent {
  const a = parseAttrs(m.body, NFT.SIZEOF_NFGENMSG, m.offset + 16);
  const e: NftGenerationEvent = { type: 'generation', id: getBe32(a, NFT.NFTA_GEN_ID, 'NFTA_GEN_ID') ?? 0 };
  const pid = getBe32(a, NFT.NFTA_GEN_PROC_PID, 'NFTA_GEN_PROC_PID');
  if (pid !== undefined) e.pid = pid;
  const name = attr.str(a, NFT.NFTA_GEN_PROC_NAME);
  if (name !== undefined) e.processName = name;
  return e;
}

/** One notification as an event; undefined for the kinds not decoded (sets, objects, flowtables). @internal */
export function decodeNftEvent(m: NlMessage): NftEvent | undefined {
  switch (m.type) {
    case T.newTable:
    case T.delTable:
      return { type: 'table', action: m.type === T.newTable ? 'new' : 'del', table: decodeTable(m) };
    case T.newChain:
    case T.delChain:
      return { type: 'chain', action: m.type === T.newChain ? 'new' : 'del', chain: decodeChain(m) };
    case T.newRule:
    case T.delRule:
      return { type: 'rule', action: m.type === T.newRule ? 'new' : 'del', rule: decodeRule(m) };
    case T.newGen:
      return decodeGeneration(m);
    default:
      return undefined;
  }
}

/**
 * Listens for nf_tables changes in a namespace: tables, chains and rules added or deleted,
 * and the generation each committed transaction ends with (NFNLGRP_NFTABLES on a
 * NETLINK_NETFILTER socket). Replaces `nft monitor` (`nft -j monitor`). Listening starts when
 * this returns: the changes of every transaction committed after the call are reported, in
 * commit order, each transaction's changes in its own order followed by its `generation`
 * event; changes made by any socket or process in the namespace, this process's included.
 * A table deleted with its chains and rules is reported as their deletions, then the table's.
 * The socket keeps the event loop alive until the iterator is closed (`break` out of
 * `for await`, `return()`, `close()`, `Symbol.dispose` or the `signal`).
 *
 * Needs CAP_NET_ADMIN in the user namespace owning the network namespace (nfnetlink lets only
 * it join multicast groups); a rootless caller has it in a namespace of its own making.
 * Does not touch the calling thread (the socket is made on a dedicated native thread).
 * @throws synchronously: `ERR_INVALID_ARG_TYPE`; `ABORT_ERR` if `signal` is already aborted;
 * SysError (`'setns'`, `'socket'`, `'bind'` — `EPERM` without CAP_NET_ADMIN).
 * From `next()`: SysError `ENOBUFS` (syscall `'recvmsg'`) when the kernel dropped
 * notifications because they were not read fast enough; `NetlinkDecodeError`; an
 * `AbortError` (`code` `'ABORT_ERR'`) once `signal` aborts.
 */
export function nftEvents(options: NftEventsOptions = {}): NftEventIterator {
  // nl_groups is a bitmask of groups 1..32: group N is bit N-1 (netlink(7)).
  return monitor(options, 1 << (NFT.NFNLGRP_NFTABLES - 1), NFT.NETLINK_NETFILTER, decodeNftEvent);
}
