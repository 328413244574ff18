/**
 * ndmsg (neighbour table entries: ARP and NDP) bodies and their attributes.
 * @internal
 * @module
 */
import { NetlinkDecodeError } from '../../errors.js';
import { ipText, macText } from './text.js';
import type { IfIndex, Neighbour, NeighbourState } from './objects.js';
import { NL } from './constants.js';
import { MessageWriter, Reader, parseAttrs, type NlMessage } from './wire.js';

const NDMSG = NL.SIZEOF_NDMSG;

/** NUD_* states by name, in the order `ip neigh` prints them. */
export const NUD_STATES: ReadonlyArray<[NeighbourState, number]> = [
  ['incomplete', NL.NUD_INCOMPLETE],
  ['reachable', NL.NUD_REACHABLE],
  ['stale', NL.NUD_STALE],
  ['delay', NL.NUD_DELAY],
  ['probe', NL.NUD_PROBE],
  ['failed', NL.NUD_FAILED],
  ['noarp', NL.NUD_NOARP],
  ['permanent', NL.NUD_PERMANENT],
];

function ndmsg(w: MessageWriter, family: number, index: number, state: number): void {
  w.u8(family).u8(0).u16(0).i32(index).u16(state).u8(0).u8(0);
}

/** RTM_NEWNEIGH (CREATE|EXCL, or CREATE|REPLACE) or RTM_DELNEIGH: `ip neigh add|replace|del`. */
export function encodeNeighbour(
  op: 'add' | 'replace' | 'del',
  r: { family: number; index: number; dst: Buffer; lladdr?: Buffer; state: number },
): MessageWriter {
  const flags =
    NL.NLM_F_REQUEST |
    NL.NLM_F_ACK |
    (op === 'add' ? NL.NLM_F_CREATE | NL.NLM_F_EXCL : op === 'replace' ? NL.NLM_F_CREATE | NL.NLM_F_REPLACE : 0);
  const w = new MessageWriter(op === 'del' ? NL.RTM_DELNEIGH : NL.RTM_NEWNEIGH, flags);
  ndmsg(w, r.family, r.index, op === 'del' ? 0 : r.state);
  w.attr(NL.NDA_DST, r.dst);
  if (r.lladdr !== undefined) w.attr(NL.NDA_LLADDR, r.lladdr);
  return w;
}

/** RTM_GETNEIGH dump. */
export function encodeGetNeighbours(family = NL.AF_UNSPEC): MessageWriter {
  const w = new MessageWriter(NL.RTM_GETNEIGH, NL.NLM_F_REQUEST | NL.NLM_F_DUMP);
  ndmsg(w, family, 0, 0);
  return w;
}

/** Decodes an RTM_NEWNEIGH/RTM_DELNEIGH body (IPv4/IPv6 entries; others return undefined). */
export function decodeNeighbour(msg: NlMessage): Neighbour | undefined {
  const base = msg.offset + NL.SIZEOF_NLMSGHDR;
  if (msg.body.length < NDMSG) throw new NetlinkDecodeError(`ndmsg needs ${NDMSG} bytes, got ${msg.body.length}`, base);
  const r = new Reader(msg.body, base);
  const fam = r.u8(0);
  if (fam !== NL.AF_INET && fam !== NL.AF_INET6) return undefined;
  const a = parseAttrs(msg.body, NDMSG, base);
  const dst = a.get(NL.NDA_DST);
  if (dst === undefined) throw new NetlinkDecodeError('neighbour message without NDA_DST', base);
  if (dst.length !== (fam === NL.AF_INET ? 4 : 16)) throw new NetlinkDecodeError(`neighbour NDA_DST of ${dst.length} bytes`, base);
  const stateN = r.u16(8);
  const out: Neighbour = {
    family: fam === NL.AF_INET ? 4 : 6,
    index: r.i32(4) as IfIndex,
    address: ipText(dst),
    state: NUD_STATES.filter(([, bit]) => stateN & bit).map(([n]) => n),
  };
  const ll = a.get(NL.NDA_LLADDR);
  if (ll !== undefined && ll.length > 0) out.mac = macText(ll);
  return out;
}
