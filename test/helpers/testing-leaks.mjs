// A node:test file that uses every nsbox/testing fixture, passing or failing on purpose
// (NSBOX_LEAKS_MODE=pass|fail), and writes what the fixtures left behind to
// $NSBOX_LEAKS_REPORT after the test's own cleanup has run. Run by
// test/integration/testing.test.ts with plain `node` (node:test runs the file's tests).
import { readdirSync, readFileSync, readlinkSync, existsSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { spawn } from 'nsbox';
import { inNamespaces, skipReason, useCgroup, useMountns, useNetns, useVeth } from 'nsbox/testing';

const mode = process.env.NSBOX_LEAKS_MODE;

function children() {
  const out = [];
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      out.push(...readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {}
  }
  return out;
}

function snapshot() {
  return {
    fds: readdirSync('/proc/self/fd').length,
    children: children(),
    links: readdirSync('/sys/class/net').sort(),
    mounts: readFileSync('/proc/self/mountinfo', 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[4])
      .sort(),
    netns: existsSync('/run/netns') ? readdirSync('/run/netns').sort() : [],
  };
}

/** Who still refers to a namespace inode: fds of this process, mounts, or any process's ns. */
function holders(ref) {
  const out = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === ref) out.push(`fd ${fd}`);
    } catch {}
  }
  if (readFileSync('/proc/self/mountinfo', 'utf8').includes(ref)) out.push('a mount');
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    for (const t of ['net', 'mnt']) {
      try {
        if (readlinkSync(`/proc/${pid}/ns/${t}`) === ref) out.push(`pid ${pid}`);
      } catch {}
    }
  }
  return out;
}

let before;
const made = {};
let sleeperChild;

// Root makes every fixture; an unprivileged user only runs isolated functions (the rest skip).
const privileged = !skipReason('netns', 'mountns', 'cgroup');

test('warm-up: every fixture once, removed by remove()', async () => {
  if (privileged) {
    await (await useNetns()).remove();
    await (await useCgroup()).remove({ recursive: true });
    await (await useMountns()).remove();
  }
  await inNamespaces({}, () => 1);
  before = snapshot();
});

test(`fixtures in a test that ${mode === 'fail' ? 'fails' : 'passes'}`, async (t) => {
  // An isolated function the test leaves running: the test's signal kills it when the test ends.
  const pending = inNamespaces({ signal: t.signal }, () => new Promise(() => setInterval(() => {}, 1000)));
  pending.catch(() => {});
  made.pending = pending;
  made.isolated = await inNamespaces({}, () => process.pid);
  if (!privileged) {
    if (mode === 'fail') throw new Error('failing on purpose');
    return;
  }
  const ns = await useNetns(t);
  const veth = await useVeth(t, { addresses: ['10.251.0.1/30', '10.251.0.2/30'] });
  const m = await useMountns(t);
  const cg = await useCgroup(t);
  await ns.addLink({ kind: 'veth', name: 'leak0', peer: { name: 'leak1' } });
  // A process in the cgroup, the netns and the mount namespace: the cgroup's removal kills it.
  const sleeper = spawn('sleep', ['1000'], { cgroup: cg, join: { net: ns.namespace, mnt: m.namespace }, stdio: 'ignore' });
  sleeperChild = sleeper;
  Object.assign(made, {
    netns: [ns.namespace.id, veth.a.namespace.id, veth.b.namespace.id],
    mntns: m.namespace.id,
    scratch: m.path,
    cgroup: cg.directory,
    sleeper: sleeper.pid,
    links: [veth.name, veth.peerName, 'leak0', 'leak1'],
    during: snapshot(),
  });
  if (mode === 'fail') throw new Error('failing on purpose');
});

after(async () => {
  // node:test runs a test's `t.after` hooks before the file's `after`. The cgroup's removal
  // killed the sleeper; its reaping (by nsbox's watcher, in the event loop) may lag a moment.
  const status = sleeperChild
    ? await Promise.race([sleeperChild.exited, new Promise((r) => setTimeout(() => r('still running'), 5000))])
    : 'not made';
  made.sleeperStatus = status;
  const pending = await made.pending.then(
    () => 'settled',
    (e) => e.code,
  );
  delete made.pending;
  const now = snapshot();
  writeFileSync(
    process.env.NSBOX_LEAKS_REPORT,
    JSON.stringify({
      before,
      after: now,
      made,
      privileged,
      pending,
      left: privileged
        ? {
            netns: made.netns?.flatMap((id) => holders(id)) ?? ['not made'],
            mntns: made.mntns ? holders(made.mntns) : ['not made'],
            scratch: made.scratch === undefined || existsSync(made.scratch),
            cgroup: made.cgroup === undefined || existsSync(made.cgroup),
            sleeper: made.sleeper === undefined || existsSync(`/proc/${made.sleeper}`),
          }
        : {},
    }),
  );
});
