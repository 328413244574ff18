// nsbox/testing against the real kernel: what a function run by runIsolated/inNamespaces sees
// (PID 1, only lo, the hostname asked for), what comes back (results, a SysError intact), that
// a hung one is killed at its timeout and gone, and that the fixtures leave nothing — fd,
// netns, link, cgroup, mount, process — after a passing and after a failing test (vitest's own
// `test.fails`, and a node:test file that fails on purpose, run in its own process). Witnesses:
// /proc (NSpid, net/dev, fds, children), the cgroupfs, mountinfo, the namespaces' inodes.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, onTestFinished, test } from 'vitest';
import { SysError } from '../../src/index.js';
import { link, links } from '../../src/net/index.js';
import {
  inNamespaces,
  type IsolatedError,
  runIsolated,
  skipReason,
  skipUnless,
  useCgroup,
  useMountns,
  useNetns,
  useVeth,
} from '../../src/testing/index.js';
import { mountTmpfs } from '../../src/fs/index.js';
import { parseBlocks } from '../helpers/doc-examples.mjs';
import { childPids, fdCount, mounts } from '../helpers/proc.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fns = new URL('../helpers/isolated-fns.mjs', import.meta.url);
const usernsTest = skipUnless(test, 'userns');
const netnsTest = skipUnless(test, 'netns');
const mountnsTest = skipUnless(test, 'mountns');
const cgroupTest = skipUnless(test, 'cgroup');
const allFixtures = skipUnless(test, 'netns', 'mountns', 'cgroup');

const nsRef = (pid: number | 'self', t: string) => readlinkSync(`/proc/${pid}/ns/${t}`);

describe('runIsolated / inNamespaces', () => {
  usernsTest('inside: PID 1, only lo (up) in its own network namespace, the hostname given, uid 0', async () => {
    const r = await runIsolated<() => Promise<Record<string, unknown>>>(fns, 'probe', [], { hostname: 'isolated-box' });
    expect(r).toMatchObject({ pid: 1, ppid: 0, uid: 0, hostname: 'isolated-box', links: ['lo'], dev: ['lo'] });
    expect(String(r.ns).split(/\s+/).at(-1)).toBe('1'); // NSpid: the last (innermost) is 1
    const inline = await inNamespaces({ hostname: 'inline' }, async () => {
      const { hostname } = await import('node:os');
      const { readlinkSync } = await import('node:fs');
      return { pid: process.pid, hostname: hostname(), net: readlinkSync('/proc/self/ns/net') };
    });
    expect(inline).toMatchObject({ pid: 1, hostname: 'inline' });
    expect(inline.net).not.toBe(nsRef('self', 'net'));
  });

  usernsTest('arguments and result cross as structured clones; a default export and inline args', async () => {
    const value = { n: 1, s: 'x', big: 2n ** 70n, nested: [null, undefined, { deep: true }] };
    const r = await runIsolated(fns, 'echo', [value]);
    expect(r).toEqual({
      value,
      map: new Map([['k', 1n]]),
      date: new Date(0),
      bytes: new Uint8Array([1, 2, 3]),
      set: new Set(['a']),
    });
    expect(await runIsolated(fileURLToPath(fns), 'default', [2, 3])).toBe(5);
    expect(await inNamespaces({}, (a: number, b: string) => `${a}:${b}`, 7, 'y')).toBe('7:y');
    // Bigger than a pipe's buffer both ways: written as the other side reads.
    const big = await inNamespaces({}, (b: Uint8Array) => b.map((x) => x + 1), new Uint8Array(4 << 20).fill(1));
    expect([big.length, big[0], big.at(-1)]).toEqual([4 << 20, 2, 2]);
  });

  usernsTest('a SysError thrown inside comes back a SysError with code, errno, syscall, path and both stacks', async () => {
    const missing = `/nonexistent-${process.pid}`;
    const err = await runIsolated(fns, 'mountMissing', [missing], { namespaces: ['user', 'mnt'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'mount', path: 'tmpfs', dest: missing });
    expect((err as Error).name).toBe('SysError');
    const stack = (err as Error).stack!;
    expect(stack).toMatch(/isolated-fns\.mjs/); // the child's frames
    expect(stack).toMatch(/testing\.test\.ts/); // then the caller's
    // Other errors keep their class (built-ins), name and own properties; non-errors come back as they are.
    const typed = await inNamespaces({}, () => {
      throw Object.assign(new RangeError('too far'), { code: 'ERR_X', extra: [1] });
    }).catch((e: unknown) => e);
    expect(typed).toBeInstanceOf(RangeError);
    expect(typed).toMatchObject({ message: 'too far', code: 'ERR_X', extra: [1] });
    const custom = await inNamespaces({}, () => {
      class MyError extends Error {
        override name = 'MyError';
      }
      throw new MyError('mine', { cause: new TypeError('under') });
    }).catch((e: unknown) => e);
    expect(custom).toMatchObject({ name: 'MyError', message: 'mine' });
    expect((custom as Error).cause).toBeInstanceOf(TypeError);
    await expect(
      inNamespaces({}, () => {
        throw 42;
      }),
    ).rejects.toBe(42);
  });

  usernsTest('a hung function is killed at its timeout, with everything it started, and reaped before the call rejects', async () => {
    const fds = fdCount();
    const started = Date.now();
    const err = (await runIsolated(fns, 'hangWithChild', [], { timeout: 1500 }).catch((e: unknown) => e)) as IsolatedError;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(err).toMatchObject({ code: 'ERR_NSBOX_ISOLATED_FAILED', timedOut: true, signal: 'SIGKILL', status: null });
    expect(existsSync(`/proc/${err.pid}`)).toBe(false); // reaped, not a zombie
    expect(childPids()).toEqual([]);
    // The grandchild (a sleep in the same pid namespace) died with its PID 1: no `sleep 1000` anywhere.
    const sleepers = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\u00001000\u0000';
        } catch {
          return false;
        }
      });
    expect(sleepers).toEqual([]);
    expect(fdCount()).toBe(fds);
  });

  usernsTest(
    'an AbortSignal kills the process (ABORT_ERR); an exit without a result is ERR_NSBOX_ISOLATED_FAILED with stderr',
    async () => {
      const ac = new AbortController();
      const p = runIsolated(fns, 'hang', [], { signal: ac.signal });
      setTimeout(() => ac.abort(), 300);
      await expect(p).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
      expect(childPids()).toEqual([]);
      const err = (await inNamespaces({ output: 'pipe' }, () => {
        process.stderr.write('about to exit\n');
        process.exit(3);
      }).catch((e: unknown) => e)) as IsolatedError;
      expect(err).toMatchObject({ code: 'ERR_NSBOX_ISOLATED_FAILED', status: 3, signal: null, timedOut: false, stderr: 'about to exit\n' });
    },
  );

  skipUnless(
    test,
    'root',
    'userns',
  )('as root, the function is root mapped to 0: it reads a module in a 0700 directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsbox-private-')); // mode 0700, owner root
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'm.mjs'), 'export const ids = () => [process.getuid(), process.getgid()];\n');
    expect(await runIsolated(join(dir, 'm.mjs'), 'ids', [])).toEqual([0, 0]);
    const map = await inNamespaces({}, async () =>
      (await import('node:fs')).readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/),
    );
    expect(map).toEqual(['0', '0', '1']);
  });

  test('bad arguments are refused before anything starts', async () => {
    const before = childPids();
    await expect(runIsolated('relative.mjs', 'x', [])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(runIsolated(fns, 'x', 'no' as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(inNamespaces({ stdio: 'inherit' } as never, () => 1)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(inNamespaces({ timeout: -1 }, () => 1)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(inNamespaces({}, Math.max)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    const method = { m() {} }.m;
    await expect(inNamespaces({}, method)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    const notCloneable = () => 2; // a function is no structured-clone data
    await expect(inNamespaces({}, (f: () => number) => f, notCloneable)).rejects.toThrow(/could not be cloned/);
    await expect(inNamespaces({ signal: AbortSignal.abort() }, () => 1)).rejects.toMatchObject({ code: 'ABORT_ERR' });
    expect(childPids()).toEqual(before);
  });

  usernsTest('fds: none left after many calls, whatever they ended with', async () => {
    await inNamespaces({}, () => 0); // warm: the addon's own fds
    const fds = fdCount();
    for (let i = 0; i < 5; i++) {
      await inNamespaces({}, (n: number) => n, i);
      await inNamespaces({}, () => {
        throw new Error('x');
      }).catch(() => {});
    }
    expect(fdCount()).toBe(fds);
  });

  usernsTest('a worker thread can run functions isolated and use the fixtures', async () => {
    const dist = pathToFileURL(join(root, 'dist/testing/index.js')).href;
    const w = new Worker(
      `(async () => {
        const { parentPort } = require('node:worker_threads');
        const { inNamespaces, useNetns, skipReason } = await import(${JSON.stringify(dist)});
        const pid = await inNamespaces({}, () => process.pid);
        let lo = null;
        if (!skipReason('netns')) {
          const ns = await useNetns();
          lo = (await ns.links()).map((l) => l.name + ':' + l.up);
          await ns.remove();
        }
        parentPort.postMessage({ pid, lo });
      })();`,
      { eval: true },
    );
    const msg = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
    expect(msg).toEqual({ pid: 1, lo: skipReason('netns') ? null : ['lo:true'] });
  });
});

describe('fixtures', () => {
  netnsTest('useNetns: a fresh namespace, only lo and up, bound netlink calls; gone after the test', async () => {
    const ns = await useNetns(onTestFinished);
    expect((await ns.links()).map((l) => [l.name, l.up])).toEqual([['lo', true]]);
    expect(await links()).not.toEqual(await ns.links());
    await ns.addLink({ kind: 'veth', name: 'tv0', peer: { name: 'tv1' } });
    await ns.setLink('tv0', { up: true });
    await ns.addAddress('tv0', '10.252.0.1/24');
    expect((await ns.addresses()).map((a) => a.address)).toContain('10.252.0.1');
    await expect(link('tv0')).rejects.toMatchObject({ code: 'ENODEV' }); // not on the host
  });

  netnsTest('useVeth: the pair joins two namespaces; a peer moved keeps its MAC', async () => {
    const v = await useVeth(onTestFinished, { addresses: ['10.253.0.1/30', '10.253.0.2/30'] });
    const a = await v.a.link(v.name);
    const b = await v.b.link(v.peerName);
    expect([a.kind, b.kind, a.up, b.up]).toEqual(['veth', 'veth', true, true]);
    expect((await v.b.addresses()).map((x) => x.address)).toContain('10.253.0.2');
    const c = await useNetns(onTestFinished);
    await v.b.setLink(v.peerName, { netns: c.namespace });
    expect((await c.link(v.peerName)).mac).toBe(b.mac);
  });

  mountnsTest('useMountns: a private scratch tmpfs; mounts there never reach the host', async () => {
    const m = await useMountns(onTestFinished);
    mountTmpfs(`${m.path}`, { namespace: m.namespace, size: '1M' });
    expect(mounts()).not.toContain(m.path); // (other suites on this machine mount meanwhile: no equality)
    expect(readdirSync(m.path)).toEqual([]); // outside: the empty directory
  });

  cgroupTest('useCgroup: a cgroup under the delegated parent, processes in it killed at removal', async () => {
    const cg = await useCgroup(onTestFinished);
    expect(existsSync(cg.directory)).toBe(true);
    const inside = await inNamespaces({ cgroup: cg }, async () => (await import('node:fs')).readFileSync('/proc/self/cgroup', 'utf8'));
    expect(inside).toContain(cg.path);
  });

  // vitest's own failing test: the fixtures made in it are removed all the same (next test checks).
  const made: { cgroup?: string; scratch?: string; ns?: string; fds?: number } = {};
  allFixtures.fails('a failing test (expected to fail) with every fixture', async () => {
    made.fds = fdCount();
    const ns = await useNetns(onTestFinished);
    made.ns = ns.namespace.id;
    await useVeth(onTestFinished);
    made.scratch = (await useMountns(onTestFinished)).path;
    made.cgroup = (await useCgroup(onTestFinished)).directory;
    expect('this test').toBe('failing on purpose');
  });
  allFixtures('…left nothing: fds, mounts, scratch dir, cgroup, the namespace', () => {
    expect(made.cgroup).toBeDefined();
    expect(fdCount()).toBe(made.fds);
    expect(mounts()).not.toContain(made.scratch);
    expect(existsSync(made.scratch!)).toBe(false);
    expect(existsSync(made.cgroup!)).toBe(false);
    const fdsToIt = readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === made.ns;
      } catch {
        return false;
      }
    });
    expect(fdsToIt).toEqual([]);
  });

  // Rootless, the file makes no fixture (they need root here) but still leaves an isolated
  // function running when its test ends, which the test's signal must kill.
  for (const mode of ['pass', 'fail'] as const) {
    usernsTest(`node:test: a test that ${mode === 'pass' ? 'passes' : 'fails on purpose'} leaves nothing behind`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'nsbox-leaks-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const report = join(dir, 'report.json');
      const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const c = execFile(
          process.execPath,
          [join(root, 'test/helpers/testing-leaks.mjs')],
          { cwd: root, env: { ...process.env, NSBOX_LEAKS_MODE: mode, NSBOX_LEAKS_REPORT: report }, timeout: 60_000 },
          (_e, stdout, stderr) => resolve({ code: c.exitCode, out: stdout + stderr }),
        );
      });
      expect(r.code, r.out).toBe(mode === 'pass' ? 0 : 1);
      if (mode === 'fail') expect(r.out).toContain('failing on purpose');
      const rep = JSON.parse(readFileSync(report, 'utf8'));
      expect(rep.privileged).toBe(!skipReason('netns', 'mountns', 'cgroup'));
      expect(rep.made.isolated).toBe(1);
      expect(rep.pending).toBe('ABORT_ERR'); // killed by t.signal when the test ended
      // This process's own fds and children as before; of the host-wide lists (which other
      // suites on this machine change meanwhile), nothing the fixtures made.
      expect({ fds: rep.after.fds, children: rep.after.children }).toEqual({ fds: rep.before.fds, children: rep.before.children });
      if (rep.privileged) {
        const ours = (names: string[]) => names.filter((n) => rep.made.links.includes(n));
        expect([ours(rep.made.during.links), ours(rep.after.links)]).toEqual([[], []]); // never on the host
        expect(rep.after.mounts.filter((m: string) => m === rep.made.scratch)).toEqual([]);
        expect(rep.left).toEqual({ netns: [], mntns: [], scratch: false, cgroup: false, sleeper: false });
        expect(rep.made.sleeperStatus).toEqual({ code: null, signal: 'SIGKILL' });
      }
    });
  }
});

describe('skipReason / skipUnless', () => {
  test('reasons follow features() and the privileges; unknown requirements are refused', () => {
    const root = process.geteuid!() === 0;
    expect(skipReason('root')).toEqual(root ? false : expect.stringMatching(/^needs root/));
    expect(skipReason('rootless')).toBe(root ? 'runs as an unprivileged user only' : false);
    expect(skipReason('netns')).toEqual(root ? false : expect.stringMatching(/needs root/));
    expect(skipReason('landlock>=99')).toMatch(/needs Landlock ABI 99/);
    expect(skipReason('clone3', 'cloneIntoCgroup')).toBe(false);
    expect(() => skipReason('nonsense' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  test('skipUnless: the test itself when met, else one registered as skipped with the reason in its name', () => {
    const calls: string[] = [];
    const fake = Object.assign((name: string) => calls.push(`run ${name}`), { skip: (name: string) => calls.push(`skip ${name}`) });
    skipUnless(fake, 'clone3')('a');
    skipUnless(fake, 'landlock>=99')('b');
    expect(calls[0]).toBe('run a');
    expect(calls[1]).toMatch(/^skip b \[skipped: needs Landlock ABI 99/);
  });
});

describe('docs/testing.md', () => {
  const vitestBlocks = parseBlocks('docs/testing.md', readFileSync(join(root, 'docs/testing.md'), 'utf8')).filter(
    (b) => b.marker?.kind === 'not-run' && /vitest/.test(b.marker.reason),
  );
  test('has the vitest example', () => expect(vitestBlocks.length).toBeGreaterThan(0));
  for (const block of vitestBlocks) {
    // The vitest example, run by vitest as a user's project would: nsbox and vitest in its node_modules.
    skipUnless(test, 'netns')(`${block.file}:${block.line} passes under vitest`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'nsbox-docvitest-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(root, join(dir, 'node_modules/nsbox'));
      symlinkSync(join(root, 'node_modules/vitest'), join(dir, 'node_modules/vitest'));
      writeFileSync(join(dir, 'example.test.js'), block.code);
      const fds = fdCount();
      const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const c = execFile(
          process.execPath,
          [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--root', dir, '--reporter', 'verbose'],
          { cwd: dir, env: { ...process.env, CI: '' }, timeout: 120_000 },
          (_e, stdout, stderr) => resolve({ code: c.exitCode, out: stdout + stderr }),
        );
      });
      expect(r.code, r.out).toBe(0);
      expect(r.out).toMatch(/1 passed|passed \(1\)|Tests\s+\d+ passed/);
      // The example's links (random names va…/vb…) never reached the host, nor its mounts.
      expect(readdirSync('/sys/class/net').filter((l) => /^v[ab][0-9a-f]{6}$/.test(l))).toEqual([]);
      expect(mounts().filter((m) => m.includes('nsbox-scratch'))).toEqual([]);
      expect(fdCount()).toBe(fds);
    });
  }
});
