// seccomp user notification from JS: the listener comes back from the child (which never
// holds it), notifications arrive in the event loop, and JS answers them — emulating a
// syscall, refusing one after reading its path from the target's memory, injecting an fd.
import { chmodSync, closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn } from '../../src/namespaces/index.js';
import type { SeccompProfile } from '../../src/security/index.js';
import { canUserns, testIf } from '../helpers/env.js';
import { childPids, fdCount, output } from '../helpers/proc.js';

const userns = testIf(canUserns, 'user namespaces are not available to this user');
const notify = (names: string[]): SeccompProfile => ({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names, action: 'SCMP_ACT_NOTIFY' }] });

describe('seccomp user notification', () => {
  userns('JS emulates getpid: the command sees the value JS answered', async () => {
    const child = spawn('python3', ['-c', 'import os; print(os.getpid(), os.getpid())'], {
      namespaces: ['user'],
      noNewPrivileges: true,
      seccomp: notify(['getpid']),
    });
    const notifier = child.seccompNotifier!;
    expect(notifier).not.toBeNull();
    const seen: string[] = [];
    const answering = (async () => {
      let k = 0;
      for await (const n of notifier) {
        seen.push(`${n.syscall}/${n.arch}/${n.pid === child.pid}`);
        expect(n.valid()).toBe(true);
        n.respond(4242 + k++);
      }
    })();
    const r = await output(child);
    await answering; // ends by itself once the process is gone
    expect(r.stdout.trim()).toBe('4242 4243');
    expect(seen).toEqual(
      ['getpid/x86_64/true', 'getpid/x86_64/true'].map((s) => (process.arch === 'arm64' ? s.replace('x86_64', 'aarch64') : s)),
    );
    notifier.close();
  });

  userns('JS reads the path argument from the target and refuses that mkdir with EACCES', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsbox-notify-'));
    chmodSync(dir, 0o777); // whatever id the user namespace's root is on the host
    try {
      const child = spawn(
        'python3',
        [
          '-c',
          `import os\nfor d in ('allowed', 'refused'):\n  try:\n    os.mkdir('${dir}/' + d); print(d, 'ok')\n  except OSError as e:\n    print(d, e.errno)`,
        ],
        {
          namespaces: ['user'],
          noNewPrivileges: true,
          seccomp: notify(['mkdir', 'mkdirat']),
        },
      );
      const paths: string[] = [];
      void (async () => {
        for await (const n of child.seccompNotifier!) {
          const path = n.readString(n.syscall === 'mkdirat' ? n.args[1]! : n.args[0]!);
          paths.push(path);
          if (path.endsWith('/refused')) n.fail(13);
          else n.continue();
        }
      })();
      const r = await output(child);
      child.seccompNotifier!.close();
      expect(r.stdout.trim().split('\n')).toEqual(['allowed ok', 'refused 13']);
      expect(paths).toEqual([`${dir}/allowed`, `${dir}/refused`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  userns('SECCOMP_IOCTL_NOTIF_ADDFD: an open of a magic path gets a file of ours', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsbox-notify-'));
    const secret = join(dir, 'host-only');
    writeFileSync(secret, 'from the parent\n');
    try {
      const child = spawn('python3', ['-S', '-c', "print(open('/magic/file').read(), end='')"], {
        namespaces: ['user'],
        noNewPrivileges: true,
        seccomp: notify(['openat', 'open']),
      });
      void (async () => {
        for await (const n of child.seccompNotifier!) {
          const path = n.readString(n.syscall === 'openat' ? n.args[1]! : n.args[0]!);
          if (path !== '/magic/file') {
            n.continue();
            continue;
          }
          const fd = openSync(secret, 'r');
          try {
            n.addFd(fd, { send: true, cloexec: true });
          } finally {
            closeSync(fd);
          }
        }
      })();
      const r = await output(child);
      child.seccompNotifier!.close();
      expect(r.stdout).toBe('from the parent\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a filter without notify rules gives no notifier; notify needs no_new_privs; nothing leaks on refusal', async () => {
    const c = spawn('true', { noNewPrivileges: true, seccomp: { defaultAction: 'SCMP_ACT_ALLOW' } });
    expect(c.seccompNotifier).toBeNull();
    await c.exited;
    // A rule on wait4 is fine without an init (the command's own wait4, answered from here).
    const plain = spawn('true', { noNewPrivileges: true, seccomp: notify(['wait4']) });
    expect(plain.seccompNotifier).not.toBeNull();
    await plain.exited;
    plain.seccompNotifier!.close();
    const fds = fdCount();
    const kids = childPids().length;
    expect(() => spawn('true', { seccomp: notify(['getpid']) })).toThrow(/need options.noNewPrivileges/);
    expect(() => spawn('true', { noNewPrivileges: true, seccomp: notify(['execve']) })).toThrow(
      /notifies a syscall the child itself makes/,
    );
    // The init's probe, its command's clone and its fds' close run under the filter before
    // spawn returns: notified, they would wait forever (they did, before the check).
    for (const name of ['wait4', 'prctl', 'clone', 'close_range'])
      expect(() => spawn('true', { namespaces: ['user', 'pid'], init: true, noNewPrivileges: true, seccomp: notify([name]) })).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_ARG_VALUE',
          message: expect.stringMatching(/syscall the init makes before the command runs/),
        }),
      );
    // A joiner of a pid namespace forks into it after its filter (csrc/child.cc ForkFirst):
    // the fork, its report and the copy's pdeathsig run under the filter.
    for (const name of ['clone', 'prctl', 'ppoll'])
      expect(() => spawn('true', { join: { pid: process.pid }, noNewPrivileges: true, seccomp: notify([name]) })).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_ARG_VALUE',
          message: expect.stringMatching(/a joiner \(its fork into the joined pid namespace comes after the filter\)/),
        }),
      );
    expect(fdCount()).toBe(fds);
    expect(childPids().length).toBe(kids);
  });

  userns('closing the notifier fails the waiting syscall (ENOSYS) instead of hanging', async () => {
    const child = spawn('python3', ['-c', 'import os\ntry:\n  os.getpid(); print("answered")\nexcept OSError as e:\n  print(e.errno)'], {
      namespaces: ['user'],
      noNewPrivileges: true,
      seccomp: notify(['getpid']),
    });
    const it = child.seccompNotifier![Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    child.seccompNotifier!.close();
    const r = await output(child);
    expect(r.code).toBe(0);
    // glibc's getpid has no errno path: python sees the raw -ENOSYS as a pid. Either way it did not hang.
    expect(r.stdout.trim()).not.toBe('');
  });
});
