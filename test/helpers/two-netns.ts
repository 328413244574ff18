// Two named network namespaces joined by a veth, for the tests of published ports and of what a
// sandbox's neighbours reach: "host" (10.99.0.1/24 on hout) plays the machine nsbox runs on,
// "peer" (10.99.0.2/24 on eth0) another machine of its LAN. Made with ip(8), the independent
// tool; the caller deletes them (`ip netns del`, each name pushed to `made`).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
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

/** What an `nsbox` process started by {@link startNsboxIn} printed, and its exit status. */
export interface NsboxResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `nsbox ARGS` (the CLI at `cli`) in the named network namespace `ns` (`ip netns exec`), pushed
 * to `procs` for the caller's clean-up; `ready` resolves with the command's eth0 (or lo)
 * address, printed first, once it has also printed `ready` (its servers listen).
 */
export function startNsboxIn(cli: string, procs: ChildProcess[], ns: string, args: string[]) {
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(p);
  let stdout = '';
  let stderr = '';
  p.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<NsboxResult>((resolve) => p.on('close', (code) => resolve({ code, stdout, stderr })));
  const ready = new Promise<string>((resolve, reject) => {
    p.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = /inet (\S+)\/\d+/.exec(stdout);
      if (m && stdout.includes('ready')) resolve(m[1]!);
    });
    p.on('close', () => reject(new Error(`nsbox exited: ${stderr}`)));
  });
  ready.catch(() => undefined);
  return { p, done, ready };
}
