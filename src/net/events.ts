/**
 * Link, address and route changes as an async iterator: an rtnetlink socket joined to the
 * RTMGRP_* multicast groups (`ip monitor link address route`).
 * @module
 */
import { NL } from './netlink/constants.js';
import { decodeAddress } from './netlink/address.js';
import { decodeRoute } from './netlink/route.js';
import { decodeLink } from './netlink/rtnl.js';
import type { NlMessage } from './netlink/wire.js';
import { monitor, type MonitorIterator, type MonitorOptions } from './monitor.js';
import type { NetEvent } from './types.js';

/** Options of {@link events}: `netns`, and a `signal` that ends the iteration. */
export type EventsOptions = MonitorOptions;

/** An async iterator of {@link NetEvent}s that also closes on `close()` and `Symbol.dispose`. */
export type NetEventIterator = MonitorIterator<NetEvent>;

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
  const groups = NL.RTMGRP_LINK | NL.RTMGRP_IPV4_IFADDR | NL.RTMGRP_IPV4_ROUTE | NL.RTMGRP_IPV6_IFADDR | NL.RTMGRP_IPV6_ROUTE;
  return monitor(options, groups, undefined, decodeEvent);
}
