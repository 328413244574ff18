// forwardPort, the userspace port forwarder (docs/performance.md, "Userspace port forwarder"):
// connections per second through it (connect, one byte each way, close) and the bytes one
// connection echoes per second. The target is a Node echo server in a user and network
// namespace of its own; run as root (sockets made on a thread inside) and as an unprivileged
// user (sockets made by a child that joins the user namespace).
//   node bench/forward.mjs [CONNECTIONS]
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { spawn } from '../dist/index.js';
import { forwardPort } from '../dist/net/index.js';

const N = Number(process.argv[2] ?? 300);
const peer = readFileSync(new URL('../test/helpers/forward-peer.mjs', import.meta.url), 'utf8');
const child = spawn(process.execPath, ['--input-type=module', '-e', peer, '8000'], {
  namespaces: ['user', 'net'],
  network: { lo: true },
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise((r) => createInterface({ input: child.stdout }).once('line', r));
const fw = await forwardPort({ netns: child.pid, protocol: 'tcp', hostPort: 0, hostAddress: '127.0.0.1', targetPort: 8000 });
const one = () =>
  new Promise((resolve, reject) => {
    const s = connect(fw.port, '127.0.0.1', () => s.end('x'));
    s.on('data', () => {})
      .on('end', resolve)
      .on('error', reject);
  });
try {
  for (let i = 0; i < 20; i++) await one();
  let t = performance.now();
  for (let i = 0; i < N; i++) await one();
  const per = (performance.now() - t) / N;
  const big = Buffer.alloc(1 << 20, 97);
  t = performance.now();
  await new Promise((resolve) => {
    const s = connect(fw.port, '127.0.0.1', () => {
      let n = 0;
      const w = () => {
        while (n < 64) {
          n++;
          if (!s.write(big)) return s.once('drain', w);
        }
        s.end();
      };
      w();
    });
    s.on('data', () => {}).on('end', resolve);
  });
  const mibs = 64 / ((performance.now() - t) / 1000);
  console.log(`${process.getuid() === 0 ? 'root' : 'rootless'}: ${per.toFixed(2)} ms per connection, ${mibs.toFixed(0)} MiB/s through one`);
} finally {
  await fw.close();
  child.kill('SIGKILL');
  await child.exited;
}
