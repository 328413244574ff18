// findCgroup2() and currentCgroup() against /proc/<pid>/cgroup, findmnt and the cgroupfs files.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { SysError } from '../../src/errors.js';
import { currentCgroup, findCgroup2 } from '../../src/cgroups/index.js';
import { testIf } from '../helpers/env.js';

function findmntTargets(type: string): string[] {
  try {
    const out = execFileSync('findmnt', ['-J', '-l', '-t', type, '-o', 'TARGET'], { encoding: 'utf8' });
    return (JSON.parse(out) as { filesystems: { target: string }[] }).filesystems.map((e) => e.target);
  } catch {
    return []; // findmnt exits 1 when nothing matches
  }
}

const v2Targets = findmntTargets('cgroup2');
const v2Test = testIf(v2Targets.length > 0, 'cgroup v2 is not mounted here');

/** The 0:: line of /proc/<pid>/cgroup as cat(1) reads it. */
function v2Line(pid: number | 'self'): string {
  const text = execFileSync('cat', [`/proc/${pid}/cgroup`], { encoding: 'utf8' });
  return text
    .split('\n')
    .find((l) => l.startsWith('0::'))!
    .slice(3);
}

describe('findCgroup2()', () => {
  v2Test('finds the mount findmnt shows, with its controllers and the v1 verdict', () => {
    const cg = findCgroup2();
    expect(cg).not.toBeNull();
    expect(v2Targets).toContain(cg!.mountPoint);
    if (v2Targets.includes('/sys/fs/cgroup')) expect(cg!.mountPoint).toBe('/sys/fs/cgroup');
    expect(statSync(cg!.mountPoint).isDirectory()).toBe(true);
    const file = readFileSync(`${cg!.mountPoint}/cgroup.controllers`, 'utf8');
    expect(cg!.controllers).toEqual(file.split(/\s+/).filter(Boolean));
    expect(cg!.hybrid).toBe(findmntTargets('cgroup').length > 0);
  });

  test('null exactly when findmnt sees no cgroup2 mount', () => {
    expect(findCgroup2() === null).toBe(v2Targets.length === 0);
  });
});

describe('currentCgroup()', () => {
  v2Test('our cgroup: the 0:: line, and a directory whose cgroup.procs lists us', () => {
    const cur = currentCgroup();
    expect(cur).not.toBeNull();
    expect(cur!.path).toBe(v2Line(process.pid));
    expect(cur!.directory).not.toBeNull();
    expect(statSync(cur!.directory!).isDirectory()).toBe(true);
    expect(cur!.directory!.startsWith(findCgroup2()!.mountPoint)).toBe(true);
    const procs = readFileSync(`${cur!.directory}/cgroup.procs`, 'utf8').split('\n');
    expect(procs).toContain(String(process.pid));
    expect(currentCgroup(process.pid)).toEqual(cur);
  });

  v2Test("another process's cgroup: a child's", async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => child.once('spawn', r));
      const cur = currentCgroup(child.pid!);
      expect(cur!.path).toBe(v2Line(child.pid!));
      expect(readFileSync(`${cur!.directory}/cgroup.procs`, 'utf8').split('\n')).toContain(String(child.pid));
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
    }
  });

  test('a pid that cannot exist: SysError ENOENT with path and pid', () => {
    const pid = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1;
    let err: unknown;
    try {
      currentCgroup(pid);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ code: 'ENOENT', syscall: 'open', path: `/proc/${pid}/cgroup`, pid });
  });

  test('bad pids are rejected before any syscall', () => {
    expect(() => currentCgroup(-1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => currentCgroup(null as unknown as number)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});
