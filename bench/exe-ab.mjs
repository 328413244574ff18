#!/usr/bin/env node
// bench/exe-ab.mjs — what the sixteenth session's two fixes cost: two builds of nsbox side by
// side in one process, this checkout ("after") and another given by --before DIR ("before",
// built: its dist/ and build/Release), calls interleaved in a fresh random order every round,
// medians, ratio after ÷ before. As root. Rows (each spawns /bin/true, stdio 'ignore'):
//   join a box       spawn({ join: { pid, mnt, net, ipc, uts: PID }, ...hardened() }) of a live
//                    box (pid, mnt, net, ipc, uts namespaces): after the fixes the child unmaps
//                    Node's binary from its copy of Node's memory and makes the init image its
//                    exe (HideExe: the parent reads /proc/self/maps, makes the image memfd),
//                    and the fork into the box comes after the credential, capability and
//                    filter steps (ForkFirst) instead of right after the joins
//   created, started spawn({ namespaces: pid, mnt; rootfs: 'host', startGate }) then
//                    openStartGate: the gated child is a copy of Node's memory (HideExe)
//   forked init      spawn({ namespaces: pid, mnt; rootfs: 'host', init: true }) with every
//                    capability (CAP_SYS_PTRACE in the bounding set: the init is a fork, HideExe)
//   plain container  spawn({ namespaces: pid, mnt; rootfs: 'host' }): shares Node's memory until
//                    execve (CLONE_VM), untouched by either fix: the control
// Measures; not a test.
//
// Usage: node bench/exe-ab.mjs --before DIR [--n 200] [--warmup 10] [--json FILE]
import { spawn as spawnProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { abRows, ROOT, option as opt } from './lib.mjs';

const BEFORE = opt('before', null);
if (!BEFORE || process.geteuid() !== 0) {
  console.error('usage (as root): node bench/exe-ab.mjs --before DIR [--n 200] [--warmup 10] [--json FILE]');
  process.exit(2);
}
const N = Number(opt('n', 200));
const WARMUP = Number(opt('warmup', 10));
const JSON_OUT = opt('json', null);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-exe-ab-'));
const before = await import(path.join(path.resolve(BEFORE), 'dist/index.js'));
const after = await import(path.join(ROOT, 'dist/index.js'));
const box = spawnProcess('unshare', ['--pid', '--fork', '--mount', '--net', '--ipc', '--uts', 'sleep', '1000'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 300));
const sleeper = Number(fs.readFileSync(`/proc/${box.pid}/task/${box.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
const HOST = { namespaces: ['pid', 'mnt'], rootfs: 'host', stdio: 'ignore' };
let gates = 0;
const rows = {
  'join a box': (m) =>
    m.spawn('/bin/true', {
      join: { pid: sleeper, mnt: sleeper, net: sleeper, ipc: sleeper, uts: sleeper },
      ...m.hardened(),
      stdio: 'ignore',
    }).exited,
  'created, started': async (m) => {
    const gate = path.join(dir, `g${gates++}.sock`);
    const c = m.spawn('/bin/true', { ...HOST, startGate: gate });
    await m.openStartGate(gate);
    return c.exited;
  },
  'forked init': (m) => m.spawn('/bin/true', { ...HOST, init: true }).exited,
  'plain container': (m) => m.spawn('/bin/true', HOST).exited,
};
let results;
const load0 = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
try {
  results = await abRows(rows, before, after, { n: N, warmup: WARMUP });
} finally {
  box.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
}
const load1 = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`n=${N} after ${WARMUP} warm-up rounds; load ${load0} → ${load1}`);
if (JSON_OUT)
  fs.writeFileSync(JSON_OUT, `${JSON.stringify({ date: new Date().toISOString(), n: N, load: [load0, load1], results }, null, 2)}\n`);
