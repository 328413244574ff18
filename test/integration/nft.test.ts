// nf_tables, NAT and published ports against the real kernel. All traffic stays inside
// network namespaces made here: "out" (the outside world: reachable only through the NAT),
// "host" (the NAT: a bridge, and a veth to out), and containers "c1", "c2" on the bridge.
// `nft -j list ruleset` in the same namespace is the witness; every namespace is removed.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect } from 'vitest';
import { masquerade, openNftables, publishPort, publishPorts } from '../../src/net/index.js';
import { liveNatHandles } from '../../src/net/nft/nat.js';
import { isRoot, testIf } from '../helpers/env.js';

const hasNft = (() => {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const nftTest = testIf(isRoot && hasNft, 'needs root and nft (the witness)');

const PEER = new URL('../helpers/nft-peer.mjs', import.meta.url).pathname;
const DIST = new URL('../../dist/net/index.js', import.meta.url).pathname;
const made: string[] = [];
const servers: ReturnType<typeof spawn>[] = [];

function sh(...args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
}

interface Topology {
  out: string;
  host: string;
  c1: string;
  c2: string;
}

/** out(10.99.0.2) — host(10.99.0.1 | br0 10.88.0.1) — c1 10.88.0.2, c2 10.88.0.3. */
function topology(): Topology {
  const id = randomBytes(3).toString('hex');
  const t = { out: `nsbx-o-${id}`, host: `nsbx-h-${id}`, c1: `nsbx-c1-${id}`, c2: `nsbx-c2-${id}` };
  for (const n of Object.values(t)) {
    sh('ip', 'netns', 'add', n);
    made.push(n);
    sh('ip', '-n', n, 'link', 'set', 'lo', 'up');
  }
  const H = ['ip', '-n', t.host];
  sh(...H, 'link', 'add', 'br0', 'type', 'bridge');
  sh(...H, 'addr', 'add', '10.88.0.1/24', 'dev', 'br0');
  sh(...H, 'link', 'set', 'br0', 'up');
  sh(...H, 'link', 'add', 'hout', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', t.out);
  sh(...H, 'addr', 'add', '10.99.0.1/24', 'dev', 'hout');
  sh(...H, 'link', 'set', 'hout', 'up');
  sh('ip', '-n', t.out, 'addr', 'add', '10.99.0.2/24', 'dev', 'eth0');
  sh('ip', '-n', t.out, 'link', 'set', 'eth0', 'up');
  for (const [c, addr] of [
    [t.c1, '10.88.0.2'],
    [t.c2, '10.88.0.3'],
  ] as const) {
    const v = `v${c.slice(5, 7)}`;
    sh(...H, 'link', 'add', v, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', c);
    sh(...H, 'link', 'set', v, 'master', 'br0', 'up');
    sh('ip', '-n', c, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
    sh('ip', '-n', c, 'link', 'set', 'eth0', 'up');
    sh('ip', '-n', c, 'route', 'add', 'default', 'via', '10.88.0.1');
  }
  return t;
}

/** A TCP+UDP server in `ns` answering with the client address it sees. */
async function serve(ns: string, port: number): Promise<void> {
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, PEER, 'serve', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  servers.push(p);
  const rl = createInterface({ input: p.stdout! });
  await new Promise<void>((resolve, reject) => {
    rl.once('line', () => resolve());
    p.once('exit', (code) => reject(new Error(`server in ${ns} exited ${code}`)));
  });
}

/** One exchange from `ns`: the address the server saw, or 'timeout'. */
function ask(ns: string, proto: 'tcp' | 'udp', host: string, port: number): string {
  return sh('ip', 'netns', 'exec', ns, process.execPath, PEER, proto, host, String(port)).trim();
}

interface NftJson {
  nftables: Record<string, { family: string; name: string; table?: string; chain?: string; flags?: string[] }>[];
}
function ruleset(ns: string): NftJson['nftables'] {
  return (JSON.parse(sh('ip', 'netns', 'exec', ns, 'nft', '-j', 'list', 'ruleset')) as NftJson).nftables.filter((o) => !('metainfo' in o));
}
const tablesOf = (ns: string) =>
  ruleset(ns)
    .filter((o) => 'table' in o)
    .map((o) => `${o.table!.family} ${o.table!.name}`)
    .sort();

afterAll(() => {
  for (const p of servers) p.kill('SIGKILL');
  for (const n of made) {
    try {
      sh('ip', 'netns', 'del', n);
    } catch {
      // gone already
    }
  }
});

describe('masquerade', () => {
  nftTest('TCP and UDP from a container reach the outside, which sees the NAT address — and only while the handle lives', async () => {
    const t = topology();
    await serve(t.out, 7000);
    // Without NAT the outside has no route back to 10.88.0.0/24.
    sh('ip', 'netns', 'exec', t.host, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    expect(ask(t.c1, 'tcp', '10.99.0.2', 7000)).toBe('timeout');
    sh('ip', 'netns', 'exec', t.host, 'sysctl', '-qw', 'net.ipv4.ip_forward=0');
    const h = await masquerade({ netns: t.host, subnet: '10.88.0.0/24' });
    expect(sh('ip', 'netns', 'exec', t.host, 'sysctl', '-n', 'net.ipv4.ip_forward').trim()).toBe('1');
    expect(tablesOf(t.host)).toEqual([`ip ${h.table}`]);
    expect(ask(t.c1, 'tcp', '10.99.0.2', 7000)).toBe('10.99.0.1');
    expect(ask(t.c1, 'udp', '10.99.0.2', 7000)).toBe('10.99.0.1');
    await h.close();
    await h.close(); // idempotent
    expect(tablesOf(t.host)).toEqual([]);
    expect(ask(t.c1, 'tcp', '10.99.0.2', 7000)).toBe('timeout');
    expect(liveNatHandles()).toBe(0);
  });
});

describe('published ports', () => {
  nftTest('a published TCP and UDP port answers from outside and the target sees the client; hairpin from the same bridge', async () => {
    const t = topology();
    await serve(t.c1, 80);
    const masq = await masquerade({ netns: t.host, subnet: '10.88.0.0/24' });
    const tcp = await publishPort({ netns: t.host, hostPort: 8080, protocol: 'tcp', target: '10.88.0.2', targetPort: 80 });
    const udp = await publishPort({ netns: t.host, hostPort: 8053, protocol: 'udp', target: '10.88.0.2', targetPort: 80 });
    try {
      expect(ask(t.out, 'tcp', '10.99.0.1', 8080)).toBe('10.99.0.2');
      expect(ask(t.out, 'udp', '10.99.0.1', 8053)).toBe('10.99.0.2');
      // c2 on the same bridge uses the published address; its connection is masqueraded,
      // so c1 answers through the host and c2 sees the reply come from where it went.
      expect(ask(t.c2, 'tcp', '10.99.0.1', 8080)).toBe('10.88.0.1');
      expect(ask(t.c2, 'udp', '10.99.0.1', 8053)).toBe('10.88.0.1');
      // The host itself (the output chain): its source was chosen for 10.99.0.1 before DNAT.
      expect(ask(t.host, 'tcp', '10.99.0.1', 8080)).toBe('10.99.0.1');
    } finally {
      await tcp.close();
      await udp.close();
      await masq.close();
    }
    expect(ask(t.out, 'tcp', '10.99.0.1', 8080)).not.toBe('10.99.0.2');
  });

  nftTest('closing a handle removes its rules and only them (nft -j list ruleset before and after)', async () => {
    const t = topology();
    sh(
      'ip',
      'netns',
      'exec',
      t.host,
      'nft',
      'add table inet theirs; add chain inet theirs c { type filter hook input priority 0; }; add rule inet theirs c counter',
    );
    const before = ruleset(t.host);
    const masq = await masquerade({ netns: t.host, subnet: '10.88.0.0/24', outInterface: 'hout' });
    const pub = await publishPorts({
      netns: t.host,
      ports: [
        { hostPort: 8080, protocol: 'tcp', target: '10.88.0.2', targetPort: 80 },
        { hostPort: 8443, hostAddress: '10.99.0.1', protocol: 'tcp', target: '10.88.0.3', targetPort: 443 },
      ],
    });
    const withBoth = ruleset(t.host);
    expect(tablesOf(t.host)).toEqual([`inet theirs`, `ip ${masq.table}`, `ip ${pub.table}`].sort());
    const rulesIn = (rs: NftJson['nftables'], table: string) => rs.filter((o) => 'rule' in o && o.rule!.table === table).length;
    expect(rulesIn(withBoth, pub.table)).toBe(2 + 2 + 1); // a DNAT per port, the jumps from prerouting and output, one hairpin
    expect(rulesIn(withBoth, masq.table)).toBe(1);
    pub[Symbol.dispose](); // synchronous: the kernel drops the owned table as the socket closes
    const afterPub = ruleset(t.host);
    expect(afterPub).toEqual(
      withBoth.filter((o) => Object.values(o)[0]!.table !== pub.table && !('table' in o && o.table!.name === pub.table)),
    );
    await masq.close();
    expect(ruleset(t.host)).toEqual(before);
  });

  nftTest('SIGKILL of the owning process removes its table', async () => {
    const t = topology();
    const child = spawn(process.execPath, [PEER, 'own', DIST, t.host, '10.88.0.0/24'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const table = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    expect(tablesOf(t.host)).toEqual([`ip ${table}`]);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(tablesOf(t.host)).toEqual([]);
  });
});

describe('nf_tables sessions', () => {
  nftTest('commit, list and delete against nft -j; refusals name their operation; an owned table refuses other sockets', async () => {
    const t = topology();
    using a = openNftables({ netns: t.host });
    using b = openNftables({ netns: t.host });
    await a.commit([
      { add: { table: { family: 'inet', name: 'fw', owner: true } } },
      { add: { chain: { family: 'inet', table: 'fw', name: 'in', type: 'filter', hook: 'input', priority: 0, policy: 'accept' } } },
      { add: { rule: { family: 'inet', table: 'fw', chain: 'in', exprs: [{ type: 'counter' }, { type: 'verdict', verdict: 'accept' }] } } },
    ]);
    const [tbl] = await a.tables();
    expect(tbl).toMatchObject({ family: 'inet', name: 'fw', owner: true, ownerPortId: a.portId });
    expect(await b.chains({ table: 'fw' })).toMatchObject([{ name: 'in', hook: 'input', type: 'filter', policy: 'accept', priority: 0 }]);
    const rules = await b.rules({ family: 'inet', table: 'fw', chain: 'in' });
    expect(rules).toHaveLength(1);
    const witness = ruleset(t.host).filter((o) => 'rule' in o);
    expect(witness.map((o) => (o.rule as unknown as { handle: number }).handle)).toEqual([Number(rules[0]!.handle)]);
    // Another socket may read an owned table but not change it.
    await expect(b.commit([{ delete: { table: { family: 'inet', name: 'fw' } } }])).rejects.toMatchObject({
      code: 'EPERM',
      syscall: 'NFT_MSG_DELTABLE',
      nftIndex: 0,
    });
    // A failing operation aborts the whole transaction and is named.
    const err = await a
      .commit([
        { add: { chain: { family: 'inet', table: 'fw', name: 'extra' } } },
        { add: { rule: { family: 'inet', table: 'fw', chain: 'missing', exprs: [] } } },
      ])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'NFT_MSG_NEWRULE', nftOp: 'add rule inet fw missing', nftIndex: 1 });
    expect((await a.chains()).map((c) => c.name)).toEqual(['in']);
    await a.commit([{ delete: { rule: { family: 'inet', table: 'fw', chain: 'in', handle: rules[0]!.handle } } }]);
    expect(await a.rules({ family: 'inet', table: 'fw' })).toEqual([]);
    a.close();
    expect(tablesOf(t.host)).toEqual([]);
    await expect(a.tables()).rejects.toMatchObject({ code: 'ERR_HANDLE_CLOSED' });
  });
});
