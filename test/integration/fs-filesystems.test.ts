// mountSysfs, mountDevpts, mountMqueue and mountCgroup2 against the real kernel. Each runs in
// a Node process that nsbox spawns into new user and mount namespaces (and the namespace the
// filesystem shows: net, ipc, cgroup), so it needs no privilege, never changes the host's
// mounts and never reaches the host's superblocks: a cgroup2 mount from the initial cgroup
// namespace would re-apply its root flags (nsdelegate, …) to the host's hierarchy, and v1
// hierarchies are never touched. The process reports what it sees as JSON; the host's
// mount table is the witness that nothing leaked.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect } from 'vitest';
import { spawn, type NamespaceType } from '../../src/namespaces/index.js';
import { canUserns, testIf } from '../helpers/env.js';
import { output } from '../helpers/proc.js';

const fsModule = new URL('../../dist/fs/index.js', import.meta.url).href;
const usernsTest = testIf(canUserns, 'user namespaces cannot be created here');

let dir: string;
let hostMounts: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsbox-fsm-'));
  chmodSync(dir, 0o777); // the mapped root of the child may not be the owner
  hostMounts = readFileSync('/proc/self/mountinfo', 'utf8');
});
afterEach(() => {
  expect(readFileSync('/proc/self/mountinfo', 'utf8')).toBe(hostMounts);
  rmSync(dir, { recursive: true, force: true });
});

interface Seen {
  /** The mountinfo fields of the new mount: fstype, source, per-mount and super options. */
  mount: { fsType: string; source: string; options: string[]; superOptions: string[] } | null;
  [k: string]: unknown;
}

/**
 * Runs `body` (an async function body with `m`, the nsbox/fs module, `t`, the target, and
 * `fs`, node:fs, in scope; what it returns is reported) in a Node process in new
 * `namespaces`, after `call` (e.g. `m.mountSysfs(t)`) has mounted on `t`.
 */
async function inside(namespaces: NamespaceType[], call: string, body: string): Promise<Seen> {
  const script = `
    import * as fs from 'node:fs';
    const m = await import(${JSON.stringify(fsModule)});
    const t = ${JSON.stringify(dir)};
    ${call};
    const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\\n').find((l) => l.split(' ')[4] === t);
    let mount = null;
    if (line) {
      const [pre, post] = line.split(' - ');
      const [fsType, source, superOptions] = post.split(' ');
      mount = { fsType, source, options: pre.split(' ')[5].split(','), superOptions: superOptions.split(',') };
    }
    const extra = await (async () => { ${body} })();
    process.stdout.write(JSON.stringify({ mount, ...extra }));`;
  const r = await output(spawn(process.execPath, ['--input-type=module', '-e', script], { namespaces }));
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Seen;
}

describe('special filesystems, mounted in new namespaces', () => {
  usernsTest("mountSysfs: sysfs of the mounter's network namespace (only lo in /class/net), nosuid,nodev,noexec", async () => {
    const seen = await inside(['user', 'mnt', 'net'], 'm.mountSysfs(t)', 'return { net: fs.readdirSync(`${t}/class/net`) };');
    expect(seen.mount).toMatchObject({ fsType: 'sysfs', source: 'sysfs' });
    expect(seen.mount!.options).toEqual(expect.arrayContaining(['nosuid', 'nodev', 'noexec']));
    expect(seen.net).toEqual(['lo']);
  });

  usernsTest('mountSysfs: given flags replace the defaults (rdonly: the mount is ro, writes are EROFS)', async () => {
    const seen = await inside(
      ['user', 'mnt', 'net'],
      "m.mountSysfs(t, { flags: ['rdonly', 'nosuid'] })",
      'try { fs.writeFileSync(`${t}/class/net/lo/mtu`, "1280"); return { write: "ok" }; } catch (e) { return { write: e.code }; }',
    );
    expect(seen.mount!.options).toEqual(expect.arrayContaining(['ro', 'nosuid']));
    expect(seen.mount!.options).not.toContain('noexec');
    expect(seen.write).toBe('EROFS');
  });

  usernsTest('mountDevpts: a new instance with the asked modes; only ptmx until a pty is opened', async () => {
    const seen = await inside(
      ['user', 'mnt'],
      'm.mountDevpts(t, { newinstance: true, ptmxmode: 0o666, mode: 0o620 })',
      'const st = fs.statSync(`${t}/ptmx`); return { entries: fs.readdirSync(t), ptmx: [st.isCharacterDevice(), st.rdev, st.mode & 0o777] };',
    );
    expect(seen.mount).toMatchObject({ fsType: 'devpts', source: 'devpts' });
    expect(seen.mount!.options).toEqual(expect.arrayContaining(['nosuid', 'noexec']));
    expect(seen.mount!.superOptions).toEqual(expect.arrayContaining(['ptmxmode=666', 'mode=620']));
    expect(seen.entries).toEqual(['ptmx']);
    // ptmx is the char device 5:2 (makedev(5, 2) = 0x502), with the asked mode.
    expect(seen.ptmx).toEqual([true, 0x502, 0o666]);
  });

  usernsTest("mountMqueue: the mounter's ipc namespace's queues; creating a file there makes a queue", async () => {
    const seen = await inside(
      ['user', 'mnt', 'ipc'],
      'm.mountMqueue(t)',
      'const before = fs.readdirSync(t); fs.closeSync(fs.openSync(`${t}/q`, "wx")); return { before, q: fs.readFileSync(`${t}/q`, "utf8") };',
    );
    expect(seen.mount).toMatchObject({ fsType: 'mqueue', source: 'mqueue' });
    expect(seen.mount!.options).toEqual(expect.arrayContaining(['nosuid', 'nodev', 'noexec']));
    expect(seen.before).toEqual([]); // a new ipc namespace has no queues
    expect(seen.q).toMatch(/^QSIZE:0\s+NOTIFY:0\s+SIGNO:0\s+NOTIFY_PID:0\s*$/);
  });

  usernsTest('mountCgroup2: the unified hierarchy seen from a new cgroup namespace, its interface files present', async () => {
    const seen = await inside(
      ['user', 'mnt', 'cgroup'],
      'm.mountCgroup2(t)',
      'return { files: fs.readdirSync(t).filter((f) => f.startsWith("cgroup.")).sort(), procs: fs.readFileSync(`${t}/cgroup.procs`, "utf8").split("\\n").filter(Boolean).map(Number) };',
    );
    expect(seen.mount).toMatchObject({ fsType: 'cgroup2', source: 'cgroup2' });
    expect(seen.mount!.options).toEqual(expect.arrayContaining(['nosuid', 'nodev', 'noexec']));
    expect(seen.files).toEqual(expect.arrayContaining(['cgroup.controllers', 'cgroup.procs', 'cgroup.subtree_control']));
    // The child's own cgroup is the namespace's root: its pid (in our pid namespace) is listed.
    expect((seen.procs as number[]).length).toBeGreaterThan(0);
  });

  usernsTest('a mount that the kernel refuses is a SysError from mount(2) naming the target', async () => {
    // sysfs needs a network namespace owned by the mounter's user namespace: not the host's.
    const r = await output(
      spawn(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `
      const m = await import(${JSON.stringify(fsModule)});
      try { m.mountSysfs(${JSON.stringify(dir)}); } catch (e) { process.stdout.write(JSON.stringify({ name: e.name, code: e.code, syscall: e.syscall, dest: e.dest })); }`,
        ],
        { namespaces: ['user', 'mnt'] },
      ),
    );
    expect(JSON.parse(r.stdout)).toEqual({ name: 'SysError', code: 'EPERM', syscall: 'mount', dest: dir });
  });
});
