// parseMountinfo against golden lines in the kernel's format (proc_pid_mountinfo(5)).
import { describe, expect, test } from 'vitest';
import { parseMountinfo } from '../../src/fs/mountinfo.js';

describe('parseMountinfo', () => {
  test('the example line of proc_pid_mountinfo(5)', () => {
    const [e, ...rest] = parseMountinfo('36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n');
    expect(rest).toEqual([]);
    expect(e).toEqual({
      mountId: 36,
      parentId: 35,
      major: 98,
      minor: 0,
      root: '/mnt1',
      mountPoint: '/mnt2',
      options: ['rw', 'noatime'],
      optionalFields: { master: 1 },
      fsType: 'ext3',
      source: '/dev/root',
      superOptions: ['rw', 'errors=continue'],
    });
  });

  test('zero optional fields: the "-" separator follows the options', () => {
    const [e] = parseMountinfo('22 27 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw');
    expect(e!.optionalFields).toEqual({});
    expect(e!.options).toEqual(['rw', 'nosuid', 'nodev', 'noexec', 'relatime']);
    expect([e!.fsType, e!.source, e!.superOptions]).toEqual(['proc', 'proc', ['rw']]);
  });

  test('all four propagation tags', () => {
    const [e] = parseMountinfo('100 1 0:50 / /a rw shared:1 master:2 propagate_from:3 unbindable - tmpfs tmpfs rw');
    expect(e!.optionalFields).toEqual({ shared: 1, master: 2, propagateFrom: 3, unbindable: true });
  });

  test('unknown optional tags are ignored, as proc(5) asks', () => {
    const [e] = parseMountinfo('100 1 0:50 / /a rw shared:7 future:9 newtag - tmpfs tmpfs rw');
    expect(e!.optionalFields).toEqual({ shared: 7 });
  });

  test('a "-" inside a path is not taken for the separator', () => {
    const [e] = parseMountinfo('100 1 0:50 - /- rw shared:2 - tmpfs - rw');
    expect([e!.root, e!.mountPoint, e!.fsType, e!.source]).toEqual(['-', '/-', 'tmpfs', '-']);
    expect(e!.optionalFields).toEqual({ shared: 2 });
  });

  test('octal escapes: space, tab, newline, backslash (and # in the source)', () => {
    const line = '200 27 0:60 /sub\\134dir /tmp/a\\040b\\011c\\012d rw,relatime - tmpfs my\\040src\\043x rw,size=1024k';
    const [e] = parseMountinfo(line);
    expect(e!.root).toBe('/sub\\dir');
    expect(e!.mountPoint).toBe('/tmp/a b\tc\nd');
    expect(e!.source).toBe('my src#x');
    expect(e!.superOptions).toEqual(['rw', 'size=1024k']);
  });

  test('an empty source field is kept empty (fields are split on single spaces)', () => {
    const [e] = parseMountinfo('300 27 0:61 / /mnt rw - tmpfs  rw');
    expect([e!.fsType, e!.source, e!.superOptions]).toEqual(['tmpfs', '', ['rw']]);
  });

  test('fsType keeps its subtype', () => {
    const [e] = parseMountinfo('301 27 0:62 / /home/u/remote rw,nosuid,nodev - fuse.sshfs u@h:/ rw,user_id=1000');
    expect(e!.fsType).toBe('fuse.sshfs');
    expect(e!.source).toBe('u@h:/');
  });

  test('several lines, in order; blank lines skipped', () => {
    const text = [
      '27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
      '',
      '22 27 0:21 / /proc rw,relatime shared:12 - proc proc rw',
      '',
    ].join('\n');
    expect(parseMountinfo(text).map((e) => [e.mountId, e.parentId, e.mountPoint])).toEqual([
      [27, 1, '/'],
      [22, 27, '/proc'],
    ]);
  });

  test('a line that is not mountinfo is an ERR_INVALID_ARG_VALUE', () => {
    for (const bad of [
      'garbage',
      '1 2 3:4 / / rw - tmpfs',
      'x 2 3:4 / / rw - tmpfs tmpfs rw',
      '1 2 34 / / rw - tmpfs tmpfs rw',
      '1 2 3:4 / / rw no-separator here tmpfs rw',
    ]) {
      expect(() => parseMountinfo(bad), bad).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' }));
    }
  });

  test('a non-string is an ERR_INVALID_ARG_TYPE', () => {
    expect(() => parseMountinfo(42 as unknown as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});
