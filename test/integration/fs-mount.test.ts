// mount/umount/bind/remount/setPropagation and the typed filesystems on the real kernel.
// Each test mounts under its own temp dir on the host (the test process never changes
// namespace) and unmounts everything in afterEach; witnesses: findmnt -J, /proc/self/mountinfo.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect } from 'vitest';
import { SysError } from '../../src/errors.js';
import {
  bind,
  mount,
  mountinfo,
  mountOverlay,
  mountProc,
  mountTmpfs,
  openTree,
  remount,
  resolveInRoot,
  setPropagation,
  umount,
} from '../../src/fs/index.js';
import { rootTest } from '../helpers/env.js';

let dir: string;

/** Mount points under `prefix`, from /proc/self/mountinfo, in mount order. */
function mountsUnder(prefix: string): string[] {
  return mountinfo()
    .map((e) => e.mountPoint)
    .filter((m) => m === prefix || m.startsWith(`${prefix}/`));
}

function findmnt(target: string): { target: string; source: string; fstype: string; options: string } {
  const out = execFileSync('findmnt', ['-J', '--mountpoint', target], { encoding: 'utf8' });
  return (JSON.parse(out) as { filesystems: { target: string; source: string; fstype: string; options: string }[] }).filesystems[0]!;
}

function sub(...parts: string[]): string {
  const p = join(dir, ...parts);
  mkdirSync(p, { recursive: true });
  return p;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsbox-fs-'));
});

afterEach(() => {
  // Deepest first; lazy so a busy mount cannot leave the dir behind.
  for (const m of mountsUnder(dir).reverse()) umount(m, { lazy: true });
  expect(mountsUnder(dir), 'no mount left behind').toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

describe('mount() and the typed filesystems', () => {
  rootTest('tmpfs: size and mode as findmnt shows them; umount removes it', () => {
    const t = sub('t');
    mountTmpfs(t, { size: '16M', mode: 0o710 });
    const w = findmnt(t);
    expect(w.fstype).toBe('tmpfs');
    expect(w.options.split(',')).toEqual(expect.arrayContaining(['nosuid', 'nodev', 'size=16384k', 'mode=710']));
    expect(statSync(t).mode & 0o7777).toBe(0o710);
    umount(t);
    expect(mountsUnder(t)).toEqual([]);
  });

  rootTest('generic mount() with flags and a data object', () => {
    const t = sub('t');
    mount('nsbox-test', t, { fstype: 'tmpfs', flags: ['noexec', 'nosuid'], data: { size: 1 << 20, mode: '700' } });
    const e = mountinfo()
      .filter((m) => m.mountPoint === t)
      .at(-1)!;
    expect(e.source).toBe('nsbox-test');
    expect(e.options).toEqual(expect.arrayContaining(['noexec', 'nosuid']));
    expect(e.superOptions).toEqual(expect.arrayContaining(['size=1024k', 'mode=700']));
  });

  rootTest('proc with hidepid and subset=pid: no /proc/sys in it', () => {
    const t = sub('proc');
    mountProc(t, { hidepid: 'invisible', subset: 'pid' });
    expect(findmnt(t).options.split(',')).toEqual(expect.arrayContaining(['hidepid=invisible', 'subset=pid']));
    const names = readdirSync(t);
    expect(names).toContain(String(process.pid));
    expect(names).not.toContain('sys');
  });

  rootTest('remount with rdonly makes writes fail with EROFS; remount back restores them', () => {
    const t = sub('t');
    mountTmpfs(t);
    writeFileSync(join(t, 'a'), 'a');
    remount(t, ['bind', 'rdonly']);
    expect(() => writeFileSync(join(t, 'b'), 'b')).toThrow(expect.objectContaining({ code: 'EROFS' }));
    remount(t, ['bind']);
    writeFileSync(join(t, 'b'), 'b');
  });

  rootTest('missing source: SysError ENOENT with path and dest, nothing mounted', () => {
    const t = sub('t');
    const missing = join(dir, 'missing');
    const err = (() => {
      try {
        bind(missing, t);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'mount', path: missing, dest: t });
    expect(mountsUnder(dir)).toEqual([]);
  });

  rootTest('missing target: SysError ENOENT, nothing mounted', () => {
    const t = join(dir, 'nope');
    expect(() => mountTmpfs(t)).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'mount', path: 'tmpfs', dest: t }));
    expect(() => umount(t)).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'umount2', path: t }));
    expect(mountsUnder(dir)).toEqual([]);
  });

  rootTest('umount of a directory that is not a mount point: EINVAL', () => {
    const t = sub('t');
    expect(() => umount(t)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'umount2', path: t }));
  });
});

describe('bind()', () => {
  rootTest('read-only bind: EROFS through the bind, the source stays writable', () => {
    const src = sub('src');
    const t = sub('t');
    writeFileSync(join(src, 'f'), 'hello');
    bind(src, t, { readOnly: true });
    expect(readFileSync(join(t, 'f'), 'utf8')).toBe('hello');
    expect(() => writeFileSync(join(t, 'g'), 'x')).toThrow(expect.objectContaining({ code: 'EROFS' }));
    writeFileSync(join(src, 'g'), 'x');
    expect(findmnt(t).options.split(',')).toContain('ro');
  });

  // Regression (issue 11): the read-only step re-resolved the target, and /proc/self/fd/N
  // resolves to the covered directory, not the new mount: mount_setattr failed with EINVAL.
  rootTest('read-only bind onto a resolveInRoot procPath: the mount lands inside the root, read-only', () => {
    const src = sub('src');
    const root = sub('root');
    sub('root', 'real');
    symlinkSync('../../../../real', join(root, 'link')); // clamped to root: root/real
    writeFileSync(join(src, 'f'), 'hello');
    const dst = resolveInRoot(root, '/link', { flags: ['directory'] });
    try {
      bind(src, dst.procPath, { readOnly: true });
    } finally {
      dst.close();
    }
    const t = join(root, 'real');
    expect(mountsUnder(dir)).toEqual([t]);
    expect(findmnt(t).options.split(',')).toContain('ro');
    expect(readFileSync(join(t, 'f'), 'utf8')).toBe('hello');
    expect(() => writeFileSync(join(t, 'g'), 'x')).toThrow(expect.objectContaining({ code: 'EROFS' }));
  });

  rootTest('DetachedMount.attach follows a procPath magic link to the opened directory', () => {
    const src = sub('src');
    const t = sub('t');
    const dst = resolveInRoot(dir, '/t', { flags: ['directory'] });
    const tree = openTree(src, { clone: true });
    try {
      tree.attach(dst.procPath);
    } finally {
      tree.close();
      dst.close();
    }
    expect(mountsUnder(dir)).toEqual([t]);
  });

  rootTest('a read-only bind that fails leaves nothing mounted, with the failing syscall and path', () => {
    const src = sub('src');
    const missing = join(dir, 'missing');
    expect(() => bind(src, missing, { readOnly: true })).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'move_mount', path: missing }),
    );
    expect(() => bind(missing, sub('t'), { readOnly: true })).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'open_tree', path: missing }),
    );
    expect(mountsUnder(dir)).toEqual([]);
  });

  rootTest('recursive read-only bind (mount_setattr AT_RECURSIVE) applies to a submount', () => {
    const src = sub('src');
    const inner = sub('src', 'inner');
    const t = sub('t');
    mountTmpfs(inner);
    bind(src, t, { recursive: true, readOnly: true });
    expect(mountsUnder(t)).toEqual([t, join(t, 'inner')]);
    expect(() => writeFileSync(join(t, 'inner', 'x'), 'x')).toThrow(expect.objectContaining({ code: 'EROFS' }));
    expect(() => writeFileSync(join(t, 'x'), 'x')).toThrow(expect.objectContaining({ code: 'EROFS' }));
    writeFileSync(join(inner, 'x'), 'x'); // the source submount is untouched
  });

  rootTest('a non-recursive bind does not carry submounts; a recursive one does', () => {
    const src = sub('src');
    const inner = sub('src', 'inner');
    mountTmpfs(inner);
    writeFileSync(join(inner, 'in-tmpfs'), '');
    const a = sub('a');
    const b = sub('b');
    bind(src, a);
    bind(src, b, { recursive: true });
    expect(readdirSync(join(a, 'inner'))).toEqual([]);
    expect(readdirSync(join(b, 'inner'))).toEqual(['in-tmpfs']);
  });
});

describe('setPropagation()', () => {
  rootTest('shared and private show in mountinfo optional fields; a shared peer receives mounts', () => {
    const t = sub('t');
    mountTmpfs(t);
    setPropagation(t, 'private');
    const entry = () =>
      mountinfo()
        .filter((m) => m.mountPoint === t)
        .at(-1)!;
    expect(entry().optionalFields.shared).toBeUndefined();
    setPropagation(t, 'shared');
    const group = entry().optionalFields.shared;
    expect(group).toBeGreaterThan(0);
    // A bind of a shared mount is its peer: a mount under one appears under the other.
    const peer = sub('peer');
    bind(t, peer);
    expect(
      mountinfo()
        .filter((m) => m.mountPoint === peer)
        .at(-1)!.optionalFields.shared,
    ).toBe(group);
    mkdirSync(join(t, 'x'));
    mountTmpfs(join(t, 'x'));
    expect(mountsUnder(peer)).toContain(join(peer, 'x'));
    umount(join(t, 'x'));
    umount(peer);
    setPropagation(t, 'private');
    expect(entry().optionalFields.shared).toBeUndefined();
  });

  rootTest('mount() with propagation sets it on the new mount', () => {
    const t = sub('t');
    mount('tmpfs', t, { fstype: 'tmpfs', propagation: 'unbindable' });
    expect(
      mountinfo()
        .filter((m) => m.mountPoint === t)
        .at(-1)!.optionalFields.unbindable,
    ).toBe(true);
    expect(() => bind(t, sub('b'))).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'mount' }));
  });
});

describe('mountOverlay()', () => {
  rootTest('a write lands in upper; the lower layers are unchanged; the top layer wins', () => {
    const bottom = sub('l0');
    const top = sub('l1');
    const upper = sub('upper');
    const work = sub('work');
    const t = sub('merged');
    writeFileSync(join(bottom, 'f'), 'bottom');
    writeFileSync(join(bottom, 'only-bottom'), 'b');
    writeFileSync(join(top, 'f'), 'top');
    mountOverlay(t, { lower: [bottom, top], upper, work });
    expect(findmnt(t).fstype).toBe('overlay');
    expect(readFileSync(join(t, 'f'), 'utf8')).toBe('top');
    expect(readFileSync(join(t, 'only-bottom'), 'utf8')).toBe('b');
    writeFileSync(join(t, 'new'), 'n');
    writeFileSync(join(t, 'f'), 'changed');
    expect(readFileSync(join(upper, 'new'), 'utf8')).toBe('n');
    expect(readFileSync(join(upper, 'f'), 'utf8')).toBe('changed');
    expect(readdirSync(bottom).sort()).toEqual(['f', 'only-bottom']);
    expect(readdirSync(top)).toEqual(['f']);
    expect(readFileSync(join(top, 'f'), 'utf8')).toBe('top');
    expect(readFileSync(join(bottom, 'f'), 'utf8')).toBe('bottom');
  });

  rootTest('the reverse order makes the other layer win', () => {
    const a = sub('a');
    const b = sub('b');
    const t = sub('merged');
    writeFileSync(join(a, 'f'), 'a');
    writeFileSync(join(b, 'f'), 'b');
    mountOverlay(t, { lower: [b, a], readOnly: true });
    expect(readFileSync(join(t, 'f'), 'utf8')).toBe('a');
  });

  rootTest('read-only overlay without upper: EROFS on write', () => {
    const a = sub('a');
    const b = sub('b');
    const t = sub('merged');
    writeFileSync(join(a, 'f'), 'a');
    mountOverlay(t, { lower: [a, b], readOnly: true });
    expect(readFileSync(join(t, 'f'), 'utf8')).toBe('a');
    expect(() => writeFileSync(join(t, 'g'), 'x')).toThrow(expect.objectContaining({ code: 'EROFS' }));
    expect(readdirSync(a)).toEqual(['f']);
  });

  rootTest('a layer that is not a directory or is missing: SysError, nothing mounted', () => {
    const a = sub('a');
    const file = join(dir, 'file');
    writeFileSync(file, '');
    const t = sub('merged');
    let err: unknown;
    try {
      mountOverlay(t, { lower: [a, file], readOnly: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ syscall: 'mount', path: 'overlay', dest: t });
    expect(['ENOTDIR', 'EINVAL']).toContain((err as SysError).code);
    expect(() => mountOverlay(t, { lower: [a, join(dir, 'missing')], readOnly: true })).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'mount' }),
    );
    expect(mountsUnder(dir)).toEqual([]);
  });
});
