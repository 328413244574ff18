// The nsbox-oci runtime's pure parts: runc's argument forms, signals, container ids, the
// state store (atomic state.json, one create per ID), the status derived from /proc, the
// compiled seccomp filters kept under --root, `kill --all`'s check of each pid, and `ps`'s
// escaping of command lines.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { COMMANDS, GLOBAL_FLAGS, parseCommand, parseFlags } from '../../src/oci/runtime/args.js';
import { RuntimeError, UsageError } from '../../src/oci/runtime/errors.js';
import { signalAll } from '../../src/oci/runtime/commands/kill.js';
import { cmdline, escapeArg, startTime, isAlive } from '../../src/oci/runtime/proc.js';
import { parseSignal } from '../../src/oci/runtime/signal.js';
import { ociState, statusOf } from '../../src/oci/runtime/status.js';
import { seccompCache } from '../../src/oci/runtime/seccomp-cache.js';
import { checkId, Store, type ContainerRecord } from '../../src/oci/runtime/store.js';
import { compileSeccomp, setSeccompStore, type SeccompProfile, type SeccompStore } from '../../src/security/seccomp/index.js';

const dir = mkdtempSync(join(tmpdir(), 'nsbox-oci-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cmd = (name: string) => COMMANDS.find((c) => c.name === name)!;

describe('arguments', () => {
  test('global flags stop at the command; --flag value and --flag=value', () => {
    const g = parseFlags(['--root', '/r', '--log=/l', '--log-format', 'json', 'kill', '--all', 'x'], GLOBAL_FLAGS, true);
    expect(g.flags).toEqual({ root: '/r', log: '/l', 'log-format': 'json' });
    expect(g.args).toEqual(['kill', '--all', 'x']);
  });
  test("Go's single-dash long form, short aliases, booleans with =", () => {
    const p = parseCommand(cmd('create'), ['-bundle', '/b', '--pid-file=/p', 'id1']);
    expect(p).toEqual({ flags: { bundle: '/b', 'pid-file': '/p' }, args: ['id1'] });
    expect(parseCommand(cmd('delete'), ['-f', 'x']).flags.force).toBe(true);
    expect(parseCommand(cmd('delete'), ['--force=false', 'x']).flags.force).toBe(false);
  });
  test('exec: flags end at the ID; the command keeps its own flags; lists repeat', () => {
    const p = parseCommand(cmd('exec'), ['-e', 'A=1', '--env', 'B=2', 'c1', 'ls', '-la', '--env', 'x']);
    expect(p.flags.env).toEqual(['A=1', 'B=2']);
    expect(p.args).toEqual(['c1', 'ls', '-la', '--env', 'x']);
  });
  test('unknown flags, missing values and argument counts are usage errors', () => {
    expect(() => parseCommand(cmd('delete'), ['--nope', 'x'])).toThrow(UsageError);
    expect(() => parseCommand(cmd('create'), ['--bundle'])).toThrow(UsageError);
    expect(() => parseCommand(cmd('start'), [])).toThrow(UsageError);
    expect(() => parseCommand(cmd('start'), ['a', 'b'])).toThrow(UsageError);
  });
});

test('signals: names with and without SIG, any case, numbers', () => {
  expect(parseSignal('KILL')).toBe(9);
  expect(parseSignal('SIGTERM')).toBe(15);
  expect(parseSignal('sigusr1')).toBe(10);
  expect(parseSignal('9')).toBe(9);
  expect(parseSignal('64')).toBe(64);
  for (const bad of ['0', '65', 'SIGNOPE', '']) expect(() => parseSignal(bad)).toThrow(UsageError);
});

test("container ids: runc's rule", () => {
  for (const ok of ['a', 'web_1', 'x.y-z+1', 'A'.repeat(64)]) expect(checkId(ok)).toBe(ok);
  for (const bad of ['', '.', '..', 'a/b', 'a b', 'é']) expect(() => checkId(bad)).toThrow(RuntimeError);
});

describe('store', () => {
  const record = (store: Store, id: string, over: Partial<ContainerRecord> = {}): ContainerRecord => ({
    ociVersion: '1.2.0',
    id,
    pid: process.pid,
    startTime: startTime(process.pid)!,
    bundle: '/b',
    rootfs: '/b/rootfs',
    created: '2026-01-01T00:00:00.000000000Z',
    owner: 'root',
    gate: store.gatePath(id),
    config: { ociVersion: '1.2.0' },
    ...over,
  });

  test('one claim per ID; state.json round-trips, written atomically', () => {
    const store = new Store(join(dir, 'root1'));
    store.claim('c1');
    expect(() => store.claim('c1')).toThrow('container c1 already exists');
    expect(() => store.read('c1')).toThrow('container c1 does not exist');
    const rec = record(store, 'c1');
    store.write(rec);
    expect(store.read('c1')).toEqual(rec);
    expect(readdirSync(store.dir('c1'))).toEqual(['state.json']); // no temporary file left
    expect(store.ids()).toEqual(['c1']);
    store.remove('c1');
    expect(store.ids()).toEqual([]);
  });

  test('a --root others can write is refused (another user may have made it first)', () => {
    const root = join(dir, 'open-root');
    mkdirSync(root);
    chmodSync(root, 0o777);
    expect(() => new Store(root).claim('c')).toThrow(RuntimeError);
    chmodSync(root, 0o700);
    expect(new Store(root).claim('c')).toBe(join(root, 'c'));
  });

  test('the status is derived: alive + gate → created, alive → running, start time changed → stopped', () => {
    const store = new Store(join(dir, 'root2'));
    store.claim('c2');
    const rec = record(store, 'c2');
    expect(statusOf(rec)).toBe('running');
    writeFileSync(rec.gate!, '');
    expect(statusOf(rec)).toBe('created');
    const reused = { ...rec, startTime: String(Number(rec.startTime) + 1) };
    expect(isAlive(reused.pid, reused.startTime)).toBe(false);
    expect(statusOf(reused)).toBe('stopped');
    expect(ociState(reused)).toMatchObject({ id: 'c2', status: 'stopped', pid: 0 });
    expect(ociState(rec)).toMatchObject({ status: 'created', pid: process.pid, bundle: '/b', rootfs: '/b/rootfs' });
  });
});

describe('compiled seccomp filters kept under --root', () => {
  const profile = (): SeccompProfile =>
    JSON.parse(
      JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' }] }),
    );
  const compiled = (p: SeccompProfile, store: SeccompStore | undefined) => {
    setSeccompStore(store);
    try {
      return compileSeccomp(p, { arch: 'x64', capabilities: [] });
    } finally {
      setSeccompStore(undefined);
    }
  };

  test('a later process of the same build reads back what an earlier one compiled, for the same key only', () => {
    const root = join(dir, 'sc-root');
    mkdirSync(root, { mode: 0o700 });
    const first = compiled(profile(), seccompCache(root, 'build-1'));
    const files = readdirSync(join(root, '@seccomp'));
    expect(files).toHaveLength(1);
    expect(statSync(join(root, '@seccomp')).mode & 0o777).toBe(0o755); // --root itself is private
    // A new profile object (another process's), the same JSON: the entry, not a compile.
    const gets: string[] = [];
    const store = seccompCache(root, 'build-1')!;
    const spy: SeccompStore = {
      get: (k) => {
        gets.push(k);
        return store.get(k);
      },
      set: () => {
        throw new Error('compiled again');
      },
    };
    const again = compiled(profile(), spy);
    expect(gets).toHaveLength(1);
    expect(Buffer.from(again.program)).toEqual(Buffer.from(first.program));
    expect(again).toMatchObject({ instructions: first.instructions, flags: first.flags, notify: false, unknown: [] });
    // Another build, or another profile: not answered.
    expect(store.get(gets[0]!.replace('exit_group', 'exit'))).toBeUndefined();
    expect(seccompCache(root, 'build-2')!.get(gets[0]!)).toBeUndefined();
    // An entry this user does not own alone is not read: compiled again.
    chmodSync(join(root, '@seccomp', files[0]!), 0o666);
    expect(store.get(gets[0]!)).toBeUndefined();
    chmodSync(join(root, '@seccomp', files[0]!), 0o644);
    // Another user's store (the bin's beside root's global install) is read as that user's
    // when asked, never written; as anyone else's, not read.
    const uid = process.geteuid!();
    expect(seccompCache(root, 'build-1', uid)!.get(gets[0]!)).toBeDefined();
    expect(seccompCache(root, 'build-1', uid + 1)!.get(gets[0]!)).toBeDefined(); // still this user's own
    // A damaged entry is not read either.
    writeFileSync(join(root, '@seccomp', files[0]!), '{"v":1}\n', { mode: 0o600 });
    expect(store.get(gets[0]!)).toBeUndefined();
  });

  test('without a build id (tsc modules) there is no store; a profile JSON cannot say is not kept', () => {
    expect(seccompCache(join(dir, 'sc-none'), undefined)).toBeUndefined();
    const store: SeccompStore = {
      get: () => {
        throw new Error('asked');
      },
      set: () => {
        throw new Error('kept');
      },
    };
    const p = profile();
    p.syscalls![0]!.args = [{ index: 0, op: 'SCMP_CMP_EQ', value: 1n }];
    expect(compiled(p, store).instructions).toBeGreaterThan(0);
  });
});

describe('kill --all: a pid read from cgroup.procs is signalled only while it is still in the container', () => {
  /** A host process (`sleep`), and the way it ends: its exit signal says which signal came first. */
  const host = () => {
    const p = spawn('sleep', ['1000'], { stdio: 'ignore' });
    const ended = new Promise<NodeJS.Signals | null>((res) => p.on('exit', (_c, sig) => res(sig)));
    return { pid: p.pid!, ended, kill: () => p.kill('SIGKILL') };
  };
  /** The 0:: line of /proc/PID/cgroup: the process's cgroup v2 path in our cgroup namespace. */
  const cgroupOf = (pid: number) => readFileSync(`/proc/${pid}/cgroup`, 'latin1').match(/^0::(.*)$/m)![1]!;
  /** A container whose process is this test's, in `cgroup` (its directory is not touched). */
  const rec = (cgroup: string): ContainerRecord => ({
    ociVersion: '1.2.0',
    id: 'c1',
    pid: process.pid,
    startTime: startTime(process.pid)!,
    bundle: '/b',
    rootfs: '/b/rootfs',
    created: '2026-01-01T00:00:00.000000000Z',
    owner: 'root',
    cgroup,
    cgroupDir: `/sys/fs/cgroup/unified${cgroup}`,
    config: { ociVersion: '1.2.0' },
  });

  test('a pid now naming a process outside the cgroup (it left, or the number was reused) is not signalled', async () => {
    // The race made deterministic: the list holds a pid that is not the container's when the
    // signal goes. The old loop's kill(2) reached it: it died of SIGTERM.
    const h = host();
    try {
      const sent = await signalAll(rec(`/nsbox-oci/c-${process.pid}-absent`), [h.pid], 15);
      expect(sent).toEqual([]);
    } finally {
      h.kill();
    }
    // A fatal signal's exit code is fixed when it is sent: SIGTERM here would have won.
    expect(await h.ended).toBe('SIGKILL');
  });

  test('a pid still in the cgroup (or below it) is signalled; one that is gone (exited and reaped) is skipped', async () => {
    const h = host();
    try {
      const cg = cgroupOf(h.pid);
      const parent = cg === '/' ? '/' : cg.slice(0, cg.lastIndexOf('/')) || '/';
      const gone = spawn('true');
      await new Promise((res) => gone.on('exit', res)); // exited and reaped
      const sent = await signalAll(rec(parent), [gone.pid!, h.pid], 15);
      expect(sent).toEqual([h.pid]);
      expect(await h.ended).toBe('SIGTERM');
    } finally {
      h.kill();
    }
  });

  test("the container's own process needs its start time to match", async () => {
    const r = { ...rec(cgroupOf(process.pid)), startTime: '1' };
    expect(await signalAll(r, [process.pid], 0)).toEqual([]);
    expect(await signalAll({ ...r, startTime: startTime(process.pid)! }, [process.pid], 0)).toEqual([process.pid]);
  });
});

describe('ps: command lines are escaped for the terminal', () => {
  const esc = (s: string | Buffer) => escapeArg(typeof s === 'string' ? Buffer.from(s) : s);
  test('controls, DEL, C1, bidi overrides and separators are escaped; printable text (UTF-8 too) is kept', () => {
    expect(esc('\x1b]0;pwned\x07\x1b[2J')).toBe('\\x1b]0;pwned\\x07\\x1b[2J');
    expect(esc('a\tb\nc\rd\x7f')).toBe('a\\x09b\\x0ac\\x0dd\\x7f');
    expect(esc('\u009b2J \u202eevil \u2028 \ufeff')).toBe('\\u{9b}2J \\u{202e}evil \\u{2028} \\u{feff}');
    expect(esc('sleep 10 — ünïcödé ✓ ? ~')).toBe('sleep 10 — ünïcödé ✓ ? ~');
  });
  test('backslash is doubled, so the escaped text reads back unambiguously', () => {
    expect(esc('C:\\x1b')).toBe('C:\\\\x1b');
  });
  test('an argument that is not valid UTF-8: every byte from 0x80 on as \\xNN', () => {
    expect(esc(Buffer.from([0x61, 0xff, 0xc2, 0x9b, 0x1b, 0x62]))).toBe('a\\xff\\xc2\\x9b\\x1bb');
  });
  test("a live process's command line: arguments joined by spaces, each escaped", async () => {
    // (sh stays, waiting on its stdin, and ignores its extra argument: `sleep 1000 ESC[2J` would
    // exit at once on its invalid interval, and a reaped process has no command line; nor does
    // it leave a child behind, as `sleep 1000; :` did, which testing.test.ts looks for)
    const p = spawn('sh', ['-c', 'read x; :', 'sh', '\x1b[2J'], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      await new Promise((res) => p.on('spawn', res));
      // (until exec has replaced node's argv in the child)
      const until = Date.now() + 10_000;
      while (!cmdline(p.pid!).startsWith('sh ') && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      expect(cmdline(p.pid!)).toBe('sh -c read x; : sh \\x1b[2J');
    } finally {
      p.kill('SIGKILL');
    }
  });
});
