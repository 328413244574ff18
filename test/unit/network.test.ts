// Named networks' state, without privileges: validation before any syscall, and the claims —
// concurrent joins from several processes never share an address, a member whose process
// was SIGKILLed is reclaimed, /etc/hosts follows the members. The record is written here
// (createNetwork would make a bridge, which needs root: test/integration/cli.test.ts does).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, test } from 'vitest';
import { createNetwork, listNetworks, openNetwork, removeNetwork } from '../../src/net/index.js';
import { currentNetns, hostsText } from '../../src/net/network-state.js';
import { checkNetwork } from '../../src/net/spawn-network.js';
import { isRoot, onPath, rootlessTest, testIf } from '../helpers/env.js';

const DIST = new URL('../../dist/net/index.js', import.meta.url).pathname;
const HELPER = new URL('../helpers/network-member.mjs', import.meta.url).pathname;
const dirs: string[] = [];
const procs: ReturnType<typeof spawn>[] = [];

afterEach(() => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A state directory with network `net` recorded as made in this network namespace. */
function stateWith(subnet = '10.89.200.0/29'): string {
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-networks-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'net/members'), { recursive: true });
  mkdirSync(join(dir, 'net/hosts'), { recursive: true });
  const [a] = subnet.split('/');
  const gateway = a!.replace(/\.\d+$/, (x) => `.${Number(x.slice(1)) + 1}`);
  const rec = { version: 1, name: 'net', subnet, gateway, bridge: 'nsbr-net', natTable: null, netns: currentNetns() };
  writeFileSync(join(dir, 'net/network.json'), JSON.stringify(rec));
  return dir;
}

function member(stateDir: string, name: string): Promise<{ p: ReturnType<typeof spawn>; address: string }> {
  const p = spawn(process.execPath, [HELPER, DIST, stateDir, 'net', name], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(p);
  return new Promise((resolve, reject) => {
    createInterface({ input: p.stdout! }).once('line', (address) => resolve({ p, address }));
    p.once('exit', (code) => reject(new Error(`member ${name} exited ${code}`)));
  });
}

describe('named networks: validation', () => {
  test('bad names, subnets and options are refused before anything is done', async () => {
    const stateDir = '/nonexistent/nsbox-test';
    await expect(createNetwork('a b', { stateDir })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(createNetwork('x'.repeat(33), { stateDir })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(createNetwork('ok', { stateDir, subnet: '10.0.0.0/31' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(createNetwork('ok', { stateDir, subnet: 'fd00::/64' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(createNetwork('ok', { stateDir, nat: 'yes' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(createNetwork('ok', { stateDir: 'relative' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(removeNetwork('ok', { stateDir, force: 1 as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });

  test('join checks the name and the address', async () => {
    const net = await openNetwork('net', { stateDir: stateWith() });
    await expect(net.join('no_underscores')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(net.join('web', { address: '10.89.200.1' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' }); // the gateway
    await expect(net.join('web', { address: '10.89.201.2' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(openNetwork('other', { stateDir: stateWith() })).rejects.toMatchObject({ code: 'ERR_NSBOX_NETWORK_NOT_FOUND' });
  });

  test('a network made in another network namespace is not found here; force removes its record only', async () => {
    const stateDir = stateWith();
    const f = join(stateDir, 'net/network.json');
    writeFileSync(f, JSON.stringify({ ...JSON.parse(readFileSync(f, 'utf8')), netns: 'net:[1]' }));
    await expect(openNetwork('net', { stateDir })).rejects.toMatchObject({ code: 'ERR_NSBOX_NETWORK_NOT_FOUND' });
    await expect(removeNetwork('net', { stateDir })).rejects.toMatchObject({ code: 'ERR_NSBOX_NETWORK_NOT_FOUND' });
    await removeNetwork('net', { stateDir, force: true });
    expect(await listNetworks({ stateDir })).toEqual([]);
  });
});

describe('named networks: claims', () => {
  test('concurrent joins from five processes get five addresses; the subnet is then full', async () => {
    const stateDir = stateWith('10.89.200.0/29'); // .2 to .6: five members
    const got = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => member(stateDir, n)));
    expect(got.map((g) => g.address).sort()).toEqual(['10.89.200.2', '10.89.200.3', '10.89.200.4', '10.89.200.5', '10.89.200.6']);
    const net = await openNetwork('net', { stateDir });
    await expect(net.join('f')).rejects.toMatchObject({ code: 'ERR_NSBOX_NETWORK_FULL' });
    await expect(net.join('a')).rejects.toMatchObject({ code: 'ERR_NSBOX_NETWORK_IN_USE' });
    await expect(removeNetwork('net', { stateDir })).rejects.toMatchObject({ code: 'ERR_NSBOX_NETWORK_IN_USE' });
  });

  test('a SIGKILLed member is reclaimed: its address is free again and the others no longer name it', async () => {
    const stateDir = stateWith('10.89.200.0/29');
    const a = await member(stateDir, 'alpha');
    const b = await member(stateDir, 'beta');
    const hostsOfA = join(stateDir, 'net/hosts', a.address);
    expect(readFileSync(hostsOfA, 'utf8')).toBe(
      hostsText([
        { name: 'alpha', address: a.address, pid: 0 },
        { name: 'beta', address: b.address, pid: 0 },
      ]),
    );
    const inode = statSync(hostsOfA).ino;
    b.p.kill('SIGKILL');
    await new Promise((r) => b.p.once('exit', r));
    const [info] = await listNetworks({ stateDir });
    expect(info!.members.map((m) => m.name)).toEqual(['alpha']);
    expect(readFileSync(hostsOfA, 'utf8')).not.toMatch(/beta/);
    expect(statSync(hostsOfA).ino).toBe(inode); // rewritten in place: the bind stays valid
    expect(readdirSync(join(stateDir, 'net/hosts'))).toEqual([a.address]);
    const c = await member(stateDir, 'gamma');
    expect(c.address).toBe(b.address);
    // A member that leaves takes its files with it.
    a.p.kill('SIGTERM');
    await new Promise((r) => a.p.once('exit', r));
    expect(readdirSync(join(stateDir, 'net/hosts'))).toEqual([c.address]);
    expect(readFileSync(join(stateDir, 'net/hosts', c.address), 'utf8')).not.toMatch(/alpha/);
  });

  test('a member in this process: spawnOptions, leave, and ERR_HANDLE_CLOSED after', async () => {
    const stateDir = stateWith('10.89.200.0/29');
    const m = await (await openNetwork('net', { stateDir })).join('web', { address: '10.89.200.5', isolate: false });
    expect(m.isolationTable).toBeUndefined();
    expect(m.spawnOptions()).toEqual({
      hostname: 'web',
      network: { lo: true, veth: { bridge: 'nsbr-net', childAddress: '10.89.200.5/29', gateway: '10.89.200.1' } },
      mounts: [{ type: 'bind', source: join(stateDir, 'net/hosts/10.89.200.5'), target: '/etc/hosts', readOnly: true }],
    });
    await m.leave();
    await m.leave();
    expect(m.left).toBe(true);
    expect(() => m.spawnOptions()).toThrow(expect.objectContaining({ code: 'ERR_HANDLE_CLOSED' }));
    expect(readdirSync(join(stateDir, 'net/members'))).toEqual([]);
  });
});

describe("a member's direct-access protection (isolate, the default)", () => {
  const tables = () => execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' });
  const nftTest = testIf(isRoot && onPath('nft'), 'needs root and nft(8), the witness');
  test('isolate must be a boolean, checked before any claim', async () => {
    const stateDir = stateWith();
    await expect((await openNetwork('net', { stateDir })).join('web', { isolate: 'yes' as never })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
    expect(readdirSync(join(stateDir, 'net/members'))).toEqual([]);
  });
  nftTest("join holds an owned table that drops the address's packets not from the bridge; leave removes it", async () => {
    const stateDir = stateWith('10.89.200.0/29');
    const m = await (await openNetwork('net', { stateDir })).join('web', { address: '10.89.200.5' });
    try {
      const t = m.isolationTable!;
      expect(t).toMatch(/^nsbox_iso_\d+_\d+$/);
      const rules = execFileSync('nft', ['list', 'table', 'ip', t], { encoding: 'utf8' });
      expect(rules).toMatch(/ip daddr 10\.89\.200\.5 iifname != "nsbr-net"/);
      // The record's network has no NAT: replies to the member's own connections get in.
      expect(rules).toMatch(/ct state ! established,related counter packets \d+ bytes \d+ drop/);
    } finally {
      await m.leave();
    }
    expect(tables()).not.toMatch(/nsbox_iso_/);
    expect(m.isolationTable).toBeUndefined();
  });
  rootlessTest('without CAP_NET_ADMIN join fails EPERM and keeps no claim', async () => {
    const stateDir = stateWith('10.89.200.0/29');
    await expect((await openNetwork('net', { stateDir })).join('web')).rejects.toMatchObject({ code: 'EPERM' });
    expect(readdirSync(join(stateDir, 'net/members'))).toEqual([]);
    expect(readdirSync(join(stateDir, 'net/hosts'))).toEqual([]);
  });
});

describe("spawn's network.veth with a bridge", () => {
  const check = (veth: Record<string, unknown>) => checkNetwork({ veth }, true);
  test('bridge and gateway: no host address; the route via the gateway', () => {
    expect(check({ bridge: 'nsbr-app', childAddress: '10.89.0.2/24', gateway: '10.89.0.1' })!.veth).toMatchObject({
      bridge: 'nsbr-app',
      gateway: Buffer.from([10, 89, 0, 1]),
      defaultRoute: true,
    });
    expect(check({ bridge: 'nsbr-app', childAddress: '10.89.0.2/24' })!.veth!.host).toBeUndefined();
  });
  test('refused before any syscall: a host address with a bridge, a gateway without one, a bad name or family', () => {
    const code = (v: Record<string, unknown>) => {
      try {
        check(v);
      } catch (err) {
        return (err as { code?: string }).code;
      }
      return 'accepted';
    };
    expect(code({ bridge: 'br0', hostAddress: '10.0.0.1/24', childAddress: '10.0.0.2/24' })).toBe('ERR_INVALID_ARG_VALUE');
    expect(code({ hostAddress: '10.0.0.1/24', childAddress: '10.0.0.2/24', gateway: '10.0.0.1' })).toBe('ERR_INVALID_ARG_VALUE');
    expect(code({ bridge: '', childAddress: '10.0.0.2/24' })).toBe('ERR_INVALID_ARG_VALUE');
    expect(code({ bridge: 'br0', childAddress: '10.0.0.2/24', gateway: 'fd00::1' })).toBe('ERR_INVALID_ARG_VALUE');
    expect(code({ childAddress: '10.0.0.2/24' })).toBe('ERR_INVALID_ARG_VALUE'); // no host address, no bridge
  });
});
