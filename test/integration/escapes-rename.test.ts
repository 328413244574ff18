// Escapes by renaming in a rootfs while a sandbox on it starts: another process that can write
// the rootfs directory (another sandbox sharing it read-write, a user of the host) swaps the
// mount point of /proc, or of a read-only volume, with another name in a tight loop. Each step
// of the setup that looked its target up by path again — the masks and read-only paths under
// /proc, the read-only flag of a `:ro` volume after its bind — could then land elsewhere: a
// procfs without its masks, a writable "read-only" volume. They are now resolved beneath the
// procfs mount's own root and applied to the detached bind before it is attached
// (csrc/child_fs.cc Attach, MNT_ANCHOR). The race is real, so this is a stress test: many
// starts against a swapper; on the old code a few in a hundred lost their masks.
import { type ChildProcess, spawn as spawnProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { parseMountinfo, spawn, template } from '../../src/index.js';
import { BUSYBOX, busyboxRootfs } from '../helpers/busybox.js';
import { canUserns, isRoot, onPath, testIf } from '../helpers/env.js';
import { output } from '../helpers/proc.js';

const rtest = testIf(
  isRoot && canUserns && BUSYBOX !== undefined && onPath('python3'),
  'needs root, user namespaces, a static busybox (Debian busybox-static) and python3 (the swapper)',
);
const RUNS = 150;
const NAMESPACES = ['user', 'mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup'] as const;

// renameat2(RENAME_EXCHANGE) of each pair of names in DIR, as fast as it goes, until killed.
const SWAPPER = `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
d = os.open(sys.argv[1], os.O_PATH | os.O_DIRECTORY)
pairs = [(a.encode(), b.encode()) for a, b in zip(sys.argv[2::2], sys.argv[3::2])]
sys.stdout.write('go\\n'); sys.stdout.flush()
while True:
    for a, b in pairs:
        libc.renameat2(d, a, d, b, 2)
`;

let dir: string;
let rootfs: string;
let vol: string;
beforeAll(() => {
  if (!BUSYBOX) return;
  dir = mkdtempSync(join(tmpdir(), 'nsbox-rename-'));
  chmodSync(dir, 0o755);
  rootfs = join(dir, 'rootfs');
  busyboxRootfs(rootfs, ['proc', 'proc.alt', 'sys', 'sys.alt', 'dev', 'tmp', 'etc', 'data', 'var/tmp'], ['sh', 'cat', 'ls', 'touch']);
  // The volume's mount point swapped with a symlink to /dev: a step that looked it up again
  // reached the container's /dev.
  symlinkSync('/dev', join(rootfs, 'data.alt'));
  // (writable by any of the run's ids, so that only the mount's read-only flag stops a write)
  chmodSync(join(rootfs, 'var/tmp'), 0o1777);
  vol = join(dir, 'vol');
  mkdirSync(vol);
  writeFileSync(join(vol, 'file'), 'volume\n');
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `data` a directory again and `data.alt` a symlink to `to` (a swapper leaves them either way). */
function resetData(to: string): void {
  for (const n of ['data', 'data.alt']) rmSync(join(rootfs, n), { recursive: true, force: true });
  mkdirSync(join(rootfs, 'data'));
  symlinkSync(to, join(rootfs, 'data.alt'));
}

/** Starts the swapper on `pairs` of names in the rootfs; resolves once it runs. */
async function swapper(...pairs: string[]): Promise<ChildProcess> {
  const p = spawnProcess('python3', ['-c', SWAPPER, rootfs, ...pairs], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    p.stdout!.once('data', () => resolve());
    p.once('exit', (code) => reject(new Error(`swapper exited ${code}`)));
  });
  return p;
}

/** `runs` rounds of `round` (what each found wrong) while the swapper exchanges `a` and `b`. */
async function whileSwapping(a: string, b: string, round: (i: number) => Promise<string[]>, runs = RUNS): Promise<string[]> {
  const sw = await swapper(a, b);
  const bad: string[] = [];
  try {
    for (let i = 0; i < runs; i++) bad.push(...(await round(i)).map((x) => `run ${i}: ${x}`));
  } finally {
    await stop(sw);
  }
  return bad;
}

async function stop(p: ChildProcess): Promise<void> {
  p.kill('SIGKILL');
  if (p.exitCode === null && p.signalCode === null) await new Promise((r) => p.once('exit', r));
}

/** The mount table as the command reads it: /proc may be renamed away at any moment. */
const TABLE = 'for i in 1 2 3 4 5 6 7 8; do cat /proc/self/mountinfo && exit; cat /proc.alt/self/mountinfo && exit; done';

/**
 * What a procfs mount of the table lacks: its timer_list masked, its sys read-only (the defaults of
 * a container with a new pid namespace), wherever the procfs ended up.
 */
function unmaskedProcs(table: string): string[] {
  const mounts = parseMountinfo(table);
  const bad: string[] = [];
  // (a procfs's root: the binds of its read-only paths onto themselves are procfs too)
  // (not one covered by another, as a template's own is by each run's)
  const covered = (m: (typeof mounts)[number]) => mounts.some((x) => x.parentId === m.mountId && x.fsType === 'proc' && x.root === '/');
  for (const m of mounts.filter((x) => x.fsType === 'proc' && x.root === '/' && !covered(x))) {
    // By parent id: the paths of a table read while names change need not agree with each other.
    const under = (p: string) => mounts.find((x) => x.parentId === m.mountId && x.mountPoint.endsWith(`/${p}`));
    if (!under('timer_list')) bad.push(`${m.mountPoint}: timer_list not masked`);
    const sys = under('sys');
    if (!sys?.options.includes('ro')) bad.push(`${m.mountPoint}: sys not read-only`);
  }
  if (!mounts.some((x) => x.fsType === 'proc')) bad.push('no procfs');
  return bad;
}

describe('escapes: a rename in the rootfs while the sandbox starts', () => {
  rtest(`spawn(): ${RUNS} starts while /proc is swapped with another directory: every procfs has its masks`, async () => {
    const bad = await whileSwapping('proc', 'proc.alt', async () =>
      unmaskedProcs((await output(spawn('/bin/sh', ['-c', TABLE], { rootfs, namespaces: [...NAMESPACES], env: { PATH: '/bin' } }))).stdout),
    );
    expect(bad).toEqual([]);
  });

  rtest(`a template's runs: ${RUNS} while /proc is swapped: every procfs has its masks, or the run is refused`, async () => {
    using t = template({ rootfs });
    const sw = await swapper('proc', 'proc.alt');
    const bad: string[] = [];
    let refused = 0;
    try {
      for (let i = 0; i < RUNS; i++) {
        // A run whose /proc is not the template's procfs when it mounts its own fails (EXDEV)
        // rather than leave the template's, unmasked, reachable under another name.
        let child: ReturnType<typeof t.spawn>;
        try {
          child = t.spawn('/bin/sh', ['-c', TABLE], { env: { PATH: '/bin' } });
        } catch (err) {
          expect(err).toMatchObject({ code: 'EXDEV', step: 'proc', syscall: 'fstatfs' });
          refused++;
          continue;
        }
        const r = await output(child);
        bad.push(...unmaskedProcs(r.stdout).map((b) => `run ${i}: ${b}`));
      }
    } finally {
      await stop(sw);
    }
    expect(bad).toEqual([]);
    expect(refused).toBeLessThan(RUNS);
  });

  rtest(
    `a read-only volume: ${RUNS} starts while its mount point is swapped: the volume is read-only wherever it is, nothing else is`,
    async () => {
      resetData('/dev');
      const sw = await swapper('data', 'data.alt');
      const bad: string[] = [];
      try {
        for (let i = 0; i < RUNS; i++) {
          const r = await output(
            spawn('/bin/sh', ['-c', TABLE], {
              rootfs,
              namespaces: [...NAMESPACES],
              env: { PATH: '/bin' },
              mounts: [{ type: 'bind', source: vol, target: '/data', readOnly: true }],
            }),
          );
          const mounts = parseMountinfo(r.stdout);
          const v = mounts.filter((m) => m.root.endsWith('/vol'));
          if (v.length !== 1 || !v[0]!.options.includes('ro'))
            bad.push(`run ${i}: the volume ${JSON.stringify(v.map((m) => [m.mountPoint, m.options]))}`);
          // (the volume itself may be at /dev: a symlink in the rootfs is followed inside it, as
          // one there from the start would be; the tmpfs under it stays read-write)
          const dev = mounts.find((m) => m.mountPoint === '/dev' && m.fsType === 'tmpfs');
          if (!dev || dev.options.includes('ro')) bad.push(`run ${i}: /dev ${dev?.options}`);
        }
      } finally {
        await stop(sw);
      }
      expect(bad).toEqual([]);
    },
  );
  rtest(`custom mounts (as the OCI runtime gives them): ${RUNS} starts while /proc is swapped: every procfs has its masks`, async () => {
    const custom = {
      rootfs,
      namespaces: [...NAMESPACES],
      env: { PATH: '/bin' },
      defaultMounts: false,
      mounts: [{ type: 'proc' as const, target: '/proc' }],
      maskedPaths: ['/proc/timer_list', '/proc/keys'],
      readonlyPaths: ['/proc/sys'],
    };
    const bad = await whileSwapping('proc', 'proc.alt', async () =>
      unmaskedProcs((await output(spawn('/bin/sh', ['-c', TABLE], custom))).stdout),
    );
    expect(bad).toEqual([]);
  });

  rtest(`the lock's sysfs: ${RUNS} starts while /sys is swapped: the host's sysfs is never in view`, async () => {
    const host = readdirSync('/sys/class/net').filter((n) => n !== 'lo');
    const sw = await swapper('sys', 'sys.alt');
    const bad: string[] = [];
    try {
      for (let i = 0; i < RUNS; i++) {
        const r = await output(
          spawn('/bin/sh', ['-c', 'ls /sys/class/net /sys.alt/class/net'], { rootfs, namespaces: [...NAMESPACES], env: { PATH: '/bin' } }),
        );
        const seen = host.filter((n) => r.stdout.split(/\s+/).includes(n));
        if (seen.length > 0) bad.push(`run ${i}: the host's ${seen.join(', ')}`);
      }
    } finally {
      await stop(sw);
    }
    expect(bad).toEqual([]);
  });

  rtest(`a bind's nosuid, nodev, noexec and a read-only tmpfs with copyUp: ${RUNS} starts while the mount point is swapped`, async () => {
    resetData('/dev');
    const sw = await swapper('data', 'data.alt');
    const bad: string[] = [];
    try {
      for (let i = 0; i < RUNS; i++) {
        const bind = i % 2 === 0;
        const r = await output(
          spawn('/bin/sh', ['-c', TABLE], {
            rootfs,
            namespaces: [...NAMESPACES],
            env: { PATH: '/bin' },
            mounts: bind
              ? [{ type: 'bind', source: vol, target: '/data', attrs: ['nosuid', 'nodev', 'noexec'] }]
              : [{ type: 'tmpfs', target: '/data', copyUp: true, readOnly: true, size: 65536 }],
          }),
        );
        const mounts = parseMountinfo(r.stdout);
        // (the copy-up tmpfs: the one of 64 KiB)
        const v = bind ? mounts.filter((m) => m.root.endsWith('/vol')) : mounts.filter((m) => m.superOptions.includes('size=64k'));
        const want = bind ? ['nosuid', 'nodev', 'noexec'] : ['ro'];
        if (v.length !== 1 || !want.every((o) => v[0]!.options.includes(o)))
          bad.push(`run ${i}: ${JSON.stringify(v.map((m) => [m.mountPoint, m.options]))}`);
        const dev = mounts.find((m) => m.mountPoint === '/dev' && m.fsType === 'tmpfs');
        if (!dev || dev.options.includes('ro') || (bind && dev.options.includes('noexec') && dev.options.includes('nodev')))
          bad.push(`run ${i}: /dev ${dev?.options}`);
      }
    } finally {
      await stop(sw);
    }
    expect(bad).toEqual([]);
  });

  rtest("a template's read-write volume: its mount point swapped while the template is made never makes the root writable", async () => {
    const shared = join(dir, 'shared');
    mkdirSync(shared, { recursive: true });
    chmodSync(shared, 0o777);
    // The volume's mount point swapped with a symlink to the root.
    resetData('/');
    const sw = await swapper('data', 'data.alt');
    const bad: string[] = [];
    let failed = 0;
    try {
      for (let i = 0; i < 60; i++) {
        // (the symlink taken for the mount point itself puts the volume over the root: the
        // template then has no /proc, and fails; that is no escape)
        let t: ReturnType<typeof template>;
        try {
          t = template({ rootfs, mounts: [{ type: 'bind', source: shared, target: '/data' }] });
        } catch (err) {
          expect(err).toMatchObject({ code: 'ENOENT' });
          failed++;
          continue;
        }
        try {
          let child: ReturnType<typeof t.spawn>;
          try {
            child = t.spawn('/bin/sh', ['-c', 'touch /var/tmp/planted 2>&1 && echo WROTE; exit 0'], { env: { PATH: '/bin' } });
          } catch (err) {
            expect(err).toMatchObject({ code: 'ENOENT', step: 'proc' });
            failed++;
            continue;
          }
          const r = await output(child);
          if (r.stdout.includes('WROTE')) bad.push(`template ${i}: the root is writable`);
        } finally {
          t.close();
        }
      }
    } finally {
      await stop(sw);
      resetData('/dev');
    }
    expect(bad).toEqual([]);
    expect(failed).toBeLessThan(60);
    expect(existsSync(join(rootfs, 'var/tmp/planted'))).toBe(false);
  });

  rtest("a template run whose /proc is a symlink into the template's procfs is refused (EXDEV), never started beside it", () => {
    using t = template({ rootfs });
    // After the template is made: its procfs's mount point renamed, /proc a symlink to a
    // directory of that procfs (the run's procfs would land there, the template's in view).
    renameSync(join(rootfs, 'proc'), join(rootfs, 'p2'));
    symlinkSync('p2/sys', join(rootfs, 'proc'));
    try {
      expect(() => t.spawn('/bin/true')).toThrow(expect.objectContaining({ code: 'EXDEV', step: 'proc', syscall: 'fstatfs' }));
    } finally {
      rmSync(join(rootfs, 'proc'));
      renameSync(join(rootfs, 'p2'), join(rootfs, 'proc'));
    }
  });
});
