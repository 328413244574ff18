// The cgroup device filter in the kernel: rules compiled to a BPF_CGROUP_DEVICE program,
// attached to a test cgroup on this host's v2 tree, and processes spawned into it as root
// with every capability. Witnesses: the processes' own open(2)/mknod(2) results, the
// programs BPF_PROG_QUERY lists, and `bpftool cgroup show` where bpftool is installed.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { beforeEach, describe, expect } from 'vitest';
import { type Cgroup, type DeviceRule, cgroup, createCgroup, findCgroup2 } from '../../src/index.js';
import { inNamespaces, useCgroup } from '../../src/testing/index.js';
import { loadDeviceProgram } from '../../src/cgroups/devices.js';
import { isRoot, rootlessTest, testIf } from '../helpers/env.js';
import { fdCount } from '../helpers/proc.js';

const v2 = findCgroup2();
const canWrite = v2 !== null && isRoot;
const cgTest = testIf(
  canWrite,
  v2 === null ? 'cgroup v2 is not mounted here' : 'loading a cgroup device program needs root (CAP_SYS_ADMIN)',
);
const bpftool = ['/usr/sbin/bpftool', '/usr/bin/bpftool'].find((p) => existsSync(p));

let cg: Cgroup;
beforeEach(async ({ onTestFinished }) => {
  if (canWrite) cg = await useCgroup(onTestFinished); // removed when the test finishes, passed or failed
});

/**
 * What a root process in `cg` gets from each probe: 'ok' or the errno's code. A probe is
 * `r:PATH`, `w:PATH`, `rw:PATH` (open with that mode) or `m:c:MAJ:MIN` (mknod in a temp dir).
 * Run by nsbox/testing in a process placed in the cgroup, as host root (no namespaces).
 */
function probe(cgroup: Cgroup, probes: string[]): Promise<Record<string, string>> {
  return inNamespaces(
    { cgroup, namespaces: [] },
    async (list: string[]) => {
      const fs = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const { execFileSync } = await import('node:child_process');
      const out: Record<string, string> = {};
      const dir = fs.mkdtempSync(join(tmpdir(), 'devprobe-'));
      for (const p of list) {
        const [mode, ...rest] = p.split(':');
        try {
          if (mode === 'm') execFileSync('mknod', [join(dir, `n${rest[1]}_${rest[2]}`), ...rest], { stdio: 'pipe' });
          else fs.closeSync(fs.openSync(rest.join(':'), mode === 'r' ? 'r' : mode === 'w' ? 'w' : 'r+'));
          out[p] = 'ok';
        } catch (e) {
          const err = e as { code?: string; stderr?: unknown };
          out[p] = err.code ?? (String(err.stderr).includes('Operation not permitted') ? 'EPERM' : String(err.stderr).trim());
        }
      }
      fs.rmSync(dir, { recursive: true });
      return out;
    },
    probes,
  );
}

const DENY_ALL: DeviceRule = { allow: false, type: 'a', access: 'rwm' };

describe('device rules in the kernel', () => {
  cgTest('deny all + null rwm + zero r: root with every capability gets exactly that', async () => {
    cg.setDeviceRules([
      DENY_ALL,
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 5, access: 'r' },
    ]);
    expect(cg.devicePrograms()).toHaveLength(1);
    const got = await probe(cg, ['rw:/dev/null', 'r:/dev/zero', 'w:/dev/zero', 'r:/dev/full', 'm:c:1:7', 'm:c:1:3']);
    expect(got).toEqual({
      'rw:/dev/null': 'ok',
      'r:/dev/zero': 'ok',
      'w:/dev/zero': 'EPERM',
      'r:/dev/full': 'EPERM',
      'm:c:1:7': 'EPERM',
      'm:c:1:3': 'ok',
    });
  });

  cgTest('last match wins, per access', async () => {
    cg.setDeviceRules([
      { allow: true, type: 'c', access: 'rwm' }, // every char device
      { allow: false, type: 'c', major: 1, access: 'w' }, // no writes to mem devices
      { allow: true, type: 'c', major: 1, minor: 3, access: 'w' }, // but /dev/null
      { allow: false, type: 'c', major: 1, minor: 7 }, // nothing on /dev/full
    ]);
    const got = await probe(cg, ['rw:/dev/null', 'r:/dev/zero', 'w:/dev/zero', 'r:/dev/full', 'rw:/dev/tty', 'm:c:1:9']);
    expect(got).toMatchObject({
      'rw:/dev/null': 'ok',
      'r:/dev/zero': 'ok',
      'w:/dev/zero': 'EPERM',
      'r:/dev/full': 'EPERM',
      'm:c:1:9': 'ok',
    });
    // /dev/tty: allowed by the cgroup; ENXIO without a controlling terminal is the tty's own answer
    expect(['ok', 'ENXIO']).toContain(got['rw:/dev/tty']);
  });

  cgTest('replacing the rules on a live cgroup takes effect and leaves one program', async () => {
    cg.setDeviceRules([DENY_ALL]);
    const first = cg.devicePrograms();
    expect(await probe(cg, ['r:/dev/null'])).toEqual({ 'r:/dev/null': 'EPERM' });
    const fds = fdCount();
    cg.setDeviceRules([DENY_ALL, { allow: true, type: 'c', major: 1, minor: 3 }]);
    expect(fdCount()).toBe(fds);
    const second = cg.devicePrograms();
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(first[0]);
    expect(await probe(cg, ['r:/dev/null', 'r:/dev/zero'])).toEqual({ 'r:/dev/null': 'ok', 'r:/dev/zero': 'EPERM' });
    if (bpftool) {
      const shown = JSON.parse(execFileSync(bpftool, ['-j', 'cgroup', 'show', cg.directory], { encoding: 'utf8' })) as {
        id: number;
        attach_type: string;
      }[];
      expect(shown.map((p) => [p.id, p.attach_type])).toEqual([[second[0], 'cgroup_device']]);
    }
  });

  cgTest('nothing stays attached after the cgroup is removed', async () => {
    const c = await createCgroup(`${cg.path}/sub`.slice(1));
    c.setDeviceRules([DENY_ALL]);
    const [id] = c.devicePrograms();
    await c.remove();
    expect(existsSync(c.directory)).toBe(false);
    // the program is freed with the cgroup (asynchronously, by the kernel's cgroup release)
    if (bpftool) {
      let left = true;
      for (let i = 0; i < 50 && left; i++) {
        const progs = JSON.parse(execFileSync(bpftool, ['-j', 'prog', 'show'], { encoding: 'utf8' })) as { id: number }[];
        left = progs.some((p) => p.id === id);
        if (left) await new Promise((r) => setTimeout(r, 100));
      }
      expect(left).toBe(false);
    }
  });

  cgTest('a program the verifier refuses: SysError with its log', () => {
    // `exit` without setting r0: "R0 !read_ok"
    const bad = Buffer.from([0x95, 0, 0, 0, 0, 0, 0, 0]);
    let err: unknown;
    try {
      loadDeviceProgram(bad, cg);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'EACCES', syscall: 'BPF_PROG_LOAD', path: cg.directory, cgroup: cg.path });
    expect((err as { kernelMessage: string }).kernelMessage).toMatch(/R0/);
  });

  cgTest(
    'a load is not lost to a signal: the verifier gives up with EAGAIN when one is pending, so loads run with signals blocked',
    async () => {
      // V8's sampling profiler at a 1 µs interval: a SIGPROF at this thread all the time, as
      // `node --cpu-prof` sends it (found that way: create failed with EAGAIN under --cpu-prof).
      const { Session } = await import('node:inspector');
      const session = new Session();
      session.connect();
      const post = (method: string, params?: object) =>
        new Promise<void>((res, rej) => session.post(method, params ?? {}, (err) => (err ? rej(err) : res())));
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: 1 });
      await post('Profiler.start');
      let loads = 0;
      try {
        for (const end = Date.now() + 1000; Date.now() < end; loads++)
          cg.setDeviceRules([DENY_ALL, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }]);
      } finally {
        await post('Profiler.stop');
        session.disconnect();
      }
      expect(loads).toBeGreaterThan(10);
      expect(cg.devicePrograms()).toHaveLength(1);
    },
  );

  cgTest('bad rules are refused before any syscall', () => {
    expect(() => cg.setDeviceRules([{ allow: true, access: 'rx' }])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => cg.setDeviceRules([{ allow: true, major: 1.5 }])).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => cg.setDeviceRules({} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(cg.devicePrograms()).toEqual([]);
  });

  // Unprivileged: the kernel refuses the load (no CAP_SYS_ADMIN); nothing is attached.
  (v2 === null ? testIf(false, 'cgroup v2 is not mounted here') : rootlessTest)('rootless: EPERM from BPF_PROG_LOAD, with a hint', () => {
    const root = cgroup('.');
    expect(() => root.setDeviceRules([DENY_ALL])).toThrow(
      expect.objectContaining({ code: 'EPERM', syscall: 'BPF_PROG_LOAD', cgroup: root.path, hint: expect.stringMatching(/CAP_SYS_ADMIN/) }),
    );
  });
});
