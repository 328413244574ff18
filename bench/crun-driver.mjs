#!/usr/bin/env node
// bench/crun-driver.mjs — the `Node → crun run` row of bench/template.mjs, served over a pipe.
//
// Never run it by hand: bench/template.mjs starts it ONCE per bench run as
//   unshare --mount --propagation private -- sh -c 'mount -t cgroup2 none /sys/fs/cgroup && exec node crun-driver.mjs …'
// so that, in this process's private mount namespace only, /sys/fs/cgroup is the cgroup2
// hierarchy: crun then sees a pure unified layout and only ever touches cgroup v2 (on this
// hybrid host the v1 hierarchies under /sys/fs/cgroup belong to the machine, and crun 1.8
// refuses hybrid mode anyway). Before anything else it checks that /sys/fs/cgroup is cgroup2
// (statfs magic 0x63677270) and exits without calling crun otherwise. The namespace dies with
// this process (nothing to unmount).
//
// Arguments: ROOTFS BUNDLE STATE ID UIDBASE. It writes the bundle with `crun spec`, edits its
// config.json (see buildBundle), prints `ready`, then per input line `run` runs
//   crun --root STATE --cgroup-manager cgroupfs run --bundle BUNDLE ID
// with child_process.spawn (stdio ignored) and prints the ms from the spawn call to the exit
// event, or `error MESSAGE`; per line `true` the same for R/bin/true run without namespaces (the
// driver's own spawn floor, a reference). On end of input it deletes what crun left (the container's state,
// every cgroup under CGROUP_PARENT, and CGROUP_PARENT itself), prints `clean` or
// `left …`, and exits.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { cgroupIsV2, crunSpec, timeCp } from './lib.mjs';

/** The cgroups' parent, relative to the cgroup2 root (/sys/fs/cgroup/unified on the host). */
const CGROUP_PARENT = 'nsbox-bench-crun';
const say = (line) => process.stdout.write(`${line}\n`);
const [ROOTFS, BUNDLE, STATE, ID, UIDBASE] = process.argv.slice(2);
if (!ROOTFS || !BUNDLE || !STATE || !ID || !/^\d+$/.test(UIDBASE ?? '')) {
  say('error usage: crun-driver.mjs ROOTFS BUNDLE STATE ID UIDBASE');
  process.exit(2);
}
// The one guard: no crun call unless this mount namespace's /sys/fs/cgroup is cgroup2.
if (!cgroupIsV2()) {
  say('error /sys/fs/cgroup is not cgroup2 in the driver: crun not run');
  process.exit(3);
}
const CG = path.join('/sys/fs/cgroup', CGROUP_PARENT);
if (fs.existsSync(CG)) {
  say(`error ${CG} exists already (another bench, or a leftover): crun not run`);
  process.exit(3);
}

// The bundle: `crun spec`'s defaults (/proc, /dev tmpfs, devpts, /dev/shm, mqueue, sysfs
// read-only, /sys/fs/cgroup read-only, the masked and read-only paths, capabilities,
// noNewPrivileges, RLIMIT_NOFILE), edited to match the template rows as far as crun can.
function buildBundle() {
  const { spec, file } = crunSpec(BUNDLE, ROOTFS);
  // Six namespaces as the template rows: crun spec gives pid network ipc uts mount; add user
  // with an id block of 65,536 as nsbox's default as root (0 → a block), no cgroup namespace.
  spec.linux.namespaces.push({ type: 'user' });
  spec.linux.uidMappings = [{ containerID: 0, hostID: Number(UIDBASE), size: 65536 }];
  spec.linux.gidMappings = [{ containerID: 0, hostID: Number(UIDBASE), size: 65536 }];
  // A /tmp tmpfs, as the template rows have.
  spec.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] });
  // The cgroup of each run, under a parent of our own in the host's v2 tree.
  spec.linux.cgroupsPath = `/${CGROUP_PARENT}/${ID}`;
  fs.writeFileSync(file, JSON.stringify(spec, null, 2));
  fs.mkdirSync(STATE, { recursive: true });
}

function cleanup() {
  if (fs.existsSync(path.join(STATE, ID))) spawnSync('crun', ['--root', STATE, 'delete', '-f', ID], { stdio: 'ignore' });
  // Depth first: every cgroup crun may have left under the parent, then the parent.
  const rmTree = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmTree(path.join(dir, e.name));
    try {
      fs.rmdirSync(dir);
    } catch {}
  };
  rmTree(CG);
  say(fs.existsSync(CG) ? `left ${CG}` : 'clean');
}

try {
  buildBundle();
} catch (e) {
  say(`error bundle: ${e.message.split('\n')[0]}`);
  cleanup();
  process.exit(1);
}
say('ready');
const queue = [];
let busy = false;
async function pump() {
  if (busy) return;
  busy = true;
  while (queue.length) {
    const cmd = queue.shift();
    if (cmd === 'run') {
      const args = ['--root', STATE, '--cgroup-manager', 'cgroupfs', 'run', '--bundle', BUNDLE, ID];
      try {
        say(String(await timeCp('crun', args)));
      } catch (e) {
        // Untimed: once more with its stderr, for the message.
        const r = spawnSync('crun', args, { encoding: 'utf8' });
        say(`error ${e.message}: ${(r.stderr || '').trim().split('\n').pop()}`);
      }
    } else if (cmd === 'true') {
      // Reference: this process's own child_process.spawn of the same static busybox, no
      // namespaces (compare with the bench's `node-busybox` row: the two Node processes' floor).
      try {
        say(String(await timeCp(path.join(ROOTFS, 'bin/true'), [])));
      } catch (e) {
        say(`error ${e.message}`);
      }
    } else say(`error unknown request ${cmd}`);
  }
  busy = false;
}
const lines = createInterface({ input: process.stdin });
lines.on('line', (l) => {
  queue.push(l.trim());
  pump();
});
lines.on('close', async () => {
  while (busy || queue.length) await new Promise((r) => setTimeout(r, 10));
  cleanup();
  process.exit(0);
});
