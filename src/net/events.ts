/**
 * Link, address and route changes as an async iterator: an rtnetlink socket joined to the
 * RTMGRP_* multicast groups (`ip monitor link address route`).
 * @module
 */
import { abortError, invalidArgType } from '../errors.js';
import { NL } from './netlink/constants.js';
import { decodeAddress } from './netlink/address.js';
import { decodeRoute } from './netlink/route.js';
import { decodeLink } from './netlink/rtnl.js';
import { RtnlSocket } from './netlink/socket.js';
import type { NlMessage } from './netlink/wire.js';
import { holdNetns } from './target.js';
import type { NetEvent, NetnsOptions } from './types.js';

/** Options of {@link events}. */
export interface EventsOptions extends NetnsOptions {
  /** Ends the iteration: a waiting `next()` rejects with an `AbortError`, the socket closes. */
  signal?: AbortSignal;
}

/** An async iterator of {@link NetEvent}s that also closes on `close()`. */
export interface NetEventIterator extends AsyncIterableIterator<NetEvent> {
  /** Stops listening and closes the socket; waiting `next()` calls end. Idempotent. */
  close(): void;
}

function decodeEvent(m: NlMessage): NetEvent | undefined {
  switch (m.type) {
    case NL.RTM_NEWLINK:
    case NL.RTM_DELLINK:
      return { type: 'link', action: m.type === NL.RTM_NEWLINK ? 'new' : 'del', link: decodeLink(m) };
    case NL.RTM_NEWADDR:
    case NL.RTM_DELADDR:
      return { type: 'address', action: m.type === NL.RTM_NEWADDR ? 'new' : 'del', address: decodeAddress(m) };
    case NL.RTM_NEWROUTE:
    case NL.RTM_DELROUTE:
      if (m.body[0] !== NL.AF_INET && m.body[0] !== NL.AF_INET6) return undefined;
      return { type: 'route', action: m.type === NL.RTM_NEWROUTE ? 'new' : 'del', route: decodeRoute(m) };
    default:
      return undefined;
  }
}

/**
 * Listens for link, address and route changes in a namespace (RTMGRP_LINK,
 * RTMGRP_IPV4_IFADDR, RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_IFADDR, RTMGRP_IPV6_ROUTE). Replaces
 * `ip monitor link address route`. Listening starts when this returns: changes made after
 * the call are reported, in order. The socket keeps the event loop alive until the iterator
 * is closed (`break` out of `for await`, `return()`, `close()` or the `signal`).
 *
 * No privileges needed. Does not touch the calling thread.
 * @throws synchronously: `ERR_INVALID_ARG_TYPE`; `ABORT_ERR` if `signal` is already aborted;
 * SysError (`'setns'`, `'socket'`, `'bind'`).
 * From `next()`: SysError `ENOBUFS` (syscall `'recvmsg'`) when the kernel dropped events
 * because they were not read fast enough; `NetlinkDecodeError`; an `AbortError` (`code`
 * `'ABORT_ERR'`, the signal's reason as `cause`) once `signal` aborts.
 */
export function events(options: EventsOptions = {}): NetEventIterator {
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  const { netns, signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw invalidArgType('options.signal', 'an instance of AbortSignal', signal);
  if (signal?.aborted) throw abortError(signal);
  const queue: NetEvent[] = [];
  let failure: Error | undefined;
  let done = false;
  let waiter: { resolve: (r: IteratorResult<NetEvent>) => void; reject: (e: Error) => void } | undefined;

  const wake = (): void => {
    if (!waiter) return;
    const w = waiter;
    if (queue.length > 0) {
      waiter = undefined;
      w.resolve({ value: queue.shift()!, done: false });
    } else if (failure) {
      waiter = undefined;
      const f = failure;
      failure = undefined;
      done = true;
      w.reject(f);
    } else if (done) {
      waiter = undefined;
      w.resolve({ value: undefined, done: true });
    }
  };

  const groups = NL.RTMGRP_LINK | NL.RTMGRP_IPV4_IFADDR | NL.RTMGRP_IPV4_ROUTE | NL.RTMGRP_IPV6_IFADDR | NL.RTMGRP_IPV6_ROUTE;
  const held = holdNetns('options.netns', netns);
  let sock: RtnlSocket;
  try {
    sock = new RtnlSocket(
      held.fd,
      groups,
      (m) => {
        try {
          const e = decodeEvent(m);
          if (e) queue.push(e);
        } catch (err) {
          failure = err as Error;
          close();
        }
        wake();
      },
      (err) => {
        failure = err;
        close();
        wake();
      },
    );
  } finally {
    held.release();
  }

  const onAbort = (): void => {
    failure = abortError(signal!);
    close();
    wake();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  function close(): void {
    if (sock.closed) return;
    sock.close();
    signal?.removeEventListener('abort', onAbort);
    done = true;
    wake();
  }

  const it: NetEventIterator = {
    next(): Promise<IteratorResult<NetEvent>> {
      if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
      if (failure) {
        const f = failure;
        failure = undefined;
        done = true;
        return Promise.reject(f);
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
      });
    },
    return(): Promise<IteratorResult<NetEvent>> {
      queue.length = 0;
      failure = undefined;
      close();
      return Promise.resolve({ value: undefined, done: true });
    },
    close,
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}
