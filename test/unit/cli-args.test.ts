// The `nsbox` command's argument parser: every option, repeatables, defaults, and the errors.
import { cliMessage } from '../../src/cli/errors.js';
import { capabilitySet } from '../../src/cli/security-args.js';
import { DEFAULT_CAPABILITIES } from '../../src/security/capabilities.js';
import { describe, expect, test } from 'vitest';
import { DEFAULT_NAMESPACES, OPTIONS, UsageError, buildEnv, helpText, parseArgs, type RunArgs } from '../../src/cli/args.js';

const run = (...argv: string[]): RunArgs => {
  const p = parseArgs(['run', ...argv]);
  if (p.action !== 'run') throw new Error(`expected run, got ${p.action}`);
  return p.run;
};
const bad = (...argv: string[]) => expect(() => parseArgs(argv)).toThrow(UsageError);

describe('nsbox run: command and defaults', () => {
  test('defaults: the default namespaces, die-with-parent on, nothing else set', () => {
    const r = run('--', 'sh', '-c', 'echo hi');
    expect(r).toEqual({
      command: 'sh',
      args: ['-c', 'echo hi'],
      namespaces: [...DEFAULT_NAMESPACES],
      join: [],
      env: [],
      clearenv: false,
      dieWithParent: true,
      newSession: false,
      init: true,
      layers: [],
      volumes: [],
      tmpfs: [],
      readOnly: false,
      lockMounts: true,
      nat: true,
      publish: [],
      security: {
        capAdd: [],
        capDrop: [],
        allowNewPrivileges: false,
        privileged: false,
        ulimits: [],
        sysctl: {},
        landlock: { read: [], write: [], connect: [], bind: [] },
      },
    });
    expect(DEFAULT_NAMESPACES).toEqual(['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup']);
  });

  test('without --, the first non-option starts the command and later options belong to it', () => {
    const r = run('--hostname', 'box', 'sh', '--hostname', 'x', '--');
    expect(r.command).toBe('sh');
    expect(r.args).toEqual(['--hostname', 'x', '--']);
    expect(r.hostname).toBe('box');
  });

  test('after --, an argument that looks like an option is the command', () => {
    expect(run('--', '--weird').command).toBe('--weird');
    expect(run('-', 'x').command).toBe('-');
  });

  test('--opt=value and --opt value are the same', () => {
    expect(run('--hostname=box', 'true').hostname).toBe('box');
    expect(run('--hostname', 'box', 'true').hostname).toBe('box');
    expect(run('--env=A=b=c', 'true').env).toEqual([{ set: 'A', value: 'b=c' }]);
  });
});

describe('nsbox run: filesystem options', () => {
  test('--layer, --volume, --tmpfs, --read-only and --rootfs', () => {
    const r = run(
      '--layer',
      '/a',
      '--layer',
      '/b',
      '--volume',
      '/s:/d',
      '--volume',
      '/s2:/d2:ro',
      '--tmpfs',
      '/t',
      '--read-only',
      '--',
      'sh',
    );
    expect(r.layers).toEqual(['/a', '/b']);
    expect(r.volumes).toEqual([
      { source: '/s', target: '/d', readOnly: false, idmap: false },
      { source: '/s2', target: '/d2', readOnly: true, idmap: false },
    ]);
    expect(run('--volume', '/s:/d:ro,idmap', '--volume', '/t:/e:idmap', 'sh').volumes).toEqual([
      { source: '/s', target: '/d', readOnly: true, idmap: true },
      { source: '/t', target: '/e', readOnly: false, idmap: true },
    ]);
    expect(r.tmpfs).toEqual(['/t']);
    expect(r.readOnly).toBe(true);
    expect(run('--rootfs', 'host', 'sh').rootfs).toBe('host');
    expect(r.lockMounts).toBe(true);
    expect(run('--no-lock-mounts', 'sh').lockMounts).toBe(false);
  });
  test.each([
    [['--rootfs', 'rel'], /absolute/],
    [['--volume', '/a'], /SRC:DST/],
    [['--volume', '/a:/b:rx'], /SRC:DST/],
    [['--volume', '/a:/b:ro,rw'], /SRC:DST/],
    [['--volume', '/a:/b:ro,ro'], /SRC:DST/],
    [['--volume', '/a:/b:ro:idmap'], /SRC:DST/],
    [['--tmpfs', 'x'], /absolute/],
    [['--rootfs', '/a', '--layer', '/b'], /exclude/],
    [['--namespaces', 'user', '--tmpfs', '/x'], /mount namespace/],
  ])('%j is a usage error', (args, message) => {
    expect(() => parseArgs(['run', ...args, 'sh'])).toThrow(message);
  });
});

describe('nsbox run: every option', () => {
  test('--namespaces: a list, deduplicated; none; every kind accepted', () => {
    expect(run('--namespaces', 'user,net,user', 'true').namespaces).toEqual(['user', 'net']);
    expect(run('--namespaces', 'none', 'true').namespaces).toEqual([]);
    expect(run('--namespaces', 'user,pid,mnt,uts,ipc,net,cgroup,time', 'true').namespaces).toHaveLength(8);
  });

  test('--share removes a kind from the default or the given list (repeatable)', () => {
    expect(run('--share', 'net', '--share', 'pid', 'true').namespaces).toEqual(['user', 'mnt', 'uts', 'ipc', 'cgroup']);
    expect(run('--namespaces', 'user,net', '--share', 'net', 'true').namespaces).toEqual(['user']);
  });

  test('--join by pid and by path; joined kinds leave the default list', () => {
    const r = run('--join', 'net=123', '--join', 'uts=/run/netns/x', 'true');
    expect(r.join).toEqual([
      { kind: 'net', pid: 123 },
      { kind: 'uts', path: '/run/netns/x' },
    ]);
    expect(r.namespaces).toEqual(['user', 'pid', 'mnt', 'ipc', 'cgroup']);
  });

  test('--hostname, --domainname, --uid, --gid, --groups', () => {
    const r = run('--hostname', 'h', '--domainname', 'd.test', '--uid', '1000', '--gid', '4294967294', '--groups', '1,2,3', 'true');
    expect([r.hostname, r.domainname, r.uid, r.gid, r.groups]).toEqual(['h', 'd.test', 1000, 4294967294, [1, 2, 3]]);
    expect(run('--groups', '', 'true').groups).toEqual([]);
  });

  test('--map-uid and --map-gid are repeatable, in order', () => {
    const r = run('--map-uid', '0:1000:1', '--map-uid', '1:100000:65536', '--map-gid', '0:1000:1', 'true');
    expect(r.uidMap).toEqual([
      { inside: 0, outside: 1000, count: 1 },
      { inside: 1, outside: 100000, count: 65536 },
    ]);
    expect(r.gidMap).toEqual([{ inside: 0, outside: 1000, count: 1 }]);
    expect(run('true').uidMap).toBeUndefined();
  });

  test('--env, --unsetenv, --clearenv: applied in order over the base environment', () => {
    const r = run('--env', 'A=1', '--unsetenv', 'B', '--env', 'C=', '--unsetenv', 'A', 'true');
    expect(r.env).toEqual([{ set: 'A', value: '1' }, { unset: 'B' }, { set: 'C', value: '' }, { unset: 'A' }]);
    expect(buildEnv(r, { A: 'x', B: 'y', D: 'z' })).toEqual({ C: '', D: 'z' });
    const c = run('--env', 'K=V', '--clearenv', 'true');
    expect(c.clearenv).toBe(true);
    expect(buildEnv(c, { PATH: '/bin' })).toEqual({ K: 'V' });
  });

  test('--cwd and its alias --chdir, --argv0', () => {
    expect(run('--cwd', '/tmp', 'true').cwd).toBe('/tmp');
    expect(run('--chdir', '/srv', 'true').cwd).toBe('/srv');
    expect(run('--argv0', 'busybox', 'true').argv0).toBe('busybox');
  });

  test('--die-with-parent (default on), --no-die-with-parent, --new-session, --timeout', () => {
    expect(run('--die-with-parent', 'true').dieWithParent).toBe(true);
    expect(run('--no-die-with-parent', 'true').dieWithParent).toBe(false);
    expect(run('--new-session', 'true').newSession).toBe(true);
    expect(run('--timeout', '2500', 'true').timeout).toBe(2500);
  });

  test('an init by default, --no-init for none', () => {
    expect(run('true').init).toBe(true);
    expect(run('--no-init', 'true').init).toBe(false);
    expect(() => run('--no-init=1', 'true')).toThrow(/takes no value/);
  });

  test('--help and --version, before or after run', () => {
    expect(parseArgs(['--help'])).toEqual({ action: 'help' });
    expect(parseArgs(['-h'])).toEqual({ action: 'help' });
    expect(parseArgs(['run', '-h'])).toEqual({ action: 'help' });
    expect(parseArgs(['run', '--hostname', 'x', '--help'])).toEqual({ action: 'help' });
    expect(parseArgs(['--version'])).toEqual({ action: 'version' });
    expect(parseArgs(['run', '--version'])).toEqual({ action: 'version' });
  });

  test('every option in the table parses', () => {
    const sample: Record<string, string> = {
      LIST: 'user,uts',
      'GID,...': '10,20',
      KIND: 'net',
      'KIND=PID|PATH': 'ipc=1',
      NAME: 'n',
      N: '5',
      'INSIDE:OUTSIDE:COUNT': '0:0:1',
      'K=V': 'A=b',
      K: 'A',
      DIR: '/',
      MS: '10',
      'DIR|host': 'host',
      'SRC:DST[:ro|rw][,idmap]': '/srv:/data:ro',
      DST: '/scratch',
      'none|host|veth[:ADDR/PREFIX]': 'veth:10.9.0.2/30',
      SIZE: '64M',
      PATH: '/usr',
      CAP: 'net_admin',
      'CAP|ALL': 'ALL',
      'PATH|default|unconfined': 'unconfined',
      'NAME=SOFT[:HARD]': 'nofile=10:20',
      'KEY=VALUE': 'net.ipv4.ip_forward=1',
      MODE: '0027',
      PORT: '8080',
      '[IP:]HOSTPORT:PORT[/udp]': '8080:80',
    };
    // Flags that need a companion to make sense alone.
    const needs: Record<string, string[]> = { publish: ['--net', 'veth'], 'no-nat': ['--net', 'veth'] };
    for (const o of OPTIONS) {
      if (o.name === 'help' || o.name === 'version') continue;
      if (o.value !== undefined) expect(sample[o.value], `a sample value for ${o.value}`).toBeDefined();
      const argv = [...(needs[o.name] ?? []), ...(o.value === undefined ? [`--${o.name}`] : [`--${o.name}`, sample[o.value]!])];
      expect(run(...argv, 'true').command, o.name).toBe('true');
    }
  });
});

describe('nsbox run: security flags', () => {
  test('capabilities: names in any form, ALL, Docker order (drops, then adds)', () => {
    const s = run('--cap-drop', 'ALL', '--cap-add', 'net_bind_service', '--cap-add', 'CAP_KILL', 'true').security;
    expect(s.capDrop).toEqual(['ALL']);
    expect(s.capAdd).toEqual(['CAP_NET_BIND_SERVICE', 'CAP_KILL']);
    expect(capabilitySet(s, DEFAULT_CAPABILITIES, ['CAP_A'])).toEqual(['CAP_NET_BIND_SERVICE', 'CAP_KILL']);
    const d = run('--cap-drop', 'net_raw', '--cap-add', 'SYS_ADMIN', 'true').security;
    const set = capabilitySet(d, DEFAULT_CAPABILITIES, []);
    expect(set).not.toContain('CAP_NET_RAW');
    expect(set).toContain('CAP_SYS_ADMIN');
    expect(set.length).toBe(DEFAULT_CAPABILITIES.length);
    expect(capabilitySet(run('--privileged', 'true').security, DEFAULT_CAPABILITIES, ['CAP_X', 'CAP_Y'])).toEqual(['CAP_X', 'CAP_Y']);
  });

  test("--ulimit in Docker's form, --sysctl, --umask, --oom-score-adj, --seccomp, --allow-new-privileges", () => {
    const s = run(
      '--ulimit',
      'nofile=1024:4096',
      '--ulimit',
      'core=0',
      '--ulimit',
      'nproc=-1',
      '--sysctl',
      'net.core.somaxconn=512',
      '--umask',
      '027',
      '--oom-score-adj',
      '-5',
      '--seccomp',
      '/p.json',
      '--allow-new-privileges',
      'true',
    ).security;
    expect(s.ulimits).toEqual([
      { type: 'nofile', soft: 1024, hard: 4096 },
      { type: 'core', soft: 0, hard: 0 },
      { type: 'nproc', soft: 'unlimited', hard: 'unlimited' },
    ]);
    expect(s.sysctl).toEqual({ 'net.core.somaxconn': '512' });
    expect(s.umask).toBe(0o27);
    expect(s.oomScoreAdj).toBe(-5);
    expect(s.seccomp).toBe('/p.json');
    expect(s.allowNewPrivileges).toBe(true);
  });

  test('--landlock-* collect paths and ports', () => {
    const s = run(
      '--landlock-read',
      '/usr',
      '--landlock-write',
      '/tmp',
      '--landlock-connect',
      '443',
      '--landlock-bind',
      '8080',
      'true',
    ).security;
    expect(s.landlock).toEqual({ read: ['/usr'], write: ['/tmp'], connect: [443], bind: [8080] });
  });

  test.each([
    ['--cap-add', 'NET-ADMIN'],
    ['--ulimit', 'nofile'],
    ['--ulimit', 'nofile=2:1'],
    ['--ulimit', 'nofile=x'],
    ['--umask', '8'],
    ['--oom-score-adj', '1001'],
    ['--landlock-read', 'rel'],
    ['--landlock-connect', '70000'],
    ['--sysctl', 'novalue'],
  ])('%s %s is a usage error', (flag, value) => bad('run', flag, value, 'true'));

  test('--privileged excludes --cap-drop and --seccomp', () => {
    bad('run', '--privileged', '--cap-drop', 'ALL', 'true');
    bad('run', '--privileged', '--seccomp', 'default', 'true');
  });
});

describe('nsbox run: cgroup limits', () => {
  test('--memory, --pids, --cpus and --cgroup-parent', () => {
    const r = run('--memory', '64M', '--pids', '64', '--cpus', '0.5', '--cgroup-parent', 'a/b', 'true');
    expect(r).toMatchObject({ memory: '64M', pids: 64, cpus: 0.5, cgroupParent: 'a/b' });
  });
  test.each([
    ['--memory', '12X'],
    ['--memory', '-1'],
    ['--pids', '0'],
    ['--pids', 'x'],
    ['--cpus', '0'],
    ['--cpus', '-1'],
    ['--cpus', '1e3'],
    ['--cgroup-parent', ''],
  ])('%s %s is a usage error', (opt, v) => {
    expect(() => run(opt, v, 'true')).toThrow(UsageError);
  });
});

describe('nsbox run --net', () => {
  test("host drops the net namespace; none and veth keep a new one (the command's own, set up by spawn)", () => {
    expect(run('--net', 'host', 'true').namespaces).not.toContain('net');
    expect(run('--net', 'host', 'true').net).toEqual({ mode: 'host' });
    expect(run('--net', 'none', 'true')).toMatchObject({ net: { mode: 'none' } });
    expect(run('--net', 'none', 'true').namespaces).toContain('net');
    expect(run('--namespaces', 'user,mnt', '--net', 'veth', 'true').namespaces).toEqual(['user', 'mnt', 'net']);
  });
  test("veth addresses: the given one inside, the prefix's first other address on the host; none given: picked at run time", () => {
    expect(run('--net', 'veth', 'true').net).toEqual({ mode: 'veth' });
    expect(run('--net=veth:192.168.7.1/24', 'true').net).toEqual({
      mode: 'veth',
      childAddress: '192.168.7.1/24',
      hostAddress: '192.168.7.2/24',
    });
    expect(run('--net', 'veth:10.1.2.77/16', 'true').net).toEqual({
      mode: 'veth',
      childAddress: '10.1.2.77/16',
      hostAddress: '10.1.0.1/16',
    });
  });
  test.each([
    [['--net', 'bridge']],
    [['--net', 'veth:10.0.0.0/30']],
    [['--net', 'veth:10.0.0.3/30']],
    [['--net', 'veth:10.0.0.1/31']],
    [['--net', 'veth:10.0.0.1']],
    [['--net', 'veth:fd00::1/64']],
    [['--net', 'none', '--join', 'net=1']],
    [['--net', 'veth', '--share', 'net']],
  ])('%j is a usage error', (args) => {
    expect(() => parseArgs(['run', ...args, 'true'])).toThrow(UsageError);
  });
});

describe('nsbox run: errors', () => {
  test.each([
    ['no subcommand', []],
    ['unknown subcommand', ['exec', 'true']],
    ['unknown option', ['run', '--nope', 'true']],
    ['unknown short option', ['run', '-x', 'true']],
    ['option before run', ['--hostname', 'x', 'run', 'true']],
    ['missing command', ['run', '--hostname', 'x']],
    ['missing command after --', ['run', '--']],
    ['empty command', ['run', '--', '']],
    ['missing value', ['run', '--hostname']],
    ['value for a flag', ['run', '--clearenv=1', 'true']],
    ['unknown namespace', ['run', '--namespaces', 'user,bogus', 'true']],
    ['empty namespace list', ['run', '--namespaces', '', 'true']],
    ['unknown --share kind', ['run', '--share', 'nett', 'true']],
    ['--join without =', ['run', '--join', 'net', 'true']],
    ['--join unknown kind', ['run', '--join', 'foo=1', 'true']],
    ['--join empty target', ['run', '--join', 'net=', 'true']],
    ['--join pid 0', ['run', '--join', 'net=0', 'true']],
    ['--join twice', ['run', '--join', 'net=1', '--join', 'net=2', 'true']],
    ['created and joined', ['run', '--namespaces', 'user,net', '--join', 'net=1', 'true']],
    ['--uid not a number', ['run', '--uid', 'root', 'true']],
    ['--uid negative', ['run', '--uid', '-1', 'true']],
    ['--gid too large', ['run', '--gid', '4294967295', 'true']],
    ['--groups bad entry', ['run', '--groups', '1,x', 'true']],
    ['--map-uid not a triple', ['run', '--map-uid', '0:1000', 'true']],
    ['--map-uid count 0', ['run', '--map-uid', '0:1000:0', 'true']],
    ['--map-gid overflow', ['run', '--map-gid', '0:4294967294:2', 'true']],
    ['--map-uid without a user namespace', ['run', '--namespaces', 'net', '--map-uid', '0:0:1', 'true']],
    ['--env without =', ['run', '--env', 'A', 'true']],
    ['--env empty name', ['run', '--env', '=v', 'true']],
    ['--unsetenv with =', ['run', '--unsetenv', 'A=b', 'true']],
    ['--cwd empty', ['run', '--cwd', '', 'true']],
    ['--timeout 0', ['run', '--timeout', '0', 'true']],
    ['--timeout not a number', ['run', '--timeout', '1s', 'true']],
    ['--hostname too long', ['run', '--hostname', 'x'.repeat(65), 'true']],
    ['--hostname without uts', ['run', '--share', 'uts', '--hostname', 'x', 'true']],
    ['--domainname with --namespaces none', ['run', '--namespaces', 'none', '--domainname', 'x', 'true']],
    ['single option twice', ['run', '--hostname', 'a', '--hostname', 'b', 'true']],
    ['contradicting die-with-parent', ['run', '--die-with-parent', '--no-die-with-parent', 'true']],
    ['NUL byte', ['run', '--', 'a\0b']],
  ])('%s', (_name, argv) => bad(...argv));

  test('the message names the option', () => {
    expect(() => parseArgs(['run', '--uid', 'root', 'true'])).toThrow(/--uid/);
    expect(() => parseArgs(['run', '--nope', 'true'])).toThrow(/'--nope'/);
  });

  test('--hostname is accepted with a joined uts namespace', () => {
    expect(run('--namespaces', 'none', '--join', 'uts=1', '--hostname', 'x', 'true').hostname).toBe('x');
  });
});

describe('help text', () => {
  test('lists every option of the table with its help, aliases and value', () => {
    const h = helpText();
    for (const o of OPTIONS) {
      expect(h, o.name).toContain(`--${o.name}`);
      expect(h.replace(/\s+/g, ' '), o.name).toContain(o.help.replace(/\s+/g, ' '));
      for (const a of o.aliases ?? []) expect(h).toContain(a);
      if (o.value) expect(h).toContain(`--${o.name}${(o.aliases ?? []).map((a) => `, ${a}`).join('')} ${o.value}`);
      expect(o.help.length, o.name).toBeGreaterThan(10);
    }
    expect(h).toMatch(/Examples:/);
  });
});

describe('errors in CLI words', () => {
  test('a spawn option error names the flag and the value, as a usage error', () => {
    const err = Object.assign(new TypeError("The property 'options.rootfs' does not exist. Received '/nonexistent'"), {
      code: 'ERR_INVALID_ARG_VALUE',
    });
    expect(cliMessage(err)).toEqual({ text: "--rootfs: '/nonexistent' does not exist", usage: true });
    const vol = Object.assign(new TypeError("The property 'options.mounts[0].source' does not exist. Received '/x'"), {
      code: 'ERR_INVALID_ARG_VALUE',
    });
    expect(cliMessage(vol).text).toBe("--volume (its source): '/x' does not exist");
    const lim = Object.assign(new RangeError("The property 'options.rlimits[0].soft' is above the hard limit. Received 9"), {
      code: 'ERR_INVALID_ARG_VALUE',
    });
    expect(cliMessage(lim).text).toMatch(/^--ulimit: 9 is above the hard limit/);
  });
  test('other errors are printed as they are, and are not usage errors', () => {
    const sys = Object.assign(new Error('EPERM: operation not permitted, clone3'), { code: 'EPERM' });
    expect(cliMessage(sys)).toEqual({ text: 'EPERM: operation not permitted, clone3', usage: false });
  });
});

describe('nsbox run: --no-nat, --publish, --network', () => {
  test('--net veth has NAT unless --no-nat; --publish parses HOSTPORT:PORT[/udp], repeatable', () => {
    expect(run('--net', 'veth', 'true').nat).toBe(true);
    expect(run('--net', 'veth', '--no-nat', 'true').nat).toBe(false);
    expect(run('--net', 'veth', '-p', '8080:80', '--publish', '5353:53/udp', '--publish=9000:9000/tcp', 'true').publish).toEqual([
      { hostPort: 8080, port: 80, protocol: 'tcp', text: '8080:80' },
      { hostPort: 5353, port: 53, protocol: 'udp', text: '5353:53/udp' },
      { hostPort: 9000, port: 9000, protocol: 'tcp', text: '9000:9000/tcp' },
    ]);
    expect(run('true').publish).toEqual([]);
  });

  test('errors name the flag', () => {
    const msg = (...argv: string[]) => {
      try {
        parseArgs(['run', ...argv, 'true']);
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return (err as Error).message;
      }
      throw new Error('parsed');
    };
    expect(msg('--net', 'veth', '--publish', '80')).toMatch(/^--publish: '80' is not \[IP:\]HOSTPORT:PORT/);
    expect(msg('--net', 'veth', '--publish', '0:80')).toMatch(/^--publish: /);
    expect(msg('--net', 'veth', '--publish', '80:70000')).toMatch(/^--publish: /);
    expect(msg('--net', 'veth', '--publish', '80:80/sctp')).toMatch(/^--publish: /);
    expect(msg('--net', 'veth', '-p', '80:80', '-p', '80:81')).toMatch(/^--publish: host port 80\/tcp is published twice/);
    expect(msg('--publish', '80:80')).toMatch(/^--publish 80:80 needs --net none, --net veth or --network/);
    expect(msg('--net', 'host', '--publish', '80:80')).toMatch(/^--publish 80:80 needs/);
    expect(run('--net', 'none', '--publish', '127.0.0.1:8080:80/udp', 'true').publish).toEqual([
      { hostAddress: '127.0.0.1', hostPort: 8080, port: 80, protocol: 'udp', text: '127.0.0.1:8080:80/udp' },
    ]);
    expect(msg('--net', 'none', '--publish', '1.2.3:80:80')).toMatch(/^--publish: '1.2.3:80:80' is not \[IP:\]HOSTPORT:PORT/);
    expect(msg('--no-nat')).toMatch(/^--no-nat needs --net veth/);
    expect(msg('--network', 'a b')).toMatch(/^--network: 'a b' is not a network name/);
    expect(msg('--network', 'app', '--net', 'veth')).toMatch(/^--network app and --net veth exclude each other/);
    expect(msg('--network', 'app', '--share', 'net')).toMatch(/^--network app contradicts --share net/);
    expect(msg('--network', 'app', '--namespaces', 'user,net')).toMatch(/^--network app needs a new mount namespace/);
    expect(msg('--network', 'app', '--no-nat')).toMatch(/^--no-nat: /);
  });

  test('--network puts net in the namespaces; --publish works with it', () => {
    const r = run('--namespaces', 'user,mnt', '--network', 'app', '-p', '8080:80', 'true');
    expect(r.network).toBe('app');
    expect(r.namespaces).toEqual(['user', 'mnt', 'net']);
    expect(r.publish).toHaveLength(1);
  });

  test('nsbox network create|rm|ls', () => {
    expect(parseArgs(['network', 'create', 'app'])).toEqual({ action: 'network', network: { cmd: 'create', name: 'app', nat: true } });
    expect(parseArgs(['network', 'create', '--subnet', '10.1.0.0/24', '--no-nat', 'app'])).toEqual({
      action: 'network',
      network: { cmd: 'create', name: 'app', nat: false, subnet: '10.1.0.0/24' },
    });
    expect(parseArgs(['network', 'create', 'app', '--subnet=10.1.0.0/16']).action).toBe('network');
    expect(parseArgs(['network', 'rm', '--force', 'app'])).toEqual({ action: 'network', network: { cmd: 'rm', name: 'app', force: true } });
    expect(parseArgs(['network', 'ls'])).toEqual({ action: 'network', network: { cmd: 'ls' } });
    bad('network');
    bad('network', 'up');
    bad('network', 'create');
    bad('network', 'create', 'a', 'b');
    bad('network', 'create', 'a/b');
    bad('network', 'create', 'app', '--subnet', '10.1.0.0/31');
    bad('network', 'create', 'app', '--subnet', 'x');
    bad('network', 'create', 'app', '--subnet');
    bad('network', 'rm', 'app', '--subnet', '10.0.0.0/8');
    bad('network', 'ls', 'x');
    bad('network', 'create', 'app', '--no-nat=1');
  });

  test('--help shows --publish, --network and the network subcommand', () => {
    expect(helpText()).toMatch(/--publish, -p \[IP:\]HOSTPORT:PORT\[\/udp\]/);
    expect(helpText()).toMatch(/--network NAME/);
    expect(helpText()).toMatch(/nsbox network create NAME/);
  });
});
