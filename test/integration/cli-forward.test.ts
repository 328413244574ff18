// `nsbox run --net none --publish`: the userspace forwarder, as root and as an unprivileged
// user (CI runs the suite as both). nsbox listens on 127.0.0.1 only; the command is a server
// on 127.0.0.1 inside its own network namespace. Asserted: a TCP and a UDP exchange answer,
// the command sees 127.0.0.1, and the port is gone once nsbox has exited.
import { execFileSync, spawn as spawnProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect } from 'vitest';
import { tcp, udp } from '../helpers/loopback.js';
import { canUserns, testIf } from '../helpers/env.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** What npm links as `nsbox`: package.json's bin. */
const cli = join(root, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).bin.nsbox);
const PEER = new URL('../helpers/forward-peer.mjs', import.meta.url).pathname;
const usernsTest = testIf(canUserns, 'user namespaces cannot be created here');

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'scripts/ensure-built.mjs')], { stdio: 'ignore' });
});

describe('nsbox run --net none --publish (userspace forwarder)', () => {
  usernsTest('TCP and UDP answer through nsbox; the command sees 127.0.0.1; the port goes with nsbox', async () => {
    // A random port below the ephemeral range (32768-): another test may hold it meanwhile, so
    // a start refused with EADDRINUSE is tried again on another port.
    const start = (hp: number) => {
      const p = spawnProcess(
        process.execPath,
        // The command's root holds the system's directories only: the server goes as source text.
        [
          cli,
          'run',
          '--net',
          'none',
          '-p',
          `127.0.0.1:${hp}:8000`,
          '-p',
          `127.0.0.1:${hp}:8000/udp`,
          '--',
          process.execPath,
          '--input-type=module',
          '-e',
          readFileSync(PEER, 'utf8'),
          '8000',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const run = { p, stderr: '', exited: new Promise<number | null>((resolve) => p.on('close', (code) => resolve(code))) };
      p.stderr.setEncoding('utf8').on('data', (d: string) => (run.stderr += d));
      return run;
    };
    let hp = 0;
    let run: ReturnType<typeof start> | undefined;
    for (let attempt = 0; attempt < 5 && run === undefined; attempt++) {
      hp = 20000 + Math.floor(Math.random() * 12000);
      const r = start(hp);
      const ready = await new Promise<boolean>((resolve) => {
        createInterface({ input: r.p.stdout }).once('line', () => resolve(true));
        r.exited.then(() => resolve(false));
      });
      if (ready) run = r;
      else if (!r.stderr.includes('EADDRINUSE')) throw new Error(`nsbox exited: ${r.stderr}`);
    }
    if (run === undefined) throw new Error('no free port in 5 tries');
    const { p, exited } = run;
    try {
      expect(await tcp(hp, 'hello')).toBe('127.0.0.1\nhello');
      expect(await udp(hp, 'ping')).toBe('127.0.0.1 ping');
    } finally {
      p.kill('SIGTERM'); // forwarded to the command; nsbox then closes the forwarders and exits
    }
    expect(await exited).not.toBe(125);
    expect(run.stderr).toBe('');
    await expect(tcp(hp, 'x')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  usernsTest('a host port in use: refused naming the flag, exit 125, the command killed', async () => {
    const { createServer } = await import('node:net');
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const p = spawnProcess(process.execPath, [cli, 'run', '--net', 'none', '-p', `127.0.0.1:${port}:80`, '--', 'sleep', '30'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => p.on('close', (c) => resolve(c)));
      expect(code).toBe(125);
      expect(stderr).toMatch(new RegExp(`^nsbox: --publish 127\\.0\\.0\\.1:${port}:80: .*EADDRINUSE`));
    } finally {
      busy.close();
    }
  });
});
