#!/usr/bin/env node
// bench/mounts-ab.mjs — what the fifteenth session's fixes cost: two builds of nsbox side by
// side in one process, this checkout ("after") and another given by --before DIR ("before",
// built: its dist/ and build/Release), calls interleaved in a fresh random order every round,
// medians, ratio after ÷ before. As root, with a static busybox. Rows:
//   container        spawn('/bin/true', { rootfs: a busybox directory, the seven namespaces }):
//                    after the fix /proc and /sys are made with fsopen/fsmount (or open_tree)
//                    and attached with move_mount, their masks and read-only paths opened
//                    beneath them, every bind made detached (open_tree, mount_setattr,
//                    move_mount) instead of mount(2) and a second lookup for its read-only flag
//   container + :ro  the same with a read-only bind volume
//   template run     tpl.spawn('/bin/true') of template({ rootfs }): after the fix its /proc is
//                    an anchor checked to cover the template's procfs (fstatfs), its masks bind
//                    a /dev/null opened and checked (openat2, fstat) and attached by open_tree
//   join by pid      spawn('/bin/true', { join: { net: PID, uts: PID, ipc: PID } }) of a live
//                    sleeping child: after the fix one pidfd_open(2), each namespace by
//                    ioctl(PIDFD_GET_*_NAMESPACE) instead of open(2) of /proc/PID/ns/*
// Measures; not a test.
//
// Usage: node bench/mounts-ab.mjs --before DIR [--n 200] [--warmup 10] [--json FILE]
import { spawn as spawnProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { abRows, ROOT, option as opt } from './lib.mjs';

const BEFORE = opt('before', null);
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p) && fs.statSync(p).size > 500_000);
if (!BEFORE || process.geteuid() !== 0 || !BUSYBOX) {
  console.error('usage (as root, with busybox-static): node bench/mounts-ab.mjs --before DIR [--n 200] [--warmup 10] [--json FILE]');
  process.exit(2);
}
const N = Number(opt('n', 200));
const WARMUP = Number(opt('warmup', 10));
const JSON_OUT = opt('json', null);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-mounts-ab-'));
fs.chmodSync(dir, 0o755);
const rootfs = path.join(dir, 'rootfs');
for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'data']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
fs.copyFileSync(BUSYBOX, path.join(rootfs, 'bin/busybox'));
fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
fs.symlinkSync('busybox', path.join(rootfs, 'bin/true'));
const vol = path.join(dir, 'vol');
fs.mkdirSync(vol);

const before = await import(path.join(path.resolve(BEFORE), 'dist/index.js'));
const after = await import(path.join(ROOT, 'dist/index.js'));
const NS = ['user', 'mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup'];
const target = spawnProcess('unshare', ['--net', '--uts', '--ipc', 'sleep', '1000'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 200));
const tpl = { before: before.template({ rootfs }), after: after.template({ rootfs }) };
const which = (m) => (m === before ? 'before' : 'after');
const rows = {
  container: (m) => m.spawn('/bin/true', { rootfs, namespaces: NS, stdio: 'ignore' }).exited,
  'container + :ro': (m) =>
    m.spawn('/bin/true', {
      rootfs,
      namespaces: NS,
      stdio: 'ignore',
      mounts: [{ type: 'bind', source: vol, target: '/data', readOnly: true }],
    }).exited,
  'template run': (m) => tpl[which(m)].spawn('/bin/true', [], { stdio: 'ignore' }).exited,
  'join by pid': (m) => m.spawn('/bin/true', { join: { net: target.pid, uts: target.pid, ipc: target.pid }, stdio: 'ignore' }).exited,
};
let results;
const load0 = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
try {
  results = await abRows(rows, before, after, { n: N, warmup: WARMUP });
} finally {
  tpl.before.close();
  tpl.after.close();
  target.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
}
const load1 = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`n=${N} after ${WARMUP} warm-up rounds; load ${load0} → ${load1}`);
if (JSON_OUT)
  fs.writeFileSync(JSON_OUT, `${JSON.stringify({ date: new Date().toISOString(), n: N, load: [load0, load1], results }, null, 2)}\n`);
