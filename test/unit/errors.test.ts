// Error shapes: SysError looks like Node's own system errors, the ERR_* helpers like Node's
// internal errors. Node itself is the witness wherever it throws the same kind of error.
import { setMaxListeners } from 'node:events';
import { closeSync, existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { getSystemErrorName, inspect } from 'node:util';
import { describe, expect, test } from 'vitest';
import { SysError, handleClosed, invalidArgType, invalidArgValue, nsboxError, outOfRange } from '../../src/errors.js';
import { EXTRA_ERRNOS } from '../../src/errnos.js';

function thrownBy(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('did not throw');
}

describe('SysError', () => {
  test.each([
    [1, 'EPERM'],
    [2, 'ENOENT'],
    [13, 'EACCES'],
    [17, 'EEXIST'],
    [22, 'EINVAL'],
    [28, 'ENOSPC'],
    [16, 'EBUSY'],
    [3, 'ESRCH'],
    [25, 'ENOTTY'],
  ])('errno %i is %s, negative, and util.getSystemErrorName agrees', (n, code) => {
    for (const given of [n, -n]) {
      const err = new SysError(given, 'open');
      expect(err.errno).toBe(-n);
      expect(err.code).toBe(code);
      expect(getSystemErrorName(err.errno)).toBe(err.code);
    }
  });

  test('message reads like Node: code, description, syscall, paths', () => {
    const err = new SysError(1, 'mount', { path: 'a', dest: 'b' });
    expect(err.message).toBe("EPERM: operation not permitted, mount 'a' -> 'b'");
    expect(err.stack!.split('\n')[0]).toBe("SysError: EPERM: operation not permitted, mount 'a' -> 'b'");
  });

  test('the message matches the one Node builds for the same fs failure', () => {
    const node = thrownBy(() => readFileSync('/nonexistent-nsbox-path')) as NodeJS.ErrnoException;
    const ours = new SysError(node.errno!, node.syscall!, { path: node.path! });
    expect(ours.message).toBe(node.message);
    expect(ours).toMatchObject({ errno: node.errno, code: node.code, syscall: node.syscall, path: node.path });
  });

  test('a spawn step is appended after the paths', () => {
    const err = new SysError(2, 'execve', { path: 'nope', step: 'exec', pid: 42 });
    expect(err.message).toBe("ENOENT: no such file or directory, execve 'nope' (spawn step 'exec')");
    expect(err).toMatchObject({ step: 'exec', pid: 42, path: 'nope' });
  });

  test('is an Error and a SysError; name lives on the prototype', () => {
    const err = new SysError(1, 'setns');
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(SysError);
    expect(err.name).toBe('SysError');
    expect(Object.hasOwn(err, 'name')).toBe(false);
  });

  test('own enumerable keys are those of a Node system error, unset context absent', () => {
    expect(Object.keys(new SysError(1, 'unshare'))).toEqual(['errno', 'code', 'syscall']);
    expect(Object.keys(new SysError(1, 'mount', { path: 'a', dest: 'b' }))).toEqual(['errno', 'code', 'syscall', 'path', 'dest']);
    const spawnErr = new SysError(1, 'setns', { step: 'setns:net', pid: 7 });
    expect(Object.keys(spawnErr)).toEqual(['errno', 'code', 'syscall', 'step', 'pid']);
    for (const k of ['path', 'dest'] as const) expect(k in spawnErr).toBe(false);
    const node = thrownBy(() => readFileSync('/nonexistent-nsbox-path'));
    expect(Object.keys(new SysError(2, 'open', { path: 'x' }))).toEqual(Object.keys(node));
  });

  test('inspect shows no undefined fields', () => {
    const shown = inspect(new SysError(1, 'unshare'));
    expect(shown).not.toMatch(/undefined/);
    expect(shown).toMatch(/code: 'EPERM'/);
  });

  // 41 and 58 are holes in the asm-generic numbering (EWOULDBLOCK and EDEADLOCK are aliases
  // of 11 and 35), so no name exists for them on x86-64 or arm64.
  const HOLES = new Set([41, 58]);
  const numbered = Array.from({ length: 133 }, (_, i) => i + 1).filter((n) => !HOLES.has(n));

  test.each(numbered)('errno %i gets a real E* code and description', (n) => {
    const err = new SysError(n, 'x');
    expect(err.code).toMatch(/^E[A-Z0-9]+$/);
    expect(err.message).not.toMatch(/unknown/i);
    expect(err.message.startsWith(`${err.code}: `)).toBe(true);
  });

  test('EUSERS (87), which Node does not name, is named', () => {
    const err = new SysError(87, 'setns', { step: 'setns:time' });
    expect(err.code).toBe('EUSERS');
    expect(err.message).toBe("EUSERS: too many users, setns (spawn step 'setns:time')");
  });

  test('the holes stay unknown rather than guessed', () => {
    for (const n of HOLES) expect(new SysError(n, 'x').code).toBe(`Unknown system error ${n}`);
  });

  test('the fallback table only fills what Node lacks', () => {
    for (const n of EXTRA_ERRNOS.keys()) expect(getSystemErrorName(-n)).toMatch(/^Unknown system error/);
  });

  const headers = ['/usr/include/asm-generic/errno-base.h', '/usr/include/asm-generic/errno.h'];
  const haveHeaders = headers.every((h) => existsSync(h));
  test.skipIf(!haveHeaders)('codes agree with the kernel headers (needs linux-libc-dev)', () => {
    const kernel = new Map<number, string>();
    for (const h of headers) {
      for (const m of readFileSync(h, 'utf8').matchAll(/^#define\s+(E[A-Z0-9]+)\s+(\d+)\b/gm)) {
        if (!kernel.has(Number(m[2]))) kernel.set(Number(m[2]), m[1]!);
      }
    }
    expect(kernel.size).toBeGreaterThan(120);
    for (const [n, name] of kernel) {
      const code = new SysError(n, 'x').code;
      // Node names 95 ENOTSUP where the kernel says EOPNOTSUPP (same number on Linux).
      expect(code === name || code === getSystemErrorName(-n)).toBe(true);
    }
  });
});

describe('ERR_* helpers', () => {
  test('invalidArgType: TypeError ERR_INVALID_ARG_TYPE with the message Node writes', () => {
    // path.basename validates in JS (lib/internal/validators.js): Node's canonical wording.
    const values: unknown[] = [5n, true, 1.5, null, undefined, {}, [1], Object.create(null), function named() {}, Symbol('s')];
    for (const bad of values) {
      const node = thrownBy(() => basename(bad as string));
      const ours = invalidArgType('path', 'of type string', bad);
      expect(ours).toBeInstanceOf(TypeError);
      expect(ours.code).toBe('ERR_INVALID_ARG_TYPE');
      expect(node.code).toBe('ERR_INVALID_ARG_TYPE');
      expect(ours.message).toBe(node.message);
    }
    const long = 'a string longer than twenty-eight characters';
    const node = thrownBy(() => setMaxListeners(long as unknown as number));
    expect(invalidArgType('setMaxListeners', 'of type number', long).message).toBe(node.message);
  });

  test('invalidArgType says "property" for a dotted name, as Node does', () => {
    expect(invalidArgType('options.cwd', 'of type string', 1).message).toBe(
      'The "options.cwd" property must be of type string. Received type number (1)',
    );
  });

  test('invalidArgValue: TypeError ERR_INVALID_ARG_VALUE with the message Node writes', () => {
    const node = thrownBy(() => readFileSync('/', { flag: 'bogus' }));
    const ours = invalidArgValue('flags', 'bogus');
    expect(ours).toBeInstanceOf(TypeError);
    expect(ours.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(node.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(ours.message).toBe(node.message);
    expect(invalidArgValue('options.x', 1, 'is not a spawn option').message).toBe(
      "The property 'options.x' is not a spawn option. Received 1",
    );
  });

  test('outOfRange: RangeError ERR_OUT_OF_RANGE with the message Node writes', () => {
    const node = thrownBy(() => closeSync(-1));
    const ours = outOfRange('fd', '>= 0 && <= 2147483647', -1);
    expect(ours).toBeInstanceOf(RangeError);
    expect(ours.code).toBe('ERR_OUT_OF_RANGE');
    expect(ours.message).toBe(node.message);
  });

  test('handleClosed and nsboxError: plain Error with the code', () => {
    const closed = handleClosed('Namespace net:[1]');
    expect(closed).toBeInstanceOf(Error);
    expect(closed).not.toBeInstanceOf(TypeError);
    expect(closed.code).toBe('ERR_HANDLE_CLOSED');
    expect(closed.message).toBe('Namespace net:[1] is closed');
    const other = nsboxError('ERR_NSBOX_UNSUPPORTED', 'nope');
    expect(other.code).toBe('ERR_NSBOX_UNSUPPORTED');
    expect(other.message).toBe('nope');
  });

  test.each([
    ['TypeError', 'ERR_INVALID_ARG_TYPE', () => invalidArgType('a', 'of type string', 1)],
    ['TypeError', 'ERR_INVALID_ARG_VALUE', () => invalidArgValue('a', 1)],
    ['RangeError', 'ERR_OUT_OF_RANGE', () => outOfRange('a', '>= 0', -1)],
    ['Error', 'ERR_HANDLE_CLOSED', () => handleClosed('x')],
    ['Error', 'ERR_NSBOX_THREAD_NAMESPACE', () => nsboxError('ERR_NSBOX_THREAD_NAMESPACE', 'm')],
  ] as const)('the stack starts with "%s [%s]: ", as Node prints its errors', (cls, code, make) => {
    const err = make();
    expect(err.stack!.startsWith(`${cls} [${code}]: ${err.message}`)).toBe(true);
    expect(err.name).toBe(cls);
    expect(Object.keys(err)).toEqual(['code']);
  });
});

describe('netlink error shapes', () => {
  test('SysError carries ifname and kernelMessage as own enumerable data, in the message too', () => {
    const e = new SysError(17, 'RTM_NEWADDR', { ifname: 'eth0', kernelMessage: 'ipv4: Address already assigned' });
    expect(e).toMatchObject({
      code: 'EEXIST',
      errno: -17,
      syscall: 'RTM_NEWADDR',
      ifname: 'eth0',
      kernelMessage: 'ipv4: Address already assigned',
    });
    expect(Object.keys(e)).toEqual(expect.arrayContaining(['ifname', 'kernelMessage']));
    expect(e.message).toBe("EEXIST: file already exists, RTM_NEWADDR 'eth0' (kernel: ipv4: Address already assigned)");
    expect('kernelMessage' in new SysError(1, 'x')).toBe(false);
  });
  test('NetlinkDecodeError is an Error with its code and offset', async () => {
    const { NetlinkDecodeError } = await import('../../src/errors.js');
    const e = new NetlinkDecodeError('attribute length 9 overruns its container (4 bytes left)', 20);
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ name: 'NetlinkDecodeError', code: 'ERR_NSBOX_NETLINK_DECODE', offset: 20 });
  });
});
