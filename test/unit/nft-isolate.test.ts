// The direct-access protection table of `--net veth` (isolatePlan) and the reading back of
// published ports (decodePublishRule) over the rules publishPlan makes. No privileges.
import { describe, expect, test } from 'vitest';
import { parseCidr, parseIp } from '../../src/net/ip.js';
import { isolateAddress, isolatePlan } from '../../src/net/nft/isolate.js';
import * as m from '../../src/net/nft/match.js';
import { publishPlan, type ResolvedPort } from '../../src/net/nft/nat.js';
import { decodePublishRule } from '../../src/net/nft/published.js';
import { encodeTransaction } from '../../src/net/nft/session.js';
import type { NftExpr, NftOp } from '../../src/net/nft/types.js';

const ip = (s: string) => parseIp('x', s).bytes;
const rules = (ops: NftOp[]) => ops.flatMap((o) => ('add' in o && 'rule' in o.add ? [o.add.rule] : []));

describe('isolatePlan', () => {
  test('raw prerouting: ip daddr ADDR iifname != IF counter drop', () => {
    const ops = isolatePlan('nsbox_iso_1_1', ip('10.200.0.2'), 'nsbx0123abcd', false, true);
    expect(ops[0]).toEqual({ add: { table: { family: 'ip', name: 'nsbox_iso_1_1', owner: true } } });
    expect(ops[1]).toMatchObject({ add: { chain: { type: 'filter', hook: 'prerouting', priority: -300, policy: 'accept' } } });
    expect(rules(ops)).toEqual([
      {
        family: 'ip',
        table: 'nsbox_iso_1_1',
        chain: 'isolate',
        exprs: [
          ...m.ipAddr('daddr', ip('10.200.0.2')),
          ...m.ifname('iifname', 'nsbx0123abcd', 'neq'),
          ...m.counter(),
          ...m.verdict('drop'),
        ],
      },
    ]);
    expect(() => encodeTransaction(ops)).not.toThrow();
  });
  test('allowReplies: after conntrack (-150), established and related let through', () => {
    const ops = isolatePlan('t', ip('10.200.0.2'), 'h', true, true);
    expect(ops[1]).toMatchObject({ add: { chain: { priority: -150 } } });
    const exprs = rules(ops)[0]!.exprs as NftExpr[];
    const ct = m.ctStateNone(['established', 'related']);
    expect(exprs.slice(-4, -2)).toEqual(ct.slice(1)); // bitwise on the state, then cmp eq 0
    expect(ct[2]).toMatchObject({ type: 'cmp', op: 'eq', data: new Uint8Array(4) });
    expect(ct[1]).toEqual(m.ctState(['established', 'related'])[1]); // the same mask as `ct state established,related`
  });
});

describe('decodePublishRule reads back what publishPlan writes', () => {
  test('every address and one address, TCP and UDP; hairpin and jumps are no ports', () => {
    const ports: ResolvedPort[] = [
      { protocol: 'tcp', hostPort: 8080, target: ip('10.200.0.2'), targetPort: 80, hairpin: parseCidr('x', '10.200.0.0/30') },
      { protocol: 'udp', hostPort: 53, hostAddress: ip('192.168.1.5'), target: ip('10.200.0.2'), targetPort: 5353 },
    ];
    const decoded = rules(publishPlan('nsbox_pub_1_1', 'ip', ports, true)).map((r) => decodePublishRule(r.exprs as NftExpr[]));
    expect(decoded).toEqual([
      { protocol: 'tcp', hostPort: 8080, target: '10.200.0.2', targetPort: 80 },
      { protocol: 'udp', hostPort: 53, hostAddress: '192.168.1.5', target: '10.200.0.2', targetPort: 5353 },
      undefined, // jump ports (prerouting)
      undefined, // jump ports (output)
      undefined, // hairpin masquerade
    ]);
  });
  test('IPv6', () => {
    const ports: ResolvedPort[] = [
      { protocol: 'tcp', hostPort: 443, hostAddress: ip('fd00::1'), target: ip('fd00:1::2'), targetPort: 8443 },
    ];
    const [r] = rules(publishPlan('t', 'ip6', ports, true));
    expect(decodePublishRule(r!.exprs as NftExpr[])).toEqual({
      protocol: 'tcp',
      hostPort: 443,
      hostAddress: 'fd00::1',
      target: 'fd00:1::2',
      targetPort: 8443,
    });
  });
});

describe('isolateAddress checks its options before any syscall', () => {
  test.each([
    ['options.address', { address: '10.200.0', inInterface: 'h' }],
    ['options.inInterface', { address: '10.200.0.2', inInterface: 'h\0x' }],
  ])('%s', async (_arg, o) => {
    await expect(isolateAddress(o)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });
  test('allowReplies must be a boolean', async () => {
    await expect(isolateAddress({ address: '10.200.0.2', inInterface: 'h', allowReplies: 1 as never })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
  });
});
