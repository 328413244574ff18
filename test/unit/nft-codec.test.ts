// nf_tables codec without privileges: every expression round-trips through encode and the
// dump decoder; the decoder, fed >= 60k random and mutated messages, either decodes or throws
// NetlinkDecodeError; bad specs and NAT options are refused with ERR_* before any syscall.
import { describe, expect, test } from 'vitest';
import { NetlinkDecodeError } from '../../src/errors.js';
import { NL } from '../../src/net/netlink/constants.js';
import { NFT } from '../../src/net/netlink/nft-constants.js';
import { decodeChain, decodeRule, decodeTable, encodeNewChain, encodeNewRule, encodeNewTable, nftType } from '../../src/net/netlink/nft.js';
import { MessageWriter, decodeError, splitMessages } from '../../src/net/netlink/wire.js';
import { masquerade, publishPort, publishPorts } from '../../src/net/nft/nat.js';
import { openNftables } from '../../src/net/nft/session.js';
import { checkOp } from '../../src/net/nft/validate.js';
import * as m from '../../src/net/nft/match.js';
import type { NftExpr, NftRuleSpec } from '../../src/net/nft/types.js';
import { ipBytes } from '../../src/net/ip.js';

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

const ALL: NftExpr[] = [
  ...m.ipPrefix('saddr', ipBytes('10.88.0.0')!, 20),
  ...m.ifname('oifname', 'eth0', 'neq'),
  ...m.dport('udp', 53),
  ...m.fibDaddrLocal(),
  ...m.ctState(['established', 'related']),
  ...m.ctStatusDnat(),
  { type: 'ct', key: 'mark', dreg: 8, direction: 'reply' },
  { type: 'counter', packets: 3n, bytes: 99n },
  { type: 'lookup', set: 'allowed', sreg: 1, dreg: 2, invert: true },
  ...m.dnat(ipBytes('fd00::2')!, 80),
  { type: 'nat', nat: 'snat', family: 'ip', addrMin: 1, addrMax: 2, flags: ['map-ips', 'persistent'] },
  { type: 'masq', flags: ['random-fully'], protoMin: 1, protoMax: 2 },
  { type: 'verdict', verdict: { goto: 'other' } },
];

function asDump(w: MessageWriter): ReturnType<typeof splitMessages>[number] {
  return splitMessages(Buffer.from(w.finish(1, 0)))[0]!;
}

const norm = (e: NftExpr): unknown =>
  Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v]));

describe('nf_tables codec', () => {
  test('a rule with every modelled expression decodes to what was encoded', () => {
    const spec: NftRuleSpec = { family: 'inet', table: 't', chain: 'c', exprs: ALL };
    const r = decodeRule(asDump(encodeNewRule(spec)));
    expect(r.family).toBe('inet');
    expect(r.table).toBe('t');
    expect(r.chain).toBe('c');
    // counter without values decodes with 0n; here every value is explicit
    expect(r.exprs.map(norm)).toEqual(ALL.map(norm));
  });

  test('tables and chains decode back', () => {
    const t = decodeTable(asDump(encodeNewTable({ family: 'ip6', name: 'x', owner: true })));
    expect(t).toMatchObject({ family: 'ip6', name: 'x', owner: true, dormant: false });
    const c = decodeChain(
      asDump(encodeNewChain({ family: 'ip', table: 'x', name: 'pre', type: 'nat', hook: 'prerouting', priority: -100, policy: 'drop' })),
    );
    expect(c).toMatchObject({ family: 'ip', table: 'x', name: 'pre', type: 'nat', hook: 'prerouting', priority: -100, policy: 'drop' });
    const n = decodeChain(asDump(encodeNewChain({ family: 'netdev', table: 'x', name: 'in', hook: 'ingress', device: 'eth0' })));
    expect(n).toMatchObject({ hook: 'ingress', device: 'eth0', type: 'filter' });
  });

  test('an expression this codec does not model is kept raw, and re-encodes to the same bytes', () => {
    const raw = { type: 'other', name: 'log', data: Buffer.from('0800020000000001', 'hex') } as const;
    const w = encodeNewRule({ family: 'ip', table: 't', chain: 'c', exprs: [raw] });
    const r = decodeRule(asDump(w));
    expect(r.exprs).toEqual([{ type: 'other', name: 'log', data: Uint8Array.from(raw.data) }]);
  });

  test('65,000 random and mutated messages: only NetlinkDecodeError is ever thrown', () => {
    const rand = rng(0x6e667431);
    const int = (n: number) => Math.floor(rand() * n);
    const seeds = [
      encodeNewRule({ family: 'inet', table: 't', chain: 'c', exprs: ALL }),
      encodeNewRule({ family: 'ip', table: 't', chain: 'c', exprs: [...m.dport('tcp', 80), ...m.dnat(ipBytes('10.0.0.2')!, 8080)] }),
      encodeNewTable({ family: 'ip', name: 'nsbox', owner: true }),
      encodeNewChain({ family: 'ip', table: 'x', name: 'pre', type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' }),
    ].map((w) => Buffer.from(w.finish(1, 0)));
    const decoders = [decodeRule, decodeRule, decodeTable, decodeChain];
    let refused = 0;
    for (let i = 0; i < 65_000; i++) {
      const k = int(seeds.length);
      let d = Buffer.from(seeds[k]!);
      if (i % 5 === 0) {
        d = Buffer.alloc(16 + int(300));
        for (let j = 16; j < d.length; j++) d[j] = int(256);
        d.writeUInt32LE(d.length, 0);
      } else {
        for (let e = 1 + int(4); e > 0; e--) {
          const at = 16 + int(d.length - 16);
          const op = int(4);
          if (op === 0) d[at] = int(256);
          else if (op === 1) d[at] = d[at]! ^ (1 << int(8));
          else if (op === 2 && at + 1 < d.length) d.writeUInt16LE([0, 3, 4, 5, 0xffff, d.length - at][int(6)]!, at & ~1);
          else {
            d = d.subarray(0, at);
            d.writeUInt32LE(d.length, 0);
          }
        }
      }
      try {
        for (const msg of splitMessages(d)) decoders[k]!(msg);
      } catch (err) {
        if (!(err instanceof NetlinkDecodeError))
          throw new Error(`iteration ${i}: ${(err as Error).name}: ${(err as Error).message} for ${d.toString('hex')}`);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });

  test('an nf_tables error reply names its request by sequence number', () => {
    const err = new MessageWriter(NL.NLMSG_ERROR, NL.NLM_F_CAPPED)
      .i32(-2)
      .u32(20)
      .u16(nftType(NFT.NFT_MSG_NEWRULE))
      .u16(NL.NLM_F_REQUEST)
      .u32(7)
      .u32(0);
    const [msg] = splitMessages(Buffer.from(err.finish(7, 0)));
    expect(msg!.seq).toBe(7);
    expect(decodeError(msg!).error).toBe(-2);
  });
});

describe('validation before any syscall', () => {
  test.each([
    [{ add: { table: { family: 'ipx', name: 't' } } }, 'ops[0].add.table.family'],
    [{ add: { table: { family: 'ip', name: '' } } }, 'ops[0].add.table.name'],
    [{ add: { table: { family: 'ip', name: 'a\0b' } } }, 'ops[0].add.table.name'],
    [{ add: { chain: { family: 'ip', table: 't', name: 'c', hook: 'ingress' } } }, 'ops[0].add.chain.hook'],
    [{ add: { chain: { family: 'ip', table: 't', name: 'c', policy: 'drop' } } }, 'ops[0].add.chain.policy'],
    [
      { add: { rule: { family: 'ip', table: 't', chain: 'c', exprs: [{ type: 'meta', key: 'nope', dreg: 1 }] } } },
      'ops[0].add.rule.exprs[0].key',
    ],
    [
      { add: { rule: { family: 'ip', table: 't', chain: 'c', exprs: [{ type: 'cmp', op: 'eq', sreg: 5, data: Buffer.from([1]) }] } } },
      'ops[0].add.rule.exprs[0].sreg',
    ],
    [
      { add: { rule: { family: 'ip', table: 't', chain: 'c', exprs: [{ type: 'cmp', op: 'eq', sreg: 1, data: Buffer.alloc(17) }] } } },
      'ops[0].add.rule.exprs[0].data',
    ],
    [{ add: { rule: { family: 'ip', table: 't', chain: 'c', exprs: [{ type: 'log' }] } } }, 'ops[0].add.rule.exprs[0].type'],
    [{ delete: { rule: { family: 'ip', table: 't', chain: 'c', handle: 3 } } }, 'ops[0].delete.rule.handle'],
    [{ add: { table: { family: 'ip', name: 't' } }, delete: {} }, 'ops[0]'],
  ])('checkOp refuses %j', (op, name) => {
    let err: (Error & { code?: string }) | undefined;
    try {
      checkOp('ops[0]', op);
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expect(err?.code).toMatch(/^ERR_INVALID_ARG_(VALUE|TYPE)$/);
    expect(err?.message).toContain(`'${name}'`);
  });

  test('NAT options', async () => {
    await expect(masquerade({ subnet: '10.0.0.0' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(masquerade({ subnet: '10.0.0.0/33' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(masquerade({ subnet: '10.0.0.0/8', outInterface: 'a\0' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(masquerade({ subnet: '10.0.0.0/8', netns: 'no/such' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    const ok = { hostPort: 8080, protocol: 'tcp', target: '10.0.0.2', targetPort: 80 } as const;
    await expect(publishPort({ ...ok, protocol: 'sctp' as 'tcp' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(publishPort({ ...ok, hostPort: 0 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(publishPort({ ...ok, targetPort: 70000 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(publishPort({ ...ok, target: 'example.com' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(publishPort({ ...ok, hostAddress: 'fd00::1' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(publishPort({ ...ok, hairpin: 'fd00::/64' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(publishPorts({ ports: [] })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(publishPorts({ ports: [ok, { ...ok, target: 'fd00::2' }] })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(() => openNftables({ netns: 'bad/name' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});
