// Capabilities, no_new_privs, rlimits, oom_score_adj, umask, personality and sysctl, on the
// real kernel. Witnesses: /proc/PID/status (Cap*, NoNewPrivs), /proc/PID/limits, `ulimit`,
// `umask`, `uname -m`, /proc/sys read from inside, capsh --decode when installed.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { spawn } from '../../src/namespaces/index.js';
import { capabilities, capabilityNames, capabilityNumber, DEFAULT_CAPABILITIES, lastCap } from '../../src/security/index.js';
import { canUserns, isRoot, testIf } from '../helpers/env.js';
import { fdCount, childPids } from '../helpers/proc.js';
import { output } from '../helpers/proc.js';

const userns = testIf(canUserns, 'user namespaces are not available to this user');
const rootOnly = testIf(isRoot, 'needs root');
/** capsh (libcap2-bin) lives in /sbin, outside an unprivileged user's PATH. */
const CAPSH = ['/usr/sbin/capsh', '/sbin/capsh'].find((p) => existsSync(p)) ?? 'capsh';
const hasCapsh = (() => {
  try {
    execFileSync(CAPSH, ['--help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Cap* and NoNewPrivs lines of the command's own /proc/self/status. */
async function status(opts: Parameters<typeof spawn>[2]): Promise<Record<string, string>> {
  const r = await output(spawn('sh', ['-c', 'cat /proc/self/status'], opts));
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return Object.fromEntries(
    r.stdout
      .split('\n')
      .filter((l) => l.includes(':'))
      .map((l) => l.split(/:\s*/, 2) as [string, string]),
  );
}

const mask = (names: readonly string[]) => names.reduce((m, n) => m | (1n << BigInt(capabilityNumber(n, 'n'))), 0n);
const hex = (m: bigint) => m.toString(16).padStart(16, '0');

describe('capability names', () => {
  it('reads the last capability from the running kernel', () => {
    expect(lastCap()).toBe(Number(execFileSync('cat', ['/proc/sys/kernel/cap_last_cap'], { encoding: 'utf8' })));
  });
  it('takes kernel names, and loose names where asked', () => {
    expect(capabilityNumber('CAP_NET_ADMIN', 'x')).toBe(12);
    expect(capabilityNumber('net_admin', 'x', true)).toBe(12);
    expect(() => capabilityNumber('net_admin', 'x')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => capabilityNumber('CAP_NOPE', 'x')).toThrow(/not a capability name/);
    expect(() => capabilityNumber(`CAP_${lastCap() + 1}`, 'x')).toThrow(/not known to this kernel/);
    // CAP_<number>: a capability newer than the headers, any number of digits; nothing else.
    expect(capabilityNumber(`CAP_${lastCap()}`, 'x')).toBe(lastCap());
    expect(capabilityNumber('CAP_0012', 'x')).toBe(12);
    expect(capabilityNumber('cap_12', 'x', true)).toBe(12);
    expect(capabilityNumber('12', 'x', true)).toBe(12);
    expect(() => capabilityNumber('CAP_00000000000000000099', 'x')).toThrow(/not known to this kernel/);
    for (const bad of ['CAP_', 'CAP_1x', 'CAP_-1', 'CAP_ 1', 'CAP_1.0', 'cap_12'])
      expect(() => capabilityNumber(bad, 'x'), bad).toThrow(/not a capability name/);
  });
  it('decodes /proc/PID/status as capsh --decode does', () => {
    const own = capabilities();
    const text = execFileSync('cat', ['/proc/self/status'], { encoding: 'utf8' });
    const bnd = /CapBnd:\s*([0-9a-f]+)/.exec(text)![1]!;
    expect(own.bounding).toEqual(capabilityNames(BigInt(`0x${bnd}`)));
    if (hasCapsh) {
      const decoded = execFileSync(CAPSH, [`--decode=${bnd}`], { encoding: 'utf8' })
        .trim()
        .split('=')[1]!
        .split(',');
      expect(own.bounding.map((n) => n.toLowerCase())).toEqual(decoded.map((n) => (/^\d+$/.test(n) ? `cap_${n}` : n)));
    }
  });
});

describe('capabilities in the child', () => {
  userns('every set as asked, inheritable empty', async () => {
    const want = mask(DEFAULT_CAPABILITIES);
    const s = await status({
      namespaces: ['user'],
      capabilities: { bounding: [...DEFAULT_CAPABILITIES], effective: [...DEFAULT_CAPABILITIES], permitted: [...DEFAULT_CAPABILITIES] },
    });
    expect(s.CapBnd).toBe(hex(want));
    expect(s.CapEff).toBe(hex(want));
    expect(s.CapPrm).toBe(hex(want));
    expect(s.CapInh).toBe(hex(0n));
    expect(s.CapAmb).toBe(hex(0n));
  });

  userns('after setuid to a non-root user, only the ambient set survives execve', async () => {
    const caps = ['CAP_NET_BIND_SERVICE', 'CAP_KILL'];
    const s = await status({
      namespaces: ['user'],
      uidMap: [{ inside: 1000, outside: process.geteuid!(), count: 1 }],
      gidMap: [{ inside: 1000, outside: process.getegid!(), count: 1 }],
      // The default map makes us 0 inside; here our only id is 1000, which we already are.
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps },
    });
    expect(s.Uid!.split('\t')[0]).toBe('1000');
    expect(s.CapAmb).toBe(hex(mask(caps)));
    expect(s.CapEff).toBe(hex(mask(caps)));
    expect(s.CapPrm).toBe(hex(mask(caps)));
    expect(s.CapBnd).toBe(hex(mask(caps)));
  });

  rootOnly('root switching to uid 1000 keeps the asked sets through KEEPCAPS and ambient', async () => {
    const caps = ['CAP_NET_RAW'];
    const s = await status({
      uid: 1000,
      gid: 1000,
      groups: [],
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps },
    });
    expect(s.Uid!.split('\t')).toEqual(['1000', '1000', '1000', '1000']);
    expect(s.CapEff).toBe(hex(mask(caps)));
    expect(s.CapAmb).toBe(hex(mask(caps)));
  });

  userns('an empty object drops everything', async () => {
    const s = await status({ namespaces: ['user'], capabilities: {} });
    for (const k of ['CapBnd', 'CapEff', 'CapPrm', 'CapInh', 'CapAmb']) expect(s[k]).toBe(hex(0n));
  });

  userns('a dropped capability is refused for real (CAP_DAC_OVERRIDE on a mode-000 file)', async () => {
    const script = 'f=$(mktemp); echo secret >"$f"; chmod 000 "$f"; cat "$f" 2>/dev/null || echo denied; rm -f "$f"';
    const kept = await output(
      spawn('sh', ['-c', script], {
        namespaces: ['user'],
        capabilities: { bounding: ['CAP_DAC_OVERRIDE'], effective: ['CAP_DAC_OVERRIDE'], permitted: ['CAP_DAC_OVERRIDE'] },
      }),
    );
    const dropped = await output(spawn('sh', ['-c', script], { namespaces: ['user'], capabilities: {} }));
    expect(kept.stdout.trim()).toBe('secret');
    expect(dropped.stdout.trim()).toBe('denied');
  });

  it('bad sets are refused before any syscall, nothing leaks', () => {
    const fds = fdCount();
    const kids = childPids().length;
    expect(() => spawn('true', { capabilities: { effective: ['CAP_KILL'] } })).toThrow(/effective.*subset of permitted/);
    expect(() => spawn('true', { capabilities: { permitted: ['CAP_KILL'], ambient: ['CAP_KILL'] } })).toThrow(
      /ambient.*permitted and inheritable/,
    );
    expect(() => spawn('true', { capabilities: { bounding: ['CAP_WHAT'] } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => spawn('true', { capabilities: { extra: [] } as never })).toThrow(/not a capability set/);
    expect(() => spawn('true', { capabilities: ['CAP_KILL'] as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(fdCount()).toBe(fds);
    expect(childPids().length).toBe(kids);
  });
});

describe('no_new_privs', () => {
  it('is set when asked, and stays off otherwise', async () => {
    expect((await status({ noNewPrivileges: true })).NoNewPrivs).toBe('1');
    expect((await status({})).NoNewPrivs).toBe('0');
  });
});

describe('filters without no_new_privs (loaded before the capability steps)', () => {
  // Refuses only what nsbox's own setup calls after the capability steps would: close_range(2)
  // (closing every other fd) and openat2(2) (a container's cwd), as runtime-tools' default
  // profile (Docker's of 2016) does. runc and crun place stdio and the cwd before this filter.
  const profile = {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['close_range', 'openat2'], action: 'SCMP_ACT_ERRNO' }],
  } as const;
  const script = 'pwd; ls /proc/self/fd | tr "\\n" " "; echo; grep -E "^(Seccomp|NoNewPrivs|CapEff):" /proc/self/status';

  userns('stdio, the other fds closed and the cwd come first; the filter is in place at execve, capabilities dropped', async () => {
    const r = await output(
      spawn('sh', ['-c', script], {
        namespaces: ['user', 'mnt', 'pid'],
        rootfs: 'host',
        cwd: '/tmp',
        seccomp: profile,
        capabilities: {},
      }),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [cwd, fds, ...rest] = r.stdout.trim().split('\n');
    expect(cwd).toBe('/tmp');
    // 0-2 and the directory ls reads: no fd of the setup survives.
    expect(fds!.trim()).toBe('0 1 2 3');
    const st = Object.fromEntries(rest.map((l) => l.split(/:\s*/, 2) as [string, string]));
    expect(st).toEqual({ Seccomp: '2', NoNewPrivs: '0', CapEff: hex(0n) });
  });

  userns('a command refused by the filter is still refused (the filter precedes execve)', async () => {
    const r = await output(
      spawn('sh', ['-c', 'exec 2>&1; cd /tmp && echo ok'], {
        namespaces: ['user'],
        seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['chdir'], action: 'SCMP_ACT_ERRNO' }] },
      }),
    );
    expect(r.stdout).not.toContain('ok');
    expect(r.code).not.toBe(0);
  });
});

describe('rlimits and oom_score_adj (set by the parent)', () => {
  it('applies each limit, in any name form', async () => {
    const r = await output(
      spawn('sh', ['-c', 'ulimit -Sn; ulimit -Hn; ulimit -Sc; cat /proc/self/limits'], {
        rlimits: [
          { type: 'RLIMIT_NOFILE', soft: 123, hard: 456 },
          { type: 'core', soft: 0, hard: 'unlimited' },
        ],
      }),
    );
    const [soft, hard, core] = r.stdout.split('\n');
    expect([soft, hard, core]).toEqual(['123', '456', '0']);
    expect(r.stdout).toMatch(/Max core file size\s+0\s+unlimited/);
  });

  userns('raises a hard limit inside a user namespace, which the child itself could not', async () => {
    const cur = Number(execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }));
    // Lowering works for anyone; raising above our own hard limit needs CAP_SYS_RESOURCE in
    // the initial user namespace, so ask for exactly our hard limit after a lower soft one.
    const r = await output(spawn('sh', ['-c', 'ulimit -Hn'], { namespaces: ['user'], rlimits: [{ type: 'nofile', soft: 64, hard: cur }] }));
    expect(r.stdout.trim()).toBe(String(cur));
  });

  it('a limit the parent cannot set fails as a SysError of the rlimits step, nothing leaks', () => {
    const fds = fdCount();
    const kids = childPids().length;
    // RLIMIT_NOFILE above fs.nr_open is EPERM for everyone.
    const nrOpen = Number(execFileSync('cat', ['/proc/sys/fs/nr_open'], { encoding: 'utf8' }));
    expect(() => spawn('true', { rlimits: [{ type: 'nofile', soft: nrOpen + 1, hard: nrOpen + 1 }] })).toThrow(
      expect.objectContaining({ code: 'EPERM', syscall: 'prlimit64', step: 'rlimits' }),
    );
    expect(fdCount()).toBe(fds);
    expect(childPids().length).toBe(kids);
  });

  it('validates names and values before any syscall', () => {
    expect(() => spawn('true', { rlimits: [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }] })).toThrow(/not a resource limit/);
    expect(() => spawn('true', { rlimits: [{ type: 'nofile', soft: 2, hard: 1 }] })).toThrow(/above the hard limit/);
    expect(() => spawn('true', { rlimits: [{ type: 'nofile', soft: -1, hard: 1 }] })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => spawn('true', { oomScoreAdj: 1001 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });

  it('writes oom_score_adj', async () => {
    const r = await output(spawn('cat', ['/proc/self/oom_score_adj'], { oomScoreAdj: 500 }));
    expect(r.stdout.trim()).toBe('500');
  });
});

describe('umask, personality', () => {
  it('sets the umask', async () => {
    const r = await output(spawn('sh', ['-c', 'umask'], { umask: 0o027 }));
    expect(r.stdout.trim()).toBe('0027');
  });
  it('LINUX32 makes uname -m say i686, and flags apply', async () => {
    const r = await output(
      spawn('sh', ['-c', 'uname -m; cat /proc/self/personality'], { personality: { domain: 'LINUX32', flags: ['ADDR_NO_RANDOMIZE'] } }),
    );
    const [machine, per] = r.stdout.trim().split('\n');
    expect(machine).toBe('i686');
    expect(Number.parseInt(per!, 16)).toBe(0x0040008);
  });
  it('refuses unknown domains and flags', () => {
    expect(() => spawn('true', { personality: { domain: 'BSD' as never } })).toThrow(/'LINUX' or 'LINUX32'/);
    expect(() => spawn('true', { personality: { domain: 'LINUX', flags: ['PER_LINUX'] } })).toThrow(/not a personality flag/);
  });
});

describe('sysctl', () => {
  userns('writes a net.* key in the child’s own network namespace, not the host’s', async () => {
    const host = execFileSync('cat', ['/proc/sys/net/ipv4/ip_forward'], { encoding: 'utf8' }).trim();
    const want = host === '1' ? '0' : '1';
    const r = await output(
      spawn('cat', ['/proc/sys/net/ipv4/ip_forward'], { namespaces: ['user', 'net'], sysctl: { 'net.ipv4.ip_forward': want } }),
    );
    expect(r.stdout.trim()).toBe(want);
    expect(execFileSync('cat', ['/proc/sys/net/ipv4/ip_forward'], { encoding: 'utf8' }).trim()).toBe(host);
  });

  userns('in a container, before /proc/sys is made read-only', async () => {
    const r = await output(
      spawn('sh', ['-c', 'cat /proc/sys/kernel/shmmni; echo 1 >/proc/sys/kernel/shmmni 2>/dev/null && echo writable'], {
        namespaces: ['user', 'mnt', 'pid', 'ipc', 'net', 'uts'],
        rootfs: 'host',
        sysctl: { 'kernel.shmmni': 1234 },
      }),
    );
    expect(r.stdout.trim()).toBe('1234');
  });

  it('refuses a host-wide key and a key without its namespace, before any syscall', () => {
    expect(() => spawn('true', { namespaces: ['net'], sysctl: { 'vm.swappiness': '1' } })).toThrow(/not a namespaced sysctl/);
    expect(() => spawn('true', { sysctl: { 'net.ipv4.ip_forward': '1' } })).toThrow(/needs 'net'/);
    expect(() => spawn('true', { namespaces: ['net'], sysctl: { 'net/../../vm/x': '1' } })).toThrow(/not a sysctl key/);
  });
});
