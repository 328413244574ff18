// spawn's `hooks` without the kernel: misuse is a synchronous ERR_* error before any native
// call; a state object becomes the JSON around the pid the child writes; the plan carries
// each hook where it runs (the parent, the child before pivot_root, the child before execve).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi, type MockInstance } from 'vitest';
import { spawn, type SpawnOptions } from '../../src/index.js';
import { checkHooks } from '../../src/namespaces/hooks.js';
import { K, native } from '../../src/native.js';

let dir: string;
let spies: MockInstance[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsbox-hooks-unit-'));
  spies = (['spawn', 'pipe', 'devNull', 'close'] as const).map((name) => vi.spyOn(native, name));
});
afterAll(() => {
  for (const s of spies) s.mockRestore();
  rmSync(dir, { recursive: true, force: true });
});

const container = (hooks: unknown, o: SpawnOptions = {}): SpawnOptions => ({
  namespaces: ['user', 'mnt'],
  rootfs: dir,
  hooks: hooks as SpawnOptions['hooks'],
  ...o,
});

describe('validation, before any native call', () => {
  test.each([
    ['not an object', 'x', 'ERR_INVALID_ARG_TYPE', 'options.hooks'],
    ['an unknown kind', { poststart: [] }, 'ERR_INVALID_ARG_VALUE', 'options.hooks.poststart'],
    ['a list that is not an array', { createContainer: {} }, 'ERR_INVALID_ARG_TYPE', 'options.hooks.createContainer'],
    ['a hook that is not an object', { startContainer: ['/bin/true'] }, 'ERR_INVALID_ARG_TYPE', 'options.hooks.startContainer[0]'],
    ['a relative path', { startContainer: [{ path: 'true' }] }, 'ERR_INVALID_ARG_VALUE', 'options.hooks.startContainer[0].path'],
    ['a path with a NUL', { startContainer: [{ path: '/bin/\0x' }] }, 'ERR_INVALID_ARG_VALUE', 'options.hooks.startContainer[0].path'],
    ['no path', { startContainer: [{ args: ['x'] }] }, 'ERR_INVALID_ARG_TYPE', 'options.hooks.startContainer[0].path'],
    [
      'an unknown hook option',
      { startContainer: [{ path: '/x', tiemout: 1 }] },
      'ERR_INVALID_ARG_VALUE',
      'options.hooks.startContainer[0].tiemout',
    ],
    ['args not an array', { startContainer: [{ path: '/x', args: 'x' }] }, 'ERR_INVALID_ARG_TYPE', 'options.hooks.startContainer[0].args'],
    [
      'an arg not a string',
      { startContainer: [{ path: '/x', args: ['x', 1] }] },
      'ERR_INVALID_ARG_TYPE',
      'options.hooks.startContainer[0].args[1]',
    ],
    ['env as a list', { startContainer: [{ path: '/x', env: ['A=1'] }] }, 'ERR_INVALID_ARG_TYPE', 'options.hooks.startContainer[0].env'],
    [
      'an env name with =',
      { startContainer: [{ path: '/x', env: { 'A=B': '1' } }] },
      'ERR_INVALID_ARG_VALUE',
      'options.hooks.startContainer[0].env',
    ],
    [
      'an env value not a string',
      { startContainer: [{ path: '/x', env: { A: 1 } }] },
      'ERR_INVALID_ARG_TYPE',
      'options.hooks.startContainer[0].env.A',
    ],
    ['a timeout of 0', { startContainer: [{ path: '/x', timeout: 0 }] }, 'ERR_OUT_OF_RANGE', 'options.hooks.startContainer[0].timeout'],
    [
      'a timeout of 2^31 ms',
      { startContainer: [{ path: '/x', timeout: 2 ** 31 }] },
      'ERR_OUT_OF_RANGE',
      'options.hooks.startContainer[0].timeout',
    ],
    [
      'a timeout that is NaN',
      { startContainer: [{ path: '/x', timeout: Number.NaN }] },
      'ERR_OUT_OF_RANGE',
      'options.hooks.startContainer[0].timeout',
    ],
    [
      'stdin with a NUL',
      { startContainer: [{ path: '/x', stdin: 'a\0b' }] },
      'ERR_INVALID_ARG_VALUE',
      'options.hooks.startContainer[0].stdin',
    ],
    [
      'stdin and state',
      { startContainer: [{ path: '/x', stdin: 'a', state: {} }] },
      'ERR_INVALID_ARG_VALUE',
      'options.hooks.startContainer[0].stdin',
    ],
    [
      'a state that is an array',
      { startContainer: [{ path: '/x', state: [] }] },
      'ERR_INVALID_ARG_TYPE',
      'options.hooks.startContainer[0].state',
    ],
    [
      'a state JSON cannot write',
      { startContainer: [{ path: '/x', state: { n: 1n } }] },
      'ERR_INVALID_ARG_VALUE',
      'options.hooks.startContainer[0].state',
    ],
  ])('%s: %s naming %s', (_what, hooks, code, name) => {
    for (const s of spies) s.mockClear();
    expect(() => spawn('/bin/true', container(hooks))).toThrow(expect.objectContaining({ code, message: expect.stringContaining(name) }));
    for (const s of spies) expect(s).not.toHaveBeenCalled();
  });

  test('createRuntime and createContainer need a container root (they run before pivot_root)', () => {
    for (const kind of ['createRuntime', 'createContainer']) {
      for (const s of spies) s.mockClear();
      expect(() => spawn('/bin/true', { namespaces: ['user'], hooks: { [kind]: [{ path: '/bin/true' }] } })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining(`options.hooks.${kind}`) }),
      );
      for (const s of spies) expect(s).not.toHaveBeenCalled();
    }
    // startContainer needs nothing of the kind.
    expect(checkHooks({ startContainer: [{ path: '/bin/true' }] }, { container: false, joinUser: false })?.startContainer).toHaveLength(1);
  });

  test('createContainer is refused with a joined user namespace (its processes could ptrace the hook, whose root is the host)', () => {
    for (const s of spies) s.mockClear();
    expect(() =>
      spawn('/bin/true', container({ createContainer: [{ path: '/bin/true' }] }, { namespaces: ['mnt'], join: { user: process.pid } })),
    ).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining('options.hooks.createContainer') }),
    );
    for (const s of spies) expect(s).not.toHaveBeenCalled();
  });
});

describe('what the plan carries', () => {
  const one = (h: object) => checkHooks({ startContainer: [h] }, { container: false, joinUser: false })!.startContainer[0]!;

  test('defaults: argv [path], no environment, no timeout, an empty stdin', () => {
    expect(one({ path: '/bin/hook' })).toEqual({
      path: '/bin/hook',
      argv: ['/bin/hook'],
      env: [],
      timeout: 0,
      before: '',
      after: '',
      pid: false,
    });
  });

  test('args, env as NAME=value, the timeout in whole milliseconds, stdin as given', () => {
    expect(one({ path: '/h', args: ['h', '-v'], env: { A: '1', B: 'x=y' }, timeout: 1.5, stdin: 'in' })).toEqual({
      path: '/h',
      argv: ['h', '-v'],
      env: ['A=1', 'B=x=y'],
      timeout: 2,
      before: 'in',
      after: '',
      pid: false,
    });
  });

  test.each([
    [{ ociVersion: '1.2.0', id: 'c', status: 'creating', pid: 0, bundle: '/b' }],
    [{ id: 'c', annotations: { 'a.b': 'x"y' } }],
    [{}],
    [{ pid: 0, skip: undefined, n: [1, { m: null }] }],
  ])('a state %j is the JSON of itself with pid set, split where the pid goes', (state) => {
    const h = one({ path: '/h', state });
    expect(h.pid).toBe(true);
    const text = `${h.before}4242${h.after}`;
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify({ ...state, pid: 4242 })));
    expect(Object.keys(JSON.parse(text))).toEqual(Object.keys(JSON.parse(JSON.stringify({ ...state, pid: 4242 }))));
  });

  test("spawn's plan: createRuntime (by the parent) and createContainer (chrooted into the host root) before pivot_root, after every mount; startContainer after the gate and the filters, right before exec", () => {
    let ops: Int32Array | undefined;
    const fake = vi.spyOn(native, 'spawn').mockImplementationOnce((o) => {
      ops = Int32Array.from(o);
      return { ok: false, step: -1, errno: 1, pid: 0 };
    });
    const gate = join(dir, 'g.sock');
    try {
      spawn(
        '/bin/true',
        container(
          {
            createRuntime: [{ path: '/r' }],
            createContainer: [{ path: '/c', state: { id: 'x' } }],
            startContainer: [{ path: '/s' }],
          },
          {
            stdio: 'ignore',
            startGate: gate,
            dieWithParent: false,
            noNewPrivileges: true,
            seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] },
          },
        ),
      );
    } catch {
      // the fake failure
    } finally {
      fake.mockRestore();
    }
    // The steps, in order, as [op, first args].
    const steps: number[][] = [];
    for (let i = 5, k = 0; k < ops![4]!; k++) {
      steps.push([...ops!.subarray(i, i + 2 + ops![i + 1]!)].filter((_, j) => j !== 1));
      i += 2 + ops![i + 1]!;
    }
    const at = (op: number, where?: number) => steps.findIndex((st) => st[0] === op && (where === undefined || st[2] === where));
    const mounts = steps.flatMap((st, i) => (st[0] === K.OP.MOUNT ? [i] : []));
    const [rt, cc, sc] = [at(K.OP.HOOK!, K.HOOK_CALLER), at(K.OP.HOOK!, K.HOOK_HOST), at(K.OP.HOOK!, K.HOOK_HERE)];
    expect([rt, cc, sc].every((i) => i >= 0)).toBe(true);
    // The bind of the container's root over its own path comes right before createContainer.
    expect(Math.max(...mounts)).toBe(cc - 1);
    expect(rt).toBeLessThan(cc);
    expect(cc).toBeLessThan(at(K.OP.PIVOT!));
    expect(at(K.OP.GATE!)).toBeLessThan(sc);
    expect(at(K.OP.SECCOMP!)).toBeLessThan(sc);
    expect(sc).toBe(steps.length - 2);
    expect(steps.at(-1)![0]).toBe(K.OP.EXEC);
    // Only createContainer's state asks for the pid.
    expect([rt, cc, sc].map((i) => steps[i]![4])).toEqual([0, 1, 0]);
  });
});
