// nsbox/net without privileges: every name the module takes refuses a NUL byte (which the
// kernel would read as the name's end: 'br0\0other' is 'br0') with ERR_INVALID_ARG_VALUE,
// before any syscall. The tripwire proves "before": every call targets a network namespace
// that does not exist (a /run/netns name, or a pid no process has), so a call that got as far
// as opening it would fail with ENOENT (the name) or ESRCH (the pid: pidfd_open) instead.
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  addAddress,
  addLink,
  addNeighbour,
  addRoute,
  addresses,
  connectTcpIn,
  connectToBridge,
  connectToHost,
  createNetns,
  deleteAddress,
  deleteLink,
  deleteNeighbour,
  deleteNetns,
  deleteRoute,
  events,
  link,
  links,
  listenTcpIn,
  loUp,
  neighbours,
  openNetns,
  replaceNeighbour,
  replaceRoute,
  routes,
  setLink,
} from '../../src/net/index.js';

const absent = `nsbxt-absent-${randomBytes(4).toString('hex')}`;
const T = { netns: absent };
// 4194304 is PID_MAX_LIMIT: pid_max can be at most one below it, so no process has it.
const noProcess = { pid: 4_194_304 };
const mac = '02:00:00:00:00:01';

/** `fn` fails (synchronously or by rejecting) with ERR_INVALID_ARG_VALUE about `arg`. */
async function refused(arg: string, fn: () => unknown): Promise<void> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect(err, `${arg}: no error`).toBeInstanceOf(TypeError);
  expect(err, arg).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  // Which argument is at fault is part of the contract (Node names it in the message only).
  expect((err as Error).message, arg).toContain(`'${arg}'`);
}

test("connectToHost: a target that is neither a handle, a child nor 'new' is ERR_INVALID_ARG_TYPE", async () => {
  await expect(connectToHost('old' as never, { hostAddress: '10.9.0.1/30', childAddress: '10.9.0.2/30' })).rejects.toMatchObject({
    code: 'ERR_INVALID_ARG_TYPE',
  });
});

describe('a NUL byte in a name is refused before any syscall', () => {
  test('the tripwire works: the same calls without a NUL reach the (absent) namespace and fail ENOENT, or ESRCH for the pid', async () => {
    await expect(deleteLink('br0', T)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(setLink('lo', { name: 'x' }, T)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(connectToHost(noProcess, { hostIf: 'h', hostAddress: '10.9.0.1/30', childAddress: '10.9.0.2/30' })).rejects.toMatchObject({
      code: 'ESRCH',
      syscall: 'pidfd_open',
    });
  });

  test.each([
    ['nameOrIndex', () => link('lo\0x', T)],
    ['nameOrIndex', () => setLink('lo\0x', { up: true }, T)],
    ['changes.name', () => setLink('lo', { name: 'x\0y' }, T)],
    ['changes.master', () => setLink('lo', { master: 'br0\0x' }, T)],
    ['changes.netns', () => setLink('lo', { netns: 'ns\0x' }, T)],
    ['nameOrIndex', () => deleteLink('br0\0other', T)],
  ] as const)('links: %s', async (arg, fn) => refused(arg, fn));

  test.each([
    ['spec.name', () => addLink({ kind: 'dummy', name: 'd\0x' }, T)],
    ['spec.kind', () => addLink({ kind: 'bridge\0x' as 'bridge', name: 'b' }, T)],
    ['spec.master', () => addLink({ kind: 'dummy', name: 'd', master: 'br0\0x' }, T)],
    ['spec.peer.name', () => addLink({ kind: 'veth', name: 'v', peer: { name: 'p\0x' } }, T)],
    ['spec.peer.netns', () => addLink({ kind: 'veth', name: 'v', peer: { name: 'p', netns: 'ns\0x' } }, T)],
    ['spec.parent', () => addLink({ kind: 'macvlan', name: 'm', parent: 'eth0\0x' }, T)],
    ['spec.mode', () => addLink({ kind: 'macvlan', name: 'm', parent: 'eth0', mode: 'bridge\0x' as 'bridge' }, T)],
    ['spec.parent', () => addLink({ kind: 'vlan', name: 'v', parent: 'eth0\0x', id: 5 }, T)],
    ['spec.parent', () => addLink({ kind: 'ipvlan', name: 'i', parent: 'eth0\0x' }, T)],
    ['spec.mode', () => addLink({ kind: 'ipvlan', name: 'i', parent: 'eth0', mode: 'l2\0x' as 'l2' }, T)],
    ['spec.parent', () => addLink({ kind: 'vxlan', name: 'x', id: 1, parent: 'eth0\0x' }, T)],
  ] as const)('addLink: %s', async (arg, fn) => refused(arg, fn));

  test.each([
    ['dev', () => addAddress('lo\0x', '10.9.0.1/8', T)],
    ['options.label', () => addAddress('lo', '10.9.0.1/8', { ...T, label: 'lo:\0x' })],
    ['dev', () => deleteAddress('lo\0x', '10.9.0.1/8', T)],
    ['route.dev', () => addRoute({ dst: 'default', dev: 'lo\0x' }, T)],
    ['route.dev', () => replaceRoute({ dst: 'default', dev: 'lo\0x' }, T)],
    ['route.dev', () => deleteRoute({ dst: 'default', dev: 'lo\0x' }, T)],
    ['dev', () => addNeighbour('lo\0x', '10.9.0.2', mac, T)],
    ['dev', () => replaceNeighbour('lo\0x', '10.9.0.2', mac, T)],
    ['dev', () => deleteNeighbour('lo\0x', '10.9.0.2', T)],
  ] as const)('addresses, routes, neighbours: %s', async (arg, fn) => refused(arg, fn));

  test.each([
    ['options.hostIf', () => connectToHost(noProcess, { hostIf: 'h\0x', hostAddress: '10.9.0.1/30', childAddress: '10.9.0.2/30' })],
    ['options.childIf', () => connectToHost(noProcess, { childIf: 'eth0\0x', hostAddress: '10.9.0.1/30', childAddress: '10.9.0.2/30' })],
    // 'new' makes its namespace in the native call: the names are checked before it.
    ['options.hostIf', () => connectToHost('new', { hostIf: 'h\0x', hostAddress: '10.9.0.1/30', childAddress: '10.9.0.2/30' })],
    ['options.childIf', () => connectToHost('new', { childIf: 'eth0\0x', hostAddress: '10.9.0.1/30', childAddress: '10.9.0.2/30' })],
    ['options.childAddress', () => connectToHost('new', { hostAddress: '10.9.0.1/30', childAddress: 'fd00::2/64' })],
    ['options.bridge', () => connectToBridge(noProcess, { bridge: 'br0\0x', childAddress: '10.9.0.2/24' })],
    ['options.hostIf', () => connectToBridge(noProcess, { bridge: 'br0', hostIf: 'h\0x', childAddress: '10.9.0.2/24' })],
    ['options.childIf', () => connectToBridge(noProcess, { bridge: 'br0', childIf: 'eth0\0x', childAddress: '10.9.0.2/24' })],
  ] as const)('connectToHost, connectToBridge: %s', async (arg, fn) => refused(arg, fn));

  const bad = 'ns\0x';
  test.each([
    ['name', () => createNetns(bad)],
    ['name', () => openNetns(bad)],
    ['name', () => deleteNetns(bad)],
    ['options.netns', () => links({ netns: bad })],
    ['options.netns', () => link('lo', { netns: bad })],
    ['options.netns', () => addresses({ netns: bad })],
    ['options.netns', () => routes({ netns: bad })],
    ['options.netns', () => neighbours({ netns: bad })],
    ['options.netns', () => deleteLink('lo', { netns: bad })],
    ['options.netns', () => events({ netns: bad })],
    ['netns', () => loUp(bad)],
    ['netns', () => listenTcpIn(bad, 0)],
    ['netns', () => connectTcpIn(bad, 80, '127.0.0.1')],
  ] as const)('netns names: %s', async (arg, fn) => refused(arg, fn));
});

describe('a netns pid out of range names the option at fault', () => {
  test.each([
    ['options.netns', () => links({ netns: 4_194_305 })],
    ['netns', () => loUp(0)],
    ['spec.peer.netns', () => addLink({ kind: 'veth', name: 'v', peer: { name: 'p', netns: -1 } }, T)],
  ] as const)('%s', async (arg, fn) => {
    const err = await Promise.resolve()
      .then(fn)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect((err as Error).message).toContain(`"${arg}"`);
  });
});

describe("addLink: a veth's queues are checked before any syscall (the namespace does not exist: ENOENT if it got that far)", () => {
  test.each([0, 4097, 1.5, -1, Number.NaN, Number.POSITIVE_INFINITY])('queues %s is ERR_OUT_OF_RANGE', async (queues) => {
    const err = await addLink({ kind: 'veth', name: 'v', queues, peer: { name: 'p' } }, T).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect((err as Error).message).toContain('"spec.queues"');
  });
  test.each(['2', null, 2n])('queues %s is ERR_INVALID_ARG_TYPE', async (queues) => {
    await expect(addLink({ kind: 'veth', name: 'v', queues: queues as never, peer: { name: 'p' } }, T)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringContaining('"spec.queues"'),
    });
  });
  test('the tripwire: 1 and 4096 pass the checks and reach the absent namespace', async () => {
    for (const queues of [1, 4096]) {
      await expect(addLink({ kind: 'veth', name: 'v', queues, peer: { name: 'p' } }, T)).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });
});
