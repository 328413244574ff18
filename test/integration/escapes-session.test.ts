// Escape suite, the caller's session (issue 8, reproductions 7 and 8; CVE-2017-5226): keys in
// the host's keyrings and the caller's terminal. The host side adds the keys and drives the
// terminal; the box must read no key and inject no input.
import { execFileSync } from 'node:child_process';
import { afterEach, beforeAll, describe, expect } from 'vitest';
import {
  box,
  cli,
  ensureBuilt,
  hostPython,
  makeRootfs,
  modeArgs,
  MODES,
  onCleanup,
  py,
  PY_LIBC,
  ROOT_MODES,
  runCleanup,
  uniq,
} from '../helpers/escape.js';

beforeAll(ensureBuilt);
afterEach(runCleanup);

const PY_KEYS = `${PY_LIBC}
ADD_KEY, KEYCTL = (217, 219) if arm else (248, 250)
GET_KEYRING_ID, SETPERM, SEARCH, READ, INVALIDATE = 0, 5, 10, 11, 21
USER, SESSION = -4, -3
def read_key(kid):
    buf = ctypes.create_string_buffer(4096)
    n = sc(KEYCTL, READ, kid, buf, 4096)
    return buf.raw[:n].decode(errors='replace') if n >= 0 else ename(n)
`;

/** Adds a "user" key on the host, with `perm` if given; invalidated afterwards. Returns its serial. */
function addHostKey(keyring: 'user' | 'session', desc: string, secret: string, perm?: number): number {
  const out = hostPython(
    `${PY_KEYS}
kid = sc(ADD_KEY, b'user', sys.argv[1].encode(), sys.argv[2].encode(), len(sys.argv[2]), ${keyring === 'user' ? 'USER' : 'SESSION'})
if kid < 0: sys.exit('add_key: ' + ename(kid))
if ${perm ?? -1} >= 0 and sc(KEYCTL, SETPERM, kid, ${perm ?? 0}) < 0: sys.exit('setperm failed')
print(kid)`,
    [desc, secret],
  );
  const id = Number(out.trim());
  onCleanup(() => hostPython(`${PY_KEYS}\nsc(KEYCTL, INVALIDATE, int(sys.argv[1]))`, [String(id)]));
  return id;
}

/** What the box finds: KEYCTL_READ of each serial, KEYCTL_SEARCH by description, /proc/keys after umount. */
const attackKeys = (desc: string, ids: Array<number | string>) =>
  `umount /proc/keys 2>/dev/null; ${py(`${PY_KEYS}
print('SESSION=%d' % sc(KEYCTL, GET_KEYRING_ID, SESSION, 0))
for kid in [${ids.join(', ')}]: print('READ', kid, read_key(kid))
for ring in (USER, SESSION):
    kid = sc(KEYCTL, SEARCH, ring, b'user', b'${desc}', 0)
    print('SEARCH', ring, ename(kid), read_key(kid) if kid > 0 else '')
try:
    print('PROCKEYS', [l for l in open('/proc/keys') if '${desc}' in l])
except OSError as e:
    print('PROCKEYS', e.strerror)`)}`;

describe.each(ROOT_MODES)('escapes: keys of host root ($name)', (mode) => {
  // 7. The box's root is host root to the key permission check.
  mode.test("7. a key in host root's user keyring (user-readable) is neither found nor read inside", async () => {
    const desc = `nsbox-escape-${uniq()}`;
    const secret = `secret-${uniq()}`;
    const id = addHostKey('user', desc, secret, 0x3f3f0000); // possessor and user: all
    // Positive control: another host root process reads it by serial.
    expect(hostPython(`${PY_KEYS}\nprint(read_key(${id}))`)).toContain(secret);
    const r = await box(mode, makeRootfs(), attackKeys(desc, [id]), { python: true });
    expect(r.stdout).toMatch(/^READ /m); // the attempt ran
    expect(r.stdout).not.toContain(secret);
    expect(r.stdout).not.toMatch(/PROCKEYS \[.*nsbox-escape/);
  });
});

describe.each(MODES)("escapes: the caller's session ($name)", (mode) => {
  // 7. A session keyring is inherited across fork and exec: the box needs a new one.
  mode.test("7. the box has a session keyring of its own; a key in the caller's session keyring is not read", () => {
    const desc = `nsbox-escape-${uniq()}`;
    const secret = `secret-${uniq()}`;
    // The caller: a process with a session keyring of its own (as a login session has), a key in
    // it, and nsbox as its child. '@KID@' in nsbox's arguments becomes the key's serial.
    const caller = `${PY_KEYS}
import subprocess
if sc(KEYCTL, 1, 0) < 0: sys.exit('join_session_keyring failed')
kid = sc(ADD_KEY, b'user', sys.argv[1].encode(), sys.argv[2].encode(), len(sys.argv[2]), SESSION)
print('HOSTSESSION=%d' % sc(KEYCTL, GET_KEYRING_ID, SESSION, 0), flush=True)
ctl = subprocess.run([sys.executable, '-c', sys.argv[3], str(kid)], capture_output=True, text=True)
print('CONTROL=' + ctl.stdout.strip(), flush=True)
subprocess.run([a.replace('@KID@', str(kid)) for a in sys.argv[4:]])
sc(KEYCTL, INVALIDATE, kid)`;
    const control = `${PY_KEYS}\nprint(read_key(int(sys.argv[1])))`;
    const rootfs = makeRootfs();
    const args = [process.execPath, cli, 'run', ...modeArgs(mode, rootfs, true), '--', 'sh', '-c', attackKeys(desc, ['@KID@'])];
    const out = execFileSync('python3', ['-c', caller, desc, secret, control, ...args], { encoding: 'utf8', timeout: 20_000 });
    // Positive control: the caller's children possess the key through the session keyring.
    expect(out).toContain(`CONTROL=${secret}`);
    const hostSession = out.match(/^HOSTSESSION=(-?\d+)$/m)?.[1];
    const inside = out.match(/^SESSION=(-?\d+)$/m)?.[1];
    expect(inside, out).toBeDefined();
    expect({ sameSessionKeyring: inside === hostSession, readSecret: out.split(/^CONTROL=.*$/m)[1]!.includes(secret) }).toEqual({
      sameSessionKeyring: false,
      readSecret: false,
    });
  });

  // 8 (CVE-2017-5226). TIOCSTI pushes input into the terminal that the caller reads next.
  mode.test('8. TIOCSTI on the terminal fails inside; the caller reads no injected input', () => {
    const token = `injected${uniq()}`;
    const inject = `import fcntl, termios, sys, errno
try:
    for ch in (sys.argv[1] + '\\n').encode(): fcntl.ioctl(0, termios.TIOCSTI, bytes([ch]))
    print('IOCTL=OK')
except OSError as e:
    print('IOCTL=' + errno.errorcode[e.errno])`;
    // The caller: a program on a pty (its controlling terminal) that runs `cmd`, then reads what
    // the terminal has for it within a second.
    const driver = `import os, pty, select, subprocess, sys
cmd = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    rc = subprocess.call(cmd)
    print('RC=%d' % rc, flush=True)
    r, _, _ = select.select([0], [], [], 1.0)
    print('GOT[%s]' % (os.read(0, 1000).decode(errors='replace').strip() if r else ''), flush=True)
    os._exit(0)
out = b''
while True:
    try: d = os.read(fd, 4096)
    except OSError: break
    if not d: break
    out += d
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace'))`;
    const run = (cmd: string[]) => execFileSync('python3', ['-c', driver, ...cmd], { encoding: 'utf8', timeout: 20_000 });
    // Positive control: run directly from the terminal, the injection works.
    expect(run(['python3', '-c', inject, token])).toMatch(new RegExp(`GOT\\[${token}\\]`));
    const rootfs = makeRootfs();
    const out = run([process.execPath, cli, 'run', ...modeArgs(mode, rootfs, true), '--', '/usr/bin/python3', '-c', inject, token]);
    expect(out).toMatch(/RC=\d+/);
    expect(out).not.toMatch(new RegExp(`GOT\\[${token}\\]`));
    expect(out).toMatch(/IOCTL=E[A-Z]+/);
  });
});
