// libseccomp as a test-only oracle: Debian's python3-seccomp (libseccomp 2.5.x) builds the
// filter for the same OCI profile the way runc does (seccomp_init with the default action,
// the listed arches added, repeated argument indexes split into separate rules, names it
// cannot resolve skipped) and exports its BPF. Nothing of it is linked into nsbox.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SeccompProfile } from '../../src/security/seccomp/index.js';

const PYTHON = '/usr/bin/python3';

const SCRIPT = String.raw`
import sys, json, base64, tempfile, seccomp
req = json.load(sys.stdin)
prof = req['profile']
def act(name, ret):
    if name == 'SCMP_ACT_ALLOW': return seccomp.ALLOW
    if name == 'SCMP_ACT_ERRNO': return seccomp.ERRNO(1 if ret is None else ret)
    if name in ('SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD'): return seccomp.KILL
    if name == 'SCMP_ACT_KILL_PROCESS': return seccomp.KILL_PROCESS
    if name == 'SCMP_ACT_TRAP': return seccomp.TRAP
    if name == 'SCMP_ACT_TRACE': return seccomp.TRACE(0 if ret is None else ret)
    if name == 'SCMP_ACT_LOG': return seccomp.LOG
    if name == 'SCMP_ACT_NOTIFY': return seccomp.NOTIFY
    raise Exception(name)
OPS = {'SCMP_CMP_NE': seccomp.NE, 'SCMP_CMP_LT': seccomp.LT, 'SCMP_CMP_LE': seccomp.LE, 'SCMP_CMP_EQ': seccomp.EQ,
       'SCMP_CMP_GE': seccomp.GE, 'SCMP_CMP_GT': seccomp.GT, 'SCMP_CMP_MASKED_EQ': seccomp.MASKED_EQ}
ARCH = {'SCMP_ARCH_X86_64': seccomp.Arch.X86_64, 'SCMP_ARCH_X86': seccomp.Arch.X86, 'SCMP_ARCH_X32': seccomp.Arch.X32,
        'SCMP_ARCH_AARCH64': seccomp.Arch.AARCH64, 'SCMP_ARCH_ARM': seccomp.Arch.ARM}
f = seccomp.SyscallFilter(act(prof['defaultAction'], prof.get('defaultErrnoRet')))
if req['native'] == 'arm64':
    f.add_arch(seccomp.Arch.AARCH64)
    f.remove_arch(seccomp.Arch.NATIVE)
for a in req['arches']:
    if not f.exist_arch(ARCH[a]): f.add_arch(ARCH[a])
failed = []
for r in prof.get('syscalls') or []:
    action = act(r['action'], r.get('errnoRet'))
    conds = [seccomp.Arg(c['index'], OPS[c['op']], int(c['value']), int(c.get('valueTwo') or 0)) for c in (r.get('args') or [])]
    idx = [c['index'] for c in (r.get('args') or [])]
    groups = [[c] for c in conds] if len(set(idx)) != len(idx) else [conds]
    for name in r['names']:
        for g in groups:
            try:
                f.add_rule(action, name, *g)
            except Exception as e:
                failed.append([name, str(e)])
resolved = {}
for a in req['arches']:
    m = {}
    for r in prof.get('syscalls') or []:
        for name in r['names']:
            try:
                n = seccomp.resolve_syscall(ARCH[a], name)
            except Exception:
                continue
            if isinstance(n, int) and n >= 0: m[name] = n
    resolved[a] = m
with tempfile.TemporaryFile() as fp:
    f.export_bpf(fp)
    fp.seek(0)
    bpf = fp.read()
print(json.dumps({'bpf': base64.b64encode(bpf).decode(), 'resolved': resolved, 'failed': failed}))
`;

/** Why the oracle cannot run here, or undefined when it can. */
export function libseccompMissing(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} not found (apt-get install python3-seccomp)`;
  try {
    execFileSync(PYTHON, ['-c', 'import seccomp'], { stdio: 'pipe' });
    return undefined;
  } catch {
    return 'python3-seccomp is not installed (apt-get install python3-seccomp)';
  }
}

/** What libseccomp made of a profile. */
export interface OracleResult {
  /** Its BPF program. */
  bpf: Uint8Array;
  /** Per arch, name → number for the names libseccomp resolves. */
  resolved: Record<string, Record<string, number>>;
  /** Rules libseccomp refused (e.g. an action equal to the default), [name, error]. */
  failed: [string, string][];
}

/** Runs libseccomp on `profile` (already filtered of Docker includes/excludes). */
export function libseccompCompile(profile: SeccompProfile, native: 'x64' | 'arm64', arches: readonly string[]): OracleResult {
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-libseccomp-'));
  try {
    const script = join(dir, 'oracle.py');
    writeFileSync(script, SCRIPT);
    const input = JSON.stringify({ profile, native, arches }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    const out = JSON.parse(execFileSync(PYTHON, [script], { input, encoding: 'utf8', maxBuffer: 64 << 20 })) as {
      bpf: string;
      resolved: OracleResult['resolved'];
      failed: OracleResult['failed'];
    };
    return { bpf: new Uint8Array(Buffer.from(out.bpf, 'base64')), resolved: out.resolved, failed: out.failed };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
