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
import { spawn as spawnProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { describe, expect } from 'vitest';
import { spawn, type SpawnOptions } from '../../src/index.js';
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

async function watch(): Promise<Watcher> {
  const node = realpathSync(process.execPath);
  const w = spawnProcess(
    'setpriv',
    [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '/usr/bin/python3', '-c', WATCHER, String(NOBODY), node],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
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

describe('escapes: the caller memory, through a spawn that takes another uid', () => {
  const fs = Array.from({ length: 2000 }, () => ({ path: '/', access: ['execute', 'read-file', 'read-dir'] as const }));
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
          // Control: a node of that uid, dumpable, is seen and read (ELF magic at its first mapping).
          const control = spawnProcess(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], {
            uid: NOBODY,
            gid: NOBODY,
            stdio: 'ignore',
          });
          await until(() => w.reads.has(control.pid!), 10000);
          control.kill('SIGKILL');
          expect(w.reads.get(control.pid!)).toBe('7f454c46');

          const pids: number[] = [];
          const end = Date.now() + 2500;
          while (Date.now() < end || pids.length < 20) {
            const c = spawn('/bin/true', {
              uid: NOBODY,
              gid: NOBODY,
              noNewPrivileges: true,
              landlock: { fs },
              ...extra,
            });
            pids.push(c.pid);
            expect(await c.exited).toMatchObject({ code: 0 });
            await new Promise((r) => setTimeout(r, 5));
          }
          await new Promise((r) => setTimeout(r, 100));
          const leaked = pids.filter((p) => w.reads.has(p));
          expect({ spawns: pids.length, leaked }).toEqual({ spawns: pids.length, leaked: [] });
        } finally {
          await w.stop();
        }
      },
      30000,
    );
  }
});
