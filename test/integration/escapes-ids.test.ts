// Escape suite, the caller's memory: a spawn that takes another uid in this process's own user
// namespace (`uid`/`gid` as root, no user namespace of the child's) must never be, between its
// setresuid(2) and its execve(2), a process of that uid whose mm is Node's (or a dumpable copy
// of it). Any other process of that uid on the host could then open /proc/PID/mem
// (ptrace_may_access(): the same ids, an empty permitted set, a dumpable mm) and read or write
// Node's memory — root's, here. child_process's fork is safe from it: the credential change
// makes its copy non-dumpable.
//
// The witness is a watcher running as that uid (setpriv), which scans /proc for a process of
// its uid whose /proc/PID/exe is still the node binary and reads the start of its first
// mapping through /proc/PID/mem. A Landlock ruleset of 2,000 rules, applied after the
// credential steps (with no_new_privs), holds the child in that state long enough to be seen.
// Control: a plain `node` of that uid (dumpable, as any program) is seen and read.
//
// The same holds for a spawn that keeps root's uid but drops capabilities (Docker's set, no
// user namespace of its own): between its capset(2) and its execve(2) its ids and its permitted
// set are those of every root process with as few capabilities (a box without a pid namespace,
// a service with a bounding set), and Node's mm stayed dumpable. The second witness is such a
// process: a watcher as root with Docker's bounding set (setpriv). Control: a node started with
// that bounding set is read; Node itself (every capability) is not.
import { spawn as spawnProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { describe, expect } from 'vitest';
import { hardened, spawn, type SpawnOptions } from '../../src/index.js';
import { rootTest } from '../helpers/env.js';

const NOBODY = 65534;
const WATCHER = `
import os, sys
uid = int(sys.argv[1]); node = sys.argv[2]; seen = set()
print('READY', flush=True)
while True:
    for e in os.listdir('/proc'):
        if not e.isdigit() or e in seen: continue
        p = '/proc/' + e
        try:
            if os.stat(p).st_uid != uid or os.readlink(p + '/exe') != node: continue
            with open(p + '/maps') as f: start = int(f.readline().split('-')[0], 16)
            fd = os.open(p + '/mem', os.O_RDONLY)
            try: data = os.pread(fd, 4, start)
            finally: os.close(fd)
        except OSError:
            continue
        seen.add(e)
        print('READ', e, data.hex(), flush=True)
`;

interface Watcher {
  /** pids whose memory the watcher read, with the bytes it read */
  reads: Map<number, string>;
  stop(): Promise<void>;
}

/** setpriv(1)'s arguments for a watcher of `uid`: that uid's ids, or root with Docker's bounding set. */
const asNobody = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
const DOCKER_CAPS = hardened().capabilities!.bounding!;
const dockerBounding = `--bounding-set=-all,${DOCKER_CAPS.map((c) => `+${c.slice(4).toLowerCase()}`).join(',')}`;

async function watch(uid = NOBODY, privs = asNobody): Promise<Watcher> {
  const node = realpathSync(process.execPath);
  const w = spawnProcess('setpriv', [...privs, '/usr/bin/python3', '-c', WATCHER, String(uid), node], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const reads = new Map<number, string>();
  let buf = '';
  let ready: () => void;
  const started = new Promise<void>((r) => (ready = r));
  w.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const [word, pid, hex] = buf.slice(0, nl).split(' ');
      buf = buf.slice(nl + 1);
      if (word === 'READY') ready();
      if (word === 'READ') reads.set(Number(pid), hex!);
    }
  });
  await started;
  return {
    reads,
    stop: () =>
      new Promise<void>((r) => {
        w.once('exit', () => r());
        w.kill('SIGKILL');
      }),
  };
}

const until = async (ok: () => boolean, ms: number) => {
  for (const end = Date.now() + ms; !ok() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
};

/**
 * Control: `control` (a node the watcher may read) is read. What its first mapping holds is not
 * checked: the watcher may catch child_process's fork of this process before its execve (the
 * uid already changed, the exe still node), whose first mapping is not the binary's.
 */
async function expectRead(w: Watcher, control: ReturnType<typeof spawnProcess>): Promise<void> {
  await until(() => w.reads.has(control.pid!), 10000);
  control.kill('SIGKILL');
  expect(w.reads.get(control.pid!)).toMatch(/^[0-9a-f]{8}$/);
}

/** Spawns /bin/true with `o` for 2.5 s (20 at least), held after its credential steps by a 2,000-rule Landlock ruleset; none may be read. */
async function expectNoneRead(w: Watcher, o: SpawnOptions): Promise<void> {
  const fs = Array.from({ length: 2000 }, () => ({ path: '/', access: ['execute', 'read-file', 'read-dir'] as const }));
  const pids: number[] = [];
  for (const end = Date.now() + 2500; Date.now() < end || pids.length < 20; ) {
    const c = spawn('/bin/true', { noNewPrivileges: true, landlock: { fs }, ...o });
    pids.push(c.pid);
    expect(await c.exited).toMatchObject({ code: 0 });
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 100));
  const leaked = pids.filter((p) => w.reads.has(p));
  expect({ spawns: pids.length, leaked }).toEqual({ spawns: pids.length, leaked: [] });
}

describe('escapes: the caller memory, through a spawn that takes another uid', () => {
  const cases: [string, SpawnOptions][] = [
    ['a plain spawn (the child shares our mm until execve)', {}],
    ['an init in a new pid namespace (a copy of our mm)', { namespaces: ['pid'], init: true }],
  ];
  for (const [name, extra] of cases) {
    rootTest(
      `${name}: a process of that uid never reads our memory`,
      async () => {
        const w = await watch();
        try {
          // Control: a node of that uid, dumpable, is seen and read.
          await expectRead(
            w,
            spawnProcess(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { uid: NOBODY, gid: NOBODY, stdio: 'ignore' }),
          );
          await expectNoneRead(w, { uid: NOBODY, gid: NOBODY, ...extra });
        } finally {
          await w.stop();
        }
      },
      30000,
    );
  }
});

describe('escapes: the caller memory, through a spawn that keeps root but drops capabilities', () => {
  // A Node without CAP_SETUID (every other capability) cannot give its child a saved uid of
  // another's: the child gets an mm of its own instead, non-dumpable before it drops anything.
  // The spawns run in such a node (dist/, setpriv); the watcher has Docker's set minus
  // CAP_SETUID, as have the spawns: it can read neither that node nor, with the fix, a spawn.
  rootTest(
    'a node without CAP_SETUID: its spawn gets a non-dumpable mm of its own, never read',
    async () => {
      const fewer = DOCKER_CAPS.filter((c) => c !== 'CAP_SETUID');
      const bounding = `--bounding-set=-all,${fewer.map((c) => `+${c.slice(4).toLowerCase()}`).join(',')}`;
      const w = await watch(0, [bounding]);
      try {
        const url = new URL('../../dist/index.js', import.meta.url).href;
        const script = `
          import { spawn } from ${JSON.stringify(url)};
          const fs = Array.from({ length: 2000 }, () => ({ path: '/', access: ['execute', 'read-file', 'read-dir'] }));
          const caps = ${JSON.stringify(fewer)};
          const pids = [];
          for (const end = Date.now() + 2500; Date.now() < end || pids.length < 20; ) {
            const c = spawn('/bin/true', { capabilities: { bounding: caps, effective: caps, permitted: caps }, noNewPrivileges: true, landlock: { fs } });
            pids.push(c.pid);
            const st = await c.exited;
            if (st.code !== 0) throw new Error('exit ' + JSON.stringify(st));
            await new Promise((r) => setTimeout(r, 5));
          }
          console.log(JSON.stringify(pids));`;
        const victim = spawnProcess('setpriv', ['--bounding-set=-setuid', process.execPath, '--input-type=module', '-e', script], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        victim.stdout!.on('data', (d: Buffer) => (out += d));
        const code = await new Promise<number | null>((r) => victim.once('exit', (c) => r(c)));
        expect(code).toBe(0);
        await new Promise((r) => setTimeout(r, 100));
        const pids = JSON.parse(out) as number[];
        // Controls: a node with the watcher's set is read; the spawning node (more capabilities) is not.
        await expectRead(
          w,
          spawnProcess('setpriv', [bounding, process.execPath, '-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' }),
        );
        expect(w.reads.has(victim.pid!)).toBe(false);
        const leaked = pids.filter((p) => w.reads.has(p));
        expect({ spawns: pids.length, leaked }).toEqual({ spawns: pids.length, leaked: [] });
      } finally {
        await w.stop();
      }
    },
    30000,
  );

  const caps = { capabilities: hardened().capabilities };
  const profile = { defaultAction: 'SCMP_ACT_ALLOW' as const, syscalls: [{ names: ['mount'], action: 'SCMP_ACT_ERRNO' as const }] };
  const cases: [string, SpawnOptions][] = [
    ['a plain spawn (the child shares our mm until execve)', {}],
    ['the init image (shares our mm until its execveat)', { namespaces: ['pid'], init: true }],
    ['an init that is a fork (a seccomp profile of the caller: a copy of our mm)', { namespaces: ['pid'], init: true, seccomp: profile }],
  ];
  for (const [name, extra] of cases) {
    rootTest(
      `${name}: a root process with Docker's capabilities never reads our memory`,
      async () => {
        const w = await watch(0, [dockerBounding]);
        try {
          // Controls: a node with Docker's bounding set is read; this process (every capability) is not.
          await expectRead(
            w,
            spawnProcess('setpriv', [dockerBounding, process.execPath, '-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' }),
          );
          expect(w.reads.has(process.pid)).toBe(false);
          await expectNoneRead(w, { ...caps, ...extra });
        } finally {
          await w.stop();
        }
      },
      30000,
    );
  }
});
