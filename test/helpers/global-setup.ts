// Leaves the machine as the suite found it. createNetns, like `ip netns add`, makes /run/netns
// a shared mount point and keeps it (iproute2 does the same); if it was not one before the
// suite, and no namespace is left in it, it is unmounted and removed again afterwards.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';

const RUN_NETNS = '/run/netns';
const isMountPoint = () =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === RUN_NETNS);

let before: { existed: boolean; mounted: boolean };

export function setup(): void {
  before = { existed: existsSync(RUN_NETNS), mounted: isMountPoint() };
}

export function teardown(): void {
  if (process.geteuid!() !== 0 || before.mounted || !isMountPoint()) return;
  if (readdirSync(RUN_NETNS).length > 0) return; // a namespace left behind: let the leak show
  execFileSync('umount', ['-l', RUN_NETNS]);
  if (!before.existed) rmdirSync(RUN_NETNS);
}
