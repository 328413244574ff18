// Which mounts a template's setup makes writable again after its recursive read-only pass
// (src/namespaces/template-mounts.ts), from synthetic mount tables: the read-write volumes' own
// mounts and the host's read-write submounts they bring in, never a host mount that is read-only,
// a hidden one, or one a template-made mount covers.
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ContainerMount } from '../../src/fs/container.js';
import { parseMountinfo } from '../../src/fs/mountinfo.js';
import { coverage, reachableMounts, writablePaths } from '../../src/namespaces/template-mounts.js';

let src: string;
beforeAll(() => {
  src = realpathSync(mkdtempSync(join(tmpdir(), 'nsbox-tplm-')));
  for (const d of ['sub', 'ro', 'deep/er', 'masked', 'hidden']) mkdirSync(join(src, d), { recursive: true });
});
afterAll(() => rmSync(src, { recursive: true, force: true }));

/** A mount table: the root, then `[id, parent, point, options, extra optional fields, fstype]`. */
const table = (rows: Array<[number, number, string, string, string?, string?]>) =>
  parseMountinfo(
    [
      '1 0 8:1 / / rw,relatime - ext4 /dev/sda1 rw',
      ...rows.map(([id, p, at, o, opt, fs]) => `${id} ${p} 0:${id} / ${at} ${o} ${opt ?? ''}${opt ? ' ' : ''}- ${fs ?? 'tmpfs'} x rw`),
    ].join('\n'),
  );
const vol = (target: string, extra: Partial<ContainerMount> = {}): ContainerMount =>
  ({ type: 'bind', source: src, target, ...extra }) as ContainerMount;

describe('reachableMounts', () => {
  test('a stacked mount and a mount under a covered point are not reachable; the top of the stack is', () => {
    const t = table([
      [10, 1, '/a', 'rw'],
      [11, 10, '/a', 'ro'], // stacked on 10
      [12, 1, '/a/b', 'rw'], // on the root's /a/b, under 10 and 11
      [13, 11, '/a/c', 'rw'], // on the top of the stack
      [14, 1, '/x', 'rw'],
      [15, 14, '/x/y', 'rw'],
    ]);
    expect(reachableMounts(t).map((e) => e.mountId)).toEqual([1, 11, 13, 14, 15]);
  });

  test('two siblings at one point, or no single root: neither is counted', () => {
    expect(
      reachableMounts(
        table([
          [10, 1, '/a', 'rw'],
          [11, 1, '/a', 'rw'],
        ]),
      ).map((e) => e.mountId),
    ).toEqual([1]);
    expect(reachableMounts(parseMountinfo('5 3 0:1 / /a rw - tmpfs x rw'))).toEqual([]);
  });
});

describe('writablePaths', () => {
  test("a read-write volume's own mount and its host's read-write submounts; read-only ones stay so", () => {
    const t = table([
      [20, 1, `${src}/sub`, 'rw'],
      [21, 1, `${src}/ro`, 'ro,nosuid'],
      [22, 1, `${src}/deep/er`, 'rw'],
      [23, 21, `${src}/ro/in`, 'rw'], // a read-write mount under a read-only one: its own state
      [24, 1, `${src}/u`, 'rw', 'unbindable'], // not copied by a recursive bind, nor what is on it
      [27, 24, `${src}/u/v`, 'rw'],
      [25, 1, `${src}/ns`, 'rw', '', 'nsfs'],
      [26, 1, '/elsewhere', 'rw'],
    ]);
    expect(writablePaths({ mounts: [vol('/data')] }, t)).toEqual(['/data', '/data/sub', '/data/ro/in', '/data/deep/er']);
    expect(writablePaths({ mounts: [vol('/data', { recursive: false })] }, t)).toEqual(['/data']);
    expect(writablePaths({ mounts: [vol('/')] }, t)).toEqual(['/', '/sub', '/ro/in', '/deep/er']);
  });

  test('a source on a read-only host mount stays read-only (as spawn binds it); the source itself a mount point', () => {
    const ro = table([
      [20, 1, src, 'ro'],
      [21, 20, `${src}/sub`, 'rw'],
    ]);
    expect(writablePaths({ mounts: [vol('/data')] }, ro)).toEqual(['/data/sub']);
    expect(writablePaths({ mounts: [vol('/data')] }, table([[20, 1, src, 'rw']]))).toEqual(['/data']);
  });

  test('template-made mounts under a read-write volume are never made writable, nor what they cover', () => {
    const t = table([
      [20, 1, `${src}/sub`, 'rw'],
      [21, 1, `${src}/masked`, 'rw'],
      [22, 1, `${src}/hidden`, 'rw'],
      [23, 1, `${src}/deep/er`, 'rw'],
    ]);
    const paths = writablePaths(
      {
        mounts: [
          vol('/data'),
          vol('/data/sub', { readOnly: true }), // a read-only volume over the host's submount
          vol('/data/deep', { source: join(src, 'deep') }), // a read-write one over it: its own mount instead
          { type: 'tmpfs', target: '/data/hidden' }, // a template's scratch directory
        ],
        maskedPaths: ['/data/masked', '/proc/kcore'],
        readonlyPaths: ['/data/ro'],
      },
      t,
    );
    expect(paths).toEqual(['/data', '/data/deep', '/data/deep/er']);
  });

  test('a read-write volume that a later mount covers is left alone; one inside a read-only volume is writable', () => {
    const t = table([]);
    expect(writablePaths({ mounts: [vol('/data/v'), vol('/data', { readOnly: true })] }, t)).toEqual([]);
    expect(writablePaths({ mounts: [vol('/data', { readOnly: true }), vol('/data/v')] }, t)).toEqual(['/data/v']);
    expect(writablePaths({ mounts: [vol('/data')], readonlyPaths: ['/data'] }, t)).toEqual([]);
    expect(writablePaths({ mounts: [vol('/data')], maskedPaths: ['/'] }, t)).toEqual([]);
  });

  test('coverage: only mounts made after the i-th, at the path or above it', () => {
    const c = coverage({ mounts: [vol('/a'), vol('/a/b'), vol('/c')], maskedPaths: ['/proc/x', '/m'], readonlyPaths: ['/a/b/r'] });
    expect([c(0, '/a/b/q'), c(0, '/a/z'), c(1, '/a/b'), c(1, '/a/b/r/s'), c(2, '/m/n'), c(2, '/proc/x')]).toEqual([
      true,
      false,
      false,
      true,
      true,
      false,
    ]);
  });
});
