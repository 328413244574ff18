// The `nsbox` command as a real process (node BIN, package.json's bin): output, exit status, stdio,
// signals and joins, witnessed from outside through /proc.
import { execFileSync, spawnSync, spawn as spawnProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OPTIONS } from '../../src/cli/args.js';
import { findCgroup2, spawn } from '../../src/index.js';
import { LINKED_WRAPPER } from '../../src/oci/runtime/linked.js';
import { canUserns, gid, hasSubids, isRoot, rootTest, rootlessTest, testIf, tools, uid } from '../helpers/env.js';
import { twoNetns } from '../helpers/two-netns.js';
import { nsId } from '../helpers/proc.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** What npm links as `nsbox`: package.json's bin (dist/nsbox-cli/nsbox.cjs, scripts/bundle.mjs). */
const cli = join(root, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).bin.nsbox);
const usernsTest = testIf(canUserns, 'user namespaces cannot be created here');

beforeAll(() => {
  // dist/ is what `npx nsbox` runs; build it if it is missing or older than src/.
  execFileSync(process.execPath, [join(root, 'scripts/ensure-built.mjs')], { stdio: 'ignore' });
});

interface Result {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Starts `node dist/cli.js ...args`; `running` is the process, `done` its result. */
function start(args: string[], input?: string) {
  const p = spawnProcess(process.execPath, [cli, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  if (input !== undefined) p.stdin.end(input);
  const done = new Promise<Result>((resolve) => p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  // 'exit' does not wait for stdio to close (a surviving grandchild may hold it open).
  const exited = new Promise<void>((resolve) => p.on('exit', () => resolve()));
  return { p, done, exited };
}
const nsbox = (args: string[], input?: string) => start(args, input).done;

/** Children of a process (every thread's), from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const s = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
    if (s) out.push(...s.split(/\s+/).map(Number));
  }
  return out;
}

/** Waits until `pid` has a child that has exec'd `comm`, and returns that child's pid. */
async function childRunning(pid: number, comm: string): Promise<number> {
  for (let i = 0; i < 500; i++) {
    for (const c of childrenOf(pid)) {
      try {
        if (readFileSync(`/proc/${c}/comm`, 'utf8').trim() === comm) return c;
      } catch {
        // exited meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no '${comm}' child of ${pid}`);
}

/** Waits until `pid` has died: reaped, or a zombie (this machine's init may reap late). */
async function dead(pid: number): Promise<boolean> {
  for (let i = 0; i < 300; i++) {
    try {
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) return true;
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

describe('nsbox run: the main example and exit status', () => {
  usernsTest("`run --hostname box -- sh -c 'echo $$; id -u; hostname'` prints 3, 0, box", async () => {
    // PID 1 is nsbox's init, 2 the mount lock's short-lived helper, 3 the command.
    const r = await nsbox(['run', '--hostname', 'box', '--', 'sh', '-c', 'echo $$; id -u; hostname']);
    expect(r).toEqual({ code: 0, signal: null, stdout: '3\n0\nbox\n', stderr: '' });
  });

  usernsTest('the default namespaces are all new', async () => {
    const kinds = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup'];
    const r = await nsbox(['run', '--', 'readlink', ...kinds.map((k) => `/proc/self/ns/${k}`)]);
    const inside = r.stdout.trim().split('\n');
    kinds.forEach((k, i) => expect(inside[i]).not.toBe(nsId('self', k)));
    expect(r.code).toBe(0);
  });

  test('the exit code is passed through (no namespaces: no privileges needed)', async () => {
    expect((await nsbox(['run', '--namespaces', 'none', '--', 'sh', '-c', 'exit 7'])).code).toBe(7);
    expect((await nsbox(['run', '--namespaces', 'none', '--', 'true'])).code).toBe(0);
  });

  usernsTest('killed by signal N: exits 128+N', async () => {
    // Not PID 1 (no pid namespace), so the kernel delivers the shell's signal to itself.
    const term = await nsbox(['run', '--namespaces', 'user', '--', 'sh', '-c', 'kill -TERM $$']);
    expect(term.code).toBe(143);
    const kill = await nsbox(['run', '--namespaces', 'user', '--', 'sh', '-c', 'kill -KILL $$']);
    expect(kill.code).toBe(137);
  });

  usernsTest('--timeout kills with SIGKILL, even a PID 1 that ignores SIGTERM: 137', async () => {
    const t0 = Date.now();
    const r = await nsbox(['run', '--timeout', '300', '--', 'sleep', '30']);
    expect(r.code).toBe(137);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});

describe('nsbox run: stdio', () => {
  usernsTest('stdin and stdout are forwarded (echo hi | nsbox run -- cat)', async () => {
    const r = await nsbox(['run', '--', 'cat'], 'hi\n');
    expect(r.stdout).toBe('hi\n');
    expect(r.code).toBe(0);
  });

  usernsTest("the command gets nsbox's own stdio fds, not a copy through pipes", async () => {
    const { p, done } = start([
      'run',
      '--namespaces',
      'user',
      '--',
      'sh',
      '-c',
      'readlink /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2; cat >/dev/null',
    ]);
    const inNsbox = [0, 1, 2].map((fd) => execFileSync('readlink', [`/proc/${p.pid}/fd/${fd}`], { encoding: 'utf8' }).trim());
    p.stdin.end();
    const r = await done;
    expect(r.stdout.trim().split('\n')).toEqual(inNsbox);
    // child_process gives nsbox socketpairs: the command sees the very same sockets.
    expect(inNsbox.every((l) => /^(pipe|socket):\[\d+\]$/.test(l))).toBe(true);
  });

  usernsTest('stderr is forwarded', async () => {
    const r = await nsbox(['run', '--', 'sh', '-c', 'echo oops >&2']);
    expect(r.stderr).toBe('oops\n');
  });
});

describe('nsbox run: options reach the command', () => {
  usernsTest('--clearenv, --env, --unsetenv, --cwd, --argv0, --domainname', async () => {
    const env = await nsbox(['run', '--clearenv', '--env', 'A=1', '--env', 'B=2', '--unsetenv', 'A', '--', '/usr/bin/env']);
    expect(env.stdout).toBe('B=2\n');
    const cwd = await nsbox(['run', '--chdir', '/usr', '--', 'pwd']);
    expect(cwd.stdout).toBe('/usr\n');
    const argv0 = await nsbox(['run', '--argv0', 'myname', '--', 'cat', '/proc/self/cmdline']);
    expect(argv0.stdout).toBe('myname\0/proc/self/cmdline\0');
    const dom = await nsbox(['run', '--domainname', 'example.test', '--', 'cat', '/proc/sys/kernel/domainname']);
    expect(dom.stdout).toBe('example.test\n');
  });

  usernsTest('--share KIND keeps the host namespace of that kind', async () => {
    const r = await nsbox(['run', '--share', 'net', '--', 'readlink', '/proc/self/ns/net', '/proc/self/ns/uts']);
    const [net, uts] = r.stdout.trim().split('\n');
    expect(net).toBe(nsId('self', 'net'));
    expect(uts).not.toBe(nsId('self', 'uts'));
  });

  usernsTest('--new-session: the command leads its own session (field 6 of /proc/self/stat)', async () => {
    const script = 'read pid comm state ppid pgrp sid rest < /proc/self/stat; [ "$pid" = "$sid" ] && echo leader || echo member';
    expect((await nsbox(['run', '--namespaces', 'user', '--new-session', '--', 'sh', '-c', script])).stdout).toBe('leader\n');
    expect((await nsbox(['run', '--namespaces', 'user', '--', 'sh', '-c', script])).stdout).toBe('member\n');
  });

  // Root writes any map; an unprivileged user needs newuidmap and its /etc/subuid range.
  const subStart = (file: string): number => {
    if (isRoot) return 100000;
    const name = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${name}:`) || l.startsWith(`${uid}:`))!;
    return Number(line.split(':')[1]);
  };
  testIf(canUserns && (isRoot || (hasSubids && tools.newuidmap)), 'needs root, or newuidmap with /etc/subuid ranges')(
    '--map-uid/--map-gid (multi-range), --uid, --gid, --groups',
    async () => {
      const [su, sg] = [subStart('/etc/subuid'), subStart('/etc/subgid')];
      const vol = mkdtempSync(join(tmpdir(), 'nsbox-cli-map-'));
      chmodSync(vol, 0o1777);
      try {
        const r = await nsbox([
          'run',
          '--map-uid',
          `0:${uid}:1`,
          '--map-uid',
          `1:${su}:1000`,
          '--map-gid',
          `0:${gid}:1`,
          '--map-gid',
          `1:${sg}:1000`,
          '--uid',
          '100',
          '--gid',
          '200',
          '--groups',
          '300,400',
          '--volume',
          `${vol}:/v`,
          '--',
          'sh',
          '-c',
          'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; id -G; touch /v/f',
        ]);
        // Inside, the command's user namespace is nested in the one with these maps (the
        // mount lock) and keeps every id: identity lines. The host sees the real mapping.
        const norm = r.stdout
          .trim()
          .split('\n')
          .map((l) => l.trim().split(/\s+/).join(' '));
        expect(norm).toEqual(['0 0 1', '1 1 1000', '0 0 1', '1 1 1000', '100', '200', '200 300 400']);
        expect(r.code).toBe(0);
        const st = statSync(join(vol, 'f'));
        expect([st.uid, st.gid]).toEqual([su + 99, sg + 199]);
      } finally {
        rmSync(vol, { recursive: true, force: true });
      }
    },
  );
});

describe('nsbox run: --net', () => {
  rootTest('--net none: a namespace of its own with only lo, up', async () => {
    const r = await nsbox(['run', '--net', 'none', '--', 'sh', '-c', 'readlink /proc/self/ns/net; ip -j link']);
    const [nsLine, json] = [r.stdout.slice(0, r.stdout.indexOf('\n')), r.stdout.slice(r.stdout.indexOf('\n') + 1)];
    expect(nsLine).not.toBe(nsId('self', 'net'));
    const links = JSON.parse(json) as { ifname: string; flags: string[] }[];
    expect(links.map((l) => l.ifname)).toEqual(['lo']);
    expect(links[0]!.flags).toContain('UP');
  });

  // What the command sees of its network namespace, from inside: the links `ip` lists, what
  // /sys/class/net lists, its user namespace and (lsns, by ioctl NS_GET_USERNS) the owner of
  // its network namespace, which is readable from inside only when it is its own or nested.
  const NET_VIEW =
    "ip -o link | cut -d: -f2 | cut -d@ -f1 | tr -d ' ' | sort | tr '\\n' ' '; echo; ls /sys/class/net | sort | tr '\\n' ' '; echo; " +
    'readlink /proc/self/ns/user | tr -dc 0-9; echo; lsns -n -r -o ONS -t net -p $$; cat /sys/class/net/lo/flags';
  function netView(stdout: string) {
    const [links, sys, user, owner, loFlags] = stdout.split('\n');
    return { links: links!.trim(), sys: sys!.trim(), user, owner, loUp: (Number(loFlags) & 1) === 1 };
  }

  usernsTest("--net none: lo up, /sys/class/net lists lo only, and the command's user namespace owns the network namespace", async () => {
    // As root and, in the rootless run, as an unprivileged user: lo comes up from inside.
    const r = await nsbox(['run', '--net', 'none', '--', 'sh', '-c', NET_VIEW]);
    expect(r.stderr).toBe('');
    const v = netView(r.stdout);
    expect(v.links).toBe('lo');
    expect(v.sys).toBe('lo');
    expect(v.loUp).toBe(true);
    expect(v.owner).toBe(v.user);
    expect(r.code).toBe(0);
  });

  testIf(isRoot && existsSync('/bin/busybox'), 'needs root (the veth host end) and busybox (ping)')(
    "--net veth: ping both ways, /sys/class/net matches ip link inside, the network namespace is the command's own, the host end goes with it",
    async () => {
      const run = start([
        'run',
        '--no-nat', // no NAT in the host's own network namespace
        '--net',
        'veth:10.212.0.2/30',
        '--',
        'sh',
        '-c',
        `busybox ping -c1 -W2 10.212.0.1 >/dev/null && echo pinged; ${NET_VIEW}; read x`,
      ]);
      try {
        let out = '';
        run.p.stdout.on('data', (d: string) => (out += d));
        for (let i = 0; i < 500 && out.split('\n').length < 7; i++) await new Promise((r) => setTimeout(r, 20));
        expect(out.startsWith('pinged\n')).toBe(true);
        const v = netView(out.slice('pinged\n'.length));
        expect(v.links).toBe('eth0 lo');
        expect(v.sys).toBe('eth0 lo');
        expect(v.owner).toBe(v.user);
        // From the host, while the command runs: the host end has its address and answers.
        expect(execFileSync('ip', ['-br', 'addr'], { encoding: 'utf8' })).toContain('10.212.0.1/30');
        execFileSync('busybox', ['ping', '-c1', '-W2', '10.212.0.2'], { stdio: 'ignore' });
      } finally {
        run.p.stdin.end('\n');
      }
      expect((await run.done).code).toBe(0);
      for (let i = 0; i < 200 && execFileSync('ip', ['-br', 'addr'], { encoding: 'utf8' }).includes('10.212.0.1/'); i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(execFileSync('ip', ['-br', 'addr'], { encoding: 'utf8' })).not.toContain('10.212.0.1/');
    },
  );

  rootTest('--net veth: a command that is not found leaves no veth behind (exit 127)', async () => {
    const r = await nsbox(['run', '--no-nat', '--net', 'veth:10.213.0.2/30', '--', 'nsbox-no-such-command']);
    expect(r.code).toBe(127);
    // Deleted by nsbox before it exits, not later by the kernel.
    expect(execFileSync('ip', ['-br', 'addr'], { encoding: 'utf8' })).not.toContain('10.213.0.1/');
  });

  rootlessTest('--net veth without root: refused at the network step (EPERM creating the host end), exit 125', async () => {
    const r = await nsbox(['run', '--no-nat', '--net', 'veth:10.214.0.2/30', '--', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('EPERM');
    expect(r.stderr).toContain("'network'");
  });

  rootTest("--net host: the host's network namespace", async () => {
    const r = await nsbox(['run', '--net', 'host', '--', 'readlink', '/proc/self/ns/net']);
    expect(r.stdout).toBe(`${nsId('self', 'net')}\n`);
  });

  testIf(isRoot && existsSync('/bin/busybox'), 'needs root and busybox (nc)')(
    '--net veth:ADDR/PREFIX: eth0 with the address, a default route, and TCP to a server on the host end',
    async () => {
      const { createServer } = await import('node:net');
      // The host end's address exists only once nsbox has made it: listen on any address.
      const any = createServer((s) => s.end('from the host'));
      await new Promise<void>((r) => any.listen(0, '0.0.0.0', r));
      const port = (any.address() as { port: number }).port;
      try {
        const r = await nsbox([
          'run',
          '--no-nat', // no NAT in the host's own network namespace
          '--net',
          'veth:10.211.0.2/30',
          '--',
          'sh',
          '-c',
          `ip -j addr show eth0; ip -j route; busybox nc 10.211.0.1 ${port} </dev/null`,
        ]);
        const lines = r.stdout.split('\n');
        const addr = JSON.parse(lines[0]!) as { addr_info: { local: string; prefixlen: number }[] }[];
        expect(addr[0]!.addr_info).toContainEqual(expect.objectContaining({ local: '10.211.0.2', prefixlen: 30 }));
        expect(JSON.parse(lines[1]!)).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.211.0.1', dev: 'eth0' }));
        expect(lines.slice(2).join('\n')).toBe('from the host');
        expect(r.code).toBe(0);
      } finally {
        await new Promise((r) => any.close(r));
      }
      // The namespace ended with the command and took both veth ends with it.
      for (let i = 0; i < 200 && execFileSync('ip', ['-br', 'addr'], { encoding: 'utf8' }).includes('10.211.0.1'); i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(execFileSync('ip', ['-br', 'addr'], { encoding: 'utf8' })).not.toContain('10.211.0.1');
    },
  );
});

describe('nsbox run: --join', () => {
  rootTest("--join net=PID and --join net=PATH enter that process's network namespace", async () => {
    const holder = spawn('sleep', ['30'], { namespaces: ['net'], stdio: 'ignore' });
    try {
      const want = nsId(holder.pid, 'net');
      expect(want).not.toBe(nsId('self', 'net'));
      const byPid = await nsbox(['run', '--join', `net=${holder.pid}`, '--', 'readlink', '/proc/self/ns/net']);
      expect(byPid.stdout).toBe(`${want}\n`);
      const byPath = await nsbox([
        'run',
        '--namespaces',
        'none',
        '--join',
        `net=/proc/${holder.pid}/ns/net`,
        '--',
        'readlink',
        '/proc/self/ns/net',
      ]);
      expect(byPath.stdout).toBe(`${want}\n`);
      // Witness: ip sees the holder's namespace as having only lo, and so does the command.
      const links = await nsbox(['run', '--namespaces', 'none', '--join', `net=${holder.pid}`, '--', 'ip', '-o', 'link']);
      expect(
        links.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(':')[1]!.trim()),
      ).toEqual(['lo']);
    } finally {
      holder.kill('SIGKILL');
      await holder.exited;
    }
  });

  usernsTest('rootless: --join user=PID --join net=PID, with new namespaces made inside', async () => {
    const holder = spawn('sleep', ['30'], { namespaces: ['user', 'net'], stdio: 'ignore' });
    try {
      const r = await nsbox([
        'run',
        '--join',
        `user=${holder.pid}`,
        '--join',
        `net=${holder.pid}`,
        '--hostname',
        'in',
        '--',
        'sh',
        '-c',
        'readlink /proc/self/ns/user /proc/self/ns/net; echo $$; hostname',
      ]);
      // PID 2: the command of a new pid namespace whose PID 1 is nsbox's init.
      expect(r.stdout.trim().split('\n')).toEqual([nsId(holder.pid, 'user'), nsId(holder.pid, 'net'), '2', 'in']);
    } finally {
      holder.kill('SIGKILL');
      await holder.exited;
    }
  });

  test('a path of another kind, or no namespace at all, is exit 125', async () => {
    const wrongKind = await nsbox(['run', '--namespaces', 'none', '--join', 'uts=/proc/self/ns/net', '--', 'true']);
    expect(wrongKind.code).toBe(125);
    expect(wrongKind.stderr).toMatch(/^nsbox: .*net namespace/);
    const missing = await nsbox(['run', '--namespaces', 'none', '--join', 'net=/nonexistent/ns', '--', 'true']);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toMatch(/^nsbox: ENOENT: .*'\/nonexistent\/ns'/);
  });
});

describe('nsbox run: signals', () => {
  usernsTest('SIGTERM to nsbox reaches the command: `--namespaces user -- sleep 30` exits 143', async () => {
    const { p, done } = start(['run', '--namespaces', 'user', '--', 'sleep', '30']);
    await childRunning(p.pid!, 'sleep');
    p.kill('SIGTERM');
    const r = await done;
    expect(r.code).toBe(143);
    expect(r.signal).toBeNull();
  });

  usernsTest('a forwarded signal reaches a command that handles it (SIGUSR1 trap in a new pid namespace, through the init)', async () => {
    const { p, done } = start(['run', '--', 'sh', '-c', 'trap "exit 42" USR1; sleep 30 & wait']);
    // The trap is set before sh forks sleep: wait for the grandchild.
    await childRunning(await childRunning(await childRunning(p.pid!, 'nsbox-init'), 'sh'), 'sleep');
    p.kill('SIGUSR1');
    expect((await done).code).toBe(42);
  });

  usernsTest('SIGKILL of nsbox kills the command (die-with-parent default); --no-die-with-parent lets it live', async () => {
    const a = start(['run', '--namespaces', 'user', '--', 'sleep', '30']);
    const sleeper = await childRunning(a.p.pid!, 'sleep');
    a.p.kill('SIGKILL');
    await a.exited;
    expect(await dead(sleeper)).toBe(true);

    // Surviving is shown by a positive event, not by waiting a while: once nsbox has been
    // reaped (any PR_SET_PDEATHSIG has been sent by then), the command still answers SIGUSR1
    // by writing a file. Its trap is set before it forks sleep: wait for the grandchild.
    const box = mkdtempSync(join(tmpdir(), 'nsbox-cli-survive-'));
    chmodSync(box, 0o777); // the command runs as a mapped uid that may not own it
    const answer = join(box, 'alive');
    const b = start([
      'run',
      '--namespaces',
      'user',
      '--no-die-with-parent',
      '--',
      'sh',
      '-c',
      `trap "echo alive > ${answer}; exit 0" USR1; sleep 30 & wait`,
    ]);
    const survivor = await childRunning(b.p.pid!, 'sh');
    const grandchild = await childRunning(survivor, 'sleep');
    b.p.kill('SIGKILL');
    await b.exited;
    try {
      process.kill(survivor, 'SIGUSR1');
      expect(await dead(survivor)).toBe(true);
      expect(readFileSync(answer, 'utf8')).toBe('alive\n');
    } finally {
      for (const pid of [survivor, grandchild]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(box, { recursive: true, force: true });
    }
  });
});

describe('nsbox: errors and help', () => {
  test('a missing command: exit 127, message naming execve', async () => {
    const r = await nsbox(['run', '--namespaces', 'none', '--env', 'PATH=/usr/bin:/bin', '--', 'nsbox-no-such-command']);
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/^nsbox: ENOENT: .*execve 'nsbox-no-such-command'/);
  });

  test('a file that is not executable: exit 126, by path and found in PATH', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsbox-cli-'));
    try {
      const f = join(dir, 'nsbox-test-noexec');
      writeFileSync(f, '#!/bin/sh\necho ran\n');
      chmodSync(f, 0o644);
      const byPath = await nsbox(['run', '--namespaces', 'none', '--', f]);
      expect(byPath.code).toBe(126);
      expect(byPath.stdout).toBe('');
      expect(byPath.stderr).toMatch(/^nsbox: EACCES: .*execve/);
      const inPath = await nsbox(['run', '--namespaces', 'none', '--env', `PATH=${dir}:/usr/bin`, '--', 'nsbox-test-noexec']);
      expect(inPath.code).toBe(126);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  testIf(!isRoot, 'root can search any directory')(
    'a PATH search that meets an unsearchable directory and finds nothing: 127, as in bash',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'nsbox-cli-'));
      try {
        chmodSync(dir, 0o000);
        const r = await nsbox(['run', '--namespaces', 'none', '--env', `PATH=${dir}:/usr/bin`, '--', 'nsbox-no-such-command']);
        expect(r.stderr).toMatch(/^nsbox: EACCES: .*execve/); // execvp(3) reports the EACCES it met
        expect(r.code).toBe(127);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test.each([
    [['run', '--bogus', '--', 'true']],
    [['run', '--uid', 'x', '--', 'true']],
    [['run']],
    [['frobnicate']],
    [['run', '--namespaces', 'none', '--hostname', 'x', '--', 'true']],
  ])('bad arguments %j: exit 125, a message and a hint to --help', async (args) => {
    const r = await nsbox(args);
    expect(r.code).toBe(125);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^nsbox: .+\nTry 'nsbox --help' for more information\.\n$/);
  });

  test('--help documents every option of the parser, with examples; exit 0', async () => {
    const r = await nsbox(['--help']);
    expect(r.code).toBe(0);
    const flat = r.stdout.replace(/\s+/g, ' ');
    for (const o of OPTIONS) {
      expect(r.stdout).toMatch(new RegExp(`^  --${o.name}\\b`, 'm'));
      expect(flat).toContain(o.help.replace(/\s+/g, ' '));
    }
    expect(r.stdout).toContain("nsbox run --hostname box -- sh -c 'echo $$; id -u; hostname'");
    expect((await nsbox(['run', '-h'])).stdout).toBe(r.stdout);
  });

  test('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(await nsbox(['--version'])).toEqual({ code: 0, signal: null, stdout: `nsbox ${pkg.version}\n`, stderr: '' });
  });

  test("the bin (dist/nsbox-cli/nsbox.cjs) and tsc's dist/cli.js start with a node shebang; the bins require no builtin", () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(join(root, pkg.bin.nsbox!)).toBe(cli);
    expect(cli).toBe(join(root, 'dist/nsbox-cli/nsbox.cjs'));
    for (const f of [cli, join(root, 'dist/cli.js')]) expect(readFileSync(f, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(statSync(cli).mode & 0o111).toBe(0o111); // esbuild makes a file with a shebang executable
    // Node's CommonJS loader runs the bins: a builtin is taken with process.getBuiltinModule(),
    // not through require()'s Module._load (scripts/bundle.mjs); no other require() is left.
    for (const f of [cli, join(root, 'dist/oci-runtime/nsbox-oci.cjs')]) {
      const text = readFileSync(f, 'utf8');
      expect(text).toContain('process.getBuiltinModule("node:vm")');
      expect(text.match(/\brequire\("node:[^"]+"\)/g) ?? [], f).toEqual([]);
    }
  });

  usernsTest("tsc's unlinked dist/cli.js runs the same command", async () => {
    const r = await new Promise<Result>((resolve) => {
      const p = spawnProcess(process.execPath, [join(root, 'dist/cli.js'), 'run', '--hostname', 'box', '--', 'hostname'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr: '' }));
    });
    expect(r).toMatchObject({ code: 0, stdout: 'box\n' });
  });
});

// What makes the bin start fast (docs/performance.md, "`nsbox run` start-up"): one linked file
// run through V8's code cache, the default seccomp filter kept per build, and no module a run
// without a network does not use.
describe('nsbox: the linked bin', () => {
  const linked = join(root, 'dist/nsbox-cli');
  // The caches are written only where this user may: the owner of the linked files.
  const ownTest = testIf(canUserns && statSync(linked).uid === process.geteuid!(), "dist/nsbox-cli is not this user's");

  usernsTest('a run without network options loads no node:net, node:crypto, node:stream, node:child_process or node:os', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsbox-cli-mods-'));
    try {
      // At exit, the builtins this process loaded, on fd 3.
      const preload = join(dir, 'list.cjs');
      writeFileSync(
        preload,
        "process.on('exit', () => require('fs').writeSync(3, JSON.stringify(process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)))));",
      );
      // First a run that fills the seccomp store (after a build, compiling the profile loads node:os).
      expect(spawnSync(process.execPath, [cli, 'run', '--', 'true']).status).toBe(0);
      const r = spawnSync(process.execPath, ['--require', preload, cli, 'run', '--', 'true'], {
        stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
      });
      expect(r.status).toBe(0);
      const mods = JSON.parse(r.output[3] as string) as string[];
      expect(mods).toContain('vm'); // the loader's: the list is the bin's process
      for (const m of ['net', 'crypto', 'stream', 'child_process', 'tty', 'os']) expect(mods).not.toContain(m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // strace(1) as the witness of every file the bin's main thread opens: the loader and the
  // seccomp store read through the addon (csrc/startup_files.cc), which a node:fs hook misses.
  testIf(canUserns && statSync(linked).uid === process.geteuid!() && tools.strace, "needs strace, and dist/nsbox-cli this user's")(
    'a run whose filter is in the store never reads the default seccomp profile, nor rest.cjs (nor with --net none)',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'nsbox-cli-reads-'));
      try {
        let n = 0;
        const run = (...opts: string[]) => {
          const log = join(dir, `opens-${n++}`);
          // No -f: the bin's own thread only, not the container's processes.
          const r = spawnSync(
            'strace',
            ['-qq', '-e', 'trace=open,openat,openat2', '-e', 'signal=none', '-o', log, process.execPath, cli, 'run', ...opts, '--', 'true'],
            {
              stdio: ['ignore', 'ignore', 'pipe'],
              encoding: 'utf8',
            },
          );
          expect(r.status, r.stderr).toBe(0);
          return [...readFileSync(log, 'utf8').matchAll(/open(?:at2?)?\((?:[^,"]*, )?"([^"]*)"/g)].map((m) => m[1]!);
        };
        run(); // the store has the filter from here on
        const paths = run();
        expect(paths.some((p) => p.endsWith('/cli.cjs'))).toBe(true); // the witness sees the loader's reads
        expect(paths.some((p) => p.includes('/@seccomp/'))).toBe(true);
        expect(paths.filter((p) => p.endsWith('default.json'))).toEqual([]);
        // The modules only lazy imports reach (scripts/bundle.mjs): not read by a plain run.
        expect(paths.filter((p) => p.endsWith('/rest.cjs'))).toEqual([]);
        // lo up is the child's own step (spawn's network.lo): the network module stays unread.
        expect(run('--net', 'none').filter((p) => p.endsWith('/rest.cjs'))).toEqual([]);
        // A veth is the network module's (root only): the witness sees that read.
        if (isRoot) expect(run('--net', 'veth', '--no-nat').some((p) => p.endsWith('/rest.cjs'))).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  // src/exit-now.ts: the 'exit' listeners run (the code cache's writer renames its file into
  // place), then _exit(2): no thread of Node's platform ends on its own (strace sees no exit(2)
  // but exit_group's), unless Node options may need the teardown.
  testIf(canUserns && statSync(linked).uid === process.geteuid!() && tools.strace, "needs strace, and dist/nsbox-cli this user's")(
    "the bin ends without Node's teardown after its 'exit' listeners, unless Node options ask for it; its output is whole",
    () => {
      const env: NodeJS.ProcessEnv = { ...process.env };
      delete env.NODE_OPTIONS;
      delete env.NODE_V8_COVERAGE;
      const traced = (e: NodeJS.ProcessEnv, args: string[]) => {
        const trace = ['-f', '-qq', '-e', 'trace=exit,rename,renameat,renameat2', '-e', 'signal=none'];
        const r = spawnSync('strace', [...trace, process.execPath, cli, ...args], {
          encoding: 'utf8',
          env: e,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        expect(r.status, r.stderr).toBe(0);
        // Only the bin's threads: the container's processes are traced too (-f), and end as they do.
        const ours = r.stderr.split('\n').filter((l) => !/^\[pid\s+\d+\] <\.\.\./.test(l));
        return {
          out: r.stdout,
          exits: ours.filter((l) => /\bexit\(/.test(l)).length,
          renamed: /rename(?:at2?)?\(.*cli\.cjs\.cache/.test(r.stderr),
        };
      };
      rmSync(join(linked, 'cli.cjs.cache'), { force: true });
      const fast = traced(env, ['run', '--', 'true']);
      expect(fast.renamed).toBe(true); // the 'exit' listener wrote the cache
      expect(fast.exits).toBe(0);
      const slow = traced({ ...env, NODE_OPTIONS: '--no-warnings' }, ['run', '--', 'true']);
      expect(slow.exits).toBeGreaterThan(0);
      const help = traced(env, ['--help']);
      const helpSlow = traced({ ...env, NODE_OPTIONS: '--no-warnings' }, ['--help']);
      expect([help.exits, helpSlow.exits > 0]).toEqual([0, true]);
      expect(help.out).toContain('Usage: nsbox');
      expect(help.out).toBe(helpSlow.out);
      // Into a pipe already almost full (60,000 of its 65,536 bytes unread, the reader asleep):
      // Node queues what does not fit, and the bin waits for it to leave before it exits.
      const piped = spawnSync(
        'sh',
        ['-c', `{ head -c 60000 /dev/zero; "$0" "$1" --help; } | { sleep 0.3; wc -c; }`, process.execPath, cli],
        {
          encoding: 'utf8',
          env,
        },
      );
      expect(Number(piped.stdout.trim())).toBe(60000 + Buffer.byteLength(help.out));
    },
  );

  // A cache is written by its first few runs (generations), each adding what it compiled: runs
  // that compile little of a command (--help, a usage error) must not be among them.
  ownTest('--help, --version and a usage error write no code cache; the first run after them does', async () => {
    const cache = join(linked, 'cli.cjs.cache');
    rmSync(cache, { force: true });
    for (let i = 0; i < 4; i++) expect((await nsbox(['--help'])).code).toBe(0);
    expect((await nsbox(['--version'])).code).toBe(0);
    expect((await nsbox(['run', '--no-such-flag', '--', 'true'])).code).toBe(125);
    expect(existsSync(cache)).toBe(false);
    expect((await nsbox(['run', '--', 'true'])).code).toBe(0);
    const bytes = readFileSync(cache);
    expect(bytes.subarray(0, 200).toString('latin1')).toMatch(/^nsbox-oci code cache 1 .* 1 *\n/);
    // Its data starts 16-byte aligned (the header line padded): V8 copies cached data that is
    // not pointer-aligned, where the loader hands it the file's own pages.
    expect((bytes.indexOf(10) + 1) % 16).toBe(0);
  });

  test("the linked files are written inside the loader's wrapper (scripts/bundle.mjs and linked.ts agree); the bin is not", () => {
    for (const f of ['cli.cjs', 'rest.cjs']) {
      const text = readFileSync(join(linked, f), 'latin1');
      expect(text.startsWith(LINKED_WRAPPER)).toBe(true);
      expect(text.endsWith('\n})')).toBe(true);
    }
    expect(readFileSync(join(linked, 'nsbox.cjs'), 'latin1').startsWith('#!/usr/bin/env node')).toBe(true);
  });

  ownTest('the code cache beside cli.cjs names the file and V8; the bin runs with NSBOX_CODE_CACHE=0 too', async () => {
    expect((await nsbox(['run', '--', 'true'])).code).toBe(0);
    const cache = join(linked, 'cli.cjs.cache');
    const st = statSync(join(linked, 'cli.cjs'));
    const head = readFileSync(cache).subarray(0, 200).toString('latin1');
    expect(head.startsWith(`nsbox-oci code cache 1 ${process.versions.v8} ${st.size} ${st.mtimeMs} ${st.ino} `)).toBe(true);
    expect(statSync(cache).mode & 0o022).toBe(0);
    const r = spawnSync(process.execPath, [cli, 'run', '--', 'sh', '-c', 'echo ok'], {
      encoding: 'utf8',
      env: { ...process.env, NSBOX_CODE_CACHE: '0' },
    });
    expect(r).toMatchObject({ status: 0, stdout: 'ok\n' });
  });

  // A global install's linked files are root's, and nobody else may write beside them. Other
  // users keep no cache of their own: their ~/.cache is a directory a rootless sandbox may be
  // given to write, and a V8 code cache or a compiled filter there was code and policy a
  // sandbox could forge for the user's next run (found in review on 2026-11-30). They read
  // what root wrote beside the files instead.
  const other = 65534;
  const otherReads =
    isRoot &&
    spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(join(linked, 'cli.cjs'))}, 4)`], {
      uid: other,
      gid: other,
    }).status === 0;
  testIf(
    canUserns && isRoot && otherReads && statSync(linked).uid !== other,
    'needs root (the bin runs as uid 65534), user namespaces and a checkout uid 65534 can read',
  )('a user who does not own the linked files writes no cache anywhere (not in ~/.cache, not in XDG_CACHE_HOME)', () => {
    const home = mkdtempSync(join(tmpdir(), 'nsbox-cli-home-'));
    chownSync(home, other, other);
    try {
      const run = (env: Record<string, string> = {}) => {
        const r = spawnSync(process.execPath, [cli, 'run', '--', 'sh', '-c', 'unshare -U true 2>/dev/null; echo $?'], {
          uid: other,
          gid: other,
          env: { PATH: process.env.PATH!, HOME: home, ...env },
          encoding: 'utf8',
        });
        expect(r.status, r.stderr).toBe(0);
        return r.stdout.trim();
      };
      const beside = readdirSync(linked)
        .filter((f) => f.endsWith('.cache'))
        .map((f) => [f, statSync(join(linked, f)).mtimeMs] as const);
      // The default filter applies (unshare refused) on every run, compiled or read from root's store.
      for (let i = 0; i < 3; i++) expect(run()).not.toBe('0');
      expect(run({ XDG_CACHE_HOME: join(home, 'xdg') })).not.toBe('0');
      expect(readdirSync(home)).toEqual([]);
      // Nothing of root's beside the files was rewritten by this user.
      for (const [f, mtime] of beside) expect(statSync(join(linked, f)).mtimeMs).toBe(mtime);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  ownTest("the default seccomp filter is kept in @seccomp (this user's, 0600) and a bad entry is compiled again", async () => {
    expect((await nsbox(['run', '--', 'true'])).code).toBe(0);
    const store = join(linked, '@seccomp');
    expect(statSync(store).mode & 0o777).toBe(0o755); // others read it (a global install's): no secret
    const files = readdirSync(store).filter((f) => f.endsWith('.bpf'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(statSync(join(store, f))).toMatchObject({ uid: process.geteuid!() });
    for (const f of files) expect(statSync(join(store, f)).mode & 0o777).toBe(0o644);
    const saved = files.map((f) => [f, readFileSync(join(store, f))] as const);
    try {
      for (const [f] of saved) writeFileSync(join(store, f), '{"v":1}\n', { mode: 0o600 });
      // The filter still applies: the default profile refuses unshare(2) (EPERM).
      const r = await nsbox(['run', '--', 'sh', '-c', 'unshare -U true 2>/dev/null; echo $?']);
      expect(r).toMatchObject({ code: 0, stdout: '1\n' });
    } finally {
      for (const [f, b] of saved) writeFileSync(join(store, f), b, { mode: 0o600 });
    }
  });
});

describe('nsbox run: container roots', () => {
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => {
    try {
      return readFileSync(p).length > 500_000;
    } catch {
      return false;
    }
  });
  const ctest = testIf(canUserns && busybox !== undefined, 'needs user namespaces and a static busybox (Debian busybox-static)');

  usernsTest("by default the root is a tmpfs with the host's system directories read-only", async () => {
    const r = await nsbox(['run', '--', 'sh', '-c', 'ls /; touch /usr/nsbox-cli 2>&1; echo ok > /tmp/f && cat /tmp/f']);
    expect(r.code).toBe(0);
    const entries = r.stdout.split('\n');
    for (const d of ['usr', 'etc', 'proc', 'sys', 'dev', 'tmp']) expect(entries).toContain(d);
    expect(entries).not.toContain('root'); // the host's /root is not there
    expect(r.stdout).toMatch(/Read-only file system/);
    expect(r.stdout).toMatch(/ok\n$/);
  });

  ctest('--layer stacks layers with a throw-away top; --volume and --tmpfs mount inside', async () => {
    const d = mkdtempSync(join(tmpdir(), 'nsbox-cli-'));
    chmodSync(d, 0o755);
    try {
      const base = join(d, 'base');
      execFileSync('mkdir', ['-p', join(base, 'bin'), join(d, 'top/etc'), join(d, 'vol')]);
      execFileSync('cp', [busybox!, join(base, 'bin/busybox')]);
      for (const a of execFileSync(busybox!, ['--list'], { encoding: 'utf8' }).trim().split('\n')) {
        if (a !== 'busybox') symlinkSync('busybox', join(base, 'bin', a));
      }
      writeFileSync(join(d, 'top/etc/motd'), 'top layer\n');
      writeFileSync(join(d, 'vol/data'), 'volume\n');
      chmodSync(join(d, 'vol'), 0o777);
      const r = await nsbox([
        'run',
        '--layer',
        base,
        '--layer',
        join(d, 'top'),
        '--volume',
        `${join(d, 'vol')}:/data:ro`,
        '--tmpfs',
        '/scratch',
        '--',
        '/bin/sh',
        '-c',
        'exec 2>&1; cat /etc/motd /data/data; echo w > /newfile && cat /newfile; echo x > /data/x; echo s > /scratch/s && cat /scratch/s',
      ]);
      expect(r.stdout).toMatch(/^top layer\nvolume\nw\n.*Read-only file system\ns\n$/s);
      expect(readdirSync(base).sort()).toEqual(['bin']); // the layer is untouched
      expect(readdirSync(join(d, 'vol'))).toEqual(['data']);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  rootTest('--share user as root: no CAP_MKNOD (host root could make a node of a host disk); --cap-add MKNOD puts it back', async () => {
    // The command is host root here: a node of the host's /dev/null (1:3) stands for any device.
    const script = 'grep CapBnd /proc/self/status; mknod /tmp/n c 1 3 2>&1 && echo made';
    const r = await nsbox(['run', '--share', 'user', '--', 'sh', '-c', script]);
    expect(r.stdout).toMatch(/Operation not permitted/);
    expect(r.stdout).not.toMatch(/made/);
    const bnd = BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(r.stdout)![1]}`);
    expect(bnd & (1n << 27n)).toBe(0n); // CAP_MKNOD
    expect(bnd & (1n << 0n)).toBe(1n); // CAP_CHOWN: the rest of Docker's set stays
    const added = await nsbox(['run', '--share', 'user', '--cap-add', 'MKNOD', '--', 'sh', '-c', script]);
    expect(added.stdout).toMatch(/made\n$/);
    // With the user namespace (the default) the set is Docker's, MKNOD included.
    const own = await nsbox(['run', '--', 'sh', '-c', 'grep CapBnd /proc/self/status']);
    expect(BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(own.stdout)![1]}`) & (1n << 27n)).toBe(1n << 27n);
  });

  rootTest('--share user --privileged as root: every capability this process holds (never one its bounding set lacks: EPERM)', async () => {
    const r = await nsbox(['run', '--share', 'user', '--privileged', '--', 'sh', '-c', 'grep CapEff /proc/self/status']);
    expect(r.code, r.stderr).toBe(0);
    const prm = /CapPrm:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1];
    expect(/CapEff:\s*([0-9a-f]+)/.exec(r.stdout)![1]).toBe(prm);
  });

  rootTest(
    "--volume SRC:DST:idmap keeps the host's owners inside; without it they are nobody and root's files are not writable",
    async () => {
      const d = mkdtempSync(join(tmpdir(), 'nsbox-cli-'));
      chmodSync(d, 0o755);
      try {
        writeFileSync(join(d, 'mine'), 'x\n');
        execFileSync('chown', ['1234:1234', join(d, 'mine')]);
        const script = 'stat -c "%u:%g %n" /v/mine /v; echo w > /v/new 2>/dev/null && echo wrote || echo refused';
        const plain = await nsbox(['run', '--volume', `${d}:/v`, '--', 'sh', '-c', script]);
        expect(plain.stdout).toBe('65534:65534 /v/mine\n65534:65534 /v\nrefused\n');
        const mapped = await nsbox(['run', '--volume', `${d}:/v:idmap`, '--', 'sh', '-c', script]);
        expect(mapped.stderr).toBe('');
        expect(mapped.stdout).toBe('1234:1234 /v/mine\n0:0 /v\nwrote\n');
        // The write went through the idmapped mount: on the host it is host root's.
        expect(statSync(join(d, 'new')).uid).toBe(0);
        const ro = await nsbox(['run', '--volume', `${d}:/v:ro,idmap`, '--', 'sh', '-c', script]);
        expect(ro.stdout).toBe('1234:1234 /v/mine\n0:0 /v\nrefused\n');
      } finally {
        rmSync(d, { recursive: true, force: true });
      }
    },
  );
});

/** `nsbox ...args` started in the directory `cwd`. */
function nsboxIn(cwd: string, args: string[]): Promise<Result> {
  const p = spawnProcess(process.execPath, [cli, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** An error that names `flag` first, says `hint`, ends with the Try line, and exits 125. */
function expectFlagError(r: Result, flag: string, hint: RegExp): void {
  expect(r.code).toBe(125);
  expect(r.stdout).toBe('');
  expect(r.stderr.startsWith(`nsbox: ${flag}: `)).toBe(true);
  expect(r.stderr).toMatch(hint);
  expect(r.stderr).toMatch(/\nTry 'nsbox --help' for more information\.\n$/);
}

describe('nsbox run: errors say which flag and what to do', () => {
  const v2 = findCgroup2();
  const rootlessUserns = testIf(
    canUserns && !isRoot,
    isRoot ? 'root may do this without a hint' : 'user namespaces cannot be created here',
  );

  rootlessUserns('--share user without root: the flag, and to keep the user namespace or be root', async () => {
    const r = await nsbox(['run', '--share', 'user', '--', 'true']);
    expectFlagError(
      r,
      '--share user',
      /EPERM.*clone3.* — new .*namespaces without a new user namespace need root.*drop --share user.*run nsbox as root/,
    );
    const explicit = await nsbox(['run', '--namespaces', 'uts', '--', 'true']);
    expectFlagError(explicit, '--namespaces uts', /new uts namespace without a new user namespace needs root.*add 'user' to --namespaces/);
  });

  usernsTest('--uid/--gid outside the id map: which ids are mapped and how to map more', async () => {
    const r = await nsbox(['run', '--uid', '70000', '--', 'true']);
    const mapped = isRoot ? /nsbox maps uids 0-65535 by default/ : new RegExp(`only uid 0 is mapped \\(your uid ${uid}\\)`);
    expectFlagError(r, '--uid 70000', /EINVAL.*setresuid.* — uid 70000 is not mapped in the user namespace/);
    expect(r.stderr).toMatch(mapped);
    expect(r.stderr).toMatch(
      isRoot ? /Map it with --map-uid INSIDE:OUTSIDE:COUNT\n/ : /--map-uid .*newuidmap and a range in \/etc\/subuid.*or run nsbox as root/,
    );
    const g = await nsbox(['run', '--gid', '70000', '--', 'true']);
    expectFlagError(g, '--gid 70000', /gid 70000 is not mapped.*--map-gid/);
  });

  rootlessUserns('--net veth without root: the flag, and that it needs root', async () => {
    const r = await nsbox(['run', '--net', 'veth', '--', 'true']);
    expectFlagError(r, '--net veth', /EPERM.* — .*needs root.*Run nsbox as root, or use --share net/);
  });

  testIf(
    v2 !== null && !v2.controllers.includes('memory'),
    v2 === null ? 'cgroup v2 is not mounted here' : 'memory is a cgroup v2 controller here',
  )('--memory where the memory controller is not in cgroup v2 (a hybrid host): the flag and why', async () => {
    const r = await nsbox(['run', '--memory', '64M', '--', 'true']);
    expectFlagError(r, '--memory', /the memory controller is not available in cgroup v2 here.*Run without --memory/);
  });

  testIf(v2 !== null && !isRoot, isRoot ? 'root may create cgroups anywhere' : 'cgroup v2 is not mounted')(
    '--cgroup-parent a cgroup not delegated to the user: the flag and systemd-run -p Delegate=yes',
    async () => {
      const r = await nsbox(['run', '--cgroup-parent', v2!.mountPoint, '--', 'true']);
      expectFlagError(
        r,
        '--cgroup-parent',
        /EACCES.*mkdir.* — .* is not delegated to you: run nsbox in a delegated cgroup \(systemd-run --user -p Delegate=yes --scope nsbox run …\)/,
      );
    },
  );

  usernsTest('--cwd that is not in the new root: the flag, exit 125', async () => {
    const r = await nsbox(['run', '--cwd', '/nonexistent-nsbox', '--', 'true']);
    expectFlagError(r, '--cwd /nonexistent-nsbox', /ENOENT.* — the directory is looked up inside the command's root/);
  });
});

describe('nsbox run: /etc/hostname and the working directory inside', () => {
  usernsTest('/etc/hostname says what hostname says: with --hostname, without it, with --read-only', async () => {
    const script = 'hostname; cat /etc/hostname';
    const named = await nsbox(['run', '--hostname', 'box', '--', 'sh', '-c', script]);
    expect(named.stdout).toBe('box\nbox\n');
    const plain = await nsbox(['run', '--', 'sh', '-c', script]);
    expect(plain.stdout).toBe(`${hostname()}\n${hostname()}\n`);
    const ro = await nsbox([
      'run',
      '--hostname',
      'ro',
      '--read-only',
      '--',
      'sh',
      '-c',
      `${script}; echo x 2>/dev/null > /etc/hostname || echo refused`,
    ]);
    expect(ro.stdout).toBe('ro\nro\nrefused\n');
  });

  usernsTest("/etc/hostname with --join uts: the joined namespace's hostname", async () => {
    const holder = spawn('sleep', ['30'], { namespaces: ['user', 'uts'], hostname: 'held', stdio: 'ignore' });
    try {
      const r = await nsbox([
        'run',
        '--join',
        `user=${holder.pid}`,
        '--join',
        `uts=${holder.pid}`,
        '--',
        'sh',
        '-c',
        'hostname; cat /etc/hostname',
      ]);
      expect(r.stdout).toBe('held\nheld\n');
    } finally {
      holder.kill('SIGKILL');
      await holder.exited;
    }
  });

  usernsTest("the command starts in nsbox's cwd where the new root has it (as bwrap), else in /", async () => {
    // /usr/share is one of the host's directories in the default root.
    expect((await nsboxIn('/usr/share', ['run', '--', 'pwd'])).stdout).toBe('/usr/share\n');
    const d = mkdtempSync(join(tmpdir(), 'nsbox-cli-cwd-'));
    chmodSync(d, 0o755); // as root, the command is an id block's root
    try {
      // The default root has a fresh /tmp: the temp directory is not in it.
      expect(await nsboxIn(d, ['run', '--', 'pwd'])).toMatchObject({ code: 0, stdout: '/\n' });
      // Bound at the same path, it is.
      expect((await nsboxIn(d, ['run', '--volume', `${d}:${d}:ro`, '--', 'pwd'])).stdout).toBe(`${d}\n`);
      // Without a mount namespace the cwd is simply inherited.
      expect((await nsboxIn(d, ['run', '--namespaces', 'user', '--', 'pwd'])).stdout).toBe(`${d}\n`);
      // --cwd wins.
      expect((await nsboxIn(d, ['run', '--cwd', '/usr', '--', 'pwd'])).stdout).toBe('/usr\n');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

// NAT, --publish and --network. The host's firewall is never touched: nsbox itself runs in a
// network namespace made here ("host", with a veth to "out", the outside world reachable only
// through the NAT), as `ip netns exec HOST node dist/cli.js …`. Every namespace, network and
// state directory entry made here is removed.
describe('nsbox run: NAT, --publish, --network (inside test-made network namespaces)', () => {
  const hasNft = (() => {
    try {
      execFileSync('nft', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  const natTest = testIf(isRoot && tools.ip && hasNft, 'needs root, ip and nft (the witness)');
  const helpers = fileURLToPath(new URL('../helpers', import.meta.url));
  const peer = join(helpers, 'nft-peer.mjs');
  const vol = ['--volume', `${helpers}:/h:ro`];
  const inPeer = (...args: string[]) => [process.execPath, '/h/nft-peer.mjs', ...args];
  const made: string[] = [];
  const servers: Array<ReturnType<typeof spawnProcess>> = [];

  const sh = (...a: string[]) => execFileSync(a[0]!, a.slice(1), { encoding: 'utf8' });
  /** host(10.99.0.1) — out(10.99.0.2); returns the two names. */
  function topology(): { host: string; out: string } {
    const t = twoNetns('c', made);
    return { host: t.host, out: t.peer };
  }
  /** nsbox in the namespace `ns`. */
  function startIn(ns: string, args: string[]) {
    const p = spawnProcess('ip', ['netns', 'exec', ns, process.execPath, cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const done = new Promise<Result>((resolve) => p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
    const ready = new Promise<void>((resolve) => p.stdout.on('data', (d: string) => d.includes('ready') && resolve()));
    return { p, done, ready };
  }
  const nsboxIn = (ns: string, args: string[]) => startIn(ns, args).done;
  /** A TCP+UDP server in `ns` answering with the client address it saw. */
  async function serve(ns: string, port: number) {
    const p = spawnProcess('ip', ['netns', 'exec', ns, process.execPath, peer, 'serve', String(port)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    servers.push(p);
    await new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()));
  }
  const ask = (ns: string, proto: 'tcp' | 'udp', host: string, port: number) =>
    sh('ip', 'netns', 'exec', ns, process.execPath, peer, proto, host, String(port)).trim();
  const tables = (ns: string) => sh('ip', 'netns', 'exec', ns, 'nft', 'list', 'tables').trim();
  const links = (ns: string) => (JSON.parse(sh('ip', '-n', ns, '-j', 'link')) as Array<{ ifname: string }>).map((l) => l.ifname).sort();

  afterAll(() => {
    for (const p of servers) p.kill('SIGKILL');
    for (const n of made) {
      try {
        sh('ip', 'netns', 'del', n);
      } catch {
        // gone already
      }
    }
  });

  natTest(
    '--net veth: TCP and UDP reach the outside through NAT, which sees the host address; --no-nat: no way out; nothing left',
    async () => {
      const t = topology();
      await serve(t.out, 7000);
      const r = await nsboxIn(t.host, [
        'run',
        ...vol,
        '--net',
        'veth',
        '--',
        'sh',
        '-c',
        `${inPeer('tcp', '10.99.0.2', '7000').join(' ')}; ${inPeer('udp', '10.99.0.2', '7000').join(' ')}`,
      ]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('10.99.0.1\n10.99.0.1\n');
      const n = await nsboxIn(t.host, ['run', ...vol, '--net', 'veth', '--no-nat', '--', ...inPeer('tcp', '10.99.0.2', '7000')]);
      expect(n.stdout).toBe('timeout\n');
      expect(tables(t.host)).toBe('');
      expect(links(t.host)).toEqual(['hout', 'lo']);
    },
  );

  natTest(
    '--publish: the outside reaches the command on the host address, the command sees the client address; gone when it ends',
    async () => {
      const t = topology();
      const run = startIn(t.host, [
        'run',
        ...vol,
        '--net',
        'veth',
        '-p',
        '8080:7001',
        '-p',
        '8080:7001/udp',
        '--',
        ...inPeer('serve', '7001'),
      ]);
      await run.ready;
      expect(tables(t.host)).toMatch(/table ip nsbox_pub_/);
      expect(ask(t.out, 'tcp', '10.99.0.1', 8080)).toBe('10.99.0.2');
      expect(ask(t.out, 'udp', '10.99.0.1', 8080)).toBe('10.99.0.2');
      run.p.kill('SIGTERM');
      await run.done;
      expect(tables(t.host)).toBe('');
      expect(ask(t.out, 'tcp', '10.99.0.1', 8080)).toMatch(/^(ECONNREFUSED|timeout)$/);
    },
  );

  natTest(
    '--network: members find each other by name, /etc/hosts follows them, the network NATs and publishes; rm leaves nothing',
    async () => {
      const t = topology();
      const name = `t${randomBytes(3).toString('hex')}`;
      const stateDir = `/run/nsbox/networks/${name}`;
      try {
        const c = await nsboxIn(t.host, ['network', 'create', name, '--subnet', '10.77.0.0/24']);
        expect(c.stdout).toBe(`${name} 10.77.0.0/24 nsbr-${name} nat:ip/nsbox_net_${name}\n`);
        expect((await nsboxIn(t.host, ['network', 'create', name])).stderr).toMatch(/exists already/);
        await serve(t.out, 7000);
        const web = startIn(t.host, [
          'run',
          ...vol,
          '--network',
          name,
          '--hostname',
          'web',
          '-p',
          '8081:7002',
          '--',
          ...inPeer('serve', '7002'),
        ]);
        await web.ready;
        const ls = await nsboxIn(t.host, ['network', 'ls']);
        expect(ls.stdout).toMatch(new RegExp(`^${name} +10\\.77\\.0\\.0/24 +nsbr-${name} +yes +web=10\\.77\\.0\\.2$`, 'm'));
        const script = `cat /etc/hosts; hostname; ${inPeer('tcp', 'web', '7002').join(' ')}; ${inPeer('tcp', '10.99.0.2', '7000').join(' ')}; ${inPeer('tcp', '10.99.0.1', '8081').join(' ')}`;
        const cl = await nsboxIn(t.host, ['run', ...vol, '--network', name, '--hostname', 'client', '--', 'sh', '-c', script]);
        expect(cl.stderr).toBe('');
        expect(cl.stdout).toBe(
          '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.77.0.2\tweb\n10.77.0.3\tclient\n' +
            'client\n10.77.0.3\n10.99.0.1\n10.77.0.1\n', // by name; out through NAT; hairpin through the published port
        );
        // The client left: web's /etc/hosts no longer names it.
        expect(readFileSync(`${stateDir}/hosts/10.77.0.2`, 'utf8')).not.toMatch(/client/);
        expect(ask(t.out, 'tcp', '10.99.0.1', 8081)).toBe('10.99.0.2');
        const busy = await nsboxIn(t.host, ['network', 'rm', name]);
        expect(busy.code).toBe(125);
        expect(busy.stderr).toMatch(/live member\(s\): web/);
        // A member whose nsbox was SIGKILLed is reclaimed by the next command.
        web.p.kill('SIGKILL');
        await web.done;
        expect((await nsboxIn(t.host, ['network', 'ls'])).stdout).toMatch(new RegExp(`^${name} .* -$`, 'm'));
        expect(readdirSync(`${stateDir}/members`)).toEqual([]);
        expect((await nsboxIn(t.host, ['network', 'rm', name])).code).toBe(0);
        expect(existsSync(stateDir)).toBe(false);
        expect(tables(t.host)).toBe('');
        expect(links(t.host)).toEqual(['hout', 'lo']);
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
      }
    },
  );

  rootlessTest('--network and --publish without root: refused, naming the flag, exit 125', async () => {
    const a = await nsbox(['run', '--network', 'app', '--', 'true']);
    expect(a.code).toBe(125);
    expect(a.stderr).toMatch(/^nsbox: --network app: needs root/);
    const b = await nsbox(['run', '--net', 'veth', '--publish', '8080:80', '--', 'true']);
    expect(b.code).toBe(125);
    expect(b.stderr).toMatch(/^nsbox: --publish 8080:80: needs root/);
  });
});
