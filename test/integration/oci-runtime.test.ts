// nsbox-oci driven as a real client drives it: the CLI binary (package.json's bin) run as
// a separate process for every command, a busybox bundle, a --root of its own per test. The
// lifecycle is checked against the kernel: the create command exits while the process waits
// (its command has not run), start runs it, the status follows the process, delete removes
// the cgroup and the state.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  rmdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { findCgroup2 } from '../../src/index.js';
import { defaultSpec, parseConfig, type OciSpec } from '../../src/oci/index.js';
import { canUserns, isRoot, testIf } from '../helpers/env.js';

/** What npm links as `nsbox-oci`: package.json's bin (dist/oci-runtime/nsbox-oci.js, scripts/bundle-oci.mjs). */
const CLI = resolve(__dirname, '../..', JSON.parse(readFileSync(resolve(__dirname, '../../package.json'), 'utf8')).bin['nsbox-oci']);
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p) && statSync(p).size > 500_000);
const noBusybox = BUSYBOX === undefined ? 'no static busybox (Debian busybox-static)' : undefined;
const noCli = existsSync(CLI) ? undefined : `${CLI} is not built (npm run build:ts)`;
const skip = noBusybox ?? noCli;
const rootTest = testIf(isRoot && !skip, skip ?? 'a rootful container needs root');
const rootlessTest = testIf(
  !isRoot && canUserns && !skip,
  skip ?? (isRoot ? 'the rootless spec is run as an unprivileged user' : 'no user namespaces here'),
);
const anyTest = testIf(!skip && (isRoot || canUserns), skip ?? 'no user namespaces here');
const v2 = findCgroup2();

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsbox-oci-it-'));
  chmodSync(dir, 0o755);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  // The parent cgroup create makes for /nsbox-oci/ID, when nothing else is in it.
  if (isRoot && v2)
    try {
      rmdirSync(join(v2.mountPoint, 'nsbox-oci'));
    } catch {
      // in use, or never made
    }
});

interface Ctx {
  root: string;
  bundle: string;
  out: string;
  id: string;
}

/** A bundle with a busybox root, /out bound from the host (read-write), and `script` as the process. */
function setup(script: string, edit: (c: OciSpec) => void = () => undefined): Ctx {
  const base = join(dir, randomBytes(4).toString('hex'));
  const bundle = join(base, 'bundle');
  const rootfs = join(bundle, 'rootfs');
  const out = join(base, 'out');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'root', 'out']) mkdirSync(join(rootfs, d), { recursive: true });
  mkdirSync(out, { recursive: true });
  chmodSync(out, 0o777);
  copyFileSync(BUSYBOX!, join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  for (const a of ['sh', 'echo', 'touch', 'sleep', 'cat', 'hostname', 'kill', 'ls', 'true', 'id'])
    symlinkSync('busybox', join(rootfs, 'bin', a));
  const config = defaultSpec({ rootless: !isRoot });
  config.process!.terminal = false;
  config.process!.args = ['sh', '-c', script];
  delete config.process!.capabilities!.ambient; // runc's ambient entries are skipped with a warning on stderr
  config.mounts!.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
  edit(config);
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  return { root: join(base, 'state'), bundle, out, id: `c-${randomBytes(4).toString('hex')}` };
}

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The file the command's stdout went to (a container created by it writes there too). */
  outFile?: string;
}

/**
 * Runs `nsbox-oci --root ROOT ARGS…` to its exit. Its stdout and stderr are files, not pipes:
 * a container created by it inherits them, and a pipe would stay open as long as it runs.
 */
function oci(c: Ctx, args: string[], global: string[] = []): Result {
  const tag = randomBytes(3).toString('hex');
  const o = join(c.out, `..`, `cli-${tag}.out`);
  const e = join(c.out, `..`, `cli-${tag}.err`);
  const fo = openSync(o, 'w');
  const fe = openSync(e, 'w');
  try {
    const r = spawnSync(process.execPath, [CLI, '--root', c.root, ...global, ...args], { stdio: ['ignore', fo, fe], timeout: 30_000 });
    return { status: r.status, stdout: readFileSync(o, 'utf8'), stderr: readFileSync(e, 'utf8'), outFile: o };
  } finally {
    closeSync(fo);
    closeSync(fe);
  }
}

/** The same, started without waiting; resolves at its exit (a container it made keeps its stderr open). */
function ociAsync(c: Ctx, args: string[]): Promise<Result> {
  const e = join(c.out, '..', `cli-${randomBytes(3).toString('hex')}.err`);
  const fe = openSync(e, 'w');
  return new Promise((res) => {
    const p = spawn(process.execPath, [CLI, '--root', c.root, ...args], { stdio: ['ignore', 'ignore', fe] });
    closeSync(fe);
    p.on('exit', (status) => res({ status, stdout: '', stderr: readFileSync(e, 'utf8') }));
  });
}

function state(c: Ctx, id = c.id): { status: string; pid: number; [k: string]: unknown } {
  const r = oci(c, ['state', id]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function cgroupDir(c: Ctx): string | undefined {
  return isRoot && v2 ? join(v2.mountPoint, 'nsbox-oci', c.id) : undefined;
}

/** Removes whatever a failed test left: the container (killed) and its state. */
function cleanup(c: Ctx): void {
  if (existsSync(join(c.root, c.id))) oci(c, ['delete', '--force', c.id]);
}

const WAIT_FOR_STOP = 'while [ ! -e /out/stop ]; do sleep 0.05; done';

describe('nsbox-oci lifecycle', () => {
  const lifecycle = async () => {
    const c = setup(`echo hello; touch /out/marker; ${WAIT_FOR_STOP}; exit 3`);
    try {
      const pidFile = join(c.out, '..', 'pid');
      const t0 = Date.now();
      const cr = oci(c, ['create', '--bundle', c.bundle, '--pid-file', pidFile, c.id]);
      expect(cr.stderr).toBe('');
      expect(cr.status).toBe(0); // the create command has exited …
      expect(Date.now() - t0).toBeLessThan(20_000);
      const s1 = state(c);
      expect(s1).toMatchObject({ ociVersion: '1.2.0', id: c.id, status: 'created', bundle: c.bundle, rootfs: join(c.bundle, 'rootfs') });
      expect(s1.pid).toBeGreaterThan(0);
      expect(readFileSync(pidFile, 'utf8')).toBe(String(s1.pid));
      expect(existsSync(`/proc/${s1.pid}`)).toBe(true); // … while the container's process waits
      expect(existsSync(join(c.out, 'marker'))).toBe(false); // and its command has not run
      expect(typeof s1.created).toBe('string');
      const cg = cgroupDir(c);
      if (cg) expect(readFileSync(join(cg, 'cgroup.procs'), 'utf8').trim()).toBe(String(s1.pid));

      const st = oci(c, ['start', c.id]);
      expect(st.stderr).toBe('');
      expect(st.status).toBe(0);
      await until('the marker', () => existsSync(join(c.out, 'marker')));
      expect(state(c).status).toBe('running');
      expect(readFileSync(cr.outFile!, 'utf8')).toBe('hello\n'); // the container's stdout was create's

      expect(oci(c, ['start', c.id]).status).toBe(1); // not created any more
      writeFileSync(join(c.out, 'stop'), '');
      await until('stopped', () => state(c).status === 'stopped');
      expect(state(c).pid).toBe(0);

      const del = oci(c, ['delete', c.id]);
      expect(del.stderr).toBe('');
      expect(del.status).toBe(0);
      expect(existsSync(join(c.root, c.id))).toBe(false);
      if (cg) expect(existsSync(cg)).toBe(false);
      const gone = oci(c, ['state', c.id]);
      expect(gone.status).toBe(1);
      expect(gone.stderr).toContain(`container ${c.id} does not exist`);
    } finally {
      cleanup(c);
    }
  };
  rootTest('create → created (nothing run) → start → running → stopped → delete (root)', lifecycle, 60_000);
  rootlessTest('create → created (nothing run) → start → running → stopped → delete (rootless)', lifecycle, 60_000);

  anyTest(
    'kill: a signal by name reaches the process; by number too',
    async () => {
      const c = setup(`trap 'echo term > /out/sig; exit 0' TERM; touch /out/ready; ${WAIT_FOR_STOP}`);
      try {
        expect(oci(c, ['run', '--detach', '--bundle', c.bundle, c.id]).status).toBe(0);
        await until('ready', () => existsSync(join(c.out, 'ready')));
        const k = oci(c, ['kill', c.id, 'TERM']);
        expect(k.stderr).toBe('');
        expect(k.status).toBe(0);
        await until('stopped', () => state(c).status === 'stopped');
        expect(readFileSync(join(c.out, 'sig'), 'utf8')).toBe('term\n');
        expect(oci(c, ['kill', c.id, 'KILL']).status).toBe(1); // not running
        expect(oci(c, ['delete', c.id]).status).toBe(0);

        rmSync(join(c.out, 'ready'));
        expect(oci(c, ['run', '-d', '--bundle', c.bundle, c.id]).status).toBe(0);
        await until('ready', () => existsSync(join(c.out, 'ready')));
        expect(oci(c, ['kill', c.id, '9']).status).toBe(0);
        await until('stopped', () => state(c).status === 'stopped');
        expect(oci(c, ['kill', c.id, 'SIGNOPE']).status).toBe(1);
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  anyTest(
    'delete of a running container: refused without --force; --force kills it',
    async () => {
      const c = setup(WAIT_FOR_STOP);
      try {
        expect(oci(c, ['run', '--detach', '--bundle', c.bundle, c.id]).status).toBe(0);
        const { pid } = state(c);
        const d = oci(c, ['delete', c.id]);
        expect(d.status).toBe(1);
        expect(d.stderr).toContain('not stopped: running');
        const f = oci(c, ['delete', '--force', c.id]);
        expect(f.stderr).toBe('');
        expect(f.status).toBe(0);
        expect(existsSync(join(c.root, c.id))).toBe(false);
        await until('the process gone', () => {
          try {
            return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
          } catch {
            return true;
          }
        });
        const cg = cgroupDir(c);
        if (cg) expect(existsSync(cg)).toBe(false);
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  anyTest(
    'two creates of one ID at once: exactly one succeeds',
    async () => {
      const c = setup(WAIT_FOR_STOP);
      try {
        const [a, b] = await Promise.all([
          ociAsync(c, ['create', '--bundle', c.bundle, c.id]),
          ociAsync(c, ['create', '--bundle', c.bundle, c.id]),
        ]);
        expect([a.status, b.status].sort()).toEqual([0, 1]);
        expect((a.status === 1 ? a : b).stderr).toContain(`container ${c.id} already exists`);
        expect(state(c).status).toBe('created');
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  anyTest(
    'list (json and -q) and ps',
    async () => {
      const c = setup(`touch /out/ready; ${WAIT_FOR_STOP}`);
      try {
        expect(oci(c, ['run', '-d', '--bundle', c.bundle, c.id]).status).toBe(0);
        await until('ready', () => existsSync(join(c.out, 'ready')));
        const { pid } = state(c);
        const l = JSON.parse(oci(c, ['list', '--format', 'json']).stdout);
        expect(l).toEqual([expect.objectContaining({ id: c.id, pid, status: 'running', bundle: c.bundle })]);
        expect(oci(c, ['list', '-q']).stdout).toBe(`${c.id}\n`);
        expect(oci(c, ['list']).stdout).toMatch(new RegExp(`^ID +PID +STATUS.*\\n${c.id} +${pid} +running`));
        const ps = JSON.parse(oci(c, ['ps', '--format', 'json', c.id]).stdout);
        expect(ps).toContain(pid);
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  rootTest(
    'pause and resume: cgroup.freeze on the v2 tree; kill --all',
    async () => {
      const c = setup(`touch /out/ready; ${WAIT_FOR_STOP}`);
      try {
        expect(oci(c, ['run', '-d', '--bundle', c.bundle, c.id]).status).toBe(0);
        await until('ready', () => existsSync(join(c.out, 'ready')));
        const p = oci(c, ['pause', c.id]);
        expect(p.stderr).toBe('');
        expect(p.status).toBe(0);
        expect(state(c).status).toBe('paused');
        expect(readFileSync(join(cgroupDir(c)!, 'cgroup.freeze'), 'utf8').trim()).toBe('1');
        expect(readFileSync(`/proc/${state(c).pid}/status`, 'utf8')).toMatch(/^State:\s+S/m);
        expect(oci(c, ['pause', c.id]).status).toBe(1);
        expect(oci(c, ['resume', c.id]).status).toBe(0);
        expect(state(c).status).toBe('running');
        expect(readFileSync(join(cgroupDir(c)!, 'cgroup.freeze'), 'utf8').trim()).toBe('0');
        // kill --all SIGKILL: cgroup.kill empties the cgroup.
        expect(oci(c, ['exec', '-d', c.id, 'sleep', '100']).status).toBe(0);
        expect(
          readFileSync(join(cgroupDir(c)!, 'cgroup.procs'), 'utf8')
            .trim()
            .split('\n').length,
        ).toBeGreaterThanOrEqual(2);
        expect(oci(c, ['kill', '--all', c.id, 'KILL']).status).toBe(0);
        expect(readFileSync(join(cgroupDir(c)!, 'cgroup.procs'), 'utf8')).toBe('');
        await until('stopped', () => state(c).status === 'stopped'); // the cgroup empties before exit ends
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  const hugetlb = isRoot && v2?.controllers.includes('hugetlb') === true && existsSync('/sys/kernel/mm/hugepages/hugepages-2048kB');
  testIf(
    hugetlb && !skip,
    skip ?? (isRoot ? 'no hugetlb controller with 2MB pages in cgroup v2 here' : 'writing cgroupfs needs root here'),
  )(
    'update --resources: the limit reaches the v2 cgroup (hugetlb here; memory and pids on a pure v2 host)',
    async () => {
      const c = setup(`touch /out/ready; ${WAIT_FOR_STOP}`);
      try {
        expect(oci(c, ['run', '-d', '--bundle', c.bundle, c.id]).status).toBe(0);
        const file = join(c.out, '..', 'resources.json');
        writeFileSync(file, JSON.stringify({ hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }] }));
        const u = oci(c, ['update', '--resources', file, c.id]);
        expect(u.stderr).toBe('');
        expect(u.status).toBe(0);
        expect(readFileSync(join(cgroupDir(c)!, 'hugetlb.2MB.max'), 'utf8').trim()).toBe('4194304');
        writeFileSync(file, JSON.stringify({ hugepageLimits: [{ pageSize: '2MB', limit: -5 }] }));
        expect(oci(c, ['update', '--resources', file, c.id]).status).toBe(1);
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  anyTest(
    "exec: the container's namespaces (hostname, pid 1 is its process) and its exit status",
    async () => {
      const c = setup(`touch /out/ready; ${WAIT_FOR_STOP}`);
      try {
        expect(oci(c, ['run', '-d', '--bundle', c.bundle, c.id]).status).toBe(0);
        await until('ready', () => existsSync(join(c.out, 'ready')));
        const e = oci(c, ['exec', c.id, 'sh', '-c', 'hostname; tr "\\0" " " < /proc/1/cmdline; echo; echo $$; id -u']);
        expect(e.stderr).toBe('');
        expect(e.status).toBe(0);
        const [host, cmd1, self, uid] = e.stdout.trim().split('\n');
        expect(host).toBe('runc');
        expect(cmd1).toContain('/out/ready');
        expect(Number(self)).toBeGreaterThan(1);
        expect(uid).toBe('0');
        expect(oci(c, ['exec', c.id, 'sh', '-c', 'exit 7']).status).toBe(7);
        const env = oci(c, ['exec', '--env', 'FOO=bar', '--cwd', '/out', c.id, 'sh', '-c', 'echo $FOO $(pwd)']);
        expect(env.stdout).toBe('bar /out\n');
        // --detach: the command exits at once, the process runs on (it outlives exec), the pid file names it.
        const pidFile = join(c.out, '..', 'exec.pid');
        const d = oci(c, ['exec', '--detach', '--pid-file', pidFile, c.id, 'sh', '-c', 'sleep 2; touch /out/detached']);
        expect(d.stderr).toBe('');
        expect(d.status).toBe(0);
        const xpid = Number(readFileSync(pidFile, 'utf8'));
        expect(existsSync(`/proc/${xpid}`)).toBe(true);
        await until('the detached process', () => existsSync(join(c.out, 'detached')));
        // --process FILE: a process.json instead of the command.
        const pj = join(c.out, '..', 'process.json');
        writeFileSync(
          pj,
          JSON.stringify({ args: ['sh', '-c', 'echo from-json $A'], env: ['A=1', 'PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0 } }),
        );
        const pr = oci(c, ['exec', '--process', pj, c.id]);
        expect(pr.stdout).toBe('from-json 1\n');
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  anyTest(
    'hooks: createRuntime and prestart at create, poststart after start, poststop after delete, each with the state on stdin',
    async () => {
      let hookDir = '';
      const c = setup(`touch /out/ready; ${WAIT_FOR_STOP}`, (config) => {
        hookDir = join(dir, `hooks-${randomBytes(3).toString('hex')}`);
        const hook = (kind: string) => [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${hookDir}/${kind}.json`] }];
        config.hooks = {
          createRuntime: hook('createRuntime'),
          prestart: hook('prestart'),
          poststart: hook('poststart'),
          poststop: hook('poststop'),
        };
      });
      mkdirSync(hookDir);
      const read = (k: string) => JSON.parse(readFileSync(join(hookDir, `${k}.json`), 'utf8'));
      try {
        expect(oci(c, ['create', '--bundle', c.bundle, c.id]).status).toBe(0);
        const { pid } = state(c);
        expect(read('createRuntime')).toMatchObject({ id: c.id, pid, status: 'creating', bundle: c.bundle });
        expect(read('prestart')).toMatchObject({ id: c.id, pid, status: 'creating' });
        expect(existsSync(join(hookDir, 'poststart.json'))).toBe(false);
        expect(oci(c, ['start', c.id]).status).toBe(0);
        expect(read('poststart')).toMatchObject({ id: c.id, pid, status: 'running' });
        expect(oci(c, ['delete', '--force', c.id]).status).toBe(0);
        expect(read('poststop')).toMatchObject({ id: c.id, status: 'stopped' });
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  anyTest(
    'a failing createRuntime hook fails create and leaves nothing behind',
    () => {
      const c = setup(WAIT_FOR_STOP, (config) => {
        config.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'echo no >&2; exit 3'] }] };
      });
      try {
        const r = oci(c, ['create', '--bundle', c.bundle, c.id]);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain('hooks.createRuntime[0]');
        expect(existsSync(join(c.root, c.id))).toBe(false);
        const cg = cgroupDir(c);
        if (cg) expect(existsSync(cg)).toBe(false);
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  rootlessTest(
    'rootless without a delegated cgroup: the container runs in ours, and pause says why it cannot',
    async () => {
      const c = setup(`touch /out/ready; ${WAIT_FOR_STOP}`);
      try {
        expect(oci(c, ['run', '-d', '--bundle', c.bundle, c.id]).status).toBe(0);
        const p = oci(c, ['pause', c.id]);
        expect(p.status).toBe(1);
        expect(p.stderr).toContain('has no cgroup');
        expect(state(c).status).toBe('running');
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  anyTest(
    'run without --detach: waits, exits with the status, deletes the container',
    () => {
      const c = setup('echo ran > /out/ran; exit 5');
      try {
        const r = oci(c, ['run', '--bundle', c.bundle, c.id]);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(5);
        expect(readFileSync(join(c.out, 'ran'), 'utf8')).toBe('ran\n');
        expect(existsSync(join(c.root, c.id))).toBe(false);
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  anyTest(
    'a pid now naming another process reads as stopped (the start time is checked)',
    () => {
      const c = setup(WAIT_FOR_STOP);
      try {
        expect(oci(c, ['create', '--bundle', c.bundle, c.id]).status).toBe(0);
        const file = join(c.root, c.id, 'state.json');
        const saved = readFileSync(file, 'utf8');
        const rec = JSON.parse(saved);
        writeFileSync(file, JSON.stringify({ ...rec, startTime: String(Number(rec.startTime) - 1) }));
        expect(state(c)).toMatchObject({ status: 'stopped', pid: 0 });
        expect(oci(c, ['kill', c.id, 'KILL']).status).toBe(1); // nothing is signalled
        writeFileSync(file, saved);
        expect(state(c).status).toBe('created');
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );
});

/** A console socket in python3 (node:net cannot receive SCM_RIGHTS): takes the master, types `line`, prints what the terminal shows until it hangs up. */
const RECEIVER = `
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 4096, 4)
print("name=" + msg.decode(), flush=True)
os.write(fds[0], sys.argv[2].encode())
while True:
    try:
        b = os.read(fds[0], 4096)
    except OSError:
        break
    if not b:
        break
    sys.stdout.write(b.decode(errors="replace")); sys.stdout.flush()
`;
const hasPython = (() => {
  try {
    spawnSync('python3', ['-c', 'import socket; socket.recv_fds'], { stdio: 'ignore' }).status === 0 ||
      (() => {
        throw 0;
      })();
    return true;
  } catch {
    return false;
  }
})();

/** Starts the receiver at `sock`; once it listens, resolves with `{ output }`: its output once it has exited. */
async function consoleSocket(sock: string, line: string): Promise<{ output: Promise<string> }> {
  const py = spawn('python3', ['-c', RECEIVER, sock, line], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  py.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  await until('the console socket', () => out.includes('listening'));
  return { output: new Promise((res) => py.on('close', () => res(out))) };
}

describe('nsbox-oci with a terminal (process.terminal, --console-socket)', () => {
  const ttyTest = testIf(!skip && (isRoot || canUserns) && hasPython, skip ?? 'needs user namespaces and python3 ≥ 3.9 (socket.recv_fds)');

  ttyTest(
    "create sends the pty's master to the console socket; the process has it as its terminal",
    async () => {
      const c = setup('tty; read x; echo "got <$x>"', (config) => {
        config.process!.terminal = true;
      });
      try {
        const sock = join(c.out, '..', 'console.sock');
        const received = await consoleSocket(sock, 'hello\r');
        expect(oci(c, ['create', '--bundle', c.bundle, c.id]).stderr).toContain('--console-socket');
        const cr = oci(c, ['create', '--console-socket', sock, '--bundle', c.bundle, c.id]);
        expect(cr.stderr).toBe('');
        expect(cr.status).toBe(0);
        expect(oci(c, ['start', c.id]).status).toBe(0);
        const out = await received.output;
        expect(out).toContain('name=/dev/ptmx');
        expect(out).toContain('/dev/pts/0');
        expect(out).toContain('got <hello>');
        await until('stopped', () => state(c).status === 'stopped');
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  ttyTest(
    'exec --tty --console-socket: a terminal for the new process',
    async () => {
      const c = setup(`touch /out/ready; ${WAIT_FOR_STOP}`);
      try {
        expect(oci(c, ['run', '-d', '--bundle', c.bundle, c.id]).status).toBe(0);
        expect(oci(c, ['exec', '--tty', c.id, 'true']).stderr).toContain('--console-socket');
        const sock = join(c.out, '..', 'exec-console.sock');
        const received = await consoleSocket(sock, 'typed\r');
        const e = oci(c, ['exec', '--tty', '--console-socket', sock, c.id, 'sh', '-c', 'read x; echo "tty=$(tty) <$x>"']);
        expect(e.stderr).toBe('');
        expect(e.status).toBe(0);
        expect(await received.output).toMatch(/tty=\/dev\/pts\/\d+ <typed>/);
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );
});

describe('nsbox-oci without a container', () => {
  anyTest('spec writes what parseConfig accepts, and never overwrites', () => {
    const c = setup('true');
    const b = join(c.out, '..', 'specdir');
    mkdirSync(b);
    const r = oci(c, ['spec', '--bundle', b]);
    expect(r.status).toBe(0);
    const spec = parseConfig(readFileSync(join(b, 'config.json'), 'utf8'));
    expect(spec.process!.args).toEqual(['sh']);
    expect(oci(c, ['spec', '--bundle', b]).status).toBe(1);
    rmSync(join(b, 'config.json'));
    expect(oci(c, ['spec', '--rootless', '--bundle', b]).status).toBe(0);
    expect(parseConfig(readFileSync(join(b, 'config.json'), 'utf8')).linux!.uidMappings).toHaveLength(1);
  });

  anyTest('errors: exit 1, the message on stderr and as a json line in --log', () => {
    const c = setup('true');
    const log = join(c.out, '..', 'log.json');
    const r = oci(c, ['state', 'nope'], ['--log', log, '--log-format', 'json']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('container nope does not exist');
    const line = JSON.parse(readFileSync(log, 'utf8').trim());
    expect(line).toEqual({ level: 'error', msg: 'container nope does not exist', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const bad = oci(c, ['create', '--bundle', '/nonexistent', 'x'], ['--log', log, '--log-format', 'json']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('config.json');
    expect(oci(c, ['list'], ['--systemd-cgroup']).stderr).toContain('--systemd-cgroup');
    expect(oci(c, ['delete', 'a/b']).stderr).toContain('invalid container ID');
  });
});
