// What the guest tests (test/guest/*.test.mjs, node --test) ask of the machine before they run:
// a command on PATH, and whether cgroup v1 is mounted (a hybrid host, whose v1 hierarchies
// podman, containerd's shims and crun would write to: they run only in the pure v2 guest).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The path of `cmd` on PATH, or '' when it is missing. */
export const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();

/** Whether a cgroup v1 hierarchy is mounted here. */
export const cgroupV1 = readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .some((l) => / - cgroup /.test(l));
