// spawn's `hooks`: createRuntime run by this process, createContainer by the child before
// pivot_root with the host's root (a #! interpreter only the host has), startContainer by the
// child after the start gate, in the container. Each reads its state with the child's pid as
// we see it; each holds no fd of ours; a failure or a timeout (the hook's whole process group
// SIGKILLed) fails the spawn or the start and leaves no child, fd or mount behind.
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
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { openNamespace, openStartGate, spawn, SysError, type SpawnHook, type SpawnOptions } from '../../src/index.js';
import { canUserns, testIf } from '../helpers/env.js';
import { childPids, fdCount, mounts, nsId, output } from '../helpers/proc.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p) && statSync(p).size > 500_000);
const BASH = ['/bin/bash', '/usr/bin/bash'].find((p) => existsSync(p));
const missing =
  BUSYBOX === undefined ? 'no static busybox (Debian busybox-static)' : BASH === undefined ? 'no bash on the host' : undefined;
const hookTest = testIf(canUserns && missing === undefined, missing ?? 'user namespaces cannot be created here');

let dir: string;
let rootfs: string;
let vol: string;
beforeAll(() => {
  execFileSync(process.execPath, [join(repo, 'scripts/ensure-built.mjs')], { stdio: 'ignore' });
  dir = mkdtempSync(join(tmpdir(), 'nsbox-hooks-'));
  chmodSync(dir, 0o755);
  // A busybox root: /bin/sh is busybox's; there is no bash in it.
  rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'proc', 'dev', 'tmp', 'vol']) mkdirSync(join(rootfs, d), { recursive: true });
  if (BUSYBOX) copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  for (const a of ['sh', 'cat', 'echo', 'hostname', 'readlink', 'ls', 'sleep', 'true']) symlinkSync('busybox', join(rootfs, 'bin', a));
  vol = join(dir, 'vol');
  mkdirSync(vol);
  chmodSync(vol, 0o777); // the container's root may be an id block's uid
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A fresh directory under the volume, for one test's files (host path, and /vol/NAME inside). */
function fresh(): { host: string; inside: string } {
  const name = `t${n++}`;
  mkdirSync(join(vol, name));
  chmodSync(join(vol, name), 0o777);
  return { host: join(vol, name), inside: `/vol/${name}` };
}

const box = (o: SpawnOptions = {}): SpawnOptions => ({
  namespaces: ['user', 'mnt', 'uts', 'pid'],
  hostname: 'hooked',
  rootfs,
  defaultMounts: true,
  mounts: [{ type: 'bind', source: vol, target: '/vol' }],
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { PATH: '/bin' },
  ...o,
});

/** A bash script on the host (bash is not in the container's root). */
function hostScript(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!${BASH}\nset -e\n[[ -n "$BASH_VERSION" ]]\n${body}\n`, { mode: 0o755 });
  return p;
}

const nsOf = (file: string) => readFileSync(file, 'utf8').trim().split('\n');
const state = { ociVersion: '1.2.0', id: 'c1', status: 'creating', pid: 0, bundle: '/b' };

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return false;
  }
}

/** What a leak check compares: fds, children, mounts of this process. */
const snapshot = () => ({ fds: fdCount(), children: childPids(), mounts: mounts() });

describe('spawn hooks', () => {
  hookTest(
    'createRuntime, createContainer and startContainer run in order, each where runc runs it, with the pid as we see it',
    async () => {
      for (const lockMounts of [true, false]) {
        const t = fresh();
        const probe = (name: string, at: string) =>
          `{ hostname; for k in mnt user uts pid; do readlink /proc/self/ns/$k; done; } > ${at}/${name}.txt; echo ${name} >> ${at}/order`;
        const hooks = {
          // This process's namespaces and root.
          createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${t.host}/rt.json; ${probe('rt', t.host)}`], state }],
          // The child's namespaces, the host's root: its interpreter is the host's bash, and the
          // container's root shows at its own path with its mounts (/vol is the volume).
          createContainer: [
            {
              path: hostScript(`cc-${n}`, `cat > ${rootfs}${t.inside}/cc.json\n${probe('cc', `${rootfs}${t.inside}`)}`),
              args: ['cc-hook'],
              env: { PATH: '/usr/bin:/bin' },
              state,
            },
          ],
          // The container: its /bin/sh is busybox's.
          startContainer: [
            {
              path: '/bin/sh',
              args: ['sh', '-c', `cat > ${t.inside}/sc.json; ${probe('sc', t.inside)}`],
              state: { ...state, status: 'created' },
            },
          ],
        } satisfies Record<string, SpawnHook[]>;
        writeFileSync(join(t.host, 'order'), '', { mode: 0o666 }); // each hook may be another uid
        chmodSync(join(t.host, 'order'), 0o666);
        const child = spawn(
          'sh',
          ['-c', `${probe('cmd', t.inside)}; while [ ! -e ${t.inside}/stop ]; do sleep 0.05; done`],
          box({ hooks, lockMounts }),
        );
        const done = output(child);
        await until('the command', () => readFileSync(join(t.host, 'order'), 'utf8').endsWith('cmd\n'));
        // The user namespace the command's is nested in (with the lock), while it runs.
        const userns = openNamespace('user', { pid: child.pid });
        const outer = userns.parent();
        const outerId = outer.id;
        outer.close();
        userns.close();
        writeFileSync(join(t.host, 'stop'), '');
        expect(await done, `lockMounts ${lockMounts}`).toMatchObject({ code: 0, stderr: '' });
        expect(readFileSync(join(t.host, 'order'), 'utf8')).toBe('rt\ncc\nsc\ncmd\n');
        for (const [name, status] of [
          ['rt', 'creating'],
          ['cc', 'creating'],
          ['sc', 'created'],
        ])
          expect(JSON.parse(readFileSync(join(t.host, `${name}.json`), 'utf8'))).toEqual({ ...state, status, pid: child.pid });
        const [rtHost, ...rtNs] = nsOf(join(t.host, 'rt.txt'));
        const [ccHost, ccMnt, ccUser, ccUts, ccPid] = nsOf(join(t.host, 'cc.txt'));
        const [scHost, ...scNs] = nsOf(join(t.host, 'sc.txt'));
        const [cmdHost, cmdMnt, cmdUser, cmdUts, cmdPid] = nsOf(join(t.host, 'cmd.txt'));
        // createRuntime: ours.
        expect(rtNs).toEqual(['mnt', 'user', 'uts', 'pid'].map((k) => nsId('self', k)));
        expect(rtHost).not.toBe('hooked');
        // createContainer: the container's uts, pid and (without the lock) mount namespaces.
        expect([ccHost, ccUts, ccPid]).toEqual(['hooked', cmdUts, cmdPid]);
        expect(ccMnt).not.toBe(nsId('self', 'mnt'));
        // Without the lock, its mount and user namespaces too; with it, the command runs in a
        // user and mount namespace nested in the hook's (made after pivot_root, which refuses
        // a locked new root).
        if (!lockMounts) expect([ccMnt, ccUser]).toEqual([cmdMnt, cmdUser]);
        else expect([ccMnt === cmdMnt, ccUser]).toEqual([false, outerId]);
        // startContainer: exactly the command's.
        expect([scHost, ...scNs]).toEqual([cmdHost, cmdMnt, cmdUser, cmdUts, cmdPid]);
        expect(cmdHost).toBe('hooked');
      }
    },
    30_000,
  );

  hookTest(
    'a failing hook fails the spawn with its step, status and stderr, and leaves no child, fd or mount',
    async () => {
      const before = snapshot();
      const fail = { path: '/bin/sh', args: ['sh', '-c', 'echo nope >&2; exit 3'] };
      for (const [kind, path] of [
        ['createRuntime', '/bin/sh'],
        ['createContainer', '/bin/sh'],
        ['startContainer', '/bin/sh'],
      ] as const) {
        let err: unknown;
        try {
          spawn('true', box({ hooks: { [kind]: [{ path: '/bin/true' }, fail] } }));
        } catch (e) {
          err = e;
        }
        expect(err, kind).toBeInstanceOf(SysError);
        expect(err).toMatchObject({ code: 'ECANCELED', syscall: 'wait4', step: `hooks.${kind}[1]`, path, status: 3, stderr: 'nope\n' });
        expect((err as SysError).pid).toBeGreaterThan(0);
      }
      // A program that cannot be executed: execve's errno.
      expect(() => spawn('true', box({ hooks: { createContainer: [{ path: join(dir, 'no-such-hook') }] } }))).toThrow(
        expect.objectContaining({ code: 'ENOENT', syscall: 'execve', step: 'hooks.createContainer[0]', path: join(dir, 'no-such-hook') }),
      );
      await until('the children to be reaped', () => childPids().length === before.children.length);
      expect(snapshot()).toEqual(before);
    },
    30_000,
  );

  hookTest(
    'a hook past its timeout has its whole process group SIGKILLed, and the spawn fails with ETIMEDOUT',
    async () => {
      // createRuntime runs here, and createContainer without a pid namespace of its own: what
      // the hook started in the background would outlive it but for the group kill.
      for (const [kind, o] of [
        ['createRuntime', {}],
        ['createContainer', { namespaces: ['user', 'mnt', 'uts'] }],
      ] as const) {
        const t = fresh();
        const hook = { path: '/bin/sh', args: ['sh', '-c', `sleep 60 & echo $! > ${t.host}/bg; sleep 60`], timeout: 300 };
        const t0 = Date.now();
        let err: SysError | undefined;
        try {
          spawn('true', box({ ...o, hooks: { [kind]: [hook] } }));
        } catch (e) {
          err = e as SysError;
        }
        expect(Date.now() - t0).toBeLessThan(5000);
        expect(err, kind).toMatchObject({
          code: 'ETIMEDOUT',
          errno: -constants.errno.ETIMEDOUT,
          step: `hooks.${kind}[0]`,
          signal: 'SIGKILL',
        });
        const bg = Number(readFileSync(join(t.host, 'bg'), 'utf8'));
        await until(`${kind}'s background sleep to be killed`, () => !alive(bg));
      }
    },
    30_000,
  );

  hookTest(
    'after the start gate: a failing startContainer hook rejects the start, and the command never runs',
    async () => {
      const t = fresh();
      const gate = join(dir, `g${n}.sock`);
      const child = spawn(
        'sh',
        ['-c', `echo ran > ${t.inside}/ran`],
        box({
          startGate: gate,
          dieWithParent: false,
          hooks: { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat; echo late >&2; exit 7'], stdin: 'in' }] },
        }),
      );
      expect(child.gated).toBe(true);
      await expect(openStartGate(gate)).rejects.toMatchObject({
        code: 'ECANCELED',
        step: 'hooks.startContainer[0]',
        status: 7,
        stderr: 'late\n',
      });
      const r = await output(child);
      expect(r.code).toBe(127);
      expect(existsSync(join(t.host, 'ran'))).toBe(false);
    },
    30_000,
  );

  hookTest(
    'a hook holds no fd but its stdio, and cannot read the memory of the process that runs it (a copy of ours)',
    async () => {
      const t = fresh();
      const fds = (at: string, name: string) => `ls -l /proc/self/fd/ > ${at}/${name}.fds`;
      const child = spawn(
        'true',
        box({
          startGate: join(dir, `g${n}.sock`),
          dieWithParent: false,
          hooks: {
            createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', fds(t.host, 'rt')] }],
            createContainer: [{ path: '/bin/sh', args: ['sh', '-c', fds(`${rootfs}${t.inside}`, 'cc')] }],
            // Its runner is the container's PID 1 (its parent), non-dumpable while it runs.
            startContainer: [
              {
                path: '/bin/sh',
                args: [
                  'sh',
                  '-c',
                  `${fds(t.inside, 'sc')}; cat /proc/$PPID/environ > ${t.inside}/environ 2>&1; echo $? $PPID >> ${t.inside}/environ`,
                ],
              },
            ],
          },
        }),
      );
      await openStartGate(join(dir, `g${n}.sock`));
      expect((await output(child)).code).toBe(0);
      for (const name of ['rt', 'cc', 'sc']) {
        // ls's own: 0-2 (pipes, and the redirected file), and 3, the directory it lists, while
        // it lists it (busybox's is closed by then).
        const lines = readFileSync(join(t.host, `${name}.fds`), 'utf8')
          .split('\n')
          .map((l) => / (\d+) -> (.*)$/.exec(l))
          .filter((m) => m !== null);
        expect(
          lines.map((m) => m![1]).filter((fd) => fd !== '3'),
          name,
        ).toEqual(['0', '1', '2']);
        expect(
          lines.filter((m) => m![2]!.startsWith('socket:')),
          name,
        ).toEqual([]);
      }
      const environ = readFileSync(join(t.host, 'environ'), 'utf8');
      expect(environ).toMatch(/Permission denied/);
      expect(environ.trim().split('\n').at(-1)).toBe('1 1');
    },
    30_000,
  );
});
