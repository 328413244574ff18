// Escape suite, joining a running box and the fds a command inherits (issue 8, reproduction 13;
// CVE-2019-5736 class). A process inside box A attacks every process that joins it: stops it,
// reads its environ, steals its fds with pidfd_getfd, opens its /proc/PID/exe. The host checks
// that the attacker got nothing of the joining nsbox (Node's environment, Node's fds, the node
// binary) and that every join finished.
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect } from 'vitest';
import { capabilityNumber, DEFAULT_CAPABILITIES } from '../../src/security/index.js';
import { rootTest } from '../helpers/env.js';
import {
  box,
  cgroup2Mount,
  ensureBuilt,
  makeRootfs,
  modeArgs,
  MODES,
  nsbox,
  onCleanup,
  PY_LIBC,
  ROOT_MODES,
  runCleanup,
  start,
  tempDir,
  uniq,
} from '../helpers/escape.js';

beforeAll(ensureBuilt);
afterEach(runCleanup);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Children of a process (every thread's), from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      if (s) out.push(...s.split(/\s+/).map(Number));
    } catch {
      // thread ended meanwhile
    }
  }
  return out;
}

// PID 1 of box A: spins on the next pid (ns_last_pid + 1) and on /proc, and attacks each
// process that is not itself, printing one JSON line per attempt that got anything.
const ATTACKER = `${PY_LIBC}
import json, signal, time
PIDFD_OPEN, PIDFD_GETFD = 434, 438
me = os.getpid()
tries = {}
def attack(pid):
    rec = {'pid': pid}
    try: rec['comm'] = open('/proc/%d/comm' % pid).read().strip()
    except OSError: pass
    try:
        os.kill(pid, signal.SIGSTOP); rec['stopped'] = True
    except OSError: pass
    try:
        env = open('/proc/%d/environ' % pid, 'rb').read(65536)
        if env: rec['environ'] = env.decode(errors='replace')
    except OSError: pass
    try:
        fd = os.open('/proc/%d/exe' % pid, os.O_PATH); st = os.fstat(fd); os.close(fd)
        rec['exe'] = [st.st_dev, st.st_ino]
    except OSError: pass
    pfd = sc(PIDFD_OPEN, pid, 0)
    if pfd >= 0:
        fds = {}
        for n in range(3, 64):
            f = sc(PIDFD_GETFD, pfd, n, 0)
            if f < 0: continue
            try: fds[n] = os.pread(f, 256, 0).decode(errors='replace')
            except OSError:
                try: fds[n] = 'unreadable ' + os.readlink('/proc/self/fd/%d' % f)
                except OSError: fds[n] = 'unreadable'
            os.close(f)
        if fds: rec['fds'] = fds
        os.close(pfd)
    if rec.get('stopped'):
        try: os.kill(pid, signal.SIGCONT)
        except OSError: pass
    if len(rec) > 2: print(json.dumps(rec), flush=True)
print('READY', flush=True)
end = time.time() + float(sys.argv[1])
i = 0
while time.time() < end:
    i += 1
    try: nxt = int(open('/proc/sys/kernel/ns_last_pid').read()) + 1
    except OSError: nxt = 0
    cands = [nxt] if nxt else []
    if i % 20 == 0: cands += [int(p) for p in os.listdir('/proc') if p.isdigit()]
    for pid in cands:
        if pid in (me, 0) or tries.get(pid, 0) >= 3: continue
        try: os.kill(pid, 0)
        except OSError: continue
        tries[pid] = tries.get(pid, 0) + 1
        try: attack(pid)
        except Exception as e: print('attack %d: %r' % (pid, e), file=sys.stderr, flush=True)
    try: os.waitpid(-1, os.WNOHANG)
    except ChildProcessError: pass
`;

describe.each(MODES)('escapes: joining a box ($name)', (mode) => {
  // 13 (CVE-2019-5736 class). The process that joins must be non-dumpable and carry nothing of Node.
  mode.test(
    '13. --join user,pid,mnt of a hostile box 25 times: the box steals no fd, environ or node binary; every join finishes',
    async () => {
      const rootfs = makeRootfs();
      const dir = tempDir();
      const secret = `secret-${uniq()}`;
      writeFileSync(join(dir, 'secret'), secret + '\n');
      const secretFd = openSync(join(dir, 'secret'), 'r');
      onCleanup(() => closeSync(secretFd));
      const canary = `canary-${uniq()}`;
      const node = statSync(process.execPath);

      // --no-init: the attacker itself is PID 1 of box A, with no init between it and the joiners.
      const a = start(['run', ...modeArgs(mode, rootfs, true), '--no-init', '--', '/usr/bin/python3', '-c', ATTACKER, '30'], {
        timeoutMs: 40_000,
      });
      let pid1 = 0;
      for (let i = 0; i < 300 && !pid1; i++) {
        await sleep(10);
        pid1 = childrenOf(a.p.pid!).find((c) => readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('python3')) ?? 0;
      }
      expect(pid1, 'box A started').toBeGreaterThan(0);
      let out = '';
      a.p.stdout!.on('data', (d: string) => (out += d));
      for (let i = 0; i < 300 && !out.includes('READY'); i++) await sleep(10);
      expect(out).toContain('READY');

      const joins = [];
      for (let i = 0; i < 25; i++) {
        const r = await nsbox(
          [
            'run',
            '--join',
            `user=${pid1}`,
            '--join',
            `pid=${pid1}`,
            '--join',
            `mnt=${pid1}`,
            '--namespaces',
            'none',
            '--clearenv',
            '--',
            '/bin/true',
          ],
          { fds: { 5: secretFd }, env: { ...process.env, NSBOX_ESCAPE_CANARY: canary }, timeoutMs: 5_000 },
        );
        joins.push(r);
        if (r.timedOut) break;
      }
      const aAlive = a.p.exitCode === null && a.p.signalCode === null;
      a.p.kill('SIGKILL');
      const aResult = await a.done;

      // Positive control: the joins really ran /bin/true inside A.
      expect(
        joins.map((r) => (r.timedOut ? 'timed out' : r.code)),
        (joins.map((r) => r.stderr).find((e) => e) ?? '') + (aAlive ? '' : `box A exited early: ${aResult.stderr}`),
      ).toEqual(Array(25).fill(0));
      const got = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map(
          (l) => JSON.parse(l) as { pid: number; comm?: string; environ?: string; exe?: [number, number]; fds?: Record<string, string> },
        );
      const stolen = got.flatMap((g) => [
        ...(g.environ?.includes(canary) ? [`pid ${g.pid} (${g.comm}): Node's environ`] : []),
        ...(g.exe && g.exe[1] === node.ino && g.exe[0] === node.dev ? [`pid ${g.pid} (${g.comm}): /proc/PID/exe is the node binary`] : []),
        // Any fd of the joiner before it has exec'd (comm still node's) is Node's; after exec the
        // process is the box's own /bin/true, whose fds (ld.so's brief one on libc) are its own.
        ...Object.entries(g.fds ?? {})
          .filter(([, v]) => v.includes(secret) || g.comm !== 'true')
          .map(([n, v]) => `pid ${g.pid} (${g.comm}): fd ${n}${v.includes(secret) ? ' = the secret' : `: ${v.slice(0, 40)}`}`),
      ]);
      expect([...new Set(stolen)].slice(0, 30)).toEqual([]);
    },
    60_000,
  );

  // The command inherits stdio and nothing else: no fd of Node's, none of nsbox's own.
  mode.test('fds: with fds 5 and 7 open in nsbox, the command has only 0, 1, 2 (ls -l /proc/self/fd)', async () => {
    const rootfs = makeRootfs();
    const fd = openSync('/', 'r');
    onCleanup(() => closeSync(fd));
    const r = await box(mode, rootfs, 'ls -l /proc/self/fd', { fds: { 5: fd, 7: fd } });
    const fds = [...r.stdout.matchAll(/ (\d+) -> (.*)$/gm)].filter((m) => !/^\/proc\/\d+\/fd$/.test(m[2]!)).map((m) => Number(m[1]));
    expect(fds.length, r.stdout + r.stderr).toBeGreaterThan(0);
    expect(fds).toEqual([0, 1, 2]);
  });
});

describe.each(ROOT_MODES)('escapes: nsbox-internal fds ($name)', (mode) => {
  mode.test('fds: with --cgroup-parent (a cgroup dir fd for CLONE_INTO_CGROUP) the command has only 0, 1, 2', async () => {
    const rootfs = makeRootfs();
    const cg = join(cgroup2Mount()!, `nsbox-escape-${uniq()}`);
    mkdirSync(cg);
    onCleanup(() => {
      for (const e of readdirSync(cg, { withFileTypes: true })) if (e.isDirectory()) rmdirSync(join(cg, e.name));
      rmdirSync(cg);
    });
    const r = await box(mode, rootfs, 'ls -l /proc/self/fd', { args: ['--cgroup-parent', cg] });
    const fds = [...r.stdout.matchAll(/ (\d+) -> (.*)$/gm)].filter((m) => !/^\/proc\/\d+\/fd$/.test(m[2]!)).map((m) => Number(m[1]));
    expect(fds.length, r.stdout + r.stderr).toBeGreaterThan(0);
    expect(fds).toEqual([0, 1, 2]);
  });
});

// A box root holding CAP_SYS_PTRACE over the host's user namespace (root without a user
// namespace, given SYS_PTRACE; here every capability) seizes each process that joins its pid
// namespace, as early as it can: it spins on PTRACE_SEIZE of the next pid. Found in review on
// 2026-11-30: the joiner entered the box by a fork right after its setns(2) steps and applied
// the command's ids, capabilities and filters only then — 51 of 53 attaches caught it holding
// every capability of the caller's, no filter, no no_new_privs (code injected then runs as host
// root). Now the fork into the box comes after those steps (csrc/child.cc ForkFirst): whatever
// the racer catches is already the command.
const RACER = `${PY_LIBC}
import time
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
SEIZE, INTERRUPT, DETACH = 0x4206, 0x4207, 17
def last():
    return int(open('/proc/sys/kernel/ns_last_pid').read())
nxt = last() + 1
end = time.time() + 20
print('ready', flush=True)
while time.time() < end:
    if libc.ptrace(SEIZE, nxt, None, None) == 0:
        try:
            st = dict(l.split(':', 1) for l in open(f'/proc/{nxt}/status').read().splitlines())
            print('caught', st['CapEff'].strip(), st['Seccomp'].strip(), st['NoNewPrivs'].strip(), flush=True)
        except (OSError, KeyError):
            pass
        libc.ptrace(INTERRUPT, nxt, None, None)
        try:
            os.waitpid(nxt, 0x40000000)
        except ChildProcessError:
            pass
        libc.ptrace(DETACH, nxt, None, None)
        nxt += 1
    elif last() >= nxt:
        nxt = last() + 1
`;

describe('escapes: a joiner seized by a box root with CAP_SYS_PTRACE', () => {
  rootTest(
    'every attach finds the command’s capabilities, its filter and no_new_privs already applied',
    async () => {
      const { spawn: nsSpawn, hardened } = await import('../../src/index.js');
      const dir = tempDir();
      writeFileSync(join(dir, 'racer.py'), RACER);
      const boxed = nsSpawn('python3', ['/r/racer.py'], {
        namespaces: ['pid', 'mnt'],
        rootfs: 'host',
        mounts: [{ type: 'bind', source: dir, target: '/r', readOnly: true }],
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      boxed.stdout!.on('data', (d: Buffer) => (out += d));
      try {
        for (let i = 0; i < 100 && !out.includes('ready'); i++) await sleep(20);
        const docker = DEFAULT_CAPABILITIES.reduce((m, n) => m | (1n << BigInt(capabilityNumber(n, 'n'))), 0n)
          .toString(16)
          .padStart(16, '0');
        // As hardened() has it, and as Docker's exec has it: no no_new_privs (the filter then
        // comes before setuid) and a session of its own (a step the fork does not inherit).
        for (const [o, nnp] of [
          [hardened(), '1'],
          [{ ...hardened(), noNewPrivileges: false, detached: true }, '0'],
        ] as const) {
          const start = out.length;
          for (let i = 0; i < 400 && (out.slice(start).match(/caught/g)?.length ?? 0) < 10; i++) {
            const j = nsSpawn('/bin/true', { join: { pid: boxed.pid, mnt: boxed.pid }, ...o, stdio: 'ignore' });
            expect(await j.exited).toMatchObject({ code: 0 });
          }
          const caught = out
            .slice(start)
            .split('\n')
            .filter((l) => l.startsWith('caught '));
          expect(caught.length).toBeGreaterThan(0); // the racer can tell (51 of 53 before the fix)
          for (const l of caught) expect(l).toBe(`caught ${docker} 2 ${nnp}`);
        }
      } finally {
        boxed.kill('SIGKILL');
        await boxed.exited.catch(() => undefined);
      }
    },
    60000,
  );
});
