/**
 * An nf_tables session: one NETLINK_NETFILTER socket in a chosen network namespace, made
 * by a dedicated native thread inside it (the socket stays bound to that namespace), with
 * atomic transactions and typed lists — `nft` as a library.
 * @module
 */
import { SysError, handleClosed, invalidArgType, invalidArgValue } from '../../errors.js';
import { NFT } from '../netlink/nft-constants.js';
import {
  decodeChain,
  decodeGen,
  decodeRule,
  decodeTable,
  encodeBatchBegin,
  encodeBatchEnd,
  encodeDelChain,
  encodeDelRule,
  encodeDelTable,
  encodeDump,
  encodeGetGen,
  encodeNewChain,
  encodeNewRule,
  encodeNewTable,
  nftType,
} from '../netlink/nft.js';
import { RtnlSocket } from '../netlink/socket.js';
import type { MessageWriter } from '../netlink/wire.js';
import { holdNetns } from '../target.js';
import type { NetnsOptions } from '../types.js';
import type { NftChain, NftListQuery, NftOp, NftRule, NftTable } from './types.js';
import { checkFamily, checkNftName, checkOp } from './validate.js';

/** The message and the `nft` command of one operation. */
export function encodeOp(op: NftOp): { msg: MessageWriter; syscall: string; nft: string } {
  if ('add' in op) {
    const a = op.add;
    if ('table' in a)
      return { msg: encodeNewTable(a.table), syscall: 'NFT_MSG_NEWTABLE', nft: `add table ${a.table.family} ${a.table.name}` };
    if ('chain' in a)
      return {
        msg: encodeNewChain(a.chain),
        syscall: 'NFT_MSG_NEWCHAIN',
        nft: `add chain ${a.chain.family} ${a.chain.table} ${a.chain.name}`,
      };
    return { msg: encodeNewRule(a.rule), syscall: 'NFT_MSG_NEWRULE', nft: `add rule ${a.rule.family} ${a.rule.table} ${a.rule.chain}` };
  }
  const d = op.delete;
  if ('table' in d)
    return {
      msg: encodeDelTable(d.table.family, d.table.name),
      syscall: 'NFT_MSG_DELTABLE',
      nft: `delete table ${d.table.family} ${d.table.name}`,
    };
  if ('chain' in d)
    return {
      msg: encodeDelChain(d.chain.family, d.chain.table, d.chain.name),
      syscall: 'NFT_MSG_DELCHAIN',
      nft: `delete chain ${d.chain.family} ${d.chain.table} ${d.chain.name}`,
    };
  const r = d.rule;
  return {
    msg: encodeDelRule(r.family, r.table, r.chain, r.handle),
    syscall: 'NFT_MSG_DELRULE',
    nft: `delete rule ${r.family} ${r.table} ${r.chain} handle ${r.handle}`,
  };
}

/**
 * The messages of a transaction: NFNL_MSG_BATCH_BEGIN, one message per operation, and
 * NFNL_MSG_BATCH_END (what `nft -f` sends for the same commands).
 */
export function encodeTransaction(ops: readonly NftOp[]): { msgs: MessageWriter[]; info: { syscall: string; nft: string }[] } {
  const enc = ops.map(encodeOp);
  return { msgs: [encodeBatchBegin(), ...enc.map((e) => e.msg), encodeBatchEnd()], info: enc };
}

/**
 * An nf_tables socket in one network namespace. Made by {@link openNftables}. Tables it
 * creates with `owner: true` belong to it: only it may change them, and the kernel deletes
 * them when it is closed — by {@link NftSession.close}, by the process exiting, or by a
 * SIGKILL. It does not keep the event loop alive while idle.
 */
export class NftSession {
  #sock: RtnlSocket | null;

  /** @internal */
  constructor(sock: RtnlSocket) {
    this.#sock = sock;
  }

  #socket(): RtnlSocket {
    if (!this.#sock) throw handleClosed('nftables session');
    return this.#sock;
  }

  /** The socket's netlink port id: what `nft list tables` shows as an owned table's owner (`# progname …`). */
  get portId(): number {
    return this.#socket().portId;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#sock === null;
  }

  /**
   * Applies `ops` atomically: one batch (NFNL_MSG_BATCH_BEGIN … END) in one sendto(2); the
   * kernel commits every operation or none. Replaces `nft -f FILE` (and each `nft add|delete`
   * command). Needs CAP_NET_ADMIN in the user namespace owning the network namespace.
   * Does not block: the kernel handles the batch inside sendto(2) and the answers are read
   * from the event loop.
   * @throws `ERR_INVALID_ARG_*` for a malformed operation, before anything is sent.
   * SysError for the first operation the kernel refused: `syscall` its message
   * (`'NFT_MSG_NEWRULE'`), `nftOp` the `nft` command, `nftIndex` its position, `kernelMessage`;
   * codes `ENOENT` (no such table/chain), `EEXIST`, `EBUSY` (chain in use), `EPERM` (a table
   * another socket owns; or no CAP_NET_ADMIN, then with syscall `'NFNL_MSG_BATCH_BEGIN'`),
   * `EOPNOTSUPP` (an expression this kernel lacks), `EINVAL`.
   */
  async commit(ops: readonly NftOp[]): Promise<void> {
    if (!Array.isArray(ops)) throw invalidArgType('ops', 'an array', ops);
    for (const [i, op] of ops.entries()) checkOp(`ops[${i}]`, op);
    const sock = this.#socket();
    if (ops.length === 0) return;
    const { msgs, info } = encodeTransaction(ops);
    const slots = sock.sendBatch(msgs);
    try {
      // The fence: answered after every reply to the batch (see RtnlSocket.sendBatch).
      await sock.request(encodeGetGen(), { syscall: 'NFT_MSG_GETGEN' });
    } finally {
      sock.dropSlots(slots);
    }
    for (let i = 1; i < slots.length - 1; i++) {
      const e = slots[i]!.error;
      if (e && e.error !== 0) {
        const ctx: { kernelMessage?: string; nftOp: string; nftIndex: number } = { nftOp: info[i - 1]!.nft, nftIndex: i - 1 };
        if (e.message) ctx.kernelMessage = e.message;
        throw new SysError(e.error, info[i - 1]!.syscall, ctx);
      }
    }
    const begin = slots[0]!.error ?? slots[slots.length - 1]!.error;
    if (begin && begin.error !== 0)
      throw new SysError(begin.error, 'NFNL_MSG_BATCH_BEGIN', begin.message ? { kernelMessage: begin.message } : {});
  }

  async #dump<T>(kind: 'table' | 'chain' | 'rule', q: NftListQuery, decode: (m: never) => T): Promise<T[]> {
    if (q === null || typeof q !== 'object') throw invalidArgType('query', 'of type object', q);
    if (q.family !== undefined) checkFamily('query.family', q.family);
    if (q.table !== undefined) checkNftName('query.table', q.table);
    if (q.chain !== undefined) {
      checkNftName('query.chain', q.chain);
      if (q.table === undefined) throw invalidArgValue('query.chain', q.chain, 'needs query.table');
    }
    const sock = this.#socket();
    const msg = encodeDump(kind, q.family, q.table, q.chain);
    const type = nftType(kind === 'table' ? NFT.NFT_MSG_NEWTABLE : kind === 'chain' ? NFT.NFT_MSG_NEWCHAIN : NFT.NFT_MSG_NEWRULE);
    const parts = await sock.request(msg, {
      syscall: kind === 'table' ? 'NFT_MSG_GETTABLE' : kind === 'chain' ? 'NFT_MSG_GETCHAIN' : 'NFT_MSG_GETRULE',
    });
    let out = parts.filter((m) => m.type === type).map((m) => decode(m as never));
    // The kernel filters chains by table only for a given family; filter here too.
    if (kind === 'chain' && q.table !== undefined) out = out.filter((c) => (c as NftChain).table === q.table);
    return out;
  }

  /**
   * The tables: NFT_MSG_GETTABLE dump. Replaces `nft -j list tables [FAMILY]`. No privileges
   * beyond being able to open the socket.
   * @throws SysError (syscall `'NFT_MSG_GETTABLE'`); `ERR_HANDLE_CLOSED`.
   */
  tables(query: Pick<NftListQuery, 'family'> = {}): Promise<NftTable[]> {
    return this.#dump('table', query, decodeTable);
  }

  /**
   * The chains, of one table if asked: NFT_MSG_GETCHAIN dump. Replaces `nft -j list chains`.
   * @throws SysError (syscall `'NFT_MSG_GETCHAIN'`, `ENOENT` for a missing table).
   */
  chains(query: Pick<NftListQuery, 'family' | 'table'> = {}): Promise<NftChain[]> {
    return this.#dump('chain', query, decodeChain);
  }

  /**
   * The rules with their expressions, of one table or chain if asked: NFT_MSG_GETRULE
   * dump. Replaces `nft -j -a list table|chain …` (with handles).
   * @throws SysError (syscall `'NFT_MSG_GETRULE'`, `ENOENT` for a missing table or chain).
   */
  rules(query: NftListQuery = {}): Promise<NftRule[]> {
    return this.#dump('rule', query, decodeRule);
  }

  /** The ruleset's generation id (NFT_MSG_GETGEN); it changes with every commit. */
  async generation(): Promise<number> {
    const [m] = await this.#socket().request(encodeGetGen(), { syscall: 'NFT_MSG_GETGEN' });
    return m === undefined ? 0 : decodeGen(m);
  }

  /**
   * Closes the socket; the kernel deletes the tables it owns, inside close(2) (which waits
   * for an RCU grace period when there are some: up to a few milliseconds on the calling
   * thread). Idempotent. Pending requests reject with `ERR_HANDLE_CLOSED`.
   */
  close(): void {
    const s = this.#sock;
    this.#sock = null;
    s?.close();
  }

  /**
   * Closes the socket on a detached thread, so the event loop does not wait in close(2).
   * Tables it owns then vanish a moment later rather than on return; delete them first
   * when that matters (as {@link NatHandle.close} does). @internal
   */
  closeInBackground(): void {
    const s = this.#sock;
    this.#sock = null;
    s?.close(true);
  }

  /** Same as {@link NftSession.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Opens an nf_tables session in `options.netns` (default: the caller's namespace). The
 * socket is made on a dedicated native thread inside the namespace, so neither the calling
 * thread nor a libuv thread ever enters it. Synchronous (a socket(2) on the thread kept for
 * network namespace work, which goes back to the caller's namespace after it); does not keep
 * the event loop alive.
 * @throws `ERR_INVALID_ARG_*` for a bad `netns`; SysError `setns`/`socket` (`EPERM`, `ENOENT`).
 */
export function openNftables(options: NetnsOptions = {}): NftSession {
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  const held = holdNetns('options.netns', options.netns);
  try {
    return nftablesAt(held.fd);
  } finally {
    held.release();
  }
}

/** A session in the namespace of `nsFd` (-1: the caller's). @internal */
export function nftablesAt(nsFd: number): NftSession {
  return new NftSession(new RtnlSocket(nsFd, 0, undefined, undefined, NFT.NETLINK_NETFILTER));
}
