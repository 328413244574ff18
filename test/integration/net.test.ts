// nsbox/net against the real kernel, with `ip -j` as the independent witness. Every test
// makes its own named network namespaces (random names) and removes them; links made in the
// caller's namespace are deleted; the fd count and /run/netns are checked at the end.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createNamespace, openNamespace, spawn } from '../../src/namespaces/index.js';
import { kFd } from '../../src/namespaces/types.js';
import {
  addAddress,
  addLink,
  connectToBridge,
  addNeighbour,
  deleteNeighbour,
  neighbours,
  replaceNeighbour,
  addRoute,
  addresses,
  connectTcpIn,
  connectToHost,
  createNetns,
  deleteAddress,
  deleteLink,
  deleteNetns,
  deleteRoute,
  events,
  link,
  links,
  listNetns,
  listenTcpIn,
  loUp,
  openNetns,
  replaceRoute,
  routes,
  setLink,
  type NetEvent,
} from '../../src/net/index.js';
import { isRoot, rootTest, testIf, tools } from '../helpers/env.js';

const made = new Set<string>();
const id = () => randomBytes(3).toString('hex');
function netns(): string {
  const name = `nsbxt-${id()}`;
  createNetns(name).close();
  made.add(name);
  return name;
}
function ip<T = unknown>(...args: string[]): T {
  const out = execFileSync('ip', ['-j', ...args], { encoding: 'utf8' });
  return (out.trim() === '' ? [] : JSON.parse(out)) as T;
}
interface IpLink {
  ifindex: number;
  ifname: string;
  mtu: number;
  address?: string;
  flags: string[];
  master?: string;
  linkinfo?: { info_kind: string; info_data?: Record<string, unknown> };
}
interface IpAddr {
  ifindex: number;
  addr_info: { family: string; local: string; prefixlen: number; broadcast?: string; label?: string; scope: string }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  table?: string;
  scope?: string;
}

/** Can this kernel make a link of `kind`? (dummy and vlan are modules some kernels lack.) */
function kernelHas(kind: string): boolean {
  if (!isRoot || !tools.ip) return false;
  try {
    execFileSync(
      'unshare',
      ['-n', 'sh', '-c', `ip link add p type veth peer name q && ip link add t link p type ${kind} ${kind === 'vlan' ? 'id 5' : ''}`],
      { stdio: 'ignore' },
    );
    return true;
  } catch {
    return false;
  }
}
const hasDummy = kernelHas('dummy');
const hasVlan = kernelHas('vlan');
const hasIpvlan = kernelHas('ipvlan');
const netTest = testIf(isRoot && tools.ip, 'needs root and iproute2');

/** This process's open fds, each with what it points at (`socket:[INODE]`, a path, …). */
function openFds(): Map<string, string> {
  const out = new Map<string, string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.set(fd, readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed meanwhile (the fd readdir used)
    }
  }
  return out;
}

/** Inodes of this network namespace's NETLINK_ROUTE sockets that joined no multicast group (/proc/net/netlink). */
function quietRtnlInodes(): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync('/proc/net/netlink', 'utf8').split('\n').slice(1)) {
    const c = line.trim().split(/\s+/);
    // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode; Eth 0 is NETLINK_ROUTE
    if (c.length >= 10 && c[1] === '0' && /^0+$/.test(c[3]!)) out.add(c[9]!);
  }
  return out;
}

/**
 * The fds opened since `before` that are sockets. connectToHost keeps one host-side
 * rtnetlink socket for the environment (src/net/connect.ts): at most that one may be new,
 * and it must be a NETLINK_ROUTE socket in no multicast group; every other socket a call
 * opens is closed before the call settles.
 */
function expectOnlyTheKeptSocket(before: Map<string, string>, countBefore: number): void {
  const now = openFds();
  const quiet = quietRtnlInodes();
  const added = [...now].filter(([fd, t]) => t.startsWith('socket:') && before.get(fd) !== t);
  expect(added.length).toBeLessThanOrEqual(1);
  for (const [, t] of added) expect(quiet).toContain(t.slice('socket:['.length, -1));
  expect(now.size).toBeLessThanOrEqual(countBefore + added.length);
}

/** The link names inside a namespace handle, as `ip -j link` run there sees them (nsenter). */
function linksIn(ns: { [kFd]: number }): string[] {
  const out = execFileSync('nsenter', [`--net=/proc/${process.pid}/fd/${ns[kFd]}`, 'ip', '-j', 'link'], { encoding: 'utf8' });
  return (JSON.parse(out) as IpLink[]).map((l) => l.ifname);
}

let fdsBefore = 0;
let fdMapBefore = new Map<string, string>();
beforeAll(() => {
  fdMapBefore = openFds();
  fdsBefore = fdMapBefore.size;
});
afterAll(() => {
  for (const n of made) {
    try {
      deleteNetns(n);
    } catch {
      // already removed by its test
    }
  }
});

describe('links', () => {
  netTest('links() lists what `ip -j link` lists, in a namespace given by name, handle and pid', async () => {
    const ns = netns();
    execFileSync('ip', ['-n', ns, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb']);
    execFileSync('ip', ['-n', ns, 'link', 'add', 'br0', 'mtu', '1400', 'type', 'bridge']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'va', 'up', 'master', 'br0']);
    const witness = ip<IpLink[]>('-n', ns, '-d', 'link');
    const ours = await links({ netns: ns });
    expect(ours.map((l) => [l.index, l.name, l.mtu, l.mac, l.up])).toEqual(
      witness.map((l) => [l.ifindex, l.ifname, l.mtu, l.address, l.flags.includes('UP')]),
    );
    const byName = Object.fromEntries(ours.map((l) => [l.name, l]));
    expect(byName.lo!.kind).toBe('device');
    expect(byName.va!.kind).toBe('veth');
    expect(byName.br0!.kind).toBe('bridge');
    expect(byName.va!.master).toBe(byName.br0!.index);
    expect(byName.va!.link).toBe(byName.vb!.index);
    // the same namespace through a handle and through a pid
    using h = openNetns(ns);
    expect((await links({ netns: h })).map((l) => l.name)).toEqual(ours.map((l) => l.name));
    const child = spawn('sleep', ['10'], { join: { net: h } });
    try {
      expect((await links({ netns: child.pid })).map((l) => l.name)).toEqual(ours.map((l) => l.name));
    } finally {
      child.kill('SIGKILL');
      await child.exited;
    }
    expect(await link('br0', { netns: ns })).toMatchObject({
      kind: 'bridge',
      name: 'br0',
      mtu: witness.find((l) => l.ifname === 'br0')!.mtu,
    });
    expect(await link(byName.vb!.index, { netns: ns })).toMatchObject({ name: 'vb' });
  });

  netTest('a name with a NUL byte is refused, never cut at the NUL: br0 and lo stay as they were', async () => {
    const ns = netns();
    execFileSync('ip', ['-n', ns, 'link', 'add', 'br0', 'type', 'bridge']);
    await expect(deleteLink('br0\0other', { netns: ns })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(setLink('lo', { name: 'x\0y' }, { netns: ns })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(addLink({ kind: 'bridge', name: 'br1\0x' }, { netns: ns })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(
      ip<IpLink[]>('-n', ns, 'link')
        .map((l) => l.ifname)
        .sort(),
    ).toEqual(['br0', 'lo']);
  });

  netTest('addLink veth with the peer created directly in another namespace; setLink; deleteLink', async () => {
    const a = netns();
    const b = netns();
    const made = await addLink(
      { kind: 'veth', name: 'left', mtu: 1450, mac: '02:00:00:aa:bb:01', peer: { name: 'right', netns: b, mac: '02:00:00:aa:bb:02' } },
      { netns: a },
    );
    expect(made).toMatchObject({ kind: 'veth', name: 'left', mtu: 1450, mac: '02:00:00:aa:bb:01', up: false });
    const [l] = ip<IpLink[]>('-n', a, '-d', 'link', 'show', 'left');
    expect(l).toMatchObject({ ifname: 'left', mtu: 1450, address: '02:00:00:aa:bb:01', linkinfo: { info_kind: 'veth' } });
    // What addLink returned is the kernel's echo of the new link (no lookup): its index is the one ip sees.
    expect(made.index).toBe(l!.ifindex);
    const [r] = ip<IpLink[]>('-n', b, 'link', 'show', 'right');
    expect(r).toMatchObject({ ifname: 'right', address: '02:00:00:aa:bb:02' });

    await addLink({ kind: 'bridge', name: 'br9' }, { netns: a });
    await setLink('left', { up: true, mtu: 1300, name: 'left2', mac: '02:00:00:aa:bb:03', master: 'br9' }, { netns: a });
    const [l2] = ip<IpLink[]>('-n', a, 'link', 'show', 'left2');
    expect(l2).toMatchObject({ mtu: 1300, address: '02:00:00:aa:bb:03', master: 'br9' });
    expect(l2!.flags).toContain('UP');
    await setLink('left2', { master: null, up: false }, { netns: a });
    const [l3] = ip<IpLink[]>('-n', a, 'link', 'show', 'left2');
    expect(l3!.master).toBeUndefined();
    expect(l3!.flags).not.toContain('UP');
    // move to b, then delete from b (which takes the peer with it)
    await setLink('left2', { netns: b }, { netns: a });
    expect(
      ip<IpLink[]>('-n', b, 'link')
        .map((x) => x.ifname)
        .sort(),
    ).toEqual(['left2', 'lo', 'right']);
    await deleteLink('left2', { netns: b });
    expect(ip<IpLink[]>('-n', b, 'link').map((x) => x.ifname)).toEqual(['lo']);
    await deleteLink('br9', { netns: a });
    expect(ip<IpLink[]>('-n', a, 'link').map((x) => x.ifname)).toEqual(['lo']);
  });

  netTest(
    "a veth has one transmit and one receive queue at each end, in use as with the kernel's own default; `queues` asks for more, at both ends; connectToHost's veth has one",
    async () => {
      const a = netns();
      const b = netns();
      // What `ip -d` reports (the queues made) and what sysfs lists (the queues in use).
      const queues = (ns: string, name: string) => {
        const [l] = ip<Array<{ num_tx_queues: number; num_rx_queues: number }>>('-n', ns, '-d', 'link', 'show', name);
        const inUse = execFileSync('ip', ['netns', 'exec', ns, 'ls', `/sys/class/net/${name}/queues`], { encoding: 'utf8' })
          .split(/\s+/)
          .filter(Boolean);
        return { tx: l!.num_tx_queues, rx: l!.num_rx_queues, inUse };
      };
      await addLink({ kind: 'veth', name: 'qa', peer: { name: 'qb', netns: b } }, { netns: a });
      await addLink({ kind: 'veth', name: 'q4', queues: 4, peer: { name: 'q4p' } }, { netns: a });
      expect(queues(a, 'qa')).toEqual({ tx: 1, rx: 1, inUse: ['rx-0', 'tx-0'] });
      expect(queues(b, 'qb')).toEqual({ tx: 1, rx: 1, inUse: ['rx-0', 'tx-0'] });
      const four = ['rx-0', 'rx-1', 'rx-2', 'rx-3', 'tx-0', 'tx-1', 'tx-2', 'tx-3'];
      expect(queues(a, 'q4')).toEqual({ tx: 4, rx: 4, inUse: four });
      expect(queues(a, 'q4p')).toEqual({ tx: 4, rx: 4, inUse: four });
      // `ip link add` (the kernel's default: one queue per possible CPU made, one in use): the same queues in use.
      execFileSync('ip', ['-n', a, 'link', 'add', 'k0', 'type', 'veth', 'peer', 'name', 'k1']);
      expect(queues(a, 'k0').inUse).toEqual(['rx-0', 'tx-0']);

      const hostIf = `nsbx${id()}`;
      const c = await connectToHost('new', { hostIf, hostAddress: '10.19.4.1/30', childAddress: '10.19.4.2/30' });
      try {
        const [hl] = ip<Array<{ num_tx_queues: number; num_rx_queues: number }>>('-d', 'link', 'show', hostIf);
        expect([hl!.num_tx_queues, hl!.num_rx_queues]).toEqual([1, 1]);
        const [inner] = JSON.parse(
          execFileSync('nsenter', [`--net=/proc/${process.pid}/fd/${c.netns[kFd]}`, 'ip', '-j', '-d', 'link', 'show', 'eth0'], {
            encoding: 'utf8',
          }),
        ) as Array<{ num_tx_queues: number; num_rx_queues: number }>;
        expect([inner!.num_tx_queues, inner!.num_rx_queues]).toEqual([1, 1]);
      } finally {
        c.netns.close();
        await deleteLink(hostIf).catch(() => undefined);
      }
    },
  );

  netTest('macvlan on a veth, with its mode', async () => {
    const a = netns();
    await addLink({ kind: 'veth', name: 'p0', peer: { name: 'p1' } }, { netns: a });
    const m = await addLink({ kind: 'macvlan', name: 'mv0', parent: 'p0', mode: 'bridge' }, { netns: a });
    expect(m).toMatchObject({ kind: 'macvlan', mode: 'bridge' });
    const [w] = ip<IpLink[]>('-n', a, '-d', 'link', 'show', 'mv0');
    expect(w!.linkinfo).toMatchObject({ info_kind: 'macvlan', info_data: { mode: 'bridge' } });
    expect(w!.ifname).toBe('mv0');
  });

  testIf(hasIpvlan, 'this kernel has no ipvlan link type')('ipvlan on a veth with its mode', async () => {
    const a = netns();
    await addLink({ kind: 'veth', name: 'p0', peer: { name: 'p1' } }, { netns: a });
    expect(await addLink({ kind: 'ipvlan', name: 'iv0', parent: 'p0', mode: 'l2' }, { netns: a })).toMatchObject({
      kind: 'ipvlan',
      mode: 'l2',
    });
    expect(ip<IpLink[]>('-n', a, '-d', 'link', 'show', 'iv0')[0]!.linkinfo).toMatchObject({
      info_kind: 'ipvlan',
      info_data: { mode: 'l2' },
    });
  });

  netTest('vxlan with id, remote, local and port, as `ip -d -j link` reports them', async () => {
    const a = netns();
    const vx = await addLink({ kind: 'vxlan', name: 'vx0', id: 42, remote: '10.1.1.1', local: '10.1.1.2', port: 4789 }, { netns: a });
    expect(vx).toMatchObject({ kind: 'vxlan', id: 42, remote: '10.1.1.1', local: '10.1.1.2', port: 4789 });
    expect(ip<IpLink[]>('-n', a, '-d', 'link', 'show', 'vx0')[0]!.linkinfo).toMatchObject({
      info_kind: 'vxlan',
      info_data: { id: 42, remote: '10.1.1.1', local: '10.1.1.2', port: 4789 },
    });
    expect((await links({ netns: a })).find((l) => l.name === 'vx0')).toMatchObject({ kind: 'vxlan', id: 42 });
  });

  testIf(hasDummy, 'this kernel has no dummy link type')('dummy link', async () => {
    const a = netns();
    expect(await addLink({ kind: 'dummy', name: 'd0', up: true }, { netns: a })).toMatchObject({ kind: 'dummy', up: true });
    expect(ip<IpLink[]>('-n', a, '-d', 'link', 'show', 'd0')[0]!.linkinfo!.info_kind).toBe('dummy');
  });

  testIf(hasVlan, 'this kernel has no 8021q (vlan) link type')('vlan link with its id', async () => {
    const a = netns();
    await addLink({ kind: 'veth', name: 'p0', peer: { name: 'p1' } }, { netns: a });
    expect(await addLink({ kind: 'vlan', name: 'p0.7', parent: 'p0', id: 7 }, { netns: a })).toMatchObject({ kind: 'vlan', id: 7 });
    expect(ip<IpLink[]>('-n', a, '-d', 'link', 'show', 'p0.7')[0]!.linkinfo!.info_data).toMatchObject({ id: 7 });
  });

  netTest('errors: ENODEV with ifname; a 16-byte name and a duplicate address carry the kernel text', async () => {
    const a = netns();
    await expect(link('nope0', { netns: a })).rejects.toMatchObject({ code: 'ENODEV', syscall: 'RTM_GETLINK', ifname: 'nope0' });
    const long = await addLink({ kind: 'bridge', name: 'abcdefghijklmnop' }, { netns: a }).catch((e: unknown) => e);
    expect(long).toMatchObject({ syscall: 'RTM_NEWLINK', ifname: 'abcdefghijklmnop' });
    expect(['ERANGE', 'EINVAL']).toContain((long as { code: string }).code);
    expect(typeof (long as { kernelMessage?: string }).kernelMessage).toBe('string');
    expect((long as { kernelMessage: string }).kernelMessage.length).toBeGreaterThan(0);
    await addLink({ kind: 'bridge', name: 'br0' }, { netns: a });
    await expect(addLink({ kind: 'bridge', name: 'br0' }, { netns: a })).rejects.toMatchObject({ code: 'EEXIST', syscall: 'RTM_NEWLINK' });
    await addAddress('br0', '10.3.0.1/24', { netns: a });
    const dup = await addAddress('br0', '10.3.0.1/24', { netns: a }).catch((e: unknown) => e);
    expect(dup).toMatchObject({ code: 'EEXIST', syscall: 'RTM_NEWADDR', ifname: 'br0' });
    expect((dup as { kernelMessage?: string }).kernelMessage).toEqual(expect.any(String));
    expect(
      ip<IpLink[]>('-n', a, 'link')
        .map((x) => x.ifname)
        .sort(),
    ).toEqual(['br0', 'lo']);
  });
});

describe('addresses and routes', () => {
  netTest('addAddress/deleteAddress IPv4 (broadcast, label, scope) and IPv6, as `ip -j addr` sees them', async () => {
    const a = netns();
    await addLink({ kind: 'veth', name: 'e0', up: true, peer: { name: 'e1' } }, { netns: a });
    await addAddress('e0', '10.4.0.1/24', { netns: a, broadcast: true, label: 'e0:x' });
    await addAddress('e0', '10.5.0.1/16', { netns: a, broadcast: '10.5.255.254', scope: 'link' });
    await addAddress('e0', 'fd00:4::1/64', { netns: a });
    const [w] = ip<IpAddr[]>('-n', a, 'addr', 'show', 'e0');
    const v4 = w!.addr_info.filter((x) => x.family === 'inet');
    expect(v4).toHaveLength(2);
    expect(v4).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ local: '10.4.0.1', prefixlen: 24, broadcast: '10.4.0.255', label: 'e0:x', scope: 'global' }),
        expect.objectContaining({ local: '10.5.0.1', prefixlen: 16, broadcast: '10.5.255.254', scope: 'link' }),
      ]),
    );
    expect(w!.addr_info).toContainEqual(expect.objectContaining({ family: 'inet6', local: 'fd00:4::1', prefixlen: 64 }));
    const ours = (await addresses({ netns: a })).filter((x) => x.index === w!.ifindex);
    expect(ours.map((x) => x.cidr).sort()).toEqual(w!.addr_info.map((x) => `${x.local}/${x.prefixlen}`).sort());
    expect(ours.find((x) => x.address === '10.4.0.1')).toMatchObject({
      broadcast: '10.4.0.255',
      label: 'e0:x',
      scope: 'global',
      family: 4,
    });
    await deleteAddress('e0', '10.4.0.1/24', { netns: a });
    await deleteAddress('e0', 'fd00:4::1/64', { netns: a });
    const left = ip<IpAddr[]>('-n', a, 'addr', 'show', 'e0')[0]!.addr_info.map((x) => x.local);
    expect(left).not.toContain('10.4.0.1');
    expect(left).not.toContain('fd00:4::1');
    await expect(deleteAddress('e0', '10.4.0.1/24', { netns: a })).rejects.toMatchObject({ code: 'EADDRNOTAVAIL', syscall: 'RTM_DELADDR' });
  });

  netTest('addRoute/replaceRoute/deleteRoute IPv4 and IPv6, default, table, metric, src, as `ip -j route` sees them', async () => {
    const a = netns();
    await addLink({ kind: 'veth', name: 'r0', up: true, peer: { name: 'r1' } }, { netns: a });
    await setLink('r1', { up: true }, { netns: a });
    await addAddress('r0', '10.6.0.1/24', { netns: a });
    await addAddress('r0', 'fd00:6::1/64', { netns: a });
    await addRoute({ dst: 'default', gateway: '10.6.0.254' }, { netns: a });
    await addRoute({ dst: '10.60.0.0/16', gateway: '10.6.0.2', dev: 'r0', metric: 20, src: '10.6.0.1' }, { netns: a });
    await addRoute({ dst: '10.61.0.0/16', dev: 'r0', table: 1000 }, { netns: a });
    await addRoute({ dst: 'fd00:60::/48', gateway: 'fd00:6::2', dev: 'r0' }, { netns: a });
    const w4 = ip<IpRoute[]>('-n', a, 'route');
    expect(w4).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.6.0.254', dev: 'r0' }));
    expect(w4).toContainEqual(expect.objectContaining({ dst: '10.60.0.0/16', gateway: '10.6.0.2', metric: 20 }));
    expect(ip<IpRoute[]>('-n', a, 'route', 'show', 'table', '1000')).toContainEqual(
      expect.objectContaining({ dst: '10.61.0.0/16', dev: 'r0', scope: 'link' }),
    );
    expect(ip<IpRoute[]>('-n', a, '-6', 'route')).toContainEqual(expect.objectContaining({ dst: 'fd00:60::/48', gateway: 'fd00:6::2' }));

    const ours4 = await routes({ netns: a, family: 4 });
    expect(ours4.map((r) => r.dst).sort()).toEqual(w4.map((r) => r.dst).sort());
    const r0 = (await link('r0', { netns: a })).index;
    expect(ours4).toContainEqual(
      expect.objectContaining({
        dst: '10.60.0.0/16',
        gateway: '10.6.0.2',
        metric: 20,
        dev: r0,
        src: '10.6.0.1',
        protocol: 'boot',
        table: 254,
      }),
    );
    expect(await routes({ netns: a, table: 1000 })).toEqual([expect.objectContaining({ dst: '10.61.0.0/16', table: 1000, scope: 'link' })]);
    const ours6 = await routes({ netns: a, family: 6 });
    expect(ours6.map((r) => r.dst).sort()).toEqual(
      ip<IpRoute[]>('-n', a, '-6', 'route')
        .map((r) => r.dst)
        .sort(),
    );

    await expect(addRoute({ dst: 'default', gateway: '10.6.0.253' }, { netns: a })).rejects.toMatchObject({
      code: 'EEXIST',
      syscall: 'RTM_NEWROUTE',
    });
    await replaceRoute({ dst: 'default', gateway: '10.6.0.253' }, { netns: a });
    expect(ip<IpRoute[]>('-n', a, 'route').filter((r) => r.dst === 'default')).toEqual([
      expect.objectContaining({ gateway: '10.6.0.253' }),
    ]);
    await deleteRoute({ dst: 'default' }, { netns: a });
    await deleteRoute({ dst: '10.61.0.0/16', table: 1000 }, { netns: a });
    await deleteRoute({ dst: 'fd00:60::/48' }, { netns: a });
    expect(ip<IpRoute[]>('-n', a, 'route').map((r) => r.dst)).not.toContain('default');
    expect(ip<IpRoute[]>('-n', a, 'route', 'show', 'table', '1000')).toEqual([]);
    await expect(deleteRoute({ dst: 'default' }, { netns: a })).rejects.toMatchObject({ code: 'ESRCH', syscall: 'RTM_DELROUTE' });
  });
});

describe('neighbours', () => {
  netTest('addNeighbour/replaceNeighbour/deleteNeighbour, IPv4 and IPv6, as `ip -j neigh` sees them', async () => {
    const a = netns();
    await addLink({ kind: 'veth', name: 'n0', up: true, peer: { name: 'n1' } }, { netns: a });
    await addNeighbour('n0', '10.11.0.9', '02:00:00:00:00:09', { netns: a });
    await addNeighbour('n0', 'fd00:11::9', '02:00:00:00:00:0a', { netns: a, state: 'reachable' });
    const w = ip<{ dst: string; dev: string; lladdr: string; state: string[] }[]>('-n', a, 'neigh', 'show', 'dev', 'n0');
    expect(w).toContainEqual(expect.objectContaining({ dst: '10.11.0.9', lladdr: '02:00:00:00:00:09', state: ['PERMANENT'] }));
    expect(w).toContainEqual(expect.objectContaining({ dst: 'fd00:11::9', lladdr: '02:00:00:00:00:0a' }));
    const ours = await neighbours({ netns: a });
    expect(ours).toContainEqual(
      expect.objectContaining({ family: 4, address: '10.11.0.9', mac: '02:00:00:00:00:09', state: ['permanent'] }),
    );
    await expect(addNeighbour('n0', '10.11.0.9', '02:00:00:00:00:0b', { netns: a })).rejects.toMatchObject({
      code: 'EEXIST',
      syscall: 'RTM_NEWNEIGH',
    });
    await replaceNeighbour('n0', '10.11.0.9', '02:00:00:00:00:0b', { netns: a });
    expect(ip<{ dst: string; lladdr: string }[]>('-n', a, 'neigh', 'show', 'dev', 'n0')).toContainEqual(
      expect.objectContaining({ dst: '10.11.0.9', lladdr: '02:00:00:00:00:0b' }),
    );
    await deleteNeighbour('n0', '10.11.0.9', { netns: a });
    await deleteNeighbour('n0', 'fd00:11::9', { netns: a });
    expect(ip<{ dst: string }[]>('-n', a, 'neigh', 'show', 'dev', 'n0').map((x) => x.dst)).not.toContain('10.11.0.9');
    await expect(deleteNeighbour('n0', '10.11.0.9', { netns: a })).rejects.toMatchObject({ code: 'ENOENT', syscall: 'RTM_DELNEIGH' });
  });
});

describe('events', () => {
  netTest('link, address and route changes made by `ip` arrive; return() ends the iteration', async () => {
    const a = netns();
    const it = events({ netns: a });
    execFileSync('ip', ['-n', a, 'link', 'add', 'ev0', 'type', 'veth', 'peer', 'name', 'ev1']);
    execFileSync('ip', ['-n', a, 'link', 'set', 'ev0', 'up']);
    execFileSync('ip', ['-n', a, 'addr', 'add', '10.7.0.1/24', 'dev', 'ev0']);
    execFileSync('ip', ['-n', a, 'route', 'add', '10.70.0.0/16', 'dev', 'ev0']);
    const seen: NetEvent[] = [];
    for await (const e of it) {
      seen.push(e);
      if (e.type === 'route' && e.route.dst === '10.70.0.0/16') break;
    }
    expect(seen).toContainEqual(
      expect.objectContaining({ type: 'link', action: 'new', link: expect.objectContaining({ name: 'ev0', kind: 'veth' }) }),
    );
    expect(seen).toContainEqual(
      expect.objectContaining({ type: 'address', action: 'new', address: expect.objectContaining({ cidr: '10.7.0.1/24' }) }),
    );
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  netTest('an AbortSignal ends a waiting next() with AbortError and closes the socket', async () => {
    const a = netns();
    const ac = new AbortController();
    const it = events({ netns: a, signal: ac.signal });
    const waiting = it.next();
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: ac.signal.reason });
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });
});

describe('traffic between our own namespaces', () => {
  netTest('veth between two namespaces: a TCP echo through sockets created inside them', async () => {
    const a = netns();
    const b = netns();
    await addLink({ kind: 'veth', name: 'ta', up: true, peer: { name: 'tb', netns: b } }, { netns: a });
    await addAddress('ta', '10.8.0.1/30', { netns: a });
    await addAddress('tb', '10.8.0.2/30', { netns: b });
    await setLink('tb', { up: true }, { netns: b });
    await loUp(a);
    const server = await listenTcpIn(b, 0, '10.8.0.2');
    server.on('connection', (s) => s.pipe(s));
    const port = (server.address() as { port: number }).port;
    // nothing listens on that port in the caller's namespace: the socket is really in b
    expect(ip<{ local: string }[]>('-n', b, 'addr').length).toBeGreaterThan(0);
    const sock = await connectTcpIn(a, port, '10.8.0.2');
    const echoed = await new Promise<string>((resolve) => {
      sock.once('data', (d) => resolve(String(d)));
      sock.write('ping over veth');
    });
    expect(echoed).toBe('ping over veth');
    expect(sock.localAddress).toBe('10.8.0.1');
    sock.destroy();
    await new Promise((r) => server.close(r));
  });

  testIf(isRoot && tools.ip && existsSync('/bin/busybox'), 'needs root, iproute2 and busybox (ping)')(
    'ping over a veth made by connectToHost, from inside the namespace to the host end',
    async () => {
      const a = netns();
      using h = openNetns(a);
      const hostIf = `nsbx${id()}`;
      try {
        await connectToHost(h, { hostIf, hostAddress: '10.14.0.1/30', childAddress: '10.14.0.2/30' });
        const child = spawn('/bin/busybox', ['ping', '-c', '1', '-W', '2', '10.14.0.1'], { join: { net: h }, stdio: 'ignore' });
        expect(await child.exited).toEqual({ code: 0, signal: null });
        const unreachable = spawn('/bin/busybox', ['ping', '-c', '1', '-W', '1', '10.14.9.9'], { join: { net: h }, stdio: 'ignore' });
        expect((await unreachable.exited).code).not.toBe(0);
      } finally {
        await deleteLink(hostIf).catch(() => undefined);
      }
    },
  );

  netTest('two namespaces joined through a bridge in a third: TCP echo across it', async () => {
    const hub = netns();
    const a = netns();
    const b = netns();
    await addLink({ kind: 'bridge', name: 'br0', up: true }, { netns: hub });
    for (const [ns, port, addr] of [
      [a, 'pa', '10.12.0.1/24'],
      [b, 'pb', '10.12.0.2/24'],
    ] as const) {
      await addLink({ kind: 'veth', name: port, master: 'br0', up: true, peer: { name: 'eth0', netns: ns } }, { netns: hub });
      await addAddress('eth0', addr, { netns: ns });
      await setLink('eth0', { up: true }, { netns: ns });
    }
    const br = await link('br0', { netns: hub });
    expect(
      (await links({ netns: hub }))
        .filter((l) => l.master === br.index)
        .map((l) => l.name)
        .sort(),
    ).toEqual(['pa', 'pb']);
    expect(
      ip<IpLink[]>('-n', hub, 'link', 'show', 'master', 'br0')
        .map((l) => l.ifname)
        .sort(),
    ).toEqual(['pa', 'pb']);
    const server = await listenTcpIn(b, 0, '10.12.0.2');
    server.on('connection', (s) => s.pipe(s));
    const sock = await connectTcpIn(a, (server.address() as { port: number }).port, '10.12.0.2');
    const echoed = await new Promise<string>((resolve) => {
      sock.once('data', (d) => resolve(String(d)));
      sock.write('across the bridge');
    });
    expect(echoed).toBe('across the bridge');
    sock.destroy();
    await new Promise((r) => server.close(r));
  });

  netTest("connectToBridge: two namespaces on one bridge in the caller's namespace, TCP between them and to the bridge", async () => {
    const bridge = `nsbx${id()}`;
    const [a, b] = [netns(), netns()];
    using ha = openNetns(a);
    using hb = openNetns(b);
    const hostEnds: string[] = [];
    try {
      const ca = await connectToBridge(ha, { bridge, bridgeAddress: '10.13.0.1/24', childAddress: '10.13.0.2/24', gateway: '10.13.0.1' });
      const cb = await connectToBridge(hb, { bridge, childAddress: '10.13.0.3/24', gateway: '10.13.0.1' });
      hostEnds.push(ca.hostIf, cb.hostIf);
      expect(ca.bridgeCreated).toBe(true);
      expect(cb.bridgeCreated).toBe(false);
      expect(cb.bridgeIndex).toBe(ca.bridgeIndex);
      expect(
        ip<IpLink[]>('link', 'show', 'master', bridge)
          .map((l) => l.ifname)
          .sort(),
      ).toEqual([ca.hostIf, cb.hostIf].sort());
      expect(ip<IpRoute[]>('-n', b, 'route')).toContainEqual(
        expect.objectContaining({ dst: 'default', gateway: '10.13.0.1', dev: 'eth0' }),
      );
      const server = await listenTcpIn(hb, 0, '10.13.0.3');
      server.on('connection', (s) => s.pipe(s));
      const port = (server.address() as { port: number }).port;
      const sock = await connectTcpIn(ha, port, '10.13.0.3');
      const echoed = await new Promise<string>((resolve) => {
        sock.once('data', (d) => resolve(String(d)));
        sock.write('bridged');
      });
      expect(echoed).toBe('bridged');
      sock.destroy();
      // and from the caller's namespace, through the bridge's address
      const { connect } = await import('node:net');
      const fromHost = await new Promise<string>((resolve, reject) => {
        const s = connect(port, '10.13.0.3', () => s.write('host'));
        s.once('data', (d) => {
          resolve(String(d));
          s.destroy();
        }).on('error', reject);
      });
      expect(fromHost).toBe('host');
      await new Promise((r) => server.close(r));
    } finally {
      for (const h of hostEnds) await deleteLink(h).catch(() => undefined);
      await deleteLink(bridge).catch(() => undefined);
    }
    const left = ip<IpLink[]>('link').map((l) => l.ifname);
    for (const n of [bridge, ...hostEnds]) expect(left).not.toContain(n);
  });

  netTest(
    "connectToHost keeps one host-side socket per environment: concurrent calls share it, it keeps no process alive, a terminated worker closes it (and connectToHost('new') too)",
    async () => {
      const before = openFds();
      const nss = Array.from({ length: 5 }, () => createNamespace('net'));
      try {
        const made = await Promise.all(
          nss
            .slice(0, 4)
            .map((n, i) => connectToHost(n, { hostIf: `nsbx${id()}`, hostAddress: `10.15.${i}.1/30`, childAddress: `10.15.${i}.2/30` })),
        );
        made.push(await connectToHost(nss[4]!, { hostIf: `nsbx${id()}`, hostAddress: '10.15.4.1/30', childAddress: '10.15.4.2/30' }));
        // Each call configured its own pair (the replies of concurrent calls were not mixed up).
        for (const [i, m] of made.entries()) {
          const [hl] = ip<Array<{ addr_info: Array<{ local: string }> }>>('addr', 'show', m.hostIf);
          expect(hl!.addr_info.map((a) => a.local)).toContain(`10.15.${i}.1`);
        }
      } finally {
        for (const n of nss) n.close();
      }
      expectOnlyTheKeptSocket(before, before.size);
      const ns = new URL('../../dist/namespaces/index.js', import.meta.url).href;
      const netUrl = new URL('../../dist/net/index.js', import.meta.url).href;
      const script = `const { createNamespace } = await import(${JSON.stringify(ns)});
        const net = await import(${JSON.stringify(netUrl)});
        const ns = createNamespace('net');
        await net.connectToHost(ns, { hostIf: ${JSON.stringify(`nsbx${id()}`)}, hostAddress: '10.16.0.1/30', childAddress: '10.16.0.2/30' });
        ns.close();
        // connectToHost('new') runs on the environment's kept maker thread: it too must neither keep the process alive nor outlive a worker.
        const c = await net.connectToHost('new', { hostIf: 'nsbx' + Math.random().toString(16).slice(2, 8), hostAddress: '10.16.2.1/30', childAddress: '10.16.2.2/30' });
        c.netns.close();
        process.stdout.write('done');`;
      // The process ends by itself once its work is done: the kept socket holds no reference.
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('done');
      expect(r.status).toBe(0);
      const { Worker } = await import('node:worker_threads');
      const count = readdirSync('/proc/self/fd').length;
      const w = new Worker(
        `${script.replace("process.stdout.write('done')", "(await import('node:worker_threads')).parentPort.postMessage('done')").replaceAll('10.16.0', '10.16.1')}`,
        {
          eval: true,
          type: 'module',
        } as never,
      );
      await new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      // terminate() resolves once the worker's environment is torn down, its cleanup hooks
      // (which close the kept socket) included.
      await w.terminate();
      expect(readdirSync('/proc/self/fd').length).toBeLessThanOrEqual(count);
    },
  );

  netTest('connectToHost: a host end name that is taken fails at RTM_NEWLINK with its ifname; nothing is made, no fd is left', async () => {
    const taken = `nsbx${id()}`;
    await addLink({ kind: 'bridge', name: taken });
    const before = openFds();
    const ns = createNamespace('net');
    try {
      const err = await connectToHost(ns, { hostIf: taken, hostAddress: '10.17.0.1/30', childAddress: '10.17.0.2/30' }).catch((e) => e);
      expect(err).toMatchObject({ code: 'EEXIST', errno: -17, syscall: 'RTM_NEWLINK', ifname: taken });
      // Nothing inside: the peer was never made.
      const inside = linksIn(ns);
      expect(inside).toEqual(['lo']);
      // The bridge of that name is untouched (still a bridge, not deleted by the undo).
      expect(ip<Array<{ linkinfo?: { info_kind: string } }>>('-d', 'link', 'show', taken)[0]!.linkinfo?.info_kind).toBe('bridge');
    } finally {
      ns.close();
      await deleteLink(taken).catch(() => undefined);
    }
    expectOnlyTheKeptSocket(before, before.size);
  });

  netTest(
    'connectToHost: a refusal after the veth exists (an unreachable gateway) keeps syscall, ifname and the kernel text, and deletes the veth; no fd is left',
    async () => {
      const hostIf = `nsbx${id()}`;
      const before = openFds();
      for (const made of [true, false]) {
        // With the socket createNamespace made, and without it (a pid's namespace: a socket made on a thread).
        const ns = createNamespace('net');
        const child = made ? undefined : spawn('sleep', ['30'], { join: { net: ns } });
        try {
          // A /32 inside: the host address is not on-link there, so the default route via it is refused.
          const err = await connectToHost(child ?? ns, { hostIf, hostAddress: '10.18.0.1/30', childAddress: '10.18.1.2/32' }).catch(
            (e) => e,
          );
          expect(err).toMatchObject({ code: 'ENETUNREACH', syscall: 'RTM_NEWROUTE', ifname: 'eth0' });
          expect((err as { kernelMessage?: unknown }).kernelMessage).toEqual(expect.any(String));
          // Undone: the host end is gone, and with it the end inside.
          expect(ip<IpLink[]>('link').map((l) => l.ifname)).not.toContain(hostIf);
          expect(linksIn(ns)).toEqual(['lo']);
        } finally {
          if (child) {
            child.kill('SIGKILL');
            await child.exited;
          }
          ns.close();
          await deleteLink(hostIf).catch(() => undefined);
        }
      }
      expectOnlyTheKeptSocket(before, before.size);
    },
  );

  testIf(isRoot && tools.ip && existsSync('/bin/busybox'), 'needs root, iproute2 and busybox (ping)')(
    "connectToHost('new'): a fresh namespace with the veth, both addresses, lo and eth0 up and the default route; ping crosses it; close() removes both ends",
    async () => {
      const hostIf = `nsbx${id()}`;
      const before = openFds();
      const c = await connectToHost('new', { hostIf, hostAddress: '10.19.0.1/30', childAddress: '10.19.0.2/30' });
      try {
        expect(c).toMatchObject({ hostIf, childIf: 'eth0' });
        // A network namespace of its own, not ours.
        expect(c.netns.type).toBe('net');
        expect(c.netns.ino).not.toBe(statSync('/proc/self/ns/net').ino);
        // The host end, as `ip` sees it: the index returned, up, with its address.
        const [hl] = ip<Array<IpLink & { ifindex: number }>>('link', 'show', hostIf);
        expect(hl!.ifindex).toBe(c.hostIndex);
        expect(hl!.flags).toContain('UP');
        expect(ip<Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>>('addr', 'show', hostIf)[0]!.addr_info).toContainEqual(
          expect.objectContaining({ local: '10.19.0.1', prefixlen: 30 }),
        );
        // Inside (nsenter on the handle): lo and eth0 only, both up, eth0's index returned, its address, the default route.
        const inside = (...a: string[]) =>
          JSON.parse(execFileSync('nsenter', [`--net=/proc/${process.pid}/fd/${c.netns[kFd]}`, 'ip', '-j', ...a], { encoding: 'utf8' }));
        const links = inside('link') as Array<IpLink & { ifindex: number }>;
        expect(links.map((l) => [l.ifname, l.flags.includes('UP')])).toEqual([
          ['lo', true],
          ['eth0', true],
        ]);
        expect(links[1]!.ifindex).toBe(c.childIndex);
        expect((inside('addr', 'show', 'eth0') as Array<{ addr_info: Array<{ local: string }> }>)[0]!.addr_info).toContainEqual(
          expect.objectContaining({ local: '10.19.0.2' }),
        );
        expect(inside('route') as IpRoute[]).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.19.0.1', dev: 'eth0' }));
        const ping = spawn('/bin/busybox', ['ping', '-c', '1', '-W', '2', '10.19.0.1'], { join: { net: c.netns }, stdio: 'ignore' });
        expect(await ping.exited).toEqual({ code: 0, signal: null });
      } finally {
        c.netns.close();
      }
      // The namespace goes with its last reference, and both veth ends with it (the kernel's cleanup work: polled).
      for (let i = 0; i < 300 && ip<IpLink[]>('link').some((l) => l.ifname === hostIf); i++) await new Promise((r) => setTimeout(r, 10));
      expect(ip<IpLink[]>('link').map((l) => l.ifname)).not.toContain(hostIf);
      expectOnlyTheKeptSocket(before, before.size);
    },
  );

  netTest(
    "connectToHost over IPv6, on a handle and with 'new': the addresses and the default route via the host end, as `ip -6` sees them",
    async () => {
      for (const form of ['handle', 'new'] as const) {
        const hostIf = `nsbx${id()}`;
        const made = form === 'handle' ? createNamespace('net') : undefined;
        const opts = { hostIf, hostAddress: 'fd00:21::1/64', childAddress: 'fd00:21::2/64' };
        const ns = made ?? (await connectToHost('new', opts)).netns;
        try {
          if (made) await connectToHost(made, opts);
          const inside = (...a: string[]) =>
            JSON.parse(execFileSync('nsenter', [`--net=/proc/${process.pid}/fd/${ns[kFd]}`, 'ip', '-j', '-6', ...a], { encoding: 'utf8' }));
          expect(inside('route') as IpRoute[], form).toContainEqual(
            expect.objectContaining({ dst: 'default', gateway: 'fd00:21::1', dev: 'eth0' }),
          );
          expect((inside('addr', 'show', 'eth0') as Array<{ addr_info: Array<{ local: string }> }>)[0]!.addr_info, form).toContainEqual(
            expect.objectContaining({ local: 'fd00:21::2' }),
          );
          expect(ip<Array<{ addr_info: Array<{ local: string }> }>>('-6', 'addr', 'show', hostIf)[0]!.addr_info, form).toContainEqual(
            expect.objectContaining({ local: 'fd00:21::1' }),
          );
        } finally {
          ns.close();
          await deleteLink(hostIf).catch(() => undefined);
        }
      }
    },
  );

  testIf(!isRoot, 'runs as an unprivileged user only')(
    "connectToHost('new') without CAP_SYS_ADMIN: EPERM from unshare, as createNamespace's; no fd left, nothing made",
    async () => {
      const before = openFds();
      const err = await connectToHost('new', { hostIf: `nsbx${id()}`, hostAddress: '10.21.0.1/30', childAddress: '10.21.0.2/30' }).catch(
        (e) => e,
      );
      expect(err).toMatchObject({ code: 'EPERM', syscall: 'unshare' });
      // At most the environment's kept host-side socket (made before the trip) is new: no namespace fd, no socket inside.
      const added = [...openFds()].filter(([fd, t]) => before.get(fd) !== t);
      expect(added.length).toBeLessThanOrEqual(1);
      for (const [, t] of added) expect(t).toMatch(/^socket:/);
    },
  );

  netTest(
    "connectToHost('new'): a taken host name, and a refusal after the veth exists, leave no namespace, link or fd behind",
    async () => {
      const taken = `nsbx${id()}`;
      await addLink({ kind: 'bridge', name: taken });
      const before = openFds();
      try {
        const err = await connectToHost('new', { hostIf: taken, hostAddress: '10.20.0.1/30', childAddress: '10.20.0.2/30' }).catch(
          (e) => e,
        );
        expect(err).toMatchObject({ code: 'EEXIST', errno: -17, syscall: 'RTM_NEWLINK', ifname: taken });
        expect(ip<Array<{ linkinfo?: { info_kind: string } }>>('-d', 'link', 'show', taken)[0]!.linkinfo?.info_kind).toBe('bridge');
      } finally {
        await deleteLink(taken).catch(() => undefined);
      }
      const hostIf = `nsbx${id()}`;
      // A /32 inside: the host address is not on-link there, so the default route via it (the last request) is refused.
      const err = await connectToHost('new', { hostIf, hostAddress: '10.20.1.1/30', childAddress: '10.20.2.2/32' }).catch((e) => e);
      expect(err).toMatchObject({ code: 'ENETUNREACH', syscall: 'RTM_NEWROUTE', ifname: 'eth0' });
      expect((err as { kernelMessage?: unknown }).kernelMessage).toEqual(expect.any(String));
      // Undone at once: the host end deleted (not left to the namespace's asynchronous teardown).
      expect(ip<IpLink[]>('link').map((l) => l.ifname)).not.toContain(hostIf);
      // No namespace fd, no socket but the kept one.
      expect([...openFds().values()].filter((t) => t.startsWith('net:'))).toEqual([...before.values()].filter((t) => t.startsWith('net:')));
      expectOnlyTheKeptSocket(before, before.size);
    },
  );

  netTest('connectToHost(child): veth, addresses, lo up and default route in one call; the host reaches a server inside', async () => {
    const ns = netns();
    using h = openNetns(ns);
    const child = spawn('sleep', ['30'], { join: { net: h } });
    const hostIf = `nsbx${id()}`;
    try {
      const c = await connectToHost(child, { hostIf, childIf: 'eth0', hostAddress: '10.9.0.1/30', childAddress: '10.9.0.2/30' });
      expect(c).toMatchObject({ hostIf, childIf: 'eth0' });
      const [hl] = ip<IpLink[]>('link', 'show', hostIf);
      expect(hl!.flags).toContain('UP');
      const inside = ip<IpLink[]>('-n', ns, 'link');
      expect(inside.map((l) => [l.ifname, l.flags.includes('UP')])).toEqual([
        ['lo', true],
        ['eth0', true],
      ]);
      expect(ip<IpRoute[]>('-n', ns, 'route')).toContainEqual(
        expect.objectContaining({ dst: 'default', gateway: '10.9.0.1', dev: 'eth0' }),
      );
      const server = await listenTcpIn(child.pid, 0, '10.9.0.2');
      server.on('connection', (s) => s.end('hello from inside'));
      const { connect } = await import('node:net');
      const got = await new Promise<string>((resolve, reject) => {
        let buf = '';
        const s = connect((server.address() as { port: number }).port, '10.9.0.2');
        s.on('data', (d) => (buf += String(d)))
          .on('end', () => resolve(buf))
          .on('error', reject);
      });
      expect(got).toBe('hello from inside');
      await new Promise((r) => server.close(r));
    } finally {
      child.kill('SIGKILL');
      await child.exited;
      await deleteLink(hostIf).catch(() => undefined);
    }
    expect(ip<IpLink[]>('link').map((l) => l.ifname)).not.toContain(hostIf);
  });
});

describe("spawn's network option: the child's own network namespace, set up before the command runs", () => {
  const CONTAINER = { namespaces: ['user', 'pid', 'mnt', 'uts', 'ipc', 'net'] as const, rootfs: 'host' as const };

  rootTest('veth: the link is in place when the command starts, and the command holds its network namespace', async () => {
    const hostIf = `nsbxs${id()}`;
    const child = spawn('sh', ['-c', 'ip -j addr; ip -j route; read x'], {
      ...CONTAINER,
      namespaces: [...CONTAINER.namespaces],
      network: { veth: { hostIf, hostAddress: '10.215.0.1/30', childAddress: '10.215.0.2/30' } },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      expect(child.veth).toEqual({ hostIf, hostIndex: expect.any(Number), childIf: 'eth0', childIndex: expect.any(Number) });
      expect(ip<IpLink[]>('link', 'show', hostIf)[0]!.ifindex).toBe(child.veth!.hostIndex);
      // Witness from outside: the host end, up, with its address.
      const host = ip<{ ifname: string; flags: string[]; addr_info: { local: string }[] }[]>('addr', 'show', hostIf)[0]!;
      expect(host.flags).toContain('UP');
      expect(host.addr_info.map((a) => a.local)).toContain('10.215.0.1');
      // The command's network namespace is owned by the command's user namespace.
      const net = openNamespace('net', { pid: child.pid });
      const user = openNamespace('user', { pid: child.pid });
      const owner = net.userNamespace();
      expect(owner.equals(user)).toBe(true);
      for (const n of [net, user, owner]) n.close();
      child.stdin!.end('\n');
      let out = '';
      for await (const d of child.stdout!) out += String(d);
      const [addrs, routesInside] = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(addrs.map((a: { ifname: string }) => a.ifname)).toEqual(['lo', 'eth0']);
      // Both indexes came from the veth's RTM_NEWLINK echo (no lookup): the inner one is eth0's as `ip` inside sees it.
      expect(addrs[1].ifindex).toBe(child.veth!.childIndex);
      expect(routesInside).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.215.0.1', dev: 'eth0' }));
      expect((await child.exited).code).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await child.exited;
      await deleteLink(hostIf).catch(() => undefined);
    }
  });

  rootTest('a failure midway (a default route the kernel refuses) fails the spawn at its network step and deletes the veth', () => {
    const hostIf = `nsbxf${id()}`;
    let err: unknown;
    try {
      spawn('true', [], {
        ...CONTAINER,
        namespaces: [...CONTAINER.namespaces],
        network: { veth: { hostIf, hostAddress: '10.216.0.1/30', childAddress: '10.217.0.2/30' } },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ENETUNREACH', syscall: 'RTM_NEWROUTE', step: 'network', ifname: 'eth0' });
    expect(ip<IpLink[]>('link').map((l) => l.ifname)).not.toContain(hostIf);
  });

  rootTest('a host end name that is taken: EEXIST at RTM_NEWLINK, nothing made', () => {
    const hostIf = `nsbxe${id()}`;
    execFileSync('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', `${hostIf}p`]);
    try {
      expect(() =>
        spawn('true', [], {
          namespaces: ['user', 'net'],
          network: { veth: { hostIf, hostAddress: '10.218.0.1/30', childAddress: '10.218.0.2/30' } },
        }),
      ).toThrow(expect.objectContaining({ code: 'EEXIST', syscall: 'RTM_NEWLINK', step: 'network', ifname: hostIf }));
      // The existing link is untouched: still the peer of our own other end.
      expect(ip<{ link?: string }[]>('link', 'show', hostIf)[0]!.link).toBe(`${hostIf}p`);
    } finally {
      execFileSync('ip', ['link', 'del', hostIf]);
    }
  });

  rootTest(
    'moveLinks: a host link moved in (renamed, its address kept, up) before the command runs; gone from the host meanwhile',
    async () => {
      const name = `nsbxm${id()}`;
      execFileSync('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
      execFileSync('ip', ['addr', 'add', '10.219.0.5/24', 'dev', name]);
      const child = spawn('sh', ['-c', 'ip -j addr; read x'], {
        namespaces: ['user', 'net'],
        network: { moveLinks: [{ name, newName: 'moved0' }] },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      try {
        expect(ip<IpLink[]>('link').map((l) => l.ifname)).not.toContain(name);
        child.stdin!.end('\n');
        let out = '';
        for await (const d of child.stdout!) out += String(d);
        const inside = (JSON.parse(out) as { ifname: string; flags: string[]; addr_info: { local: string }[] }[]).find(
          (l) => l.ifname === 'moved0',
        )!;
        expect(inside.flags).toContain('UP');
        expect(inside.addr_info.map((a) => a.local)).toContain('10.219.0.5');
        expect((await child.exited).code).toBe(0);
      } finally {
        child.kill('SIGKILL');
        await child.exited;
        // A virtual link dies with the namespace; deleted here only if the spawn never moved it.
        spawnSync('ip', ['link', 'del', `${name}p`], { stdio: 'ignore' });
      }
    },
  );

  test('validation before any syscall: needs a new network namespace, known keys, addresses of one family', () => {
    const bad =
      (network: unknown, namespaces: ('user' | 'net')[] = ['user', 'net']) =>
      () =>
        spawn('true', [], { namespaces, network } as Parameters<typeof spawn>[2]);
    expect(bad({}, ['user'])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(bad({ loopback: true })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(bad({ lo: 1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(bad({ veth: { hostAddress: '10.0.0.1/30', childAddress: 'fd00::2/64' } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(bad({ veth: { hostAddress: '10.0.0.1', childAddress: '10.0.0.2/30' } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(bad({ veth: { hostAddress: '10.0.0.1/30', childAddress: '10.0.0.2/30', hostIf: 'a\0b' } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(bad({ moveLinks: 'eth0' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(bad({ moveLinks: [{ name: '' }] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(bad({ moveLinks: [{ name: 'a', nm: 'b' }] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(bad({ moveLinks: [{ name: 'a' }, { name: 'a', newName: 'b' }] })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(
      bad({
        moveLinks: [
          { name: 'a', newName: 'c' },
          { name: 'b', newName: 'c' },
        ],
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});

describe("any user, the caller's own namespace", () => {
  testIf(tools.ip, 'needs iproute2')(
    "links(), addresses() and routes() of the caller's namespace match `ip -j` (no privileges needed)",
    async () => {
      expect((await links()).map((l) => [l.index, l.name])).toEqual(ip<IpLink[]>('link').map((l) => [l.ifindex, l.ifname]));
      const ours = (await addresses()).map((a) => `${a.index} ${a.cidr}`).sort();
      const theirs = ip<IpAddr[]>('addr')
        .flatMap((l) => l.addr_info.map((a) => `${l.ifindex} ${a.local}/${a.prefixlen}`))
        .sort();
      expect(ours).toEqual(theirs);
      expect((await routes({ family: 4 })).map((r) => r.dst).sort()).toEqual(
        ip<IpRoute[]>('route')
          .map((r) => r.dst)
          .sort(),
      );
    },
  );

  test('a worker thread that ends with an events() socket open and a request in flight exits cleanly', async () => {
    const { Worker } = await import('node:worker_threads');
    const url = new URL('../../dist/net/index.js', import.meta.url).href;
    const before = readdirSync('/proc/self/fd').length;
    const w = new Worker(
      `import { parentPort } from 'node:worker_threads';
       const net = await import(${JSON.stringify(url)});
       const it = net.events();
       void it.next();
       void net.links();
       parentPort.postMessage((await net.links()).length);`,
      { eval: true, type: 'module' } as never,
    );
    const n = await new Promise<number>((r, j) => {
      w.once('message', r);
      w.once('error', j);
    });
    expect(n).toBeGreaterThan(0);
    // terminate() resolves once the worker's environment is torn down, its cleanup hooks
    // (which close the sockets) included: no wait is needed before counting.
    await w.terminate();
    expect(readdirSync('/proc/self/fd').length).toBeLessThanOrEqual(before);
  });
});

describe('validation (no privileges needed)', () => {
  rootTest('misuse is a synchronous or immediate TypeError/RangeError with a code', async () => {
    await expect(addAddress('lo', '10.0.0.1')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(addRoute({ dst: '10.0.0.0/33' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    // @ts-expect-error kind is checked at run time too
    await expect(addLink({ kind: 'tun', name: 'x' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(setLink('lo', { mtu: 10 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(links({ netns: {} as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });
});

describe('leaks', () => {
  netTest('no netns, link or fd is left over', async () => {
    for (const n of made) deleteNetns(n);
    made.clear();
    expect(listNetns().filter((n) => n.startsWith('nsbxt-'))).toEqual([]);
    expect(
      ip<IpLink[]>('link')
        .map((l) => l.ifname)
        .filter((n) => n.startsWith('nsbx')),
    ).toEqual([]);
    // Every call above has settled, and a socket is closed before its call settles, except
    // the one host-side socket connectToHost keeps for the environment.
    expectOnlyTheKeptSocket(fdMapBefore, fdsBefore);
    // After all of the above, every thread of this process (JS, libuv's pool, V8's) is still
    // in the network namespace it started in: only the short-lived socket threads entered others.
    const own = readlinkSync('/proc/self/ns/net');
    const threads = readdirSync('/proc/self/task');
    expect(threads.length).toBeGreaterThan(1);
    for (const t of threads) {
      try {
        expect(readlinkSync(`/proc/self/task/${t}/ns/net`), `thread ${t}`).toBe(own);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // a thread that just ended
      }
    }
  });
});
