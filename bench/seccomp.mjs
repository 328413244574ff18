#!/usr/bin/env node
// bench/seccomp.mjs — how long does compiling a seccomp profile take?
//
// nsbox's compileSeccomp on its default profile, side by side with libseccomp (Debian's
// python3-seccomp, the library runc and crun use) building and exporting the BPF of the same
// profile (SyscallFilter + add_rule per name + export_bpf).
//
// Method:
//   - cold: N fresh `node` processes; each imports the compiled module (timed apart) and
//     times its first compileSeccomp(defaultSeccompProfile) call with performance.now().
//     The median over N is the figure to quote (target: < 2 ms).
//   - cold, libseccomp: N fresh python processes, each timing its first filter build and
//     export_bpf the same way (the import of the module is timed apart too).
//   - warm cached: 100,000 compiles of the same profile object in one process (a WeakMap hit).
//   - warm uncached: a fresh copy of the profile each time (so every call compiles), after
//     200 warm-up compiles; and libseccomp's warm figure, its 200th build in one process.
//
// Usage: node bench/seccomp.mjs [--n 20]
// Build first: npx tsc -p .  (the bench imports dist/)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({ options: { n: { type: 'string', default: '20' } } });
const N = Number(opt.n);
const modUrl = pathToFileURL(join(root, 'dist/security/seccomp/index.js')).href;
if (!existsSync(fileURLToPath(modUrl))) {
  console.error('dist/security/seccomp/index.js missing: run `npx tsc -p .` first');
  process.exit(1);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (ms) => (ms < 0.01 ? `${(ms * 1000).toFixed(2)} µs` : `${ms.toFixed(3)} ms`);

// ---- nsbox, cold ------------------------------------------------------------------------
const coldScript = `
const t0 = performance.now();
const m = await import(${JSON.stringify(modUrl)});
const t1 = performance.now();
const c = m.compileSeccomp(m.defaultSeccompProfile, { arch: 'x64' });
const t2 = performance.now();
console.log(JSON.stringify({ importMs: t1 - t0, compileMs: t2 - t1, instructions: c.instructions }));
`;
const cold = [];
for (let i = 0; i < N; i++) {
  cold.push(JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', coldScript], { encoding: 'utf8' })));
}

// ---- nsbox, warm ------------------------------------------------------------------------
const m = await import(modUrl);
const profile = m.defaultSeccompProfile;
m.compileSeccomp(profile, { arch: 'x64' });
let t = performance.now();
const HITS = 100_000;
for (let i = 0; i < HITS; i++) m.compileSeccomp(profile, { arch: 'x64' });
const cachedMs = (performance.now() - t) / HITS;
const copy = () => JSON.parse(JSON.stringify(profile));
for (let i = 0; i < 200; i++) m.compileSeccomp(copy(), { arch: 'x64' });
const warm = [];
for (let i = 0; i < 200; i++) {
  const p = copy();
  t = performance.now();
  m.compileSeccomp(p, { arch: 'x64' });
  warm.push(performance.now() - t);
}

// ---- libseccomp (python3-seccomp), the same profile -------------------------------------
// Docker's includes resolved for amd64 first (libseccomp has no such notion).
const filtered = {
  ...profile,
  syscalls: profile.syscalls
    .filter((r) => !r.includes?.arches || r.includes.arches.includes('amd64'))
    .map(({ includes: _i, comment: _c, ...r }) => r),
};
const py = `
import sys, json, time
t0 = time.perf_counter()
import seccomp
t1 = time.perf_counter()
prof = json.loads(sys.stdin.read())
OPS = {'SCMP_CMP_NE': seccomp.NE, 'SCMP_CMP_LT': seccomp.LT, 'SCMP_CMP_LE': seccomp.LE, 'SCMP_CMP_EQ': seccomp.EQ,
       'SCMP_CMP_GE': seccomp.GE, 'SCMP_CMP_GT': seccomp.GT, 'SCMP_CMP_MASKED_EQ': seccomp.MASKED_EQ}
def act(a, e):
    return seccomp.ALLOW if a == 'SCMP_ACT_ALLOW' else seccomp.ERRNO(1 if e is None else e)
def build():
    f = seccomp.SyscallFilter(act(prof['defaultAction'], prof.get('defaultErrnoRet')))
    f.add_arch(seccomp.Arch.X86)
    f.add_arch(seccomp.Arch.X32)
    for r in prof['syscalls']:
        conds = [seccomp.Arg(c['index'], OPS[c['op']], c['value'], c.get('valueTwo') or 0) for c in r.get('args') or []]
        for n in r['names']:
            try: f.add_rule(act(r['action'], r.get('errnoRet')), n, *conds)
            except Exception: pass
    with open('/dev/null', 'wb') as out:
        f.export_bpf(out)
t2 = time.perf_counter(); build(); t3 = time.perf_counter()
warm = []
if len(sys.argv) > 1:
    for i in range(200):
        s = time.perf_counter(); build(); warm.append(time.perf_counter() - s)
print(json.dumps({'importMs': (t1 - t0) * 1e3, 'compileMs': (t3 - t2) * 1e3, 'warm': [w * 1e3 for w in warm]}))
`;
let peer;
const python = '/usr/bin/python3';
try {
  execFileSync(python, ['-c', 'import seccomp'], { stdio: 'pipe' });
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-bench-'));
  try {
    writeFileSync(join(dir, 'peer.py'), py);
    const input = JSON.stringify(filtered);
    const runs = [];
    for (let i = 0; i < N; i++) runs.push(JSON.parse(execFileSync(python, [join(dir, 'peer.py')], { input, encoding: 'utf8' })));
    const w = JSON.parse(execFileSync(python, [join(dir, 'peer.py'), 'warm'], { input, encoding: 'utf8' }));
    peer = { cold: median(runs.map((r) => r.compileMs)), importMs: median(runs.map((r) => r.importMs)), warm: median(w.warm.slice(100)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} catch {
  peer = undefined;
}

// ---- machine speed, for reading the figures elsewhere -------------------------------------
const calib = JSON.parse(
  execFileSync(process.execPath, ['-e', 'let t=performance.now(),s=0;for(let i=0;i<1e7;i++)s+=i;console.log(performance.now()-t)'], {
    encoding: 'utf8',
  }),
);

// ---- report -----------------------------------------------------------------------------
const ours = { cold: median(cold.map((r) => r.compileMs)), importMs: median(cold.map((r) => r.importMs)), warm: median(warm.slice(100)) };
console.log(`seccomp compile, default profile (x86_64 + x86 + x32, ${cold[0].instructions} instructions), N=${N}, node ${process.version}`);
console.log('');
const rows = [
  ['', 'nsbox', peer ? 'libseccomp (python3-seccomp)' : 'libseccomp: python3-seccomp not installed', peer ? 'ratio' : ''],
  ['cold first compile (median)', fmt(ours.cold), peer ? fmt(peer.cold) : '', peer ? `${(ours.cold / peer.cold).toFixed(2)}×` : ''],
  ['module import (median)', fmt(ours.importMs), peer ? fmt(peer.importMs) : '', ''],
  ['warm compile, uncached (median)', fmt(ours.warm), peer ? fmt(peer.warm) : '', peer ? `${(ours.warm / peer.warm).toFixed(2)}×` : ''],
  ['warm compile, cached (mean)', fmt(cachedMs), '', ''],
];
const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i])).join('  '));
console.log('');
console.log(
  `target: cold < 2 ms — ${ours.cold < 2 ? 'met' : 'NOT met'} (machine speed: a 1e7-iteration JS loop takes ${calib.toFixed(1)} ms here)`,
);
