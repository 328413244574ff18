// A template's read-write volumes against the real kernel: what a template makes under one (a
// read-only volume, a read-only path, masks) is read-only in every run, as spawn() makes it; the
// host's submounts brought in with one keep the host's read-only state (rootless too, where
// they are locked); a read-write volume inside a read-only one is writable. And a shared
// volume: what one run mounts under it reaches no other run and not the template.
// Runs as root (id block) and, for the rootless part, as a user.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect } from 'vitest';
import { type ContainerMount, parseMountinfo, spawn, type TemplateOptions, template } from '../../src/index.js';
import { BUSYBOX, busyboxRootfs } from '../helpers/busybox.js';
import { canUserns, isRoot, onPath, testIf } from '../helpers/env.js';
import { output } from '../helpers/proc.js';

const ttest = testIf(canUserns && BUSYBOX !== undefined, 'needs user namespaces and a static busybox (Debian busybox-static)');
const rtest = testIf(isRoot && canUserns && BUSYBOX !== undefined, 'needs root (host mounts), user namespaces and a static busybox');
const DIST = new URL('../../dist/index.js', import.meta.url);
const NOBODY = 65534;
const lockedTest = testIf(
  isRoot && canUserns && BUSYBOX !== undefined && onPath('setpriv') && existsSync(DIST),
  'needs root (host mounts), setpriv(1), a static busybox and dist/ (npm run build:ts)',
);
const NAMESPACES: TemplateOptions['namespaces'] = ['user', 'mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup'];

let dir: string;
let rootfs: string;
beforeAll(() => {
  if (!BUSYBOX) return;
  dir = mkdtempSync(join(tmpdir(), 'nsbox-tplm-'));
  chmodSync(dir, 0o755);
  rootfs = join(dir, 'rootfs');
  busyboxRootfs(rootfs, ['proc', 'sys', 'dev', 'tmp', 'etc', 'mnt']);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});
// Templates and runs live in mount namespaces of their own: nothing of theirs shows here, and
// each test removes the host mounts it makes.
const ourMounts = () =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => dir !== undefined && l.includes(dir))
    .join('\n');
let hostMounts: string;
beforeEach(() => {
  hostMounts = ourMounts();
});
afterEach(() => {
  expect(ourMounts()).toBe(hostMounts);
});

/**
 * Masked paths under a volume: whether one is a directory is looked up in the rootfs directory
 * (container-steps.ts isMaskedDir), so the rootfs has the masked directories the tests use.
 */
function maskDirs(...paths: string[]): void {
  for (const p of paths) mkdirSync(join(rootfs, p), { recursive: true });
}

/** A fresh directory under the test's, world-writable (the run's root is not the host's). */
function fresh(name: string, files: Record<string, string> = {}, dirs: string[] = []): string {
  const d = mkdtempSync(join(dir, `${name}-`));
  chmodSync(d, 0o777);
  for (const s of dirs) {
    mkdirSync(join(d, s), { recursive: true });
    chmodSync(join(d, s), 0o777);
  }
  for (const [f, text] of Object.entries(files)) {
    writeFileSync(join(d, f), text);
    chmodSync(join(d, f), 0o666);
  }
  return d;
}

/** What writing each path gives (`written` or the shell's error text), then the mount table. */
const WRITE = (paths: string[]) =>
  `for p in ${paths.join(' ')}; do if out=$( (echo pwned > "$p") 2>&1 ); then echo "$p written"; else echo "$p \${out##*: }"; fi; done; echo ---; cat /proc/self/mountinfo`;

/** The lines before `---`, and ro/rw of each mount at or under `/vol`. */
function parse(stdout: string): { writes: string[]; flags: Record<string, string> } {
  const [writes, table] = stdout.split('---\n') as [string, string];
  const flags: Record<string, string> = {};
  for (const e of parseMountinfo(table))
    if (e.mountPoint === '/vol' || e.mountPoint.startsWith('/vol/')) flags[e.mountPoint] = e.options.includes('ro') ? 'ro' : 'rw';
  return { writes: writes.trim().split('\n'), flags };
}

/** A run of a template and a plain spawn() with the same mounts, each writing `paths`. */
async function both(o: Partial<TemplateOptions>, paths: string[]) {
  const script = WRITE(paths);
  using t = template({ rootfs, ...o });
  const run = parse((await output(t.spawn('/bin/sh', ['-c', script]))).stdout);
  const { mounts, maskedPaths, readonlyPaths } = o;
  const plain = parse(
    (await output(spawn('/bin/sh', ['-c', script], { rootfs, namespaces: NAMESPACES, mounts, maskedPaths, readonlyPaths }))).stdout,
  );
  return { run, plain };
}

/** Host mounts under `base`: `ro` a read-only bind of itself, `rw` a fresh tmpfs; undone by the returned function. */
function hostSubmounts(base: string): () => void {
  const ro = join(base, 'ro');
  const rw = join(base, 'rw');
  execFileSync('mount', ['--bind', ro, ro]);
  try {
    execFileSync('mount', ['-o', 'remount,bind,ro', ro]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=1777,size=1m', 'nsbox-tplm', rw]);
  } catch (e) {
    execFileSync('umount', [ro]);
    throw e;
  }
  return () => {
    execFileSync('umount', [rw]);
    execFileSync('umount', [ro]);
  };
}

describe('under a read-write volume', () => {
  ttest('a read-only volume, a read-only path and masks are read-only in every run, as spawn makes them', async () => {
    const vol = fresh('vol', { mfile: 'host\n', 'conf/f': 'conf\n' }, ['ro', 'conf', 'mdir']);
    const ro = fresh('ro', { file: 'secret\n' }, ['inner']);
    const inner = fresh('inner');
    maskDirs('/vol/mdir');
    const mounts: ContainerMount[] = [
      { type: 'bind', source: vol, target: '/vol' },
      { type: 'bind', source: ro, target: '/vol/ro', readOnly: true },
      // A read-write volume inside the read-only one: writable.
      { type: 'bind', source: inner, target: '/vol/ro/inner' },
    ];
    const paths = ['/vol/ro/file', '/vol/conf/f', '/vol/mfile', '/vol/mdir/x', '/vol/w', '/vol/ro/inner/w'];
    const { run, plain } = await both({ mounts, readonlyPaths: ['/vol/conf'], maskedPaths: ['/vol/mdir', '/vol/mfile'] }, paths);
    const EROFS = 'Read-only file system';
    expect(run.writes).toEqual([
      `/vol/ro/file ${EROFS}`,
      `/vol/conf/f ${EROFS}`,
      `/vol/mfile ${EROFS}`,
      `/vol/mdir/x ${EROFS}`,
      '/vol/w written',
      '/vol/ro/inner/w written',
    ]);
    expect(run.flags).toEqual({
      '/vol': 'rw',
      '/vol/ro': 'ro',
      '/vol/ro/inner': 'rw',
      '/vol/mdir': 'ro',
      '/vol/mfile': 'ro',
      '/vol/conf': 'ro',
    });
    expect(run.flags).toEqual(plain.flags);
    // (The files the run wrote are its root's now: spawn's root, another uid, may not rewrite them.)
    expect(plain.writes.slice(0, 4)).toEqual(run.writes.slice(0, 4));
    // The host's files are as they were; what the run wrote is in the read-write volumes only.
    expect(readFileSync(join(ro, 'file'), 'utf8')).toBe('secret\n');
    expect(readFileSync(join(vol, 'conf/f'), 'utf8')).toBe('conf\n');
    expect(readFileSync(join(vol, 'mfile'), 'utf8')).toBe('host\n');
    expect(existsSync(join(vol, 'mdir/x'))).toBe(false);
    expect(readFileSync(join(inner, 'w'), 'utf8')).toBe('pwned\n');
  });

  ttest('a mask under a read-write volume is no channel between runs', async () => {
    const vol = fresh('vol', { mfile: 'host\n' }, ['mdir']);
    maskDirs('/vol/mdir');
    // A command that could write the masks' files were they writable: rootless, the run's root
    // owns them; as root, real root (no user namespace).
    using t = template({
      rootfs,
      namespaces: isRoot ? ['mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup'] : undefined,
      mounts: [{ type: 'bind', source: vol, target: '/vol' }],
      maskedPaths: ['/vol/mdir', '/vol/mfile'],
    });
    const sh = (s: string) => output(t.spawn('/bin/sh', ['-c', s]));
    await sh('echo a > /vol/mdir/x; echo a > /vol/mfile');
    expect((await sh('ls -A /vol/mdir; cat /vol/mfile; echo end')).stdout).toBe('end\n');
  });

  rtest("the host's read-only submounts stay read-only, its read-write ones stay writable, as spawn binds them", async () => {
    const vol = fresh('vol', { 'ro/keep': 'host\n' }, ['ro', 'rw']);
    const undo = hostSubmounts(vol);
    try {
      const { run, plain } = await both({ mounts: [{ type: 'bind', source: vol, target: '/vol' }] }, ['/vol/ro/keep', '/vol/rw/f']);
      expect(run.writes).toEqual(['/vol/ro/keep Read-only file system', '/vol/rw/f written']);
      expect(run.flags).toEqual({ '/vol': 'rw', '/vol/ro': 'ro', '/vol/rw': 'rw' });
      expect(run.flags).toEqual(plain.flags);
      expect(readFileSync(join(vol, 'ro/keep'), 'utf8')).toBe('host\n');
      expect(readFileSync(join(vol, 'rw/f'), 'utf8')).toBe('pwned\n'); // the host's tmpfs
    } finally {
      undo();
    }
  });

  lockedTest('rootless: a read-only host submount (locked in the user namespace) is left read-only, not refused', async () => {
    const vol = fresh('vol', { 'ro/keep': 'host\n' }, ['ro', 'rw']);
    const undo = hostSubmounts(vol);
    try {
      const code = `
        import { template } from ${JSON.stringify(DIST.href)};
        const t = template({ rootfs: ${JSON.stringify(rootfs)}, mounts: [{ type: 'bind', source: ${JSON.stringify(vol)}, target: '/vol' }] });
        const c = t.spawn('/bin/sh', ['-c', ${JSON.stringify(WRITE(['/vol/ro/keep', '/vol/rw/f']))}], { stdio: ['ignore', 'inherit', 'inherit'] });
        await c.exited;
        t.close();`;
      const out = execFileSync(
        'setpriv',
        [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '--input-type=module', '-e', code],
        { encoding: 'utf8', cwd: '/', timeout: 20_000 },
      );
      const run = parse(out);
      expect(run.writes).toEqual(['/vol/ro/keep Read-only file system', '/vol/rw/f written']);
      expect(run.flags).toEqual({ '/vol': 'rw', '/vol/ro': 'ro', '/vol/rw': 'rw' });
      expect(readFileSync(join(vol, 'ro/keep'), 'utf8')).toBe('host\n');
    } finally {
      undo();
    }
  });
});

describe('a shared volume', () => {
  for (const propagation of ['shared', 'rshared'] as const)
    ttest(`${propagation}: what a run mounts under it reaches no other run and not the template`, async () => {
      const vol = fresh('vol', {}, ['s', 's2']);
      using t = template({
        rootfs,
        scratch: ['/tmp', '/vol/s'],
        mounts: [{ type: 'bind', source: vol, target: '/vol', propagation }],
      });
      const sh = (s: string) => output(t.spawn('/bin/sh', ['-c', `exec 2>&1; ${s}`]));
      const wait = (f: string) => `while [ ! -e /vol/${f} ]; do sleep 0.02; done`;
      // Each prints its scratch directory's files, how many mounts are at /vol/s, and /vol's tags.
      const report = `echo files:$(ls /vol/s); awk '$5 == "/vol/s"' /proc/self/mountinfo | wc -l; awk '$5 == "/vol" { print $7, $8 }' /proc/self/mountinfo`;
      // A writes to its scratch tmpfs under the volume, B mounts its own meanwhile, then A looks again.
      const a = sh(`echo a > /vol/s/a; touch /vol/a-ready; ${wait('b-done')}; ${report}`);
      const b = sh(`${wait('a-ready')}; echo b > /vol/s/b; ${report}; touch /vol/b-done`);
      const [ra, rb] = (await Promise.all([a, b])).map((r) => r.stdout.split('\n'));
      expect(ra!.slice(0, 2)).toEqual(['files:a', '2']); // the template's empty tmpfs, its own on it
      expect(rb!.slice(0, 2)).toEqual(['files:b', '2']);
      // Each run's volume: a peer group of its own, a slave of the template's.
      const tags = (l: string[]) => Object.fromEntries(l[2]!.split(' ').map((f) => f.split(':') as [string, string]));
      expect(tags(ra!)).toEqual({ shared: expect.any(String), master: expect.any(String) });
      expect(tags(ra!).shared).not.toBe(tags(rb!).shared);
      expect(tags(ra!).master).toBe(tags(rb!).master);
      // The template collected nothing: the next run sees its own empty scratch on the template's.
      expect((await sh(report)).stdout.split('\n').slice(0, 2)).toEqual(['files:', '2']);
    });

  ttest("in a run, a mount under a shared volume reaches the run's own bind of it (lockMounts: false), no other run", async () => {
    const vol = fresh('vol', {}, ['s2']);
    using t = template({ rootfs, lockMounts: false, mounts: [{ type: 'bind', source: vol, target: '/vol', propagation: 'shared' }] });
    const sh = (s: string) => output(t.spawn('/bin/sh', ['-c', `exec 2>&1; ${s}`]));
    const r = await sh('mount --bind /vol /mnt && mount -t tmpfs t /vol/s2 && echo z > /vol/s2/z && ls /mnt/s2');
    expect(r.stdout).toBe('z\n');
    expect((await sh('ls -A /vol/s2; grep -c " /vol/s2 " /proc/self/mountinfo')).stdout).toBe('0\n');
  });
});

describe("a run's masks", () => {
  // A run's /proc is its own, and so are its masks: each binds the run's /dev/null over a file
  // of it. With a read-write volume at /dev, a run can replace that /dev/null for the next: a
  // symlink to the masked file made the next run's mask bind the file onto itself (unmasked).
  rtest(
    'bind only the null device: a /dev/null an earlier run replaced with a symlink fails the next run (ELOOP), as does a file (ENXIO): never unmasks',
    async () => {
      const dev = fresh('dev', {}, ['pts', 'shm', 'mqueue']);
      execFileSync('mknod', ['-m', '666', join(dev, 'null'), 'c', '1', '3']);
      using t = template({ rootfs, maskedPaths: ['/proc/keys'], mounts: [{ type: 'bind', source: dev, target: '/dev' }] });
      const sh = (s: string) => output(t.spawn('/bin/sh', ['-c', `exec 2>&1; ${s}`]));
      // /proc/keys masked: the null device is bound over it (its mount is the volume's, not proc).
      const keys = `awk '$5 == "/proc/keys" { print $4 }' /proc/self/mountinfo`;
      expect((await sh(keys)).stdout).toBe(`${join(dev, 'null')}\n`);
      // A run replaces it: a symlink to the masked file, then a regular file.
      await sh('rm /dev/null && ln -s /proc/keys /dev/null');
      const run = () => t.spawn('/bin/true');
      expect(run).toThrow(expect.objectContaining({ code: 'ELOOP', step: 'masked-paths', syscall: 'openat2' }));
      rmSync(join(dev, 'null'));
      writeFileSync(join(dev, 'null'), 'not null\n');
      expect(run).toThrow(expect.objectContaining({ code: 'ENXIO', step: 'masked-paths' }));
      // Put back, the null device masks again.
      rmSync(join(dev, 'null'));
      execFileSync('mknod', ['-m', '666', join(dev, 'null'), 'c', '1', '3']);
      expect((await sh(keys)).stdout).toBe(`${join(dev, 'null')}\n`);
    },
  );
});
