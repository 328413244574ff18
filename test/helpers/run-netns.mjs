// /run/netns as something found it. `ip netns add` (and createNetns, as iproute2 does) makes
// /run/netns a shared mount point the first time and keeps it. keepRunNetns() notes whether it
// was one; the function it returns unmounts it again (and removes the directory if it was not
// there) when it has become one and no namespace is left in it — a namespace left behind stays,
// so that the leak shows. Used by the suite's global setup and by bench/net.mjs (`ip netns add`).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';

const RUN_NETNS = '/run/netns';
const isMountPoint = () =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === RUN_NETNS);

/** @returns {() => void} the restore */
export function keepRunNetns() {
  const existed = existsSync(RUN_NETNS);
  const mounted = isMountPoint();
  return () => {
    if (process.geteuid() !== 0 || mounted || !isMountPoint()) return;
    if (readdirSync(RUN_NETNS).length > 0) return;
    execFileSync('umount', ['-l', RUN_NETNS]);
    if (!existed) rmdirSync(RUN_NETNS);
  };
}
