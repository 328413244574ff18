// csrc/startup_files.cc: the native readers of what a short-lived nsbox process reads at
// start-up (the linked bins' source and code cache, the seccomp store's files, stat of host
// paths). Each must accept exactly what the node:fs code it replaces accepted, and fail closed.
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
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { native } from '../../src/native.js';
import { isDirectory, isSymbolicLink, statPath } from '../../src/pathstat.js';
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

describe('readOwnedFile (the seccomp store)', () => {
  test('the bytes of a file of ours writable by no one else', () => {
    expect(native.readOwnedFile(file('s.bpf', Buffer.from([1, 2, 3]), 0o600))).toEqual(Buffer.from([1, 2, 3]));
  });

  test('refuses a symlink, a group- or world-writable file, a directory, a missing file', () => {
    const target = file('t.bpf', 'x', 0o600);
    symlinkSync(target, join(dir, 'link.bpf'));
    expect(native.readOwnedFile(join(dir, 'link.bpf'))).toBeUndefined();
    expect(native.readOwnedFile(file('g.bpf', 'x', 0o620))).toBeUndefined();
    expect(native.readOwnedFile(file('w.bpf', 'x', 0o602))).toBeUndefined();
    expect(native.readOwnedFile(dir)).toBeUndefined();
    expect(native.readOwnedFile(join(dir, 'none.bpf'))).toBeUndefined();
  });

  rootTest("refuses another user's file", () => {
    const p = file('n.bpf', 'x', 0o600);
    chownSync(p, 65534, 65534);
    expect(native.readOwnedFile(p)).toBeUndefined();
  });

  test('leaves no fd open', () => {
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      native.readOwnedFile(file('f.bpf', 'x', 0o600));
      native.readLinkedSource(join(dir, 'a.cjs'));
      native.readLinkedCache(join(dir, 'c1.cache'), 'HEADER ', 0);
    }
    expect(openFds()).toBe(before);
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
