// mountinfo() against findmnt(8) as an independent witness.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { SysError } from '../../src/errors.js';
import { mountinfo, parseMountinfo } from '../../src/fs/index.js';
import { canUserns, isRoot, testIf } from '../helpers/env.js';

interface FindmntEntry {
  id: number;
  parent: number;
  'maj:min': string;
  target: string;
  fstype: string;
  fsroot: string;
  source: string;
}

function findmnt(args: string[] = []): FindmntEntry[] {
  const out = execFileSync('findmnt', ['-J', '-l', '-o', 'ID,PARENT,MAJ:MIN,TARGET,FSTYPE,FSROOT,SOURCE', ...args], { encoding: 'utf8' });
  return (JSON.parse(out) as { filesystems: FindmntEntry[] }).filesystems;
}

/** The visible (topmost) mount at `target`: the last one in mount order. */
function topmost<T>(list: T[], at: (e: T) => boolean): T | undefined {
  return list.filter(at).at(-1);
}

const privateMountNs = testIf(isRoot || canUserns, 'needs root or user namespaces (for a private mount namespace)');

describe('mountinfo()', () => {
  test('"/" and "/proc" match findmnt: id, parent, device, fstype, source, fs root', () => {
    const ours = mountinfo();
    const witness = findmnt();
    for (const target of ['/', '/proc']) {
      const w = topmost(witness, (e) => e.target === target);
      const m = topmost(ours, (e) => e.mountPoint === target);
      expect(w, `findmnt shows ${target}`).toBeDefined();
      expect(m, `mountinfo shows ${target}`).toBeDefined();
      expect({ id: m!.mountId, parent: m!.parentId, dev: `${m!.major}:${m!.minor}`, fstype: m!.fsType, fsroot: m!.root }).toEqual({
        id: w!.id,
        parent: w!.parent,
        dev: w!['maj:min'],
        fstype: w!.fstype,
        fsroot: w!.fsroot,
      });
    }
    expect(topmost(ours, (e) => e.mountPoint === '/proc')!.fsType).toBe('proc');
  });

  test('every mount both see (by id) has the same mount point and fstype', () => {
    const ours = new Map(mountinfo().map((e) => [e.mountId, e]));
    const common = findmnt().filter((w) => ours.has(w.id));
    // Other test files may mount or unmount meanwhile; the long-lived mounts are common.
    expect(common.length).toBeGreaterThanOrEqual(Math.min(ours.size, 3));
    for (const w of common) {
      const m = ours.get(w.id)!;
      expect([m.mountPoint, m.fsType], `mount ${w.id}`).toEqual([w.target, w.fstype]);
    }
  });

  test("'self' and our own pid give the same table", () => {
    const ids = (list: { mountId: number }[]) => list.map((e) => e.mountId);
    expect(ids(mountinfo(process.pid))).toEqual(ids(mountinfo('self')));
  });

  privateMountNs('escaped names (space, tab, backslash) decode as findmnt decodes them, in a private mount namespace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsbox-mountinfo-'));
    try {
      const target = join(dir, 'a b\tc\\d');
      mkdirSync(target);
      const script =
        'mount -t tmpfs "nsbox src" "$1" && cat /proc/self/mountinfo && echo @@@ && findmnt -J -l -o ID,TARGET,FSTYPE,SOURCE "$1"';
      const out = execFileSync('unshare', [isRoot ? '-m' : '-rm', 'sh', '-c', script, 'sh', target], { encoding: 'utf8' });
      const [text, json] = out.split('@@@\n') as [string, string];
      expect(text).toContain('a\\040b\\011c\\134d'); // the kernel's escapes are really there
      const w = (JSON.parse(json) as { filesystems: { id: number; target: string; fstype: string; source: string }[] }).filesystems[0]!;
      const m = parseMountinfo(text).find((e) => e.mountId === w.id)!;
      expect(m.mountPoint).toBe(target);
      expect([m.mountPoint, m.fsType, m.source]).toEqual([w.target, w.fstype, w.source]);
      expect(m.source).toBe('nsbox src');
      // The mount lived only in that namespace.
      expect(mountinfo().some((e) => e.mountPoint === target)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  privateMountNs("another process's table: a child in its own mount namespace", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsbox-mountinfo-'));
    const child = spawn(
      'unshare',
      [isRoot ? '-m' : '-rm', 'sh', '-c', 'mount -t tmpfs nsbox-child "$1" && echo ready && exec sleep 30', 'sh', dir],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      const theirs = mountinfo(child.pid!);
      const m = topmost(theirs, (e) => e.mountPoint === dir);
      expect(m?.fsType).toBe('tmpfs');
      expect(m?.source).toBe('nsbox-child');
      // Same as what the kernel shows through another reader.
      expect(theirs.map((e) => e.mountId)).toEqual(
        parseMountinfo(readFileSync(`/proc/${child.pid}/mountinfo`, 'utf8')).map((e) => e.mountId),
      );
      expect(mountinfo().some((e) => e.mountPoint === dir)).toBe(false);
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a pid that cannot exist: SysError ENOENT with syscall, path and pid', () => {
    const pid = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1;
    let err: unknown;
    try {
      mountinfo(pid);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'open', path: `/proc/${pid}/mountinfo`, pid });
  });

  test('bad pids are rejected before any syscall', () => {
    expect(() => mountinfo(0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', name: 'RangeError' }));
    expect(() => mountinfo(1.5)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => mountinfo('1' as unknown as number)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' }));
  });
});
