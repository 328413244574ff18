// Misuse is a synchronous ERR_* error thrown before any syscall: every native entry point
// the namespace and net modules use is spied on and must stay uncalled.
import { afterAll, beforeEach, describe, expect, test, vi, type MockInstance } from 'vitest';
import { native } from '../../src/native.js';
import {
  Namespace,
  createNamespace,
  openNamespace,
  openNamespacePath,
  persistNamespace,
  setns,
  unpersistNamespace,
  unshare,
  withNamespaces,
} from '../../src/namespaces/index.js';
import { createNetns, deleteNetns, openNetns } from '../../src/net/index.js';

const entryPoints = [
  'nsOpen',
  'nsStat',
  'nsGetType',
  'nsGetRelative',
  'nsGetOwnerUid',
  'close',
  'setnsThread',
  'unshareThread',
  'nsCreate',
  'mountIn',
  'umountIn',
] as const;
let spies: MockInstance[] = [];

beforeEach(() => {
  for (const s of spies) s.mockRestore();
  spies = entryPoints.map((name) => vi.spyOn(native, name));
});
afterAll(() => {
  for (const s of spies) s.mockRestore();
});

/** Runs `fn`, expects a misuse error with `code`, and no native call at all. */
function misuse(fn: () => unknown, code: string, ctor: ErrorConstructor = Error): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ctor);
  expect(err).toMatchObject({ code });
  for (const s of spies) expect(s).not.toHaveBeenCalled();
}

test('control: the spies do see native calls', () => {
  const ns = openNamespace('net');
  ns.close();
  const called = spies.filter((s) => s.mock.calls.length > 0).map((s) => s.getMockName());
  expect(called).toEqual(expect.arrayContaining(['nsOpen', 'nsGetType', 'close']));
});

describe('openNamespace', () => {
  test('type', () => {
    misuse(() => openNamespace('bogus' as never), 'ERR_INVALID_ARG_VALUE', TypeError);
    misuse(() => openNamespace(1 as never), 'ERR_INVALID_ARG_TYPE', TypeError);
    misuse(() => openNamespace(undefined as never), 'ERR_INVALID_ARG_TYPE', TypeError);
    misuse(() => openNamespace('NET' as never), 'ERR_INVALID_ARG_VALUE', TypeError);
  });
  test('options and pid', () => {
    misuse(() => openNamespace('net', null as never), 'ERR_INVALID_ARG_TYPE', TypeError);
    misuse(() => openNamespace('net', { pid: '1' as never }), 'ERR_INVALID_ARG_TYPE', TypeError);
    misuse(() => openNamespace('net', { pid: -1 }), 'ERR_OUT_OF_RANGE', RangeError);
    misuse(() => openNamespace('net', { pid: 0 }), 'ERR_OUT_OF_RANGE', RangeError);
    misuse(() => openNamespace('net', { pid: 1.5 }), 'ERR_OUT_OF_RANGE', RangeError);
    misuse(() => openNamespace('net', { pid: NaN }), 'ERR_OUT_OF_RANGE', RangeError);
    misuse(() => openNamespace('net', { pid: 2 ** 31 }), 'ERR_OUT_OF_RANGE', RangeError);
  });
});

describe('openNamespacePath', () => {
  test('path', () => {
    misuse(() => openNamespacePath(3 as never), 'ERR_INVALID_ARG_TYPE', TypeError);
    misuse(() => openNamespacePath(''), 'ERR_INVALID_ARG_VALUE', TypeError);
    misuse(() => openNamespacePath('/proc/self/ns/net\0x'), 'ERR_INVALID_ARG_VALUE', TypeError);
  });
});

describe('createNamespace', () => {
  test('unknown and thread-impossible kinds', () => {
    misuse(() => createNamespace('bogus' as never), 'ERR_INVALID_ARG_VALUE', TypeError);
    misuse(() => createNamespace(7 as never), 'ERR_INVALID_ARG_TYPE', TypeError);
    for (const t of ['user', 'pid', 'time']) misuse(() => createNamespace(t as never), 'ERR_NSBOX_THREAD_NAMESPACE');
  });
  test('the thread error says why and points to spawn()', () => {
    for (const t of ['user', 'pid', 'time']) expect(() => createNamespace(t as never)).toThrow(/spawn\(\)/);
  });
});

describe('unshare / setns / withNamespaces', () => {
  test('unshare', () => {
    misuse(() => unshare('net' as never), 'ERR_INVALID_ARG_TYPE', TypeError);
    misuse(() => unshare([]), 'ERR_INVALID_ARG_VALUE', TypeError);
    misuse(() => unshare(['bogus' as never]), 'ERR_INVALID_ARG_VALUE', TypeError);
    misuse(() => unshare([1 as never]), 'ERR_INVALID_ARG_TYPE', TypeError);
    for (const t of ['user', 'mnt', 'pid', 'time']) misuse(() => unshare([t as never]), 'ERR_NSBOX_THREAD_NAMESPACE');
    misuse(() => unshare(['net', 'mnt' as never]), 'ERR_NSBOX_THREAD_NAMESPACE');
  });
  test('setns and withNamespaces', () => {
    misuse(() => setns(1 as never), 'ERR_INVALID_ARG_TYPE', TypeError);
    misuse(() => setns([{}] as never), 'ERR_INVALID_ARG_TYPE', TypeError);
    misuse(() => setns([]), 'ERR_INVALID_ARG_VALUE', TypeError);
    misuse(() => withNamespaces([], () => 1), 'ERR_INVALID_ARG_VALUE', TypeError);
    misuse(() => withNamespaces(1 as never, () => 1), 'ERR_INVALID_ARG_TYPE', TypeError);
  });
  test('withNamespaces needs a function', () => {
    for (const s of spies) s.mockRestore();
    const ns = openNamespace('net');
    spies = entryPoints.map((name) => vi.spyOn(native, name));
    try {
      misuse(() => withNamespaces(ns, 'x' as never), 'ERR_INVALID_ARG_TYPE', TypeError);
    } finally {
      ns.close();
    }
  });
});

describe('persist', () => {
  test('persistNamespace and unpersistNamespace arguments', () => {
    misuse(() => persistNamespace({} as Namespace, '/tmp/x'), 'ERR_INVALID_ARG_TYPE', TypeError);
    misuse(() => unpersistNamespace('relative/path'), 'ERR_INVALID_ARG_VALUE', TypeError);
    misuse(() => unpersistNamespace(1 as never), 'ERR_INVALID_ARG_TYPE', TypeError);
    misuse(() => unpersistNamespace(''), 'ERR_INVALID_ARG_VALUE', TypeError);
  });
  test('a relative persist path, a closed handle', () => {
    for (const s of spies) s.mockRestore();
    const ns = openNamespace('net');
    const closed = openNamespace('net');
    closed.close();
    spies = entryPoints.map((name) => vi.spyOn(native, name));
    try {
      misuse(() => persistNamespace(ns, 'x'), 'ERR_INVALID_ARG_VALUE', TypeError);
      misuse(() => persistNamespace(ns, '/tmp/x', { exclusive: 'yes' as never }), 'ERR_INVALID_ARG_TYPE', TypeError);
      misuse(() => persistNamespace(closed, '/tmp/nsbox-never-created'), 'ERR_HANDLE_CLOSED');
    } finally {
      for (const s of spies) s.mockRestore();
      ns.close();
    }
  });
});

describe('netns names', () => {
  const bad = ['', '.', '..', 'a/b', '/abs', 'nul\0', 'x'.repeat(256), 'é'.repeat(128)];
  test.each([
    ['createNetns', createNetns],
    ['openNetns', openNetns],
    ['deleteNetns', deleteNetns],
  ] as const)('%s rejects bad names', (_name, fn) => {
    for (const name of bad) misuse(() => fn(name), 'ERR_INVALID_ARG_VALUE', TypeError);
    misuse(() => fn(1 as never), 'ERR_INVALID_ARG_TYPE', TypeError);
  });
  test('255 bytes is the limit, not 255 characters', () => {
    expect(Buffer.byteLength('é'.repeat(128))).toBe(256);
    // 255 ASCII bytes passes validation and reaches the file system (ENOENT: no such netns).
    for (const s of spies) s.mockRestore();
    expect(() => openNetns('x'.repeat(255))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});

describe('Namespace', () => {
  test('cannot be constructed from JS', () => {
    const Ctor = Namespace as unknown as new (...a: unknown[]) => Namespace;
    expect(() => new Ctor()).toThrow(TypeError);
    for (const s of spies) expect(s).not.toHaveBeenCalled();
  });
});

describe('isNamespaceType', () => {
  test('true for exactly the kinds of /proc/self/ns that can be created or joined', async () => {
    const { readdirSync } = await import('node:fs');
    const { NAMESPACE_TYPES, isNamespaceType } = await import('../../src/namespaces/index.js');
    // The kernel's own list (the witness): every entry of /proc/self/ns but the *_for_children links.
    const kernel = readdirSync('/proc/self/ns').filter((n) => !n.endsWith('_for_children'));
    for (const n of kernel) expect(isNamespaceType(n), n).toBe(true);
    expect([...NAMESPACE_TYPES].sort()).toEqual(expect.arrayContaining(kernel.sort()));
    for (const t of NAMESPACE_TYPES) expect(isNamespaceType(t), t).toBe(true);
  });

  test('false, never a throw, for anything else', async () => {
    const { isNamespaceType } = await import('../../src/namespaces/index.js');
    const others: unknown[] = [
      'pid_for_children',
      'time_for_children',
      'NET',
      'net ',
      ' net',
      'mount',
      'network',
      '',
      'net\0',
      'toString',
      'constructor',
      '__proto__',
      'length',
      0,
      1,
      null,
      undefined,
      {},
      ['net'],
      new String('net'),
      Symbol('net'),
      () => 'net',
    ];
    for (const v of others) expect(isNamespaceType(v), String(typeof v === 'symbol' ? v.description : v)).toBe(false);
    for (const s of spies) expect(s).not.toHaveBeenCalled();
  });
});
