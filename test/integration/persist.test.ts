// Persisted namespaces and named netns, with iproute2, stat and /proc/self/mountinfo as witnesses.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect } from 'vitest';
import { SysError } from '../../src/errors.js';
import { createNamespace, openNamespace, openNamespacePath, persistNamespace, unpersistNamespace } from '../../src/namespaces/index.js';
import { createNetns, deleteNetns, listNetns, openNetns } from '../../src/net/index.js';
import { isRoot, rootTest, testIf, tools } from '../helpers/env.js';

const ipTest = testIf(isRoot && tools.ip, 'needs root and iproute2');
const fdCount = (): number => readdirSync('/proc/self/fd').length;
const randomName = (): string => `nsbox-test-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
/** Mount points of /proc/self/mountinfo (field 5) with their fs type (after the ' - '). */
const mounts = (): { point: string; fstype: string; optional: string }[] =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const [left, right] = l.split(' - ') as [string, string];
      const f = left.split(' ');
      return { point: f[4]!, fstype: right.split(' ')[0]!, optional: f.slice(6).join(' ') };
    });
const mountedAt = (path: string): boolean => mounts().some((m) => m.point === path);
const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

let dir: string;
const netnsNames: string[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsbox-test-'));
});

afterEach(() => {
  for (const name of netnsNames.splice(0)) {
    const path = `/run/netns/${name}`;
    while (mountedAt(path)) execFileSync('umount', ['-l', path]);
    rmSync(path, { force: true });
  }
  for (const m of mounts()
    .filter((m) => m.point.startsWith(`${dir}/`))
    .reverse())
    execFileSync('umount', ['-l', m.point]);
  rmSync(dir, { recursive: true, force: true });
});

describe('persistNamespace', () => {
  rootTest('bind-mounts the namespace: stat -L sees its inode, mountinfo an nsfs mount; unpersist removes both', () => {
    const path = join(dir, 'net');
    using ns = createNamespace('net');
    persistNamespace(ns, path);
    expect(Number(execFileSync('stat', ['-L', '-c', '%i', path], { encoding: 'utf8' }))).toBe(ns.ino);
    expect(mounts().find((m) => m.point === path)?.fstype).toBe('nsfs');
    using again = openNamespacePath(path);
    expect(again.equals(ns)).toBe(true);
    unpersistNamespace(path);
    expect(mountedAt(path)).toBe(false);
    expect(existsSync(path)).toBe(false);
  });

  rootTest('the namespace outlives every fd while persisted', () => {
    const path = join(dir, 'uts');
    const ns = createNamespace('uts');
    const id = ns.id;
    persistNamespace(ns, path);
    ns.close();
    using back = openNamespacePath(path);
    expect(back.id).toBe(id);
    unpersistNamespace(path);
  });

  rootTest('exclusive: an existing file is EEXIST and stays as it was', () => {
    const path = join(dir, 'taken');
    writeFileSync(path, 'x');
    using ns = openNamespace('net');
    expect(() => persistNamespace(ns, path, { exclusive: true })).toThrow(
      expect.objectContaining({ code: 'EEXIST', syscall: 'open', path }),
    );
    expect(readFileSync(path, 'utf8')).toBe('x');
    expect(mountedAt(path)).toBe(false);
  });

  rootTest('a failed mount leaves no file behind (own mnt namespace: EINVAL, mount(2) loop check)', () => {
    const path = join(dir, 'mnt');
    using ns = openNamespace('mnt');
    let err: unknown;
    try {
      persistNamespace(ns, path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: 'EINVAL', syscall: 'mount', dest: path });
    expect(existsSync(path)).toBe(false);
    expect(mountedAt(path)).toBe(false);
  });

  rootTest('a new mnt namespace can be persisted in the older one', () => {
    const path = join(dir, 'newmnt');
    using ns = createNamespace('mnt');
    persistNamespace(ns, path);
    expect(mounts().find((m) => m.point === path)?.fstype).toBe('nsfs');
    unpersistNamespace(path);
    expect(existsSync(path)).toBe(false);
  });

  rootTest('unpersistNamespace refuses a file that is not a namespace, unmounting nothing', () => {
    const path = join(dir, 'plain');
    writeFileSync(path, '');
    expect(() => unpersistNamespace(path)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(existsSync(path)).toBe(true);
  });

  rootTest('200 persist/unpersist cycles leave fds and mounts as they were', () => {
    using ns = createNamespace('net');
    const fds = fdCount();
    const nmounts = mounts().length;
    for (let i = 0; i < 200; i++) {
      const path = join(dir, `n${i}`);
      persistNamespace(ns, path);
      unpersistNamespace(path);
    }
    expect(fdCount()).toBe(fds);
    expect(mounts().length).toBe(nmounts);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('named network namespaces (iproute2-compatible)', () => {
  ipTest('createNetns: ip netns list shows it, ip netns exec sees only lo, in that namespace', () => {
    const name = randomName();
    netnsNames.push(name);
    using ns = createNetns(name);
    expect(ns.type).toBe('net');
    expect(ip('netns', 'list')).toMatch(new RegExp(`^${name}\\b`, 'm'));
    const listed = JSON.parse(ip('-j', 'netns', 'list')) as { name: string }[];
    expect(listed.map((n) => n.name)).toContain(name);
    const links = JSON.parse(ip('netns', 'exec', name, 'ip', '-j', 'link')) as { ifname: string }[];
    expect(links.map((l) => l.ifname)).toEqual(['lo']);
    expect(ip('netns', 'exec', name, 'readlink', '/proc/self/ns/net').trim()).toBe(ns.id);
    expect(listNetns()).toContain(name);
  });

  ipTest('/run/netns is a shared mount point, as ip netns add leaves it', () => {
    const name = randomName();
    netnsNames.push(name);
    createNetns(name).close();
    const runNetns = mounts()
      .filter((m) => m.point === '/run/netns')
      .at(-1);
    expect(runNetns?.optional).toMatch(/shared:\d+/);
    expect(statSync('/run/netns').mode & 0o7777).toBe(0o755);
  });

  ipTest('a name already taken is EEXIST and nothing changes', () => {
    const name = randomName();
    netnsNames.push(name);
    using first = createNetns(name);
    const before = mounts().length;
    expect(() => createNetns(name)).toThrow(expect.objectContaining({ code: 'EEXIST', syscall: 'open' }));
    expect(mounts().length).toBe(before);
    using still = openNetns(name);
    expect(still.equals(first)).toBe(true);
  });

  ipTest('one made by ip netns add opens with openNetns; its inode is stat -L /run/netns/NAME', () => {
    const name = randomName();
    netnsNames.push(name);
    ip('netns', 'add', name);
    using ns = openNetns(name);
    const ino = Number(execFileSync('stat', ['-L', '-c', '%i', `/run/netns/${name}`], { encoding: 'utf8' }));
    expect(ns.ino).toBe(ino);
    expect(listNetns()).toContain(name);
    deleteNetns(name);
    expect(ip('netns', 'list')).not.toMatch(new RegExp(`^${name}\\b`, 'm'));
  });

  ipTest('deleteNetns leaves no mount and no file; ip netns list no longer shows it', () => {
    const name = randomName();
    netnsNames.push(name);
    createNetns(name).close();
    const path = `/run/netns/${name}`;
    expect(mountedAt(path)).toBe(true);
    deleteNetns(name);
    expect(mountedAt(path)).toBe(false);
    expect(existsSync(path)).toBe(false);
    expect(ip('netns', 'list')).not.toMatch(new RegExp(`^${name}\\b`, 'm'));
    expect(listNetns()).not.toContain(name);
  });

  ipTest('listNetns skips files in /run/netns that are not namespaces', () => {
    const name = randomName();
    netnsNames.push(name);
    createNetns(`${name}`).close();
    const plain = `${name}-plain`;
    netnsNames.push(plain);
    writeFileSync(`/run/netns/${plain}`, '');
    const names = listNetns();
    expect(names).toContain(name);
    expect(names).not.toContain(plain);
    expect(() => openNetns(plain)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  ipTest('openNetns of a missing name is ENOENT', () => {
    expect(() => openNetns(randomName())).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});
