// Landlock on the real kernel: a spawned command is held to its ruleset. /proc/PID/status
// shows no Landlock field, so the witness is behaviour: cat's and bash's own errors (EACCES,
// "Permission denied"), what a TCP server on 127.0.0.1 sees, what lands on disk.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import {
  features,
  landlockForCommand,
  spawn,
  SysError,
  type LandlockRuleset,
  type NamespaceType,
  type SpawnOptions,
} from '../../src/index.js';
import { canUserns, isRoot, testIf } from '../helpers/env.js';
import { childPids, fdCount, output } from '../helpers/proc.js';

const abi = features().landlock;
const NO_LANDLOCK = 'this kernel has no Landlock (features().landlock is 0)';
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p) && statSync(p).size > 500_000);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsbox-ll-'));
  chmodSync(dir, 0o755);
  for (const d of ['pub', 'rw']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'pub/file'), 'public\n');
  writeFileSync(join(dir, 'secret'), 'secret\n');
  writeFileSync(join(dir, 'rw/old'), 'old\n');
  chmodSync(join(dir, 'rw'), 0o777);
  for (const f of ['pub/file', 'secret', 'rw/old']) chmodSync(join(dir, f), 0o666);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sh = (script: string, landlock: LandlockRuleset, opts: SpawnOptions = {}) =>
  output(spawn('/bin/sh', ['-c', `exec 2>&1; ${script}`], { landlock, ...opts }));

/** Where the child can restrict itself: as root (CAP_SYS_ADMIN), as root of a new user namespace, or anyone with no_new_privs. */
const WAYS: Array<{ name: string; opts: SpawnOptions; ok: boolean; why: string }> = [
  { name: 'as root', opts: {}, ok: isRoot, why: 'needs root (rootless runs the other two ways)' },
  { name: 'in a new user namespace', opts: { namespaces: ['user'] }, ok: canUserns, why: 'user namespaces cannot be created here' },
  { name: 'with no_new_privs, no user namespace', opts: { noNewPrivileges: true }, ok: true, why: '' },
];

describe.each(WAYS)('$name', ({ opts, ok, why }) => {
  const lt = testIf(abi > 0 && ok, abi > 0 ? why : NO_LANDLOCK);

  lt('a file beneath a read rule can be read; one outside cannot (EACCES)', async () => {
    const rs = landlockForCommand({ command: '/bin/sh', read: [join(dir, 'pub'), '/usr/bin', '/bin'] });
    const r = await sh(`cat ${dir}/pub/file; cat ${dir}/secret; echo rc=$?`, rs, opts);
    expect(r.stdout).toContain('public\n');
    expect(r.stdout).toMatch(/cat: .*secret: Permission denied/);
    expect(r.stdout).toContain('rc=1');
    expect(r.stdout).not.toContain('secret\n');
  });

  lt('write is denied where only read is granted, allowed beneath a write rule', async () => {
    const rs = landlockForCommand({ command: '/bin/sh', read: [join(dir, 'pub'), '/usr/bin', '/bin'], write: [join(dir, 'rw')] });
    const r = await sh(
      `echo x >> ${dir}/pub/file; echo new > ${dir}/rw/new; mv ${dir}/rw/new ${dir}/rw/moved; rm ${dir}/rw/old; echo done`,
      rs,
      opts,
    );
    expect(r.stdout).toMatch(/pub\/file: Permission denied/);
    expect(r.stdout).toContain('done');
    expect(readFileSync(join(dir, 'pub/file'), 'utf8')).toBe('public\n');
    expect(readFileSync(join(dir, 'rw/moved'), 'utf8')).toBe('new\n');
    expect(existsSync(join(dir, 'rw/old'))).toBe(false);
  });

  lt('TCP connect to a port without a rule is EACCES, an allowed port connects', async () => {
    const seen: number[] = [];
    const servers: Server[] = [];
    const listen = () =>
      new Promise<number>((resolve) => {
        const s = createServer((c) => {
          seen.push((s.address() as AddressInfo).port);
          c.destroy();
        });
        servers.push(s);
        s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port));
      });
    try {
      const [allowed, denied] = [await listen(), await listen()];
      const rs = landlockForCommand({ command: 'bash', connect: [allowed] });
      const probe = (port: number) =>
        output(spawn('bash', ['-c', `exec 2>&1; exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected`], { landlock: rs, ...opts }));
      const a = await probe(allowed);
      const d = await probe(denied);
      expect(a.stdout).toContain('connected');
      expect(d.stdout).toMatch(/Permission denied/);
      expect(d.stdout).not.toContain('connected');
      await new Promise((r) => setTimeout(r, 50));
      expect(seen).toEqual([allowed]);
    } finally {
      for (const s of servers) s.close();
    }
  });

  testIf(abi > 0 && ok && existsSync('/usr/bin/python3'), abi > 0 ? `${why}, and /usr/bin/python3` : NO_LANDLOCK)(
    'TCP bind: only the granted port',
    async () => {
      const free = () =>
        new Promise<number>((resolve) => {
          const s = createServer().listen(0, '127.0.0.1', () => {
            const p = (s.address() as AddressInfo).port;
            s.close(() => resolve(p));
          });
        });
      const [allowed, denied] = [await free(), await free()];
      const rs = landlockForCommand({ command: '/usr/bin/python3', bind: [allowed] });
      const py = (port: number) =>
        output(
          spawn(
            '/usr/bin/python3',
            [
              '-c',
              `import socket\ns=socket.socket()\ntry:\n  s.bind(('127.0.0.1', ${port})); print('bound')\nexcept OSError as e: print(e.errno)`,
            ],
            { landlock: rs, ...opts },
          ),
        );
      expect((await py(allowed)).stdout.trim()).toBe('bound');
      expect((await py(denied)).stdout.trim()).toBe('13'); // EACCES
    },
  );

  lt('scope signal: no signal to a process outside the domain (EPERM)', async () => {
    const outside = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    try {
      const rs: LandlockRuleset = { ...landlockForCommand({ command: '/bin/sh', read: ['/usr/bin', '/bin'] }), scopes: ['signal'] };
      const r = await sh(`kill -0 ${outside.pid} && echo alive; sleep 0 & kill -0 $! && echo own-child`, rs, opts);
      expect(r.stdout).toMatch(/Operation not permitted/);
      expect(r.stdout).not.toContain('alive');
      expect(r.stdout).toContain('own-child');
    } finally {
      outside.kill('SIGKILL');
      await outside.exited;
    }
  });

  lt('refer: linking across directories needs it granted, else EXDEV even with make-reg', async () => {
    const tree = mkdtempSync(join(dir, 'refer-'));
    for (const d of ['a', 'b']) mkdirSync(join(tree, d));
    chmodSync(tree, 0o777);
    for (const d of ['a', 'b']) chmodSync(join(tree, d), 0o777);
    const ro = ['/usr', '/bin', '/lib', '/lib64'].map((path) => ({ path, access: ['read', 'execute'] as const, optional: true }));
    // The child makes the file: as root in an id block, the host's files are not its own
    // (protected_hardlinks would refuse them with EPERM, Landlock or not).
    const run = (n: number, access: LandlockRuleset['fs']) =>
      sh(`echo x > ${tree}/a/x${n} && ln ${tree}/a/x${n} ${tree}/b/y${n} && echo linked`, { fs: [...ro, ...access!] }, opts);
    const without = await run(1, [{ path: tree, access: ['read', 'write-file', 'make-reg', 'remove-file'] }]);
    expect(without.stdout).toMatch(/Invalid cross-device link/);
    expect([existsSync(join(tree, 'a/x1')), existsSync(join(tree, 'b/y1'))]).toEqual([true, false]);
    const withRefer = await run(2, [{ path: tree, access: ['read', 'write'] }]);
    expect(withRefer.stdout).toContain('linked');
    expect(existsSync(join(tree, 'b/y2'))).toBe(true);
  });

  lt('a rule on a file keeps only the rights that apply to files (no EINVAL)', async () => {
    const rs = landlockForCommand({ command: 'cat', read: [join(dir, 'pub/file')], mode: 'strict' });
    const r = await output(spawn('cat', [join(dir, 'pub/file')], { landlock: rs, ...opts }));
    expect([r.code, r.stdout]).toEqual([0, 'public\n']);
  });
});

testIf(existsSync('/usr/bin/python3'), 'needs /usr/bin/python3 (ctypes) as the witness')(
  'features().landlock is what the syscall itself reports',
  () => {
    const py = 'import ctypes; print(max(ctypes.CDLL(None, use_errno=True).syscall(444, None, 0, 1), 0))';
    expect(features().landlock).toBe(Number(execFileSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8' }).trim()));
  },
);

describe('failures', () => {
  const lt = testIf(abi > 0 && (isRoot || canUserns), abi > 0 ? 'needs root or user namespaces' : NO_LANDLOCK);
  const base: SpawnOptions = isRoot ? {} : { namespaces: ['user'] };

  lt('a missing rule path fails as a SysError naming the step and the path; nothing leaks', async () => {
    const fds = fdCount();
    const kids = childPids().length;
    const missing = join(dir, 'nope');
    let err: unknown;
    try {
      spawn('/bin/true', {
        ...base,
        landlock: {
          fs: [
            { path: '/usr', access: 'read' },
            { path: missing, access: 'read' },
          ],
        },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'openat2', step: 'landlock', path: missing });
    expect(fdCount()).toBe(fds);
    expect(childPids().length).toBe(kids);
    // optional: the rule is skipped.
    const r = await output(
      spawn('/bin/cat', [join(dir, 'pub/file')], {
        ...base,
        landlock: {
          fs: [
            { path: missing, access: 'read', optional: true },
            { path: '/', access: ['read', 'execute'] },
          ],
        },
      }),
    );
    expect(r.stdout).toBe('public\n');
  });

  testIf(abi > 0 && !isRoot, 'runs as an unprivileged user only')(
    'without a user namespace or no_new_privs: EPERM from landlock_restrict_self',
    () => {
      expect(() => spawn('/bin/true', { landlock: { fs: [{ path: '/', access: 'read' }] } })).toThrow(
        expect.objectContaining({ code: 'EPERM', syscall: 'landlock_restrict_self', step: 'landlock' }),
      );
    },
  );

  testIf(abi > 0, NO_LANDLOCK)(
    'with no_new_privs it applies where CAP_SYS_ADMIN is gone (a user without a user namespace; root switched to uid 65534)',
    async () => {
      const ids: SpawnOptions = isRoot ? { uid: 65534, gid: 65534, groups: [] } : {};
      const landlock = landlockForCommand({ command: '/bin/cat', read: [join(dir, 'pub')] });
      const ok = await output(spawn('/bin/cat', [join(dir, 'pub/file')], { ...ids, noNewPrivileges: true, landlock }));
      expect(ok.stdout).toBe('public\n');
      const denied = await output(spawn('/bin/cat', ['/etc/hostname'], { ...ids, noNewPrivileges: true, landlock }));
      expect(denied.stderr).toMatch(/Permission denied/);
      expect(denied.stdout).toBe('');
    },
  );
});

describe('in a container', () => {
  const NS: NamespaceType[] = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net'];
  const ct = testIf(
    abi > 0 && canUserns && BUSYBOX !== undefined,
    abi > 0 ? 'needs user namespaces and a static busybox (Debian busybox-static)' : NO_LANDLOCK,
  );
  let rootfs: string;
  beforeAll(() => {
    if (!BUSYBOX || !dir) return;
    rootfs = join(dir, 'rootfs');
    for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'pub']) mkdirSync(join(rootfs, d), { recursive: true });
    copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'));
    chmodSync(join(rootfs, 'bin/busybox'), 0o755);
    for (const a of execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).trim().split('\n'))
      if (a !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', a));
    writeFileSync(join(rootfs, 'pub/file'), 'inside\n');
    writeFileSync(join(rootfs, 'secret'), 'secret\n');
  });

  ct("rule paths are the container's: /pub inside is readable, the rest is not", async () => {
    const rs: LandlockRuleset = {
      fs: [
        { path: '/bin', access: ['read', 'execute'] },
        { path: '/pub', access: 'read' },
      ],
    };
    const r = await output(
      spawn('/bin/sh', ['-c', 'exec 2>&1; cat /pub/file; cat /secret; echo rc=$?'], { namespaces: NS, rootfs, landlock: rs }),
    );
    expect(r.stdout).toContain('inside\n');
    expect(r.stdout).toMatch(/cat: can't open '\/secret': Permission denied/);
    expect(r.stdout).toContain('rc=1');
  });

  ct('a host path is not found inside: ENOENT naming the rule path', () => {
    const host = join(dir, 'pub');
    expect(() => spawn('/bin/true', { namespaces: NS, rootfs, landlock: { fs: [{ path: host, access: 'read' }] } })).toThrow(
      expect.objectContaining({ code: 'ENOENT', step: 'landlock', path: host }),
    );
  });

  ct('landlockForCommand with root: finds cat in the rootfs and grants just what it needs', async () => {
    const rs = landlockForCommand({ command: 'cat', root: rootfs, read: ['/pub'], path: '/bin' });
    expect(rs.fs![0]).toEqual({ path: '/bin/cat', access: ['read-file', 'execute'] });
    const r = await output(spawn('cat', ['/pub/file', '/secret'], { namespaces: NS, rootfs, landlock: rs, env: { PATH: '/bin' } }));
    expect(r.stdout).toBe('inside\n');
    expect(r.stderr).toMatch(/Permission denied/);
    expect(r.code).toBe(1);
  });
});
