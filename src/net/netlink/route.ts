/**
 * rtmsg bodies (routes) and their attributes.
 * @internal
 * @module
 */
import { NetlinkDecodeError } from '../../errors.js';
import type { IfIndex, Route } from './objects.js';
import { NL, table } from './constants.js';
import { SCOPES, addrText, family } from './rtnl.js';
import { MessageWriter, Reader, attr, parseAttrs, type NlMessage } from './wire.js';

const RTMSG = NL.SIZEOF_RTMSG;

type Protocol = 'kernel' | 'boot' | 'static';
const PROTOCOLS = table<Protocol>({ kernel: NL.RTPROT_KERNEL, boot: NL.RTPROT_BOOT, static: NL.RTPROT_STATIC });

type RouteType = 'unicast' | 'local' | 'broadcast' | 'anycast' | 'multicast' | 'blackhole' | 'unreachable' | 'prohibit';
const ROUTE_TYPES = table<RouteType>({
  unicast: NL.RTN_UNICAST,
  local: NL.RTN_LOCAL,
  broadcast: NL.RTN_BROADCAST,
  anycast: NL.RTN_ANYCAST,
  multicast: NL.RTN_MULTICAST,
  blackhole: NL.RTN_BLACKHOLE,
  unreachable: NL.RTN_UNREACHABLE,
  prohibit: NL.RTN_PROHIBIT,
});

/** A route to add, replace or delete, resolved. */
export interface RouteRequest {
  family: number;
  dst?: Buffer;
  dstLen: number;
  gateway?: Buffer;
  oif?: number;
  table: number;
  metric?: number;
  scope?: number;
  prefsrc?: Buffer;
}

/** RTM_NEWROUTE (`add`: CREATE|EXCL; `replace`: CREATE|REPLACE) or RTM_DELROUTE, as `ip route`. */
export function encodeRoute(op: 'add' | 'replace' | 'del', r: RouteRequest): MessageWriter {
  const del = op === 'del';
  const flags =
    NL.NLM_F_REQUEST |
    NL.NLM_F_ACK |
    (op === 'add' ? NL.NLM_F_CREATE | NL.NLM_F_EXCL : op === 'replace' ? NL.NLM_F_CREATE | NL.NLM_F_REPLACE : 0);
  const w = new MessageWriter(del ? NL.RTM_DELROUTE : NL.RTM_NEWROUTE, flags);
  // iproute2's defaults: protocol boot, scope link for a route without a gateway, global
  // otherwise; a delete matches any protocol, type and scope (RT_SCOPE_NOWHERE).
  const scope = r.scope ?? (del ? NL.RT_SCOPE_NOWHERE : r.gateway ? NL.RT_SCOPE_UNIVERSE : NL.RT_SCOPE_LINK);
  const bigTable = r.table > 255;
  w.u8(r.family).u8(r.dstLen).u8(0).u8(0);
  w.u8(bigTable ? NL.RT_TABLE_UNSPEC : r.table)
    .u8(del ? 0 : NL.RTPROT_BOOT)
    .u8(scope)
    .u8(del ? 0 : NL.RTN_UNICAST);
  w.u32(0);
  if (bigTable) w.attrU32(NL.RTA_TABLE, r.table);
  if (r.dst !== undefined) w.attr(NL.RTA_DST, r.dst);
  if (r.gateway !== undefined) w.attr(NL.RTA_GATEWAY, r.gateway);
  if (r.metric !== undefined) w.attrU32(NL.RTA_PRIORITY, r.metric);
  if (r.prefsrc !== undefined) w.attr(NL.RTA_PREFSRC, r.prefsrc);
  if (r.oif !== undefined) w.attrU32(NL.RTA_OIF, r.oif);
  return w;
}

/** RTM_GETROUTE dump. */
export function encodeGetRoutes(family = NL.AF_UNSPEC): MessageWriter {
  const w = new MessageWriter(NL.RTM_GETROUTE, NL.NLM_F_REQUEST | NL.NLM_F_DUMP);
  w.u8(family).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u32(0);
  return w;
}

/** Decodes an RTM_NEWROUTE/RTM_DELROUTE body into a {@link Route}. */
export function decodeRoute(msg: NlMessage): Route {
  const base = msg.offset + NL.SIZEOF_NLMSGHDR;
  if (msg.body.length < RTMSG) throw new NetlinkDecodeError(`rtmsg needs ${RTMSG} bytes, got ${msg.body.length}`, base);
  const r = new Reader(msg.body, base);
  const fam = family(r.u8(0), base);
  const dstLen = r.u8(1);
  const a = parseAttrs(msg.body, RTMSG, base);
  const dst = addrText(a.get(NL.RTA_DST), fam, base);
  const scopeN = r.u8(6);
  const protoN = r.u8(5);
  const typeN = r.u8(7);
  const out: Route = {
    family: fam,
    dst: dst === undefined && dstLen === 0 ? 'default' : `${dst ?? (fam === 4 ? '0.0.0.0' : '::')}/${dstLen}`,
    table: attr.u32(a, NL.RTA_TABLE) ?? r.u8(4),
    scope: SCOPES.byNumber.get(scopeN) ?? scopeN,
    protocol: PROTOCOLS.byNumber.get(protoN) ?? protoN,
    type: ROUTE_TYPES.byNumber.get(typeN) ?? typeN,
  };
  const gw = addrText(a.get(NL.RTA_GATEWAY), fam, base);
  if (gw !== undefined) out.gateway = gw;
  const oif = attr.u32(a, NL.RTA_OIF);
  if (oif !== undefined) out.dev = oif as IfIndex;
  const metric = attr.u32(a, NL.RTA_PRIORITY);
  if (metric !== undefined) out.metric = metric;
  const src = addrText(a.get(NL.RTA_PREFSRC), fam, base);
  if (src !== undefined) out.src = src;
  return out;
}
