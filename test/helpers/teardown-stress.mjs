// Worker-termination stress (issue 10): ROUNDS rounds of WORKERS workers, each busy with
// spawns in a user namespace, netlink sockets, mount and cgroup watches and namespace
// handles (teardown-worker.mjs), terminated at random points. Run in its own process by
// test/integration/teardown.test.ts, so an abort shows as a signal. Prints one JSON line:
// the figures before and after, and what was left behind.
//   node teardown-stress.mjs [workers=50] [rounds=10]
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const dist = new URL('../../dist/index.js', import.meta.url).href;
const workers = Number(process.argv[2] ?? 50);
const rounds = Number(process.argv[3] ?? 10);
const m = await import(dist);

const fds = () => readdirSync('/proc/self/fd').length;
const fdTargets = () =>
  readdirSync('/proc/self/fd').map((n) => {
    try {
      return `${n} -> ${readlinkSync(`/proc/self/fd/${n}`)}`;
    } catch {
      return n;
    }
  });
// nsfs fds: /proc/self/fd/N -> "net:[4026532177]" (pipes and sockets read "pipe:[N]" too)
const NS_LINK = /^(cgroup|ipc|mnt|net|pid|pid_for_children|time|time_for_children|user|uts):\[\d+\]$/;
const nsFds = () =>
  readdirSync('/proc/self/fd').filter((n) => {
    try {
      return NS_LINK.test(readlinkSync(`/proc/self/fd/${n}`));
    } catch {
      return false; // the fd of the readdir itself
    }
  }).length;
const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
// Every process whose parent is this one, by state (Z: zombie).
const children = () => {
  const out = { live: [], zombie: [] };
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    } catch {
      continue;
    }
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(ppid) === process.pid) (state === 'Z' ? out.zombie : out.live).push(Number(p));
  }
  return out;
};

// A cgroup whose cgroup.events the workers watch (root, cgroup v2 mounted); else none.
let cg = null;
if (process.getuid() === 0 && m.findCgroup2()) {
  try {
    cg = await m.createCgroup(`nsbox-teardown-${process.pid}`);
  } catch {
    cg = null;
  }
}

// Warm up: the main thread's own first use of the addon and of a worker, then the baseline.
await new Promise((r) => new Worker('process.exit(0)', { eval: true }).once('exit', r));
const before = { fds: fds(), nsFds: nsFds(), rssKiB: rssKiB() };
const beforeTargets = new Set(fdTargets());
const started = Date.now();
const counter = new SharedArrayBuffer(4);
const errors = [];

const runOne = (i) =>
  new Promise((resolve) => {
    const w = new Worker(new URL('./teardown-worker.mjs', import.meta.url), {
      workerData: { dist, counter, cgroupDir: cg?.directory ?? null, root: process.getuid() === 0 },
    });
    let stop;
    // One in five is terminated as soon as it runs (mid-import, maybe mid addon init); the
    // others 0–60 ms after they are up: mid-spawn, mid-netlink, mid-watch.
    if (i % 5 === 0) w.once('online', () => w.terminate());
    w.on('message', (msg) => {
      if (msg.error) errors.push(msg.error);
      if (msg.ready && !stop && i % 5 !== 0) stop = setTimeout(() => w.terminate(), (i * 7919) % 61);
    });
    w.on('error', (err) => errors.push(String(err)));
    w.on('exit', () => {
      clearTimeout(stop);
      resolve();
    });
  });

const rssAfterRound = [];
for (let r = 0; r < rounds; r++) {
  await Promise.all(Array.from({ length: workers }, (_, i) => runOne(r * workers + i)));
  rssAfterRound.push(rssKiB());
}
// Termination is synchronous for children (the cleanup hook reaps them), so nothing should
// be left now; a moment for the kernel to finish tearing namespaces down does not matter to
// the counts but lets RSS settle.
global.gc?.();
const after = { fds: fds(), nsFds: nsFds(), rssKiB: rssKiB() };
const left = children();
// A bare number is an fd readlink found closed: the readdir's own (its number moves up when
// another fd, e.g. a module source Node's loader left open, sits below it), never a leak.
const newFds = fdTargets().filter((t) => !beforeTargets.has(t) && t.includes(' -> '));
if (cg) await cg.remove().catch((err) => errors.push(`removing the test cgroup: ${err}`));
console.log(
  JSON.stringify({
    workers,
    rounds,
    seconds: (Date.now() - started) / 1000,
    spawns: Atomics.load(new Int32Array(counter), 0),
    before,
    after,
    rssAfterRound,
    newFds,
    liveChildren: left.live,
    zombies: left.zombie,
    errors: errors.slice(0, 5),
  }),
);
