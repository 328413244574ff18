// nsbox/fs without privileges: flag tables against the kernel's numbers, the filesystem
// specs' option strings, and misuse rejected before any syscall (ERR_* codes, nothing mounted).
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  bind,
  cgroup2Spec,
  devptsSpec,
  fsopen,
  mount,
  mountOverlay,
  mountTmpfs,
  mqueueSpec,
  openTree,
  overlaySpec,
  procSpec,
  remount,
  resolveInRoot,
  setPropagation,
  sysfsSpec,
  tmpfsSpec,
  umount,
  watchMounts,
} from '../../src/fs/index.js';
import { MOUNT_ATTRS, MOUNT_FLAGS, PROPAGATION, serializeData } from '../../src/fs/flags.js';
import { native } from '../../src/native.js';

const mountinfoText = () => readFileSync('/proc/self/mountinfo', 'utf8');

/** Runs `fn`, expects a synchronous error with `code`, and that the mount table did not change. */
function rejects(fn: () => unknown, code: string): void {
  const before = mountinfoText();
  expect(fn).toThrow(expect.objectContaining({ code }));
  expect(mountinfoText()).toBe(before);
}

describe('flag tables', () => {
  test('the MS_* numbers are the kernel ABI values (include/uapi/linux/mount.h)', () => {
    expect(MOUNT_FLAGS).toMatchObject({
      rdonly: 1,
      nosuid: 2,
      nodev: 4,
      noexec: 8,
      remount: 32,
      bind: 4096,
      rec: 16384,
      relatime: 1 << 21,
      strictatime: 1 << 24,
      lazytime: 1 << 25,
    });
    expect(PROPAGATION).toMatchObject({
      private: 1 << 18,
      rprivate: (1 << 18) | 16384,
      slave: 1 << 19,
      shared: 1 << 20,
      unbindable: 1 << 17,
    });
    expect(MOUNT_ATTRS).toMatchObject({
      rdonly: 1,
      nosuid: 2,
      nodev: 4,
      noexec: 8,
      noatime: 0x10,
      strictatime: 0x20,
      nodiratime: 0x80,
      nosymfollow: 0x200000,
    });
    for (const v of [...Object.values(MOUNT_FLAGS), ...Object.values(PROPAGATION), ...Object.values(MOUNT_ATTRS)])
      expect(Number.isInteger(v)).toBe(true);
  });

  test('native.constants is frozen', () => {
    expect(Object.isFrozen(native.constants)).toBe(true);
  });
});

describe('filesystem specs', () => {
  test('tmpfs: sizes as number, bigint, suffix, percent; mode in octal; default flags', () => {
    expect(tmpfsSpec({ size: 1048576, mode: 0o1777, uid: 1000, gid: 100 })).toEqual({
      source: 'tmpfs',
      fstype: 'tmpfs',
      flags: ['nosuid', 'nodev'],
      data: 'size=1048576,mode=1777,uid=1000,gid=100',
    });
    expect(tmpfsSpec({ size: 64n << 20n }).data).toBe('size=67108864');
    expect(tmpfsSpec({ size: '64M', nrInodes: '10k' }).data).toBe('size=64M,nr_inodes=10k');
    expect(tmpfsSpec({ size: '50%', flags: ['noexec'] })).toMatchObject({ data: 'size=50%', flags: ['noexec'] });
  });

  test('tmpfs: bad sizes, modes and ids', () => {
    expect(() => tmpfsSpec({ size: '64 M' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => tmpfsSpec({ size: '1,nr_inodes=1' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => tmpfsSpec({ size: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => tmpfsSpec({ size: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => tmpfsSpec({ mode: 0o10000 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => tmpfsSpec({ uid: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => tmpfsSpec({ mode: '755' as unknown as number })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  test('proc, sysfs, devpts, mqueue, cgroup2', () => {
    expect(procSpec({ hidepid: 'invisible', subset: 'pid', gid: 4 })).toEqual({
      source: 'proc',
      fstype: 'proc',
      flags: ['nosuid', 'nodev', 'noexec'],
      data: 'hidepid=invisible,gid=4,subset=pid',
    });
    expect(procSpec({ hidepid: 2 }).data).toBe('hidepid=2');
    expect(() => procSpec({ hidepid: 3 as 2 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => procSpec({ subset: 'all' as 'pid' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(sysfsSpec()).toEqual({ source: 'sysfs', fstype: 'sysfs', flags: ['nosuid', 'nodev', 'noexec'], data: '' });
    expect(devptsSpec({ newinstance: true, ptmxmode: 0o666, mode: 0o620, gid: 5 })).toMatchObject({
      flags: ['nosuid', 'noexec'],
      data: 'newinstance,ptmxmode=0666,mode=0620,gid=5',
    });
    expect(mqueueSpec().fstype).toBe('mqueue');
    expect(cgroup2Spec({ nsdelegate: true, memoryRecursiveprot: true }).data).toBe('nsdelegate,memory_recursiveprot');
  });

  test('overlay: lower is bottom first and becomes lowerdir top first', () => {
    expect(overlaySpec({ lower: ['/base', '/mid', '/top'], upper: '/u', work: '/w', volatile: true }).data).toBe(
      'lowerdir=/top:/mid:/base,upperdir=/u,workdir=/w,volatile',
    );
    expect(overlaySpec({ lower: ['/a', '/b'], readOnly: true }).data).toBe('lowerdir=/b:/a');
  });

  test('overlay: separators, relative layers and contradictions are ERR_INVALID_ARG_VALUE', () => {
    const bad = [
      { lower: ['/a,upperdir=/etc'], readOnly: true },
      { lower: ['/a:/b'], readOnly: true },
      { lower: ['/a\\b'], readOnly: true },
      { lower: ['rel'], readOnly: true },
      { lower: [], readOnly: true },
      { lower: ['/a'] },
      { lower: ['/a'], upper: '/u' },
      { lower: ['/a'], upper: '/u', work: '/w', readOnly: true },
      { lower: ['/a', '/b'], readOnly: true, volatile: true },
      { lower: ['/a'], readOnly: true },
    ];
    for (const o of bad)
      expect(() => overlaySpec(o), JSON.stringify(o)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => overlaySpec({ lower: '/a' as unknown as string[], readOnly: true })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });

  test('overlay: more layers than one page of mount data is ERR_OUT_OF_RANGE', () => {
    const lower = Array.from({ length: 200 }, (_, i) => `/var/lib/layers/${'x'.repeat(20)}${i}`);
    expect(() => overlaySpec({ lower, readOnly: true })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });

  test('data objects serialise as key=value, true as a bare key, false left out', () => {
    expect(serializeData('d', { size: '1M', mode: 755, ro: true, noswap: false })).toBe('size=1M,mode=755,ro');
    expect(serializeData('d', 'a=b,c')).toBe('a=b,c');
    expect(serializeData('d', undefined)).toBe(null);
    expect(() => serializeData('d', { size: '1M,mode=777' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => serializeData('d', { 'a=b': 1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => serializeData('d', [1])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});

describe('misuse is refused before any syscall, and nothing is mounted', () => {
  test('relative targets', () => {
    rejects(() => mount('tmpfs', 'relative/dir', { fstype: 'tmpfs' }), 'ERR_INVALID_ARG_VALUE');
    rejects(() => mountTmpfs('tmp'), 'ERR_INVALID_ARG_VALUE');
    rejects(() => bind('/tmp', 'x'), 'ERR_INVALID_ARG_VALUE');
    rejects(() => bind('tmp', '/x'), 'ERR_INVALID_ARG_VALUE');
    rejects(() => umount('x'), 'ERR_INVALID_ARG_VALUE');
    rejects(() => setPropagation('.', 'private'), 'ERR_INVALID_ARG_VALUE');
    rejects(() => remount('', []), 'ERR_INVALID_ARG_VALUE');
    rejects(() => openTree('tmp', { clone: true }), 'ERR_INVALID_ARG_VALUE');
    rejects(() => resolveInRoot('root', 'etc'), 'ERR_INVALID_ARG_VALUE');
    rejects(() => mountOverlay('x', { lower: ['/a', '/b'], readOnly: true }), 'ERR_INVALID_ARG_VALUE');
  });

  test('unknown flags, attrs and propagation kinds', () => {
    rejects(() => mount('tmpfs', '/mnt', { fstype: 'tmpfs', flags: ['nosuid', 'nosetuid' as 'nosuid'] }), 'ERR_INVALID_ARG_VALUE');
    rejects(() => mount('tmpfs', '/mnt', { fstype: 'tmpfs', flags: 'nosuid' as unknown as ['nosuid'] }), 'ERR_INVALID_ARG_TYPE');
    rejects(() => mount('tmpfs', '/mnt', { fstype: 'tmpfs', propagation: 'rshared ' as 'rshared' }), 'ERR_INVALID_ARG_VALUE');
    rejects(() => setPropagation('/mnt', 'public' as 'private'), 'ERR_INVALID_ARG_VALUE');
    rejects(() => remount('/mnt', ['readonly' as 'rdonly']), 'ERR_INVALID_ARG_VALUE');
    rejects(() => umount('/mnt', { expire: true, lazy: true }), 'ERR_INVALID_ARG_VALUE');
    rejects(() => umount('/mnt', { lazy: 1 as unknown as boolean }), 'ERR_INVALID_ARG_TYPE');
    rejects(() => openTree('/tmp', { recursive: true }), 'ERR_INVALID_ARG_VALUE');
    rejects(() => mount('tmpfs', '/mnt', { fstype: 'tmpfs', namespace: 3 as never }), 'ERR_INVALID_ARG_TYPE');
    rejects(() => resolveInRoot('/', 'etc', { flags: ['beneath' as 'no_xdev'] }), 'ERR_INVALID_ARG_VALUE');
  });

  test('fsopen: bad key or value types, and a closed context', () => {
    let ctx: ReturnType<typeof fsopen> | undefined;
    try {
      ctx = fsopen('tmpfs');
    } catch (err) {
      // Unprivileged: fsopen needs CAP_SYS_ADMIN; the kernel's answer has the Node shape.
      expect(err).toMatchObject({ code: 'EPERM', syscall: 'fsopen', path: 'tmpfs', errno: -1 });
      return;
    }
    expect(() => ctx.set('', 'x')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => ctx.set('size', {} as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    ctx.close();
    ctx.close();
    expect(ctx.closed).toBe(true);
    expect(() => ctx.set('size', '1M')).toThrow(expect.objectContaining({ code: 'ERR_HANDLE_CLOSED' }));
    expect(() => ctx.create()).toThrow(expect.objectContaining({ code: 'ERR_HANDLE_CLOSED' }));
  });

  test('watchMounts: a bad pid and an aborted signal', () => {
    expect(() => watchMounts(0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => watchMounts('1' as unknown as number)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    const reason = new Error('stop');
    expect(() => watchMounts('self', { signal: AbortSignal.abort(reason) })).toThrow(
      expect.objectContaining({ name: 'AbortError', code: 'ABORT_ERR', cause: reason }),
    );
  });
});
