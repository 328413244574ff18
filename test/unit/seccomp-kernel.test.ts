// The kernel as the witness, without nsbox's addon: a python3 child (ctypes only) loads the
// compiled default profile with prctl(PR_SET_NO_NEW_PRIVS) + seccomp(SECCOMP_SET_MODE_FILTER)
// and reports what a few calls return. The kernel must accept the program (its own
// validator) and the calls must fail as the profile says. Loading filters in nsbox's own
// children is the spawn plan's test; this one checks the bytes.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { compileSeccomp, defaultSeccompProfile } from '../../src/security/seccomp/index.js';

const PYTHON = '/usr/bin/python3';
const skip =
  process.arch !== 'x64' ? `x86_64 syscall numbers below; this is ${process.arch}` : !existsSync(PYTHON) ? `${PYTHON} missing` : undefined;
if (skip) console.log(`seccomp kernel check skipped: ${skip}`);

const SCRIPT = String.raw`
import ctypes, json, sys, os
libc = ctypes.CDLL(None, use_errno=True)
prog = open(sys.argv[1], 'rb').read()
flags = int(sys.argv[2])
class SockFprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]
buf = ctypes.create_string_buffer(prog, len(prog))
fprog = SockFprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
if libc.prctl(38, 1, 0, 0, 0) != 0: sys.exit('PR_SET_NO_NEW_PRIVS: %d' % ctypes.get_errno())
if libc.syscall(317, 1, flags, ctypes.byref(fprog)) != 0: sys.exit('seccomp: %s' % os.strerror(ctypes.get_errno()))
def call(nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return 0 if r >= 0 else ctypes.get_errno()
out = {
  'getpid': call(39),
  'keyctl': call(250, 0, 0, 0, 0, 0),
  'unshare_user': call(272, 0x10000000),
  'mount': call(165, 0, 0, 0, 0, 0),
  'clone3': call(435, 0, 0),
  'listns': call(470, 0, 0, 0, 0),
  'nr_1000': call(1000),
  'socket_alg': call(41, 38, 5, 0),
  'socket_vsock': call(41, 40, 1, 0),
  'ioctl_tiocsti': call(16, 0, 0x5412, 0),
  'ioctl_tiocsti_high': call(16, 0, 0x700005412, 0),
  'personality_query': call(135, 0xffffffff),
  'personality_norandom': call(135, 0x40000),
  'bpf': call(321, 0, 0, 0),
  'io_uring_setup': call(425, 1, 0),
  'ptrace': call(101, 0, 0, 0, 0),
}
print(json.dumps(out))
`;

describe.skipIf(skip)('the kernel loads the default profile', () => {
  test('accepted, and each call fails as the profile says', () => {
    const c = compileSeccomp(defaultSeccompProfile, { arch: 'x64' });
    const dir = mkdtempSync(join(tmpdir(), 'nsbox-seccomp-'));
    try {
      writeFileSync(join(dir, 'prog.bpf'), c.program);
      writeFileSync(join(dir, 'load.py'), SCRIPT);
      const out = JSON.parse(
        execFileSync(PYTHON, [join(dir, 'load.py'), join(dir, 'prog.bpf'), String(c.flags)], { encoding: 'utf8' }),
      ) as Record<string, number>;
      expect(out).toEqual({
        getpid: 0,
        keyctl: 1,
        unshare_user: 1,
        mount: 1,
        bpf: 1,
        io_uring_setup: 1,
        ptrace: 1,
        clone3: 38,
        listns: 38,
        nr_1000: 38,
        socket_alg: 97,
        socket_vsock: 97,
        ioctl_tiocsti: 1,
        ioctl_tiocsti_high: 1,
        personality_query: 0,
        personality_norandom: 1,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
