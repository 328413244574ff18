// Landlock rulesets without the kernel: shape validation, masking to a (fake) ABI in
// best-effort and strict mode, the plan's wire words, and the ELF/#! parsers behind
// landlockForCommand. No privileges, no syscall beyond reading files.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { spawn } from '../../src/index.js';
import { K } from '../../src/native.js';
import { PlanBuilder } from '../../src/namespaces/plan.js';
import { elfInterpreter, landlockForCommand, shebang } from '../../src/security/command.js';
import { checkLandlock, FS_RIGHTS, resolveLandlock } from '../../src/security/landlock.js';

const L = K.LANDLOCK;
const bits = (...names: (keyof typeof FS_RIGHTS)[]) => names.reduce((m, n) => m | FS_RIGHTS[n].bit, 0);
const ALL_V1 = (1 << 13) - 1;

describe('validation, before any syscall', () => {
  test.each([
    [{ fs: 'x' }, 'ERR_INVALID_ARG_TYPE', 'options.landlock.fs'],
    [{ fs: [{ path: 'etc', access: 'read' }] }, 'ERR_INVALID_ARG_VALUE', 'options.landlock.fs[0].path'],
    [{ fs: [{ path: '/etc', access: ['read', 'fly'] }] }, 'ERR_INVALID_ARG_VALUE', 'options.landlock.fs[0].access'],
    [{ fs: [{ path: '/etc', access: [] }] }, 'ERR_INVALID_ARG_VALUE', 'options.landlock.fs[0].access'],
    [{ fs: [{ path: '/etc', access: 'read', optinal: true }] }, 'ERR_INVALID_ARG_VALUE', 'options.landlock.fs[0].optinal'],
    [{ fs: [{ path: '/etc', access: 'read', optional: 1 }] }, 'ERR_INVALID_ARG_TYPE', 'options.landlock.fs[0].optional'],
    [{ net: [{ port: 70000, access: 'connect-tcp' }] }, 'ERR_OUT_OF_RANGE', 'options.landlock.net[0].port'],
    [{ net: [{ port: 1.5, access: 'connect-tcp' }] }, 'ERR_INVALID_ARG_TYPE', 'options.landlock.net[0].port'],
    [{ net: [{ port: 80, access: ['connect-udp'] }] }, 'ERR_INVALID_ARG_VALUE', 'options.landlock.net[0].access'],
    [{ scopes: ['ptrace'] }, 'ERR_INVALID_ARG_VALUE', 'options.landlock.scopes'],
    [{ handled: { fs: ['read'], dev: [] } }, 'ERR_INVALID_ARG_VALUE', 'options.landlock.handled.dev'],
    [{ mode: 'lenient' }, 'ERR_INVALID_ARG_VALUE', 'options.landlock.mode'],
    [{ log: 'yes' }, 'ERR_INVALID_ARG_TYPE', 'options.landlock.log'],
    [{ rules: [] }, 'ERR_INVALID_ARG_VALUE', 'options.landlock.rules'],
  ])('%j is %s naming %s', (v, code, name) => {
    expect(() => checkLandlock('options.landlock', v)).toThrow(expect.objectContaining({ code, message: expect.stringContaining(name) }));
    // The same through spawn: thrown before any syscall, nothing started.
    expect(() => spawn('/bin/true', { landlock: v as never })).toThrow(expect.objectContaining({ code }));
  });

  test('a rule granting a right the ruleset does not handle is refused (the kernel would say EINVAL)', () => {
    const v = { handled: { fs: ['read-file'] }, fs: [{ path: '/etc', access: ['read-file', 'read-dir'] }] };
    expect(() => resolveLandlock('options.landlock', v, 7)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/fs\[0\]\.access.*'read-dir'/) }),
    );
  });

  test('a ruleset that handles nothing is refused', () => {
    expect(() => resolveLandlock('options.landlock', { handled: { fs: [] } }, 7)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
  });
});

describe('masking to the ABI', () => {
  test('default handled: every filesystem right the ABI knows, no TCP, no scope', () => {
    expect(resolveLandlock('l', {}, 1)!.handledFs).toBe(ALL_V1);
    expect(resolveLandlock('l', {}, 2)!.handledFs).toBe(ALL_V1 | L.ACCESS_FS_REFER!);
    expect(resolveLandlock('l', {}, 3)!.handledFs).toBe(ALL_V1 | L.ACCESS_FS_REFER! | L.ACCESS_FS_TRUNCATE!);
    const v7 = resolveLandlock('l', {}, 7)!;
    expect(v7.handledFs).toBe(0xffff);
    expect(v7.handledNet).toBe(0);
    expect(v7.scoped).toBe(0);
  });

  test('shorthands expand to the rights of the ABI, also in strict mode', () => {
    const v2 = resolveLandlock(
      'l',
      {
        mode: 'strict',
        fs: [
          { path: '/w', access: 'write' },
          { path: '/r', access: ['read', 'execute'] },
        ],
      },
      2,
    )!;
    expect(v2.fs[0]!.access).toBe(
      bits(
        'write-file',
        'remove-dir',
        'remove-file',
        'make-char',
        'make-dir',
        'make-reg',
        'make-sock',
        'make-fifo',
        'make-block',
        'make-sym',
        'refer',
      ),
    );
    expect(v2.fs[1]!.access).toBe(bits('read-file', 'read-dir', 'execute'));
    expect(resolveLandlock('l', { fs: [{ path: '/w', access: 'write' }] }, 7)!.fs[0]!.access & bits('truncate', 'ioctl-dev')).toBe(
      bits('truncate', 'ioctl-dev'),
    );
  });

  test('best-effort drops a right the ABI lacks; strict names it and the ABI it needs', () => {
    const v = { fs: [{ path: '/dev', access: ['read-file', 'ioctl-dev'] }] };
    expect(resolveLandlock('l', v, 4)!.fs[0]!.access).toBe(bits('read-file'));
    expect(() => resolveLandlock('options.landlock', { ...v, mode: 'strict' }, 4)).toThrow(
      expect.objectContaining({
        code: 'ERR_NSBOX_UNSUPPORTED',
        message: expect.stringMatching(
          /options\.landlock\.fs\[0\]\.access: 'ioctl-dev' needs Landlock ABI 5 \(Linux 6\.10\); this kernel has ABI 4/,
        ),
      }),
    );
    // A rule left with nothing is dropped.
    expect(resolveLandlock('l', { fs: [{ path: '/x', access: 'truncate' }] }, 2)!.fs).toEqual([]);
  });

  test('TCP rules: handled only when asked; dropped before ABI 4 (best-effort), refused (strict)', () => {
    const v = { net: [{ port: 443, access: 'connect-tcp' as const }] };
    const r7 = resolveLandlock('l', v, 7)!;
    expect(r7.handledNet).toBe(L.ACCESS_NET_BIND_TCP! | L.ACCESS_NET_CONNECT_TCP!);
    expect(r7.net).toEqual([{ port: 443, access: L.ACCESS_NET_CONNECT_TCP }]);
    expect(resolveLandlock('l', { ...v, handled: { net: ['connect-tcp'] } }, 7)!.handledNet).toBe(L.ACCESS_NET_CONNECT_TCP);
    const r3 = resolveLandlock('l', v, 3)!;
    expect([r3.handledNet, r3.net]).toEqual([0, []]);
    expect(() => resolveLandlock('options.landlock', { ...v, mode: 'strict' }, 3)).toThrow(
      expect.objectContaining({ code: 'ERR_NSBOX_UNSUPPORTED', message: expect.stringContaining('ABI 4') }),
    );
  });

  test('scopes need ABI 6; log flags ABI 7 (default: LOG_SAME_EXEC_OFF; log: true: LOG_NEW_EXEC_ON)', () => {
    expect(resolveLandlock('l', { scopes: ['signal', 'abstract-unix-socket'] }, 6)!.scoped).toBe(
      L.SCOPE_SIGNAL! | L.SCOPE_ABSTRACT_UNIX_SOCKET!,
    );
    expect(resolveLandlock('l', { scopes: ['signal'] }, 5)!.scoped).toBe(0);
    expect(() => resolveLandlock('l', { scopes: ['signal'], mode: 'strict' }, 5)).toThrow(
      expect.objectContaining({ code: 'ERR_NSBOX_UNSUPPORTED' }),
    );
    expect(resolveLandlock('l', {}, 7)!.flags).toBe(L.RESTRICT_SELF_LOG_SAME_EXEC_OFF);
    expect(resolveLandlock('l', { log: true }, 7)!.flags).toBe(L.RESTRICT_SELF_LOG_NEW_EXEC_ON);
    expect(resolveLandlock('l', { log: true }, 6)!.flags).toBe(0);
    expect(resolveLandlock('l', { mode: 'strict' }, 6)!.flags).toBe(0); // nothing is logged before ABI 7 anyway
    expect(() => resolveLandlock('l', { log: true, mode: 'strict' }, 6)).toThrow(
      expect.objectContaining({ code: 'ERR_NSBOX_UNSUPPORTED' }),
    );
  });

  test('ABI 0: best-effort runs without Landlock, strict throws; nothing left to enforce is null', () => {
    expect(resolveLandlock('l', { fs: [{ path: '/', access: 'read' }] }, 0)).toBeNull();
    expect(() => resolveLandlock('l', { mode: 'strict' }, 0)).toThrow(
      expect.objectContaining({ code: 'ERR_NSBOX_UNSUPPORTED', message: expect.stringContaining('no Landlock') }),
    );
    expect(resolveLandlock('l', { handled: { fs: ['ioctl-dev'] } }, 4)).toBeNull();
  });
});

describe('the plan step', () => {
  test('serialises masks as word pairs, then path and port rules, and keeps each rule path for errors', () => {
    const r = resolveLandlock('l', { fs: [{ path: '/a', access: 'read', optional: true }], net: [{ port: 8080, access: 'bind-tcp' }] }, 7)!;
    const p = new PlanBuilder().landlock(r).build();
    const w = Array.from(p.ops.slice(5));
    expect(w.slice(0, 2)).toEqual([K.OP.LANDLOCK, 9 + 4 + 3]);
    expect(K.OP.LANDLOCK).toBe(35);
    expect(w.slice(2, 11)).toEqual([0xffff, 0, 3, 0, 0, 0, L.RESTRICT_SELF_LOG_SAME_EXEC_OFF, 1, 1]);
    expect(w.slice(11, 15)).toEqual([0, 1, bits('read-file', 'read-dir'), 0]);
    expect(w.slice(15)).toEqual([8080, L.ACCESS_NET_BIND_TCP, 0]);
    expect(p.strings.toString()).toBe('/a\0');
    expect(p.steps[0]).toMatchObject({ step: 'landlock', paths: ['/a', undefined] });
  });
});

describe('what landlockForCommand reads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-llu-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('PT_INTERP of a dynamic binary, none of a script or garbage', () => {
    const host = (path: string) => (at: number, len: number) => readFileSync(path).subarray(at, at + len);
    expect(elfInterpreter(host('/bin/cat'))).toMatch(/^\/lib.*\/ld-linux.*\.so\.\d$/);
    writeFileSync(join(dir, 'junk'), Buffer.from('\x7fELF\x02\x01garbage'));
    expect(elfInterpreter(host(join(dir, 'junk')))).toBeUndefined();
  });

  test('a 32-bit big-endian ELF header is read too', () => {
    const b = Buffer.alloc(200);
    b.write('\x7fELF', 0, 'latin1');
    b[4] = 1; // ELFCLASS32
    b[5] = 2; // big endian
    b.writeUInt32BE(52, 28); // e_phoff
    b.writeUInt16BE(32, 42); // e_phentsize
    b.writeUInt16BE(2, 44); // e_phnum
    b.writeUInt32BE(1, 52); // PT_LOAD
    b.writeUInt32BE(3, 84); // PT_INTERP
    b.writeUInt32BE(150, 88); // p_offset
    b.writeUInt32BE(13, 100); // p_filesz
    b.write('/lib/ld.so.1\0', 150, 'latin1');
    expect(elfInterpreter((at, len) => b.subarray(at, at + len))).toBe('/lib/ld.so.1');
  });

  test('#! lines as the kernel splits them', () => {
    expect(shebang(Buffer.from('#!/bin/sh\necho'))).toEqual({ interpreter: '/bin/sh' });
    expect(shebang(Buffer.from('#! /usr/bin/env  python3 -u\n'))).toEqual({ interpreter: '/usr/bin/env', arg: 'python3 -u' });
    expect(shebang(Buffer.from('echo'))).toBeUndefined();
  });

  test('a script: the script, its interpreter found through env, their loader, libraries, devices', () => {
    const script = join(dir, 'tool');
    writeFileSync(script, '#!/usr/bin/env bash\necho hi\n');
    chmodSync(script, 0o755);
    const rs = landlockForCommand({
      command: 'tool',
      path: `${dir}:/usr/bin:/bin`,
      read: ['/srv'],
      write: ['/var/tmp'],
      connect: [443],
      bind: [8080],
    });
    const paths = rs.fs!.map((r) => r.path);
    expect(paths.slice(0, 3)).toEqual([script, '/usr/bin/env', expect.stringMatching(/ld-linux/)]);
    expect(paths).toContain('/usr/bin/bash');
    expect(paths).toEqual(expect.arrayContaining(['/lib', '/usr/lib', '/etc/ld.so.cache', '/dev/null', '/srv', '/var/tmp']));
    expect(rs.fs!.find((r) => r.path === '/var/tmp')!.access).toEqual(['read', 'write']);
    expect(rs.fs!.find((r) => r.path === '/srv')!.access).toEqual(['read', 'execute']);
    expect(rs.net).toEqual([
      { port: 443, access: ['connect-tcp'] },
      { port: 8080, access: ['bind-tcp'] },
    ]);
    expect(() => landlockForCommand({ command: 'x', read: ['rel'] })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining('options.read[0]') }),
    );
    expect(() => landlockForCommand({ command: 'x', connect: [-1] })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringContaining('options.connect[0]') }),
    );
  });
});
