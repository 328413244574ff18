// For test/integration/nft-events.test.ts, run with runIsolated in a user and network
// namespace of the test's own (plain JavaScript: loaded without vitest's transform).

/** Commits an owned table and deletes it; returns the four events seen, as short strings. */
export async function ownNamespaceEvents() {
  const { nftEvents, openNftables } = await import('nsbox/net');
  const events = nftEvents();
  const nft = openNftables();
  try {
    await nft.commit([{ add: { table: { family: 'ip', name: 'mine', owner: true } } }]);
    await nft.commit([{ delete: { table: { family: 'ip', name: 'mine' } } }]);
    const out = [];
    for await (const e of events) {
      out.push(e.type === 'generation' ? `generation by ${e.pid === process.pid}` : `${e.action} ${e.type}`);
      if (out.length === 4) break;
    }
    return out;
  } finally {
    nft.close();
    events.close();
  }
}
