#!/usr/bin/env node
// bench/security-ab.mjs — what the fourteenth session's security fixes cost: two builds of
// nsbox side by side in one process, this checkout ("after") and another given by --before DIR
// ("before", built: its dist/ and build/Release), calls interleaved in a fresh random order
// every round, medians, ratio after ÷ before. As root. Rows:
//   exec stub        spawn('/bin/true', { namespaces: ['mnt', 'pid'], rootfs: 'host' }): root
//                    without a user namespace in a mount namespace of its own — the command
//                    could write Node's binary, so after the fix its execve is the exec stub's
//                    (one execve(2) more: src/namespaces/exec-stub.ts)
//   saved uid        spawn('/bin/true', { capabilities: Docker's }): fewer capabilities than
//                    Node in Node's user namespace — after the fix one setresuid(2) more in the
//                    child and one capget(2) in the parent (csrc/child.cc HideIds)
//   id block         spawn('/bin/true', { namespaces: ['user', 'mnt', 'pid'], rootfs: 'host' }):
//                    the default as root, which needs neither (reference: should be 1.00×)
//   connectToHost    connectToHost('new', …) + netns.close(): after the fix the host end is made
//                    down, gets its sysctls (four writes under /proc/sys) and comes up (one
//                    request more: src/net/host-end.ts)
// Measures; not a test.
//
// Usage: node bench/security-ab.mjs --before DIR [--n 200] [--warmup 10] [--json FILE]
import fs from 'node:fs';
import path from 'node:path';

import { abRows, ROOT, option as opt } from './lib.mjs';

const BEFORE = opt('before', null);
if (!BEFORE || process.geteuid() !== 0) {
  console.error('usage (as root): node bench/security-ab.mjs --before DIR [--n 200] [--warmup 10] [--json FILE]');
  process.exit(2);
}
const N = Number(opt('n', 200));
const WARMUP = Number(opt('warmup', 10));
const JSON_OUT = opt('json', null);

const before = await import(path.join(path.resolve(BEFORE), 'dist/index.js'));
const after = await import(path.join(ROOT, 'dist/index.js'));
const caps = after.hardened().capabilities;
const rows = {
  'exec stub': (m) => m.spawn('/bin/true', { namespaces: ['mnt', 'pid'], rootfs: 'host', stdio: 'ignore' }).exited,
  'saved uid': (m) => m.spawn('/bin/true', { capabilities: caps, stdio: 'ignore' }).exited,
  'id block': (m) => m.spawn('/bin/true', { namespaces: ['user', 'mnt', 'pid'], rootfs: 'host', stdio: 'ignore' }).exited,
  connectToHost: async (m) => {
    const c = await m.connectToHost('new', { hostAddress: '10.239.0.1/30', childAddress: '10.239.0.2/30' });
    c.netns.close();
  },
};
const load0 = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
// (the namespace closed by the connectToHost row is destroyed by the kernel's workqueue: let it go first)
const results = await abRows(rows, before, after, {
  n: N,
  warmup: WARMUP,
  pause: (name) => (name === 'connectToHost' ? new Promise((r) => setTimeout(r, 2)) : undefined),
});
const load1 = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`n=${N} after ${WARMUP} warm-up rounds; load ${load0} → ${load1}`);
if (JSON_OUT)
  fs.writeFileSync(JSON_OUT, `${JSON.stringify({ date: new Date().toISOString(), n: N, load: [load0, load1], results }, null, 2)}\n`);
