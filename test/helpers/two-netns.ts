// Two named network namespaces joined by a veth, for the tests of published ports and of what a
// sandbox's neighbours reach: "host" (10.99.0.1/24 on hout) plays the machine nsbox runs on,
// "peer" (10.99.0.2/24 on eth0) another machine of its LAN. Made with ip(8), the independent
// tool; the caller deletes them (`ip netns del`, each name pushed to `made`).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const sh = (...a: string[]) => execFileSync(a[0]!, a.slice(1), { encoding: 'utf8' });

/** Makes the pair; `tag` goes into the names (`nsbx-TAGh-ID`, `nsbx-TAGp-ID`). */
export function twoNetns(tag: string, made: string[]): { host: string; peer: string } {
  const id = randomBytes(3).toString('hex');
  const t = { host: `nsbx-${tag}h-${id}`, peer: `nsbx-${tag}p-${id}` };
  for (const n of [t.host, t.peer]) {
    sh('ip', 'netns', 'add', n);
    made.push(n);
    sh('ip', '-n', n, 'link', 'set', 'lo', 'up');
  }
  sh('ip', '-n', t.host, 'link', 'add', 'hout', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', t.peer);
  sh('ip', '-n', t.host, 'addr', 'add', '10.99.0.1/24', 'dev', 'hout');
  sh('ip', '-n', t.host, 'link', 'set', 'hout', 'up');
  sh('ip', '-n', t.peer, 'addr', 'add', '10.99.0.2/24', 'dev', 'eth0');
  sh('ip', '-n', t.peer, 'link', 'set', 'eth0', 'up');
  return t;
}
