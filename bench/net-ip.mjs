#!/usr/bin/env node
// bench/net-ip.mjs — bench/net.mjs's two node→ip rows, in a Node process of their own, driven
// over a pipe one iteration per line as the C floor is ('anon' or 'named' in, "SETUP TEARDOWN"
// in ms out). Why a process of their own: child_process forks Node (libuv's fork(2), not
// vfork), and a fork write-protects every page of the forking process; the copy-on-write
// faults then land on that process's next writes to its heap. With the rows in bench/net.mjs's
// own process those faults were paid by whichever in-process row ran next (connectToHost, the
// pooled row, …), not by the row that forked. Here each row pays its own: this process is a
// Node program calling `ip`, as a user's service would be.
// It measures; it is not a test. Started by bench/net.mjs.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { createNamespace } = await import(path.join(ROOT, 'dist/namespaces/index.js'));
const { kFd } = await import(path.join(ROOT, 'dist/namespaces/types.js'));

const now = () => performance.now();
let k = 0;
// bench/net.mjs's drain waits for every link named nbh… to be gone.
const hostName = () => `nbh${process.pid % 10000}i${k++}`;
const ip = (...a) => execFileSync('ip', a, { stdio: 'ignore' });

/** An anonymous namespace made as nsbox's are (timed), then one `ip` process per step. */
function anon() {
  const h = hostName();
  const t0 = now();
  const ns = createNamespace('net');
  const p = `/proc/${process.pid}/fd/${ns[kFd]}`;
  const inside = (...a) => execFileSync('nsenter', [`--net=${p}`, 'ip', ...a], { stdio: 'ignore' });
  ip('link', 'add', h, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p);
  ip('addr', 'add', '10.231.0.1/30', 'dev', h);
  ip('link', 'set', h, 'up');
  inside('addr', 'add', '10.231.0.2/30', 'dev', 'eth0');
  inside('link', 'set', 'eth0', 'up');
  inside('link', 'set', 'lo', 'up');
  const t1 = now();
  ns.close();
  return [t1 - t0, now() - t1];
}

/** `ip netns add` (a bind mount under /run/netns), the same steps by `ip -n`, `ip netns del`. */
function named() {
  const ns = `nbns${process.pid % 10000}x${k}`;
  const h = hostName();
  const t0 = now();
  ip('netns', 'add', ns);
  ip('link', 'add', h, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  ip('addr', 'add', '10.231.0.1/30', 'dev', h);
  ip('link', 'set', h, 'up');
  ip('-n', ns, 'addr', 'add', '10.231.0.2/30', 'dev', 'eth0');
  ip('-n', ns, 'link', 'set', 'eth0', 'up');
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  const t1 = now();
  ip('netns', 'del', ns);
  return [t1 - t0, now() - t1];
}

const rows = { anon, named };
for await (const line of createInterface({ input: process.stdin })) {
  const fn = rows[line.trim()];
  if (fn === undefined) throw new Error(`bench/net-ip.mjs: no row '${line}'`);
  process.stdout.write(`${fn().join(' ')}\n`);
}
