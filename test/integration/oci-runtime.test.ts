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
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { findCgroup2, spawn as nsSpawn, openPty } from '../../src/index.js';
import { addAddress, addLink, addresses, deleteLink, link, links, setLink } from '../../src/net/index.js';
import { defaultSpec, parseConfig, type OciSpec } from '../../src/oci/index.js';
import { pinNamespaces } from '../../src/oci/runtime/pin.js';
import { startTime } from '../../src/oci/runtime/proc.js';
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
  for (const a of ['sh', 'echo', 'touch', 'sleep', 'cat', 'hostname', 'kill', 'ls', 'true', 'id', 'head', 'wc', 'readlink', 'grep'])
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

  testIf(isRoot && v2 !== null && !skip, skip ?? 'writing the cgroup v2 tree needs root here')(
    'delete removes the default parent /nsbox-oci with its last container, also racing a concurrent create',
    async () => {
      const parent = join(v2!.mountPoint, 'nsbox-oci');
      const a = setup(WAIT_FOR_STOP);
      const b = { ...setup(WAIT_FOR_STOP), root: a.root };
      const ids: string[] = [];
      try {
        for (let round = 0; round < 6; round++) {
          const cycle = async (c: Ctx) => {
            const id = `${c.id}-${round}`;
            ids.push(id);
            const cr = await ociAsync(c, ['create', '--bundle', c.bundle, id]);
            expect(cr.stderr).toBe('');
            expect(cr.status).toBe(0);
            const d = await ociAsync(c, ['delete', '--force', id]);
            expect(d.stderr).toBe('');
            expect(d.status).toBe(0);
          };
          await Promise.all([cycle(a), cycle(b)]);
          for (const id of ids) expect(existsSync(join(parent, id))).toBe(false);
          // An empty /nsbox-oci is the leak; one holding other runs' containers is theirs.
          const left = existsSync(parent) ? readdirSync(parent, { withFileTypes: true }).filter((e) => e.isDirectory()) : null;
          expect(left === null || left.length > 0, `an empty ${parent} is left after round ${round}`).toBe(true);
        }
      } finally {
        for (const id of ids) cleanup({ ...a, id });
      }
    },
    120_000,
  );

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

  anyTest(
    "ps: a command line's control characters are escaped, never sent to the terminal",
    async () => {
      // An OSC that retitles the terminal, then "clear screen", in ESC and in C1 (U+009B: CSI).
      const evil = '\x1b]0;pwned\x07\x1b[2J\u009b2J\u202e';
      const c = setup(`touch /out/ready; ${WAIT_FOR_STOP}`, (cfg) => {
        cfg.process!.args!.push(evil);
      });
      try {
        expect(oci(c, ['run', '-d', '--bundle', c.bundle, c.id]).status).toBe(0);
        await until('ready', () => existsSync(join(c.out, 'ready')));
        const { pid } = state(c);
        expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain(evil); // what the process shows
        const ps = oci(c, ['ps', c.id]);
        expect(ps.stderr).toBe('');
        expect(ps.status).toBe(0);
        // No C0 control but the line ends, no DEL, no C1, no format character reaches the terminal.
        expect(ps.stdout.replaceAll('\n', '')).not.toMatch(/[\p{Cc}\p{Cf}]/u);
        expect(ps.stdout).toContain(`${pid} `);
        expect(ps.stdout).toContain('\\x1b]0;pwned\\x07\\x1b[2J\\u{9b}2J\\u{202e}\n');
        expect(JSON.parse(oci(c, ['ps', '--format', 'json', c.id]).stdout)).toContain(pid); // json: pids only
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

  rootTest(
    'kill --all with a catchable signal reaches every process in the cgroup (STOP, CONT, TERM), each through a pidfd',
    async () => {
      // Two background children of the container's shell and a process exec'd from outside
      // (another parent); the shell waits without forking, so the cgroup's pids stay put.
      const c = setup("trap 'exit 0' TERM; sleep 1000 & sleep 1000 & touch /out/ready; wait");
      try {
        expect(oci(c, ['run', '-d', '--bundle', c.bundle, c.id]).status).toBe(0);
        await until('ready', () => existsSync(join(c.out, 'ready')));
        expect(oci(c, ['exec', '-d', c.id, 'sleep', '1000']).status).toBe(0);
        const procs = () =>
          readFileSync(join(cgroupDir(c)!, 'cgroup.procs'), 'utf8')
            .split('\n')
            .filter(Boolean)
            .map(Number);
        await until('four processes', () => procs().length === 4);
        const pids: number[] = JSON.parse(oci(c, ['ps', '--format', 'json', c.id]).stdout);
        expect(pids.sort()).toEqual(procs().sort());
        const stateOf = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8').match(/^State:\s+(\S)/m)![1];
        const k = oci(c, ['kill', '--all', c.id, 'STOP']);
        expect(k.stderr).toBe('');
        expect(k.status).toBe(0);
        await until('every process stopped', () => pids.every((p) => stateOf(p) === 'T'));
        expect(oci(c, ['kill', '--all', c.id, 'CONT']).status).toBe(0);
        await until('every process running again', () => pids.every((p) => stateOf(p) !== 'T'));
        expect(oci(c, ['kill', '--all', c.id, 'TERM']).status).toBe(0);
        await until('the cgroup empty', () => procs().length === 0);
        await until('stopped', () => state(c).status === 'stopped');
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

  testIf(
    hugetlb && !skip,
    skip ?? (isRoot ? 'no hugetlb controller with 2MB pages in cgroup v2 here' : 'writing cgroupfs needs root here'),
  )(
    'a container that moved into a sub-cgroup and enabled a controller below (as systemd does): exec joins its process’s cgroup, ps counts every sub-cgroup, delete removes them',
    async () => {
      const c = setup(`touch /out/ready; ${WAIT_FOR_STOP}`, (cfg) => {
        cfg.linux!.resources = { hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }] };
      });
      const cg = cgroupDir(c)!;
      try {
        expect(oci(c, ['run', '-d', '--bundle', c.bundle, c.id]).status).toBe(0);
        await until('ready', () => existsSync(join(c.out, 'ready')));
        const { pid } = state(c);
        // What systemd does as PID 1 (from here, as the test's host side): its own process into
        // init.scope, then a domain controller enabled for the sub-cgroups. The container's
        // cgroup is then closed to processes (cgroup v2's no-internal-process rule).
        // (Its shell's `sleep` children may be forked meanwhile: moved until none is left.)
        mkdirSync(join(cg, 'init.scope'));
        await until('the cgroup emptied and hugetlb enabled below it', () => {
          for (const p of readFileSync(join(cg, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean))
            try {
              writeFileSync(join(cg, 'init.scope/cgroup.procs'), p);
            } catch {
              // exited meanwhile
            }
          try {
            writeFileSync(join(cg, 'cgroup.subtree_control'), '+hugetlb');
            return true;
          } catch {
            return false;
          }
        });
        const e = oci(c, ['exec', c.id, 'sh', '-c', 'grep ^0:: /proc/self/cgroup']);
        expect(e.stderr).toBe('');
        expect(e.status).toBe(0);
        expect(e.stdout.trim()).toMatch(/^0::\/(nsbox-oci\/c-[0-9a-f]+\/)?init\.scope$/);
        expect(JSON.parse(oci(c, ['ps', '--format', 'json', c.id]).stdout)).toContain(pid); // from init.scope
        const d = oci(c, ['delete', '--force', c.id]);
        expect(d.stderr).toBe('');
        expect(existsSync(cg)).toBe(false);
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  testIf(isRoot && v2 !== null && !skip, skip ?? 'a device filter (BPF_PROG_TYPE_CGROUP_DEVICE) needs root')(
    "update --resources with devices: the new filter holds for the container's running process (EPERM opening /dev/null)",
    async () => {
      const open = '(echo x > /dev/null) 2>&1 && echo opened';
      const c = setup(
        `{ ${open}; } > /out/before; touch /out/ready; while [ ! -e /out/go ]; do sleep 0.05; done; { ${open}; } > /out/after; ${WAIT_FOR_STOP}`,
      );
      try {
        expect(oci(c, ['run', '-d', '--bundle', c.bundle, c.id]).status).toBe(0);
        await until('ready', () => existsSync(join(c.out, 'ready')));
        expect(readFileSync(join(c.out, 'before'), 'utf8')).toBe('opened\n');
        const file = join(c.out, '..', 'resources.json');
        writeFileSync(file, JSON.stringify({ devices: [{ allow: false, type: 'c', major: 1, minor: 3, access: 'rw' }] }));
        const u = oci(c, ['update', '--resources', file, c.id]);
        expect(u.stderr).toBe('');
        expect(u.status).toBe(0);
        writeFileSync(join(c.out, 'go'), '');
        await until('the second open', () => existsSync(join(c.out, 'after')) && readFileSync(join(c.out, 'after'), 'utf8') !== '');
        // busybox prints strerror(EPERM); the process runs as root with every capability it has.
        expect(readFileSync(join(c.out, 'after'), 'utf8')).toMatch(/can't create \/dev\/null: Operation not permitted/);
        // Other default devices stay usable: nsbox's own allows come before the update's rules.
        const z = oci(c, ['exec', c.id, 'sh', '-c', 'head -c 3 /dev/zero | wc -c']);
        expect(z.stdout.trim()).toBe('3');
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
    'exec into a created container joins the namespaces of its waiting process (rootless: handed over at its start gate), which then still starts',
    async () => {
      const c = setup(`touch /out/started; ${WAIT_FOR_STOP}`);
      try {
        expect(oci(c, ['create', '--bundle', c.bundle, c.id]).status).toBe(0);
        const { pid, status } = state(c);
        expect(status).toBe('created');
        // Its /proc/PID/ns/* are closed to an unprivileged caller while it waits (non-dumpable).
        if (!isRoot) expect(() => readlinkSync(`/proc/${pid}/ns/mnt`)).toThrow(expect.objectContaining({ code: 'EACCES' }));
        const e = oci(c, [
          'exec',
          c.id,
          'sh',
          '-c',
          'hostname; cat /proc/1/comm; id -u; test -e /out/started && echo ran || echo waits; readlink /proc/self/ns/mnt',
        ]);
        expect(e.stderr).toBe('');
        expect(e.status).toBe(0);
        const [host, comm1, uid, ran, mnt] = e.stdout.trim().split('\n');
        expect(host).toBe('runc');
        expect(comm1).toBe('nsbox-gate'); // pid 1 of its pid namespace is the waiting process
        expect(uid).toBe('0');
        expect(ran).toBe('waits');
        expect(mnt).not.toBe(readlinkSync('/proc/self/ns/mnt'));
        expect(state(c).status).toBe('created');
        expect(oci(c, ['start', c.id]).status).toBe(0);
        await until('started', () => existsSync(join(c.out, 'started')));
        expect(readlinkSync(`/proc/${pid}/ns/mnt`)).toBe(mnt); // the namespace exec joined is the container's
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  rootTest(
    "exec --user NAME[:GROUP]: names from the container's own /etc/passwd and /etc/group, never the host's",
    async () => {
      const c = setup(`touch /out/ready; ${WAIT_FOR_STOP}`);
      const etc = join(c.bundle, 'rootfs', 'etc');
      // A user and groups the host does not have; the host's `daemon` is missing here.
      writeFileSync(join(etc, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n# a comment\nocitester:x:4321:4322::/home/oci:/bin/sh\n');
      writeFileSync(join(etc, 'group'), 'root:x:0:\nocimain:x:4322:\nocigrp:x:4323:root,ocitester\n');
      try {
        expect(readFileSync('/etc/passwd', 'utf8')).not.toMatch(/^ocitester:/m);
        expect(oci(c, ['run', '-d', '--bundle', c.bundle, c.id]).status).toBe(0);
        await until('ready', () => existsSync(join(c.out, 'ready')));
        const ids = 'echo $(id -u) $(id -g) "[$(id -G)]" $HOME';
        const byName = oci(c, ['exec', '--user', 'ocitester', c.id, 'sh', '-c', ids]);
        expect(byName.stderr).toBe('');
        expect(byName.status).toBe(0);
        // passwd's uid and primary gid, the group listing the user, its home
        expect(byName.stdout).toBe('4321 4322 [4322 4323] /home/oci\n');
        const withGroup = oci(c, ['exec', '--user', 'ocitester:ocigrp', c.id, 'sh', '-c', ids]);
        expect(withGroup.stdout).toMatch(/^4321 4323 \[4323.*\] \/home\/oci\n$/);
        const numeric = oci(c, ['exec', '--user', '4321:ocimain', c.id, 'sh', '-c', 'echo $(id -u) $(id -g)']);
        expect(numeric.stdout).toBe('4321 4322\n');
        const hostOnly = oci(c, ['exec', '--user', 'daemon', c.id, 'true']);
        expect(hostOnly.status).toBe(1);
        expect(hostOnly.stderr).toContain(`no user "daemon" in the container's /etc/passwd`);
        // A symlink planted in the container resolves inside its root, not to the host's file.
        rmSync(join(etc, 'group'));
        symlinkSync('../../../../../../../../../../etc/group', join(etc, 'group'));
        const planted = oci(c, ['exec', '--user', 'ocitester:daemon', c.id, 'true']);
        expect(planted.status).toBe(1);
        expect(planted.stderr).toMatch(/ELOOP|no group "daemon"/);
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  anyTest(
    'start and delete (podman runs both for every container) load no spawn, node:net, node:stream or node:child_process',
    () => {
      // scripts/bundle.mjs leaves spawn out of their linked files (only an in-container hook needs it).
      for (const f of ['start', 'delete']) {
        const text = readFileSync(join(dirname(CLI), `${f}.cjs`), 'utf8');
        expect(text).toContain('// dist/oci/runtime/status.js'); // esbuild's marker of a linked module
        expect(text).not.toContain('// dist/namespaces/spawn.js');
      }
      const c = setup('true');
      const preload = join(dir, `mods-${randomBytes(3).toString('hex')}.cjs`);
      writeFileSync(
        preload,
        "process.on('exit', () => require('fs').writeSync(3, JSON.stringify(process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)))));",
      );
      const mods = (args: string[]): string[] => {
        const r = spawnSync(process.execPath, ['--require', preload, CLI, '--root', c.root, ...args], {
          stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
          encoding: 'utf8',
          timeout: 30_000,
        });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        return JSON.parse(r.output[3] as string) as string[];
      };
      try {
        expect(oci(c, ['create', '--bundle', c.bundle, c.id]).status).toBe(0);
        for (const args of [
          ['start', c.id],
          ['delete', '--force', c.id],
        ]) {
          const m = mods(args);
          expect(m).toContain('vm'); // the bin's own loader: the list is right
          for (const b of ['net', 'stream', 'child_process', 'crypto']) expect(m, `${args[0]} loaded node:${b}`).not.toContain(b);
        }
        expect(existsSync(join(c.root, c.id))).toBe(false);
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
        // runtime-tools' hooks_stdin: the old prestart hook sees `created`, as crun gives it.
        expect(read('prestart')).toMatchObject({ id: c.id, pid, status: 'created' });
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
    "createContainer at create and startContainer at start run in the container's namespaces, in order, before the process",
    async () => {
      let hookDir = '';
      let rootfs = '';
      // createContainer runs before pivot_root, with the runtime's root: the container's root
      // shows at its own path there, with its mounts (its /out); startContainer in the container.
      const probe = (name: string, out: string) =>
        `cat > ${out}/${name}.json; { hostname; readlink /proc/self/ns/mnt; readlink /proc/self/ns/user; ls ${out}; } > ${out}/${name}.txt`;
      const c = setup(`touch /out/marker; ${WAIT_FOR_STOP}`, (config) => {
        hookDir = join(dir, `hooks-${randomBytes(3).toString('hex')}`);
        config.hooks = {
          // createContainer: a program of the runtime's filesystem, whose interpreter (bash)
          // is not in the container's root.
          createContainer: [{ path: join(hookDir, 'create-hook'), args: ['create-hook'], env: ['PATH=/usr/bin:/bin'] }],
          // startContainer: resolved in the container's root (its busybox sh).
          startContainer: [{ path: '/bin/sh', args: ['sh', '-c', probe('start', '/out')] }],
        };
      });
      rootfs = join(c.bundle, 'rootfs');
      expect(existsSync(join(rootfs, 'bin/bash'))).toBe(false);
      mkdirSync(hookDir);
      chmodSync(hookDir, 0o755);
      writeFileSync(
        join(hookDir, 'create-hook'),
        `#!/bin/bash\n[[ -n "$BASH_VERSION" ]] || exit 9\n${probe('create', `${rootfs}/out`)}\n`,
        {
          mode: 0o755,
        },
      );
      const lines = (name: string) =>
        readFileSync(join(c.out, `${name}.txt`), 'utf8')
          .trim()
          .split('\n');
      try {
        const cr = oci(c, ['create', '--bundle', c.bundle, c.id]);
        expect(cr.stderr).toBe('');
        expect(cr.status).toBe(0);
        const { pid } = state(c);
        // Before create returned, before the process: its state names the process's pid as
        // the runtime sees it (not 1, its pid in the container's namespace).
        expect(JSON.parse(readFileSync(join(c.out, 'create.json'), 'utf8'))).toMatchObject({ id: c.id, pid, status: 'creating' });
        expect(lines('create')[0]).toBe('runc');
        expect(lines('create').slice(3)).not.toContain('marker');
        expect(existsSync(join(c.out, 'start.json'))).toBe(false);
        expect(existsSync(join(c.out, 'marker'))).toBe(false);

        const st = oci(c, ['start', c.id]);
        expect(st.stderr).toBe('');
        expect(st.status).toBe(0);
        expect(JSON.parse(readFileSync(join(c.out, 'start.json'), 'utf8'))).toMatchObject({ id: c.id, pid, status: 'created' });
        const start = lines('start');
        expect(start.slice(3)).not.toContain('marker'); // it ran before the process did
        await until('the marker', () => existsSync(join(c.out, 'marker')));
        // The process's namespaces, now that it has exec'd (while it waited at the gate it was
        // non-dumpable: only root may read them then).
        const mnt = readlinkSync(`/proc/${pid}/ns/mnt`);
        const user = readlinkSync(`/proc/${pid}/ns/user`);
        expect(mnt).not.toBe(readlinkSync('/proc/self/ns/mnt'));
        expect(lines('create').slice(0, 3)).toEqual(['runc', mnt, user]);
        expect(start.slice(0, 3)).toEqual(['runc', mnt, user]);
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  anyTest(
    'a failing createContainer hook fails create and undoes it; a startContainer hook past its timeout fails start, and the process never runs',
    async () => {
      let hook = '';
      const c = setup(`touch /out/marker; ${WAIT_FOR_STOP}`, (config) => {
        hook = join(dir, `hook-${randomBytes(3).toString('hex')}`);
        config.hooks = { createContainer: [{ path: hook }] };
      });
      writeFileSync(hook, '#!/bin/sh\necho no >&2; exit 3\n', { mode: 0o755 });
      const config = JSON.parse(readFileSync(join(c.bundle, 'config.json'), 'utf8')) as OciSpec;
      const cg = cgroupDir(c);
      try {
        const r = oci(c, ['create', '--bundle', c.bundle, c.id]);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain('hooks.createContainer[0]');
        expect(r.stderr).toContain('exited with status 3: no');
        expect(existsSync(join(c.root, c.id))).toBe(false);
        if (cg) expect(existsSync(cg)).toBe(false);

        // Past its timeout: its process group is SIGKILLed, and create undone likewise.
        // The background process writes its pid as the host's /proc (the hook's root) shows it.
        const bgScript = `sh -c 'read -r p rest < /proc/self/stat; echo $p > ${c.out}/bg; exec sleep 30' & sleep 30`;
        config.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', bgScript], timeout: 1 }] };
        writeFileSync(join(c.bundle, 'config.json'), JSON.stringify(config));
        const t1 = Date.now();
        const late = oci(c, ['create', '--bundle', c.bundle, c.id]);
        expect(late.status).toBe(1);
        expect(late.stderr).toContain('hooks.createContainer[0]');
        expect(late.stderr).toContain('ran past its timeout of 1 s');
        expect(Date.now() - t1).toBeLessThan(15_000);
        expect(existsSync(join(c.root, c.id))).toBe(false);
        if (cg) expect(existsSync(cg)).toBe(false);
        const bg = Number(readFileSync(join(c.out, 'bg'), 'utf8'));
        expect(bg).toBeGreaterThan(1);
        await until('the background sleep to be killed', () => {
          try {
            return readFileSync(`/proc/${bg}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
          } catch {
            return true;
          }
        });

        config.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'sleep 30'], timeout: 1 }] };
        writeFileSync(join(c.bundle, 'config.json'), JSON.stringify(config));
        expect(oci(c, ['create', '--bundle', c.bundle, c.id]).status).toBe(0);
        const { pid } = state(c);
        const t0 = Date.now();
        const st = oci(c, ['start', c.id]);
        expect(st.status).toBe(1);
        expect(st.stderr).toContain('hooks.startContainer[0]');
        expect(st.stderr).toContain('ran past its timeout of 1 s');
        expect(Date.now() - t0).toBeLessThan(15_000);
        expect(state(c).status).toBe('stopped');
        expect(existsSync(`/proc/${pid}/stat`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z')).toBe(false);
        expect(existsSync(join(c.out, 'marker'))).toBe(false);
        if (cg) expect(readFileSync(join(cg, 'cgroup.procs'), 'utf8')).toBe(''); // the hook's sleep was killed too
        expect(oci(c, ['delete', c.id]).status).toBe(0);
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

  anyTest(
    "exec's namespaces are pinned by a pidfd: the recorded process's, none for a wrong start time or a reaped process, no fd left open",
    async () => {
      const child = nsSpawn('/bin/sleep', ['30'], { namespaces: ['user', 'uts', 'ipc'], stdio: 'ignore' });
      try {
        const start = startTime(child.pid)!;
        const fds = readdirSync('/proc/self/fd').length;
        expect(pinNamespaces(child.pid, String(Number(start) + 1))).toBeUndefined();
        expect(readdirSync('/proc/self/fd').length).toBe(fds);
        const pinned = pinNamespaces(child.pid, start)!;
        try {
          expect([...pinned.keys()].sort()).toEqual(['ipc', 'user', 'uts']);
          for (const [t, ns] of pinned) expect(`${t}:[${ns.ino}]`).toBe(readlinkSync(`/proc/${child.pid}/ns/${t}`));
        } finally {
          for (const ns of pinned.values()) ns.close();
        }
        expect(readdirSync('/proc/self/fd').length).toBe(fds);
        child.kill('SIGKILL');
        await child.exited;
        const after = readdirSync('/proc/self/fd').length;
        expect(pinNamespaces(child.pid, start)).toBeUndefined();
        expect(readdirSync('/proc/self/fd').length).toBe(after);
      } finally {
        child.kill('SIGKILL');
        await child.exited;
      }
    },
    30_000,
  );
});

// What opencontainers/runtime-tools' validation suite found (docs/oci.md, "runtime-tools").
describe('nsbox-oci against runtime-tools findings', () => {
  anyTest(
    'a seccomp profile without noNewPrivileges that refuses close_range and openat2: stdio and cwd are set up first, the filter is on at exec',
    () => {
      // runtime-tools' default config: its profile (Docker's of 2016) predates close_range(2)
      // and openat2(2), which its default action refuses with EPERM; noNewPrivileges is off.
      const c = setup('pwd; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; ls /proc/self/fd | tr "\\n" " "', (config) => {
        config.process!.noNewPrivileges = false;
        config.process!.cwd = '/tmp';
        config.linux!.seccomp = {
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [{ names: ['close_range', 'openat2'], action: 'SCMP_ACT_ERRNO' }],
        };
      });
      try {
        const r = oci(c, ['run', '--bundle', c.bundle, c.id]);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        // stdout is create's (a file): 0-2, and ls's directory; no fd of the setup.
        expect(readFileSync(r.outFile!, 'utf8')).toBe('/tmp\nNoNewPrivs:\t0\nSeccomp:\t2\n0 1 2 3 ');
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  anyTest(
    'linux.rootfsPropagation: a shared root reaches its own bind copies (never the host), slave and private do not, unbindable refuses a bind',
    () => {
      // runtime-tools' linux_rootfs_propagation, in a tmpfs of the container's: bind the root
      // recursively to /tmp/t, then bind something new under the root; is it seen in the copy?
      const script =
        'cd /tmp && busybox mkdir -p t m s && busybox touch s/f && ' +
        'if ! busybox mount --rbind / /tmp/t 2>/dev/null; then echo refused; exit 0; fi; ' +
        'busybox mount --bind /tmp/s /tmp/m && if [ -e /tmp/t/tmp/m/f ]; then echo exposed; else echo hidden; fi';
      const seen: Record<string, string> = {};
      for (const prop of ['shared', 'rslave', 'private', 'unbindable']) {
        const c = setup(script, (config) => {
          config.linux!.rootfsPropagation = prop;
          config.process!.capabilities = { bounding: ['CAP_SYS_ADMIN'], effective: ['CAP_SYS_ADMIN'], permitted: ['CAP_SYS_ADMIN'] };
          config.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] });
        });
        try {
          const r = oci(c, ['run', '--bundle', c.bundle, c.id]);
          expect(r.stderr).toBe('');
          expect(r.status).toBe(0);
          seen[prop] = readFileSync(r.outFile!, 'utf8').trim();
          // The container's peer group is its own: nothing of it shows in this mount namespace.
          expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(c.bundle);
        } finally {
          cleanup(c);
        }
      }
      expect(seen).toEqual({ shared: 'exposed', rslave: 'hidden', private: 'hidden', unbindable: 'refused' });
    },
    60_000,
  );

  anyTest(
    'per-mount propagation: a shared tmpfs reaches its bind copy inside, a private one does not; fs options on a bind are ignored',
    () => {
      // runtime-tools' mounts test gives every mount, binds too, the options of a tmpfs.
      const script =
        'busybox mkdir -p /s/sub /p/sub /copy-s /copy-p && busybox mount --bind /s /copy-s && busybox mount --bind /p /copy-p && ' +
        'busybox mount -t tmpfs tmpfs /s/sub && busybox mount -t tmpfs tmpfs /p/sub && ' +
        'grep -c " /copy-s/sub " /proc/self/mountinfo; grep -c " /copy-p/sub " /proc/self/mountinfo; exit 0';
      const c = setup(script, (config) => {
        config.process!.capabilities = { bounding: ['CAP_SYS_ADMIN'], effective: ['CAP_SYS_ADMIN'], permitted: ['CAP_SYS_ADMIN'] };
        config.root!.readonly = false;
        const opts = ['nosuid', 'strictatime', 'mode=755', 'size=1k'];
        config.mounts!.push({ destination: '/s', type: 'tmpfs', source: 'tmpfs', options: [...opts, 'shared'] });
        config.mounts!.push({ destination: '/p', type: 'tmpfs', source: 'tmpfs', options: [...opts, 'private'] });
        // Not strictatime on the host's /etc: rootless, its atime flag is locked (the kernel
        // refuses the change with EPERM, which nsbox reports).
        config.mounts!.push({ destination: '/mnt/etc', source: '/etc', options: ['nosuid', 'mode=755', 'size=1k', 'rbind', 'rslave'] });
      });
      try {
        const r = oci(c, ['run', '--bundle', c.bundle, c.id]);
        expect(r.stderr).toContain('a bind mount takes no filesystem options'); // a warning
        expect(r.status).toBe(0);
        expect(readFileSync(r.outFile!, 'utf8')).toBe('1\n0\n');
        expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(c.bundle);
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  anyTest(
    "a fresh mount's source is the config's: /dev/shm's tmpfs shows as 'shm' in mountinfo (runtime-tools checks each mount by destination, type and source)",
    () => {
      // mountinfo: the mount point is field 5; type and source follow the " - " separator.
      const c = setup(
        'grep -E " /(dev/shm|mq) " /proc/self/mountinfo | sed "s/^[^ ]* [^ ]* [^ ]* [^ ]* \\([^ ]*\\) .* - \\([^ ]*\\) \\([^ ]*\\) .*/\\1 \\2 \\3/"',
        (config) => {
          config.mounts = config.mounts!.filter((m) => m.destination !== '/dev/shm');
          config.mounts.push({
            destination: '/dev/shm',
            type: 'tmpfs',
            source: 'shm',
            options: ['nosuid', 'noexec', 'nodev', 'mode=1777'],
          });
          config.mounts.push({ destination: '/mq', type: 'mqueue', source: 'my-mqueue', options: ['nosuid', 'noexec', 'nodev'] });
        },
      );
      try {
        const r = oci(c, ['run', '--bundle', c.bundle, c.id]);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(readFileSync(r.outFile!, 'utf8')).toBe('/dev/shm tmpfs shm\n/mq mqueue my-mqueue\n');
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
    'exec --tty --detach --console-socket: a terminal for the new process',
    async () => {
      const c = setup(`touch /out/ready; ${WAIT_FOR_STOP}`);
      try {
        expect(oci(c, ['run', '-d', '--bundle', c.bundle, c.id]).status).toBe(0);
        // runc's refusals: a detached terminal without a console socket, a foreground exec with one.
        expect(oci(c, ['exec', '--tty', '--detach', c.id, 'true']).stderr).toContain('--console-socket');
        expect(oci(c, ['exec', '--tty', '--console-socket', '/tmp/x.sock', c.id, 'true']).stderr).toContain('--detach');
        const sock = join(c.out, '..', 'exec-console.sock');
        const received = await consoleSocket(sock, 'typed\r');
        const e = oci(c, ['exec', '--tty', '--detach', '--console-socket', sock, c.id, 'sh', '-c', 'read x; echo "tty=$(tty) <$x>"']);
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

/**
 * A seccomp agent in python3 (node:net cannot receive SCM_RIGHTS): takes the listener and the
 * container process state (runtime-spec listenerPath), prints the state, then answers every
 * notification with EMLINK until the filter has no process left.
 */
const AGENT = `
import socket, sys, os, struct, fcntl, select, errno
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 65536, 4)
c.close()
print("state=" + msg.decode(), flush=True)
fd = fds[0]
p = select.poll(); p.register(fd, select.POLLIN)
while True:
    ev = p.poll(30000)
    if not ev:
        break
    if ev[0][1] & select.POLLIN:
        buf = bytearray(80)
        try:
            fcntl.ioctl(fd, 0xC0502100, buf, True)  # SECCOMP_IOCTL_NOTIF_RECV
        except OSError:
            continue
        nid, pid, flags, nr = struct.unpack_from("=QIIi", buf, 0)
        fcntl.ioctl(fd, 0xC0182101, bytearray(struct.pack("=QqiI", nid, 0, -errno.EMLINK, 0)), True)  # NOTIF_SEND
        print("answered", nr, flush=True)
    else:
        break
print("done", flush=True)
`;

describe("nsbox-oci run on the caller's terminal (process.terminal, no --console-socket)", () => {
  anyTest(
    'run relays the terminal: raw input, the window size, the exit status; the terminal is restored after',
    async () => {
      const script =
        'tty; stty size; stat -c "console=%t:%T" /dev/console; stat -L -c "fd0=%t:%T" /proc/self/fd/0; ' +
        'echo via-console > /dev/console; read x; echo "got <$x>"; exit 7';
      const c = setup(script, (config) => {
        config.process!.terminal = true;
      });
      using p = openPty({ rows: 33, cols: 101 });
      try {
        // runc refuses both: a detached terminal without a console socket, a foreground run with one.
        expect(oci(c, ['run', '-d', '--bundle', c.bundle, c.id]).stderr).toContain('--console-socket');
        expect(oci(c, ['create', '--bundle', c.bundle, c.id]).stderr).toContain('--console-socket');
        expect(oci(c, ['run', '--console-socket', '/tmp/x.sock', '--bundle', c.bundle, c.id]).stderr).toContain('--detach');
        const before = spawnSync('stty', ['-g'], { stdio: [p.slave!, 'pipe', 'pipe'], encoding: 'utf8' }).stdout;
        const run = spawn(process.execPath, [CLI, '--root', c.root, 'run', '--bundle', c.bundle, c.id], {
          stdio: [p.slave!, p.slave!, p.slave!],
        });
        const exited = new Promise<number | null>((res) => run.on('exit', (code) => res(code)));
        let text = '';
        const master = p.stream();
        master.setEncoding('utf8').on('data', (d: string) => (text += d));
        await until('the size', () => /\d+ \d+/.test(text), 20_000);
        // Raw mode on our side while it runs: the keys go through to the container's terminal as typed.
        const during = spawnSync('stty', ['-a'], { stdio: [p.slave!, 'pipe', 'pipe'], encoding: 'utf8' }).stdout;
        expect(during).toMatch(/-icanon/);
        expect(during).toMatch(/-echo\b/);
        master.write('hello\r');
        expect(await exited).toBe(7);
        await until('the answer', () => text.includes('got <hello>'));
        expect(text).toContain('/dev/pts/0');
        expect(text).toMatch(/33 101/);
        // The pty is also the container's /dev/console (runc's mountConsole): the same device
        // (major 136, 0x88), and what is written there reaches our terminal.
        expect(text).toContain('console=88:0\r\n');
        expect(text).toContain('fd0=88:0\r\n');
        expect(text).toContain('via-console\r\n');
        // ONLCR is off on the container's pty (runc's ClearONLCR): our terminal alone turns \n
        // into \r\n, so no line ends \r\r\n.
        expect(text).toContain('got <hello>\r\n');
        expect(text).not.toContain('\r\r\n');
        expect(spawnSync('stty', ['-g'], { stdio: [p.slave!, 'pipe', 'pipe'], encoding: 'utf8' }).stdout).toBe(before);
        expect(existsSync(join(c.root, c.id))).toBe(false); // run deletes it
      } finally {
        cleanup(c);
      }
    },
    60_000,
  );

  anyTest(
    'exec --tty in the foreground relays the terminal as run does: raw input, the size, the status, restored after',
    async () => {
      const c = setup(`touch /out/ready; ${WAIT_FOR_STOP}`);
      using p = openPty({ rows: 21, cols: 77 });
      try {
        expect(oci(c, ['run', '-d', '--bundle', c.bundle, c.id]).status).toBe(0);
        const before = spawnSync('stty', ['-g'], { stdio: [p.slave!, 'pipe', 'pipe'], encoding: 'utf8' }).stdout;
        const script = 'tty; stty size; read x; echo "got <$x>"; exit 5';
        const ex = spawn(process.execPath, [CLI, '--root', c.root, 'exec', '--tty', c.id, 'sh', '-c', script], {
          stdio: [p.slave!, p.slave!, p.slave!],
        });
        const exited = new Promise<number | null>((res) => ex.on('exit', (code) => res(code)));
        let text = '';
        const master = p.stream();
        master.setEncoding('utf8').on('data', (d: string) => (text += d));
        await until('the size', () => /\d+ \d+/.test(text), 20_000);
        const during = spawnSync('stty', ['-a'], { stdio: [p.slave!, 'pipe', 'pipe'], encoding: 'utf8' }).stdout;
        expect(during).toMatch(/-icanon/);
        expect(during).toMatch(/-echo\b/);
        master.write('hi there\r');
        expect(await exited).toBe(5);
        await until('the answer', () => text.includes('got <hi there>'));
        expect(text).toMatch(/^\/dev\/pts\/\d+\r\n21 77\r\n/);
        expect(text).toContain('got <hi there>\r\n');
        expect(text).not.toContain('\r\r\n');
        expect(spawnSync('stty', ['-g'], { stdio: [p.slave!, 'pipe', 'pipe'], encoding: 'utf8' }).stdout).toBe(before);
        expect(state(c).status).toBe('running'); // the container goes on
      } finally {
        writeFileSync(join(c.out, 'stop'), '');
        cleanup(c);
      }
    },
    60_000,
  );
});

describe('nsbox-oci with a seccomp agent (linux.seccomp.listenerPath)', () => {
  const agentTest = testIf(
    !skip && (isRoot || canUserns) && hasPython,
    skip ?? 'needs user namespaces and python3 ≥ 3.9 (socket.recv_fds)',
  );

  agentTest(
    "create sends the listener and the state to listenerPath; the agent's answers are what mkdir(2) returns in the container",
    async () => {
      const sock = join(dir, `agent-${randomBytes(3).toString('hex')}.sock`);
      const c = setup('mkdir /tmp/made 2>/out/err; echo "rc=$?" > /out/rc; [ -d /tmp/made ] && echo made >> /out/rc; true', (config) => {
        config.linux!.seccomp = {
          defaultAction: 'SCMP_ACT_ALLOW',
          listenerPath: sock,
          listenerMetadata: 'meta-42',
          syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
        };
        config.annotations = { 'org.example.a': 'b' };
      });
      try {
        // No agent listening: create fails, and nothing is left behind.
        const none = oci(c, ['create', '--bundle', c.bundle, c.id]);
        expect(none.status).toBe(1);
        expect(none.stderr).toMatch(/ENOENT|ECONNREFUSED/);
        expect(existsSync(join(c.root, c.id))).toBe(false);

        const py = spawn('python3', ['-c', AGENT, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        py.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
        const exited = new Promise((res) => py.on('close', res));
        await until('the agent', () => out.includes('listening'));
        const cr = oci(c, ['create', '--bundle', c.bundle, c.id]);
        expect(cr.stderr).toBe('');
        expect(cr.status).toBe(0);
        await until('the state at the agent', () => out.includes('state='));
        const pid = state(c).pid;
        const msg = JSON.parse(out.split('state=')[1]!.split('\n')[0]!);
        expect(msg).toEqual({
          ociVersion: expect.any(String),
          fds: ['seccompFd'],
          pid,
          metadata: 'meta-42',
          state: {
            ociVersion: expect.any(String),
            id: c.id,
            status: 'creating',
            pid,
            bundle: c.bundle,
            annotations: { 'org.example.a': 'b' },
          },
        });
        expect(oci(c, ['start', c.id]).status).toBe(0);
        await until('stopped', () => state(c).status === 'stopped');
        // The agent made mkdir fail with EMLINK ("Too many links"), and no directory was made.
        expect(readFileSync(join(c.out, 'rc'), 'utf8')).toBe('rc=1\n');
        expect(readFileSync(join(c.out, 'err'), 'utf8')).toMatch(/Too many links/);
        await exited;
        expect(out).toMatch(/answered \d+/);
        expect(out).toContain('done');
      } finally {
        cleanup(c);
        rmSync(sock, { force: true });
      }
    },
    60_000,
  );

  anyTest('a notify rule without listenerPath is refused at create (runc: "seccomp listenerPath is not set")', () => {
    const c = setup('true', (config) => {
      config.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] };
    });
    const r = oci(c, ['create', '--bundle', c.bundle, c.id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('linux.seccomp.listenerPath');
    expect(existsSync(join(c.root, c.id))).toBe(false);
  });
});

describe('nsbox-oci with linux.netDevices', () => {
  rootTest(
    'a host veth end is moved in under its new name with its address, gone from the host, and deleted with the namespace',
    async () => {
      const host = `nsbx${randomBytes(4).toString('hex')}`;
      // addrs is renamed into place last: its existence means both listings are whole.
      const c = setup(
        `busybox ip -o link > /out/links; busybox ip -o addr > /out/addrs.tmp; mv /out/addrs.tmp /out/addrs; ${WAIT_FOR_STOP}`,
        (config) => {
          config.linux!.netDevices = { [host]: { name: 'inner0' } };
        },
      );
      await addLink({ kind: 'veth', name: host, peer: { name: `${host}p` } });
      try {
        await addAddress(host, '10.213.7.9/24');
        const cr = oci(c, ['create', '--bundle', c.bundle, c.id]);
        expect(cr.stderr).toBe('');
        expect(cr.status).toBe(0);
        // Moved at create, while the process waits: the host has it no more.
        await expect(link(host)).rejects.toMatchObject({ code: 'ENODEV' });
        const pid = state(c).pid;
        const inside = await link('inner0', { netns: pid });
        expect(inside.up).toBe(true);
        expect(oci(c, ['start', c.id]).status).toBe(0);
        await until('the listing', () => existsSync(join(c.out, 'addrs')));
        expect(readFileSync(join(c.out, 'links'), 'utf8')).toMatch(/\d+: inner0[@:]/);
        expect(readFileSync(join(c.out, 'addrs'), 'utf8')).toMatch(/inner0\s+inet 10\.213\.7\.9\/24/);
        writeFileSync(join(c.out, 'stop'), '');
        await until('stopped', () => state(c).status === 'stopped');
        expect(oci(c, ['delete', c.id]).status).toBe(0);
        // A virtual device dies with its namespace (the kernel returns only physical ones): the
        // veth, and its peer on the host with it.
        await until('the namespace gone', () => !existsSync(`/proc/${pid}`));
        const names = (await links()).map((l) => l.name);
        expect(names).not.toContain(host);
        expect(names).not.toContain('inner0');
        expect(names).not.toContain(`${host}p`);
      } finally {
        cleanup(c);
        await deleteLink(host).catch(() => deleteLink(`${host}p`).catch(() => undefined));
      }
    },
    60_000,
  );

  rootTest(
    'the devices are moved before the hooks: prestart (by pid) and createContainer (its own netns) see them; a failure moves back what was moved',
    async () => {
      const a = `nsbx${randomBytes(4).toString('hex')}`;
      const b = `nsbx${randomBytes(4).toString('hex')}`;
      const hookDir = join(dir, `nd-hooks-${randomBytes(3).toString('hex')}`);
      mkdirSync(hookDir);
      const c = setup('true', (config) => {
        config.linux!.netDevices = { [a]: { name: 'inner1' } };
        config.hooks = {
          prestart: [{ path: join(hookDir, 'prestart') }],
          createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `cat /proc/self/net/dev > ${hookDir}/cc`] }],
        };
      });
      writeFileSync(
        join(hookDir, 'prestart'),
        ['#!/bin/sh', `pid=$(sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p')`, `cat /proc/$pid/net/dev > ${hookDir}/pre`, ''].join('\n'),
        { mode: 0o755 },
      );
      await addLink({ kind: 'veth', name: a, peer: { name: `${a}p` } });
      try {
        await addAddress(a, '10.213.8.9/24');
        await setLink(a, { up: true });
        expect(oci(c, ['create', '--bundle', c.bundle, c.id]).status).toBe(0);
        expect(readFileSync(join(hookDir, 'pre'), 'utf8')).toMatch(/^\s*inner1:/m);
        expect(readFileSync(join(hookDir, 'cc'), 'utf8')).toMatch(/^\s*inner1:/m);
        expect(oci(c, ['delete', '--force', c.id]).status).toBe(0);
        await until('the veth gone with the namespace', () => !existsSync(`/sys/class/net/${a}p`));

        // Two devices, the second missing: create fails, and the first is back on the host
        // under its name, with its address, up (the namespace still held it).
        await addLink({ kind: 'veth', name: a, peer: { name: `${a}p` } });
        await addAddress(a, '10.213.8.9/24');
        await setLink(a, { up: true });
        const config = JSON.parse(readFileSync(join(c.bundle, 'config.json'), 'utf8')) as OciSpec;
        config.linux!.netDevices = { [a]: { name: 'inner1' }, [`${b}x`]: {} };
        delete config.hooks;
        writeFileSync(join(c.bundle, 'config.json'), JSON.stringify(config));
        const r = oci(c, ['create', '--bundle', c.bundle, c.id]);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain('ENODEV');
        expect(existsSync(join(c.root, c.id))).toBe(false);
        const back = await link(a);
        expect(back.up).toBe(true);
        expect((await addresses()).filter((x) => x.index === back.index).map((x) => x.cidr)).toContain('10.213.8.9/24');
      } finally {
        cleanup(c);
        await deleteLink(a).catch(() => deleteLink(`${a}p`).catch(() => undefined));
      }
    },
    60_000,
  );

  rootTest('a missing host interface fails create, with nothing left behind', () => {
    const c = setup('true', (config) => {
      config.linux!.netDevices = { [`nsbx${randomBytes(4).toString('hex')}`]: {} };
    });
    const r = oci(c, ['create', '--bundle', c.bundle, c.id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('ENODEV');
    expect(existsSync(join(c.root, c.id))).toBe(false);
  });

  anyTest('without a network namespace it is refused', () => {
    const c = setup('true', (config) => {
      config.linux!.netDevices = { eth9: {} };
      config.linux!.namespaces = config.linux!.namespaces!.filter((n) => n.type !== 'network');
    });
    const r = oci(c, ['create', '--bundle', c.bundle, c.id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('linux.netDevices');
  });
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
    // containerd's runc shim: `create --bundle B --pid-file F --no-pivot ID` (its NoPivotRoot
    // option). Refused before anything is made, with the reason as the log's last json line,
    // which the shim reports to its client.
    const np = oci(
      c,
      ['create', '--bundle', c.bundle, '--pid-file', join(c.out, '..', 'pid'), '--no-pivot', c.id],
      ['--log', log, '--log-format', 'json'],
    );
    expect(np.status).toBe(1);
    const last = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').at(-1)!);
    expect(last).toEqual(
      expect.objectContaining({ level: 'error', msg: expect.stringContaining('--no-pivot: refused: nsbox always enters') }),
    );
    expect(existsSync(join(c.root, c.id))).toBe(false);
    expect(oci(c, ['delete', 'a/b']).stderr).toContain('invalid container ID');
  });
});
