// `nsbox run --network NAME` against the LAN, and the --publish clash check against userspace
// forwarders, each test in network namespaces it makes (nsbox runs in `host` through `ip netns
// exec`; `lan` is a neighbour on host's `hout` link that routes the network's subnet through
// host, as a LAN host would). A member gets what a `--net veth` sandbox gets (cli-veth.test.ts):
// the LAN reaches its published ports, not its address; the members still reach each other
// over the bridge, and the LAN. Witnesses: the answers a peer gets (the client address it saw)
// and the tables the kernel lists. Needs root and ip; no nft(8).
import { execFileSync, spawn as spawnProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
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
const inPeer = (...a: string[]) => `${process.execPath} /h/nft-peer.mjs ${a.join(' ')}`;
const netTest = testIf(isRoot && tools.ip, 'needs root and ip');

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'scripts/ensure-built.mjs')], { stdio: 'ignore' });
});

const sh = (...a: string[]) => execFileSync(a[0]!, a.slice(1), { encoding: 'utf8' });
const made: string[] = [];
const networks: string[] = [];
const procs: Array<ReturnType<typeof spawnProcess>> = [];

afterAll(() => {
  for (const p of procs) p.kill('SIGKILL');
  // The bridges and tables go with the namespaces; the networks' state is in /run/nsbox.
  for (const n of networks) rmSync(`/run/nsbox/networks/${n}`, { recursive: true, force: true });
  for (const n of made) {
    try {
      sh('ip', 'netns', 'del', n);
    } catch {
      // gone already
    }
  }
});

/** host(10.99.0.1, hout) — lan(10.99.0.2, eth0). */
const topology = () => {
  const t = twoNetns('i', made);
  return { host: t.host, lan: t.peer };
};

/** nsbox in `ns` (test/helpers/two-netns.ts startNsboxIn). */
const startIn = (ns: string, args: string[]) => startNsboxIn(cli, procs, ns, args);
const run = (ns: string, args: string[]) => startIn(ns, args).done;
async function stop(r: ReturnType<typeof startIn>) {
  r.p.kill('SIGTERM');
  return r.done;
}
/** `sh -c 'print DEV's address; serve PORTS'`. */
const serving = (dev: string, ...ports: number[]) => [
  'sh',
  '-c',
  `ip -4 -o addr show dev ${dev}; ${ports.map((p) => inPeer('serve', String(p))).join(' & ')}; wait`,
];
const ask = (ns: string, proto: 'tcp' | 'udp', host: string, port: number) =>
  sh('ip', 'netns', 'exec', ns, process.execPath, peer, proto, host, String(port)).trim();
const links = (ns: string) => (JSON.parse(sh('ip', '-n', ns, '-j', 'link')) as Array<{ ifname: string }>).map((l) => l.ifname).sort();
async function tables(ns: string): Promise<string[]> {
  const nft = openNftables({ netns: ns });
  try {
    return (await nft.tables()).map((t) => `${t.family} ${t.name}`).sort();
  } finally {
    nft.close();
  }
}
/** The LAN's server (answers with the client address it saw). */
async function serveLan(ns: string, port: number) {
  const p = spawnProcess('ip', ['netns', 'exec', ns, process.execPath, peer, 'serve', String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  procs.push(p);
  await new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()));
}
/** `nsbox network create NAME [flags]` in `ns`, with the LAN routing its subnet through host; returns the subnet. */
async function network(t: { host: string; lan: string }, name: string, ...flags: string[]): Promise<string> {
  networks.push(name);
  const c = await run(t.host, ['network', 'create', name, ...flags]);
  expect(c).toMatchObject({ code: 0, stderr: '' });
  const subnet = c.stdout.split(' ')[1]!;
  sh('ip', '-n', t.lan, 'route', 'add', subnet, 'via', '10.99.0.1');
  return subnet;
}
/** After `nsbox network rm`: only what twoNetns made. */
async function nothingLeft(ns: string) {
  for (let i = 0; i < 100 && links(ns).length > 2; i++) await new Promise((r) => setTimeout(r, 20));
  expect(links(ns)).toEqual(['hout', 'lo']);
  expect(await tables(ns)).toEqual([]);
}

describe('nsbox run --network: the LAN, as for --net veth', () => {
  netTest(
    "the LAN reaches a member's published ports only, not its address; nor does a --net veth sandbox; members reach each other and, through NAT, the LAN",
    async () => {
      const t = topology();
      const name = `i${randomBytes(3).toString('hex')}`;
      const gateway = (await network(t, name)).replace(/\.0\/\d+$/, '.1');
      await serveLan(t.lan, 7000);
      const web = startIn(t.host, [
        'run',
        ...vol,
        '--network',
        name,
        '--hostname',
        'web',
        '-p',
        '8080:7001',
        '--',
        ...serving('eth0', 7001, 7002),
      ]);
      const addr = await web.ready;
      expect(ask(t.lan, 'tcp', '10.99.0.1', 8080)).toBe('10.99.0.2'); // published
      expect(ask(t.lan, 'tcp', addr, 7001)).toBe('timeout'); // direct, a published port's target
      expect(ask(t.lan, 'tcp', addr, 7002)).toBe('timeout'); // direct, unpublished
      expect(ask(t.lan, 'udp', addr, 7002)).toBe('timeout');
      expect(ask(t.host, 'tcp', addr, 7002)).toBe(gateway); // the host itself still does
      // Another member: by name and by address over the bridge, out through NAT.
      const script = `ip -4 -o addr show dev eth0; ${inPeer('tcp', 'web', '7002')}; ${inPeer('udp', addr, '7002')}; ${inPeer('tcp', '10.99.0.2', '7000')}`;
      const client = await run(t.host, ['run', ...vol, '--network', name, '--hostname', 'client', '--', 'sh', '-c', script]);
      expect(client.stderr).toBe('');
      const self = /inet (\S+)\/\d+/.exec(client.stdout)?.[1];
      expect(client.stdout.split('\n').slice(1)).toEqual([self, self, '10.99.0.1', '']);
      // A --net veth sandbox: out through NAT yes, to the member's address no.
      const v = await run(t.host, [
        'run',
        ...vol,
        '--net',
        'veth',
        '--',
        'sh',
        '-c',
        `${inPeer('tcp', addr, '7002')}; ${inPeer('tcp', '10.99.0.2', '7000')}`,
      ]);
      expect(v).toMatchObject({ code: 0, stdout: 'timeout\n10.99.0.1\n' });
      // A setup that fails midway (a host port published already) leaves no table behind.
      const before = await tables(t.host);
      expect(before.filter((x) => x.startsWith('ip nsbox_iso_'))).toHaveLength(1); // web's
      const clash = await run(t.host, ['run', '--network', name, '-p', '8080:7003', '--', 'true']);
      expect(clash.code).toBe(125);
      expect(clash.stderr).toMatch(/^nsbox: --publish 8080:7003: host port \*:8080\/tcp is published already/);
      expect(await tables(t.host)).toEqual(before);
      await stop(web);
      expect(await tables(t.host)).toEqual([`ip nsbox_net_${name}`]);
      expect(await run(t.host, ['network', 'rm', name])).toMatchObject({ code: 0, stderr: '' });
      await nothingLeft(t.host);
    },
  );

  netTest("a network without NAT: a member's own connections to the LAN get their replies, the LAN's to it do not get in", async () => {
    const t = topology();
    const name = `i${randomBytes(3).toString('hex')}`;
    await network(t, name, '--no-nat');
    // A network without NAT forwards only where forwarding is on (as --net veth --no-nat).
    sh('ip', 'netns', 'exec', t.host, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    await serveLan(t.lan, 7000);
    const m = startIn(t.host, [
      'run',
      ...vol,
      '--network',
      name,
      '--',
      'sh',
      '-c',
      `ip -4 -o addr show dev eth0; ${inPeer('tcp', '10.99.0.2', '7000')}; ${inPeer('serve', '7003')}`,
    ]);
    const addr = await m.ready;
    expect(m.p.exitCode).toBe(null);
    expect(ask(t.lan, 'tcp', addr, 7003)).toBe('timeout');
    const r = await stop(m);
    expect(r.stdout.split('\n')[1]).toBe(addr); // the LAN saw the member's own address, and answered
    expect(await tables(t.host)).toEqual([]);
    expect(await run(t.host, ['network', 'rm', name])).toMatchObject({ code: 0, stderr: '' });
    await nothingLeft(t.host);
  });
});

describe('--publish: the clash check covers userspace forwarders', () => {
  netTest(
    "a DNAT'd port that a forwarder listens on is refused; a port a DNAT table holds is refused to --net none's forwarder",
    async () => {
      const t = topology();
      // --net none -p 8090: a forwarder on 0.0.0.0:8090, which no nf_tables table shows.
      const none = startIn(t.host, ['run', ...vol, '--net', 'none', '-p', '8090:7001', '--', ...serving('lo', 7001)]);
      await none.ready;
      for (let i = 0; i < 50 && ask(t.host, 'tcp', '10.99.0.1', 8090) !== '127.0.0.1'; i++) await new Promise((r) => setTimeout(r, 20));
      expect(ask(t.lan, 'tcp', '10.99.0.1', 8090)).toBe('127.0.0.1');
      // --net veth -p 127.0.0.1:8091 (a forwarder too) and -p 8092 (a DNAT table).
      const a = startIn(t.host, [
        'run',
        ...vol,
        '--net',
        'veth',
        '-p',
        '127.0.0.1:8091:7001',
        '-p',
        '8092:7001',
        '--',
        ...serving('eth0', 7001),
      ]);
      await a.ready;
      for (const p of ['8090:7002', '10.99.0.1:8090:7002', '8091:7002']) {
        const r = await run(t.host, ['run', '--net', 'veth', '-p', p, '--', 'true']);
        expect(r.code).toBe(125);
        expect(r.stderr).toMatch(
          new RegExp(
            `^nsbox: --publish ${p.replace(/\./g, '\\.')}: host port (0\\.0\\.0\\.0|127\\.0\\.0\\.1):${p.split(':').at(-2)}/tcp is in use by a listening socket of process \\d+`,
          ),
        );
      }
      // The LAN still reaches the forwarder, not a DNAT'd run.
      expect(ask(t.lan, 'tcp', '10.99.0.1', 8090)).toBe('127.0.0.1');
      // Another protocol, or another address than the forwarder's: no clash.
      expect(await run(t.host, ['run', '--net', 'veth', '-p', '8090:7002/udp', '-p', '10.99.0.1:8091:7002', '--', 'true'])).toMatchObject({
        code: 0,
        stderr: '',
      });
      // The other way round: --net none's forwarder on a port a DNAT table holds.
      const n = await run(t.host, ['run', '--net', 'none', '-p', '8092:7002', '--', 'sleep', '5']);
      expect(n.code).toBe(125);
      expect(n.stderr).toMatch(/^nsbox: --publish 8092:7002: host port \*:8092\/tcp is published already/);
      await stop(a);
      await stop(none);
      expect(await tables(t.host)).toEqual([]);
      expect(links(t.host)).toEqual(['hout', 'lo']);
    },
  );
});
