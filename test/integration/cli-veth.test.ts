// `nsbox run --net veth` and `--publish` between concurrent runs and against the LAN, each test
// in network namespaces it makes (nsbox runs in `host` through `ip netns exec`; `lan` is a
// neighbour on host's `hout` link that routes the sandboxes' 10.200.0.0/16 through host, as a
// LAN host would). Witnesses: `ip -j` of the namespaces, the answers a peer gets, and the tables
// the kernel lists. Needs root and ip; no nft(8).
import { execFileSync, spawn as spawnProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { openNftables } from '../../src/index.js';
import { isRoot, testIf, tools } from '../helpers/env.js';
import { startNsboxIn, twoNetns } from '../helpers/two-netns.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).bin.nsbox);
const helpers = fileURLToPath(new URL('../helpers', import.meta.url));
const vol = ['--volume', `${helpers}:/h:ro`];
const peer = join(helpers, 'nft-peer.mjs');
const netTest = testIf(isRoot && tools.ip, 'needs root and ip');

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'scripts/ensure-built.mjs')], { stdio: 'ignore' });
});

const sh = (...a: string[]) => execFileSync(a[0]!, a.slice(1), { encoding: 'utf8' });
const made: string[] = [];
const procs: Array<ReturnType<typeof spawnProcess>> = [];

afterAll(() => {
  for (const p of procs) p.kill('SIGKILL');
  for (const n of made) {
    try {
      sh('ip', 'netns', 'del', n);
    } catch {
      // gone already
    }
  }
});

/** host(10.99.0.1, hout) — lan(10.99.0.2, eth0, routing 10.200.0.0/16 via host). */
function topology(): { host: string; lan: string } {
  const t = twoNetns('v', made);
  sh('ip', '-n', t.peer, 'route', 'add', '10.200.0.0/16', 'via', '10.99.0.1');
  return { host: t.host, lan: t.peer };
}

/** nsbox in `ns` (test/helpers/two-netns.ts startNsboxIn). */
const startIn = (ns: string, args: string[]) => startNsboxIn(cli, procs, ns, args);
const run = (ns: string, args: string[]) => startIn(ns, args).done;

/** `--net veth [extra] -- sh -c 'print eth0's address; serve PORTS'`. */
const serveArgs = (extra: string[], ...ports: number[]) => [
  'run',
  ...vol,
  '--net',
  'veth',
  ...extra,
  '--',
  'sh',
  '-c',
  `ip -4 -o addr show dev eth0; ${ports.map((p) => `${process.execPath} /h/nft-peer.mjs serve ${p}`).join(' & ')}; wait`,
];
const ask = (ns: string, proto: 'tcp' | 'udp', host: string, port: number) =>
  sh('ip', 'netns', 'exec', ns, process.execPath, peer, proto, host, String(port)).trim();
const links = (ns: string) => (JSON.parse(sh('ip', '-n', ns, '-j', 'link')) as Array<{ ifname: string }>).map((l) => l.ifname).sort();
const v4routes = (ns: string) =>
  (JSON.parse(sh('ip', '-n', ns, '-j', '-4', 'route')) as Array<{ dst: string; dev: string }>).map((r) => `${r.dst} ${r.dev}`);
async function tables(ns: string): Promise<string[]> {
  const nft = openNftables({ netns: ns });
  try {
    return (await nft.tables()).map((t) => `${t.family} ${t.name}`);
  } finally {
    nft.close();
  }
}
/** The live claim files of the namespace's runs under /run/nsbox/veth. */
function claims(ns: string): string[] {
  const inode = `net:[${statSync(`/run/netns/${ns}`).ino}]`;
  try {
    return readdirSync('/run/nsbox/veth')
      .filter((f) => f.endsWith('.json'))
      .filter((f) => JSON.parse(readFileSync(`/run/nsbox/veth/${f}`, 'utf8')).netns === inode);
  } catch {
    return [];
  }
}
async function stop(r: ReturnType<typeof startIn>, signal: NodeJS.Signals = 'SIGTERM') {
  r.p.kill(signal);
  await r.done;
}
async function nothingLeft(ns: string) {
  // The kernel deletes a dead namespace's veth (and its route) a moment later.
  for (let i = 0; i < 100 && links(ns).length > 2; i++) await new Promise((r) => setTimeout(r, 20));
  expect(links(ns)).toEqual(['hout', 'lo']);
  expect(await tables(ns)).toEqual([]);
  expect(v4routes(ns)).toEqual(['10.99.0.0/24 hout']);
}

describe('nsbox run --net veth: concurrent runs, published ports, the LAN', () => {
  netTest('two runs get two subnets; a given subnet the host routes is refused; a SIGKILLed run frees its subnet', async () => {
    const t = topology();
    const a = startIn(t.host, serveArgs([], 7001));
    const addrA = await a.ready;
    const b = startIn(t.host, serveArgs([], 7001));
    const addrB = await b.ready;
    expect(addrA).toBe('10.200.0.2');
    expect(addrB).not.toBe(addrA);
    const routes = v4routes(t.host);
    expect(new Set(routes.map((r) => r.split(' ')[0])).size).toBe(routes.length); // one route per subnet
    // Each address answers, from its own sandbox's host end.
    expect(ask(t.host, 'tcp', addrA, 7001)).toBe('10.200.0.1');
    expect(ask(t.host, 'tcp', addrB, 7001)).toBe(addrB.replace(/\d+$/, (n) => String(Number(n) - 1)));
    // A subnet the host routes already (another run's, the LAN's): refused before anything is made.
    for (const net of [`veth:${addrA}/30`, 'veth:10.200.0.1/29', 'veth:10.99.0.77/24']) {
      const r = await run(t.host, ['run', '--net', net, '--', 'true']);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(new RegExp(`^nsbox: --net ${net.replace(/[./]/g, '\\$&')}: the host routes .* already`));
    }
    expect(links(t.host).length).toBe(4); // hout, lo and the two runs' host ends
    // SIGKILL of nsbox: the kernel drops its flock; once its veth is gone the subnet is free again.
    await stop(a, 'SIGKILL');
    for (let i = 0; i < 100 && v4routes(t.host).some((r) => r.startsWith('10.200.0.0/30')); i++)
      await new Promise((r) => setTimeout(r, 50));
    const c = await run(t.host, ['run', '--net', 'veth', '--', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    expect(c.stdout).toMatch(/inet 10\.200\.0\.2\/30/);
    await stop(b);
    await nothingLeft(t.host);
    expect(claims(t.host)).toEqual([]);
  });

  netTest('a host port another run publishes is refused, other ports and protocols are not; 127.0.0.1 is forwarded', async () => {
    const t = topology();
    const a = startIn(t.host, serveArgs(['-p', '8080:7001', '-p', '127.0.0.1:8081:7001', '-p', '127.0.0.1:8081:7001/udp'], 7001));
    const addrA = await a.ready;
    expect(ask(t.lan, 'tcp', '10.99.0.1', 8080)).toBe('10.99.0.2');
    // Loopback: the forwarder connects from the host end.
    expect(ask(t.host, 'tcp', '127.0.0.1', 8081)).toBe('10.200.0.1');
    expect(ask(t.host, 'udp', '127.0.0.1', 8081)).toBe('10.200.0.1');
    for (const p of ['8080:7002', '10.99.0.1:8080:7002', '127.0.0.1:8080:7002']) {
      const r = await run(t.host, ['run', '--net', 'veth', '-p', p, '--', 'true']);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(new RegExp(`^nsbox: --publish ${p}: host port \\*:8080/tcp is published already, to ${addrA}:7001`));
    }
    // A loopback port a forwarder holds: the bind says so.
    const l = await run(t.host, ['run', '--net', 'veth', '-p', '127.0.0.1:8081:7002', '--', 'true']);
    expect(l.code).toBe(125);
    expect(l.stderr).toMatch(/^nsbox: --publish 127\.0\.0\.1:8081:7002: .*EADDRINUSE/);
    const ok = await run(t.host, ['run', '--net', 'veth', '-p', '8080:7002/udp', '-p', '8082:7002', '--', 'true']);
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(ask(t.lan, 'tcp', '10.99.0.1', 8080)).toBe('10.99.0.2'); // still run A's
    await stop(a);
    expect(ask(t.host, 'tcp', '127.0.0.1', 8081)).toMatch(/^(ECONNREFUSED|timeout)$/);
    await nothingLeft(t.host);
  });

  netTest("the LAN reaches published ports only, not the sandbox's address; nor does another sandbox; --no-nat gets replies", async () => {
    const t = topology();
    await serveLan(t.lan, 7000);
    const a = startIn(t.host, serveArgs(['-p', '8080:7001'], 7001, 7002));
    const addrA = await a.ready;
    expect(ask(t.lan, 'tcp', '10.99.0.1', 8080)).toBe('10.99.0.2'); // published
    expect(ask(t.lan, 'udp', '10.99.0.1', 8080)).toBe('timeout'); // not published
    expect(ask(t.lan, 'tcp', addrA, 7001)).toBe('timeout'); // direct, a published port's target
    expect(ask(t.lan, 'tcp', addrA, 7002)).toBe('timeout'); // direct, unpublished
    expect(ask(t.lan, 'udp', addrA, 7002)).toBe('timeout');
    expect(ask(t.host, 'tcp', addrA, 7002)).toBe('10.200.0.1'); // the host itself still does
    // Another sandbox: out through NAT yes, to A's address no.
    const b = await run(t.host, [
      'run',
      ...vol,
      '--net',
      'veth',
      '--',
      'sh',
      '-c',
      `${process.execPath} /h/nft-peer.mjs tcp ${addrA} 7002; ${process.execPath} /h/nft-peer.mjs tcp 10.99.0.2 7000`,
    ]);
    expect(b).toMatchObject({ code: 0, stdout: 'timeout\n10.99.0.1\n' });
    // --no-nat: the LAN sees the sandbox's own address and its replies come back; the LAN's own
    // connections to it do not get in.
    const n = startIn(t.host, [
      'run',
      ...vol,
      '--net',
      'veth',
      '--no-nat',
      '--',
      'sh',
      '-c',
      `ip -4 -o addr show dev eth0; ${process.execPath} /h/nft-peer.mjs tcp 10.99.0.2 7000; ${process.execPath} /h/nft-peer.mjs serve 7003`,
    ]);
    const addrN = await n.ready;
    expect(ask(t.lan, 'tcp', addrN, 7003)).toBe('timeout');
    await stop(n);
    expect((await n.done).stdout).toContain(`${addrN}\n`);
    await stop(a);
    await nothingLeft(t.host);
  });
});

/** The LAN's server (answers with the client address it saw). */
async function serveLan(ns: string, port: number) {
  const p = spawnProcess('ip', ['netns', 'exec', ns, process.execPath, peer, 'serve', String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  procs.push(p);
  await new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()));
}
