// Escape suite, host objects (issue 8, reproductions 1, 2, 4, 5, 6, 11, 12): a hostile command
// inside `nsbox run` goes for the host's sysctls, /etc, device inodes, setuid files, cgroups,
// processes and sysfs; every test then looks on the HOST side that nothing changed.
import { spawn as spawnProcess } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  alive,
  box,
  cgroup2Mount,
  ensureBuilt,
  makeRootfs,
  MODES,
  onCleanup,
  ownCgroup2,
  py,
  ROOT_MODES,
  runCleanup,
  sentinelPath,
  tempDir,
  uniq,
} from '../helpers/escape.js';
import { isRoot } from '../helpers/env.js';

let rootfs: string;
beforeAll(() => {
  ensureBuilt();
});
afterEach(runCleanup);

// The id block and the mount lock are tested alone: every capability, no seccomp filter
// (--privileged). escapes-hardened.test.ts checks the default filters on top.
const LOCK_ONLY = ['--privileged'];
// A fresh rootfs per test: an escape may have written into the last one.
const fresh = () => (rootfs = makeRootfs());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Saves a host file's contents and puts them back afterwards (root only) if an escape changed them. */
function guardFile(path: string): string {
  const before = readFileSync(path, 'utf8');
  onCleanup(() => {
    if (isRoot && readFileSync(path, 'utf8') !== before) writeFileSync(path, before.trim() + '\n');
  });
  return before;
}

describe.each(MODES)('escapes: host objects ($name)', (mode) => {
  // 1. core_pattern: a pipe handler runs as host root in the host's namespaces.
  mode.test('1. core_pattern: umount /proc/sys, write `|touch SENTINEL`, crash: host core_pattern unchanged, no sentinel', async () => {
    fresh();
    const before = guardFile('/proc/sys/kernel/core_pattern');
    const sentinel = sentinelPath();
    const r = await box(
      mode,
      rootfs,
      `umount /proc/sys; echo '|/usr/bin/touch ${sentinel}' >/proc/sys/kernel/core_pattern; echo WRITE=$?
       ulimit -c unlimited; sh -c 'kill -SEGV $$'; echo CRASH=$?`,
      { args: LOCK_ONLY },
    );
    const after = readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
    if (isRoot && after !== before) writeFileSync('/proc/sys/kernel/core_pattern', before.trim() + '\n');
    await sleep(300); // the usermode helper runs asynchronously
    // Positive control: the crash really happened inside (so a changed core_pattern would have fired).
    expect(r.stdout).toContain('CRASH=139');
    expect({ corePattern: after, sentinel: existsSync(sentinel) }).toEqual({ corePattern: before, sentinel: false });
  });

  // 4. A devtmpfs inode bound into /dev is the host's inode.
  mode.test("4. chmod 600 /dev/full inside: the host's /dev/full mode is unchanged", async () => {
    fresh();
    const before = statSync('/dev/full').mode;
    onCleanup(() => {
      if (isRoot && statSync('/dev/full').mode !== before) chmodSync('/dev/full', before & 0o7777);
    });
    const r = await box(mode, rootfs, '[ -c /dev/full ] && echo CHARDEV; chmod 600 /dev/full; echo CHMOD=$?');
    expect(r.stdout).toContain('CHARDEV'); // the device is there to attack
    expect((statSync('/dev/full').mode & 0o7777).toString(8)).toBe((before & 0o7777).toString(8));
  });

  // 5. A setuid file written through a volume is a setuid program on the host.
  mode.test('5. --volume DIR:/d, cp busybox /d/s && chmod 4755: no setuid-root program on the host', async () => {
    fresh();
    const dir = tempDir('nsbox-esc-vol-', 0o777);
    const r = await box(mode, rootfs, 'cp /bin/busybox /d/s; chmod 4755 /d/s; echo CHMOD=$?', { args: ['--volume', `${dir}:/d`] });
    // Positive control: a rw volume is writable, and the copy landed on the host.
    expect(existsSync(join(dir, 's')), r.stderr).toBe(true);
    const st = statSync(join(dir, 's'));
    const setuidRoot = st.uid === 0 && (st.mode & 0o4000) !== 0;
    const setgidRoot = st.gid === 0 && (st.mode & 0o2000) !== 0;
    expect({ uid: st.uid, mode: (st.mode & 0o7777).toString(8), setuidRoot, setgidRoot }).toMatchObject({
      setuidRoot: false,
      setgidRoot: false,
    });
  });

  // 6. cgroup2 mounted inside is the host's tree (the cgroup namespace only moves its root).
  mode.test("6. mount -t cgroup2 and mkdir: no new cgroup in the host's cgroup2 tree", async () => {
    fresh();
    const cg = cgroup2Mount();
    expect(cg, 'a cgroup2 mount on the host').toBeDefined();
    const name = `nsbox-escape-${uniq()}`;
    const candidates = [join(cg!, name), join(cg!, ownCgroup2(), name)];
    onCleanup(() => {
      for (const c of candidates) if (existsSync(c)) rmdirSync(c);
    });
    const m = `/tmp/c-${uniq()}`;
    const r = await box(mode, rootfs, `mkdir -p ${m}; mount -t cgroup2 none ${m}; echo MOUNT=$?; mkdir ${m}/${name}; echo MKDIR=$?`);
    expect(r.stdout).toMatch(/MKDIR=/); // the attempt ran
    for (const c of candidates) expect(existsSync(c), c).toBe(false);
  });

  // 6 (v1, CVE-2022-0492 class). Nothing is ever written to a v1 hierarchy: access(W_OK) only.
  mode.test('6. cgroup v1: mount -t cgroup -o pids fails, or cgroup.procs, tasks and release_agent are not writable', async () => {
    fresh();
    const m = `/tmp/v1-${uniq()}`;
    const check = `import os
for f in ('cgroup.procs', 'tasks', 'release_agent', 'notify_on_release'):
    p = '${m}/' + f
    if os.path.exists(p): print('EXISTS', f)
    if os.path.exists(p) and os.access(p, os.W_OK): print('WRITABLE', f)`;
    const r = await box(mode, rootfs, `mkdir -p ${m}; mount -t cgroup -o pids none ${m} && echo MOUNTED && ${py(check)}; echo DONE`, {
      python: true,
    });
    expect(r.stdout).toContain('DONE');
    if (r.stdout.includes('MOUNTED')) expect(r.stdout).toContain('EXISTS cgroup.procs'); // the check saw the hierarchy
    expect(r.stdout).not.toMatch(/WRITABLE/);
  });

  // 12. /sys inside is the host's sysfs, bound: remount it rw and write a module parameter.
  mode.test("12. sysfs: remount /sys rw, write printk's `time`: host value unchanged; /sys/class/net is the box's own", async () => {
    fresh();
    const param = '/sys/module/printk/parameters/time';
    const before = guardFile(param);
    const hostIfs = readdirSync('/sys/class/net').sort();
    expect(hostIfs.length, 'the host has interfaces besides lo').toBeGreaterThan(1);
    const flip = before.trim() === 'Y' ? 'N' : 'Y';
    const r = await box(
      mode,
      rootfs,
      `echo NET=$(ls /sys/class/net | tr '\\n' ' '); mount -o remount,bind,rw /sys; echo ${flip} >${param}; echo WRITE=$?`,
      { args: [...LOCK_ONLY, ...(mode.root ? ['--net', 'none'] : [])] },
    );
    const after = readFileSync(param, 'utf8');
    if (isRoot && after !== before) writeFileSync(param, before);
    expect({ time: after, net: r.stdout.match(/^NET=.*$/m)?.[0] }).toEqual({ time: before, net: 'NET=lo' });
  });
});

describe.each(MODES.filter((m) => !m.rootfs))('escapes: the host /etc of the default root ($name)', (mode) => {
  // 2. The default root binds the host's /etc read-only.
  mode.test('2. cat /etc/shadow fails; remount /etc rw + write: no file in the host /etc', async () => {
    const sentinel = sentinelPath('/etc');
    const r = await box(
      mode,
      '',
      `grep -c '^root:' /etc/passwd | sed 's/^/PASSWD=/'; sed 's/^/SHADOW:/' /etc/shadow
       mount -o remount,bind,rw /etc; echo x >${sentinel}; echo WRITE=$?`,
      { args: LOCK_ONLY },
    );
    expect(r.stdout).toContain('PASSWD=1'); // positive control: this is the host's /etc
    expect(r.stdout).not.toContain('SHADOW:');
    expect(existsSync(sentinel)).toBe(false);
  });
});

describe.each(ROOT_MODES)('escapes: host processes ($name)', (mode) => {
  // 11. --share pid: the host's processes are in view; as root they are host root's.
  mode.test('11. --share pid -- kill -9 <host root victim>: the victim survives', async () => {
    fresh();
    const victim = spawnProcess('sleep', ['60'], { stdio: 'ignore' });
    onCleanup(() => victim.kill('SIGKILL'));
    const pid = victim.pid!;
    const r = await box(mode, rootfs, `[ -d /proc/${pid} ] && echo SEEN; kill -9 ${pid}; echo KILL=$?`, { args: ['--share', 'pid'] });
    await sleep(200);
    expect(r.stdout).toContain('SEEN'); // positive control: the victim is in view
    expect(victim.exitCode === null && victim.signalCode === null && alive(pid)).toBe(true);
  });
});

describe('escapes: host processes (rootless)', () => {
  test.skip('11. --share pid -- kill -9 <host victim> [skipped: rootless, the only processes in reach are the same uid, which the kernel lets it signal]', () => {});
});
