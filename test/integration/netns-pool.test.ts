// namespacePool against the real kernel: what a pooled network namespace holds (ip/nsenter as
// witnesses), that no namespace is handed out twice, that one run's network is absent from
// the next, and that closing the pool leaves no fd behind.
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { SysError } from '../../src/errors.js';
import { NamespacePool, createNamespace, namespacePool, openNamespace, spawn, type NsboxChild } from '../../src/namespaces/index.js';
import { kFd } from '../../src/namespaces/types.js';
import { canUserns, isRoot, rootlessTest, testIf, tools } from '../helpers/env.js';

const rootIpTest = testIf(isRoot && tools.ip && tools.nsenter, 'needs root, iproute2 and nsenter');
const rootUsernsTest = testIf(isRoot && canUserns && tools.ip, 'needs root, user namespaces and iproute2');

const fdCount = (): number => readdirSync('/proc/self/fd').length;
/** The `net:[INO]` links among this process's fds. */
const netFds = (): string[] =>
  readdirSync('/proc/self/fd')
    .map((f) => {
      try {
        return readlinkSync(`/proc/self/fd/${f}`);
      } catch {
        return '';
      }
    })
    .filter((l) => l.startsWith('net:['));

interface IpLink {
  ifname: string;
  flags: string[];
  addr_info?: Array<{ local: string }>;
}
/** `ip -j addr` in the namespace a handle holds, run by nsenter(1): an independent witness. */
function ipIn(fd: number): IpLink[] {
  const out = execFileSync('nsenter', [`--net=/proc/${process.pid}/fd/${fd}`, 'ip', '-j', 'addr'], { encoding: 'utf8' });
  return JSON.parse(out) as IpLink[];
}

/** Runs `sh -c script` and resolves with its stdout once it exits 0. */
function run(script: string, options: Parameters<typeof spawn>[2]): Promise<string> {
  const child = spawn('/bin/sh', ['-c', script], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  return collect(child);
}
function collect(child: NsboxChild): Promise<string> {
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (err += d));
  return new Promise((resolve, reject) =>
    child.once('close', (code: number | null) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`)))),
  );
}

describe('namespacePool validation (no privileges needed)', () => {
  test('bad options are refused before any syscall: no fd, no thread', () => {
    const fds = fdCount();
    const bad: Array<[unknown, string]> = [
      [undefined, 'ERR_INVALID_ARG_TYPE'],
      [null, 'ERR_INVALID_ARG_TYPE'],
      [{ size: 4 }, 'ERR_INVALID_ARG_TYPE'],
      [{ kind: 'uts', size: 4 }, 'ERR_INVALID_ARG_VALUE'],
      [{ kind: 'user', size: 4 }, 'ERR_INVALID_ARG_VALUE'],
      [{ kind: 'net' }, 'ERR_INVALID_ARG_TYPE'],
      [{ kind: 'net', size: '4' }, 'ERR_INVALID_ARG_TYPE'],
      [{ kind: 'net', size: 0 }, 'ERR_OUT_OF_RANGE'],
      [{ kind: 'net', size: 1.5 }, 'ERR_OUT_OF_RANGE'],
      [{ kind: 'net', size: 1025 }, 'ERR_OUT_OF_RANGE'],
      [{ kind: 'net', size: 2, lo: 'yes' }, 'ERR_INVALID_ARG_TYPE'],
    ];
    const threads = readdirSync('/proc/self/task').length;
    for (const [options, code] of bad) {
      expect(() => namespacePool(options as never), JSON.stringify(options)).toThrow(expect.objectContaining({ code }));
    }
    expect(fdCount()).toBe(fds);
    expect(readdirSync('/proc/self/task').length).toBe(threads);
  });

  test('the constructor is not the way in', () => {
    expect(() => new (NamespacePool as unknown as new (...a: unknown[]) => unknown)(Symbol('x'), 'net', 2, true)).toThrow(
      expect.objectContaining({ code: 'ERR_ILLEGAL_CONSTRUCTOR' }),
    );
  });
});

describe('a pooled network namespace', () => {
  rootIpTest('holds only lo, up, and is not the host namespace', async () => {
    await using pool = namespacePool({ kind: 'net', size: 2 });
    await pool.ready();
    expect(pool.available).toBe(2);
    using ns = pool.take();
    using host = openNamespace('net');
    expect(ns.type).toBe('net');
    expect(ns.equals(host)).toBe(false);
    const links = ipIn(ns[kFd]);
    expect(links.map((l) => l.ifname)).toEqual(['lo']);
    expect(links[0]!.flags).toContain('UP');
    expect(links[0]!.addr_info!.map((a) => a.local)).toContain('127.0.0.1');
  });

  rootIpTest('with lo: false, lo stays down', async () => {
    await using pool = namespacePool({ kind: 'net', size: 1, lo: false });
    await pool.ready();
    using ns = pool.take();
    const links = ipIn(ns[kFd]);
    expect(links.map((l) => l.ifname)).toEqual(['lo']);
    expect(links[0]!.flags).not.toContain('UP');
  });

  rootIpTest('take() from an empty pool makes one at once, as fresh as the pooled ones', async () => {
    await using pool = namespacePool({ kind: 'net', size: 1 });
    // No await: the first take may find the pool still empty; the second certainly does.
    const taken = [pool.take(), pool.take(), pool.take()];
    try {
      const inodes = new Set(taken.map((n) => n.ino));
      expect(inodes.size).toBe(3);
      for (const ns of taken) {
        const links = ipIn(ns[kFd]);
        expect(links.map((l) => l.ifname)).toEqual(['lo']);
        expect(links[0]!.flags).toContain('UP');
      }
    } finally {
      for (const ns of taken) ns.close();
    }
  });

  rootIpTest('no namespace is handed out twice: 40 takes while all are held give 40 namespaces', async () => {
    await using pool = namespacePool({ kind: 'net', size: 8 });
    const taken = [];
    try {
      for (let i = 0; i < 40; i++) {
        taken.push(pool.take());
        if (i % 5 === 0) await new Promise((r) => setTimeout(r, 1)); // let refills land between takes
      }
      // While every handle is open no inode can be reused, so equal inodes would mean one namespace.
      expect(new Set(taken.map((n) => n.ino)).size).toBe(40);
    } finally {
      for (const ns of taken) ns.close();
    }
  });
});

describe('spawn with join: { net: pool }', () => {
  rootUsernsTest('two spawns never share a namespace; each holds only lo (up) and is neither the host one', async () => {
    await using pool = namespacePool({ kind: 'net', size: 4 });
    await pool.ready();
    const opts = { namespaces: ['user', 'pid', 'mnt', 'uts', 'ipc'] as const, join: { net: pool } };
    const a = spawn('/bin/sleep', ['5'], { namespaces: [...opts.namespaces], join: opts.join, stdio: 'ignore' });
    const b = spawn('/bin/sleep', ['5'], { namespaces: [...opts.namespaces], join: opts.join, stdio: 'ignore' });
    try {
      const na = readlinkSync(`/proc/${a.pid}/ns/net`);
      const nb = readlinkSync(`/proc/${b.pid}/ns/net`);
      expect(na).not.toBe(nb);
      expect(na).not.toBe(readlinkSync('/proc/self/ns/net'));
      // The other five are new and the child's own; PID 1 of its pid namespace (no fork).
      for (const t of ['user', 'pid', 'mnt', 'uts', 'ipc'])
        expect(readlinkSync(`/proc/${a.pid}/ns/${t}`)).not.toBe(readlinkSync(`/proc/self/ns/${t}`));
      const nspid = /^NSpid:\s+(.*)$/m
        .exec(execFileSync('cat', [`/proc/${a.pid}/status`], { encoding: 'utf8' }))![1]!
        .trim()
        .split(/\s+/);
      expect(nspid.at(-1)).toBe('1');
    } finally {
      a.kill('SIGKILL');
      b.kill('SIGKILL');
      await Promise.all([new Promise((r) => a.once('exit', r)), new Promise((r) => b.once('exit', r))]);
    }
    const inside = JSON.parse(
      await run('ip -j addr', { namespaces: ['user', 'pid', 'mnt', 'uts', 'ipc'], join: { net: pool } }),
    ) as IpLink[];
    expect(inside.map((l) => l.ifname)).toEqual(['lo']);
    expect(inside[0]!.flags).toContain('UP');
  });

  rootIpTest('what one run set up in its network is absent from the next run', async () => {
    await using pool = namespacePool({ kind: 'net', size: 2 });
    await pool.ready();
    // Root without a user namespace: the command holds CAP_NET_ADMIN over the joined namespace.
    const opts = { namespaces: ['pid', 'mnt', 'uts', 'ipc'] as Array<'pid' | 'mnt' | 'uts' | 'ipc'>, join: { net: pool } };
    const first = await run(
      'ip addr add 10.77.0.1/32 dev lo && ip link add nbxpool0 type bridge && ip link set nbxpool0 up && readlink /proc/self/ns/net',
      opts,
    );
    const second = JSON.parse(await run('ip -j addr', opts)) as IpLink[];
    expect(first.trim()).toMatch(/^net:\[\d+\]$/);
    expect(second.map((l) => l.ifname)).toEqual(['lo']);
    expect(second.flatMap((l) => l.addr_info!.map((a) => a.local))).not.toContain('10.77.0.1');
    // Nor did the host get any of it.
    const host = JSON.parse(execFileSync('ip', ['-j', 'link'], { encoding: 'utf8' })) as IpLink[];
    expect(host.map((l) => l.ifname)).not.toContain('nbxpool0');
  });

  rootIpTest('a failed spawn closes the namespace it took; the pool goes on', async () => {
    await using pool = namespacePool({ kind: 'net', size: 2 });
    await pool.ready();
    // The same failure once without the pool: whatever spawn opens once per process (its
    // /dev/null) is open before counting.
    expect(() => spawn('/nonexistent/nsbox-pool', { namespaces: ['pid', 'mnt'] })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    const fds = fdCount();
    expect(() => spawn('/nonexistent/nsbox-pool', { namespaces: ['pid', 'mnt'], join: { net: pool } })).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'execve' }),
    );
    expect(pool.available).toBe(1);
    // Refilled, the pool holds as many namespaces as before: the taken one's handle is closed
    // (the refill thread may already hold its replacement, so count only once it has landed).
    await pool.ready();
    expect(pool.available).toBe(2);
    expect(fdCount()).toBe(fds);
  });

  test('a closed pool, or a pool under another key, is refused before any syscall', async () => {
    const pool = namespacePool({ kind: 'net', size: 1 });
    expect(() => spawn('/bin/true', { join: { uts: pool as never } })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => spawn('/bin/true', { namespaces: ['net'], join: { net: pool } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    await pool[Symbol.asyncDispose]();
    const fds = fdCount();
    expect(() => spawn('/bin/true', { join: { net: pool } })).toThrow(expect.objectContaining({ code: 'ERR_HANDLE_CLOSED' }));
    expect(() => pool.take()).toThrow(expect.objectContaining({ code: 'ERR_HANDLE_CLOSED' }));
    expect(fdCount()).toBe(fds);
  });
});

describe('closing a pool', () => {
  rootIpTest('close() releases every idle namespace: no nsfs fd is left, and their inodes are gone from this process', async () => {
    const fds = fdCount();
    const before = new Set(netFds());
    const pool = namespacePool({ kind: 'net', size: 6 });
    await pool.ready();
    const pooled = netFds().filter((l) => !before.has(l));
    expect(pooled).toHaveLength(6);
    const taken = pool.take();
    taken.close();
    await pool[Symbol.asyncDispose]();
    expect(pool.closed).toBe(true);
    expect(fdCount()).toBe(fds);
    const after = new Set(netFds());
    for (const l of pooled) expect(after.has(l), l).toBe(false);
    pool.close(); // idempotent
    await expect(pool.ready()).rejects.toMatchObject({ code: 'ERR_HANDLE_CLOSED' });
  });

  rootIpTest('closing while a fill is under way: what the fill thread makes afterwards is closed as it arrives', async () => {
    const fds = fdCount();
    const pool = namespacePool({ kind: 'net', size: 32 });
    await pool[Symbol.asyncDispose]();
    expect(fdCount()).toBe(fds);
    // Sync dispose too.
    {
      using p = namespacePool({ kind: 'net', size: 3 });
      await p.ready();
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(fdCount()).toBe(fds);
  });
});

describe('a pool in a worker thread', () => {
  rootIpTest('a worker that ends or is terminated while its pool fills: the process lives on, no fd is left', () => {
    const url = new URL('../../dist/namespaces/index.js', import.meta.url).href;
    // A process of its own whose main thread never loads nsbox: the worker alone loads the
    // addon, so the worker's end unloads it, and a fill thread still running its code then
    // would crash the process (the environment's cleanup hook stops and joins it first).
    const script = `
      import { Worker } from 'node:worker_threads';
      import { readdirSync } from 'node:fs';
      const fds = () => readdirSync('/proc/self/fd').length;
      // A first worker without nsbox: what Node opens once per process for workers (its
      // /dev/null for their stdio) is open before counting.
      const first = new Worker('0', { eval: true });
      await new Promise((r) => first.once('exit', r));
      const before = fds();
      for (const [how, wait] of [['exit', 0], ['terminate', 0], ['exit', 3], ['terminate', 3], ['dispose', 0]]) {
        const w = new Worker(\`
          import { parentPort } from 'node:worker_threads';
          const { namespacePool } = await import(\${JSON.stringify(${JSON.stringify(url)})});
          const pool = namespacePool({ kind: 'net', size: 64 });
          if ('\${how}' === 'dispose') await pool[Symbol.asyncDispose]();
          parentPort.postMessage('started');
          await new Promise((r) => setTimeout(r, \${wait}));\`, { eval: true, type: 'module' });
        await new Promise((r, j) => { w.once('message', r); w.once('error', j); });
        if (how === 'terminate') await w.terminate();
        else await new Promise((r) => w.once('exit', r));
      }
      console.log(before === fds() ? 'fds ok' : 'fds ' + before + ' -> ' + fds());`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(out.trim()).toBe('fds ok');
  });
});

describe('createNamespace(net) and its rtnetlink socket', () => {
  rootIpTest('the socket made with the namespace is closed with the handle', () => {
    const fds = fdCount();
    const ns = createNamespace('net');
    expect(fdCount()).toBe(fds + 2);
    ns.close();
    expect(fdCount()).toBe(fds);
  });
});

describe('without CAP_SYS_ADMIN', () => {
  rootlessTest('ready() rejects and take() throws EPERM from unshare; nothing is left open', async () => {
    const fds = fdCount();
    const pool = namespacePool({ kind: 'net', size: 2 });
    const err = await pool.ready().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: 'EPERM', syscall: 'unshare' });
    expect(() => pool.take()).toThrow(expect.objectContaining({ code: 'EPERM', syscall: 'unshare' }));
    await pool[Symbol.asyncDispose]();
    expect(fdCount()).toBe(fds);
  });
});
