// Root's default id blocks (src/namespaces/idrange.ts): unique per live sandbox, claimed with
// flock, released when the child exits; witnessed through the lock files and /proc.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { expect } from 'vitest';
import { spawn } from '../../src/index.js';
import { AUTO_ID_BLOCKS, AUTO_ID_COUNT, AUTO_ID_FIRST, claimIdRange } from '../../src/namespaces/idrange.js';
import { native } from '../../src/native.js';
import { rootTest } from '../helpers/env.js';
import { fdCount } from '../helpers/proc.js';

const blockFile = (base: number) => `/run/nsbox/idmap/${(base - AUTO_ID_FIRST) / AUTO_ID_COUNT}`;
/** Is the block's lock free (nobody holds it)? Tried with a second open file, then let go. */
function free(base: number): boolean {
  const fd = native.lockFile(blockFile(base));
  if (fd < 0) return false;
  native.close(fd);
  return true;
}
const hostMap = (pid: number) => readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).map(Number);

rootTest('claimed blocks are distinct, inside the pool, held until released', () => {
  const before = fdCount();
  const ranges = Array.from({ length: 8 }, () => claimIdRange());
  try {
    const bases = ranges.map((r) => r.base);
    expect(new Set(bases).size).toBe(8);
    for (const b of bases) {
      expect(b >= AUTO_ID_FIRST && b < AUTO_ID_FIRST + AUTO_ID_BLOCKS * AUTO_ID_COUNT && (b - AUTO_ID_FIRST) % AUTO_ID_COUNT === 0).toBe(
        true,
      );
      expect(free(b)).toBe(false);
    }
  } finally {
    for (const r of ranges) r.release();
  }
  for (const r of ranges) expect(free(r.base)).toBe(true);
  ranges[0]!.release(); // idempotent
  expect(fdCount()).toBe(before);
});

rootTest('two sandboxes at once never share host ids; a block is free again once its child exited', async () => {
  const a = spawn('sleep', ['30'], { namespaces: ['user', 'pid'], stdio: 'ignore' });
  const b = spawn('sleep', ['30'], { namespaces: ['user', 'pid'], stdio: 'ignore' });
  try {
    const [ma, mb] = [hostMap(a.pid), hostMap(b.pid)];
    expect(ma[0]).toBe(0);
    expect(ma[2]).toBe(AUTO_ID_COUNT);
    expect(ma[1]).not.toBe(mb[1]);
    expect(Math.abs(ma[1]! - mb[1]!)).toBeGreaterThanOrEqual(AUTO_ID_COUNT);
    expect(free(ma[1]!)).toBe(false);
    // The process runs as the block's first id on the host, never as host root.
    const status = readFileSync(`/proc/${a.pid}/status`, 'utf8');
    expect(status).toMatch(new RegExp(`^Uid:\\s+${ma[1]}\\s+${ma[1]}\\s+${ma[1]}\\s+${ma[1]}$`, 'm'));
    a.kill('SIGKILL');
    await a.exited;
    expect(free(ma[1]!)).toBe(true);
    expect(free(mb[1]!)).toBe(false);
  } finally {
    a.kill('SIGKILL');
    b.kill('SIGKILL');
    await Promise.all([a.exited, b.exited]);
  }
});

rootTest('a spawn that fails releases its block (no lock file open in this process afterwards)', async () => {
  const held = () =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith('/run/nsbox/idmap/');
      } catch {
        return false;
      }
    });
  const before = held();
  const c = spawn('sleep', ['30'], { namespaces: ['user'], stdio: 'ignore' });
  expect(held().length).toBe(before.length + 1); // the witness sees a live child's claim
  c.kill('SIGKILL');
  await c.exited;
  expect(held()).toEqual(before);
  expect(() => spawn('/nonexistent-nsbox', { namespaces: ['user'], stdio: 'ignore' })).toThrow(
    expect.objectContaining({ code: 'ENOENT', syscall: 'execve' }),
  );
  expect(held()).toEqual(before);
});
