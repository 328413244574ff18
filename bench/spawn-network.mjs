#!/usr/bin/env node
// bench/spawn-network.mjs — issue 11 item 4: what `nsbox run --net none|veth` costs, from the
// spawn call to the child's exit, for /bin/true in a container (the CLI's defaults: user,
// pid, mnt, uts, ipc, net, cgroup; rootfs 'host'; the mount lock):
//   no --net        the container's new network namespace as it is (lo down)
//   none, joined    the CLI before issue 11: createNamespace('net') + loUp(ns) + spawn({ join })
//   none, own       now: spawn({ network: { lo: true } }) — the lock makes the namespace, the
//                   child brings lo up, the lock's helper mounts its sysfs
//   veth, joined    before: createNamespace('net') + connectToHost(ns, …) + spawn({ join })
//   veth, own       now: spawn({ network: { veth } }) — the parent makes the veth while the
//                   child waits at its network step
// With --before DIR (a checkout of the commit before, built: dist/ and build/), the "no --net"
// and "joined" rows also run on that build, so the lock's new work shows as well.
// Rows alternate in rounds, so load on this shared VM hits each alike; median and IQR in ms.
// Usage: node bench/spawn-network.mjs [--n 60] [--warmup 5] [--before DIR]
// Needs root (the veth rows) and a built nsbox. It measures; it is not a test.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const opt = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
};
const N = Number(opt('n', 60));
const WARMUP = Number(opt('warmup', 5));
const BEFORE = opt('before', undefined);
if (process.geteuid() !== 0) {
  console.error('bench/spawn-network.mjs: needs root (the veth rows)');
  process.exit(1);
}
const now = await import(path.join(ROOT, 'dist/index.js'));
const before = BEFORE ? await import(path.resolve(BEFORE, 'dist/index.js')) : undefined;

const ALL = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup'];
const base = { rootfs: 'host', stdio: 'ignore' };
const veth = { hostAddress: '10.219.0.1/30', childAddress: '10.219.0.2/30' };

async function joined(m, withVeth) {
  const ns = m.createNamespace('net');
  try {
    if (withVeth) await m.connectToHost(ns, veth);
    else await m.loUp(ns);
    const c = m.spawn('/bin/true', { ...base, namespaces: ALL.filter((k) => k !== 'net'), join: { net: ns } });
    ns.close();
    await c.exited;
  } finally {
    ns.close();
  }
}
async function own(m, network) {
  const c = m.spawn('/bin/true', { ...base, namespaces: ALL, ...(network && { network }) });
  await c.exited;
}

const rows = {};
if (before) rows['no --net (before)'] = () => own(before, undefined);
rows['no --net'] = () => own(now, undefined);
if (before) rows['none, joined (before)'] = () => joined(before, false);
rows['none, joined'] = () => joined(now, false);
rows['none, own (network { lo })'] = () => own(now, { lo: true });
if (before) rows['veth, joined (before)'] = () => joined(before, true);
rows['veth, joined'] = () => joined(now, true);
rows['veth, own (network { veth })'] = () => own(now, { lo: true, veth });

const times = Object.fromEntries(Object.keys(rows).map((k) => [k, []]));
for (let round = 0; round < WARMUP + N; round++) {
  for (const [name, fn] of Object.entries(rows)) {
    const t0 = process.hrtime.bigint();
    await fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (round >= WARMUP) times[name].push(ms);
    // Let the kernel's netns cleanup of this veth finish before the next one takes its address.
    await new Promise((r) => setTimeout(r, 20));
  }
}
const q = (a, p) => a[Math.min(a.length - 1, Math.floor(p * a.length))];
console.log(`| row | median ms | IQR ms |  (n=${N}, ${new Date().toISOString().slice(0, 10)})`);
console.log('| --- | --- | --- |');
for (const [name, t] of Object.entries(times)) {
  t.sort((a, b) => a - b);
  console.log(`| ${name} | ${q(t, 0.5).toFixed(2)} | ${q(t, 0.25).toFixed(2)}–${q(t, 0.75).toFixed(2)} |`);
}
