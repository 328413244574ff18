// forwardPort against the real kernel, as root and as an unprivileged user (CI runs the suite
// as both): the target is a process in a user and network namespace of its own (only lo,
// up), made by nsbox's spawn; the forwarder listens on the caller's 127.0.0.1. Asserted: TCP
// and UDP exchanges arrive and come back, the target sees the forwarder's address, many
// connections at once, and close() leaves no fd and no relay.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn, type NsboxChild } from '../../src/index.js';
import { forwardPort } from '../../src/net/index.js';
import { tcp, udp } from '../helpers/loopback.js';
import { canUserns, testIf } from '../helpers/env.js';
import { fdCount } from '../helpers/proc.js';

const PEER = new URL('../helpers/forward-peer.mjs', import.meta.url).pathname;
const PORT = 8000;
const usernsTest = testIf(canUserns, 'user namespaces cannot be created here');
let child: NsboxChild | undefined;

beforeAll(async () => {
  if (!canUserns) return;
  child = spawn(process.execPath, [PEER, String(PORT)], {
    namespaces: ['user', 'net'],
    network: { lo: true },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child!.stdout! }).once('line', () => resolve());
    child!.exited.then(() => reject(new Error('the peer exited')));
  });
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await child?.exited;
});

describe('forwardPort', () => {
  usernsTest('a TCP exchange through the forwarder; the target sees the forwarder, not the client', async () => {
    const fds = fdCount();
    const fw = await forwardPort({ netns: child!.pid, protocol: 'tcp', hostPort: 0, hostAddress: '127.0.0.1', targetPort: PORT });
    try {
      expect(fw.port).toBeGreaterThan(0);
      expect(await tcp(fw.port, 'hello')).toBe('127.0.0.1\nhello');
    } finally {
      await fw.close();
    }
    expect(fw.closed).toBe(true);
    expect(fdCount()).toBe(fds);
  });

  usernsTest('a UDP exchange through the forwarder; the flow ends after its idle timeout', async () => {
    const fds = fdCount();
    const fw = await forwardPort({
      netns: child!.pid,
      protocol: 'udp',
      hostPort: 0,
      hostAddress: '127.0.0.1',
      targetPort: PORT,
      udpIdleTimeout: 300,
    });
    try {
      expect(await udp(fw.port, 'ping')).toBe('127.0.0.1 ping');
      expect(fw.relays).toBe(1);
      await new Promise((r) => setTimeout(r, 600));
      expect(fw.relays).toBe(0);
    } finally {
      await fw.close();
    }
    expect(fdCount()).toBe(fds);
  });

  usernsTest('100 concurrent TCP connections of 64 KiB each come back whole; 20 UDP clients', async () => {
    const fds = fdCount();
    const fw = await forwardPort({ netns: child!.pid, protocol: 'tcp', hostPort: 0, hostAddress: '127.0.0.1', targetPort: PORT });
    const fu = await forwardPort({ netns: child!.pid, protocol: 'udp', hostPort: 0, hostAddress: '127.0.0.1', targetPort: PORT });
    try {
      const payloads = Array.from({ length: 100 }, (_, i) => `${i}:`.padEnd(65536, String.fromCharCode(97 + (i % 26))));
      const got = await Promise.all(payloads.map((p) => tcp(fw.port, p)));
      got.forEach((g, i) => expect(g === `127.0.0.1\n${payloads[i]}`).toBe(true));
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => udp(fu.port, `client ${i}`)));
      expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => `127.0.0.1 client ${i}`));
      expect(fu.relays).toBe(20);
    } finally {
      await fw.close();
      await fu.close();
    }
    expect(fdCount()).toBe(fds);
  });

  usernsTest('close() with relays open ends them all and leaves no fd; a refused target resets the client', async () => {
    const fds = fdCount();
    const fw = await forwardPort({ netns: child!.pid, protocol: 'tcp', hostPort: 0, hostAddress: '127.0.0.1', targetPort: PORT });
    const clients = await Promise.all(
      Array.from(
        { length: 5 },
        () =>
          new Promise<ReturnType<typeof connect>>((resolve) => {
            const s = connect(fw.port, '127.0.0.1');
            s.once('data', () => resolve(s)); // the target's greeting: the relay is up
          }),
      ),
    );
    expect(fw.relays).toBe(5);
    const ended = clients.map((s) => new Promise((r) => s.on('close', r).on('error', () => undefined)));
    await fw.close();
    await fw.close(); // idempotent
    await Promise.all(ended);
    expect(fw.relays).toBe(0);
    // Nothing listens any more.
    await expect(tcp(fw.port, 'x')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(fdCount()).toBe(fds);

    const none = await forwardPort({ netns: child!.pid, protocol: 'tcp', hostPort: 0, hostAddress: '127.0.0.1', targetPort: PORT + 1 });
    try {
      await expect(tcp(none.port, 'x')).rejects.toMatchObject({ code: 'ECONNRESET' });
    } finally {
      await none.close();
    }
    expect(fdCount()).toBe(fds);
  });

  test('bad options are refused before any syscall', async () => {
    const fds = fdCount();
    const base = { netns: 1, protocol: 'tcp', hostPort: 0, targetPort: 80 } as const;
    await expect(forwardPort({ ...base, protocol: 'sctp' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(forwardPort({ ...base, hostPort: 70000 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(forwardPort({ ...base, targetPort: 0 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(forwardPort({ ...base, target: 'localhost' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(forwardPort({ ...base, hostAddress: '::1x' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(forwardPort({ ...base, udpIdleTimeout: 0 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(forwardPort({ ...base, netns: undefined as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(forwardPort(null as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(fdCount()).toBe(fds);
  });
});
