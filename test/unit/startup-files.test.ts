// csrc/startup_files.cc: the native readers of what a short-lived nsbox process reads at
// start-up (the linked bins' source and code cache, the seccomp store's files, stat of host
// paths, small host text files). Each must accept exactly what the node:fs code it replaces accepted, and fail closed.
import {
  chmodSync,
  chownSync,
  fstatSync,
  lstatSync,
  mkdtempSync,
  openSync,
  closeSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  existsSync,
  readFileSync,
  readlinkSync,
} from 'node:fs';
import { constants as osConstants, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { K, native } from '../../src/native.js';
import { isDirectory, isSymbolicLink, pathExists, readLink, readTextFile, statPath } from '../../src/pathstat.js';
import { rootTest } from '../helpers/env.js';

const dir = mkdtempSync(join(tmpdir(), 'nsbox-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, data: string | Buffer, mode = 0o644) => {
  const p = join(dir, name);
  writeFileSync(p, data, { mode });
  chmodSync(p, mode);
  return p;
};
const openFds = () => {
  const fd = openSync('/proc/self/fd', 'r');
  closeSync(fd);
  return fd;
};

describe('readLinkedSource', () => {
  test('gives the text and the identity fs.Stats gives (size, mtimeMs, ino, uid)', () => {
    const p = file('a.cjs', 'module.exports = 1;\n');
    const r = native.readLinkedSource(p);
    expect(r).toBeDefined();
    const [source, , uid, size, sec, nsec, ino] = r!;
    const st = statSync(p);
    expect(source).toBe('module.exports = 1;\n');
    expect([size, sec * 1e3 + nsec / 1e6, ino, uid]).toEqual([st.size, st.mtimeMs, st.ino, st.uid]);
  });

  test('decodes UTF-8 as readFileSync does', () => {
    const text = '// × → µ\nexports.x = "é";\n';
    expect(native.readLinkedSource(file('u.cjs', text))![0]).toBe(text);
  });

  test('undefined for a missing path or a directory; bad arguments throw before any syscall', () => {
    expect(native.readLinkedSource(join(dir, 'missing.cjs'))).toBeUndefined();
    expect(native.readLinkedSource(dir)).toBeUndefined();
    expect(() => native.readLinkedSource(1 as unknown as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => native.readLinkedSource('a\0b')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});

describe('readLinkedCache', () => {
  const owner = process.geteuid!();
  test('the data after the header and generation line', () => {
    const p = file('c1.cache', 'HEADER 3\nDATA');
    const [data, generation] = native.readLinkedCache(p, 'HEADER ', owner)!;
    expect(data.toString()).toBe('DATA');
    expect(generation).toBe(3);
  });

  test('spaces may pad the generation line (up to 16); the data after it is whole, also when large', () => {
    const [data, generation] = native.readLinkedCache(file('c2.cache', 'HEADER 12      \nDATA'), 'HEADER ', owner)!;
    expect([data.toString(), generation]).toEqual(['DATA', 12]);
    // 300 kB (the CLI's cache is ~220 kB): handed over as the file's own pages, byte for byte.
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    const head = 'HEADER 2'.padEnd(15, ' ');
    const p = file('c3.cache', Buffer.concat([Buffer.from(`${head}\n`), big]));
    const [got] = native.readLinkedCache(p, 'HEADER ', owner)!;
    expect(got.equals(big)).toBe(true);
    expect(native.readLinkedCache(file('c4.cache', `HEADER 1${' '.repeat(17)}\nD`), 'HEADER ', owner)).toBeUndefined();
  });

  test.each([
    ['another header', 'OTHER 3\nDATA'],
    ['no generation', 'HEADER \nDATA'],
    ['no newline', 'HEADER 3'],
    ['nothing after the line', 'HEADER 3\n'],
    ['a generation that is not a number', 'HEADER x\nDATA'],
  ])('undefined for %s', (_, text) => {
    expect(native.readLinkedCache(file(`c-${text.length}-${text.charCodeAt(7)}.cache`, text), 'HEADER ', owner)).toBeUndefined();
  });

  test('undefined for a cache others may write (group or world)', () => {
    expect(native.readLinkedCache(file('g.cache', 'HEADER 1\nD', 0o664), 'HEADER ', owner)).toBeUndefined();
    expect(native.readLinkedCache(file('w.cache', 'HEADER 1\nD', 0o646), 'HEADER ', owner)).toBeUndefined();
  });

  rootTest("a cache owned by neither the caller nor the linked file's owner is refused; the file's owner's is taken", () => {
    const p = file('o.cache', 'HEADER 1\nD');
    chownSync(p, 65534, 65534);
    expect(native.readLinkedCache(p, 'HEADER ', 0)).toBeUndefined();
    expect(native.readLinkedCache(p, 'HEADER ', 65534)).toBeDefined();
  });

  test('bad arguments throw before any syscall', () => {
    expect(() => native.readLinkedCache(dir, 1 as unknown as string, 0)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => native.readLinkedCache(dir, 'H', -1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});

describe('readSeccompEntry (the seccomp store)', () => {
  const entry = (meta: string, key: string, program: Buffer) =>
    Buffer.concat([Buffer.from(`${meta}\n`), Buffer.from(key), Buffer.from('\n'), program]);
  const key = 'x86_64|null|6.18|{"defaultAction":"SCMP_ACT_ERRNO","comment":"é"}';

  test('the first line, the key length in UTF-8 bytes and a copy of the program, for exactly that key', () => {
    const p = file('s.bpf', entry('{"v":1}', key, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])), 0o600);
    const r = native.readSeccompEntry(p, key)!;
    expect(r[0]).toBe('{"v":1}');
    expect(r[1]).toBe(Buffer.byteLength(key));
    expect(r[2]).toBeInstanceOf(Uint8Array);
    expect([...r[2]]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(r[2].byteOffset).toBe(0);
    expect(r[2].buffer.byteLength).toBe(8); // its own memory, not a view of the file's bytes
  });

  test('undefined for another key, a key that is a prefix, a missing newline after the key or the meta line', () => {
    const p = file('k.bpf', entry('{"v":1}', key, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])), 0o600);
    expect(native.readSeccompEntry(p, `${key}x`)).toBeUndefined();
    expect(native.readSeccompEntry(p, key.slice(0, -1))).toBeUndefined();
    expect(native.readSeccompEntry(p, key.replace('é', 'e'))).toBeUndefined();
    expect(native.readSeccompEntry(file('n1.bpf', `{"v":1}\n${key}`, 0o600), key)).toBeUndefined();
    expect(native.readSeccompEntry(file('n2.bpf', '{"v":1}', 0o600), '')).toBeUndefined();
  });

  test('refuses a symlink, a group- or world-writable file, a directory, a missing file', () => {
    const target = file('t.bpf', entry('{}', 'k', Buffer.alloc(8)), 0o600);
    expect(native.readSeccompEntry(target, 'k')).toBeDefined();
    symlinkSync(target, join(dir, 'link.bpf'));
    expect(native.readSeccompEntry(join(dir, 'link.bpf'), 'k')).toBeUndefined();
    expect(native.readSeccompEntry(file('g.bpf', entry('{}', 'k', Buffer.alloc(8)), 0o620), 'k')).toBeUndefined();
    expect(native.readSeccompEntry(file('w.bpf', entry('{}', 'k', Buffer.alloc(8)), 0o602), 'k')).toBeUndefined();
    expect(native.readSeccompEntry(dir, 'k')).toBeUndefined();
    expect(native.readSeccompEntry(join(dir, 'none.bpf'), 'k')).toBeUndefined();
  });

  rootTest("refuses another user's file", () => {
    const p = file('o.bpf', entry('{}', 'k', Buffer.alloc(8)), 0o600);
    expect(native.readSeccompEntry(p, 'k')).toBeDefined();
    chownSync(p, 65534, 65534);
    expect(native.readSeccompEntry(p, 'k')).toBeUndefined();
  });

  test('leaves no fd open', () => {
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      native.readSeccompEntry(file('f.bpf', entry('{}', 'k', Buffer.alloc(8)), 0o600), 'k');
      native.readLinkedSource(join(dir, 'a.cjs'));
      native.readLinkedCache(join(dir, 'c1.cache'), 'HEADER ', 0);
      try {
        readTextFile(join(dir, 'none'));
      } catch {
        // ENOENT
      }
      readTextFile('/proc/sys/kernel/cap_last_cap');
    }
    expect(openFds()).toBe(before);
  });
});

describe('readTextFile, readLink, pathExists', () => {
  test('readTextFile reads what readFileSync reads: UTF-8, an empty file, a /proc file whose size is 0', () => {
    const text = 'nsboxci:200000:65536\nété ✓\n';
    expect(readTextFile(file('t.txt', text))).toBe(text);
    expect(readTextFile(file('e.txt', ''))).toBe('');
    expect(statSync('/proc/sys/kernel/cap_last_cap').size).toBe(0);
    expect(readTextFile('/proc/sys/kernel/cap_last_cap')).toBe(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    const big = 'x'.repeat(100_000);
    expect(readTextFile(file('big.txt', big))).toBe(big);
  });

  test("readTextFile's failures are SysErrors with readFileSync's code and the path", () => {
    const missing = join(dir, 'missing.txt');
    expect(() => readTextFile(missing)).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'open', path: missing }));
    expect(() => readTextFile(dir)).toThrow(expect.objectContaining({ code: 'EISDIR', syscall: 'read', path: dir }));
  });

  test('readLink is readlinkSync; pathExists is existsSync', () => {
    symlinkSync('../some/where', join(dir, 'rl'));
    expect(readLink(join(dir, 'rl'))).toBe(readlinkSync(join(dir, 'rl')));
    expect(() => readLink(join(dir, 'a.cjs'))).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'readlink' }));
    expect(() => readLink(join(dir, 'nothing'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    for (const p of [dir, join(dir, 'a.cjs'), join(dir, 'rl'), join(dir, 'nothing'), '/proc/keys', '/dev/null', join(dir, 'a.cjs', 'x')])
      expect(pathExists(p), p).toBe(existsSync(p));
  });
});

describe('the constants and calls that replace node:os on the spawn path', () => {
  test('K.SIGNAL has the names, numbers and order of os.constants.signals; kernelRelease() is os.release()', () => {
    expect(Object.entries(K.SIGNAL)).toEqual(Object.entries(osConstants.signals));
    expect(Object.isFrozen(K.SIGNAL)).toBe(true);
    const e = osConstants.errno;
    expect(K.ERRNO).toEqual({
      ESRCH: e.ESRCH,
      ENOSYS: e.ENOSYS,
      ENOENT: e.ENOENT,
      EINVAL: e.EINVAL,
      ENOTTY: e.ENOTTY,
      EOPNOTSUPP: e.EOPNOTSUPP,
    });
    expect(native.kernelRelease()).toBe(release());
  });
});

describe('statPath', () => {
  test('stat and lstat as node:fs reports them', () => {
    symlinkSync('a.cjs', join(dir, 'sym'));
    const l = statPath(join(dir, 'sym'), false)!;
    const ls = lstatSync(join(dir, 'sym'));
    expect([l.mode, l.uid, l.size, l.mtimeMs, l.ino, l.dev]).toEqual([ls.mode, ls.uid, ls.size, ls.mtimeMs, ls.ino, ls.dev]);
    expect(isSymbolicLink(l)).toBe(true);
    const f = statPath(join(dir, 'sym'), true)!;
    const fs = statSync(join(dir, 'sym'));
    expect([f.mode, f.size, f.mtimeMs, f.ino]).toEqual([fs.mode, fs.size, fs.mtimeMs, fs.ino]);
    expect(isDirectory(statPath(dir, true))).toBe(true);
    expect(isDirectory(f)).toBe(false);
  });

  test('undefined for ENOENT and ENOTDIR, a SysError for anything else', () => {
    expect(statPath(join(dir, 'nothing'), false)).toBeUndefined();
    expect(statPath(join(dir, 'a.cjs', 'below'), false)).toBeUndefined();
    symlinkSync('loop', join(dir, 'loop'));
    expect(() => statPath(join(dir, 'loop'), true)).toThrow(expect.objectContaining({ code: 'ELOOP', syscall: 'stat' }));
    expect(() => native.statPath(dir, 1 as unknown as boolean)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  test('fstat of an fd agrees (the identity the loader names a cache by)', () => {
    const fd = openSync(join(dir, 'a.cjs'), 'r');
    try {
      const st = fstatSync(fd);
      expect(statPath(join(dir, 'a.cjs'), true)!.mtimeMs).toBe(st.mtimeMs);
    } finally {
      closeSync(fd);
    }
  });
});
