// Escape suite, the caller's binary through /proc/self/exe (CVE-2019-5736 against runc; found
// in review on 2026-11-30). The process that makes the command's execve(2) is a copy of Node,
// so its /proc/self/exe is Node's binary; an image whose program starts `#!/proc/self/exe` had
// the kernel run that binary inside the sandbox, with the image's ELF loader, holding the host's
// node file — writable, once no node process runs it, by a command whose ids pass its
// permissions (root without a user namespace; the owner's uid, rootless with an nvm-installed
// node). Where that is so, the command's execve is now made by the sealed exec stub, whose
// /proc/self/exe is a memfd nothing can write (src/namespaces/exec-stub.ts).
//
// The witness: the image's program is a script `#!/proc/self/exe` whose body is JavaScript
// printing the dev:ino of its /proc/self/exe, so it runs only if the kernel ran Node's binary.
// Control: the same script without a mount namespace of its own (no boundary to cross: the
// stub is not used) runs in node and prints the dev:ino of this process's binary.
import { chmodSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { hardened, type NsboxChild, openStartGate, spawn, type SpawnOptions } from '../../src/index.js';
import { canUserns, isRoot, testIf } from '../helpers/env.js';
import { output } from '../helpers/proc.js';

const rtest = testIf(isRoot && canUserns, 'needs root (a command that could write the node binary) and user namespaces');

const SCRIPT = `#!/proc/self/exe
const fs = require('node:fs');
const st = fs.statSync('/proc/self/exe');
let open = 'opened';
try { fs.closeSync(fs.openSync('/proc/self/exe', 'r+')); } catch (e) { open = e.code; }
console.log('NODE ' + st.dev + ':' + st.ino + ' ' + open);
`;

let dir: string;
let node: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsbox-exe-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'entry'), SCRIPT, { mode: 0o755 });
  const st = statSync(process.execPath);
  node = `NODE ${st.dev}:${st.ino}`;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the script as the command, its directory bound at /x. */
async function run(o: SpawnOptions): Promise<{ code: number | null; out: string }> {
  const r = await output(
    spawn('/x/entry', {
      rootfs: 'host',
      mounts: [{ type: 'bind', source: dir, target: '/x', readOnly: true }],
      ...o,
    }),
  );
  return { code: r.code, out: r.stdout };
}

describe('escapes: the caller binary through /proc/self/exe (CVE-2019-5736)', () => {
  rtest('control: without a mount namespace of its own, the script runs in Node’s binary (the mechanics work)', async () => {
    const r = await output(spawn(join(dir, 'entry'), { namespaces: ['pid'] }));
    expect(r.stdout).toContain(node);
  });

  const exposed: [string, SpawnOptions][] = [
    ['root without a user namespace, a container root (runc’s default)', { namespaces: ['mnt', 'pid'] }],
    ['the same with Docker’s capabilities', { namespaces: ['mnt', 'pid'], ...hardened() }],
    ['the same with an init (the init image)', { namespaces: ['mnt', 'pid'], init: true, capabilities: hardened().capabilities }],
    ['the same with an init that is a fork (every capability)', { namespaces: ['mnt', 'pid'], init: true }],
    [
      'a user namespace mapping the binary’s owner (host root mapped)',
      { namespaces: ['user', 'mnt', 'pid'], uidMap: [{ inside: 0, outside: 0, count: 1 }], gidMap: [{ inside: 0, outside: 0, count: 1 }] },
    ],
  ];
  for (const [name, o] of exposed) {
    rtest(`${name}: Node’s binary never runs as the command (the exec stub makes its execve)`, async () => {
      const r = await run(o);
      expect(r.out).not.toContain('NODE');
      expect(r.code).toBe(127);
    });
  }

  rtest(
    'root with the id block (no id of the binary’s mapped): the stub is not needed — Node’s binary runs, and cannot be opened for writing',
    async () => {
      const r = await run({ namespaces: ['user', 'mnt', 'pid'] });
      expect(r.out).toContain(`${node} EACCES`);
    },
  );

  rtest(
    'through the stub, an ordinary command runs with its argv and environment, and a missing one fails the spawn at exec (ENOENT)',
    async () => {
      const r = await output(
        spawn('sh', ['-c', 'echo "$0 $1 $FOO"; readlink /proc/$$/exe', 'zero', 'one'], {
          namespaces: ['mnt', 'pid'],
          rootfs: 'host',
          env: { FOO: 'bar', PATH: '/usr/bin:/bin' },
        }),
      );
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^zero one bar\n\/(usr\/)?bin\/(dash|bash|sh)\n$/);
      expect(() => spawn('nsbox-no-such-command', { namespaces: ['mnt', 'pid'], rootfs: 'host', env: { PATH: '/usr/bin:/bin' } })).toThrow(
        expect.objectContaining({ code: 'ENOENT', step: 'exec' }),
      );
      await expect(
        (async () => {
          const c = spawn('nsbox-no-such-command', {
            namespaces: ['mnt', 'pid'],
            rootfs: 'host',
            init: true,
            capabilities: hardened().capabilities,
            env: { PATH: '/usr/bin:/bin' },
          });
          return c.exited;
        })(),
      ).rejects.toMatchObject({ code: 'ENOENT', step: 'exec' });
    },
  );
});

// The same file reached through another process's /proc/PID/exe (CVE-2019-5736 as runc had it:
// the attacker opens the runtime's exe while it joins the container; found in review on
// 2026-11-30). A process nsbox puts in a sandbox's pid namespace before its execve — a
// created container's PID 1 waiting for start, a process joining the namespace, an init that
// is a fork — is a copy of Node. Non-dumpable, but a root without a user namespace holding
// CAP_SYS_PTRACE (every capability here, Docker's --cap-add SYS_PTRACE) passes
// ptrace_may_access() anyway, could open /proc/PID/exe with O_PATH and write Node's binary
// through it once no node runs it. Each such child now makes the sealed init image its exe
// before anything else (csrc/child.cc HideExe). Witness: what the link leads to (dev:ino),
// against Node's binary; all of these showed Node's binary before the fix.
describe('escapes: the caller binary through another process’s /proc/PID/exe (CVE-2019-5736)', () => {
  const IMAGE = '/memfd:nsbox-init (deleted)';
  const exeOf = (pid: number): string => readlinkSync(`/proc/${pid}/exe`);

  /** A created container (pid + mnt, the host's root) waiting at its gate, for `fn`; killed after. */
  async function whileCreated(file: string, args: string[], fn: (box: NsboxChild, gateDir: string, gate: string) => Promise<void>) {
    const gateDir = mkdtempSync(join(tmpdir(), 'nsbox-exe-gate-'));
    const gate = join(gateDir, 'start.sock');
    const box = spawn(file, args, { namespaces: ['mnt', 'pid'], rootfs: 'host', startGate: gate, stdio: 'ignore' });
    try {
      await fn(box, gateDir, gate);
    } finally {
      box.kill('SIGKILL');
      await box.exited.catch(() => undefined);
      rmSync(gateDir, { recursive: true, force: true });
    }
  }

  rtest('a created container’s PID 1 and a process joining it before start: the image, from outside and from inside', async () => {
    await whileCreated('sleep', ['30'], async (box, gateDir) => {
      expect(exeOf(box.pid)).toBe(IMAGE);
      // Root with every capability (CAP_SYS_PTRACE too) inside the created container's pid
      // namespace: its PID 1 is the waiting child.
      const st = statSync(process.execPath);
      const r = await output(
        spawn('sh', ['-c', 'readlink /proc/1/exe; stat -L -c %d:%i /proc/1/exe; grep CapEff /proc/self/status'], {
          join: { pid: box.pid, mnt: box.pid },
        }),
      );
      const [link, devIno, capEff] = r.stdout.trim().split('\n');
      expect(BigInt(`0x${capEff!.split(/\s+/)[1]}`) & (1n << 19n)).toBe(1n << 19n);
      expect(link).toBe(IMAGE);
      expect(devIno).not.toBe(`${st.dev}:${st.ino}`);
      // A joining process waiting before its own execve (a join with a gate of its own).
      const gate2 = join(gateDir, 'join.sock');
      const joiner = spawn('true', { join: { pid: box.pid, mnt: box.pid }, startGate: gate2, stdio: 'ignore' });
      expect(exeOf(joiner.pid)).toBe(IMAGE);
      await openStartGate(gate2);
      expect(await joiner.exited).toMatchObject({ code: 0 });
    });
  });

  rtest('with Workers running (V8 maps part of Node’s binary again for each isolate): still the image', async () => {
    const { Worker } = await import('node:worker_threads');
    const workers = Array.from({ length: 12 }, () => new Worker('setInterval(() => {}, 1000)', { eval: true }));
    try {
      await Promise.all(workers.map((w) => new Promise((r) => w.once('online', r))));
      const exe = realpathSync(process.execPath);
      const maps = readFileSync('/proc/self/maps', 'utf8')
        .split('\n')
        .filter((l) => l.endsWith(exe));
      expect(maps.length).toBeGreaterThan(16); // more than the 8 the first cut allowed
      await whileCreated('true', [], async (box, _dir, gate) => {
        expect(exeOf(box.pid)).toBe(IMAGE);
        await openStartGate(gate);
        expect(await box.exited).toMatchObject({ code: 0 });
      });
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  });

  rtest('an init that is a fork, under a command holding CAP_SYS_PTRACE: PID 1’s exe is the image', async () => {
    const st = statSync(process.execPath);
    const r = await output(
      spawn('sh', ['-c', 'stat -L -c %d:%i /proc/1/exe; readlink /proc/1/exe; grep -c nsbox.node /proc/1/maps'], {
        namespaces: ['mnt', 'pid'],
        rootfs: 'host',
        init: true,
      }),
    );
    const [devIno, link, addon] = r.stdout.trim().split('\n');
    expect(devIno).not.toBe(`${st.dev}:${st.ino}`);
    expect(link).toBe(IMAGE);
    expect(Number(addon)).toBeGreaterThan(0); // the fork (the addon mapped), not the exec'd image
  });
});
