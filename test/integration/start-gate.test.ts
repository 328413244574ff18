// spawn's startGate and openStartGate: the OCI create/start split. The child is set up and
// waits (not exec'd: its cmdline is still this process's, its comm 'nsbox-gate', asleep in
// accept4) until a start; the container survives the process that created it; a missing
// command fails at create; a failure after the gate reaches the starter; the gate's socket is
// 0600, the caller's, outside the container's root, and closed before the command runs.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  defaultSeccompProfile,
  openStartGate,
  openStartGateSync,
  spawn,
  startGateNamespaces,
  type NsboxChild,
  type SpawnOptions,
} from '../../src/index.js';
import { canUserns, isRoot, rootTest, testIf, usernsTest } from '../helpers/env.js';

const rootlessUsernsTest = testIf(canUserns && !isRoot, 'runs as an unprivileged user with user namespaces only');
import { childPids, fdCount, output } from '../helpers/proc.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
let vol: string;
let n = 0;
const gatePath = () => join(dir, `g${n++}.sock`);
const box = (startGate: string, o: SpawnOptions = {}): SpawnOptions => ({
  namespaces: ['user', 'pid', 'mnt'],
  rootfs: 'host',
  mounts: [{ type: 'bind', source: vol, target: '/vol' }],
  startGate,
  ...o,
});

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'scripts/ensure-built.mjs')], { stdio: 'ignore' });
  dir = mkdtempSync(join(tmpdir(), 'nsbox-gate-'));
  vol = join(dir, 'vol');
  mkdirSync(vol);
  chmodSync(vol, 0o777); // the container's root may be an id block's uid
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Until `pred()` holds (a process this test did not make cannot be awaited), at most 5 s. */
async function until(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(pred()).toBe(true);
}

const status = (pid: number, field: string) =>
  readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`))!
    .split(/\s+/)[1];

describe('create, then start', () => {
  usernsTest('spawn returns at the gate, before the command; the start runs it as PID 1', async () => {
    const path = gatePath();
    const marker = join(vol, 'm1');
    const child = spawn('sh', ['-c', 'echo $$; echo ran > /vol/m1'], box(path));
    try {
      expect(child.gated).toBe(true);
      // Not exec'd: still a copy of this process (its cmdline), named by the gate, asleep.
      expect(readFileSync(`/proc/${child.pid}/cmdline`)).toEqual(readFileSync('/proc/self/cmdline'));
      expect(readFileSync(`/proc/${child.pid}/comm`, 'utf8')).toBe('nsbox-gate\n');
      expect(status(child.pid, 'State')).toBe('S');
      expect(existsSync(marker)).toBe(false);
      // The gate: a socket, mode 0600, ours.
      const st = statSync(path);
      expect(st.isSocket()).toBe(true);
      expect(st.mode & 0o777).toBe(0o600);
      expect(st.uid).toBe(process.geteuid!());
      await openStartGate(path);
      expect(existsSync(path)).toBe(false); // one start only
      const r = await output(child);
      expect(r).toMatchObject({ stdout: '1\n', code: 0 });
      expect(readFileSync(marker, 'utf8')).toBe('ran\n');
    } finally {
      child.kill('SIGKILL');
    }
  });

  rootTest('as root without a user namespace', async () => {
    const path = gatePath();
    const child = spawn('sh', ['-c', 'echo $$ $(id -u)'], { namespaces: ['pid', 'mnt'], rootfs: 'host', startGate: path });
    expect(child.gated).toBe(true);
    await openStartGate(path);
    expect(await output(child)).toMatchObject({ stdout: '1 0\n', code: 0 });
  });

  rootTest('after a fork (a joined namespace and a new pid namespace): the grandchild waits at the gate', async () => {
    const path = gatePath();
    const child = spawn('sh', ['-c', 'echo $$'], {
      join: { uts: process.pid },
      namespaces: ['pid', 'mnt'],
      rootfs: 'host',
      startGate: path,
    });
    expect(child.gated).toBe(true);
    expect(readFileSync(`/proc/${child.pid}/comm`, 'utf8')).toBe('nsbox-gate\n');
    await openStartGate(path);
    expect(await output(child)).toMatchObject({ stdout: '1\n', code: 0 });
  });

  usernsTest('without no_new_privs the filter comes before the gate, and the default profile allows the wait', async () => {
    const path = gatePath();
    const child = spawn('sh', ['-c', 'grep ^Seccomp: /proc/self/status'], box(path, { seccomp: defaultSeccompProfile }));
    expect(status(child.pid, 'Seccomp')).toBe('2'); // already filtered while it waits
    await openStartGate(path);
    expect(await output(child)).toMatchObject({ stdout: 'Seccomp:\t2\n', code: 0 });
  });

  usernsTest('with no_new_privs the filter comes after the gate', async () => {
    const path = gatePath();
    const child = spawn('true', [], box(path, { seccomp: defaultSeccompProfile, noNewPrivileges: true }));
    expect(status(child.pid, 'Seccomp')).toBe('0');
    expect(status(child.pid, 'NoNewPrivs')).toBe('1');
    await openStartGate(path);
    expect(await child.exited).toEqual({ code: 0, signal: null });
  });

  rootlessUsernsTest('while it waits, its fds (the gate) and its copy of our memory are out of reach, even for our uid', async () => {
    const path = gatePath();
    const child = spawn('true', [], box(path));
    try {
      expect(() => readdirSync(`/proc/${child.pid}/fd`)).toThrow(expect.objectContaining({ code: 'EACCES' }));
      expect(() => readFileSync(`/proc/${child.pid}/environ`)).toThrow(expect.objectContaining({ code: 'EACCES' }));
      await openStartGate(path);
      expect(await child.exited).toEqual({ code: 0, signal: null });
    } finally {
      child.kill('SIGKILL');
    }
  });

  usernsTest(
    'startGateNamespaces: the waiting process hands over its own namespaces (even to a caller that cannot open them), then still starts',
    async () => {
      const path = gatePath();
      const before = fdCount();
      const child = spawn('sh', ['-c', 'for t in user mnt pid uts; do readlink /proc/self/ns/$t; done'], {
        ...box(path),
        namespaces: ['user', 'pid', 'mnt', 'uts'],
      });
      const fds = fdCount();
      let got: Map<string, { ino: number; close(): void; id: string }> | undefined;
      try {
        got = startGateNamespaces(path, { timeout: 5000 });
        // Ours differ from it in exactly the kinds it made.
        for (const t of ['user', 'mnt', 'pid', 'uts']) expect(got.get(t)!.id).not.toBe(readlinkSync(`/proc/self/ns/${t}`));
        for (const t of ['net', 'ipc', 'cgroup']) expect(got.get(t)!.id).toBe(readlinkSync(`/proc/self/ns/${t}`));
        if (isRoot) for (const t of ['user', 'mnt', 'pid', 'uts']) expect(got.get(t)!.id).toBe(readlinkSync(`/proc/${child.pid}/ns/${t}`));
        else expect(() => readlinkSync(`/proc/${child.pid}/ns/user`)).toThrow(expect.objectContaining({ code: 'EACCES' }));
        expect(fdCount()).toBe(fds + got.size);
        // Asked, it waits on: still the gate, and a start runs the command in those namespaces.
        expect(readFileSync(`/proc/${child.pid}/comm`, 'utf8')).toBe('nsbox-gate\n');
        await openStartGate(path);
        const r = await output(child);
        expect(r.code).toBe(0);
        expect(r.stdout.trim().split('\n')).toEqual(['user', 'mnt', 'pid', 'uts'].map((t) => got!.get(t)!.id));
      } finally {
        for (const ns of got?.values() ?? []) ns.close();
        child.kill('SIGKILL');
      }
      await child.exited;
      expect(fdCount()).toBe(before);
    },
  );

  usernsTest('the gate is closed in the command, and its path is outside the container', async () => {
    const path = gatePath();
    const child = spawn('sh', ['-c', `ls -l /proc/self/fd/; test -e ${path} && echo visible || echo hidden`], box(path));
    await openStartGate(path);
    const r = await output(child);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/socket:/);
    // 0-2 (stdio), and ls's own directory fd: nothing else.
    expect(r.stdout.match(/ \d+ -> /g)?.map((s) => Number(s.split(' ')[1]))).toEqual([0, 1, 2, 3]);
    expect(r.stdout).toMatch(/hidden\n$/);
  });

  for (const how of ['unref', 'exit'] as const) {
    usernsTest(`the container outlives the process that created it (${how})`, async () => {
      const path = gatePath();
      const result = join(vol, `result`);
      rmSync(result, { force: true });
      const out = execFileSync(
        process.execPath,
        [join(root, 'test/helpers/gate-creator.mjs'), join(root, 'dist/index.js'), path, vol, how],
        {
          encoding: 'utf8',
        },
      );
      const [pidText, gated] = out.trim().split(' ');
      const pid = Number(pidText);
      expect(gated).toBe('true');
      // The creator is gone; the container waits, reparented, still at the gate.
      expect(readFileSync(`/proc/${pid}/comm`, 'utf8')).toBe('nsbox-gate\n');
      expect(existsSync(result)).toBe(false);
      await openStartGate(path);
      await until(() => existsSync(result) && readFileSync(result, 'utf8').endsWith('\n'));
      expect(readFileSync(result, 'utf8')).toBe('started as 1\n');
    });
  }

  usernsTest('disown(): a started child that exits is never reaped by us (a zombie left for our subreaper or init)', () => {
    const out = execFileSync(process.execPath, [join(root, 'test/helpers/disown-child.mjs'), join(root, 'dist/index.js'), gatePath()], {
      encoding: 'utf8',
    });
    expect(out).toBe('Z false false\n');
  });

  usernsTest(
    'SIGTERM ends a created container: 128+15 as PID 1 (which ignores signals it has no handler for), by the signal otherwise',
    async () => {
      const path = gatePath();
      const child = spawn('true', [], box(path));
      child.kill('SIGTERM');
      expect(await child.exited).toEqual({ code: 143, signal: null });
      const path2 = gatePath();
      const child2 = spawn('true', [], box(path2, { namespaces: ['user', 'mnt'] }));
      child2.kill('SIGTERM');
      expect(await child2.exited).toEqual({ code: null, signal: 'SIGTERM' });
      // Its socket remains, with nobody listening.
      await expect(openStartGate(path)).rejects.toMatchObject({ code: 'ECONNREFUSED', syscall: 'connect', path });
    },
  );
});

describe('failures', () => {
  usernsTest('a missing command fails at create, as a plain spawn does; nothing is left', () => {
    const path = gatePath();
    const fds = fdCount();
    const kids = childPids().length;
    expect(() => spawn('no-such-command-nsbox', [], box(path))).toThrow(
      expect.objectContaining({ code: 'ENOENT', step: 'exec', syscall: 'execve', path: 'no-such-command-nsbox' }),
    );
    expect(existsSync(path)).toBe(false);
    expect(fdCount()).toBe(fds);
    expect(childPids().length).toBe(kids);
  });

  usernsTest('a step after the gate that fails is reported to the starter (seccomp refusing execve)', async () => {
    const path = gatePath();
    const child = spawn('true', [], {
      ...box(path),
      noNewPrivileges: true,
      seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['execve'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] },
    });
    expect(child.gated).toBe(true); // the filter comes after the gate: it never saw the wait
    await expect(openStartGate(path)).rejects.toMatchObject({ code: 'EPERM', step: 'exec', syscall: 'execve' });
    expect(await child.exited).toEqual({ code: 127, signal: null });
  });

  usernsTest('a filter that kills at execve shows in the exit status (the starter sees the connection close)', async () => {
    const path = gatePath();
    const child = spawn('true', [], {
      ...box(path),
      noNewPrivileges: true,
      seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['execve'], action: 'SCMP_ACT_KILL_PROCESS' }] },
    });
    await openStartGate(path);
    expect(await child.exited).toEqual({ code: null, signal: 'SIGSYS' });
  });

  usernsTest('a second start fails: the path is gone; two racing starts, one wins', async () => {
    const path = gatePath();
    const child = spawn('true', [], box(path));
    await openStartGate(path);
    await expect(openStartGate(path)).rejects.toMatchObject({ code: 'ENOENT', syscall: 'connect', path });
    await child.exited;

    const path2 = gatePath();
    const child2 = spawn('true', [], box(path2));
    const r = await Promise.allSettled([openStartGate(path2), openStartGate(path2), openStartGate(path2)]);
    expect(r.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
    for (const x of r) if (x.status === 'rejected') expect(['ENOENT', 'ECONNREFUSED', 'ECONNRESET']).toContain(x.reason.code);
    expect(await child2.exited).toEqual({ code: 0, signal: null });
  });

  usernsTest(
    "openStartGateSync: the same start without the event loop; returns once the command exec'd; its failures and a second start as openStartGate",
    async () => {
      const fds = fdCount();
      const path = gatePath();
      const child = spawn('sh', ['-c', 'echo $$'], box(path));
      openStartGateSync(path);
      // Returned after the execve: the process is no longer the gated copy of this one.
      expect(readFileSync(`/proc/${child.pid}/comm`, 'utf8')).not.toBe('nsbox-gate\n');
      expect(existsSync(path)).toBe(false);
      expect(() => openStartGateSync(path)).toThrow(
        expect.objectContaining({ code: 'ENOENT', syscall: 'connect', path, hint: expect.stringContaining('not waiting to start') }),
      );
      expect(await output(child)).toMatchObject({ stdout: '1\n', code: 0 });

      const path2 = gatePath();
      const child2 = spawn('true', [], {
        ...box(path2),
        noNewPrivileges: true,
        seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['execve'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] },
      });
      expect(() => openStartGateSync(path2, { timeout: 10_000 })).toThrow(
        expect.objectContaining({ code: 'EPERM', step: 'exec', syscall: 'execve' }),
      );
      expect(await child2.exited).toEqual({ code: 127, signal: null });
      expect(fdCount()).toBe(fds);
    },
  );

  usernsTest(
    'openStartGateSync: a startContainer hook that outlasts the timeout is ETIMEDOUT for the starter; the start stands',
    async () => {
      const path = gatePath();
      const child = spawn('true', [], box(path, { hooks: { startContainer: [{ path: '/bin/sleep', args: ['sleep', '1'] }] } }));
      const t = performance.now();
      expect(() => openStartGateSync(path, { timeout: 100 })).toThrow(expect.objectContaining({ code: 'ETIMEDOUT', syscall: 'read' }));
      expect(performance.now() - t).toBeLessThan(900);
      expect(existsSync(path)).toBe(false);
      expect(await child.exited).toEqual({ code: 0, signal: null });
    },
  );

  test('no container at the path: ENOENT, or ECONNREFUSED for a socket nobody listens on', async () => {
    await expect(openStartGate(join(dir, 'none'))).rejects.toMatchObject({ code: 'ENOENT', syscall: 'connect' });
  });

  usernsTest('an existing path is EEXIST, left as it was', () => {
    const path = gatePath();
    writeFileSync(path, 'mine');
    expect(() => spawn('true', [], box(path))).toThrow(
      expect.objectContaining({ code: 'EEXIST', syscall: 'bind', step: 'start-gate', path }),
    );
    expect(readFileSync(path, 'utf8')).toBe('mine');
  });

  test('bad input fails before any syscall', () => {
    const fds = fdCount();
    const bad = (o: SpawnOptions) => () => spawn('true', [], { namespaces: ['user', 'pid', 'mnt'], ...o });
    expect(bad({ startGate: 'relative.sock' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(bad({ startGate: `/${'x'.repeat(107)}` })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(bad({ startGate: 42 as unknown as string })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(bad({ startGate: join(dir, 'i.sock'), init: true })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(bad({ startGate: join(dir, 'd.sock'), dieWithParent: true })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => openStartGate('rel')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => openStartGate(7 as unknown as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => openStartGate('/x', { signal: AbortSignal.abort() })).toThrow(expect.objectContaining({ code: 'ABORT_ERR' }));
    expect(() => startGateNamespaces('rel')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => startGateNamespaces(join(dir, 'x'), { timeout: -1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => startGateNamespaces(join(dir, 'x'), { timeout: '1' as unknown as number })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => startGateNamespaces(join(dir, 'none'))).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'connect' }));
    expect(() => openStartGateSync('rel')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => openStartGateSync(join(dir, 'x'), { timeout: -1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => openStartGateSync(join(dir, 'x'), { timeout: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => openStartGateSync(join(dir, 'x'), { timeout: '1' as unknown as number })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => openStartGateSync(join(dir, 'none'))).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'connect' }));
    expect(existsSync(join(dir, 'i.sock')) || existsSync(join(dir, 'd.sock'))).toBe(false);
    expect(fdCount()).toBe(fds);
  });

  usernsTest('no fd or child left in this process after create, start and exit', async () => {
    const path = gatePath();
    const warm = spawn('true', [], box(path));
    await openStartGate(path);
    await warm.exited;
    const fds = fdCount();
    const kids = childPids().length;
    const children: NsboxChild[] = [];
    for (let i = 0; i < 5; i++) {
      const p = gatePath();
      const c = spawn('true', [], { ...box(p), stdio: 'ignore' });
      children.push(c);
      await openStartGate(p);
    }
    for (const c of children) expect(await c.exited).toEqual({ code: 0, signal: null });
    expect(fdCount()).toBe(fds);
    expect(childPids().length).toBe(kids);
  });
});
