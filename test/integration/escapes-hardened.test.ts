// Escape suite against the secure defaults of issue 9: what the escapes issue listed as
// "exposed" — every capability in the user namespace, perf_event_open, nested user
// namespaces, io_uring, userfaultfd, keyctl, bpf, mounting cgroup v1 or a fresh procfs — is
// refused under `nsbox run`'s defaults (Docker's capabilities, no_new_privs, the default
// seccomp profile), in every mode. The same attempts under --privileged show the probes can
// tell (they succeed there where the kernel allows it).
import { afterEach, beforeAll, describe, expect } from 'vitest';
import { capabilityNumber, DEFAULT_CAPABILITIES } from '../../src/security/index.js';
import { box, ensureBuilt, makeRootfs, MODES, py, PY_LIBC, runCleanup } from '../helpers/escape.js';

beforeAll(ensureBuilt);
afterEach(runCleanup);

const PROBES = `${PY_LIBC}
x86 = not arm
NR = dict(perf_event_open=298 if x86 else 241, userfaultfd=323 if x86 else 282, io_uring_setup=425, keyctl=250 if x86 else 219,
          bpf=321 if x86 else 280, unshare=272 if x86 else 97, mount=165 if x86 else 40, fsopen=430, open_tree=428, setns=308 if x86 else 268,
          clone3=435, socket=41 if x86 else 198)
attr = ctypes.create_string_buffer(128)
ctypes.memmove(attr, (ctypes.c_uint32 * 2)(1, 128), 8)  # PERF_TYPE_SOFTWARE, size
print('perf_event_open', ename(sc(NR['perf_event_open'], attr, 0, -1, -1, 0)))
print('userfaultfd', ename(sc(NR['userfaultfd'], 0)))
params = ctypes.create_string_buffer(120)
print('io_uring_setup', ename(sc(NR['io_uring_setup'], 1, params)))
print('keyctl', ename(sc(NR['keyctl'], 0, -3, 0)))
print('bpf', ename(sc(NR['bpf'], 0, ctypes.create_string_buffer(72), 72)))
print('unshare_user', ename(sc(NR['unshare'], 0x10000000)))
print('unshare_mnt', ename(sc(NR['unshare'], 0x00020000)))
os.makedirs('/tmp/m', exist_ok=True)
print('mount_cgroup_v1', ename(sc(NR['mount'], b'cgroup', b'/tmp/m', b'cgroup', 0, b'cpu')))
print('mount_proc', ename(sc(NR['mount'], b'proc', b'/tmp/m', b'proc', 0, 0)))
print('fsopen', ename(sc(NR['fsopen'], b'proc', 0)))
# socket(2) reads ints: junk in the high 32 bits must not get AF_VSOCK (40) or AF_ALG (38) past the filter.
print('socket_vsock_hi', ename(sc(NR['socket'], (1 << 32) | 40, 1, 0)))
print('socket_alg_hi', ename(sc(NR['socket'], (1 << 32) | 38, 5, 0)))
args = ctypes.create_string_buffer(88)
print('clone3', ename(sc(NR['clone3'], args, 8)))  # a size the kernel refuses (EINVAL): never a real fork
st = open('/proc/self/status').read()
for k in ('CapEff', 'CapBnd', 'CapInh', 'CapAmb', 'NoNewPrivs', 'Seccomp', 'Seccomp_filters'):
    print(k, [l.split()[1] for l in st.splitlines() if l.startswith(k + ':')][0])
`;

function parse(out: string): Record<string, string> {
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => l.split(' ', 2) as [string, string]),
  );
}

const REFUSED = [
  'perf_event_open',
  'userfaultfd',
  'io_uring_setup',
  'keyctl',
  'bpf',
  'unshare_user',
  'unshare_mnt',
  'mount_cgroup_v1',
  'mount_proc',
  'fsopen',
];
const docker = DEFAULT_CAPABILITIES.reduce((m, n) => m | (1n << BigInt(capabilityNumber(n, 'n'))), 0n)
  .toString(16)
  .padStart(16, '0');

describe.each(MODES)('escapes under the secure defaults ($name)', (mode) => {
  mode.test('the exposed attempts of the escapes issue are refused', async () => {
    const r = await box(mode, makeRootfs(), py(PROBES), { python: true });
    expect(r.stderr).toBe('');
    const got = parse(r.stdout);
    for (const k of REFUSED) expect(got[k], k).toMatch(/^E[A-Z]+$/);
    // glibc falls back to clone(2) on ENOSYS: clone3 is ENOSYS, not EPERM (runc's lesson).
    expect(got.clone3).toBe('ENOSYS');
    expect(got.socket_vsock_hi).toBe('EAFNOSUPPORT');
    expect(got.socket_alg_hi).toBe('EAFNOSUPPORT');
    expect(got.CapEff).toBe(docker);
    expect(got.CapBnd).toBe(docker);
    expect(got.CapInh).toBe('0000000000000000');
    expect(got.CapAmb).toBe('0000000000000000');
    expect(got.NoNewPrivs).toBe('1');
    expect(got.Seccomp).toBe('2');
    expect(got.Seccomp_filters).toBe('1'); // the default profile, which also refuses TIOCSTI
  });

  mode.test('--privileged lifts them (the probes can tell)', async () => {
    const r = await box(mode, makeRootfs(), py(PROBES), { python: true, args: ['--privileged'] });
    const got = parse(r.stdout);
    expect(r.stderr).toBe('');
    expect(got.Seccomp_filters).toBe('1'); // only the TIOCSTI filter, which every sandbox keeps
    expect(got.NoNewPrivs).toBe('0');
    expect(got.unshare_user).toBe('OK');
    expect(got.userfaultfd === 'OK' || got.userfaultfd === 'EPERM').toBe(true); // vm.unprivileged_userfaultfd decides
    expect(got.keyctl).toMatch(/^(OK|\d+)$/);
  });
});
