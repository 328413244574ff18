// nftEvents' decoder without privileges: each notification kind becomes its typed event, a
// kind not modelled (sets) is skipped, and 20,000 mutated notifications either decode or
// throw NetlinkDecodeError.
import { describe, expect, test } from 'vitest';
import { NetlinkDecodeError } from '../../src/errors.js';
import { NL } from '../../src/net/netlink/constants.js';
import { NFT } from '../../src/net/netlink/nft-constants.js';
import { encodeDelTable, encodeNewChain, encodeNewRule, encodeNewTable, nftType } from '../../src/net/netlink/nft.js';
import { MessageWriter, splitMessages } from '../../src/net/netlink/wire.js';
import { decodeNftEvent } from '../../src/net/nft/events.js';

const one = (w: MessageWriter) => splitMessages(Buffer.from(w.finish(0, 4242)))[0]!;

function newGen(id: number, pid: number, name: string): MessageWriter {
  return new MessageWriter(nftType(NFT.NFT_MSG_NEWGEN), 0)
    .u8(NL.AF_UNSPEC)
    .u8(NFT.NFNETLINK_V0)
    .bytes(Uint8Array.of(0, 0))
    .attrBe32(NFT.NFTA_GEN_ID, id)
    .attrBe32(NFT.NFTA_GEN_PROC_PID, pid)
    .attrString(NFT.NFTA_GEN_PROC_NAME, name);
}

describe('nftEvents decoder', () => {
  test('tables, chains, rules and generations become typed events', () => {
    expect(decodeNftEvent(one(encodeNewTable({ family: 'inet', name: 't' })))).toMatchObject({
      type: 'table',
      action: 'new',
      table: { family: 'inet', name: 't', owner: false },
    });
    expect(decodeNftEvent(one(encodeDelTable('ip', 'gone')))).toMatchObject({ type: 'table', action: 'del', table: { name: 'gone' } });
    expect(decodeNftEvent(one(encodeNewChain({ family: 'ip', table: 't', name: 'c', hook: 'input', type: 'filter' })))).toMatchObject({
      type: 'chain',
      action: 'new',
      chain: { table: 't', name: 'c', hook: 'input' },
    });
    expect(
      decodeNftEvent(one(encodeNewRule({ family: 'ip', table: 't', chain: 'c', exprs: [{ type: 'verdict', verdict: 'drop' }] }))),
    ).toMatchObject({ type: 'rule', action: 'new', rule: { chain: 'c', exprs: [{ type: 'verdict', verdict: 'drop' }] } });
    expect(decodeNftEvent(one(newGen(42, 1234, 'nft')))).toEqual({ type: 'generation', id: 42, pid: 1234, processName: 'nft' });
  });

  test('a set notification is not reported', () => {
    const set = new MessageWriter(nftType(NFT.NFT_MSG_NEWSET), 0).u8(NL.AF_INET).u8(NFT.NFNETLINK_V0).bytes(Uint8Array.of(0, 0));
    expect(decodeNftEvent(one(set))).toBeUndefined();
  });

  test('20,000 mutated notifications: only NetlinkDecodeError is ever thrown', () => {
    let s = 0x65766e74;
    const int = (n: number) => {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      return Math.floor((s / 0x100000000) * n);
    };
    const seeds = [
      encodeNewTable({ family: 'ip', name: 'nsbox', owner: true }),
      encodeNewChain({ family: 'ip', table: 'x', name: 'pre', type: 'nat', hook: 'prerouting', priority: -100 }),
      encodeNewRule({ family: 'ip', table: 't', chain: 'c', exprs: [{ type: 'counter' }, { type: 'verdict', verdict: 'accept' }] }),
      newGen(7, 99, 'node'),
    ].map((w) => Buffer.from(w.finish(1, 0)));
    let refused = 0;
    for (let i = 0; i < 20_000; i++) {
      let d = Buffer.from(seeds[int(seeds.length)]!);
      for (let e = 1 + int(4); e > 0; e--) {
        const at = 16 + int(d.length - 16);
        if (int(3) === 0) {
          d = d.subarray(0, at);
          d.writeUInt32LE(d.length, 0);
        } else d[at] = int(256);
      }
      try {
        for (const msg of splitMessages(d)) decodeNftEvent(msg);
      } catch (err) {
        if (!(err instanceof NetlinkDecodeError)) throw new Error(`iteration ${i}: ${(err as Error).message} for ${d.toString('hex')}`);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(100);
  });
});
