/**
 * A NETLINK_ROUTE (or NETLINK_NETFILTER) socket in a chosen network namespace (csrc/netlink.cc owns the fd and its
 * libuv poll handle): numbers requests, matches replies by sequence number, assembles
 * multi-part dumps until NLMSG_DONE, turns NLMSG_ERROR into a SysError with the kernel's
 * extended-ACK text, and hands multicast messages (sequence 0) to a listener.
 * No thread waits: a request is one sendto(2); replies arrive as readable events.
 * @internal
 * @module
 */
import { SysError, handleClosed, type SysErrorContext } from '../../errors.js';
import { native, type NativeNetlinkSocket } from '../../native.js';
import { NL } from './constants.js';
import { decodeDone, decodeError, splitMessages, type MessageWriter, type NlMessage, type NlError } from './wire.js';

interface Pending {
  resolve: (msgs: NlMessage[]) => void;
  reject: (err: Error) => void;
  parts: NlMessage[];
  dump: boolean;
  /** NLM_F_ECHO: the kernel's copy of the change comes first, its ACK ends the request. */
  echo: boolean;
  syscall: string;
  context: SysErrorContext;
  /** The request, kept for a dump the kernel reports as interrupted. */
  msg: MessageWriter;
  /** A part carried NLM_F_DUMP_INTR: the table changed during the dump. */
  interrupted: boolean;
  retries: number;
}

/** How often a dump the kernel marks inconsistent (NLM_F_DUMP_INTR) is started again. */
const DUMP_RETRIES = 5;

/** What a request says about itself for its error: the operation (`'RTM_NEWLINK'`) and an interface. */
export interface RequestInfo {
  syscall: string;
  ifname?: string;
}

/** A refused request as a SysError (`kernelMessage`: the extended ACK's text). */
export function toSysError(e: NlError, info: RequestInfo): SysError {
  const ctx: SysErrorContext = {};
  if (info.ifname !== undefined) ctx.ifname = info.ifname;
  if (e.message !== undefined && e.message !== '') ctx.kernelMessage = e.message;
  return new SysError(e.error, info.syscall, ctx);
}

let nextSeq = (Date.now() >>> 0) & 0x7fffffff || 1;

/** What the kernel answered to one message of a batch: its echoed messages, and its error if it refused it. */
export interface BatchSlot {
  parts: NlMessage[];
  error?: NlError;
}

/** One netlink socket. Close it when done; pending requests then reject with ERR_HANDLE_CLOSED. */
export class RtnlSocket {
  #native: NativeNetlinkSocket | null;
  #pending = new Map<number, Pending>();
  #slots = new Map<number, BatchSlot>();
  #onEvent: ((msg: NlMessage) => void) | undefined;
  #onError: ((err: Error) => void) | undefined;
  #refd = true;
  #refQueued = false;
  #portId = 0;

  /**
   * @param nsFd - a network namespace fd, or -1 for the caller's; the socket is made on a
   * dedicated native thread inside it and stays bound to it.
   * @param groups - RTMGRP_* multicast groups to join (0: requests only).
   * @param protocol - NETLINK_ROUTE (default) or NETLINK_NETFILTER.
   * @param made - an unbound NETLINK_ROUTE socket already open in the namespace (see
   * takeRtnlSocket), taken over instead of a thread trip; -1 or undefined: none.
   */
  constructor(
    nsFd: number,
    groups = 0,
    onEvent?: (msg: NlMessage) => void,
    onError?: (err: Error) => void,
    protocol?: number,
    made?: number,
  ) {
    this.#onEvent = onEvent;
    this.#onError = onError;
    const receive = (dgram: Buffer | null, errno?: number) => this.#receive(dgram, errno);
    this.#native =
      made !== undefined && made >= 0
        ? new native.NetlinkSocket(nsFd, groups, receive, protocol, made)
        : new native.NetlinkSocket(nsFd, groups, receive, protocol);
    this.#portId = this.#native.portId;
    if (!onEvent) this.#setRef(false);
  }

  #setRef(on: boolean): void {
    if (this.#refd !== on && this.#native) {
      const errno = this.#native.ref(on);
      if (errno) {
        this.#failAll(new SysError(errno, 'uv_poll_start'));
        return;
      }
      this.#refd = on;
    }
  }

  /**
   * Refs the socket (and so starts its polling, natively, the first time) once the code that
   * sent has run, if a request still waits: rtnetlink answers inside sendto(2), and a caller
   * that reads those answers at once (pump) settles its requests without the loop, so a
   * socket used that way never gets a poll handle. A microtask runs before the loop polls
   * again, so no answer can be missed.
   */
  #refSoon(): void {
    if (this.#refd || this.#refQueued) return;
    this.#refQueued = true;
    queueMicrotask(() => {
      this.#refQueued = false;
      if (this.#pending.size > 0) this.#setRef(true);
    });
  }

  #receive(dgram: Buffer | null, errno?: number): void {
    if (dgram === null) {
      const err = new SysError(errno ?? 0, 'recvmsg');
      if (this.#onError) this.#onError(err);
      for (const [seq, p] of this.#pending) {
        this.#pending.delete(seq);
        p.reject(err);
      }
      return;
    }
    let msgs: NlMessage[];
    try {
      msgs = splitMessages(dgram);
    } catch (err) {
      // A datagram we cannot parse: every waiting request fails with the decode error.
      this.#failAll(err as Error);
      return;
    }
    for (const m of msgs) {
      // A message of a batch (sendBatch): its error, or what the kernel echoed for it.
      const slot = m.pid === this.#portId ? this.#slots.get(m.seq) : undefined;
      if (slot) {
        try {
          if (m.type === NL.NLMSG_ERROR) slot.error = decodeError(m);
          else if (m.type !== NL.NLMSG_NOOP && m.type !== NL.NLMSG_DONE) slot.parts.push(m);
        } catch (err) {
          slot.error = { error: -22, message: (err as Error).message };
        }
        continue;
      }
      // A reply carries our port id and the request's sequence number. A multicast
      // notification carries the port id and sequence number of whoever caused the change
      // (an `ip` process, or 0 for the kernel itself), so those two decide, not seq === 0.
      const p = m.pid === this.#portId ? this.#pending.get(m.seq) : undefined;
      if (!p) {
        if (this.#onEvent) this.#onEvent(m);
        continue;
      }
      try {
        if (m.type === NL.NLMSG_ERROR) {
          const e = decodeError(m);
          this.#settle(m.seq);
          if (e.error === 0) p.resolve(p.parts);
          else p.reject(toSysError(e, { syscall: p.syscall, ...p.context }));
        } else if (m.type === NL.NLMSG_DONE) {
          const e = decodeDone(m);
          this.#settle(m.seq);
          if (e.error === 0 && (p.interrupted || m.flags & NL.NLM_F_DUMP_INTR) && p.retries < DUMP_RETRIES) {
            // The table changed while it was dumped, so the parts may be inconsistent
            // (netlink(7) NLM_F_DUMP_INTR): dump again, as `ip` would advise.
            this.#send(p.msg, { ...p, parts: [], interrupted: false, retries: p.retries + 1 });
          } else if (e.error === 0) p.resolve(p.parts);
          else p.reject(toSysError(e, { syscall: p.syscall, ...p.context }));
        } else if (m.type === NL.NLMSG_NOOP) {
          // nothing
        } else {
          p.parts.push(m);
          if (m.flags & NL.NLM_F_DUMP_INTR) p.interrupted = true;
          if (!p.dump && !p.echo && !(m.flags & NL.NLM_F_MULTI)) {
            // A single reply (RTM_GETLINK by name) ends the request; no ACK follows.
            this.#settle(m.seq);
            p.resolve(p.parts);
          }
        }
      } catch (err) {
        this.#settle(m.seq);
        p.reject(err as Error);
      }
    }
  }

  #settle(seq: number): void {
    this.#pending.delete(seq);
    if (this.#pending.size === 0 && !this.#onEvent) this.#setRef(false);
  }

  #failAll(err: Error): void {
    for (const [seq, p] of this.#pending) {
      this.#settle(seq);
      p.reject(err);
    }
    if (this.#onError) this.#onError(err);
  }

  /**
   * Sends `msg` and resolves with the messages of the reply: the parts of a dump (until
   * NLMSG_DONE), the single answer of a get, nothing for an ACKed change, or for a change
   * with NLM_F_ECHO the kernel's copy of it (until the ACK).
   */
  request(msg: MessageWriter, info: RequestInfo): Promise<NlMessage[]> {
    if (!this.#native) return Promise.reject(handleClosed('netlink socket'));
    return new Promise((resolve, reject) => {
      const context: SysErrorContext = {};
      if (info.ifname !== undefined) context.ifname = info.ifname;
      const dump = (msg.flags & NL.NLM_F_DUMP) === NL.NLM_F_DUMP;
      const echo = (msg.flags & NL.NLM_F_ECHO) !== 0;
      this.#send(msg, { resolve, reject, parts: [], dump, echo, syscall: info.syscall, context, msg, interrupted: false, retries: 0 });
    });
  }

  /**
   * Sends `requests` as one datagram (the kernel handles its messages in order, inside one
   * sendto(2)) and returns a promise per request, as {@link RtnlSocket.request} would.
   */
  requestMany(requests: ReadonlyArray<readonly [MessageWriter, RequestInfo]>): Array<Promise<NlMessage[]>> {
    if (!this.#native) return requests.map(() => Promise.reject(handleClosed('netlink socket')));
    const bufs: Buffer[] = [];
    const seqs: number[] = [];
    const promises = requests.map(
      ([msg, info]) =>
        new Promise<NlMessage[]>((resolve, reject) => {
          let seq = nextSeq;
          nextSeq = nextSeq >= 0x7fffffff ? 1 : nextSeq + 1;
          if (seq === 0) seq = 1;
          const context: SysErrorContext = {};
          if (info.ifname !== undefined) context.ifname = info.ifname;
          const dump = (msg.flags & NL.NLM_F_DUMP) === NL.NLM_F_DUMP;
          const echo = (msg.flags & NL.NLM_F_ECHO) !== 0;
          bufs.push(msg.finish(seq, 0));
          seqs.push(seq);
          this.#pending.set(seq, {
            resolve,
            reject,
            parts: [],
            dump,
            echo,
            syscall: info.syscall,
            context,
            msg,
            interrupted: false,
            retries: 0,
          });
        }),
    );
    const errno = this.#native.send(Buffer.concat(bufs));
    if (errno !== 0) {
      for (const seq of seqs) {
        const p = this.#pending.get(seq);
        this.#pending.delete(seq);
        p?.reject(new SysError(errno, 'sendto'));
      }
    } else this.#refSoon();
    return promises;
  }

  /**
   * Handles the answers already queued now instead of on the next event-loop turn: rtnetlink
   * answers a request inside sendto(2), so right after a request its promise can settle
   * without a round trip through the loop. Idempotent; nothing once closed.
   */
  pump(): void {
    if (!this.#native) return;
    for (const d of this.#native.receiveNow()) {
      if (typeof d === 'number') this.#receive(null, d);
      else this.#receive(d);
      if (!this.#native) return;
    }
  }

  /** Numbers and sends `msg`, registering `p` under its sequence number. */
  #send(msg: MessageWriter, p: Pending): void {
    if (!this.#native) {
      p.reject(handleClosed('netlink socket'));
      return;
    }
    let seq = nextSeq;
    nextSeq = nextSeq >= 0x7fffffff ? 1 : nextSeq + 1;
    if (seq === 0) seq = 1;
    const errno = this.#native.send(msg.finish(seq, 0));
    if (errno !== 0) {
      p.reject(new SysError(errno, 'sendto'));
      return;
    }
    this.#pending.set(seq, p);
    this.#refSoon();
  }

  /**
   * Sends `msgs` as one datagram, numbered consecutively, and returns a slot per message that
   * collects the kernel's answers to it (an error, echoed messages). The caller then sends a
   * fence request with {@link RtnlSocket.request}: the kernel handles a datagram inside
   * sendto(2), in order, so once the fence is answered every slot is complete; then it calls
   * {@link RtnlSocket.dropSlots}. No thread waits.
   */
  sendBatch(msgs: readonly MessageWriter[]): BatchSlot[] {
    if (!this.#native) throw handleClosed('netlink socket');
    const bufs: Buffer[] = [];
    const slots: BatchSlot[] = [];
    const seqs: number[] = [];
    for (const msg of msgs) {
      let seq = nextSeq;
      nextSeq = nextSeq >= 0x7fffffff ? 1 : nextSeq + 1;
      if (seq === 0) seq = 1;
      bufs.push(msg.finish(seq, 0));
      seqs.push(seq);
      slots.push({ parts: [] });
    }
    for (let i = 0; i < seqs.length; i++) this.#slots.set(seqs[i]!, slots[i]!);
    const errno = this.#native.send(Buffer.concat(bufs));
    if (errno !== 0) {
      this.dropSlots(slots);
      throw new SysError(errno, 'sendto');
    }
    return slots;
  }

  /** Forgets the slots of a finished batch. */
  dropSlots(slots: readonly BatchSlot[]): void {
    const set = new Set(slots);
    for (const [seq, slot] of this.#slots) if (set.has(slot)) this.#slots.delete(seq);
  }

  /** The port id the kernel bound this socket to (an owned nf_tables table records it). */
  get portId(): number {
    return this.#portId;
  }

  /** Keeps (true) or stops (false) the event loop alive for this socket's multicast events. */
  ref(on: boolean): void {
    this.#setRef(on || this.#pending.size > 0);
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#native === null;
  }

  /**
   * Closes the socket; pending requests reject with ERR_HANDLE_CLOSED. Idempotent.
   * @param background - close(2) on a detached thread, for a socket whose close waits in the
   * kernel (nf_tables flushing table destruction).
   */
  close(background = false): void {
    const n = this.#native;
    if (!n) return;
    this.#native = null;
    if (background) n.closeDetached();
    else n.close();
    // The error only when a request is still waiting: building one captures a stack trace,
    // which cost more than the close itself on connectToHost's path.
    if (this.#pending.size === 0) return;
    const err = handleClosed('netlink socket');
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}
