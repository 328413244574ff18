// The rtnetlink wire format: golden bytes against what iproute2 sends, round trips, and the
// bounds checks both ways (encoder refuses oversize, decoder refuses overruns).
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { NetlinkDecodeError } from '../../src/errors.js';
import { native } from '../../src/native.js';
import { NETLINK_CONSTANT_NAMES, NL } from '../../src/net/netlink/constants.js';
import { decodeAddress, encodeAddress } from '../../src/net/netlink/address.js';
import { decodeRoute, encodeRoute } from '../../src/net/netlink/route.js';
import { decodeLink, encodeNewLink, encodeSetLink } from '../../src/net/netlink/rtnl.js';
import { decodeNeighbour, encodeNeighbour } from '../../src/net/netlink/neigh.js';
import { MessageWriter, attr, decodeError, parseAttrs, splitMessages } from '../../src/net/netlink/wire.js';
import { ipBytes, ipText, parseCidr } from '../../src/net/ip.js';

const golden = JSON.parse(readFileSync(new URL('./data/ip-requests.json', import.meta.url), 'utf8')) as Record<string, string>;
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** ip's bytes with its sequence number zeroed. */
function ipSent(cmd: string): string {
  const b = Buffer.from(golden[cmd]!, 'hex');
  b.fill(0, 8, 12);
  return b.toString('hex');
}

describe('constants', () => {
  test('every name the TS tables use is a number from the native export', () => {
    for (const n of NETLINK_CONSTANT_NAMES) expect(typeof native.netlinkConstants[n], n).toBe('number');
    expect(NL.SIZEOF_NLMSGHDR).toBe(16);
    expect(NL.SIZEOF_IFINFOMSG).toBe(16);
    expect(NL.SIZEOF_IFADDRMSG).toBe(8);
    expect(NL.SIZEOF_RTMSG).toBe(12);
  });
});

describe.skipIf(!LE)('golden bytes: the request iproute2 sends for the same command', () => {
  test('ip link add nsbxg0 numtxqueues 1 numrxqueues 1 type veth peer name nsbxg1 numtxqueues 1 numrxqueues 1', () => {
    const got = encodeNewLink({ name: 'nsbxg0', kind: 'veth', peer: { name: 'nsbxg1' } })
      .finish(0)
      .toString('hex');
    // nsbox asks for one queue of each kind at both ends (encodeNewLink): iproute2 says so with numtxqueues/numrxqueues.
    expect(got).toBe(ipSent('ip link add nsbxg0 numtxqueues 1 numrxqueues 1 type veth peer name nsbxg1 numtxqueues 1 numrxqueues 1'));
  });
  test('ip link add nsbxb0 type bridge', () => {
    expect(encodeNewLink({ name: 'nsbxb0', kind: 'bridge' }).finish(0).toString('hex')).toBe(ipSent('ip link add nsbxb0 type bridge'));
  });
  test('ip addr add 10.9.8.7/24 dev nsbxb0 (ifindex 11)', () => {
    const c = parseCidr('a', '10.9.8.7/24');
    const got = encodeAddress(true, { family: NL.AF_INET, index: 11, prefix: c.prefix, local: c.bytes }).finish(0).toString('hex');
    expect(got).toBe(ipSent('ip addr add 10.9.8.7/24 dev nsbxb0'));
  });
  test('ip -6 addr add fd00::5/64 dev nsbxb0', () => {
    const c = parseCidr('a', 'fd00::5/64');
    const got = encodeAddress(true, { family: NL.AF_INET6, index: 11, prefix: c.prefix, local: c.bytes }).finish(0).toString('hex');
    expect(got).toBe(ipSent('ip -6 addr add fd00::5/64 dev nsbxb0'));
  });
  test('ip neigh add 10.9.8.9 lladdr 02:00:00:00:00:09 dev lo (ifindex 1)', () => {
    const got = encodeNeighbour('add', {
      family: NL.AF_INET,
      index: 1,
      dst: ipBytes('10.9.8.9')!,
      lladdr: Buffer.from([2, 0, 0, 0, 0, 9]),
      state: NL.NUD_PERMANENT,
    })
      .finish(0)
      .toString('hex');
    expect(got).toBe(ipSent('ip neigh add 10.9.8.9 lladdr 02:00:00:00:00:09 dev lo'));
  });
  test('ip route add 10.77.0.0/16 via 10.9.8.1 dev nsbxb0 metric 7', () => {
    const d = parseCidr('d', '10.77.0.0/16');
    const got = encodeRoute('add', {
      family: NL.AF_INET,
      dst: d.bytes,
      dstLen: 16,
      gateway: ipBytes('10.9.8.1')!,
      metric: 7,
      oif: 11,
      table: NL.RT_TABLE_MAIN,
    })
      .finish(0)
      .toString('hex');
    expect(got).toBe(ipSent('ip route add 10.77.0.0/16 via 10.9.8.1 dev nsbxb0 metric 7'));
  });
});

describe('round trips', () => {
  // The kernel answers a request with a message of the same body layout; decoding what we
  // encode must give back what we asked for.
  const asMsg = (b: Buffer) => splitMessages(b)[0]!;

  test('link: veth with mtu, mac and up', () => {
    const mac = Buffer.from([2, 0, 0, 0, 0, 7]);
    const l = decodeLink(asMsg(encodeNewLink({ name: 'v0', kind: 'veth', up: true, mtu: 1400, mac, peer: { name: 'v1' } }).finish(1)));
    expect(l).toMatchObject({ kind: 'veth', name: 'v0', up: true, mtu: 1400, mac: '02:00:00:00:00:07' });
  });
  test('link: macvlan mode and vlan id survive', () => {
    const m = decodeLink(asMsg(encodeNewLink({ name: 'm0', kind: 'macvlan', parent: 3, macvlanMode: NL.MACVLAN_MODE_BRIDGE }).finish(1)));
    expect(m).toMatchObject({ kind: 'macvlan', mode: 'bridge', link: 3 });
    const v = decodeLink(asMsg(encodeNewLink({ name: 'v0.5', kind: 'vlan', parent: 3, vlanId: 5 }).finish(1)));
    expect(v).toMatchObject({ kind: 'vlan', id: 5, link: 3 });
  });
  test('link: ipvlan mode and vxlan id, port (big-endian), remote and local survive', () => {
    const i = decodeLink(asMsg(encodeNewLink({ name: 'iv0', kind: 'ipvlan', parent: 3, ipvlanMode: NL.IPVLAN_MODE_L2 }).finish(1)));
    expect(i).toMatchObject({ kind: 'ipvlan', mode: 'l2', link: 3 });
    const w = encodeNewLink({
      name: 'vx0',
      kind: 'vxlan',
      vxlan: { id: 42, port: 4789, remote: ipBytes('10.1.1.1')!, local: ipBytes('fd00::2')! },
    }).finish(1);
    expect(w.includes(Buffer.from([6, 0, NL.IFLA_VXLAN_PORT, 0, 0x12, 0xb5]))).toBe(true);
    expect(decodeLink(asMsg(w))).toMatchObject({ kind: 'vxlan', id: 42, port: 4789, remote: '10.1.1.1', local: 'fd00::2' });
  });
  test('link: setLink rename + master', () => {
    const l = decodeLink(asMsg(encodeSetLink({ index: 9, name: 'renamed', master: 4, mtu: 9000 }).finish(1)));
    expect(l).toMatchObject({ index: 9, name: 'renamed', master: 4, mtu: 9000 });
  });
  test.each(['10.1.2.3/8', '192.168.0.1/32', 'fd00::1/64', '2001:db8::abcd:1/127', '::1/128'])('address %s', (cidr) => {
    const c = parseCidr('a', cidr);
    const a = decodeAddress(
      asMsg(
        encodeAddress(true, {
          family: c.family === 4 ? NL.AF_INET : NL.AF_INET6,
          index: 5,
          prefix: c.prefix,
          local: c.bytes,
          scope: NL.RT_SCOPE_LINK,
        }).finish(1),
      ),
    );
    expect(a).toMatchObject({ family: c.family, index: 5, cidr, scope: 'link' });
  });
  test('route: table > 255, gateway, src, metric', () => {
    const r = decodeRoute(
      asMsg(
        encodeRoute('replace', {
          family: NL.AF_INET6,
          dst: ipBytes('fd00:1::')!,
          dstLen: 48,
          gateway: ipBytes('fe80::1')!,
          prefsrc: ipBytes('fd00::2')!,
          metric: 1024,
          oif: 2,
          table: 1000,
        }).finish(1),
      ),
    );
    expect(r).toEqual({
      family: 6,
      dst: 'fd00:1::/48',
      gateway: 'fe80::1',
      src: 'fd00::2',
      metric: 1024,
      dev: 2,
      table: 1000,
      scope: 'global',
      protocol: 'boot',
      type: 'unicast',
    });
  });
  test('neighbour: IPv6 with its state', () => {
    const n = decodeNeighbour(
      asMsg(
        encodeNeighbour('replace', {
          family: NL.AF_INET6,
          index: 4,
          dst: ipBytes('fd00::9')!,
          lladdr: Buffer.from([2, 0, 0, 0, 0, 10]),
          state: NL.NUD_REACHABLE,
        }).finish(1),
      ),
    );
    expect(n).toEqual({ family: 6, index: 4, address: 'fd00::9', mac: '02:00:00:00:00:0a', state: ['reachable'] });
  });
  test('route: default', () => {
    const r = decodeRoute(
      asMsg(encodeRoute('add', { family: NL.AF_INET, dstLen: 0, gateway: ipBytes('10.0.0.1')!, table: 254 }).finish(1)),
    );
    expect(r).toMatchObject({ dst: 'default', gateway: '10.0.0.1', table: 254 });
  });
  test('IPv6 text is RFC 5952, as ip prints it', () => {
    for (const t of [
      '::',
      '::1',
      'fe80::1',
      '2001:db8::1:0:0:1',
      '2001:db8:0:1:1:1:1:1',
      'fd00::',
      '::ffff:10.0.0.1'.replace('10.0.0.1', 'a00:1'),
    ]) {
      expect(ipText(ipBytes(t)!)).toBe(t);
    }
  });
});

describe('extended ACK', () => {
  function errorMessage(errno: number, text: string | undefined, capped: boolean): Buffer {
    const flags = (capped ? NL.NLM_F_CAPPED : 0) | (text !== undefined ? NL.NLM_F_ACK_TLVS : 0);
    const w = new MessageWriter(NL.NLMSG_ERROR, flags).i32(-errno);
    const req = new MessageWriter(NL.RTM_NEWLINK, NL.NLM_F_REQUEST).u32(0).u32(0).u32(0).u32(0).finish(7);
    w.bytes(capped ? req.subarray(0, 16) : req);
    if (text !== undefined) w.attrString(NL.NLMSGERR_ATTR_MSG, text).attrU32(NL.NLMSGERR_ATTR_OFFS, 36);
    return w.finish(7);
  }
  test.each([true, false])('text and offset are read (capped %s)', (capped) => {
    const e = decodeError(splitMessages(errorMessage(34, 'Attribute failed policy validation', capped))[0]!);
    expect(e).toEqual({ error: -34, message: 'Attribute failed policy validation', offset: 36 });
  });
  test('a plain ACK', () => {
    expect(decodeError(splitMessages(errorMessage(0, undefined, true))[0]!)).toEqual({ error: 0 });
  });
});

describe('bounds', () => {
  test('the encoder refuses an attribute over 65535 bytes, with a typed error', () => {
    const w = new MessageWriter(NL.RTM_NEWLINK, 0);
    expect(() => w.attr(NL.IFLA_IFALIAS, Buffer.alloc(70_000))).toThrow(expect.objectContaining({ code: 'ERR_NSBOX_NETLINK_ENCODE' }));
    const n = new MessageWriter(NL.RTM_NEWLINK, 0).begin(NL.IFLA_LINKINFO);
    n.attr(1, Buffer.alloc(40_000)).attr(2, Buffer.alloc(40_000));
    expect(() => n.end()).toThrow(expect.objectContaining({ code: 'ERR_NSBOX_NETLINK_ENCODE' }));
  });
  test('an nlmsg_len beyond the datagram is refused', () => {
    const b = encodeNewLink({ name: 'x', kind: 'bridge' }).finish(1);
    const bad = Buffer.from(b);
    bad.writeUInt32LE(b.length + 4, 0);
    expect(() => splitMessages(bad)).toThrow(NetlinkDecodeError);
    bad.writeUInt32LE(8, 0);
    expect(() => splitMessages(bad)).toThrow(NetlinkDecodeError);
  });
  test('an attribute length that overruns its container is refused (CVE-2021-43784 shape)', () => {
    const b = Buffer.from(encodeNewLink({ name: 'vA', kind: 'veth', peer: { name: 'vB' } }).finish(1));
    // IFLA_LINKINFO starts after the header (16), ifinfomsg (16), IFLA_NUM_TX_QUEUES and
    // IFLA_NUM_RX_QUEUES (8 each), IFLA_IFNAME (4+3 → 8).
    const at = 16 + 16 + 8 + 8 + 8;
    expect(b.readUInt16LE(at + 2)).toBe(NL.IFLA_LINKINFO);
    b.writeUInt16LE(0xfff0, at);
    expect(() => decodeLink(splitMessages(b)[0]!)).toThrow(NetlinkDecodeError);
    const inner = Buffer.from(encodeNewLink({ name: 'vA', kind: 'veth', peer: { name: 'vB' } }).finish(1));
    // the nested IFLA_INFO_KIND: claims more than IFLA_LINKINFO holds
    inner.writeUInt16LE(200, at + 4);
    const m = splitMessages(inner)[0]!;
    const top = parseAttrs(m.body, 16);
    expect(() => parseAttrs(top.get(NL.IFLA_LINKINFO)!)).toThrow(NetlinkDecodeError);
    expect(() => decodeLink(m)).toThrow(NetlinkDecodeError);
  });
  test('an attribute shorter than its header and a wrong-sized u32 are refused', () => {
    expect(() => parseAttrs(Buffer.from([2, 0, 1, 0]))).toThrow(NetlinkDecodeError);
    const w = new MessageWriter(NL.RTM_NEWLINK, 0).u32(0).u32(0).u32(0).u32(0).attrString(NL.IFLA_IFNAME, 'x').attrU8(NL.IFLA_MTU, 1);
    expect(() => decodeLink(splitMessages(w.finish(1))[0]!)).toThrow(NetlinkDecodeError);
  });
  test('an integer attribute longer than its type is refused, not read from its first bytes', () => {
    // The reported case: an 8-byte IFLA_MTU (a u32) used to decode as its low 4 bytes.
    const link = new MessageWriter(NL.RTM_NEWLINK, 0)
      .u32(0)
      .u32(0)
      .u32(0)
      .u32(0)
      .attrString(NL.IFLA_IFNAME, 'x')
      .attr(NL.IFLA_MTU, Buffer.alloc(8, 1));
    expect(() => decodeLink(splitMessages(link.finish(1))[0]!)).toThrow(NetlinkDecodeError);
    const operstate = new MessageWriter(NL.RTM_NEWLINK, 0)
      .u32(0)
      .u32(0)
      .u32(0)
      .u32(0)
      .attrString(NL.IFLA_IFNAME, 'x')
      .attr(NL.IFLA_OPERSTATE, Buffer.alloc(2, 6));
    expect(() => decodeLink(splitMessages(operstate.finish(1))[0]!)).toThrow(NetlinkDecodeError);
    const addr = Buffer.from(encodeAddress(true, { family: NL.AF_INET, index: 1, prefix: 8, local: ipBytes('10.0.0.1') }).finish(1));
    const withFlags = new MessageWriter(NL.RTM_NEWADDR, 0).bytes(splitMessages(addr)[0]!.body).attr(NL.IFA_FLAGS, Buffer.alloc(8));
    expect(() => decodeAddress(splitMessages(withFlags.finish(1))[0]!)).toThrow(NetlinkDecodeError);
    const route = Buffer.from(encodeRoute('add', { family: NL.AF_INET, dstLen: 0, table: NL.RT_TABLE_MAIN }).finish(1));
    const withOif = new MessageWriter(NL.RTM_NEWROUTE, 0).bytes(splitMessages(route)[0]!.body).attr(NL.RTA_OIF, Buffer.alloc(5));
    expect(() => decodeRoute(splitMessages(withOif.finish(1))[0]!)).toThrow(NetlinkDecodeError);
  });
  test.each([
    ['u8', 1],
    ['u16', 2],
    ['u32', 4],
    ['i32', 4],
  ] as const)('attr.%s accepts exactly %i bytes: shorter and longer are NetlinkDecodeErrors', (kind, size) => {
    const read = (n: number) => attr[kind](new Map([[7, Buffer.alloc(n, 1)]]), 7);
    expect(read(size)).toBeTypeOf('number');
    for (const n of [0, size - 1, size + 1, 8, 16].filter((x) => x >= 0 && x !== size)) {
      expect(() => read(n), `${n} bytes`).toThrow(NetlinkDecodeError);
    }
    expect(attr[kind](new Map(), 7)).toBeUndefined();
  });
  test('a truncated ifinfomsg/ifaddrmsg/rtmsg is refused', () => {
    const tiny = new MessageWriter(NL.RTM_NEWLINK, 0).u32(0).finish(1);
    const m = splitMessages(tiny)[0]!;
    expect(() => decodeLink(m)).toThrow(NetlinkDecodeError);
    expect(() => decodeAddress(m)).toThrow(NetlinkDecodeError);
    expect(() => decodeRoute(m)).toThrow(NetlinkDecodeError);
  });
});
