// Every native entry point checks its arguments before it acts (STYLE.md, "the cheap second
// check"): a value of the wrong type, undefined, a negative or fractional fd, a NaN, a number
// out of range or a string with a NUL throws a TypeError with ERR_INVALID_ARG_TYPE or
// ERR_INVALID_ARG_VALUE — and nothing is done: fds 0..2 and a sentinel fd stay open as they were.
import { closeSync, existsSync, fstatSync, openSync, readdirSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { K, native } from '../../src/native.js';
import { PlanBuilder } from '../../src/namespaces/plan.js';

type Kind =
  | 'fd'
  | 'optfd'
  | 'int'
  | 'u32'
  | 'pid'
  | 'port'
  | 'signal'
  | 'str'
  | 'optstr'
  | 'fn'
  | 'buf'
  | 'big'
  | 'bool'
  | 'trigger'
  | 'requests'
  | 'nlreq';

// rtnetlink(7) numbers, as the kernel headers have them (linux/netlink.h, linux/rtnetlink.h).
const RTM_GETLINK = 18;
const NLM_F_REQUEST = 1;
const NLM_F_ACK = 4;
const NLM_F_DUMP = 0x300;

/** A netlink message: header and an ifinfomsg (32 bytes), or `len` in its header if given. */
function nlmsg(type: number, flags: number, seq: number, len = 32): Buffer {
  const b = Buffer.alloc(32);
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq, 8);
  b.writeInt32LE(1, 20); // ifi_index 1: lo, a harmless lookup if a check let one through
  return b;
}

// Values of the wrong type or out of range for each kind of parameter.
const BAD: Record<Kind, unknown[]> = {
  fd: [undefined, null, 'x', -1, 1.5, NaN, Infinity, 2 ** 31, 2 ** 32],
  optfd: [undefined, 'x', -2, 0.5, NaN, 2 ** 31],
  int: [undefined, 'x', 1.5, NaN, 2 ** 31, -(2 ** 31) - 1],
  u32: [undefined, 'x', -1, 1.5, NaN, 2 ** 32],
  pid: [undefined, 'x', 0, -1, 1.5, NaN, 2 ** 31],
  port: [undefined, 'x', -1, 65536, 1.5],
  signal: [undefined, 'x', -1, 65, 1.5, NaN],
  str: [undefined, 1, {}, 'a\0b'],
  optstr: [1, {}, 'a\0b'],
  fn: [undefined, 1, {}],
  buf: [undefined, 'x', 1],
  big: [undefined, 1, 'x'],
  bool: [undefined, 'x', 1, null],
  trigger: [undefined, 1, 'a\0b'],
  // netlink requests: an array of Buffers, each at least a 16-byte nlmsghdr
  requests: [undefined, 'x', Buffer.alloc(16), [1], [Buffer.alloc(4)]],
  // one datagram of rtnetlink requests for netlinkExchange: each a request with NLM_F_ACK, not
  // a dump, its length inside the buffer, its sequence number its own, at most 16 of them
  nlreq: [
    undefined,
    'x',
    [],
    Buffer.alloc(0),
    Buffer.alloc(15),
    nlmsg(RTM_GETLINK, NLM_F_REQUEST, 1), // no NLM_F_ACK
    nlmsg(RTM_GETLINK, NLM_F_ACK, 1), // no NLM_F_REQUEST
    nlmsg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, 1),
    nlmsg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 1, 64), // length overruns
    nlmsg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 1, 8), // length shorter than a header
    Buffer.concat([nlmsg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 1), Buffer.alloc(8)]), // trailing bytes
    Buffer.concat([nlmsg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 1), nlmsg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 1)]),
    Buffer.concat(Array.from({ length: 17 }, (_, i) => nlmsg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, i + 1))),
  ],
};

const sentinel = openSync('/dev/null', 'r');
afterAll(() => closeSync(sentinel));
const MISSING = '/nonexistent-nsbox-native-args';

// A plan that fails at its first step if it ever runs (chdir to a missing directory).
function harmlessPlan(): { ops: Int32Array; strings: Buffer } {
  return new PlanBuilder().chdir(MISSING).exec('/bin/true', false, ['true'], []).build();
}

// [name, valid arguments (harmless if a bad one beside them were let through), kinds]
const FUNCTIONS: Array<[string, unknown[], Kind[]]> = [
  ['setErrorFactory', [], ['fn']],
  ['nsOpen', [MISSING], ['str']],
  ['lockFile', [`${MISSING}/lock`], ['str']],
  ['readLinkedSource', [MISSING], ['str']],
  ['readLinkedCache', [MISSING, 'H', 0], ['str', 'str', 'u32']],
  ['readSeccompEntry', [MISSING, 'k'], ['str', 'str']],
  ['readTextFile', [MISSING], ['str']],
  ['readLink', [MISSING], ['str']],
  // valid arguments would end the process: only the bad ones are tried, each refused
  ['exitNow', [0], ['u32']],
  ['statPath', [MISSING, false], ['str', 'bool']],
  ['nsFromPidfd', [sentinel, K.PIDFD_GET_NS.net], ['fd', 'int']],
  ['nsStat', [sentinel], ['fd']],
  ['nsGetType', [sentinel], ['fd']],
  ['nsGetRelative', [sentinel, 'parent'], ['fd', 'str']],
  ['nsGetOwnerUid', [sentinel], ['fd']],
  ['close', [sentinel], ['fd']],
  ['setnsThread', [sentinel, 0], ['fd', 'int']],
  ['unshareThread', [0], ['int']],
  ['nsCreate', [0, 'a/b'], ['int', 'str']],
  ['nsMake', [0, 'a/b', false, false], ['int', 'str', 'bool', 'bool']],
  ['nsFill', [0, 'a/b', false, false, 1, () => {}], ['int', 'str', 'bool', 'bool', 'u32', 'fn']],
  ['watchChild', [process.pid, sentinel, () => {}], ['pid', 'fd', 'fn']],
  ['killReap', [sentinel], ['fd']],
  ['forgetFd', [sentinel], ['fd']],
  ['pidfdOpen', [process.pid], ['pid']],
  ['pidfdSignal', [sentinel, 0], ['fd', 'signal']],
  ['pidfdExited', [sentinel], ['fd']],
  ['mountIn', [-1, null, MISSING, null, 0, null], ['optfd', 'optstr', 'str', 'optstr', 'u32', 'optstr']],
  ['umountIn', [-1, MISSING, 0], ['optfd', 'str', 'int']],
  ['fsopen', ['nsbox-no-such-fs'], ['str']],
  ['fsconfig', [sentinel, 0, null, null, 0], ['fd', 'int', 'optstr', 'optstr', 'int']],
  ['fsLog', [sentinel], ['fd']],
  ['fsmount', [sentinel, 0], ['fd', 'u32']],
  ['openTreeIn', [-1, MISSING, 0], ['optfd', 'str', 'u32']],
  ['attachIn', [-1, sentinel, MISSING], ['optfd', 'fd', 'str']],
  ['setattrIn', [-1, -1, MISSING, 0, 0, 0, 0, -1], ['optfd', 'optfd', 'str', 'u32', 'u32', 'u32', 'u32', 'optfd']],
  ['resolveIn', [-1, MISSING, 'x', 0, 0], ['optfd', 'str', 'str', 'u32', 'u32']],
  ['inetSocketIn', [-1, 2, 1, Buffer.alloc(0), 0, -1], ['optfd', 'int', 'int', 'buf', 'port', 'int']],
  ['netlinkTransact', [-1, []], ['optfd', 'requests']],
  ['netlinkExchange', [-1, nlmsg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 1)], ['optfd', 'nlreq']],
  ['netlinkSocketIn', [sentinel], ['fd']],
  ['openInNetns', [-1, MISSING, false], ['optfd', 'str', 'bool']],
  ['openPty', [0, 0], ['u32', 'u32']],
  ['ptyPath', [sentinel], ['fd']],
  ['ptyResize', [sentinel, 24, 80], ['fd', 'u32', 'u32']],
  ['ptySize', [sentinel], ['fd']],
  ['ptySetOnlcr', [sentinel, 0], ['fd', 'u32']],
  ['ptyDup', [sentinel], ['fd']],
  ['sendFd', [MISSING, sentinel, 'x'], ['str', 'fd', 'str']],
  ['gateNamespaces', [MISSING, 0], ['str', 'int']],
  ['gateStart', [MISSING, 0], ['str', 'int']],
  ['bpfLoadDeviceProgram', [Buffer.alloc(0)], ['buf']],
  ['bpfQueryDevicePrograms', [MISSING], ['str']],
  ['bpfSetDevicePrograms', [MISSING, sentinel], ['str', 'fd']],
];
const CONSTRUCTORS: Array<[string, unknown[], Kind[]]> = [
  ['FileWatch', [MISSING, null, () => {}], ['str', 'trigger', 'fn']],
  ['NetlinkSocket', [-1, 0, () => {}], ['optfd', 'u32', 'fn']],
  ['SeccompListener', [sentinel, () => {}], ['fd', 'fn']],
];
const NO_ARGS = new Set([
  'probeFeatures',
  'probeCloneIntoCgroup',
  'landlockAbi',
  'onProcessMainThread',
  'kernelRelease',
  'pipe',
  'devNull',
  'spawn',
  'spawnAsync',
]);

// Each kind's bad values, put one at a time in place of a valid argument.
function variants(valid: unknown[], kinds: Kind[]): Array<[string, unknown[]]> {
  const out: Array<[string, unknown[]]> = [];
  kinds.forEach((kind, i) => {
    for (const bad of BAD[kind]) {
      const args = [...valid];
      while (args.length < kinds.length) args.push(undefined);
      args[i] = bad;
      out.push([`arg ${i} = ${typeof bad === 'string' ? JSON.stringify(bad) : String(bad)}`, args]);
    }
  });
  return out;
}

function identity(fd: number): string {
  const s = fstatSync(fd);
  const l = statSync(`/proc/self/fd/${fd}`);
  return `${s.dev}:${s.ino}:${s.rdev}/${l.dev}:${l.ino}`;
}
const fds = [0, 1, 2, sentinel];
const before = fds.map(identity);

function expectTyped(call: () => unknown, what: string): void {
  let thrown: unknown;
  let result: unknown;
  try {
    result = call();
  } catch (e) {
    thrown = e;
  }
  // Anything that a check let through must not outlive the test.
  if (result && typeof (result as { close?: unknown }).close === 'function') (result as { close(): void }).close();
  expect(thrown, what).toBeInstanceOf(TypeError);
  expect(['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE'], `${what}: ${(thrown as Error).message}`).toContain(
    (thrown as { code?: string }).code,
  );
  expect(fds.map(identity), `${what}: fds 0..2 and the sentinel`).toEqual(before);
}

describe('native argument checks', () => {
  it('every exported native function is covered here', () => {
    const names = Object.entries(native)
      .filter(([, v]) => typeof v === 'function')
      .map(([k]) => k);
    const covered = new Set([...FUNCTIONS.map(([n]) => n), ...CONSTRUCTORS.map(([n]) => n), ...NO_ARGS, 'nsMakeConnected']);
    expect(names.filter((n) => !covered.has(n))).toEqual([]);
  });

  it('netlinkExchange refuses a bad request before it makes the host socket or sends', () => {
    const count = readdirSync('/proc/self/fd').length;
    const exchange = native.netlinkExchange as unknown as (...a: unknown[]) => unknown;
    for (const bad of BAD.nlreq) expectTyped(() => exchange(-1, bad), `netlinkExchange(-1, ${String(bad)})`);
    expect(readdirSync('/proc/self/fd').length).toBe(count);
  });

  it('nsMakeConnected refuses bad steps and patches before it makes a socket or a namespace', () => {
    const count = readdirSync('/proc/self/fd').length;
    const made = native.nsMakeConnected as unknown as (...a: unknown[]) => unknown;
    const req = (seq: number) => nlmsg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
    const none = new Uint32Array(0);
    const cases: Array<[string, unknown[]]> = [
      ['no arguments', []],
      ['steps not an array', [req(1), none]],
      [
        'patches not a Uint32Array',
        [
          [req(1), false],
          [1, 20, 0],
        ],
      ],
      ['patches an Int32Array', [[req(1), false], new Int32Array(3)]],
      ['no step', [[], none]],
      ['four steps', [[req(1), false, req(2), false, req(3), true, req(4), true], none]],
      ['a step without its inner flag', [[req(1)], none]],
      ['a step not a Buffer', [['x', false], none]],
      ['a request without NLM_F_ACK', [[nlmsg(RTM_GETLINK, NLM_F_REQUEST, 1), false], none]],
      ['a dump', [[nlmsg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, 1), false], none]],
      ['step 0 inside', [[req(1), true], none]],
      ['step 0 of two requests', [[Buffer.concat([req(1), req(2)]), false], none]],
      ['patches not triples', [[req(1), false, req(2), false], new Uint32Array([1, 20])]],
      ['a patch past its request', [[req(1), false, req(2), false], new Uint32Array([1, 32, 0])]],
      ['a patch not 4-aligned', [[req(1), false, req(2), false], new Uint32Array([1, 18, 0])]],
      ['a patch of a step that is not there', [[req(1), false], new Uint32Array([1, 20, 0])]],
      ['an index patch on step 0', [[req(1), false], new Uint32Array([0, 20, 0])]],
      ['the namespace fd on step 1', [[req(1), false, req(2), false], new Uint32Array([1, 20, 2])]],
      ['an unknown patch', [[req(1), false, req(2), false], new Uint32Array([1, 20, 3])]],
    ];
    for (const [what, args] of cases) expectTyped(() => made(...args), `nsMakeConnected: ${what}`);
    expect(readdirSync('/proc/self/fd').length).toBe(count);
  });

  it('killReap(undefined) throws ERR_INVALID_ARG_TYPE and leaves fd 0 open', () => {
    expectTyped(() => (native.killReap as (fd?: unknown) => void)(undefined), 'killReap(undefined)');
  });

  it.each(FUNCTIONS)('%s refuses each bad argument before acting', (name, valid, kinds) => {
    const fn = (native as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!;
    for (const [label, args] of variants(valid, kinds)) expectTyped(() => fn(...args), `${name}(${label})`);
  });

  it.each(CONSTRUCTORS)('new %s refuses each bad argument before acting', (name, valid, kinds) => {
    const C = (native as unknown as Record<string, new (...a: unknown[]) => unknown>)[name]!;
    for (const [label, args] of variants(valid, kinds)) expectTyped(() => new C(...args), `new ${name}(${label})`);
  });

  it('spawn refuses a bad plan, maps or parent side before cloning', () => {
    const p = harmlessPlan();
    const spawn = native.spawn as unknown as (...a: unknown[]) => unknown;
    const cases: Array<[string, unknown[]]> = [
      ['no plan', []],
      ['ops not Int32Array', [Array.from(p.ops), p.strings, null]],
      ['strings not a Buffer', [p.ops, 'x', null]],
      ['maps a number', [p.ops, p.strings, 1]],
      ['maps.mode unknown', [p.ops, p.strings, { mode: 'x', uidMap: '', gidMap: '', denySetgroups: false }]],
      ['maps.uidMap missing', [p.ops, p.strings, { mode: 'direct', gidMap: '', denySetgroups: false }]],
      [
        'maps helper without argv',
        [p.ops, p.strings, { mode: 'helper', uidMap: '', gidMap: '', denySetgroups: false, uidHelper: [], gidHelper: [] }],
      ],
      [
        'maps helper argv with NUL',
        [p.ops, p.strings, { mode: 'helper', uidMap: '', gidMap: '', denySetgroups: false, uidHelper: ['a\0b'], gidHelper: ['x'] }],
      ],
      [
        'maps.idmapSources: 9',
        [p.ops, p.strings, { mode: 'direct', uidMap: '', gidMap: '', denySetgroups: false, idmapSources: new Array(9).fill('/') }],
      ],
      ['parent a string', [p.ops, p.strings, null, 'x']],
      ['parent.rlimits not BigUint64Array', [p.ops, p.strings, null, { rlimits: [1, 2, 3] }]],
      ['parent.rlimits not triples', [p.ops, p.strings, null, { rlimits: new BigUint64Array(2) }]],
      ['parent.rlimits soft > hard', [p.ops, p.strings, null, { rlimits: new BigUint64Array([7n, 2n, 1n]) }]],
      ['parent.oomScoreAdj 1001', [p.ops, p.strings, null, { oomScoreAdj: 1001 }]],
      ['parent.oomScoreAdj 1.5', [p.ops, p.strings, null, { oomScoreAdj: 1.5 }]],
    ];
    for (const [label, args] of cases) expectTyped(() => spawn(...args), `spawn: ${label}`);
    // spawnAsync reads the same arguments the same way, and needs its callback.
    const spawnAsync = native.spawnAsync as unknown as (...a: unknown[]) => unknown;
    const cb = () => {
      throw new Error('nothing may be spawned');
    };
    const asyncArgs = (args: unknown[]) => [...args, ...new Array(Math.max(0, 5 - args.length)).fill(undefined), cb];
    for (const [label, args] of cases.slice(1)) expectTyped(() => spawnAsync(...asyncArgs(args)), `spawnAsync: ${label}`);
    expectTyped(() => spawnAsync(p.ops, p.strings, null, undefined, undefined), 'spawnAsync: no callback');
    const helperMaps = { mode: 'helper', uidMap: '', gidMap: '', denySetgroups: false, uidHelper: ['x'], gidHelper: ['x'] };
    for (const helperTimeout of [0, -1, 'x'])
      expectTyped(() => spawn(p.ops, p.strings, { ...helperMaps, helperTimeout }), `spawn: helperTimeout ${String(helperTimeout)}`);
    // A getter that throws: its error comes through, and nothing is spawned.
    const boom = new Error('getter');
    const maps = {
      mode: 'direct',
      uidMap: '',
      denySetgroups: false,
      get gidMap(): string {
        throw boom;
      },
    };
    expect(() => spawn(p.ops, p.strings, maps)).toThrow(boom);
    expect(fds.map(identity)).toEqual(before);
  });

  it('methods of native objects check their arguments', () => {
    const [r, w] = native.pipe();
    const listener = new native.SeccompListener(r, () => {});
    try {
      const l = listener as unknown as Record<string, (...a: unknown[]) => unknown>;
      expectTyped(() => l.respond!(1n, 0n, 'x', 0), 'respond(error "x")');
      expectTyped(() => l.respond!(1n, 0n, 0, -1), 'respond(flags -1)');
      expectTyped(() => l.respond!(1, 0n, 0, 0), 'respond(id 1)');
      expectTyped(() => l.addFd!(1n, -1, 0, 0, 0), 'addFd(srcfd -1)');
      expectTyped(() => l.addFd!(1n, sentinel, NaN, 0, 0), 'addFd(newfd NaN)');
      expectTyped(() => l.idValid!('x'), 'idValid("x")');
      expectTyped(() => l.ref!('x'), 'ref("x")');
    } finally {
      listener.close();
      native.close(w);
    }
    const sock = new native.NetlinkSocket(-1, 0, () => {});
    try {
      const s = sock as unknown as Record<string, (...a: unknown[]) => unknown>;
      expectTyped(() => s.send!('x'), 'send("x")');
      expectTyped(() => s.ref!(undefined), 'ref(undefined)');
    } finally {
      sock.close();
    }
    // An init runs the exec step after it: anywhere else (or without one) it is refused.
    for (const bad of [new PlanBuilder().init(), new PlanBuilder().init().setsid().exec('/bin/true', false, ['true'], [])]) {
      const p = bad.build();
      expect(() => native.spawn(p.ops, p.strings, null)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    }
    // A gate: one, exec last, only the filters between them, never with PDEATHSIG or an init;
    // refused before its socket is made.
    const gate = '/tmp/nsbox-never-made.sock';
    const exec = (b: PlanBuilder) => b.exec('/bin/true', false, ['true'], []);
    for (const bad of [
      new PlanBuilder().gate(gate),
      exec(new PlanBuilder().gate(gate).gate(gate)),
      exec(new PlanBuilder().gate(gate).setsid()),
      exec(new PlanBuilder().gate(gate).umask(0o22)),
      exec(new PlanBuilder().gate(gate).seccomp(8 /* NEW_LISTENER */, new Uint8Array(8))),
      exec(new PlanBuilder().pdeathsig(9).gate(gate)),
      exec(new PlanBuilder().gate(gate).init()),
    ]) {
      const p = bad.build();
      expect(() => native.spawn(p.ops, p.strings, null)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    }
    expect(existsSync(gate)).toBe(false);
    const plan = new PlanBuilder().exec('/bin/sleep', false, ['sleep', '10'], []).build();
    const child = native.spawn(plan.ops, plan.strings, null);
    if (!child.ok) throw new Error(`spawn failed: ${child.errno}`);
    const watch = native.watchChild(child.pid, child.pidfd, () => {});
    const wr = watch as unknown as Record<string, (...a: unknown[]) => unknown>;
    expectTyped(() => wr.kill!('x'), 'kill("x")');
    expectTyped(() => wr.kill!(65), 'kill(65)');
    expectTyped(() => wr.ref!(1), 'ref(1)');
    expect(watch.kill(constants.signals.SIGKILL)).toBe(0);
  });
});
