#!/usr/bin/env node
// bench/net.mjs — issue 5 "Speed": a veth pair with its peer created in a new network
// namespace + IPv4 on both ends + both up + lo up, torn down by dropping the namespace:
//   nsbox connect   createNamespace('net') + connectToHost(ns, …) (also adds the default
//                   route inside: one request more than the others); teardown ns.close()
//   nsbox new       connectToHost('new', …): the same end state from one call, which makes
//                   the namespace, its socket and every request in one trip to nsbox's kept
//                   network thread (csrc/ns_make.cc nsMakeConnected); teardown netns.close()
//   nsbox per call  createNamespace('net') + addLink(veth, peer.netns) + addAddress ×2 +
//                   setLink up ×2 + loUp — six public calls, each on its own socket
//   node→ip anon    an anonymous namespace like ours (createNamespace('net'), timed), then
//                   execFileSync per step: `ip link add H type veth peer name eth0 netns
//                   /proc/PID/fd/N` (ip opens the path), `ip addr add`, `ip link set H up`,
//                   and inside `nsenter --net=/proc/PID/fd/N ip addr add … dev eth0`, `… ip
//                   link set eth0 up`, `… ip link set lo up` (nsenter execs ip: one process,
//                   two execs); teardown: close the handle (6 processes)
//   node→ip named   the old row: `ip netns add NS` (a bind mount under /run/netns), link add
//                   … netns NS, addr add, link set up, `ip -n NS` addr add, link set eth0 up,
//                   link set lo up; teardown `ip netns del` (8 processes)
//                   Both node→ip rows run in a Node process of their own (bench/net-ip.mjs,
//                   over a pipe like the C floor): Node's child_process forks the process
//                   that calls it, and the copy-on-write faults of each fork would otherwise
//                   land on this process's next row (from 2026-11-30; before, they ran here)
//   C floor         bench/net-floor.c, compiled here: one process, raw NETLINK_ROUTE, each
//                   request answered before the next; teardown = close the namespace fd;
//                   timed inside C, driven over a pipe one iteration per round. Its requests:
//                   RTM_NEWLINK (host end down; one transmit and one receive queue at each
//                   end, as every nsbox veth from 2026-11-30: IFLA_NUM_TX/RX_QUEUES), RTM_GETLINK host, host address, host up,
//                   RTM_GETLINK eth0 inside, its address, eth0 up, lo up; no default route
//   C floor, same   net-floor.c sending exactly connectToHost's requests (the fair floor for
//                   it): RTM_NEWLINK with NLM_F_ECHO, host end created down (the echo gives both
//                   indexes), IPv6 off on it (a /proc/sys write), host address, its IPv4
//                   settings (IFLA_INET_CONF), host end up, inside lo up, eth0 up, eth0 address,
//                   default route via the host address; each answered before the next (from
//                   2026-11-30: the host end's hardening, src/net/host-end.ts, as connectToHost
//                   has done since the fourteenth session; before, it was created up, unhardened)
// Issue 13, the namespace made ahead of time:
//   nsbox pool      a namespace taken from namespacePool({ kind: 'net' }) (made ahead by a
//                   background thread, lo up; one per round, filled before the first, so no
//                   refill runs during the rounds) + connectToHost; teardown ns.close()
//   C floor, pre    net-floor.c with the namespace and its socket made before its clock starts
//                   (and the same with connectToHost's requests)
// Rows alternate in rounds, in a fresh random order each round, so load on this shared VM
// hits each alike: with a fixed rotation each row always ran right after the same one, and
// the row after `ip netns del` paid for that namespace's destruction every time (the kernel's
// cleanup work, and the ip processes' exits, run on into the next row). Setup is timed from
// the first call to the last reply; teardown separately (the kernel destroys the namespace
// and both veth ends afterwards in its cleanup workqueue, as for every row).
// Also: links() over 1,000 links (bridges; this kernel has no dummy module) in a scratch
// namespace, against `ip -j link` from Node.
//
// Usage: node bench/net.mjs [--n 30] [--warmup 5] [--save] [--before DIR] [--no-ip]
//   --no-ip leaves out the two node→ip rows: 14 processes a round, whose exits and the page
//   and instruction caches they churn land on whichever row runs next (the C floor, a small
//   hot process, feels that less than Node does); the ratio to the C floor is then measured
//   between the in-process rows only. Needs root, gcc, iproute2, nsenter, a built nsbox.
// It measures; it is not a test.
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { keepRunNetns } from '../test/helpers/run-netns.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
// The named row's `ip netns add` makes /run/netns a mount point; unmounted again at the end.
const restoreRunNetns = keepRunNetns();
const { createNamespace, namespacePool } = await import(path.join(ROOT, 'dist/namespaces/index.js'));
const net = await import(path.join(ROOT, 'dist/net/index.js'));

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? def : Number(argv[i + 1]);
};
const N = opt('n', 30);
// --before DIR: a built checkout of the commit before (dist/, build/): its createNamespace +
// connectToHost as one more row, side by side with this build's.
const bi = argv.indexOf('--before');
const BEFORE = bi < 0 ? undefined : argv[bi + 1];
const before = BEFORE
  ? {
      ns: await import(path.resolve(BEFORE, 'dist/namespaces/index.js')),
      net: await import(path.resolve(BEFORE, 'dist/net/index.js')),
    }
  : undefined;
const WARMUP = opt('warmup', 5);
if (process.geteuid() !== 0) {
  console.error('bench/net.mjs needs root');
  process.exit(1);
}

const now = () => performance.now();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const stats = (xs) => ({
  n: xs.length,
  median: median(xs),
  mean: xs.reduce((a, b) => a + b, 0) / xs.length,
  min: Math.min(...xs),
  max: Math.max(...xs),
});

/** Fisher–Yates, in place. */
function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

let k = 0;
const hostName = () => `nbh${process.pid % 10000}x${k++}`;

async function nsboxConnect() {
  const t0 = now();
  const ns = createNamespace('net');
  await net.connectToHost(ns, { hostIf: hostName(), childIf: 'eth0', hostAddress: '10.231.0.1/30', childAddress: '10.231.0.2/30' });
  const t1 = now();
  ns.close();
  return [t1 - t0, now() - t1];
}

async function nsboxConnectNew() {
  const t0 = now();
  const { netns } = await net.connectToHost('new', {
    hostIf: hostName(),
    childIf: 'eth0',
    hostAddress: '10.231.0.1/30',
    childAddress: '10.231.0.2/30',
  });
  const t1 = now();
  netns.close();
  return [t1 - t0, now() - t1];
}

async function nsboxConnectBefore() {
  const t0 = now();
  const ns = before.ns.createNamespace('net');
  await before.net.connectToHost(ns, { hostIf: hostName(), childIf: 'eth0', hostAddress: '10.231.0.1/30', childAddress: '10.231.0.2/30' });
  const t1 = now();
  ns.close();
  return [t1 - t0, now() - t1];
}

async function nsboxPerCall() {
  const t0 = now();
  const ns = createNamespace('net');
  const h = hostName();
  await net.addLink({ kind: 'veth', name: h, peer: { name: 'eth0', netns: ns } });
  await net.addAddress(h, '10.231.0.1/30');
  await net.setLink(h, { up: true });
  await net.addAddress('eth0', '10.231.0.2/30', { netns: ns });
  await net.setLink('eth0', { up: true }, { netns: ns });
  await net.loUp(ns);
  const t1 = now();
  ns.close();
  return [t1 - t0, now() - t1];
}

async function nsboxPooled() {
  const t0 = now();
  const ns = pool.take();
  await net.connectToHost(ns, { hostIf: hostName(), childIf: 'eth0', hostAddress: '10.231.0.1/30', childAddress: '10.231.0.2/30' });
  const t1 = now();
  ns.close();
  return [t1 - t0, now() - t1];
}

// The node→ip rows run in a Node process of their own (bench/net-ip.mjs), driven over a pipe
// as the C floor is: child_process forks the Node process that calls it, and the
// copy-on-write faults each fork leaves behind would land on this process's next row.
const NO_IP = argv.includes('--no-ip');
const ipHelper = NO_IP ? undefined : spawn(process.execPath, [path.join(HERE, 'net-ip.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
const ipLines = ipHelper && createInterface({ input: ipHelper.stdout })[Symbol.asyncIterator]();
async function nodeIpRow(row) {
  ipHelper.stdin.write(`${row}\n`);
  const { value, done } = await ipLines.next();
  if (done) throw new Error('bench/net-ip.mjs ended');
  return value.split(' ').map(Number);
}

// C floor: compiled into a temp dir, run as one process serving one iteration per line, so
// its rounds interleave with the Node rows.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-netbench-'));
const floorBin = path.join(tmp, 'net-floor');
execFileSync('cc', ['-O2', '-o', floorBin, path.join(HERE, 'net-floor.c')]);
const floor = spawn(floorBin, ['serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: floor.stdout })[Symbol.asyncIterator]();
async function cFloor(line = 'go') {
  floor.stdin.write(`${line}\n`);
  const { value } = await lines.next();
  return value.split(' ').map(Number);
}

const started = new Date();
const loadBefore = os.loadavg();
// One namespace per round, made before the first: no refill runs during the timed rounds
// (bench/spawn.mjs has a row with a small pool refilled as it goes).
const pool = namespacePool({ kind: 'net', size: WARMUP + N + 1 });
await pool.ready();
const fns = {
  'nsbox connectToHost': nsboxConnect,
  "nsbox connectToHost('new')": nsboxConnectNew,
  'nsbox per call (6 calls)': nsboxPerCall,
  'node→ip, anonymous netns (6 processes)': () => nodeIpRow('anon'),
  'node→ip, named netns (8 ip processes)': () => nodeIpRow('named'),
  'C floor (bench/net-floor.c)': cFloor,
  "C floor, connectToHost's requests": () => cFloor('same'),
  'nsbox pooled netns + connectToHost': nsboxPooled,
  'C floor, netns made before the clock': () => cFloor('pre'),
  "C floor, connectToHost's requests, netns made before the clock": () => cFloor('same pre'),
};
if (before) fns['nsbox connectToHost (before: --before build)'] = nsboxConnectBefore;
if (NO_IP) for (const name of Object.keys(fns)) if (name.startsWith('node→ip')) delete fns[name];
const names = Object.keys(fns);
const rows = Object.fromEntries(names.map((n) => [n, [[], []]]));
for (let i = 0; i < WARMUP + N; i++) {
  const order = shuffle([...names]);
  for (const name of order) {
    const [s, t] = await fns[name]();
    if (i >= WARMUP) {
      rows[name][0].push(s);
      rows[name][1].push(t);
    }
  }
}
floor.stdin.end();
ipHelper?.stdin.end();
await pool[Symbol.asyncDispose]();

// Wait for the kernel to finish destroying the namespaces (and the host veth ends).
const drainStart = now();
while (
  execFileSync('ip', ['-br', 'link'], { encoding: 'utf8' })
    .split('\n')
    .some((l) => /^(nbh|nfl)/.test(l))
) {
  if (now() - drainStart > 30_000) break;
  await new Promise((r) => setTimeout(r, 10));
}
restoreRunNetns();

// 1,000 links
const scratch = createNamespace('net');
const fdPath = `/proc/${process.pid}/fd/${(() => {
  // find the fd of the scratch namespace handle: the nsfs entry we opened last
  const ino = scratch.ino;
  for (const f of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.statSync(`/proc/self/fd/${f}`).ino === ino) return f;
    } catch {}
  }
  throw new Error('scratch fd not found');
})()}`;
const batch = Array.from({ length: 1000 }, (_, i) => `link add b${i} type bridge`).join('\n') + '\n';
execFileSync('nsenter', [`--net=${fdPath}`, 'ip', '-batch', '-'], { input: batch });
const count = (await net.links({ netns: scratch })).length;
const listN = [],
  ipN = [];
for (let i = 0; i < 5 + 30; i++) {
  let t = now();
  await net.links({ netns: scratch });
  if (i >= 5) listN.push(now() - t);
  t = now();
  execFileSync('nsenter', [`--net=${fdPath}`, 'ip', '-j', 'link'], { maxBuffer: 64 << 20 });
  if (i >= 5) ipN.push(now() - t);
}
scratch.close();

const fmt = (x) => (x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
console.log(`## net — ${new Date().toISOString()} — ${os.cpus().length} CPUs, kernel ${os.release()}, node ${process.version}, n=${N}`);
console.log('| what | setup median ms | setup mean | setup min | setup max | teardown median ms | setup+teardown median |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const [name, [s, t]] of Object.entries(rows)) {
  const a = stats(s),
    b = stats(t);
  const sum = median(s.map((x, i) => x + t[i]));
  console.log(`| ${name} | ${fmt(a.median)} | ${fmt(a.mean)} | ${fmt(a.min)} | ${fmt(a.max)} | ${fmt(b.median)} | ${fmt(sum)} |`);
}
const c = median(rows['C floor (bench/net-floor.c)'][0]);
const cSame = median(rows["C floor, connectToHost's requests"][0]);
const cPre = median(rows['C floor, netns made before the clock'][0]);
const cSamePre = median(rows["C floor, connectToHost's requests, netns made before the clock"][0]);
const ipm = NO_IP ? Number.NaN : median(rows['node→ip, anonymous netns (6 processes)'][0]);
const ipNamed = NO_IP ? Number.NaN : median(rows['node→ip, named netns (8 ip processes)'][0]);
for (const name of ['nsbox connectToHost', "nsbox connectToHost('new')", 'nsbox per call (6 calls)']) {
  const m = median(rows[name][0]);
  console.log(
    `${name}: ${(m / c).toFixed(2)}× C, ${(m / cSame).toFixed(2)}× C with connectToHost's requests` +
      (NO_IP ? '' : `, ${(ipm / m).toFixed(1)}× faster than node→ip anonymous (${(ipNamed / m).toFixed(1)}× than named)`),
  );
}
if (before) {
  const b = median(rows['nsbox connectToHost (before: --before build)'][0]);
  console.log(
    `nsbox connectToHost before: ${(b / c).toFixed(2)}× C (this build ${(median(rows['nsbox connectToHost'][0]) / b).toFixed(2)}× of before)`,
  );
}
const pm = median(rows['nsbox pooled netns + connectToHost'][0]);
console.log(
  `nsbox pooled netns + connectToHost: ${(pm / cPre).toFixed(2)}× C with its namespace made ahead (${(pm / cSamePre).toFixed(2)}× with connectToHost's requests), ${(pm / c).toFixed(2)}× the full C floor (${(pm / cSame).toFixed(2)}×)`,
);
if (argv.includes('--save')) {
  // bench/results/net-DATE.json: every sample (ms), so the medians can be checked.
  const stamp = started
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '');
  const file = path.join(ROOT, 'bench', 'results', `net-${stamp}.json`);
  const out = {
    date: started.toISOString(),
    kernel: os.release(),
    node: process.version,
    cpus: os.cpus().length,
    n: N,
    warmup: WARMUP,
    noIp: NO_IP,
    ipRowsProcess: 'own (bench/net-ip.mjs)',
    loadavg: { before: loadBefore, after: os.loadavg() },
    rows: Object.entries(rows).map(([label, [s, t]]) => ({
      label,
      setup_median_ms: median(s),
      teardown_median_ms: median(t),
      setup_ms: s.map((x) => Number(x.toFixed(4))),
      teardown_ms: t.map((x) => Number(x.toFixed(4))),
    })),
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`saved ${file}`);
}
console.log(`async destruction drain after the last iteration: ${fmt(now() - drainStart)} ms (polled)`);
console.log(
  `links() of ${count} links: median ${fmt(median(listN))} ms (min ${fmt(Math.min(...listN))}, max ${fmt(Math.max(...listN))}); node→\`ip -j link\`: median ${fmt(median(ipN))} ms`,
);
fs.rmSync(tmp, { recursive: true, force: true });
