// nf_tables change notifications (nftEvents) against the real kernel, inside network
// namespaces made here: changes by another nsbox socket and by `nft` in the same namespace
// arrive decoded and in order; closing ends the iterator and leaves no fd.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect } from 'vitest';
import { nftEvents, openNftables, type NftEvent } from '../../src/net/index.js';
import { runIsolated } from '../../src/testing/index.js';
import { canUserns, isRoot, rootlessTest, testIf } from '../helpers/env.js';
import { fdCount } from '../helpers/proc.js';

const hasNft = (() => {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const rootNs = testIf(isRoot, 'needs root (ip netns add)');
const nftTest = testIf(isRoot && hasNft, 'needs root and nft');
const usernsTest = testIf(canUserns, 'user namespaces cannot be created here');
const made: string[] = [];

function netns(): string {
  const n = `nsbx-ev-${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', n]);
  made.push(n);
  return n;
}
afterAll(() => {
  for (const n of made) execFileSync('ip', ['netns', 'del', n]);
});

/** The next `n` events, as short strings (`new table inet t`, `generation`). */
async function take(it: AsyncIterator<NftEvent>, n: number): Promise<string[]> {
  const out: string[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    const e = r.value;
    if (e.type === 'generation') out.push('generation');
    else if (e.type === 'table') out.push(`${e.action} table ${e.table.family} ${e.table.name}`);
    else if (e.type === 'chain') out.push(`${e.action} chain ${e.chain.table} ${e.chain.name}${e.chain.hook ? ` ${e.chain.hook}` : ''}`);
    else out.push(`${e.action} rule ${e.rule.table} ${e.rule.chain} ${e.rule.exprs.map((x) => x.type).join(',')}`);
  }
  return out;
}

describe('nftEvents', () => {
  rootNs("another socket's transactions arrive decoded, in order, each closed by its generation", async () => {
    const ns = netns();
    const fds = fdCount();
    const events = nftEvents({ netns: ns });
    const s = openNftables({ netns: ns });
    try {
      const gen0 = await s.generation();
      await s.commit([
        { add: { table: { family: 'inet', name: 't' } } },
        { add: { chain: { family: 'inet', table: 't', name: 'in', hook: 'input', type: 'filter', priority: 0, policy: 'accept' } } },
        {
          add: { rule: { family: 'inet', table: 't', chain: 'in', exprs: [{ type: 'counter' }, { type: 'verdict', verdict: 'accept' }] } },
        },
      ]);
      const [rule] = await s.rules({ family: 'inet', table: 't' });
      await s.commit([{ delete: { rule: { family: 'inet', table: 't', chain: 'in', handle: rule!.handle } } }]);
      await s.commit([{ delete: { table: { family: 'inet', name: 't' } } }]);
      expect(await take(events, 9)).toEqual([
        'new table inet t',
        'new chain t in input',
        'new rule t in counter,verdict',
        'generation',
        'del rule t in counter,verdict',
        'generation',
        'del chain t in',
        'del table inet t',
        'generation',
      ]);
    } finally {
      s.close();
      events.close();
    }
    expect(await events.next()).toEqual({ value: undefined, done: true });
    expect(fdCount()).toBe(fds);
  });

  nftTest('`nft` run in the namespace is seen too, with its pid and name on the generation', async () => {
    const ns = netns();
    const before = await (async () => {
      using s = openNftables({ netns: ns });
      return await s.generation();
    })();
    using events = nftEvents({ netns: ns });
    execFileSync('ip', ['netns', 'exec', ns, 'nft', 'add table ip x; add chain ip x c; add rule ip x c counter; add table ip y']);
    const got: NftEvent[] = [];
    for await (const e of events) {
      got.push(e);
      if (e.type === 'generation') break;
    }
    expect(got.map((e) => (e.type === 'generation' ? e.type : `${e.action} ${e.type}`))).toEqual([
      'new table',
      'new chain',
      'new rule',
      'new table',
      'generation',
    ]);
    const [t1, c, r, t2, g] = got as [NftEvent, NftEvent, NftEvent, NftEvent, NftEvent];
    expect(t1.type === 'table' && t1.table).toMatchObject({ family: 'ip', name: 'x', owner: false });
    expect(c.type === 'chain' && c.chain).toMatchObject({ family: 'ip', table: 'x', name: 'c' });
    expect(r.type === 'rule' && r.rule.exprs).toEqual([{ type: 'counter', packets: 0n, bytes: 0n }]);
    expect(t2.type === 'table' && t2.table.name).toBe('y');
    expect(g).toMatchObject({ type: 'generation', id: before + 1, processName: 'nft' });
    expect(g.type === 'generation' && typeof g.pid).toBe('number');
    // `break` closed it: the iterator is done.
    expect(await events.next()).toEqual({ value: undefined, done: true });
  });

  rootNs('an AbortSignal ends a waiting next() with ABORT_ERR; bad options throw before any socket', async () => {
    const ns = netns();
    const fds = fdCount();
    const ac = new AbortController();
    const events = nftEvents({ netns: ns, signal: ac.signal });
    const waiting = events.next();
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ABORT_ERR', name: 'AbortError' });
    expect(await events.next()).toEqual({ value: undefined, done: true });
    expect(fdCount()).toBe(fds);
    expect(() => nftEvents({ signal: ac.signal })).toThrow(expect.objectContaining({ code: 'ABORT_ERR' }));
    expect(() => nftEvents({ signal: 1 as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => nftEvents(null as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(fdCount()).toBe(fds);
  });

  usernsTest('in a network namespace of its own user namespace: works without root (the same test as root)', async () => {
    const fns = new URL('../helpers/nft-events-fns.mjs', import.meta.url);
    const seen = await runIsolated(fns, 'ownNamespaceEvents', [], { namespaces: ['user', 'net'], timeout: 20_000 });
    expect(seen).toEqual(['new table', 'generation by true', 'del table', 'generation by true']);
  });

  rootlessTest('without CAP_NET_ADMIN over the namespace: EPERM from bind(2)', () => {
    expect(() => nftEvents()).toThrow(expect.objectContaining({ code: 'EPERM', syscall: 'bind' }));
  });
});
