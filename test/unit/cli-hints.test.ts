// The hints nsbox run adds to kernel refusals it can explain (src/cli/hints.ts): which flag,
// which ids are mapped, what to do. Pure: the errors are built here, as spawn reports them.
import { describe, expect, test } from 'vitest';
import { parseArgs, type RunArgs } from '../../src/cli/args.js';
import { runHint } from '../../src/cli/hints.js';
import { SysError } from '../../src/errors.js';

const run = (...argv: string[]): RunArgs => {
  const p = parseArgs(['run', ...argv, '--', 'true']);
  if (p.action !== 'run') throw new Error('expected run');
  return p.run;
};
const EPERM = 1;
const EINVAL = 22;
const user = { euid: 1000, egid: 1000 };
const root = { euid: 0, egid: 0 };

describe('runHint', () => {
  test('--share user: clone3 EPERM names --share user and says to drop it or be root', () => {
    const h = runHint(new SysError(EPERM, 'clone3', { step: 'clone' }), run('--share', 'user'), user);
    expect(h?.flag).toBe('--share user');
    expect(h?.hint).toMatch(/^new pid, mnt, uts, ipc, net, cgroup namespaces without a new user namespace need root .*drop --share user/);
  });

  test('--namespaces without user: names the list and says to add user', () => {
    const h = runHint(new SysError(EPERM, 'clone3', { step: 'clone' }), run('--namespaces', 'net'), user);
    expect(h).toEqual({
      flag: '--namespaces net',
      hint: expect.stringMatching(/^new net namespace without .* needs root .*add 'user' to --namespaces/),
    });
  });

  test('a user namespace refused to an unprivileged user: the host does not allow it', () => {
    const h = runHint(new SysError(EPERM, 'clone3', { step: 'clone' }), run(), user);
    expect(h?.hint).toMatch(/user\.max_user_namespaces/);
  });

  test('--uid/--gid outside the map: the mapped ids, from the default, --map-uid, or as root', () => {
    const e = new SysError(EINVAL, 'setresuid', { step: 'uid' });
    expect(runHint(e, run('--uid', '5'), user)?.hint).toMatch(
      /^uid 5 is not mapped .*only uid 0 is mapped \(your uid 1000\).*--map-uid .*\/etc\/subuid.*as root$/,
    );
    expect(runHint(e, run('--uid', '5'), root)?.hint).toMatch(
      /nsbox maps uids 0-65535 by default\. Map it with --map-uid INSIDE:OUTSIDE:COUNT$/,
    );
    expect(runHint(e, run('--uid', '5000', '--map-uid', '0:1000:1', '--map-uid', '1:100000:1000'), user)?.hint).toMatch(
      /the --map-uid lines map 0, 1-1000\./,
    );
    const g = runHint(new SysError(EINVAL, 'setresgid', { step: 'gid' }), run('--gid', '7'), user);
    expect(g).toEqual({ flag: '--gid 7', hint: expect.stringMatching(/gid 7 is not mapped .*--map-gid .*newgidmap .*\/etc\/subgid/) });
  });

  test('a joined user namespace: its map, when nsbox could read it', () => {
    const e = new SysError(EINVAL, 'setresuid', { step: 'uid' });
    const h = runHint(e, run('--join', 'user=123', '--uid', '9'), { ...user, joinedUidMap: '         0       1000          1\n' });
    expect(h?.hint).toMatch(/the joined user namespace maps 0\. A joined namespace's map is fixed: give --uid an id it maps$/);
  });

  test('--net none|veth without root: the flag and what to do; nothing for root', () => {
    const e = new SysError(EPERM, 'unshare');
    expect(runHint(e, run('--net', 'veth'), user)).toEqual({ flag: '--net veth', hint: expect.stringMatching(/needs root .*--share net/) });
    expect(runHint(e, run('--net', 'none'), user)?.flag).toBe('--net none');
    expect(runHint(e, run('--net', 'veth'), root)).toBeUndefined();
  });

  test('--cwd that cannot be entered: the flag', () => {
    const e = new SysError(2, 'openat2', { step: 'cwd', path: '/x' });
    expect(runHint(e, run('--cwd', '/x'), user)?.flag).toBe('--cwd /x');
  });

  test('anything else: no hint', () => {
    expect(runHint(new SysError(EPERM, 'mount', { step: 'rootfs' }), run(), user)).toBeUndefined();
    expect(runHint(new Error('x'), run(), user)).toBeUndefined();
  });
});
