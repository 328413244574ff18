// A CommonJS consumer (a .cts file, `require()` of our ESM under `--module nodenext`, Node
// >= 20.19), type-checked by scripts/consumer-check.sh (never run).
import { type ExitStatus, spawn } from 'nsbox';
import { type Cgroup, createCgroup } from 'nsbox/cgroups';
import { mountinfo } from 'nsbox/fs';
import { links } from 'nsbox/net';
import { type NsboxChild, unshare } from 'nsbox/namespaces';
import { hardened } from 'nsbox/security';

export async function main(): Promise<void> {
  const child: NsboxChild = spawn('true', { namespaces: ['user', 'pid'], ...hardened() });
  const status: ExitStatus = await child.exited;
  const cg: Cgroup = await createCgroup('nsbox-consumer-cjs');
  unshare(['uts']).restore();
  // @ts-expect-error 'users' is not a namespace type
  spawn('true', { namespaces: ['users'] });
  console.log(status, cg, mountinfo().length, await links());
}
