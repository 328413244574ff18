/**
 * ifaddrmsg bodies (addresses) and their attributes: IFA_LOCAL, IFA_ADDRESS, IFA_BROADCAST,
 * IFA_LABEL, IFA_FLAGS. Attribute order as iproute2 sends them.
 * @internal
 * @module
 */
import { NetlinkDecodeError } from '../../errors.js';
import type { Address, IfIndex } from './objects.js';
import { NL } from './constants.js';
import { SCOPES, addrText, family } from './rtnl.js';
import { MessageWriter, Reader, attr, parseAttrs, type NlMessage } from './wire.js';

const IFADDRMSG = NL.SIZEOF_IFADDRMSG;

/** An address to add or delete, resolved. */
export interface AddressRequest {
  family: number;
  index: number;
  prefix: number;
  local: Buffer;
  broadcast?: Buffer;
  label?: string;
  scope?: number;
}

/** RTM_NEWADDR (NLM_F_CREATE|NLM_F_EXCL) or RTM_DELADDR: `ip addr add|del`. */
export function encodeAddress(add: boolean, r: AddressRequest): MessageWriter {
  const flags = NL.NLM_F_REQUEST | NL.NLM_F_ACK | (add ? NL.NLM_F_CREATE | NL.NLM_F_EXCL : 0);
  const w = new MessageWriter(add ? NL.RTM_NEWADDR : NL.RTM_DELADDR, flags);
  w.u8(r.family)
    .u8(r.prefix)
    .u8(0)
    .u8(r.scope ?? 0)
    .u32(r.index);
  w.attr(NL.IFA_LOCAL, r.local);
  if (r.label !== undefined) w.attrString(NL.IFA_LABEL, r.label);
  if (r.broadcast !== undefined) w.attr(NL.IFA_BROADCAST, r.broadcast);
  w.attr(NL.IFA_ADDRESS, r.local);
  return w;
}

/** RTM_GETADDR dump of one family or all. */
export function encodeGetAddresses(family = NL.AF_UNSPEC): MessageWriter {
  const w = new MessageWriter(NL.RTM_GETADDR, NL.NLM_F_REQUEST | NL.NLM_F_DUMP);
  w.u8(family).u8(0).u8(0).u8(0).u32(0);
  return w;
}

/** Decodes an RTM_NEWADDR/RTM_DELADDR body into an {@link Address}. */
export function decodeAddress(msg: NlMessage): Address {
  const base = msg.offset + NL.SIZEOF_NLMSGHDR;
  if (msg.body.length < IFADDRMSG) throw new NetlinkDecodeError(`ifaddrmsg needs ${IFADDRMSG} bytes, got ${msg.body.length}`, base);
  const r = new Reader(msg.body, base);
  const fam = family(r.u8(0), base);
  const prefixLength = r.u8(1);
  const scopeN = r.u8(3);
  const a = parseAttrs(msg.body, IFADDRMSG, base);
  const local = addrText(a.get(NL.IFA_LOCAL), fam, base);
  const peerAddr = addrText(a.get(NL.IFA_ADDRESS), fam, base);
  const address = local ?? peerAddr;
  if (address === undefined) throw new NetlinkDecodeError('address message without IFA_LOCAL or IFA_ADDRESS', base);
  const out: Address = {
    family: fam,
    index: r.u32(4) as IfIndex,
    address,
    prefixLength,
    cidr: `${address}/${prefixLength}`,
    scope: SCOPES.byNumber.get(scopeN) ?? scopeN,
    flags: attr.u32(a, NL.IFA_FLAGS) ?? r.u8(2),
  };
  if (peerAddr !== undefined && peerAddr !== address) out.peer = peerAddr;
  const brd = addrText(a.get(NL.IFA_BROADCAST), fam, base);
  if (brd !== undefined) out.broadcast = brd;
  const label = attr.str(a, NL.IFA_LABEL);
  if (label !== undefined) out.label = label;
  return out;
}
