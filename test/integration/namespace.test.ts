// Namespace handles against the real kernel, with /proc and nsenter/ip as witnesses.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, test } from 'vitest';
import { SysError } from '../../src/errors.js';
import {
  NAMESPACE_FILES,
  Namespace,
  createNamespace,
  openNamespace,
  openNamespacePath,
  persistNamespace,
  unpersistNamespace,
  unshare,
} from '../../src/namespaces/index.js';
import { kFd } from '../../src/namespaces/types.js';
import { rootTest, testIf, tools } from '../helpers/env.js';

const fdCount = (): number => readdirSync('/proc/self/fd').length;
/** The network namespace of every thread of this process (a thread that just ended is skipped). */
const threadNetns = (): string[] =>
  readdirSync('/proc/self/task').flatMap((t) => {
    try {
      return [readlinkSync(`/proc/self/task/${t}/ns/net`)];
    } catch {
      return [];
    }
  });
/** The kept net maker threads (csrc/ns_make.cc names them), by thread id. */
const makers = (): string[] =>
  readdirSync('/proc/self/task').filter((t) => {
    try {
      return readFileSync(`/proc/self/task/${t}/comm`, 'utf8') === 'nsbox-netmaker\n';
    } catch {
      return false; // ended while we looked
    }
  });
const cloexec = (fd: number): boolean => {
  const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!;
  return (parseInt(flags, 8) & 0o2000000) !== 0;
};
// The initial user namespace maps every uid to itself.
const inInitUserns = /^\s*0\s+0\s+4294967295\s*$/.test(readFileSync('/proc/self/uid_map', 'utf8'));
const initUsernsTest = testIf(inInitUserns, 'not in the initial user namespace');
const randomName = (): string => `nsbox-test-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

describe('openNamespace', () => {
  test('net handle is the namespace /proc/self/ns/net names', () => {
    using ns = openNamespace('net');
    const st = statSync('/proc/self/ns/net');
    expect(ns.type).toBe('net');
    expect(ns.ino).toBe(st.ino);
    expect(ns.dev).toBe(st.dev);
    expect(ns.id).toBe(readlinkSync('/proc/self/ns/net'));
    expect(cloexec(ns[kFd])).toBe(true);
  });

  test.each(NAMESPACE_FILES.filter((f) => !f.endsWith('_for_children')))('type and id of %s', (type) => {
    using ns = openNamespace(type);
    expect(ns.type).toBe(type);
    expect(ns.id).toBe(readlinkSync(`/proc/thread-self/ns/${type}`));
  });

  test('pid_for_children and time_for_children open as pid and time namespaces', () => {
    using p = openNamespace('pid_for_children');
    using t = openNamespace('time_for_children');
    expect(p.type).toBe('pid');
    expect(t.type).toBe('time');
    expect(p.ino).toBe(statSync('/proc/self/ns/pid_for_children').ino);
  });

  test('with pid opens /proc/PID/ns/X', () => {
    using a = openNamespace('net', { pid: process.pid });
    using b = openNamespace('net');
    expect(a.equals(b)).toBe(true);
    expect(a).not.toBe(b);
  });

  test('the mnt namespace of a pid equals what stat -L /proc/PID/ns/mnt reports', () => {
    using ns = openNamespace('mnt', { pid: process.pid });
    const ino = Number(execFileSync('stat', ['-L', '-c', '%i', `/proc/${process.pid}/ns/mnt`], { encoding: 'utf8' }).trim());
    expect(ns.ino).toBe(ino);
  });

  // The process is pinned by a pidfd first (test/integration/namespace-pidfd.test.ts).
  test('a pid that does not exist is ESRCH from pidfd_open, with pid and path', () => {
    let err: unknown;
    try {
      openNamespace('net', { pid: 4_194_303 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: 'ESRCH', syscall: 'pidfd_open', pid: 4_194_303, path: '/proc/4194303/ns/net' });
  });
});

describe('Namespace', () => {
  test('equals compares namespaces, not handles', () => {
    using net = openNamespace('net');
    using uts = openNamespace('uts');
    using net2 = openNamespacePath('/proc/self/ns/net');
    expect(net.equals(net2)).toBe(true);
    expect(net.equals(uts)).toBe(false);
  });

  test('userNamespace() of the net namespace is /proc/self/ns/user, O_CLOEXEC', () => {
    using net = openNamespace('net');
    using user = net.userNamespace();
    expect(user.type).toBe('user');
    expect(user.ino).toBe(statSync('/proc/self/ns/user').ino);
    expect(cloexec(user[kFd])).toBe(true);
  });

  // The caller's own user namespace: its parent, if any, is outside the caller's scope.
  test('parent() of the own user namespace is EPERM (ioctl_ns(2))', () => {
    using user = openNamespace('user');
    expect(() => user.parent()).toThrow(expect.objectContaining({ code: 'EPERM', syscall: 'ioctl' }));
    expect(() => user.parent()).toThrow(SysError);
  });

  test('parent() and ownerUid() refuse kinds that have none, before any syscall', () => {
    using net = openNamespace('net');
    expect(() => net.parent()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => net.ownerUid()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  initUsernsTest('ownerUid() of the initial user namespace is 0', () => {
    using user = openNamespace('user');
    expect(user.ownerUid()).toBe(0);
  });

  test('after close() every method throws ERR_HANDLE_CLOSED; close() is idempotent', () => {
    const ns = openNamespace('net');
    const other = openNamespace('net');
    const fd = ns[kFd];
    ns.close();
    ns.close();
    other.close();
    expect(ns.closed).toBe(true);
    expect(ns.id).toMatch(/^net:\[\d+\]$/);
    const closed = expect.objectContaining({ code: 'ERR_HANDLE_CLOSED' });
    expect(() => ns[kFd]).toThrow(closed);
    expect(() => ns.equals(other)).toThrow(closed);
    expect(() => ns.userNamespace()).toThrow(closed);
    expect(() => ns.parent()).toThrow(closed);
    expect(() => ns.ownerUid()).toThrow(closed);
    // the fd really is closed (or reused by someone else, never still our nsfs file)
    let target = '';
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      target = 'closed';
    }
    expect(target).not.toBe(readlinkSync('/proc/self/ns/net'));
  });

  test('cannot be constructed directly', () => {
    const Ctor = Namespace as unknown as new (...a: unknown[]) => Namespace;
    expect(() => new Ctor(Symbol('x'), 0)).toThrow(TypeError);
  });

  test('200 opens and closes leave the fd count unchanged', () => {
    const before = fdCount();
    for (let i = 0; i < 200; i++) {
      const ns = openNamespace('net');
      const user = ns.userNamespace();
      user.close();
      ns.close();
    }
    expect(fdCount()).toBe(before);
  });
});

test('a leaked handle: GC closes its fd and emits an NsboxWarning', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  // The leak is this test's own: catch its warning here instead of letting Node's default
  // 'warning' listener print it in the middle of a passing run.
  const printers = process.listeners('warning');
  for (const l of printers) process.off('warning', l);
  process.on('warning', onWarning);
  try {
    const { fd, id } = (() => {
      const ns = openNamespace('net');
      return { fd: ns[kFd], id: ns.id };
    })();
    expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe(id);
    for (let i = 0; i < 50 && warnings.length === 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(warnings).toContainEqual(expect.objectContaining({ name: 'NsboxWarning', code: 'NSBOX_LEAKED_HANDLE' }));
    expect(warnings[0]!.message).toContain(id);
    let now = 'closed';
    try {
      now = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      // ENOENT: closed
    }
    expect(now).not.toBe(id);
  } finally {
    process.off('warning', onWarning);
    for (const l of printers) process.on('warning', l);
  }
});

test('a closed handle is not reported as leaked', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  try {
    (() => openNamespace('uts').close())();
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(warnings.filter((w) => (w as { code?: string }).code === 'NSBOX_LEAKED_HANDLE')).toEqual([]);
  } finally {
    process.off('warning', onWarning);
  }
});

describe('openNamespacePath', () => {
  test('a file that is not a namespace is ERR_INVALID_ARG_VALUE and leaks no fd', () => {
    const before = fdCount();
    expect(() => openNamespacePath('/proc/self/status')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => openNamespacePath('/proc/self')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(fdCount()).toBe(before);
  });

  test('a missing file is ENOENT with the path', () => {
    expect(() => openNamespacePath('/nonexistent/nsbox')).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'stat', path: '/nonexistent/nsbox' }),
    );
  });
});

describe('createNamespace', () => {
  // testIf's skipped form has no .each: one registered test per kind instead.
  for (const type of ['net', 'uts', 'ipc', 'cgroup', 'mnt'] as const) {
    rootTest(`${type}: a new namespace, the thread unchanged`, () => {
      const mine = readlinkSync(`/proc/thread-self/ns/${type}`);
      using ns = createNamespace(type);
      expect(ns.type).toBe(type);
      expect(ns.id).not.toBe(mine);
      expect(readlinkSync(`/proc/thread-self/ns/${type}`)).toBe(mine);
      expect(cloexec(ns[kFd])).toBe(true);
    });
  }

  rootTest("net: the kept maker thread goes back to the caller's namespace after each call and keeps none it made", () => {
    const mine = readlinkSync('/proc/thread-self/ns/net');
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      using ns = createNamespace('net');
      ids.push(ns.id);
    }
    expect(new Set(ids).size).toBe(20);
    // One maker, kept for the environment (by its name: Node's own threads come and go), and
    // every thread is in the caller's namespace: none holds a namespace it made once closed.
    expect(makers()).toHaveLength(1);
    expect(threadNetns().filter((n) => n !== mine)).toEqual([]);
    // The caller moves (unshare on this thread) and makes one there: the maker follows it, and
    // leaves that namespace again with the next call made from home.
    const moved = unshare(['net']);
    let away: string;
    try {
      away = readlinkSync('/proc/thread-self/ns/net');
      using ns = createNamespace('net');
      expect(ns.id).not.toBe(away);
    } finally {
      moved.restore();
    }
    expect(readlinkSync('/proc/thread-self/ns/net')).toBe(mine);
    createNamespace('net').close();
    expect(threadNetns().filter((n) => n !== mine)).toEqual([]);
  });

  rootTest("net: a worker's maker thread ends with the worker", async () => {
    const url = new URL('../../dist/namespaces/index.js', import.meta.url).href;
    const { Worker } = await import('node:worker_threads');
    // The kept makers (named nsbox-netmaker) by thread id: the worker's is the one that was not
    // there before it. (Counting every task saw Node's own threads come and go; and a worker
    // with nothing left to do ended by itself, its maker with it, before it was looked at.)
    const before = new Set(makers());
    const w = new Worker(
      `const { createNamespace } = await import(${JSON.stringify(url)});
       for (let i = 0; i < 3; i++) createNamespace('net').close();
       (await import('node:worker_threads')).parentPort.postMessage('done');
       setInterval(() => {}, 1000); // alive until terminate(): else it may end (and its maker) first`,
      { eval: true, type: 'module' } as never,
    );
    await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    const its = makers().filter((t) => !before.has(t));
    expect(its).toHaveLength(1);
    // terminate() resolves once the worker's environment is torn down, its cleanup hooks
    // (which stop and join the maker) included.
    await w.terminate();
    expect(its.filter((t) => existsSync(`/proc/self/task/${t}`))).toEqual([]);
  });

  test.each(['user', 'pid', 'time'])('%s is ERR_NSBOX_THREAD_NAMESPACE', (type) => {
    expect(() => createNamespace(type as 'net')).toThrow(expect.objectContaining({ code: 'ERR_NSBOX_THREAD_NAMESPACE' }));
  });

  testIf(tools.nsenter && tools.ip && process.geteuid!() === 0, 'needs root, nsenter and ip')(
    'a new net namespace has only lo (nsenter into its persisted path)',
    () => {
      const path = `/tmp/${randomName()}`;
      using ns = createNamespace('net');
      persistNamespace(ns, path);
      try {
        const links = JSON.parse(execFileSync('nsenter', [`--net=${path}`, 'ip', '-j', 'link'], { encoding: 'utf8' })) as {
          ifname: string;
        }[];
        expect(links.map((l) => l.ifname)).toEqual(['lo']);
        const inside = execFileSync('nsenter', [`--net=${path}`, 'readlink', '/proc/self/ns/net'], { encoding: 'utf8' }).trim();
        expect(inside).toBe(ns.id);
      } finally {
        unpersistNamespace(path);
      }
    },
  );
});
