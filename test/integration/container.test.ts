// A container's root (spawn's rootfs/mounts options) against the real kernel, witnessed by
// findmnt --task, /proc/PID/mountinfo and the host's view of every directory involved.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  copyFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { spawn, type NamespaceType, type SpawnOptions } from '../../src/index.js';
import { canUserns, isRoot, onPath, testIf } from '../helpers/env.js';
import { childPids, lines, mounts, output } from '../helpers/proc.js';

const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p) && statSync(p).size > 500_000);
const ctest = testIf(canUserns && BUSYBOX !== undefined, 'needs user namespaces and a static busybox (Debian busybox-static)');
const NS: NamespaceType[] = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net'];

let dir: string;
let rootfs: string;
let hostMounts: string;

/** A minimal busybox root: /bin with every applet, and the usual empty directories. */
function makeRootfs(at: string): void {
  mkdirSync(join(at, 'bin'), { recursive: true });
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'etc', 'root']) mkdirSync(join(at, d), { recursive: true });
  copyFileSync(BUSYBOX!, join(at, 'bin/busybox'));
  chmodSync(join(at, 'bin/busybox'), 0o755);
  const applets = execFileSync(BUSYBOX!, ['--list'], { encoding: 'utf8' }).trim().split('\n');
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(at, 'bin', a));
}

/** Every file under `at` with its content, for "the layer is unchanged". */
function snapshot(at: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(at, { recursive: true, withFileTypes: true })) {
    const p = join(e.parentPath, e.name);
    out[p] = e.isFile() ? readFileSync(p, 'latin1') : e.isSymbolicLink() ? 'link' : 'dir';
  }
  return out;
}

// stderr folded into stdout, as the shell's own redirection errors go to stderr.
const run = (script: string, opts: SpawnOptions = {}) =>
  output(spawn('/bin/sh', ['-c', `exec 2>&1; ${script}`], { namespaces: NS, rootfs, ...opts }));

beforeAll(() => {
  if (!BUSYBOX) return;
  dir = mkdtempSync(join(tmpdir(), 'nsbox-ct-'));
  chmodSync(dir, 0o755);
  rootfs = join(dir, 'rootfs');
  makeRootfs(rootfs);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  hostMounts = readFileSync('/proc/self/mountinfo', 'utf8');
});
afterEach(() => {
  // Every mount a container made lives and dies in its own mount namespace.
  expect(readFileSync('/proc/self/mountinfo', 'utf8')).toBe(hostMounts);
});

describe('root filesystem', () => {
  ctest('a directory root: PID 1, its own hostname files, nothing of the host mounted', async () => {
    const r = await run('echo $$; hostname; cat /etc/hostname; ls /oldroot /newroot 2>&1; cut -d" " -f5 /proc/self/mountinfo', {
      hostname: 'box',
    });
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 3)).toEqual(['1', 'box', 'box']);
    expect(r.stdout).toMatch(/ls: \/oldroot: No such file or directory/);
    const points = lines.filter((l) => l.startsWith('/'));
    expect(points[0]).toBe('/');
    for (const p of points) expect(p).toMatch(/^\/(proc|sys|dev|etc)?(\/|$)|^\/$/);
    expect(points).not.toContain('/tmp');
  });

  ctest('findmnt --task shows the container table from outside, rooted at the rootfs', async () => {
    const c = spawn('/bin/sleep', ['5'], { namespaces: NS, rootfs, stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 100));
      const table = JSON.parse(execFileSync('findmnt', ['-J', '--task', String(c.pid), '-o', 'TARGET,FSTYPE'], { encoding: 'utf8' })) as {
        filesystems: Array<{ target: string; children?: unknown[] }>;
      };
      const targets: string[] = [];
      const walk = (fs: Array<{ target: string; children?: unknown[] }>) =>
        fs.forEach((f) => {
          targets.push(f.target);
          if (f.children) walk(f.children as never);
        });
      walk(table.filesystems);
      expect(targets[0]).toBe('/');
      for (const t of ['/proc', '/sys', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue']) expect(targets).toContain(t);
      expect(targets.some((t) => t.startsWith('/oldroot') || t.startsWith('/newroot') || t.startsWith(dir))).toBe(false);
    } finally {
      c.kill('SIGKILL');
      await c.exited;
    }
  });

  ctest("'host': a tmpfs root with the host's system directories read-only", async () => {
    const r = await run('ls /; touch /usr/nsbox-x 2>&1; echo ok > /tmp/x && cat /tmp/x', { rootfs: 'host' });
    expect(r.stdout).toMatch(/Read-only file system/);
    expect(r.stdout).toMatch(/\nok\n$/);
    expect(r.stdout.split('\n')).toContain('usr');
    expect(existsSync('/usr/nsbox-x')).toBe(false);
  });

  ctest('readOnlyRoot: the root refuses writes, /dev/shm does not', async () => {
    const r = await run('touch /x 2>&1; echo y > /dev/shm/y && cat /dev/shm/y', { readOnlyRoot: true });
    expect(r.stdout).toMatch(/Read-only file system/);
    expect(r.stdout).toMatch(/y\n$/);
    expect(existsSync(join(rootfs, 'x'))).toBe(false);
  });
});

describe('overlay', () => {
  let top: string;
  beforeAll(() => {
    if (!BUSYBOX) return;
    top = join(dir, 'top');
    mkdirSync(join(top, 'etc'), { recursive: true });
    writeFileSync(join(top, 'etc/motd'), 'from top\n');
    writeFileSync(join(rootfs, 'etc/motd'), 'from bottom\n');
  });

  ctest('layers stack bottom first; writes land in the upper and leave every layer unchanged', async () => {
    const upper = join(dir, 'upper');
    const work = join(dir, 'work');
    mkdirSync(upper);
    mkdirSync(work);
    const before = { bottom: snapshot(rootfs), top: snapshot(top) };
    try {
      // The layers and the kept upper belong to host root; as root, only a container whose
      // root is host root (an explicit map, never the default) may write them.
      const hostRoot = isRoot ? { uidMap: [{ inside: 0, outside: 0 }], gidMap: [{ inside: 0, outside: 0 }] } : {};
      const r = await run('cat /etc/motd; echo new > /newfile; echo changed > /etc/motd; rm /bin/ls; cat /newfile', {
        rootfs: { layers: [rootfs, top], upper, work },
        ...hostRoot,
      });
      expect(r.stdout).toBe('from top\nnew\n');
      expect(readFileSync(join(upper, 'newfile'), 'utf8')).toBe('new\n');
      expect(readFileSync(join(upper, 'etc/motd'), 'utf8')).toBe('changed\n');
      expect(statSync(join(upper, 'bin/ls')).isCharacterDevice()).toBe(true); // a whiteout
      expect(snapshot(rootfs)).toEqual(before.bottom);
      expect(snapshot(top)).toEqual(before.top);
    } finally {
      // overlayfs leaves work/work with mode 000; its owner may still chmod it.
      if (existsSync(join(work, 'work'))) chmodSync(join(work, 'work'), 0o700);
      rmSync(upper, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    }
  });

  ctest('two containers on the same layers see only their own writes (throw-away uppers)', async () => {
    const layers = { layers: [rootfs, top] };
    const [a, b] = await Promise.all([
      run('echo A > /shared; sleep 0.3; cat /shared', { rootfs: layers }),
      run('echo B > /shared; sleep 0.3; cat /shared', { rootfs: layers }),
    ]);
    expect(a.stdout).toBe('A\n');
    expect(b.stdout).toBe('B\n');
    expect(existsSync(join(rootfs, 'shared'))).toBe(false);
    const again = await run('cat /shared 2>&1', { rootfs: layers });
    expect(again.stdout).toMatch(/No such file/);
  });
});

describe('mounts and volumes', () => {
  ctest('a read-only volume gives EROFS; a read-write one writes through to the host', async () => {
    const vol = join(dir, 'vol');
    mkdirSync(vol, { recursive: true });
    chmodSync(vol, 0o777);
    const r = await run('echo x > /ro/f 2>&1; echo y > /rw/f && echo wrote', {
      mounts: [
        { type: 'bind', source: vol, target: '/ro', readOnly: true },
        { type: 'bind', source: vol, target: '/rw' },
      ],
    });
    expect(r.stdout).toMatch(/Read-only file system/);
    expect(r.stdout).toMatch(/wrote\n$/);
    expect(readFileSync(join(vol, 'f'), 'utf8')).toBe('y\n');
  });

  ctest('tmpfs mounts take size and mode', async () => {
    const r = await run('stat -c %a /scratch; grep " /scratch " /proc/self/mountinfo', {
      mounts: [{ type: 'tmpfs', target: '/scratch', size: '1m', mode: 0o700 }],
    });
    expect(r.stdout.split('\n')[0]).toBe('700');
    expect(r.stdout).toMatch(/size=1024k/);
  });

  describe('tmpfs copyUp (tmpcopyup)', () => {
    // The image's directory, owned by the caller: a container mapping the caller to its root
    // sees it owned by 0 (as root, an explicit map of host root, never the default id block).
    const ownIds = isRoot ? { uidMap: [{ inside: 0, outside: 0 }], gidMap: [{ inside: 0, outside: 0 }] } : {};
    let cu: string;
    let big: Buffer;
    beforeAll(() => {
      if (!BUSYBOX) return;
      cu = join(rootfs, 'cu');
      mkdirSync(join(cu, 'd/e'), { recursive: true });
      writeFileSync(join(cu, 'a'), 'hello\n', { mode: 0o640 });
      writeFileSync(join(cu, 'd/e/f'), 'deep\n');
      big = Buffer.alloc(100_000, 'xyz'); // more than one read(2) of the copy's buffer
      writeFileSync(join(cu, 'big'), big);
      symlinkSync('/nonexistent-nsbox/target', join(cu, 'l')); // dangling: copied, never followed
      execFileSync('mkfifo', ['-m', '0620', join(cu, 'p')]);
      chmodSync(join(cu, 'd'), 0o750);
      chmodSync(cu, 0o751);
    });
    const witness = (dir: string) =>
      `stat -c "%n %a %F %u" ${dir} ${dir}/a ${dir}/d ${dir}/p ${dir}/l; cat ${dir}/a ${dir}/d/e/f; readlink ${dir}/l; ` +
      `wc -c < ${dir}/big; awk '$5 == "${dir}" { print $9 }' /proc/self/mountinfo`;

    ctest('the tmpfs starts as a copy of the directory it covers, with its owners and modes; writes stay in it', async () => {
      const before = snapshot(cu);
      const r = await run(`${witness('/cu')}; echo new > /cu/new && echo wrote; cmp /cu/big /cu/big`, {
        mounts: [{ type: 'tmpfs', target: '/cu', copyUp: true }],
        ...ownIds,
      });
      expect(r.stdout).toBe(
        [
          '/cu 751 directory 0', // the root takes the covered directory's mode and owner
          '/cu/a 640 regular file 0',
          '/cu/d 750 directory 0',
          '/cu/p 620 fifo 0',
          '/cu/l 777 symbolic link 0',
          'hello',
          'deep',
          '/nonexistent-nsbox/target',
          String(big.length),
          'tmpfs',
          'wrote',
          '',
        ].join('\n'),
      );
      expect(snapshot(cu)).toEqual(before); // the image's directory is untouched
    });

    ctest('a mode given wins over the covered directory’s; readOnly applies after the copy', async () => {
      const r = await run('stat -c %a /cu; cat /cu/a; echo x > /cu/new', {
        mounts: [{ type: 'tmpfs', target: '/cu', copyUp: true, mode: 0o700, readOnly: true }],
        ...ownIds,
      });
      expect(r.stdout).toMatch(/^700\nhello\n.*Read-only file system/);
    });

    ctest('a missing target is made, and the tmpfs is empty', async () => {
      const r = await run('ls -A /none/here | wc -l; stat -c %a /none/here', {
        mounts: [{ type: 'tmpfs', target: '/none/here', copyUp: true }],
        ...ownIds,
      });
      expect(r.stdout).toBe('0\n755\n');
    });

    const xattrTest = testIf(
      isRoot && BUSYBOX !== undefined && onPath('setcap') && onPath('getcap'),
      'needs root (file capabilities), a static busybox and setcap/getcap (libcap2-bin)',
    );
    xattrTest('extended attributes come along: a file capability and user.* on files and directories', async () => {
      const x = join(rootfs, 'xa');
      mkdirSync(join(x, 'sub'), { recursive: true });
      writeFileSync(join(x, 'ping'), 'not really\n', { mode: 0o755 });
      execFileSync('setcap', ['cap_net_raw+ep', join(x, 'ping')]);
      const setx = (path: string, k: string, v: string) =>
        execFileSync('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())', path, k, v]);
      setx(join(x, 'ping'), 'user.origin', 'image');
      setx(join(x, 'sub'), 'user.dir', 'yes');
      const child = spawn('/bin/sh', ['-c', 'echo up; exec sleep 30'], {
        namespaces: NS,
        rootfs,
        mounts: [{ type: 'tmpfs', target: '/xa', copyUp: true }],
        ...ownIds,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        await new Promise((r) => child.stdout!.once('data', r));
        // Witnesses from the host, through the container's root: the copy on its tmpfs.
        const inCopy = `/proc/${child.pid}/root/xa`;
        expect(execFileSync('findmnt', ['-N', String(child.pid), '-no', 'FSTYPE', '/xa'], { encoding: 'utf8' }).trim()).toBe('tmpfs');
        expect(execFileSync('getcap', [`${inCopy}/ping`], { encoding: 'utf8' })).toMatch(/cap_net_raw[=+]ep/);
        const getx = (path: string, k: string) =>
          execFileSync('python3', ['-c', 'import os,sys; print(os.getxattr(sys.argv[1], sys.argv[2]).decode())', path, k], {
            encoding: 'utf8',
          }).trim();
        expect(getx(`${inCopy}/ping`, 'user.origin')).toBe('image');
        expect(getx(`${inCopy}/sub`, 'user.dir')).toBe('yes');
      } finally {
        child.kill('SIGKILL');
        await child.exited;
        rmSync(x, { recursive: true, force: true });
      }
    });

    const rootCtest = testIf(isRoot && BUSYBOX !== undefined, 'needs root (a file owned by an id the container does not map)');
    rootCtest('a file owned by an id the container does not map fails the copy: EINVAL from fchownat, as crun', () => {
      const odd = join(rootfs, 'odd');
      mkdirSync(odd);
      writeFileSync(join(odd, 'f'), '');
      execFileSync('chown', ['12345:12345', join(odd, 'f')]);
      try {
        expect(() =>
          spawn('/bin/true', { namespaces: NS, rootfs, mounts: [{ type: 'tmpfs', target: '/odd', copyUp: true }], ...ownIds }),
        ).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'fchownat', step: 'mounts' }));
      } finally {
        rmSync(odd, { recursive: true, force: true });
      }
    });
  });

  ctest('masked paths are empty and read-only paths refuse writes', async () => {
    const r = await run(
      'wc -c < /proc/keys; ls -A /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/domainname; cut -d" " -f5,6 /proc/self/mountinfo',
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]!.trim()).toBe('0');
    expect(lines[1]!.trim()).toBe('0');
    expect(r.stdout).toMatch(/domainname: Read-only file system/);
    // Every read-only path this kernel has is a read-only mount inside (witness: mountinfo).
    const { READONLY_PATHS } = await import('../../src/fs/container.js');
    const table = new Map(lines.slice(3).map((l) => l.split(' ') as [string, string]));
    for (const p of READONLY_PATHS.filter((p) => existsSync(p))) expect(table.get(p)?.split(',')[0]).toBe('ro');
  });

  ctest('/dev has working nodes (bound from the host when rootless) and its own pts', async () => {
    const r = await run(
      '[ -c /dev/null ] && echo null-ok; echo x > /dev/null && echo write-ok; head -c 4 /dev/zero | wc -c; ls /dev/pts; readlink /dev/ptmx',
    );
    expect(r.stdout).toBe('null-ok\nwrite-ok\n4\nptmx\npts/ptmx\n');
  });

  ctest('a symlink planted in the rootfs cannot redirect a volume to the host', async () => {
    const evil = join(dir, 'evil');
    makeRootfs(evil);
    const name = `nsbox-victim-${process.pid}-${Date.now()}`;
    // Absolute and relative escapes towards the host's /tmp; with RESOLVE_IN_ROOT both
    // resolve to the root's own /tmp.
    symlinkSync('/tmp', join(evil, 'abs'));
    symlinkSync('../../../../../../../../tmp', join(evil, 'rel'));
    symlinkSync(`/nonexistent-${name}`, join(evil, 'dangling'));
    const vol = join(dir, 'payload');
    mkdirSync(vol, { recursive: true });
    writeFileSync(join(vol, 'marker'), 'payload\n');
    try {
      const r = await output(
        spawn('/bin/sh', ['-c', `ls /tmp/${name}-a /tmp/${name}-b`], {
          namespaces: NS,
          rootfs: evil,
          mounts: [
            { type: 'bind', source: vol, target: `/abs/${name}-a` },
            { type: 'bind', source: vol, target: `/rel/${name}-b` },
          ],
        }),
      );
      // Inside, the mounts exist at the symlinks' targets *within* the root...
      expect(r.stdout).toBe('/tmp/' + name + '-a:\nmarker\n\n/tmp/' + name + '-b:\nmarker\n');
      expect(existsSync(join(evil, 'tmp', `${name}-a`))).toBe(true);
      // ...and nothing was created or mounted on the host's /tmp.
      expect(existsSync(`/tmp/${name}-a`)).toBe(false);
      expect(existsSync(`/tmp/${name}-b`)).toBe(false);
      // A dangling link is refused rather than followed out of the root.
      expect(() => spawn('/bin/true', { namespaces: NS, rootfs: evil, mounts: [{ type: 'tmpfs', target: '/dangling/x' }] })).toThrow(
        expect.objectContaining({ code: 'ENOENT', step: 'mounts', path: '/dangling/x' }),
      );
      expect(existsSync(`/nonexistent-${name}`)).toBe(false);
    } finally {
      rmSync(evil, { recursive: true, force: true });
    }
  });

  const propagationTest = testIf(isRoot && BUSYBOX !== undefined, 'needs root (a shared mount on the host side) and a static busybox');
  propagationTest(
    'propagation is private both ways: a mount inside stays inside, a host mount made after the start stays out',
    async () => {
      // The host side is made shared, as systemd makes /: without the container's rprivate,
      // a mount under it would propagate into the container (the control below shows it does).
      execFileSync('mount', ['--bind', dir, dir]);
      execFileSync('mount', ['--make-shared', dir]);
      const hostSide = join(rootfs, 'tmp', 'late');
      mkdirSync(hostSide, { recursive: true });
      const inside = (c: ReturnType<typeof spawn>) => ({ out: lines(c.stdout!), go: () => c.stdin!.end('go\n') });
      // Each child says when it has mounted (or started), then waits for the host's go before
      // looking at its own table: every check happens while the other side's mount exists.
      const box = spawn(
        '/bin/sh',
        ['-c', 'mount -t tmpfs none /root && echo mounted; read go; grep -c " /tmp/late " /proc/self/mountinfo'],
        { namespaces: NS, rootfs },
      );
      const control = spawn('sh', ['-c', `echo ready; read go; grep -c " ${hostSide} " /proc/self/mountinfo`], {
        namespaces: ['mnt'],
        propagation: 'unchanged',
      });
      const b = inside(box);
      const k = inside(control);
      let hostMounted = false;
      try {
        expect(await b.out.next()).toBe('mounted');
        expect(await k.out.next()).toBe('ready');
        // Container → host: its mount exists now, and is not in the host's table.
        expect(mounts().some((m) => m.endsWith(`${rootfs}/root`))).toBe(false);
        // Host → container: mount now, then let both children look.
        execFileSync('mount', ['-t', 'tmpfs', 'none', hostSide]);
        hostMounted = true;
        b.go();
        k.go();
        expect(await b.out.next()).toBe('0');
        expect(await k.out.next()).toBe('1'); // the control: the same mount does propagate to a shared copy
      } finally {
        box.kill('SIGKILL');
        control.kill('SIGKILL');
        await Promise.all([box.exited, control.exited]);
        if (hostMounted) execFileSync('umount', [hostSide]);
        execFileSync('umount', [dir]);
        rmSync(hostSide, { recursive: true, force: true });
      }
    },
  );
});

describe('idmapped volumes', () => {
  const idmapTest = testIf(isRoot && BUSYBOX !== undefined, 'needs root (MOUNT_ATTR_IDMAP on a host mount) and a static busybox');
  idmapTest('an idmapped volume shows the owners it has on disk; a plain one shows them unmapped', async () => {
    const vol = join(dir, 'idvol');
    mkdirSync(vol, { recursive: true });
    writeFileSync(join(vol, 'user-file'), 'u\n');
    execFileSync('chown', ['1000:1000', join(vol, 'user-file')]);
    writeFileSync(join(vol, 'root-file'), 'r\n');
    mkdirSync(join(rootfs, 'vol'), { recursive: true }); // the root's dirs are host root's: unmapped inside
    // A map that leaves the caller (host root) out: the child becomes root of the namespace.
    const maps = { uidMap: [{ inside: 0, outside: 200000, count: 65536 }], gidMap: [{ inside: 0, outside: 200000, count: 65536 }] };
    const ls = 'ls -ln /vol | awk \'NR>1 {print $3":"$4":"$9}\'; id -u';
    const plain = await run(ls, { ...maps, mounts: [{ type: 'bind', source: vol, target: '/vol' }] });
    expect(plain.stdout).toBe('65534:65534:root-file\n65534:65534:user-file\n0\n');
    const mapped = await run(`${ls}; touch /vol/made-inside`, {
      ...maps,
      mounts: [{ type: 'bind', source: vol, target: '/vol', idmap: true }],
    });
    expect(mapped.stdout).toBe('0:0:root-file\n1000:1000:user-file\n0\n');
    // Written through the idmapped mount as root inside: owned by root on disk, not by 200000.
    expect(statSync(join(vol, 'made-inside')).uid).toBe(0);
  });

  testIf(!isRoot, 'runs as an unprivileged user only')('idmap is refused without root, before any syscall', () => {
    expect(() =>
      spawn('/bin/true', { namespaces: NS, rootfs, mounts: [{ type: 'bind', source: dir, target: '/v', idmap: true }] }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});

describe('bad input', () => {
  test.each([
    ['relative target', { mounts: [{ type: 'tmpfs', target: 'rel' }] }, 'ERR_INVALID_ARG_VALUE'],
    ['unknown mount type', { mounts: [{ type: 'nfs', target: '/x' }] }, 'ERR_INVALID_ARG_VALUE'],
    ['missing bind source', { mounts: [{ type: 'bind', source: '/nonexistent-nsbox', target: '/x' }] }, 'ERR_INVALID_ARG_VALUE'],
    ['a layer that is not a directory', { rootfs: { layers: ['/etc/hostname'] } }, 'ERR_INVALID_ARG_VALUE'],
    ['a rootfs that does not exist', { rootfs: '/nonexistent-nsbox' }, 'ERR_INVALID_ARG_VALUE'],
    ['upper without work', { rootfs: { layers: ['/usr'], upper: '/tmp' } }, 'ERR_INVALID_ARG_VALUE'],
    ['a comma in a layer path', { rootfs: { layers: ['/tmp/a,b'] } }, 'ERR_INVALID_ARG_VALUE'],
    ['rootfs without a mount namespace', { rootfs: '/usr', namespaces: ['user'] }, 'ERR_INVALID_ARG_VALUE'],
    ['bad tmpfs size', { mounts: [{ type: 'tmpfs', target: '/x', size: 'lots' }] }, 'ERR_INVALID_ARG_VALUE'],
    ['copyUp that is not a boolean', { mounts: [{ type: 'tmpfs', target: '/x', copyUp: 'yes' }] }, 'ERR_INVALID_ARG_TYPE'],
  ])('%s → %s before any syscall', (_name, opts, code) => {
    const kids = childPids().length;
    expect(() => spawn('true', { namespaces: NS, ...(opts as SpawnOptions) })).toThrow(expect.objectContaining({ code }));
    expect(childPids()).toHaveLength(kids);
  });

  ctest('a mount that fails midway is a SysError with its path, and nothing is left', async () => {
    const kids = childPids().length;
    let err: unknown;
    try {
      spawn('/bin/true', { namespaces: NS, rootfs, mounts: [{ type: 'tmpfs', target: '/bin/busybox/inside' }] });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ENOTDIR', step: 'mounts', path: '/bin/busybox/inside' });
    expect(childPids()).toHaveLength(kids);
    expect(existsSync(join(rootfs, 'bin/busybox/inside'))).toBe(false);
  });
});

describe('mount locking', () => {
  const attempt =
    'umount /proc/keys && echo UMOUNTED; mount -o remount,bind,rw /proc/sys && echo REMOUNTED; grep -c " /proc/keys " /proc/self/mountinfo';
  ctest('by default the masks and read-only paths cannot be undone, whatever the command holds', async () => {
    const r = await run(`${attempt}; grep CapEff /proc/self/status`);
    expect(r.stdout).not.toMatch(/UMOUNTED|REMOUNTED/);
    expect(r.stdout).toMatch(/^1$/m); // the mask is still mounted
    expect(r.stdout).toMatch(/CapEff:\s+0*1ffffffffff/); // although every capability is held
  });
  ctest('lockMounts: false lets the command undo them (the explicit, weaker choice)', async () => {
    const r = await run(attempt, { lockMounts: false });
    expect(r.stdout).toMatch(/UMOUNTED\nREMOUNTED\n0\n/);
  });
  ctest("a new network namespace is the command's own, locked or not; its uts namespace only unless lockMounts is false", async () => {
    // The lock makes the network namespace with the command's user namespace (issue 11).
    const locked = await run('ip link set lo up && echo UP; hostname x 2>/dev/null && echo SET || echo DENIED');
    expect(locked.stdout.trim().split('\n')).toEqual(['UP', 'DENIED']);
    const unlocked = await run('ip link set lo up && echo UP; hostname x && echo SET', { lockMounts: false });
    expect(unlocked.stdout.trim().split('\n')).toEqual(['UP', 'SET']);
  });
  ctest("net.* sysctls are written in the command's own network namespace (by the lock's helper), the host's unchanged", async () => {
    const host = readFileSync('/proc/sys/net/ipv4/ip_default_ttl', 'utf8').trim();
    const ttl = host === '77' ? '78' : '77';
    const r = await run('cat /proc/sys/net/ipv4/ip_default_ttl; ip link set lo up && echo UP', {
      sysctl: { 'net.ipv4.ip_default_ttl': ttl },
    });
    expect(r.stdout.trim().split('\n')).toEqual([ttl, 'UP']);
    expect(readFileSync('/proc/sys/net/ipv4/ip_default_ttl', 'utf8').trim()).toBe(host);
  });
  ctest(
    "/sys is a fresh sysfs of the command's own network namespace, masked and locked: umount cannot reveal what lies below",
    async () => {
      const r = await run(
        'ls /sys/class/net; ls /sys/firmware | wc -l; umount /sys 2>/dev/null && echo UNMOUNTED; umount -l /sys 2>/dev/null && echo DETACHED; ls /sys/class/net',
      );
      expect(r.stdout.trim().split('\n')).toEqual(['lo', '0', 'lo']);
    },
  );
  ctest('a net.* sysctl the kernel lacks fails the spawn naming its path', () => {
    expect(() => spawn('/bin/true', [], { namespaces: NS, rootfs, sysctl: { 'net.ipv4.nsbox_no_such': '1' } })).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'openat', step: 'lock-mounts', path: '/proc/sys/net/ipv4/nsbox_no_such' }),
    );
  });
});
