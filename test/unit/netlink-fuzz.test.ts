// The decoder fed >= 100k random and mutated datagrams: it either decodes or throws
// NetlinkDecodeError, never anything else (no RangeError from Buffer, no TypeError from a
// missing field, no hang). Seeded, so a failure reproduces.
import { describe, expect, test } from 'vitest';
import { NetlinkDecodeError } from '../../src/errors.js';
import { NL } from '../../src/net/netlink/constants.js';
import { decodeAddress, encodeAddress } from '../../src/net/netlink/address.js';
import { decodeRoute, encodeGetRoutes, encodeRoute } from '../../src/net/netlink/route.js';
import { decodeLink, encodeNewLink, encodeSetLink } from '../../src/net/netlink/rtnl.js';
import { decodeNeighbour, encodeNeighbour } from '../../src/net/netlink/neigh.js';
import { MessageWriter, decodeDone, decodeError, splitMessages } from '../../src/net/netlink/wire.js';
import { ipBytes } from '../../src/net/ip.js';

/** xorshift32: deterministic. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

/** Decodes a datagram the way the socket and the API do. */
function decodeAll(d: Buffer): number {
  let n = 0;
  for (const m of splitMessages(d)) {
    if (m.type === NL.NLMSG_ERROR) decodeError(m);
    else if (m.type === NL.NLMSG_DONE) decodeDone(m);
    else if (m.type === NL.RTM_NEWLINK || m.type === NL.RTM_DELLINK) decodeLink(m);
    else if (m.type === NL.RTM_NEWADDR || m.type === NL.RTM_DELADDR) decodeAddress(m);
    else if (m.type === NL.RTM_NEWROUTE || m.type === NL.RTM_DELROUTE) decodeRoute(m);
    else if (m.type === NL.RTM_NEWNEIGH || m.type === NL.RTM_DELNEIGH) decodeNeighbour(m);
    n++;
  }
  return n;
}

function seeds(): Buffer[] {
  const mac = Buffer.from([2, 1, 2, 3, 4, 5]);
  const err = new MessageWriter(NL.NLMSG_ERROR, NL.NLM_F_CAPPED | NL.NLM_F_ACK_TLVS)
    .i32(-22)
    .u32(32)
    .u16(NL.RTM_NEWLINK)
    .u16(5)
    .u32(9)
    .u32(0)
    .attrString(NL.NLMSGERR_ATTR_MSG, 'Attribute failed policy validation')
    .attrU32(NL.NLMSGERR_ATTR_OFFS, 32);
  const list = [
    encodeNewLink({ name: 'veth0', kind: 'veth', up: true, mtu: 1500, mac, peer: { name: 'veth1', netnsFd: 5, mac } }),
    encodeNewLink({ name: 'mv0', kind: 'macvlan', parent: 2, macvlanMode: NL.MACVLAN_MODE_BRIDGE }),
    encodeNewLink({ name: 'vl0', kind: 'vlan', parent: 2, vlanId: 42 }),
    encodeNewLink({ name: 'vx0', kind: 'vxlan', vxlan: { id: 7, port: 4789, remote: ipBytes('10.0.0.9')!, link: 2 } }),
    encodeNewLink({ name: 'iv0', kind: 'ipvlan', parent: 2, ipvlanMode: NL.IPVLAN_MODE_L3S }),
    encodeSetLink({ index: 3, name: 'x', master: 4, mtu: 9000, mac }),
    encodeAddress(true, {
      family: NL.AF_INET,
      index: 2,
      prefix: 24,
      local: ipBytes('10.0.0.1')!,
      broadcast: ipBytes('10.0.0.255')!,
      label: 'eth0',
    }),
    encodeAddress(true, { family: NL.AF_INET6, index: 2, prefix: 64, local: ipBytes('fd00::1')! }),
    encodeRoute('add', {
      family: NL.AF_INET,
      dst: ipBytes('10.1.0.0')!,
      dstLen: 16,
      gateway: ipBytes('10.0.0.254')!,
      oif: 2,
      metric: 5,
      table: 1000,
    }),
    encodeGetRoutes(),
    encodeNeighbour('add', { family: NL.AF_INET6, index: 2, dst: ipBytes('fd00::9')!, lladdr: mac, state: NL.NUD_PERMANENT }),
    err,
  ].map((w, i) => w.finish(i + 1));
  // multi-message datagrams, like a dump
  list.push(Buffer.concat([list[0]!, list[4]!, list[6]!, new MessageWriter(NL.NLMSG_DONE, NL.NLM_F_MULTI).i32(0).finish(9)]));
  return list;
}

describe('decoder fuzz', () => {
  test('seeds decode cleanly', () => {
    for (const s of seeds()) expect(decodeAll(s)).toBeGreaterThan(0);
  });

  test('120,000 random and mutated datagrams: only NetlinkDecodeError is ever thrown', () => {
    const rand = rng(0x5eed1234);
    const base = seeds();
    const int = (n: number) => Math.floor(rand() * n);
    let decoded = 0;
    let refused = 0;
    for (let i = 0; i < 120_000; i++) {
      let d: Buffer;
      const mode = i % 4;
      if (mode === 0) {
        // pure random bytes, sometimes behind a plausible header
        d = Buffer.alloc(int(200));
        for (let j = 0; j < d.length; j++) d[j] = int(256);
        if (d.length >= 16 && rand() < 0.5) {
          d.writeUInt32LE(int(d.length + 8), 0);
          d.writeUInt16LE([NL.RTM_NEWLINK, NL.RTM_NEWADDR, NL.RTM_NEWROUTE, NL.RTM_NEWNEIGH, NL.NLMSG_ERROR, NL.NLMSG_DONE][int(6)]!, 4);
        }
      } else {
        d = Buffer.from(base[int(base.length)]!);
        const edits = 1 + int(mode === 3 ? 8 : 3);
        for (let e = 0; e < edits; e++) {
          const at = int(d.length);
          switch (int(5)) {
            case 0:
              d[at] = int(256);
              break; // random byte
            case 1:
              d[at] = d[at]! ^ (1 << int(8));
              break; // bit flip
            case 2:
              if (at + 1 < d.length) d.writeUInt16LE([0, 1, 3, 4, 5, 0xffff, d.length, d.length - at][int(8)]! & 0xffff, at & ~1);
              break; // length-ish u16
            case 3:
              d = d.subarray(0, at);
              break; // truncation
            default:
              if (d.length >= 4) d.writeUInt32LE(int(d.length * 2), 0); // nlmsg_len
          }
        }
      }
      try {
        decodeAll(d);
        decoded++;
      } catch (err) {
        if (!(err instanceof NetlinkDecodeError)) {
          throw new Error(`iteration ${i}: ${(err as Error).name}: ${(err as Error).message} for ${d.toString('hex')}`);
        }
        expect(err.code).toBe('ERR_NSBOX_NETLINK_DECODE');
        refused++;
      }
    }
    // Both outcomes happen: the fuzzer reaches past the first length check.
    expect(decoded).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(1000);
  });
});
