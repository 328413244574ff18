// The init of a new pid namespace (spawn's `init`, `nsbox run` by default): PID 1 is the
// init and the command its child; signals reach the command; orphans are reaped; the exit
// status is the command's; and the init — a copy of this process's memory — cannot be read
// or traced by the command. Witnessed from inside (/proc of the namespace) and outside
// (NSpid, /proc/PID/task/*/children).
import { execFileSync, spawn as spawnProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import { hardened, spawn, spawnAsync, type SpawnOptions } from '../../src/index.js';
import { canUserns, rootTest, testIf } from '../helpers/env.js';
import { childPids, fdCount, output } from '../helpers/proc.js';

const usernsTest = testIf(canUserns, 'user namespaces cannot be created here');
/** What /proc/PID/exe of an init run from the image names (csrc/init_image.cc). */
const IMAGE = '/memfd:nsbox-init (deleted)';

/**
 * Which init `pid` is: the exec'd image maps only its memfd; a fork keeps the addon mapped
 * (DropCopy keeps it, and without DropCopy it keeps everything). Unreadable (EACCES: a
 * non-dumpable mm of this process's user namespace, to an unprivileged caller): a fork.
 */
function initKind(pid: number): 'image' | 'fork' {
  try {
    return readFileSync(`/proc/${pid}/maps`, 'utf8').includes('nsbox.node') ? 'fork' : 'image';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EACCES') return 'fork';
    throw e;
  }
}
const root = fileURLToPath(new URL('../..', import.meta.url));
/** What npm links as `nsbox`: package.json's bin. */
const cli = join(root, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).bin.nsbox);
const box: SpawnOptions = { namespaces: ['user', 'pid', 'mnt'], rootfs: 'host', init: true };
const sh = (script: string, o: SpawnOptions = box) => spawn('sh', ['-c', script], o);

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'scripts/ensure-built.mjs')], { stdio: 'ignore' });
});

/** Children of a process (every thread's), from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const s = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
    if (s) out.push(...s.split(/\s+/).map(Number));
  }
  return out;
}

/** Waits until `pid` has a child that has exec'd `comm`, and returns its pid. */
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

/** Starts `sleep 30` under an init, waits until it runs, sends `sig` to the init, and times the end. */
async function signalled(sig: NodeJS.Signals, o: SpawnOptions = box): Promise<{ code: number | null; signal: string | null; ms: number }> {
  const c = spawn('sleep', ['30'], { ...o, stdio: 'ignore' });
  await childRunning(c.pid, 'sleep');
  const t0 = Date.now();
  c.kill(sig);
  const { code, signal } = await c.exited;
  return { code, signal, ms: Date.now() - t0 };
}

// Both inits: a fork of this process (every capability: CAP_SYS_PTRACE may be the command's)
// and the init image (csrc/init_image.cc: Docker's capabilities, no CAP_SYS_PTRACE).
const KINDS = [
  { name: 'a fork of this process', extra: {} },
  { name: 'the init image', extra: { capabilities: hardened().capabilities } },
];

describe.each(KINDS)('spawn({ init: true }): $name', ({ extra }) => {
  const b: SpawnOptions = { ...box, ...extra };
  const shb = (script: string, o: SpawnOptions = b) => spawn('sh', ['-c', script], o);

  usernsTest('PID 1 is the init and the command its child, inside and seen from outside', async () => {
    const r = await output(shb('cat /proc/1/comm; cut -d" " -f4 /proc/$$/stat; echo $$'));
    const [comm, ppid, pid] = r.stdout.trim().split('\n');
    expect(comm).toBe('nsbox-init');
    expect(ppid).toBe('1');
    expect(Number(pid)).toBeGreaterThan(1);
    expect(r.code).toBe(0);
    // Without a container root (no mount lock, whose helper takes a pid) the command is PID 2.
    expect((await output(shb('echo $$', { namespaces: ['user', 'pid'], init: true, ...extra }))).stdout).toBe('2\n');

    const c = spawn('sleep', ['30'], { ...b, stdio: 'ignore' });
    try {
      const sleeper = await childRunning(c.pid, 'sleep');
      const status = readFileSync(`/proc/${c.pid}/status`, 'utf8');
      expect(status).toMatch(/^Name:\s+nsbox-init$/m);
      expect(status.match(/^NSpid:\s+(.*)$/m)![1]!.split(/\s+/)).toEqual([String(c.pid), '1']);
      expect(readFileSync(`/proc/${sleeper}/status`, 'utf8')).toMatch(new RegExp(`^PPid:\\s+${c.pid}$`, 'm'));
      // Never Node's binary: a fork made the image its exe too (csrc/child.cc HideExe), and a
      // non-dumpable fork of this process is unreadable to an unprivileged caller (EACCES).
      const exe = (() => {
        try {
          return readlinkSync(`/proc/${c.pid}/exe`);
        } catch (e) {
          return (e as NodeJS.ErrnoException).code;
        }
      })();
      expect([IMAGE, 'EACCES']).toContain(exe);
      expect(initKind(c.pid)).toBe(extra.capabilities ? 'image' : 'fork');
    } finally {
      c.kill('SIGKILL');
      await c.exited;
    }
  });

  usernsTest("kill() of the child reaches the command: SIGTERM 143, SIGINT 130, promptly; the command's own code passes", async () => {
    const term = await signalled('SIGTERM', b);
    expect(term).toMatchObject({ code: 143, signal: null });
    expect(term.ms).toBeLessThan(2000);
    const int = await signalled('SIGINT', b);
    expect(int).toMatchObject({ code: 130, signal: null });
    expect(int.ms).toBeLessThan(2000);
    expect((await output(shb('exit 3'))).code).toBe(3);
    // Without init, the same SIGTERM is ignored by a PID 1 sleep (pid_namespaces(7)).
    const bare = spawn('sleep', ['30'], { namespaces: ['user', 'pid'], stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    bare.kill('SIGTERM');
    const outcome = await Promise.race([bare.exited, new Promise((r) => setTimeout(() => r('alive'), 500))]);
    expect(outcome).toBe('alive');
    bare.kill('SIGKILL');
    expect(await bare.exited).toEqual({ code: null, signal: 'SIGKILL' });
  });

  usernsTest('every catchable signal is forwarded (SIGUSR1 to a trap, a real-time signal, SIGHUP)', async () => {
    const c = shb('trap "echo usr1" USR1; trap "echo hup; exit 7" HUP; sleep 30 & wait; sleep 30 & wait', {
      ...b,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    c.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const shell = await childRunning(c.pid, 'sh');
    await childRunning(shell, 'sleep');
    c.kill('SIGUSR1');
    for (let i = 0; i < 200 && !out.includes('usr1'); i++) await new Promise((r) => setTimeout(r, 10));
    await childRunning(shell, 'sleep');
    c.kill('SIGHUP');
    expect(await c.exited).toEqual({ code: 7, signal: null });
    expect(out).toBe('usr1\nhup\n');
    const rt = spawn('sleep', ['30'], { ...b, stdio: 'ignore' });
    await childRunning(rt.pid, 'sleep');
    rt.kill(40);
    expect((await rt.exited).code).toBe(128 + 40);
  });

  usernsTest('an orphan is reaped by the init: no zombie while the command runs', async () => {
    // The subshell exits at once; its `sleep 0.2` is reparented to PID 1 and dies 0.2 s later.
    const script = '(sleep 0.2 &); sleep 0.8; for f in /proc/[0-9]*/stat; do cut -d")" -f2 "$f" 2>/dev/null | cut -d" " -f2; done';
    const r = await output(shb(script));
    expect(r.code).toBe(0);
    const states = r.stdout.trim().split('\n');
    expect(states.length).toBeGreaterThanOrEqual(2); // the init, sh (and the loop's own)
    expect(states).not.toContain('Z');
  });

  test('init needs a new pid namespace: ERR_INVALID_ARG_VALUE before any syscall', () => {
    const before = childPids().length;
    expect(() => spawn('true', { namespaces: ['user'], init: true })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => spawn('true', { init: true })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => spawn('true', { namespaces: ['pid'], init: 1 as unknown as boolean })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(childPids().length).toBe(before);
  });

  usernsTest("the command's execve failure is the exec step's SysError; nothing is left behind", async () => {
    const fds = fdCount();
    const kids = childPids().length;
    for (const cmd of ['/nonexistent/cmd', 'nsbox-no-such-command']) {
      let err: unknown;
      try {
        spawn(cmd, { namespaces: ['user', 'pid'], init: true, ...extra, env: { PATH: '/usr/bin:/bin' } });
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'ENOENT', syscall: 'execve', step: 'exec', path: cmd });
    }
    expect(childPids().length).toBe(kids);
    expect(fdCount()).toBe(fds);
  });

  usernsTest('a seccomp profile that refuses a syscall the init needs fails the spawn at the init step', () => {
    for (const name of ['wait4', 'kill', 'rt_sigtimedwait']) {
      let err: unknown;
      try {
        spawn('true', { ...b, seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [name], action: 'SCMP_ACT_ERRNO' }] } });
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'EPERM', syscall: name, step: 'init' });
    }
  });

  usernsTest("the init keeps no fd: the command's stdout ends when the command closes it, while both still run", async () => {
    const c = shb('echo hi; exec >&-; sleep 1');
    let out = '';
    c.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    await new Promise((r) => c.stdout!.once('end', r));
    expect(out).toBe('hi\n');
    expect(c.running).toBe(true);
    expect(await c.exited).toEqual({ code: 0, signal: null });
  });
});

/**
 * What the command can learn of the init (a copy of this process's memory): each probe
 * prints `name:ok` or `name:denied`. /proc/1/mem, environ and maps need ptrace read access
 * (proc_mem_open), as PTRACE_SEIZE needs attach access; the init is non-dumpable, so both
 * need CAP_SYS_PTRACE in Node's user namespace. The controls show the same probes work on
 * a dumpable process of the command's own.
 */
const NR_PTRACE = process.arch === 'arm64' ? 117 : 101;
const seize = (pid: string) => `perl -e 'exit(syscall(${NR_PTRACE}, 0x4206, $ARGV[0] + 0, 0, 0) == -1 ? 1 : 0)' ${pid}`;
const PROBES = [
  'probe() { if "$@" >/dev/null 2>&1; then echo "$P:ok"; else echo "$P:denied"; fi; }',
  'P=mem probe head -c1 /proc/1/mem',
  'P=environ probe cat /proc/1/environ',
  'P=maps probe cat /proc/1/maps',
  // Listing /proc/1/fd may be allowed to uid 0 (the directory's owner): it must be empty.
  'P=fd probe test -n "$(ls -A /proc/1/fd 2>/dev/null)"',
  'P=exe probe readlink /proc/1/exe',
  `P=ptrace probe ${seize('1')}`,
].join('\n');
const CONTROLS = [
  'sleep 5 & S=$!',
  'P=own-environ probe cat /proc/$S/environ',
  'P=own-maps probe cat /proc/$S/maps',
  `P=own-ptrace probe ${seize('$S')}`,
  'kill $S',
].join('\n');

async function probeInit(o: SpawnOptions, controls: boolean): Promise<Record<string, string>> {
  process.env.NSBOX_INIT_CANARY = 'canary-7f3a';
  try {
    const r = await output(sh(`${PROBES}\n${controls ? CONTROLS : ''}`, { ...o, env: { PATH: '/usr/bin:/bin' } }));
    expect(r.stdout).not.toContain('canary-7f3a');
    return Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(':') as [string, string]),
    );
  } finally {
    delete process.env.NSBOX_INIT_CANARY;
  }
}

const DENIED = { mem: 'denied', environ: 'denied', maps: 'denied', fd: 'denied', exe: 'denied', ptrace: 'denied' };

describe("the init's memory is the command's to neither read nor trace", () => {
  usernsTest('as root of its user namespace with every capability (CAP_SYS_PTRACE there)', async () => {
    const seen = await probeInit(box, true);
    expect(seen).toEqual({ ...DENIED, 'own-environ': 'ok', 'own-maps': 'ok', 'own-ptrace': 'ok' });
  });

  usernsTest("as nsbox run's hardened default (Docker's capabilities, no_new_privs, seccomp)", async () => {
    expect(await probeInit({ ...box, ...hardened() }, false)).toEqual(DENIED);
  });

  rootTest('as a plain container root: real uid 0 without a user namespace, Docker’s capabilities', async () => {
    expect(await probeInit({ namespaces: ['pid', 'mnt'], rootfs: 'host', init: true, ...hardened() }, false)).toEqual(DENIED);
  });
});

/** The init's VmSize and VmRSS (kB), from its world-readable /proc/PID/status. */
function vm(pid: number): { size: number; rss: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { size: Number(/^VmSize:\s+(\d+)/m.exec(s)![1]), rss: Number(/^VmRSS:\s+(\d+)/m.exec(s)![1]) };
}

/** The one-letter state of `pid` (stat's third field: S sleeping, R runnable, …). */
function state(pid: number): string {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2)[0]!;
}

/**
 * Runs `sleep 30` under an init, waits until the init sleeps in its loop, and hands its pid to
 * `look`. The command's comm becomes 'sleep' after the init is woken from its vfork wait, so from
 * then on the init is runnable (R) until it sleeps in rt_sigtimedwait (S): past CloseAll and
 * DropCopy. (Spawn resolves at CloseAll, so without this wait a loaded machine could show the
 * init's memory before DropCopy has run.)
 */
async function withInit<T>(o: SpawnOptions, look: (init: number) => T): Promise<T> {
  const c = spawn('sleep', ['30'], { ...o, stdio: 'ignore' });
  try {
    await childRunning(c.pid, 'sleep');
    for (let i = 0; i < 500 && state(c.pid) !== 'S'; i++) await new Promise((r) => setTimeout(r, 4));
    expect(state(c.pid)).toBe('S');
    return look(c.pid);
  } finally {
    c.kill('SIGKILL');
    await c.exited;
  }
}

describe("the init's copy of this process's memory (csrc/child_init.cc DropCopy)", () => {
  // This process maps hundreds of MB (V8's reservations, the node binary); the init keeps its
  // stack (256 KiB) and the addon (~1 MB).
  usernsTest("is given up once the command runs: without a seccomp profile, and with nsbox's default", async () => {
    for (const o of [box, { ...box, ...hardened() }]) {
      const m = await withInit(o, vm);
      expect(m.size).toBeLessThan(4096);
      expect(m.rss).toBeLessThan(1024);
    }
    // The command still gets every signal and its status comes back (the loop lives on).
    expect(await signalled('SIGTERM')).toMatchObject({ code: 143, signal: null });
    expect((await output(sh('exit 9'))).code).toBe(9);
  });

  rootTest('only its stack and the addon stay mapped: no heap, no node binary, no other library', async () => {
    const maps = await withInit(box, (init) => readFileSync(`/proc/${init}/maps`, 'utf8'));
    const files = new Set(
      maps
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/)[5] ?? ''),
    );
    files.delete('');
    files.delete('[vsyscall]');
    expect([...files]).toEqual([expect.stringMatching(/\/nsbox(\.glibc)?\.node$/)]);
    expect(maps).not.toMatch(/\[heap\]|\[stack\]|\/node\n|libc\.so/);
  });

  usernsTest("is kept under the caller's own seccomp profile, which might kill the init for munmap or rseq", async () => {
    const profile = { defaultAction: 'SCMP_ACT_ALLOW' as const, syscalls: [{ names: ['mount'], action: 'SCMP_ACT_ERRNO' as const }] };
    const m = await withInit({ ...box, seccomp: profile }, vm);
    expect(m.size).toBeGreaterThan(65536);
  });
});

/** Runs a Python snippet with the init's pid as sys.argv[1]; its stdout, trimmed. */
function py(code: string, pid: number): string {
  return execFileSync('python3', ['-c', code, String(pid)], { encoding: 'utf8' }).trim();
}

describe('the init image (csrc/init_image.cc): an init that is not a fork of this process', () => {
  const image: SpawnOptions = { ...box, ...hardened() };

  usernsTest("is a sealed memfd of a few pages: nothing of this process's is mapped, nothing can write it", async () => {
    const seen = await withInit(image, (init) => ({
      exe: readlinkSync(`/proc/${init}/exe`),
      vm: vm(init),
      files: new Set(
        readFileSync(`/proc/${init}/maps`, 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(/\s+/).slice(5).join(' ')),
      ),
      // F_GET_SEALS (1033 + 1) through the magic link, as an independent witness; -1 where the
      // file cannot be opened to ask (execute-only, mode 0111: only root reads it).
      seals: Number(
        py(
          [
            'import fcntl, os, sys',
            'try: print(fcntl.fcntl(os.open(f"/proc/{sys.argv[1]}/exe", os.O_RDONLY), 1034))',
            'except PermissionError: print(-1)',
          ].join('\n'),
          init,
        ),
      ),
      mode: statSync(`/proc/${init}/exe`).mode & 0o7777,
      write: py(
        [
          'import os, sys',
          'try:',
          '  fd = os.open(f"/proc/{sys.argv[1]}/exe", os.O_WRONLY); os.write(fd, b"x"); print("written")',
          'except OSError as e:',
          '  print(e.errno)',
        ].join('\n'),
        init,
      ),
    }));
    expect(seen.exe).toBe(IMAGE);
    expect(seen.vm.size).toBeLessThan(1024);
    expect(seen.vm.rss).toBeLessThan(256);
    seen.files.delete('');
    seen.files.delete('[vsyscall]');
    // The image, its stack and the kernel's vDSO pages: no heap, no node binary, no library.
    expect(seen.files).toContain(IMAGE);
    for (const f of seen.files) expect([IMAGE, '[stack]', '[vdso]', '[vvar]', '[vvar_vclock]']).toContain(f);
    // Execute-only (a process that runs it starts non-dumpable unless it may read it).
    expect(seen.mode).toBe(0o111);
    // F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE, and F_SEAL_EXEC (Linux 6.3).
    if (process.geteuid!() === 0) expect(seen.seals & 0xf).toBe(0xf);
    else expect(seen.seals).toBe(-1);
    // EPERM (the seal), EACCES (execute-only, not root) or ETXTBSY (being executed)
    expect(['1', '13', '26']).toContain(seen.write);
  });

  usernsTest(
    'its exit status, signals and the exec failure are those of the fork (in the describe.each above); no fd is left',
    async () => {
      const fds = fdCount();
      const kids = childPids().length;
      for (let i = 0; i < 20; i++) expect((await output(spawn('sh', ['-c', `exit ${i}`], image))).code).toBe(i);
      expect(childPids().length).toBe(kids);
      expect(fdCount()).toBe(fds);
    },
  );

  usernsTest("is not used when the command may hold CAP_SYS_PTRACE, or under the caller's own seccomp profile: a fork then", async () => {
    const caps = hardened().capabilities!;
    const withPtrace = { ...image, capabilities: { ...caps, bounding: [...caps.bounding!, 'CAP_SYS_PTRACE' as const] } };
    const profile = { defaultAction: 'SCMP_ACT_ALLOW' as const, syscalls: [{ names: ['mount'], action: 'SCMP_ACT_ERRNO' as const }] };
    for (const o of [withPtrace, { ...image, seccomp: profile }, box]) {
      const [exe, kind] = await withInit(o, (init) => {
        try {
          return [readlinkSync(`/proc/${init}/exe`), initKind(init)];
        } catch (e) {
          return [(e as NodeJS.ErrnoException).code, initKind(init)];
        }
      });
      expect([IMAGE, 'EACCES']).toContain(exe);
      expect(kind).toBe('fork');
    }
  });

  usernsTest('spawnAsync (the clone on a thread of its own) runs the image too; its exec failure rejects at the exec step', async () => {
    const c = await spawnAsync('sleep', ['30'], { ...image, stdio: 'ignore' });
    try {
      await childRunning(c.pid, 'sleep');
      expect(readlinkSync(`/proc/${c.pid}/exe`)).toBe(IMAGE);
    } finally {
      c.kill('SIGTERM');
    }
    expect(await c.exited).toMatchObject({ code: 143 });
    await expect(spawnAsync('nsbox-no-such-command', { ...image, env: { PATH: '/usr/bin:/bin' } })).rejects.toMatchObject({
      code: 'ENOENT',
      step: 'exec',
    });
  });

  // Root's execve(2) permits bounding ∪ inheritable: CAP_SYS_PTRACE in the inheritable set
  // (which needs it in this process's own, as `setpriv --inh-caps` gives a separate node) is
  // the command's after its exec, so the init must not be the image.
  rootTest('is not used when CAP_SYS_PTRACE is inheritable (out of the bounding set): the command would hold it', () => {
    const py = [
      'import os',
      "eff = [l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')][0]",
      "kind = 'fork' if 'nsbox.node' in open('/proc/1/maps').read() else 'image'",
      "print(os.readlink('/proc/1/exe') + '|' + eff + '|' + kind)",
    ].join('\n');
    const script = [
      `import { spawn, hardened } from ${JSON.stringify(join(root, 'dist/index.js'))};`,
      'const h = hardened().capabilities;',
      "const caps = { bounding: h.bounding, effective: h.bounding, permitted: h.bounding, inheritable: ['CAP_SYS_PTRACE'] };",
      `const c = spawn('/usr/bin/python3', ['-c', ${JSON.stringify(py)}], { namespaces: ['pid', 'mnt'], rootfs: 'host', init: true, capabilities: caps, stdio: ['ignore', 'pipe', 'inherit'] });`,
      "let out = ''; c.stdout.on('data', (d) => (out += d));",
      'const st = await c.exited;',
      "console.log(st.code + '|' + out.trim());",
    ].join('\n');
    const out = execFileSync('setpriv', ['--inh-caps=+sys_ptrace', process.execPath, '--input-type=module', '-e', script], {
      encoding: 'utf8',
    }).trim();
    const [code, exe, capEff, kind] = out.split('|');
    expect(code).toBe('0');
    // The command holds CAP_SYS_PTRACE (bit 19), and its PID 1 is a fork of node, not the
    // exec'd image — whose exe is the image all the same (csrc/child.cc HideExe), never Node's
    // binary, which the command could otherwise open through /proc/1/exe.
    expect((BigInt(`0x${capEff}`) >> 19n) & 1n).toBe(1n);
    expect(kind).toBe('fork');
    expect(exe).toBe(IMAGE);
  });

  // vm.memfd_noexec is per pid namespace and can only be made stricter in a child one: 2 in a
  // new pid namespace of a separate node (the host's value stays as it is).
  rootTest('where vm.memfd_noexec = 2 refuses executable memfds, the init is the fork', () => {
    const script = [
      `import { spawn, hardened } from ${JSON.stringify(join(root, 'dist/index.js'))};`,
      "import { readFileSync, readlinkSync } from 'node:fs';",
      "const c = spawn('sleep', ['5'], { namespaces: ['user', 'pid', 'mnt'], rootfs: 'host', init: true, ...hardened(), stdio: 'ignore' });",
      "for (let i = 0; i < 200 && readFileSync(`/proc/${c.pid}/comm`, 'utf8').trim() !== 'nsbox-init'; i++) await new Promise((r) => setTimeout(r, 5));",
      "console.log(readFileSync('/proc/sys/vm/memfd_noexec', 'utf8').trim(), readlinkSync(`/proc/${c.pid}/exe`));",
      "c.kill('SIGKILL'); await c.exited;",
    ].join('\n');
    const out = execFileSync(
      'unshare',
      [
        '--pid',
        '--fork',
        '--mount-proc',
        'sh',
        '-c',
        'echo 2 >/proc/sys/vm/memfd_noexec && exec "$0" --input-type=module -e "$1"',
        process.execPath,
        script,
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(out.trim()).toBe(`2 ${realpathSync(process.execPath)}`);
    expect(readFileSync('/proc/sys/vm/memfd_noexec', 'utf8').trim()).not.toBe('2');
  });

  usernsTest('runs under a Landlock ruleset that handles execute (only /usr executable)', async () => {
    const landlock = {
      fs: [
        { path: '/', access: ['read-file', 'read-dir'] as const },
        { path: '/usr', access: ['execute', 'read-file', 'read-dir'] as const },
        { path: '/dev/null', access: ['write-file'] as const },
      ],
    };
    const seen = await withInit({ ...image, landlock }, (init) => readlinkSync(`/proc/${init}/exe`));
    expect(seen).toBe(IMAGE);
    const r = await output(spawn('sh', ['-c', 'cat /proc/1/comm; /bin/true && exit 5'], { ...image, landlock }));
    expect(r).toMatchObject({ code: 5, stdout: 'nsbox-init\n' });
  });
});

describe('nsbox run: the init by default', () => {
  function start(args: string[]) {
    const p = spawnProcess(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      p.on('close', (code) => resolve({ code, stdout, stderr })),
    );
    return { p, done };
  }

  for (const [sig, status] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    usernsTest(`\`nsbox run -- sleep 30\` stops on ${sig} to nsbox: ${status}`, async () => {
      const { p, done } = start(['run', '--', 'sleep', '30']);
      await childRunning(await childRunning(p.pid!, 'nsbox-init'), 'sleep');
      const t0 = Date.now();
      p.kill(sig);
      const r = await done;
      expect(r.code).toBe(status);
      expect(Date.now() - t0).toBeLessThan(3000);
    });
  }

  usernsTest('SIGKILL of nsbox kills the init (die-with-parent), and the command with its pid namespace', async () => {
    const { p, done } = start(['run', '--', 'sleep', '30']);
    const init = await childRunning(p.pid!, 'nsbox-init');
    const sleeper = await childRunning(init, 'sleep');
    p.kill('SIGKILL');
    await done;
    const gone = async (pid: number) => {
      for (let i = 0; i < 300; i++) {
        try {
          if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) return true;
        } catch {
          return true;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      return false;
    };
    expect(await gone(init)).toBe(true);
    expect(await gone(sleeper)).toBe(true);
  });

  usernsTest('--no-init: the command is PID 1, as before', async () => {
    const r = await start(['run', '--no-init', '--', 'sh', '-c', 'echo $$; cat /proc/1/comm']).done;
    expect(r).toMatchObject({ code: 0, stdout: '1\nsh\n' });
    const d = await start(['run', '--', 'sh', '-c', 'cat /proc/1/comm; cut -d" " -f4 /proc/$$/stat']).done;
    expect(d).toMatchObject({ code: 0, stdout: 'nsbox-init\n1\n' });
  });

  usernsTest('a command that is not found still exits 127', async () => {
    const r = await start(['run', '--', 'nsbox-no-such-command']).done;
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/^nsbox: ENOENT: .*execve/);
  });
});
