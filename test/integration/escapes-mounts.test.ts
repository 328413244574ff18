// Escape suite, mounts and paths (issue 8, reproductions 3, 9, 10; CVE-2021-30465, CVE-2024-21626,
// "shocker"): undo read-only binds and masks, reach the host through magic links, symlinks in an
// image and file handles. Every test looks on the HOST side (files, directories) or at what the
// host's own file would have shown, with a positive control that the attack's mechanics work.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, beforeAll, describe, expect } from 'vitest';
import { isRoot } from '../helpers/env.js';
import {
  box,
  cgroup2Mount,
  ensureBuilt,
  hostPython,
  makeRootfs,
  MODES,
  nsbox,
  onCleanup,
  py,
  PY_LIBC,
  ROOT_MODES,
  ROOTFS_MODES,
  runCleanup,
  tempDir,
  uniq,
  modeArgs,
} from '../helpers/escape.js';

beforeAll(ensureBuilt);
afterEach(runCleanup);

// The mount lock is tested alone: every capability, no seccomp filter (--privileged), so the
// kernel's MNT_LOCKED is what refuses. escapes-hardened.test.ts checks the defaults on top.
const LOCK_ONLY = ['--privileged'];

/** A host dir holding a file `secret` with a random canary; `rel` is its path relative to /. */
function canary() {
  const dir = tempDir('nsbox-esc-canary-');
  const secret = `canary-${uniq()}`;
  writeFileSync(join(dir, 'secret'), secret + '\n', { mode: 0o644 });
  return { dir, secret, rel: relative('/', join(dir, 'secret')) };
}

/** Adds a key to the box's own user keyring and prints PROBEKEY=<serial>: content for /proc/keys. */
const PROBE_KEY = `${PY_LIBC}
ADD_KEY = 217 if arm else 248
print('PROBEKEY=%d' % sc(ADD_KEY, b'user', b'nsbox-probe', b'x', 1, -4))`;

/** An fd of this process on the host's `/`, closed afterwards. */
function hostRootFd(): number {
  const fd = openSync('/', 'r');
  onCleanup(() => closeSync(fd));
  return fd;
}

describe.each(MODES)('escapes: mounts and paths ($name)', (mode) => {
  // 3. A :ro volume is a read-only bind made in the box's own user namespace: not locked.
  mode.test('3. --volume D:/ro:ro, remount it rw and write: nothing in D on the host', async () => {
    const rootfs = makeRootfs();
    const ro = tempDir('nsbox-esc-ro-', 0o777);
    const rw = tempDir('nsbox-esc-rw-', 0o777);
    const r = await box(mode, rootfs, 'echo x >/rw/f; mount -o remount,bind,rw /ro; echo x >/ro/f; echo WRITE=$?', {
      args: [...LOCK_ONLY, '--volume', `${ro}:/ro:ro`, '--volume', `${rw}:/rw`],
    });
    expect(existsSync(join(rw, 'f')), `positive control: a rw volume is written through\n${r.stderr}`).toBe(true);
    expect(existsSync(join(ro, 'f'))).toBe(false);
  });

  // 3. The masks over /proc/keys and /proc/timer_list are binds in the box's user namespace.
  mode.test('3. umount /proc/keys and /proc/timer_list: the masks stay (still mount points, both read empty)', async () => {
    const rootfs = makeRootfs();
    if (isRoot) expect(readFileSync('/proc/timer_list', 'utf8').length, "the host's timer_list has content").toBeGreaterThan(0);
    const r = await box(
      mode,
      rootfs,
      `${py(PROBE_KEY)}; umount /proc/keys; umount /proc/timer_list
       grep -q ' /proc/keys ' /proc/self/mountinfo && echo KEYS_MASKED; grep -q ' /proc/timer_list ' /proc/self/mountinfo && echo TL_MASKED
       echo KEYS=$(cat /proc/keys | wc -c) TL=$(cat /proc/timer_list | wc -c)`,
      { python: true, args: LOCK_ONLY },
    );
    expect(r.stdout, 'positive control: a key exists for /proc/keys to show').toMatch(/^PROBEKEY=[1-9]/m);
    expect({ masked: r.stdout.match(/\w+_MASKED/g), sizes: r.stdout.match(/^KEYS=.*$/m)?.[0] }).toEqual({
      masked: ['KEYS_MASKED', 'TL_MASKED'],
      sizes: 'KEYS=0 TL=0',
    });
  });

  // 3. A fresh procfs, mounted from a nested namespace, must not show what the masks hide.
  mode.test('3. a fresh procfs in a nested pid+mount namespace fails to mount, or shows no key and no timer_list', async () => {
    const rootfs = makeRootfs();
    const d = `/tmp/p-${uniq()}`;
    const peek = (n: number, p: string) =>
      `echo MOUNTED${n}; echo "SEEN${n}=$(grep -c nsbox-probe ${p}/keys) $(cat ${p}/timer_list | wc -c)"`;
    const r = await box(
      mode,
      rootfs,
      `${py(PROBE_KEY)}; mkdir -p ${d}
       unshare -p -f -m sh -c '${`mount -t proc proc ${d} && { ${peek(1, d)}; }`}'
       unshare -U -r -p -f -m sh -c '${`mount -t proc proc ${d} && { ${peek(2, d)}; }`}'
       echo DONE`,
      { python: true, args: LOCK_ONLY },
    );
    expect(r.stdout).toMatch(/^PROBEKEY=[1-9]/m); // a key for a fresh /proc/keys to show
    expect(r.stdout).toContain('DONE');
    // Each mount that succeeded shows nothing: no key lines, an empty timer_list.
    const seen = [...r.stdout.matchAll(/^SEEN(\d)=(.*)$/gm)].map((m) => `${m[1]}: ${m[2]}`);
    expect(seen.filter((s) => !s.endsWith(': 0 0'))).toEqual([]);
  });

  // 9 (CVE-2024-21626). An fd of nsbox's own process on the host's / as the cwd.
  mode.test('9. --cwd /proc/self/fd/7 with fd 7 on the host /: no host file is reachable from the cwd', async () => {
    const rootfs = makeRootfs();
    const c = canary();
    const fd = hostRootFd();
    // Positive control: the fd handed to nsbox as its fd 7 is the host's /, the canary under it.
    expect(readFileSync(`/proc/self/fd/${fd}/${c.rel}`, 'utf8')).toContain(c.secret);
    const r = await nsbox(['run', ...modeArgs(mode, rootfs), '--cwd', '/proc/self/fd/7', '--', 'sh', '-c', `cat ${c.rel}; ls`], {
      fds: { 7: fd },
    });
    expect(r.stdout).not.toContain(c.secret);
    // Nor is the cwd the host's / (its entries that no box root has).
    const boxNames = ['bin', 'dev', 'etc', 'lib', 'lib64', 'mnt', 'proc', 'root', 'sbin', 'sys', 'tmp', 'usr'];
    const hostOnly = readdirSync('/').filter((e) => !boxNames.includes(e));
    expect(hostOnly.length).toBeGreaterThan(0);
    expect(r.stdout.split('\n').filter((e) => hostOnly.includes(e))).toEqual([]);
  });

  // "shocker": open_by_handle_at needs CAP_DAC_READ_SEARCH in the initial user namespace.
  mode.test(
    'shocker: open_by_handle_at(/usr, {inode 2}) fails (EPERM, or ESTALE outside the mount), the host / is not listed',
    async () => {
      const rootfs = makeRootfs();
      const code = `${PY_LIBC}
class FH(ctypes.Structure):
    _fields_ = [('handle_bytes', ctypes.c_uint), ('handle_type', ctypes.c_int), ('f_handle', ctypes.c_ubyte * 8)]
fh = FH(8, 1, (ctypes.c_ubyte * 8)(2, 0, 0, 0, 0, 0, 0, 0))
mfd = os.open('/usr', os.O_RDONLY)
fd = libc.open_by_handle_at(mfd, ctypes.byref(fh), os.O_RDONLY | os.O_DIRECTORY)
if fd < 0: print('ERR', errno.errorcode[ctypes.get_errno()])
else: print('OPENED', ' '.join(sorted(os.listdir(fd))))`;
      if (isRoot) expect(hostPython(code), 'positive control: the handle opens the host / on the host').toMatch(/^OPENED .*\busr\b/);
      const r = await box(mode, rootfs, py(code), { python: true });
      // EPERM without CAP_DAC_READ_SEARCH; since Linux 6.10 a box root holding it in its own user
      // namespace gets ESTALE instead: a handle outside the mount's subtree is refused.
      expect(r.stdout).toMatch(/^ERR E(PERM|ACCES|STALE)/);
      expect(r.stdout).not.toContain('OPENED');
    },
  );
});

describe.each(ROOTFS_MODES)('escapes: an image turned against its own setup ($name)', (mode) => {
  // 3. --read-only: the root is a read-only bind, in the box's user namespace.
  mode.test('3. --rootfs R --read-only, remount / rw and write: nothing new in R on the host', async () => {
    const rootfs = makeRootfs();
    const name = `nsbox-pwn-${uniq()}`;
    const r = await box(
      mode,
      rootfs,
      `echo x >/${name}-before; echo BEFORE=$?; mount -o remount,bind,rw /; echo x >/${name}; echo WRITE=$?`,
      {
        args: [...LOCK_ONLY, '--read-only'],
      },
    );
    expect(r.stdout).toMatch(/^BEFORE=[1-9]/m); // positive control: it is read-only to begin with
    expect(existsSync(join(rootfs, `${name}-before`))).toBe(false);
    expect(existsSync(join(rootfs, name))).toBe(false);
  });

  // 10. proc -> /oldroot/<R>/evil, evil/sys -> /oldroot/<target>: the read-only-paths step binds the target.
  const targets = [
    { what: 'the host /etc', target: () => ({ dir: '/etc', entry: 'passwd' }) },
    { what: 'a host dir of the caller', target: () => ({ dir: canary().dir, entry: 'secret' }) },
  ];
  for (const { what, target } of targets)
    mode.test(`10. an image whose /proc is a symlink, evil/sys -> ${what}: not visible at /proc/sys, not written`, async () => {
      const { dir, entry } = target();
      const rootfs = makeRootfs();
      rmdirSync(join(rootfs, 'proc'));
      for (const d of ['bus', 'fs', 'irq']) mkdirSync(join(rootfs, 'evil', d), { recursive: true });
      symlinkSync(`/oldroot${rootfs}/evil`, join(rootfs, 'proc'));
      symlinkSync(`/oldroot${dir}`, join(rootfs, 'evil', 'sys'));
      // Resolved in the new root, the same symlink leads here: where /proc is mounted inside.
      const inner = join(rootfs, 'oldroot', rootfs, 'evil');
      mkdirSync(inner, { recursive: true });
      const name = `nsbox-pwn-${uniq()}`;
      onCleanup(() => rmSync(join(dir, name), { force: true }));
      // busybox's remount looks the mount point up in /proc/mounts by its canonical path.
      const r = await box(
        mode,
        rootfs,
        `echo LS=$(ls /proc/sys | tr '\\n' ' '); mount -o remount,bind,rw /oldroot${rootfs}/evil/sys; echo x >/proc/sys/${name}; echo WRITE=$?`,
        { args: LOCK_ONLY },
      );
      const ls = r.stdout.match(/^LS=(.*)$/m)?.[1]?.split(' ') ?? [];
      expect({ written: existsSync(join(dir, name)), visible: ls.includes(entry) }).toEqual({ written: false, visible: false });
    });

  // CVE-2021-30465: a volume's target is a symlink in the image that points out of it.
  const links = [
    { form: 'absolute /oldroot/...', link: (host: string) => `/oldroot${host}` },
    { form: 'relative ../../..', link: (host: string) => `${'../'.repeat(12)}${host.slice(1)}` },
  ];
  for (const { form, link } of links)
    mode.test(`CVE-2021-30465: --volume SRC:/link, link -> ${form} host dir: nothing made on the host, the bind stays in R`, async () => {
      const rootfs = makeRootfs();
      const host = tempDir('nsbox-esc-target-');
      const made = join(host, 'made');
      const src = canary();
      symlinkSync(link(made), join(rootfs, 'link'));
      const r = await box(mode, rootfs, `cat /link/secret; echo RAN`, { args: ['--volume', `${src.dir}:/link`] });
      expect(existsSync(made), `the mount point was made on the host\n${r.stderr}`).toBe(false);
      // Either nsbox refused the image, or the volume is where the image says, inside R.
      if (r.code !== 125) expect(r.stdout).toContain(src.secret);
    });
});

describe.each(ROOT_MODES)('escapes: nsbox-internal fds as the cwd ($name)', (mode) => {
  // 9. --cgroup-parent opens a cgroup directory fd for CLONE_INTO_CGROUP; --cwd /proc/self/fd/N.
  mode.test('9. --cgroup-parent CG --cwd /proc/self/fd/N (N = 3..30): the host / is never reached', async () => {
    const rootfs = makeRootfs();
    const cg2 = cgroup2Mount();
    expect(cg2).toBeDefined();
    const cg = join(cg2!, `nsbox-escape-${uniq()}`);
    mkdirSync(cg);
    onCleanup(() => {
      for (const e of readdirSync(cg, { withFileTypes: true })) if (e.isDirectory()) rmdirSync(join(cg, e.name));
      rmdirSync(cg);
    });
    const c = canary();
    const up = '../'.repeat(10);
    const leaks: string[] = [];
    const fds = Array.from({ length: 28 }, (_, i) => i + 3);
    for (let i = 0; i < fds.length; i += 7) {
      const batch = fds.slice(i, i + 7);
      const rs = await Promise.all(
        batch.map((n) =>
          nsbox(['run', ...modeArgs(mode, rootfs), '--cgroup-parent', cg, '--cwd', `/proc/self/fd/${n}`, '--', 'cat', `${up}${c.rel}`]),
        ),
      );
      rs.forEach((r, j) => r.stdout.includes(c.secret) && leaks.push(`fd ${batch[j]}: ${r.stdout.trim()}`));
    }
    expect(leaks).toEqual([]);
  });
});
