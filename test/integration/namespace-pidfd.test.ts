// Namespaces joined by pid are pinned by a pidfd: the namespace is the target's (stat of
// /proc/PID/ns/X as witness), a reaped or exited target is ESRCH with nothing left open, and a
// pid reused between the pidfd and the open is refused, never joined. Both ways of taking a
// namespace through the pidfd run: ioctl(PIDFD_GET_*_NAMESPACE) (Linux 6.11+) and the /proc
// file checked afterwards with pidfd_send_signal(2) (forced with forceProcFallback).
import { spawn as cpSpawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { afterEach, describe, expect, test } from 'vitest';
import { K, native } from '../../src/native.js';
import { NAMESPACE_FILES, openNamespace, spawn, SysError, type NamespaceFile, type NsboxChild } from '../../src/index.js';
import { forceProcFallback, nsFdOfPidfd, openPidfd } from '../../src/namespaces/pidfd-ns.js';
import { isRoot, testIf, tools, usernsTest } from '../helpers/env.js';
import { childPids, fdCount, output } from '../helpers/proc.js';

const [kMajor, kMinor] = release().split('.').map(Number) as [number, number];
const hasNsIoctl = kMajor > 6 || (kMajor === 6 && kMinor >= 11);
const MODES = [
  ['ioctl', false],
  ['/proc', true],
] as const;

afterEach(() => forceProcFallback(false));

const inoOf = (pid: number, file: NamespaceFile): number => statSync(`/proc/${pid}/ns/${file}`).ino;

/** A process of ours that has exited and been reaped (by Node): its pid names nothing now. */
async function reapedPid(): Promise<number> {
  const p = cpSpawn('true', { stdio: 'ignore' });
  await once(p, 'exit');
  return p.pid!;
}

/** Spins (synchronously, so nsbox's event loop cannot reap it) until `pid` is a zombie. */
function waitZombie(pid: number): void {
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    if (/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'))) return;
  }
  throw new Error(`pid ${pid} did not become a zombie`);
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe.each(MODES)('joining namespaces by pid (%s)', (_mode, proc) => {
  usernsTest("openNamespace({ pid }) and child.namespace() give the target's namespaces, leaving no fd open", async () => {
    forceProcFallback(proc);
    const holder = spawn('sleep', ['30'], { namespaces: ['user', 'pid', 'net', 'uts', 'ipc', 'mnt', 'cgroup'], stdio: 'ignore' });
    try {
      const fds = fdCount();
      for (const t of NAMESPACE_FILES) {
        let witness: number;
        try {
          witness = inoOf(holder.pid, t);
        } catch {
          continue; // a kind this kernel lacks
        }
        {
          using a = openNamespace(t, { pid: holder.pid });
          using b = holder.namespace(t);
          expect([t, a.ino, b.ino]).toEqual([t, witness, witness]);
        }
      }
      // New namespaces: not ours.
      expect(inoOf(holder.pid, 'net')).not.toBe(statSync('/proc/self/ns/net').ino);
      expect(fdCount()).toBe(fds);
    } finally {
      holder.kill('SIGKILL');
      await holder.exited;
    }
  });

  usernsTest('spawn({ join }) by pid enters the namespaces of that pid', async () => {
    forceProcFallback(proc);
    const holder = spawn('sleep', ['30'], { namespaces: ['user', 'net', 'uts', 'ipc'], hostname: 'pinned', stdio: 'ignore' });
    try {
      const kinds = ['user', 'net', 'uts', 'ipc'] as const;
      const fds = fdCount();
      const r = await output(
        spawn('sh', ['-c', `hostname; ${kinds.map((k) => `stat -L -c %i /proc/self/ns/${k}`).join('; ')}`], {
          join: Object.fromEntries(kinds.map((k) => [k, holder.pid])),
        }),
      );
      const [host, ...inos] = r.stdout.trim().split('\n');
      expect(host).toBe('pinned');
      expect(inos.map(Number)).toEqual(kinds.map((k) => inoOf(holder.pid, k)));
      expect(fdCount()).toBe(fds);
    } finally {
      holder.kill('SIGKILL');
      await holder.exited;
    }
  });

  test('a reaped pid is ESRCH (pidfd_open, with pid and path), for openNamespace and spawn, and nothing leaks', async () => {
    forceProcFallback(proc);
    const pid = await reapedPid();
    const fds = fdCount();
    const kids = childPids().length;
    const err = caught(() => openNamespace('net', { pid }));
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: 'ESRCH', errno: -K.ERRNO.ESRCH, syscall: 'pidfd_open', pid, path: `/proc/${pid}/ns/net` });
    expect(() => spawn('true', { join: { uts: pid, ipc: pid } })).toThrow(expect.objectContaining({ code: 'ESRCH', pid }));
    expect(fdCount()).toBe(fds);
    expect(childPids().length).toBe(kids);
  });

  usernsTest('a target that has exited but is not reaped yet (a zombie) is ESRCH too', async () => {
    forceProcFallback(proc);
    const holder: NsboxChild = spawn('sleep', ['30'], { namespaces: ['user', 'net', 'uts'], stdio: 'ignore' });
    holder.kill('SIGKILL');
    waitZombie(holder.pid);
    const fds = fdCount();
    const byChild = caught(() => holder.namespace('net'));
    const byPid = caught(() => openNamespace('uts', { pid: holder.pid }));
    const fdsAfter = fdCount(); // before the exit is seen, which closes the child's pidfd
    await holder.exited;
    const syscall = proc || !hasNsIoctl ? 'open' : 'ioctl';
    expect(byChild).toMatchObject({ code: 'ESRCH', syscall, pid: holder.pid, path: `/proc/${holder.pid}/ns/net` });
    expect(byPid).toMatchObject({ code: 'ESRCH', syscall, pid: holder.pid });
    expect(fdsAfter).toBe(fds);
  });

  // The pid reused: the pidfd names a process that is gone, while /proc/PID names another one.
  // Here that other one is a live process handed in as the pid (no reuse needed to show it).
  test('a pidfd whose process is gone is ESRCH even when the pid names a live process, and closes what it opened', async () => {
    forceProcFallback(proc);
    const gone = cpSpawn('sleep', ['30'], { stdio: 'ignore' });
    await once(gone, 'spawn');
    const pidfd = openPidfd(gone.pid!, 'net');
    try {
      gone.kill('SIGKILL');
      await once(gone, 'exit'); // reaped by Node
      const fds = fdCount();
      const err = caught(() => nsFdOfPidfd(pidfd, process.pid, 'net'));
      const syscall = proc || !hasNsIoctl ? 'pidfd_send_signal' : 'ioctl';
      expect(err).toMatchObject({ code: 'ESRCH', syscall, pid: process.pid, path: `/proc/${process.pid}/ns/net` });
      expect(fdCount()).toBe(fds);
    } finally {
      native.close(pidfd);
    }
  });
});

testIf(hasNsIoctl, `needs Linux 6.11 (PIDFD_GET_*_NAMESPACE), this is ${release()}`)(
  'ioctl(pidfd, PIDFD_GET_NET_NAMESPACE) answers on this kernel with our namespace',
  () => {
    const pidfd = native.pidfdOpen(process.pid);
    try {
      const fd = native.nsFromPidfd(pidfd, K.PIDFD_GET_NS.net);
      expect(fd).toBeGreaterThanOrEqual(0);
      const [, ino] = native.nsStat(fd);
      native.close(fd);
      expect(ino).toBe(statSync('/proc/self/ns/net').ino);
    } finally {
      native.close(pidfd);
    }
  },
);

// A real reuse, in a pid namespace of our own where ns_last_pid can be set: process A (in a
// uts namespace of its own) is pinned, killed and reaped, then B is made to get A's pid.
// /proc/PID/ns/uts is B's by then; through A's pidfd both ways refuse it.
testIf(isRoot && tools.unshare, 'needs root and unshare(1) (a pid namespace whose ns_last_pid it sets)')(
  'a pid reused after the pidfd was taken is refused (ESRCH), never joined',
  async () => {
    const dist = (p: string) => JSON.stringify(new URL(`../../dist/${p}`, import.meta.url).href);
    const script = `
      import { spawn } from 'node:child_process';
      import { once } from 'node:events';
      import { readdirSync, readlinkSync, writeFileSync } from 'node:fs';
      const { forceProcFallback, nsFdOfPidfd, openPidfd } = await import(${dist('namespaces/pidfd-ns.js')});
      const { native } = await import(${dist('native.js')});
      const fds = () => readdirSync('/proc/self/fd').length;
      const own = readlinkSync('/proc/self/ns/uts');
      const a = spawn('unshare', ['--uts', 'sleep', '1000'], { stdio: 'ignore' });
      const pid = a.pid;
      const end = Date.now() + 5000;
      while (readlinkSync('/proc/' + pid + '/ns/uts') === own && Date.now() < end);
      const out = { aUts: readlinkSync('/proc/' + pid + '/ns/uts') };
      const before = fds();
      const pidfd = openPidfd(pid, 'uts');
      a.kill('SIGKILL');
      await once(a, 'exit');
      writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
      const b = spawn('sleep', ['1000'], { stdio: 'ignore' });
      out.reused = b.pid === pid;
      out.bUts = readlinkSync('/proc/' + pid + '/ns/uts');
      for (const [mode, proc] of [['ioctl', false], ['proc', true]]) {
        forceProcFallback(proc);
        try {
          native.close(nsFdOfPidfd(pidfd, pid, 'uts'));
          out[mode] = 'joined';
        } catch (e) {
          out[mode] = { code: e.code, syscall: e.syscall };
        }
      }
      native.close(pidfd);
      out.leaked = fds() - before;
      b.kill('SIGKILL');
      console.log(JSON.stringify(out));`;
    const p = cpSpawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 20_000,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const [code] = (await once(p, 'exit')) as [number | null];
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out.reused).toBe(true);
    expect(out.bUts).not.toBe(out.aUts); // what a plain open of /proc/PID/ns/uts would have joined
    expect(out.ioctl).toEqual({ code: 'ESRCH', syscall: hasNsIoctl ? 'ioctl' : 'pidfd_send_signal' });
    expect(out.proc).toEqual({ code: 'ESRCH', syscall: 'pidfd_send_signal' });
    expect(out.leaked).toBe(0);
  },
);
