// The calling thread's namespaces. Witnesses: /proc/thread-self read synchronously (this JS
// thread) and through fs.promises (a libuv pool thread), and /proc/self/task/*/ns.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { closeSync, openSync, promises, readdirSync, readlinkSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { SysError } from '../../src/errors.js';
import { createNamespace, openNamespace, setns, unshare, withNamespaces } from '../../src/namespaces/index.js';
import { NAMESPACE_TYPES, kFd } from '../../src/namespaces/types.js';
import { K, native } from '../../src/native.js';
import { createNetns, deleteNetns, links } from '../../src/net/index.js';
import { isRoot, rootTest, testIf, tools } from '../helpers/env.js';

const here = (t: string): string => readlinkSync(`/proc/thread-self/ns/${t}`);
const fdCount = (): number => readdirSync('/proc/self/fd').length;
const snapshot = (): Record<string, string> => Object.fromEntries(NAMESPACE_TYPES.map((t) => [t, here(t)]));
const original = snapshot();

afterEach(() => {
  // Every test must leave this thread where it started; a failure here names the culprit.
  expect(snapshot()).toEqual(original);
});

describe('unshare', () => {
  rootTest("net: this thread moves, libuv's pool thread does not; restore() moves back", async () => {
    const before = here('net');
    const r = unshare(['net']);
    try {
      expect(here('net')).not.toBe(before);
      // fs.promises runs readlink on a libuv pool thread, whose /proc/thread-self is its own.
      expect(await promises.readlink('/proc/thread-self/ns/net')).toBe(before);
      // Every other thread of the process (libuv pool, V8 platform workers) stays put.
      const tid = readlinkSync('/proc/thread-self').split('/').pop();
      const others = readdirSync('/proc/self/task').filter((t) => t !== tid);
      expect(others.length).toBeGreaterThan(0);
      for (const t of others) expect(readlinkSync(`/proc/self/task/${t}/ns/net`)).toBe(before);
      expect(r.types).toEqual(['net']);
      expect(r.restored).toBe(false);
    } finally {
      r.restore();
    }
    expect(here('net')).toBe(before);
    expect(r.restored).toBe(true);
    r.restore(); // idempotent
    expect(here('net')).toBe(before);
  });

  rootTest('worker threads: one started before stays, one started while moved inherits the new namespace', async () => {
    // A new thread inherits its creator's namespaces (clone(2) CLONE_THREAD shares nsproxy).
    const code =
      "const { parentPort } = require('node:worker_threads'); const { readlinkSync } = require('node:fs');" +
      "parentPort.on('message', () => parentPort.postMessage(readlinkSync('/proc/thread-self/ns/net')));";
    const ask = async (w: Worker): Promise<string> => {
      w.postMessage('?');
      return ((await once(w, 'message')) as [string])[0];
    };
    const before = here('net');
    const early = new Worker(code, { eval: true });
    let late: Worker | undefined;
    try {
      expect(await ask(early)).toBe(before);
      const r = unshare(['net']);
      let moved: string;
      try {
        moved = here('net');
        late = new Worker(code, { eval: true });
        await once(late, 'online');
      } finally {
        r.restore();
      }
      expect(moved).not.toBe(before);
      expect(await ask(early)).toBe(before);
      expect(await ask(late)).toBe(moved); // still there after this thread's restore()
    } finally {
      await early.terminate();
      await late?.terminate();
    }
  });

  rootTest('net+uts+ipc+cgroup at once, all undone by using', () => {
    const before = snapshot();
    {
      using _r = unshare(['net', 'uts', 'ipc', 'cgroup']);
      for (const t of ['net', 'uts', 'ipc', 'cgroup']) expect(here(t)).not.toBe(before[t]);
      expect(here('mnt')).toBe(before.mnt);
    }
    expect(snapshot()).toEqual(before);
  });

  test.each(['user', 'mnt', 'pid', 'time'])('%s is ERR_NSBOX_THREAD_NAMESPACE and nothing changes', (type) => {
    const before = snapshot();
    const fds = fdCount();
    let err: unknown;
    try {
      unshare([type as 'net']);
    } catch (e) {
      err = e;
    }
    expect(err).not.toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: 'ERR_NSBOX_THREAD_NAMESPACE' });
    expect((err as Error).message).toContain('spawn()');
    expect(snapshot()).toEqual(before);
    expect(fdCount()).toBe(fds);
  });

  test('a refused kind next to an allowed one changes nothing', () => {
    expect(() => unshare(['net', 'user'] as never)).toThrow(expect.objectContaining({ code: 'ERR_NSBOX_THREAD_NAMESPACE' }));
  });

  rootTest('200 unshare/restore cycles leave the fd count unchanged', () => {
    const fds = fdCount();
    for (let i = 0; i < 200; i++) unshare(['uts']).restore();
    expect(fdCount()).toBe(fds);
  });
});

// libuv starts its pool lazily, from the thread that first queues work, and new threads
// inherit their creator's namespaces. In a fresh CommonJS process nothing has used the pool
// yet, so without care the pool would be born inside the unshared namespace and stay there.
rootTest("createNamespace('net') and a socket in a namespace leave this thread where it was, moved or not", async () => {
  const check = async (): Promise<void> => {
    const at = here('net');
    const ns = createNamespace('net');
    try {
      expect(here('net')).toBe(at);
      expect(`net:[${ns.ino}]`).not.toBe(at);
      // links() opens its socket in ns (on a dedicated thread).
      expect((await links({ netns: ns })).map((l) => l.name)).toEqual(['lo']);
      expect(here('net')).toBe(at);
    } finally {
      ns.close();
    }
  };
  await check();
  const r = unshare(['net']);
  try {
    await check();
  } finally {
    r.restore();
  }
});

rootTest('the libuv pool is started before the first unshare, so it never lives in the new namespace', () => {
  {
    // require() of the ESM build (Node >= 20.19) loads it synchronously, so nothing has
    // queued pool work before unshare runs.
    const entry = join(process.cwd(), 'dist/index.js');
    const script = `
      const { unshare } = require(${JSON.stringify(entry)});
      const { readlinkSync, promises } = require('node:fs');
      const before = readlinkSync('/proc/thread-self/ns/net');
      const r = unshare(['net']);
      const moved = readlinkSync('/proc/thread-self/ns/net');
      promises.readlink('/proc/thread-self/ns/net').then((pool) => {
        r.restore();
        console.log(JSON.stringify({ before, moved, pool }));
      });`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as Record<string, string>;
    expect(out.moved).not.toBe(out.before);
    expect(out.pool).toBe(out.before);
  }
});

describe('setns', () => {
  rootTest('enters a namespace made elsewhere; restore() goes back', async () => {
    using target = createNamespace('net');
    const before = here('net');
    const r = setns(target);
    try {
      expect(here('net')).toBe(target.id);
      expect(await promises.readlink('/proc/thread-self/ns/net')).toBe(before);
    } finally {
      r.restore();
    }
    expect(here('net')).toBe(before);
  });

  rootTest('a failing second setns moves the thread back out of the first', () => {
    using net = createNamespace('net');
    const bogus = openNamespace('uts');
    // Swap the handle's fd for a file setns(2) rejects (EINVAL): close(2) frees the number and
    // open(2) returns the lowest free one, so the handle now points at /proc/self/status.
    const fd = bogus[kFd];
    closeSync(fd);
    const status = openSync('/proc/self/status', 'r');
    try {
      expect(status).toBe(fd);
      const before = snapshot();
      let err: unknown;
      try {
        setns([net, bogus]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SysError);
      expect(err).toMatchObject({ code: 'EINVAL', syscall: 'setns' });
      expect(snapshot()).toEqual(before);
    } finally {
      bogus.close(); // closes `status`
    }
  });

  test('refused kinds, closed handles and duplicates throw before any syscall', () => {
    using user = openNamespace('user');
    using mnt = openNamespace('mnt');
    using a = openNamespace('net');
    using b = openNamespace('net');
    const closed = openNamespace('uts');
    closed.close();
    expect(() => setns(user)).toThrow(expect.objectContaining({ code: 'ERR_NSBOX_THREAD_NAMESPACE' }));
    expect(() => setns([mnt])).toThrow(expect.objectContaining({ code: 'ERR_NSBOX_THREAD_NAMESPACE' }));
    expect(() => setns([a, b])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => setns([closed])).toThrow(expect.objectContaining({ code: 'ERR_HANDLE_CLOSED' }));
    expect(() => setns([])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => setns('net' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});

describe('withNamespaces', () => {
  rootTest('runs fn inside, returns its result, restores after', () => {
    using target = createNamespace('uts');
    const before = here('uts');
    const seen = withNamespaces(target, () => here('uts'));
    expect(seen).toBe(target.id);
    expect(here('uts')).toBe(before);
  });

  rootTest('restores when fn throws', () => {
    using target = createNamespace('net');
    const boom = new Error('boom');
    expect(() =>
      withNamespaces([target], () => {
        expect(here('net')).toBe(target.id);
        throw boom;
      }),
    ).toThrow(boom);
  });

  testIf(isRoot && tools.ip, 'needs root and iproute2')('a server listening inside fn stays in that namespace', async () => {
    const name = `nsbox-test-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    const ns = createNetns(name);
    try {
      const server = withNamespaces(ns, () => createServer().listen(0));
      await once(server, 'listening');
      const port = (server.address() as AddressInfo).port;
      const inside = execFileSync('ip', ['netns', 'exec', name, 'ss', '-Htln'], { encoding: 'utf8' });
      const outside = execFileSync('ss', ['-Htln'], { encoding: 'utf8' });
      server.close();
      expect(inside).toContain(`:${port} `);
      expect(outside).not.toMatch(new RegExp(`:${port}\\s`));
    } finally {
      ns.close();
      deleteNetns(name);
    }
  });

  rootTest('async work in fn runs after the restore (documented)', async () => {
    using target = createNamespace('net');
    const before = here('net');
    const p = withNamespaces(target, async () => {
      const inside = here('net');
      await Promise.resolve();
      return [inside, here('net')];
    });
    expect(await p).toEqual([target.id, before]);
  });
});

const EUSERS = 87;

// Why nsbox refuses these kinds on a thread: the kernel's own answers, asked directly.
describe('kernel behaviour behind ERR_NSBOX_THREAD_NAMESPACE', () => {
  test('unshare(CLONE_NEWUSER) in this multi-threaded process is EINVAL', () => {
    expect(() => native.unshareThread(K.CLONE_NEWUSER)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'unshare' }));
  });

  rootTest('setns into a mount namespace from one thread is EINVAL (shared fs_struct)', () => {
    using mnt = createNamespace('mnt');
    expect(() => native.setnsThread(mnt[kFd], K.CLONE_NEWNS)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'setns' }));
  });

  rootTest('a pid namespace unshared on a thread cannot be opened before it has a process (ENOENT)', () => {
    expect(() => native.nsCreate(K.CLONE_NEWPID, 'pid_for_children')).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'open', path: '/proc/thread-self/ns/pid_for_children' }),
    );
  });

  rootTest('setns into a time namespace from one thread is EUSERS', () => {
    const fd = native.nsCreate(K.CLONE_NEWTIME, 'time_for_children');
    try {
      // Neither libuv nor os.constants name EUSERS: 87 in asm-generic/errno.h (x86-64, arm64).
      expect(() => native.setnsThread(fd, K.CLONE_NEWTIME)).toThrow(expect.objectContaining({ errno: -EUSERS, syscall: 'setns' }));
    } finally {
      native.close(fd);
    }
  });
});
