// The new mount API (fsopen/fsconfig/fsmount/open_tree/mount_setattr/move_mount) as handles,
// idmapped mounts, resolveInRoot against planted symlinks, and watchMounts.
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { SysError } from '../../src/errors.js';
import { DetachedMount, fsopen, mountTmpfs, mountinfo, openTree, resolveInRoot, umount, watchMounts } from '../../src/fs/index.js';
import { spawn } from '../../src/namespaces/index.js';
import { fdCount } from '../helpers/proc.js';
import { rootTest } from '../helpers/env.js';

let dir: string;

function mountsUnder(prefix: string): string[] {
  return mountinfo()
    .map((e) => e.mountPoint)
    .filter((m) => m === prefix || m.startsWith(`${prefix}/`));
}

function sub(...parts: string[]): string {
  const p = join(dir, ...parts);
  mkdirSync(p, { recursive: true });
  return p;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsbox-fsapi-'));
});

afterEach(() => {
  for (const m of mountsUnder(dir).reverse()) umount(m, { lazy: true });
  expect(mountsUnder(dir), 'no mount left behind').toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

describe('fsopen → set → create → mount → attach', () => {
  rootTest('a tmpfs through the new API, with attributes; findmnt sees it', () => {
    const t = sub('t');
    const fds = fdCount();
    {
      using ctx = fsopen('tmpfs');
      ctx.set('size', '2M').set('mode', 700).set('source', 'nsbox-newapi').create();
      using m = ctx.mount({ attrs: ['nosuid', 'noexec'] });
      m.attach(t);
    }
    expect(fdCount()).toBe(fds);
    const w = JSON.parse(execFileSync('findmnt', ['-J', '--mountpoint', t], { encoding: 'utf8' })).filesystems[0];
    expect(w).toMatchObject({ source: 'nsbox-newapi', fstype: 'tmpfs' });
    expect(w.options.split(',')).toEqual(expect.arrayContaining(['nosuid', 'noexec', 'size=2048k', 'mode=700']));
  });

  rootTest('a bad option: SysError EINVAL with the key and the kernel message', () => {
    using ctx = fsopen('tmpfs');
    let err: unknown;
    try {
      ctx.set('sizee', '1M');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: 'EINVAL', syscall: 'fsconfig', path: 'sizee' });
    expect((err as { kernelMessage?: string }).kernelMessage).toMatch(/sizee/);
  });

  rootTest('an unknown filesystem type: SysError ENODEV', () => {
    expect(() => fsopen('nosuchfs')).toThrow(expect.objectContaining({ code: 'ENODEV', syscall: 'fsopen', path: 'nosuchfs' }));
  });

  rootTest('closing a detached mount before attach leaves nothing mounted; methods then throw ERR_HANDLE_CLOSED', () => {
    const ctx = fsopen('tmpfs').create();
    const m = ctx.mount();
    ctx.close();
    m.close();
    expect(m.closed).toBe(true);
    expect(() => m.attach(sub('t'))).toThrow(expect.objectContaining({ code: 'ERR_HANDLE_CLOSED' }));
    expect(() => m.setAttr({ set: ['rdonly'] })).toThrow(expect.objectContaining({ code: 'ERR_HANDLE_CLOSED' }));
    expect(mountsUnder(dir)).toEqual([]);
  });
});

describe('openTree() and setAttr()', () => {
  rootTest('a recursive clone made read-only before attach: EROFS in the copy and its submount', () => {
    const src = sub('src');
    mountTmpfs(sub('src', 'inner'));
    const t = sub('t');
    using m = openTree(src, { clone: true, recursive: true });
    expect(m).toBeInstanceOf(DetachedMount);
    m.setAttr({ set: ['rdonly', 'noatime'], recursive: true, propagation: 'private' });
    m.attach(t);
    expect(mountsUnder(t)).toEqual([t, join(t, 'inner')]);
    expect(() => writeFileSync(join(t, 'inner', 'x'), '')).toThrow(expect.objectContaining({ code: 'EROFS' }));
    expect(() => writeFileSync(join(t, 'x'), '')).toThrow(expect.objectContaining({ code: 'EROFS' }));
    const inner = mountinfo()
      .filter((e) => e.mountPoint === join(t, 'inner'))
      .at(-1)!;
    expect(inner.options).toEqual(expect.arrayContaining(['ro', 'noatime']));
    writeFileSync(join(src, 'inner', 'x'), '');
  });

  rootTest('idmapped bind: files owned by 0 in the source appear owned by 1000 in the target', async () => {
    const src = sub('src');
    mountTmpfs(src); // tmpfs supports idmapped mounts (Linux 6.3)
    writeFileSync(join(src, 'f'), '');
    chownSync(join(src, 'f'), 0, 0);
    const t = sub('t');
    const holder = spawn('sleep', ['30'], {
      namespaces: ['user'],
      uidMap: [{ inside: 0, outside: 1000, count: 1 }],
      gidMap: [{ inside: 0, outside: 1000, count: 1 }],
      stdio: 'ignore',
    });
    try {
      using userns = holder.namespace('user');
      using m = openTree(src, { clone: true });
      m.setAttr({ idmap: userns });
      m.attach(t);
    } finally {
      holder.kill('SIGKILL');
      await holder.exited;
    }
    const st = statSync(join(t, 'f'));
    expect([st.uid, st.gid]).toEqual([1000, 1000]);
    expect(statSync(join(src, 'f')).uid).toBe(0);
    expect(
      mountinfo()
        .filter((e) => e.mountPoint === t)
        .at(-1)!.options,
    ).toContain('idmapped');
  });

  rootTest('idmap needs a user namespace handle', () => {
    using m = openTree(sub('src'), { clone: true });
    expect(() => m.setAttr({ idmap: {} as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => m.setAttr({ set: ['noatime', 'strictatime'] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});

describe('resolveInRoot()', () => {
  test('symlinks planted in the root resolve inside it, never to the host', () => {
    const root = sub('root');
    mkdirSync(join(root, 'inner', 'etc'), { recursive: true });
    writeFileSync(join(root, 'inner', 'etc', 'passwd'), 'inside');
    symlinkSync('/inner/etc', join(root, 'etc')); // absolute: means root/inner/etc, not /etc
    symlinkSync('../../../../../..', join(root, 'x')); // climbs: stops at root
    symlinkSync('/proc/self/root', join(root, 'magic'));
    using h1 = resolveInRoot(root, 'etc/passwd');
    expect(readFileSync(h1.procPath, 'utf8')).toBe('inside');
    using h2 = resolveInRoot(root, '/x/x/etc/passwd');
    expect(readFileSync(h2.procPath, 'utf8')).toBe('inside');
    using h3 = resolveInRoot(root, '../../..');
    expect(statSync(h3.procPath).ino).toBe(statSync(root).ino);
    // The host's /etc/passwd is not reachable: /etc/hostname does not exist inside.
    expect(() => resolveInRoot(root, 'x/etc/hostname')).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'openat2' }));
    // /proc/self/root is an absolute symlink inside the root: no /proc there.
    expect(() => resolveInRoot(root, 'magic/etc')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => resolveInRoot(root, 'etc/passwd', { flags: ['no_symlinks'] })).toThrow(expect.objectContaining({ code: 'ELOOP' }));
    h1.close();
    expect(() => h1.procPath).toThrow(expect.objectContaining({ code: 'ERR_HANDLE_CLOSED' }));
  });

  test('a missing root: SysError ENOENT naming the root', () => {
    const root = join(dir, 'none');
    expect(() => resolveInRoot(root, 'etc')).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'open', path: root }));
  });

  rootTest('a mount through procPath lands inside the root even when the path is a symlink to a host path', () => {
    const root = sub('root');
    mkdirSync(join(root, 'var', 'tmp'), { recursive: true });
    symlinkSync('/var/tmp', join(root, 'data')); // naively followed, this is the host's /var/tmp
    symlinkSync('/tmp', join(root, 'tmp')); // inside the root this points at itself
    const hostBefore = mountsUnder('/var/tmp');
    using h = resolveInRoot(root, 'data', { flags: ['directory'] });
    expect(statSync(h.procPath).ino).toBe(statSync(join(root, 'var', 'tmp')).ino);
    expect(statSync(h.procPath).ino).not.toBe(statSync('/var/tmp').ino);
    mountTmpfs(h.procPath);
    expect(mountsUnder(root)).toEqual([join(root, 'var', 'tmp')]);
    expect(mountsUnder('/var/tmp')).toEqual(hostBefore);
    expect(() => resolveInRoot(root, 'tmp/x')).toThrow(expect.objectContaining({ code: 'ELOOP', syscall: 'openat2' }));
  });
});

describe('watchMounts()', () => {
  rootTest('yields a snapshot holding a new mount, and another once it is gone', async () => {
    const t = sub('t');
    const it = watchMounts();
    const next = it.next();
    mountTmpfs(t);
    const { value, done } = await next;
    expect(done).toBe(false);
    expect(value!.some((e) => e.mountPoint === t)).toBe(true);
    const again = it.next();
    umount(t);
    expect((await again).value!.some((e) => e.mountPoint === t)).toBe(false);
    expect(await it.return!()).toEqual({ value: undefined, done: true });
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  test('abort ends a pending next() with an AbortError caused by the reason; the fd is closed', async () => {
    const fds = fdCount();
    const ac = new AbortController();
    const it = watchMounts('self', { signal: ac.signal });
    expect(fdCount()).toBe(fds + 1);
    const pending = it.next();
    const reason = new Error('enough');
    ac.abort(reason);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: reason });
    expect(fdCount()).toBe(fds);
  });
});
