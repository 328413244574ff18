// spawn() against the real kernel: the isolation properties themselves, witnessed by /proc,
// nsenter and the programs run inside.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, onTestFinished, test } from 'vitest';
import { spawn, SysError, type NamespaceType } from '../../src/index.js';
import { native } from '../../src/native.js';
import { canUserns, hasSubids, isRoot, rootTest, testIf, tools, uid, gid } from '../helpers/env.js';
import { childPids, fdCount, lines, nsId, output } from '../helpers/proc.js';

const usernsTest = testIf(canUserns, 'user namespaces cannot be created here');
const ALL: NamespaceType[] = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup', 'time'];

const sh = (script: string, opts: Parameters<typeof spawn>[2] = {}) => spawn('sh', ['-c', script], opts);

describe('new namespaces', () => {
  usernsTest('the first process of a new pid namespace is PID 1', async () => {
    const r = await output(sh('echo $$', { namespaces: ['user', 'pid'] }));
    expect(r.stdout).toBe('1\n');
    expect(r.code).toBe(0);
    // Witness from outside: the kernel's NSpid line lists the pid in each namespace level.
    const c = spawn('sleep', ['5'], { namespaces: ['user', 'pid'], stdio: 'ignore' });
    try {
      const nspid = readFileSync(`/proc/${c.pid}/status`, 'utf8')
        .match(/^NSpid:\s+(.*)$/m)![1]!
        .split(/\s+/);
      expect(nspid).toEqual([String(c.pid), '1']);
    } finally {
      c.kill('SIGKILL');
      await c.exited;
    }
  });

  usernsTest('every new namespace has an inode different from the parent', async () => {
    const script = ALL.map((t) => `readlink /proc/self/ns/${t}`).join('; ');
    const r = await output(sh(script, { namespaces: ALL }));
    const inside = r.stdout.trim().split('\n');
    expect(inside).toHaveLength(ALL.length);
    ALL.forEach((t, i) => {
      expect(inside[i]).toMatch(new RegExp(`^${t}:\\[\\d+\\]$`));
      expect(inside[i]).not.toBe(nsId('self', t));
    });
  });

  usernsTest('a namespace that is not asked for is shared with the parent', async () => {
    const r = await output(sh('readlink /proc/self/ns/net /proc/self/ns/uts', { namespaces: ['user', 'uts'] }));
    const [net, uts] = r.stdout.trim().split('\n');
    expect(net).toBe(nsId('self', 'net'));
    expect(uts).not.toBe(nsId('self', 'uts'));
  });

  usernsTest('a new net namespace has only lo, and it is down', async () => {
    const r = await output(sh('ls /sys/class/net; cat /sys/class/net/lo/operstate', { namespaces: ['user', 'net', 'mnt'] }));
    // /sys still shows the host's view unless remounted; /proc/net/dev is per-netns.
    const dev = await output(sh('tail -n +3 /proc/net/dev | cut -d: -f1', { namespaces: ['user', 'net'] }));
    expect(
      dev.stdout
        .trim()
        .split('\n')
        .map((s) => s.trim()),
    ).toEqual(['lo']);
    expect(r.code).toBe(0);
  });

  usernsTest('hostname and domain name are set inside and the host keeps its own', async () => {
    const before = hostname();
    const r = await output(
      sh('hostname; cat /proc/sys/kernel/domainname', { namespaces: ['user', 'uts'], hostname: 'box', domainname: 'example.test' }),
    );
    expect(r.stdout).toBe('box\nexample.test\n');
    expect(hostname()).toBe(before);
  });

  usernsTest('the witness nsenter sees the same namespaces as /proc/PID/ns', async () => {
    const holder = spawn('sleep', ['30'], { namespaces: ['user', 'uts', 'net'], hostname: 'held', stdio: 'ignore' });
    try {
      const viaNsenter = execFileSync(
        'nsenter',
        [
          '--preserve-credentials',
          '-t',
          String(holder.pid),
          '-U',
          '-u',
          '-n',
          'sh',
          '-c',
          'readlink /proc/self/ns/uts /proc/self/ns/net; hostname',
        ],
        { encoding: 'utf8' },
      );
      expect(viaNsenter.trim().split('\n')).toEqual([nsId(holder.pid, 'uts'), nsId(holder.pid, 'net'), 'held']);
    } finally {
      holder.kill('SIGKILL');
      await holder.exited;
    }
  });
});

describe('joining namespaces', () => {
  usernsTest('joined namespaces equal their target (by pid), and new ones are made inside the joined user namespace', async () => {
    const holder = spawn('sleep', ['30'], { namespaces: ['user', 'pid', 'net', 'uts', 'ipc', 'mnt'], hostname: 'held', stdio: 'ignore' });
    try {
      const kinds: NamespaceType[] = ['user', 'net', 'uts', 'ipc', 'mnt', 'pid'];
      const join = Object.fromEntries(kinds.map((k) => [k, holder.pid]));
      const r = await output(sh(`echo $$; hostname; ${kinds.map((k) => `readlink /proc/self/ns/${k}`).join('; ')}`, { join }));
      const lines = r.stdout.trim().split('\n');
      expect(Number(lines[0])).toBeGreaterThan(1); // joined the pid namespace whose init is the holder
      expect(lines[1]).toBe('held');
      kinds.forEach((k, i) => expect(lines[2 + i]).toBe(nsId(holder.pid, k)));

      const mixed = await output(
        sh('echo $$; readlink /proc/self/ns/user /proc/self/ns/net', { join: { user: holder.pid }, namespaces: ['net', 'pid'] }),
      );
      const [pid1, user, net] = mixed.stdout.trim().split('\n');
      expect(pid1).toBe('1');
      expect(user).toBe(nsId(holder.pid, 'user'));
      expect(net).not.toBe(nsId(holder.pid, 'net'));
      expect(net).not.toBe(nsId('self', 'net'));
    } finally {
      holder.kill('SIGKILL');
      await holder.exited;
    }
  });

  rootTest('joins a network namespace made by `ip netns add`', async () => {
    const name = `nsbox-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    execFileSync('ip', ['netns', 'add', name]);
    // Runs even if the test times out (a finally in an abandoned async body would not).
    onTestFinished(() => execFileSync('ip', ['netns', 'del', name]));
    const { openNamespacePath } = await import('../../src/index.js');
    using ns = openNamespacePath(`/run/netns/${name}`);
    const r = await output(sh('readlink /proc/self/ns/net', { join: { net: ns } }));
    const witness = execFileSync('ip', ['netns', 'exec', name, 'readlink', '/proc/self/ns/net'], { encoding: 'utf8' });
    expect(r.stdout).toBe(witness);
    expect(r.stdout.trim()).not.toBe(nsId('self', 'net'));
  });
});

describe('uid and gid maps', () => {
  const maps = 'cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id -u; id -g';
  const norm = (s: string) =>
    s
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).join(' '));

  usernsTest(
    'default: an unprivileged caller becomes root inside, one id each; root gets a block of 65536 unprivileged host ids',
    async () => {
      const r = await output(sh(maps, { namespaces: ['user'] }));
      const lines = norm(r.stdout);
      if (!isRoot) {
        expect(lines).toEqual([`0 ${uid} 1`, `0 ${gid} 1`, 'deny', '0', '0']);
        return;
      }
      // Root: never host root inside. ids 0-65535 map to a block of the pool (idrange.ts).
      const [u, g] = [lines[0]!.split(' ').map(Number), lines[1]!.split(' ').map(Number)];
      expect(u[0]).toBe(0);
      expect(u[2]).toBe(65536);
      expect(u[1]! >= 0x70000000 && u[1]! < 0x7fff0000 && u[1]! % 65536 === 0).toBe(true);
      expect(g).toEqual(u);
      expect(lines.slice(2)).toEqual(['allow', '0', '0']);
    },
  );

  testIf(!isRoot && canUserns, 'runs as an unprivileged user only')(
    'an unprivileged single mapping has setgroups denied, and groups cannot be set',
    async () => {
      const r = await output(
        sh(maps, { namespaces: ['user'], uidMap: [{ inside: 1000, outside: uid }], gidMap: [{ inside: 1000, outside: gid }] }),
      );
      expect(norm(r.stdout)).toEqual([`1000 ${uid} 1`, `1000 ${gid} 1`, 'deny', '1000', '1000']);
      expect(() => sh('true', { namespaces: ['user'], groups: [1] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    },
  );

  rootTest('root giving only one of uidMap/gidMap is refused before any syscall (the other would be host root)', () => {
    const before = fdCount();
    expect(() => sh('true', { namespaces: ['user'], uidMap: [{ inside: 0, outside: 100000, count: 10 }] })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => sh('true', { namespaces: ['user'], gidMap: [{ inside: 0, outside: 100000, count: 10 }] })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(fdCount()).toBe(before);
  });

  rootTest('root writes multi-range maps directly, and uid/gid/groups switch inside', async () => {
    const uidMap = [
      { inside: 0, outside: 0, count: 1 },
      { inside: 1, outside: 300000, count: 65536 },
    ];
    const r = await output(
      sh(`${maps}; id -G`, { namespaces: ['user'], uidMap, gidMap: uidMap, uid: 1000, gid: 1000, groups: [1000, 20] }),
    );
    expect(norm(r.stdout)).toEqual(['0 0 1', '1 300000 65536', '0 0 1', '1 300000 65536', 'allow', '1000', '1000', '1000 20']);
  });

  testIf(!isRoot && canUserns && tools.newuidmap && hasSubids, 'needs an unprivileged user with newuidmap and /etc/subuid ranges')(
    'an unprivileged user gets multi-range maps through newuidmap/newgidmap',
    async () => {
      const line = readFileSync('/etc/subuid', 'utf8')
        .split('\n')
        .find((l) => l.startsWith(`${execFileSync('id', ['-un'], { encoding: 'utf8' }).trim()}:`))!;
      const start = Number(line.split(':')[1]);
      const sub = readFileSync('/etc/subgid', 'utf8')
        .split('\n')
        .find((l) => l.split(':')[0] === line.split(':')[0])!;
      const gstart = Number(sub.split(':')[1]);
      const r = await output(
        sh(maps, {
          namespaces: ['user'],
          uidMap: [
            { inside: 0, outside: uid },
            { inside: 1, outside: start, count: 1000 },
          ],
          gidMap: [
            { inside: 0, outside: gid },
            { inside: 1, outside: gstart, count: 1000 },
          ],
        }),
      );
      expect(norm(r.stdout)).toEqual([`0 ${uid} 1`, `1 ${start} 1000`, `0 ${gid} 1`, `1 ${gstart} 1000`, 'allow', '0', '0']);
    },
  );

  testIf(!isRoot && canUserns, 'runs as an unprivileged user only')(
    'a map the user may not write fails in step idmap and leaves nothing',
    async () => {
      const before = childPids().length;
      const fds = fdCount();
      let err: unknown;
      try {
        sh('true', {
          namespaces: ['user'],
          uidMap: [{ inside: 0, outside: 0 }],
          gidMap: [{ inside: 0, outside: gid }],
          setgroups: 'allow',
        });
      } catch (e) {
        err = e;
      }
      if (tools.newuidmap) expect(err).toMatchObject({ step: 'idmap', syscall: 'newuidmap', code: 'EPERM' });
      else expect(err).toMatchObject({ code: 'ERR_NSBOX_NO_IDMAP_HELPER' });
      expect(childPids()).toHaveLength(before);
      expect(fdCount()).toBe(fds);
    },
  );
});

describe('process attributes', () => {
  test('cwd, env and argv0', async () => {
    const r = await output(
      spawn('sh', ['-c', 'pwd; echo "$FOO"; echo $0'], { cwd: '/usr', env: { FOO: 'bar baz', PATH: '/usr/bin:/bin' }, argv0: 'renamed' }),
    );
    expect(r.stdout).toBe('/usr\nbar baz\nrenamed\n');
  });

  test('the default environment is process.env as it is at the spawn (read natively on the main thread), a worker its own', async () => {
    expect(native.onProcessMainThread()).toBe(true); // vitest's forks pool: this is the main thread
    process.env.NSBOX_ENV_SET = 'a b=c';
    process.env.NSBOX_ENV_GONE = 'x';
    delete process.env.NSBOX_ENV_GONE;
    try {
      const r = await output(spawn('/usr/bin/env'));
      const got = r.stdout.trim().split('\n').sort();
      const want = Object.entries(process.env)
        .map(([k, v]) => `${k}=${v}`)
        .sort();
      expect(got).toEqual(want);
      expect(got).toContain('NSBOX_ENV_SET=a b=c');
      expect(got.some((l) => l.startsWith('NSBOX_ENV_GONE='))).toBe(false);
      // A worker's process.env is its own copy (no SHARE_ENV): listed by JS, as given.
      const { Worker } = await import('node:worker_threads');
      const w = new Worker(
        `const { spawn } = await import(${JSON.stringify(new URL('../../dist/namespaces/index.js', import.meta.url).href)});
         const { parentPort } = await import('node:worker_threads');
         process.env.NSBOX_ENV_WORKER = 'only here';
         const c = spawn('/bin/sh', ['-c', 'echo "$NSBOX_ENV_WORKER/$NSBOX_ENV_SET"'], { stdio: ['ignore', 'pipe', 'inherit'] });
         let out = '';
         c.stdout.on('data', (d) => (out += d));
         await c.exited;
         parentPort.postMessage(out);`,
        { eval: true, type: 'module' } as never,
      );
      const fromWorker = await new Promise<string>((res, rej) => {
        w.once('message', res);
        w.once('error', rej);
      });
      await w.terminate();
      expect(fromWorker).toBe('only here/a b=c\n');
      expect(process.env.NSBOX_ENV_WORKER).toBeUndefined();
    } finally {
      delete process.env.NSBOX_ENV_SET;
    }
  });

  test('PATH is searched in the child environment', async () => {
    const r = await output(spawn('true', { env: { PATH: '/nonexistent:/bin' } }));
    expect(r.code).toBe(0);
    expect(() => spawn('true', { env: { PATH: '/nonexistent' } })).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'execve', step: 'exec' }),
    );
  });

  test('detached makes a new session; processGroup a new group', async () => {
    const stat = (s: string) => s.trim().split(') ')[1]!.split(' ');
    const d = await output(sh('cat /proc/self/stat', { detached: true }));
    const [, , pgrp, session] = stat(d.stdout);
    expect(session).toBe(pgrp); // session leader's sid is its own pid, as is its group
    expect(Number(session)).not.toBe(Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[3]));
    const g = spawn('sleep', ['5'], { processGroup: true, stdio: 'ignore' });
    const pgid = readFileSync(`/proc/${g.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2];
    expect(Number(pgid)).toBe(g.pid);
    g.kill('SIGKILL');
    await g.exited;
  });

  test('every fd but stdio and the chosen extra fds is closed before exec', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsbox-'));
    const file = join(dir, 'f');
    writeFileSync(file, 'extra\n');
    const leak = openSync(file, 'r'); // CLOEXEC already; the child must not see it either way
    const fd = openSync(file, 'r');
    try {
      const r = await output(spawn('sh', ['-c', 'ls /proc/self/fd | sort -n | tr "\\n" " "; cat <&7'], { fds: { 7: fd } }));
      // ls itself opens one fd (3) to read the directory.
      expect(r.stdout).toBe('0 1 2 3 7 extra\n');
    } finally {
      closeSync(leak);
      closeSync(fd);
      rmSync(dir, { recursive: true });
    }
  });
});

describe('stdio', () => {
  test('10 MB of output arrive intact', async () => {
    const r = await output(spawn('sh', ['-c', 'head -c 10485760 /dev/zero | tr "\\0" "x"']));
    expect(r.stdout.length).toBe(10 * 1024 * 1024);
    expect(/^x+$/.test(r.stdout)).toBe(true);
  });

  test('stdin is delivered and echoed back', async () => {
    const c = spawn('sha256sum');
    const data = Buffer.alloc(3 * 1024 * 1024, 'abc');
    c.stdin!.end(data);
    const r = await output(c);
    const { createHash } = await import('node:crypto');
    expect(r.stdout.split(' ')[0]).toBe(createHash('sha256').update(data).digest('hex'));
  });

  test("'ignore', 'inherit', fd numbers and streams with fds", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsbox-'));
    const out = join(dir, 'out');
    const fd = openSync(out, 'w');
    try {
      const c = spawn('sh', ['-c', 'echo to-file; echo to-null >&2'], { stdio: ['ignore', fd, 'ignore'] });
      expect(c.stdout).toBeNull();
      expect(c.stderr).toBeNull();
      expect(await c.exited).toEqual({ code: 0, signal: null });
      expect(readFileSync(out, 'utf8')).toBe('to-file\n');
      expect(() => spawn('true', { stdio: ['pipe', new PassThrough(), 'pipe'] })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
      );
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true });
    }
  });
});

describe('ending a child', () => {
  test('kill() delivers the signal and exit reports it', async () => {
    const c = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exits: unknown[] = [];
    c.on('exit', (code, sig) => exits.push([code, sig]));
    expect(c.kill('SIGTERM')).toBe(true);
    expect(await c.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(exits).toEqual([[null, 'SIGTERM']]);
    expect(c.killed).toBe(true);
    expect(c.kill()).toBe(false); // already reaped: no signal to a reused pid
  });

  test('kill(0) checks the child is there and sends nothing; an unknown signal is ERR_UNKNOWN_SIGNAL', async () => {
    const c = spawn('sleep', ['30'], { stdio: 'ignore' });
    expect(c.kill(0)).toBe(true);
    expect(c.running).toBe(true);
    expect(readFileSync(`/proc/${c.pid}/stat`, 'utf8').split(' ')[2]).not.toBe('Z');
    for (const sig of ['SIGNOPE', 65, -1, 'sigkill']) {
      expect(() => c.kill(sig as never), String(sig)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_SIGNAL' }));
    }
    expect(c.kill('SIGKILL')).toBe(true);
    expect(await c.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(c.kill(0)).toBe(false);
  });

  test('a real-time signal number is a killSignal (SIGRTMIN+1 = 35 ends a sleep by default)', async () => {
    const c = spawn('sleep', ['30'], { timeout: 50, killSignal: 35, stdio: 'ignore' });
    expect((await c.exited).code).toBeNull();
    expect(c.signalCode).toBeNull(); // no name in os.constants.signals, as child_process
  });

  test('timeout kills with killSignal', async () => {
    const t0 = Date.now();
    const c = spawn('sleep', ['30'], { timeout: 100, killSignal: 'SIGKILL', stdio: 'ignore' });
    expect(await c.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  test('an AbortSignal kills the child; an aborted one refuses to start', async () => {
    const ac = new AbortController();
    const c = spawn('sleep', ['30'], { signal: ac.signal, stdio: 'ignore' });
    ac.abort();
    expect(await c.exited).toEqual({ code: null, signal: 'SIGTERM' });
    const before = childPids().length;
    expect(() => spawn('true', { signal: ac.signal })).toThrow(
      expect.objectContaining({ name: 'AbortError', code: 'ABORT_ERR', cause: ac.signal.reason }),
    );
    expect(childPids()).toHaveLength(before);
  });

  test("'close' follows 'exit' once the streams have closed", async () => {
    const c = spawn('echo', ['hi']);
    const order: string[] = [];
    c.on('exit', () => order.push('exit'));
    c.stdout!.resume();
    await new Promise<void>((r) =>
      c.on('close', (code) => {
        order.push(`close:${code}`);
        r();
      }),
    );
    expect(order).toEqual(['exit', 'close:0']);
  });

  /** Spawns `sleep 60` from a separate Node process with `opts`, SIGKILLs that process, and
   * says whether the sleeper died with it (gone or a zombie awaiting init). */
  async function sleeperDiesWithParent(opts: string): Promise<boolean> {
    const script = `
      import { spawn } from ${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)};
      const c = spawn('sleep', ['60'], { stdio: 'ignore', ${opts} });
      console.log(c.pid);
      setInterval(() => {}, 1000);`;
    const parent = (await import('node:child_process')).spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pid = Number(await new Promise<string>((r) => parent.stdout.once('data', (d) => r(String(d)))));
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('sleep');
    parent.kill('SIGKILL'); // no exit handler runs: only PR_SET_PDEATHSIG can act
    await new Promise((r) => parent.once('exit', r));
    const dead = () => {
      try {
        const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0];
        return state === 'Z' || state === 'X';
      } catch {
        return true;
      }
    };
    for (let i = 0; i < 100 && !dead(); i++) await new Promise((r) => setTimeout(r, 20));
    const gone = dead();
    if (!gone) process.kill(pid, 'SIGKILL');
    return gone;
  }

  /**
   * Runs a Node process that spawns `sleep 30`, applies `calls` (e.g. `c.unref(); c.ref()`) and
   * reports, in order: the sleeper's pid, the sleeper's exit, and 'beforeExit' — which Node
   * emits only once nothing holds its event loop — with whether the sleeper still ran then.
   * `afterPid` runs when the pid is known.
   */
  async function loopHeldBy(calls: string, afterPid: (pid: number) => void): Promise<string[]> {
    const script = `
      import { spawn } from ${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)};
      const c = spawn('sleep', ['30'], { stdio: 'ignore' });
      ${calls};
      c.on('exit', () => console.log('child exited'));
      process.once('beforeExit', () => console.log('loop empty, child running: ' + c.running));
      console.log(c.pid);`;
    const node = (await import('node:child_process')).spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const out = lines(node.stdout);
    const exited = new Promise<number | null>((r) => node.once('exit', (code) => r(code)));
    const pid = Number(await out.next());
    afterPid(pid);
    const seen: string[] = [];
    try {
      for (;;) seen.push(await out.next());
    } catch {
      // stdout ended: the process is done
    }
    expect(await exited).toBe(0);
    return seen;
  }

  test('unref() lets the event loop end while the child runs; ref() holds it again until the child exits', async () => {
    // unref: the loop empties with the child still running (the exit hook then kills it).
    expect(await loopHeldBy('c.unref()', () => undefined)).toEqual(['loop empty, child running: true']);
    // ref after unref, and the default: the loop stays busy until the child is gone. The
    // sleeper is killed from outside once its pid is known; only then can the loop empty.
    const kill = (pid: number) => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone: the output below then says why
      }
    };
    for (const calls of ['c.unref(); c.ref()', '']) {
      expect(await loopHeldBy(calls, kill), calls || 'default').toEqual(['child exited', 'loop empty, child running: false']);
    }
  });

  test('dieWithParent kills the child when its parent dies, by default too; a detached child survives', async () => {
    expect(await sleeperDiesWithParent('dieWithParent: true')).toBe(true);
    expect(await sleeperDiesWithParent('')).toBe(true);
    expect(await sleeperDiesWithParent('detached: true')).toBe(false);
  });
});

describe('errors', () => {
  test('a missing command is ENOENT from execve in step exec', () => {
    const err = (() => {
      try {
        spawn('/nonexistent/nsbox-cmd');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'execve', step: 'exec', path: '/nonexistent/nsbox-cmd' });
  });

  test('a failing step names itself: chdir to a missing cwd', () => {
    expect(() => spawn('true', { cwd: '/nonexistent-dir' })).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'chdir', step: 'cwd', path: '/nonexistent-dir' }),
    );
  });

  test.each([
    ['command', () => spawn(42 as unknown as string), 'ERR_INVALID_ARG_TYPE'],
    ['empty command', () => spawn(''), 'ERR_INVALID_ARG_VALUE'],
    ['args', () => spawn('true', 'x' as unknown as string[]), 'ERR_INVALID_ARG_TYPE'],
    ['NUL in args', () => spawn('true', ['a\0b']), 'ERR_INVALID_ARG_VALUE'],
    ['unknown option', () => spawn('true', { nope: 1 } as never), 'ERR_INVALID_ARG_VALUE'],
    ['unknown namespace', () => spawn('true', { namespaces: ['nett' as never] }), 'ERR_INVALID_ARG_VALUE'],
    ['hostname without uts', () => spawn('true', { hostname: 'x' }), 'ERR_INVALID_ARG_VALUE'],
    ['hostname too long', () => spawn('true', { namespaces: ['uts'], hostname: 'x'.repeat(65) }), 'ERR_OUT_OF_RANGE'],
    ['uid negative', () => spawn('true', { uid: -1 }), 'ERR_OUT_OF_RANGE'],
    ['uidMap without user', () => spawn('true', { uidMap: [{ inside: 0, outside: 0 }] }), 'ERR_INVALID_ARG_VALUE'],
    [
      'overlapping uidMap',
      () =>
        spawn('true', {
          namespaces: ['user'],
          uidMap: [
            { inside: 0, outside: 0, count: 10 },
            { inside: 5, outside: 100 },
          ],
        }),
      'ERR_INVALID_ARG_VALUE',
    ],
    ['join and new', () => spawn('true', { namespaces: ['net'], join: { net: 1 } }), 'ERR_INVALID_ARG_VALUE'],
    ['join pid 0', () => spawn('true', { join: { net: 0 } }), 'ERR_OUT_OF_RANGE'],
    ['bad stdio', () => spawn('true', { stdio: 'pipes' as never }), 'ERR_INVALID_ARG_VALUE'],
    ['bad fd target', () => spawn('true', { fds: { [-1]: 1 } as never }), 'ERR_OUT_OF_RANGE'],
    ['bad signal', () => spawn('true', { killSignal: 'SIGNOPE' as never }), 'ERR_UNKNOWN_SIGNAL'],
    ['signal 0 as killSignal', () => spawn('true', { killSignal: 0, timeout: 100 }), 'ERR_UNKNOWN_SIGNAL'],
    ['join pid over PID_MAX_LIMIT', () => spawn('true', { join: { net: 4_194_305 } }), 'ERR_OUT_OF_RANGE'],
    ['bad timeout', () => spawn('true', { timeout: -5 }), 'ERR_OUT_OF_RANGE'],
  ])('bad input (%s) is an ERR_* before any syscall', (_name, fn, code) => {
    const fds = fdCount();
    const kids = childPids().length;
    expect(fn).toThrow(expect.objectContaining({ code }));
    expect(fdCount()).toBe(fds);
    expect(childPids()).toHaveLength(kids);
  });
});

describe('leaks', () => {
  test('1,000 spawns, a third of them failing, leave no fd, child or mount', async () => {
    // Mount points of the host's namespace, less those other test files make and remove
    // while this one runs (named netns under /run/netns, temp dirs).
    const ownMounts = () =>
      readFileSync('/proc/self/mountinfo', 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[4]!)
        .filter((m) => !m.startsWith('/run/netns') && !m.startsWith(tmpdir()))
        .sort();
    const mountsBefore = ownMounts();
    const fds = fdCount();
    const kids = childPids().length;
    const ns: NamespaceType[] = canUserns ? ['user', 'pid', 'uts', 'ipc', 'mnt'] : [];
    for (let i = 0; i < 1000; i++) {
      if (i % 3 === 0) {
        expect(() => spawn('/nonexistent', { namespaces: ns })).toThrow(expect.objectContaining({ step: 'exec' }));
      } else if (i % 3 === 1) {
        expect(() => spawn('true', { namespaces: ns, cwd: '/nonexistent' })).toThrow(expect.objectContaining({ step: 'cwd' }));
      } else {
        const c = spawn('true', { namespaces: ns, stdio: i % 2 ? 'pipe' : 'ignore' });
        c.stdout?.resume();
        c.stderr?.resume();
        await new Promise((r) => c.once('close', r));
      }
    }
    expect(childPids()).toHaveLength(kids);
    expect(fdCount()).toBe(fds);
    expect(ownMounts()).toEqual(mountsBefore);
  });
});

describe('threads', () => {
  usernsTest('spawns from a worker thread, and the worker ending kills its children', async () => {
    const { Worker } = await import('node:worker_threads');
    const url = new URL('../../dist/index.js', import.meta.url).href;
    const w = new Worker(
      `import { parentPort } from 'node:worker_threads';
       const { spawn } = await import(${JSON.stringify(url)});
       const c = spawn('sh', ['-c', 'echo $$'], { namespaces: ['user', 'pid'] });
       let out = ''; c.stdout.on('data', (d) => out += d);
       const st = await c.exited;
       const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
       parentPort.postMessage({ out, st, sleeper: sleeper.pid });`,
      { eval: true, type: 'module' } as never,
    );
    const msg = await new Promise<{ out: string; st: unknown; sleeper: number }>((r, j) => {
      w.once('message', r);
      w.once('error', j);
    });
    expect(msg.out.trim()).toBe('1');
    expect(msg.st).toEqual({ code: 0, signal: null });
    await w.terminate();
    // The environment's teardown killed and reaped the sleeper: no zombie, no process.
    expect(() => readFileSync(`/proc/${msg.sleeper}/stat`)).toThrow();
  });
});

describe('mount propagation of a new mount namespace', () => {
  rootTest("a new mount namespace is private by default (as unshare(1)); 'unchanged' keeps a shared mount shared", async () => {
    // A shared mount on the host, as systemd makes /: without care, mounts made inside the
    // child's namespace would propagate back out to it.
    const base = mkdtempSync(join(tmpdir(), 'nsbox-prop-'));
    execFileSync('mount', ['--bind', base, base]);
    execFileSync('mount', ['--make-shared', base]);
    const seen = () =>
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.split(' ')[4] === `${base}/sub`).length;
    try {
      writeFileSync(join(base, 'marker'), '');
      execFileSync('mkdir', ['-p', join(base, 'sub')]);
      // The child prints its own count once it has mounted, then waits for the test to have
      // looked: the host's table is read while the child's mount certainly exists.
      const mountInside = async (propagation?: 'unchanged'): Promise<number> => {
        const c = spawn('sh', ['-c', `mount -t tmpfs none ${base}/sub && grep -c " ${base}/sub " /proc/self/mountinfo; read done`], {
          namespaces: ['mnt'],
          ...(propagation ? { propagation } : {}),
        });
        try {
          expect(await lines(c.stdout!).next()).toBe('1');
          return seen();
        } finally {
          c.stdin!.end('done\n');
          expect(await c.exited).toEqual({ code: 0, signal: null });
        }
      };
      expect(await mountInside()).toBe(0);
      expect(await mountInside('unchanged')).toBe(1); // the witness that the test can fail: it propagated
    } finally {
      execFileSync('sh', ['-c', `umount -R ${base}/sub 2>/dev/null; umount -l ${base}`]);
      rmSync(base, { recursive: true, force: true });
    }
  });
});

describe('time namespace offsets', () => {
  usernsTest('CLOCK_BOOTTIME and CLOCK_MONOTONIC inside read the offsets (timens_offsets and /proc/uptime as witnesses)', async () => {
    const hostUptime = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const before = hostUptime();
    const r = await output(
      sh('cat /proc/self/timens_offsets; cut -d" " -f1 /proc/uptime; readlink /proc/self/ns/time', {
        namespaces: ['user', 'time'],
        timeOffsets: { boottime: 86400, monotonic: -1.25 },
      }),
    );
    const after = hostUptime();
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/));
    expect(lines[0]).toEqual(['monotonic', '-2', '750000000']);
    expect(lines[1]).toEqual(['boottime', '86400', '0']);
    const inside = Number(lines[2]![0]);
    expect(inside).toBeGreaterThanOrEqual(before + 86400 - 0.01);
    expect(inside).toBeLessThanOrEqual(after + 86400 + 0.01);
    expect(lines[3]![0]).not.toBe(nsId('self', 'time'));
  });

  test('offsets need a new time namespace, and a known clock', () => {
    expect(() => spawn('true', { timeOffsets: { boottime: 1 } })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => spawn('true', { namespaces: ['time'], timeOffsets: { realtime: 1 } as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => spawn('true', { namespaces: ['time'], timeOffsets: { boottime: Infinity } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });
});
