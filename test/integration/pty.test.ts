// Pseudo-terminals against the real kernel: openPty's pair as the programs inside see it
// (tty, stty, /proc/self/stat), spawn's controlling terminal (session, tty_nr, Ctrl-C), a pty
// made inside a container (its own devpts), and sendFd to a console socket whose receiver is
// a python3 script (node:net cannot receive SCM_RIGHTS).
import { execFileSync, spawn as nodeSpawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { isatty } from 'node:tty';
import { afterAll, describe, expect, test } from 'vitest';
import { hardened, openPty, sendFd, spawn, SysError, type NsboxChild, type SpawnOptions } from '../../src/index.js';
import { canUserns, rootTest, testIf } from '../helpers/env.js';
import { fdCount } from '../helpers/proc.js';

const usernsTest = testIf(canUserns, 'user namespaces cannot be created here');
const hasPython = (() => {
  try {
    execFileSync('python3', ['-c', 'import socket; socket.recv_fds'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const pyTest = testIf(canUserns && hasPython, 'needs user namespaces and python3 ≥ 3.9 (socket.recv_fds)');

const dir = mkdtempSync(join(tmpdir(), 'nsbox-pty-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Everything read from `s` until `re` matches (rejects after 5 s with what came). */
function until(s: Duplex, re: RegExp, seen = { text: '' }): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (re.test(seen.text)) {
        cleanup();
        resolve(seen.text);
      }
    };
    const onData = (d: Buffer) => {
      seen.text += d.toString();
      check();
    };
    const onClose = () => {
      cleanup();
      if (re.test(seen.text)) resolve(seen.text);
      else reject(new Error(`closed before ${re}: ${JSON.stringify(seen.text)}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${re}: ${JSON.stringify(seen.text)}`));
    }, 5000);
    const cleanup = () => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('close', onClose);
    };
    s.on('data', onData);
    s.on('close', onClose);
    check();
  });
}

/** Runs `script` with a terminal; returns the terminal's whole output and the exit status. */
async function onTerminal(script: string, opts: SpawnOptions): Promise<{ text: string; child: NsboxChild }> {
  const child = spawn('sh', ['-c', script], { terminal: true, ...opts });
  const pty = child.terminal!;
  try {
    const out = pty.stream();
    const text = await until(out, /__END__/);
    await child.exited;
    return { text, child };
  } finally {
    pty.close();
  }
}

/** session id, process group and tty_nr of /proc/self/stat, as the shell prints them. */
const STAT = 'echo "pid=$$ stat=$(cut -d" " -f5-7 /proc/self/stat)"';

describe('openPty', () => {
  test('a master and a slave that are terminals, O_CLOEXEC, sized as asked; close() releases both', () => {
    const before = fdCount();
    const p = openPty({ rows: 33, cols: 101 });
    expect(p.path).toMatch(/^\/dev\/pts\/\d+$/);
    expect(isatty(p.master)).toBe(true);
    expect(isatty(p.slave!)).toBe(true);
    for (const fd of [p.master, p.slave!]) {
      const flags = Number.parseInt(/^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
      expect(flags & 0o2000000, 'O_CLOEXEC').not.toBe(0);
    }
    expect(p.size()).toEqual({ rows: 33, cols: 101 });
    expect(fdCount()).toBe(before + 2);
    p.close();
    p.close();
    expect(fdCount()).toBe(before);
    expect(() => p.master).toThrow(expect.objectContaining({ code: 'ERR_HANDLE_CLOSED' }));
  });

  test("setOnlcr: with ONLCR off, the slave's \\n reaches the master as written, not \\r\\n; stty sees the flag", async () => {
    using p = openPty();
    const out = p.stream();
    const seen = { text: '' };
    const stty = () => execFileSync('stty', ['-a'], { stdio: [p.slave!, 'pipe', 'pipe'], encoding: 'utf8' });
    expect(stty()).toMatch(/(^|\s)onlcr\b/);
    writeSync(p.slave!, 'one\n');
    await until(out, /one\r\n/, seen);
    p.setOnlcr(false);
    expect(stty()).toMatch(/(^|\s)-onlcr\b/);
    writeSync(p.slave!, 'two\n');
    await until(out, /two\n/, seen);
    expect(seen.text).toBe('one\r\ntwo\n');
    p.setOnlcr(true);
    expect(stty()).toMatch(/(^|\s)onlcr\b/);
    expect(() => p.setOnlcr('no' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    p.close();
    expect(() => p.setOnlcr(false)).toThrow(expect.objectContaining({ code: 'ERR_HANDLE_CLOSED' }));
  });

  usernsTest('its slave as the child stdio: tty names it, stty sees the size and a resize', async () => {
    using p = openPty({ rows: 24, cols: 80 });
    const child = spawn('sh', ['-c', 'tty; stty size; read x; stty size; echo __END__'], { terminal: p, namespaces: ['user'] });
    p.closeSlave();
    const out = p.stream();
    const seen = { text: '' };
    await until(out, /24 80/, seen);
    p.resize(40, 132);
    out.write('\n');
    const text = await until(out, /__END__/, seen);
    expect(text).toContain(`${p.path}\r\n24 80\r\n`);
    expect(text).toContain('40 132\r\n');
    expect(await child.exited).toEqual({ code: 0, signal: null });
  });

  usernsTest('what is written to the master is the child input; its output comes back on the master', async () => {
    using p = openPty();
    const child = spawn('sh', ['-c', 'read x; echo "got <$x>"; echo __END__'], { terminal: p, namespaces: ['user'] });
    p.closeSlave();
    const out = p.stream();
    out.write('hello pty\n');
    expect(await until(out, /__END__/)).toContain('got <hello pty>');
    expect((await child.exited).code).toBe(0);
  });

  usernsTest("the caller's Pty becomes the controlling terminal of a new session", async () => {
    using p = openPty();
    const child = spawn('sh', ['-c', `${STAT}; echo __END__`], { terminal: p, namespaces: ['user'] });
    p.closeSlave();
    const out = p.stream();
    const text = await until(out, /__END__/);
    const [, pid, pgrp, sid, ttyNr] = /pid=(\d+) stat=(\d+) (\d+) (\d+)/.exec(text)!.map(Number);
    expect(pgrp).toBe(pid); // stat fields 5-7: pgrp, session, tty_nr
    expect(sid).toBe(pid);
    expect(ttyNr).not.toBe(0);
    await child.exited;
  });
});

describe('spawn with terminal: true', () => {
  usernsTest('the child makes the pty; it leads a session whose controlling terminal is fds 0-2', async () => {
    const before = fdCount();
    const { text, child } = await onTerminal(`tty; ${STAT}; test -t 0 && test -t 1 && test -t 2 && echo all-tty; echo __END__`, {
      namespaces: ['user'],
    });
    expect(text).toMatch(/^\/dev\/pts\/\d+\r\n/);
    const [, pid, pgrp, sid, ttyNr] = /pid=(\d+) stat=(\d+) (\d+) (\d+)/.exec(text)!.map(Number);
    expect([pgrp, sid]).toEqual([pid, pid]);
    expect(ttyNr).not.toBe(0);
    expect(text).toContain('all-tty');
    expect(child.exitCode).toBe(0);
    expect(child.terminal!.closed).toBe(true);
    expect(fdCount()).toBe(before);
  });

  usernsTest("in a container, the pty is the container's own: /dev/pts/0 of a fresh devpts", async () => {
    const child = spawn('sh', ['-c', 'tty; ls -1 /dev/pts; stty size; echo __END__'], {
      namespaces: ['user', 'mnt', 'pid', 'ipc', 'uts'],
      rootfs: 'host',
      terminal: { rows: 50, cols: 160 },
    });
    using pty = child.terminal!;
    expect(pty.path).toBe('/dev/pts/0');
    expect(pty.size()).toEqual({ rows: 50, cols: 160 });
    const out = pty.stream();
    const text = await until(out, /__END__/);
    expect(text).toMatch(/^\/dev\/pts\/0\r\n0\r\nptmx\r\n50 160\r\n__END__/);
    expect((await child.exited).code).toBe(0);
  });

  usernsTest('in a container with a root, the pty is also its /dev/console (bound there, as runc does)', async () => {
    // The same device as fds 0-2 (major 136 = 0x88: a Unix98 pty slave), a devpts bind in the
    // mount table, and what is written to /dev/console comes out of the master.
    const { text } = await onTerminal(
      'readlink /proc/self/fd/0; stat -c %t:%T /dev/console; stat -L -c %t:%T /proc/self/fd/0; ' +
        'awk \'$5 == "/dev/console" { print $9 }\' /proc/self/mountinfo; echo via-console > /dev/console; echo __END__',
      { namespaces: ['user', 'mnt', 'pid'], rootfs: 'host' },
    );
    expect(text).toMatch(/^\/dev\/pts\/0\r\n88:0\r\n88:0\r\ndevpts\r\nvia-console\r\n__END__/);
  });

  usernsTest('without a root of its own, the child leaves /dev/console as it is', async () => {
    // As many mounts there as ours (none on most hosts; a bind where this runs in a container).
    const ours = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.split(' ')[4] === '/dev/console').length;
    const { text } = await onTerminal('awk \'$5 == "/dev/console"\' /proc/self/mountinfo | wc -l; echo __END__', {
      namespaces: ['user', 'mnt'],
    });
    expect(text).toMatch(new RegExp(`^${ours}\\r\\n__END__`));
  });

  usernsTest('the stream ends once the child is gone, with every byte it wrote', async () => {
    for (let i = 0; i < 20; i++) {
      const child = spawn('sh', ['-c', 'seq 1 200; echo __END__'], { namespaces: ['user'], terminal: true });
      const pty = child.terminal!;
      try {
        let text = '';
        const out = pty.stream();
        out.on('data', (d: Buffer) => (text += d.toString()));
        await new Promise((resolve) => out.once('end', resolve));
        expect(text).toMatch(/\r\n200\r\n__END__\r\n$/);
      } finally {
        pty.close();
      }
      await child.exited;
    }
  });

  usernsTest('Ctrl-C on the master sends SIGINT to the foreground process group', async () => {
    const child = spawn('sh', ['-c', 'trap "echo got-INT; exit 7" INT; echo ready; while :; do sleep 0.05; done'], {
      namespaces: ['user', 'mnt', 'pid'],
      rootfs: 'host',
      terminal: true,
    });
    using pty = child.terminal!;
    const out = pty.stream();
    const seen = { text: '' };
    await until(out, /ready/, seen);
    out.write('\x03');
    await until(out, /got-INT/, seen);
    expect(await child.exited).toEqual({ code: 7, signal: null });
  });

  usernsTest("a root without /dev/ptmx fails the spawn at step 'terminal', with the path", () => {
    const before = fdCount();
    let err: unknown;
    try {
      spawn('true', { namespaces: ['user', 'mnt'], rootfs: 'host', defaultMounts: false, terminal: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: 'ENOENT', step: 'terminal', syscall: 'openat2', path: '/dev/ptmx' });
    expect(fdCount()).toBe(before);
  });

  usernsTest("with an init, the command's own group is the foreground: Ctrl-C reaches it once", async () => {
    const child = spawn(
      'sh',
      [
        '-c',
        'echo "pid=$$ stat=$(cut -d" " -f5,6,8 /proc/$$/stat)"; n=0; trap "n=\\$((n+1))" INT; echo ready; ' +
          'while [ $n -eq 0 ]; do sleep 0.05; done; sleep 0.5; echo "count=$n"',
      ],
      { namespaces: ['user', 'mnt', 'pid'], rootfs: 'host', init: true, terminal: true },
    );
    using pty = child.terminal!;
    const out = pty.stream();
    const seen = { text: '' };
    await until(out, /ready/, seen);
    out.write('\x03');
    const text = await until(out, /count=\d+/, seen);
    // /proc/PID/stat fields 5, 6, 8: pgrp, session (the init's: PID 1), tpgid (the foreground group).
    const [, pid, pgrp, sid, tpgid] = /pid=(\d+) stat=(\d+) (\d+) (\d+)/.exec(text)!.map(Number);
    expect([pgrp, sid, tpgid]).toEqual([pid, 1, pid]);
    expect(text).toContain('count=1'); // a second SIGINT, forwarded by the init, would make it 2
    expect(await child.exited).toEqual({ code: 0, signal: null });
  });

  usernsTest('a failing exec closes the master the child had sent', () => {
    const before = fdCount();
    expect(() => spawn('/nonexistent/cmd', { namespaces: ['user'], terminal: true })).toThrow(
      expect.objectContaining({ code: 'ENOENT', step: 'exec' }),
    );
    expect(fdCount()).toBe(before);
  });

  usernsTest("with hardened()'s capabilities, no_new_privs and seccomp profile, which apply after the terminal step", async () => {
    const { text, child } = await onTerminal('tty; grep Seccomp: /proc/self/status; echo __END__', {
      ...hardened(),
      namespaces: ['user', 'mnt', 'pid', 'ipc', 'uts', 'net'],
      rootfs: 'host',
    });
    expect(text).toMatch(/^\/dev\/pts\/0\r\nSeccomp:\t2\r\n/);
    expect(child.exitCode).toBe(0);
  });

  rootTest("made as the command's uid, the terminal is the command's own", async () => {
    const { text } = await onTerminal('id -u; stat -c "%u %a" $(tty); echo __END__', {
      namespaces: ['user', 'mnt', 'pid'],
      rootfs: 'host',
      uid: 1000,
      gid: 1000,
    });
    expect(text).toMatch(/^1000\r\n1000 620\r\n/);
  });

  rootTest("with a filter and no no_new_privs (made before the credential steps), still the command's own", async () => {
    const { text } = await onTerminal('id -u; stat -c "%u %a" $(tty); grep ^Seccomp: /proc/self/status; echo __END__', {
      namespaces: ['user', 'mnt', 'pid'],
      rootfs: 'host',
      uid: 1000,
      gid: 1000,
      seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['close_range', 'openat2'], action: 'SCMP_ACT_ERRNO' }] },
    });
    expect(text).toMatch(/^1000\r\n1000 620\r\nSeccomp:\t2\r\n/);
  });

  test('options it excludes, and bad values, are refused before any syscall', () => {
    const before = fdCount();
    const cases: Array<[SpawnOptions, string]> = [
      [{ terminal: 1 as never }, 'ERR_INVALID_ARG_TYPE'],
      [{ terminal: { rows: 10 } as never }, 'ERR_INVALID_ARG_VALUE'],
      [{ terminal: { rows: 0, cols: 80 } }, 'ERR_OUT_OF_RANGE'],
      [{ terminal: { rows: 24, cols: 80, x: 1 } as never }, 'ERR_INVALID_ARG_VALUE'],
      [{ terminal: true, stdio: 'pipe' }, 'ERR_INVALID_ARG_VALUE'],
      [{ terminal: true, stdio: [null, 'inherit'] }, 'ERR_INVALID_ARG_VALUE'],
      [{ terminal: true, fds: { 2: 1 } }, 'ERR_INVALID_ARG_VALUE'],
      [{ terminal: true, processGroup: true }, 'ERR_INVALID_ARG_VALUE'],
    ];
    for (const [opts, code] of cases) expect(() => spawn('true', opts), JSON.stringify(opts)).toThrow(expect.objectContaining({ code }));
    const p = openPty();
    p.closeSlave();
    expect(() => spawn('true', { terminal: p })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    p.close();
    expect(fdCount()).toBe(before);
  });
});

/** A console-socket listener in python3: accepts one connection, takes the fd (SCM_RIGHTS), writes `line` to it, prints the name. */
const RECEIVER = `
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 4096, 4)
os.write(fds[0], sys.argv[2].encode())
print("name=" + msg.decode() + " fds=" + str(len(fds)), flush=True)
`;

describe('sendFd', () => {
  pyTest("a console socket receives the master, and what it writes there is the child's input", async () => {
    const sock = join(dir, 'console.sock');
    const py = nodeSpawn('python3', ['-c', RECEIVER, sock, 'from-console\r'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pyClosed = new Promise((resolve) => py.once('close', resolve));
    let pyOut = '';
    py.stdout.on('data', (d: Buffer) => (pyOut += d.toString()));
    await new Promise<void>((resolve) => py.stdout.once('data', () => resolve()));
    const child = spawn('sh', ['-c', 'read x; echo "got <$x>"; echo __END__'], {
      namespaces: ['user', 'mnt', 'pid'],
      rootfs: 'host',
      terminal: true,
    });
    using pty = child.terminal!;
    sendFd(sock, pty);
    const out = pty.stream();
    const text = await until(out, /__END__/);
    expect(text).toContain('got <from-console>');
    await pyClosed;
    expect(pyOut).toContain('name=/dev/ptmx fds=1');
    expect((await child.exited).code).toBe(0);
  });

  test('a missing socket is ENOENT from connect, with the path; bad arguments throw before any syscall', () => {
    using p = openPty();
    const path = join(dir, 'no-such.sock');
    let err: unknown;
    try {
      sendFd(path, p);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: 'ENOENT', syscall: 'connect', path });
    expect(() => sendFd('', p)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => sendFd(`/${'x'.repeat(120)}`, p)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => sendFd(path, -1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => sendFd(path, p, { name: '' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});

describe('terminal: true when joining a box', () => {
  // Found in review: the pty is opened before the command's fds are placed, while the child
  // still holds a copy of this process's fds; a box whose /dev/ptmx is a symlink to
  // /proc/self/fd/N (N a pty master of ours) handed the joiner a pty of the host's devpts.
  // /dev/ptmx is now opened without magic links: the spawn fails (ELOOP) instead.
  rootTest('a /dev/ptmx that leads through /proc/self/fd to a pty master of ours is refused (ELOOP); pts/ptmx works', async () => {
    const ours = openPty();
    const box = spawn('sleep', ['60'], { namespaces: ['user', 'mnt', 'pid'], rootfs: 'host', stdio: 'ignore' });
    try {
      const join = { mnt: box.pid, pid: box.pid };
      const sh = async (cmd: string) => (await spawn('sh', ['-c', cmd], { join, stdio: 'ignore' }).exited).code;
      expect(await sh(`rm -f /dev/ptmx && ln -s /proc/self/fd/${ours.master} /dev/ptmx`)).toBe(0);
      expect(() => spawn('true', { join, terminal: true })).toThrow(expect.objectContaining({ code: 'ELOOP', step: 'terminal' }));
      // Control: the usual symlink to the box's own devpts is followed.
      expect(await sh('rm -f /dev/ptmx && ln -s pts/ptmx /dev/ptmx')).toBe(0);
      const { text } = await onTerminal('stat -L -c %d /proc/self/fd/0 /dev/pts; echo __END__', { join });
      const [tty, pts] = text.trim().split(/\s+/);
      expect(tty).toBe(pts);
    } finally {
      box.kill('SIGKILL');
      await box.exited;
      ours.close();
    }
  });
});
