// nsbox/oci's mapper without privileges: a podman-generated config.json (written by hand from
// config.md's example and podman 4.3's output) turned into spawn options field by field;
// spawn's own validation as the witness that they are valid; every refused field by its
// JSON path; features() from the same tables; deriveStatus.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkSpawn } from '../../src/namespaces/options.js';
import { MOUNT_OPTIONS } from '../../src/oci/mounts.js';
import {
  containerProcessState,
  defaultSpec,
  deriveStatus,
  features,
  parseConfig,
  toSpawnOptions,
  type OciSpec,
} from '../../src/oci/index.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests edit parsed JSON freely
type Json = any;

let bundle: string;
let podman: OciSpec;

beforeAll(() => {
  bundle = mkdtempSync(join(tmpdir(), 'nsbox-oci-map-'));
  for (const d of ['merged', 'rootfs', 'userdata/shm', 'volumes/data/_data']) mkdirSync(join(bundle, d), { recursive: true });
  for (const f of ['hostname', 'resolv.conf', 'hosts', '.containerenv']) writeFileSync(join(bundle, 'userdata', f), '');
  const text = readFileSync(new URL('./data/oci-podman.json', import.meta.url), 'utf8').replaceAll('@BUNDLE@', bundle);
  podman = parseConfig(text);
});
afterAll(() => rmSync(bundle, { recursive: true, force: true }));

const NOFILE = { type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 };

describe('a podman config.json as spawn options', () => {
  test('process, namespaces, root and mounts, field by field', () => {
    using m = toSpawnOptions(podman, { bundle });
    const o = m.options;
    expect(m.command).toBe('sh');
    expect(m.args).toEqual(['-c', 'hostname; id']);
    expect(o.argv0).toBe('sh');
    expect(o.env).toEqual({
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      TERM: 'xterm',
      container: 'podman',
      HOSTNAME: '4f3a1b2c9d8e',
      HOME: '/root',
    });
    expect(o.cwd).toBe('/');
    expect([o.uid, o.gid, o.umask]).toEqual([0, 0, 0o022]);
    expect(o.groups).toEqual([0, 1, 2, 3, 4, 6, 10, 11, 20, 26, 27]);
    expect(o.capabilities).toEqual(podman.process!.capabilities);
    expect(o.rlimits).toEqual([NOFILE, { type: 'RLIMIT_NPROC', soft: 4194304, hard: 4194304 }]);
    expect(o.oomScoreAdj).toBe(0);
    expect(o.noNewPrivileges).toBeUndefined();
    expect(o.namespaces).toEqual(['pid', 'ipc', 'uts', 'mnt', 'cgroup']);
    expect(o.join).toEqual({ net: 1 }); // /proc/1/ns/net: joined by pid, no fd held
    expect(o.hostname).toBe('4f3a1b2c9d8e');
    expect(o.rootfs).toBe(join(bundle, 'merged'));
    expect(o.readOnlyRoot).toBeUndefined();
    expect(o.defaultMounts).toBe(false);
    expect(o.lockMounts).toBe(false);
    expect(o.sysctl).toEqual({ 'net.ipv4.ping_group_range': '0 0' });
    expect(o.seccomp).toEqual(podman.linux!.seccomp);
    expect(o.maskedPaths).toEqual(podman.linux!.maskedPaths);
    expect(o.readonlyPaths).toEqual(podman.linux!.readonlyPaths);
    expect(o.mounts).toEqual([
      { type: 'proc', target: '/proc', flags: ['nosuid', 'noexec', 'nodev'] },
      { type: 'tmpfs', target: '/dev', flags: ['nosuid', 'strictatime'], mode: 0o755, size: '65536k' },
      { type: 'sysfs', target: '/sys', flags: ['nosuid', 'noexec', 'nodev'], readOnly: true },
      { type: 'devpts', target: '/dev/pts', flags: ['nosuid', 'noexec'], data: 'newinstance,ptmxmode=0666,mode=0620,gid=5' },
      { type: 'mqueue', target: '/dev/mqueue', flags: ['nosuid', 'noexec', 'nodev'] },
      { type: 'bind', source: join(bundle, 'userdata/hostname'), target: '/etc/hostname', recursive: false },
      { type: 'bind', source: join(bundle, 'userdata/resolv.conf'), target: '/etc/resolv.conf', recursive: false },
      { type: 'bind', source: join(bundle, 'userdata/hosts'), target: '/etc/hosts', recursive: false },
      { type: 'bind', source: join(bundle, 'userdata/shm'), target: '/dev/shm', recursive: false, attrs: ['nosuid', 'noexec', 'nodev'] },
      { type: 'bind', source: join(bundle, 'userdata/.containerenv'), target: '/run/.containerenv', recursive: false },
      { type: 'bind', source: join(bundle, 'volumes/data/_data'), target: '/data', recursive: true, attrs: ['nosuid', 'nodev'] },
      // The source mountinfo shows (config.json's), kept where it is not the type's own name.
      { type: 'cgroup2', target: '/sys/fs/cgroup', flags: ['nosuid', 'noexec', 'nodev', 'relatime'], readOnly: true, source: 'cgroup' },
    ]);
    // The spec's default devices, plus /dev/fd… symlinks made by spawn.
    expect(o.devices?.map((d) => d.path)).toEqual(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']);
    expect(m.warnings).toEqual([]);
  });

  test('linux.resources: the cgroup and its v2 writes', () => {
    using m = toSpawnOptions(podman, { bundle });
    expect(m.cgroup).toMatchObject({
      path: '/libpod_parent/libpod-4f3a1b2c9d8e',
      writes: [
        { file: 'memory.max', value: '33554432' },
        { file: 'memory.swap.max', value: '33554432' },
        { file: 'cpu.weight', value: '59' },
        { file: 'cpu.max', value: '50000 100000' },
        { file: 'pids.max', value: '2048' },
      ],
      controllers: ['memory', 'cpu', 'pids'],
    });
    expect(m.options.cgroup).toBeUndefined(); // set by the caller to prepareCgroup()'s result
  });

  test('linux.resources.devices: a leading deny-all, allows for the nodes nsbox makes and devpts, then the other rules', () => {
    const c: Json = JSON.parse(JSON.stringify(podman));
    c.linux.resources.devices.push(
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: false, type: 'c', major: 1, minor: 3, access: 'w' },
    );
    c.linux.devices = [
      { type: 'c', path: '/dev/fuse', major: 10, minor: 229 },
      { type: 'p', path: '/dev/fifo' },
    ];
    using m = toSpawnOptions(c, { bundle });
    const own = (major: number, minor?: number) => ({
      allow: true,
      type: 'c',
      major,
      ...(minor === undefined ? {} : { minor }),
      access: 'rwm',
    });
    expect(m.cgroup?.devices).toEqual({
      // The leading deny-all, nsbox's own allows, then the config's other rules (crun's
      // order): the config's deny of /dev/null writes wins over nsbox's allow.
      rules: [
        { allow: false, type: 'a', access: 'rwm' },
        ...[3, 5, 7, 8, 9].map((n) => own(1, n)),
        own(5, 0),
        own(10, 229),
        own(5, 2),
        own(136),
        own(1, 3),
        { allow: false, type: 'c', major: 1, minor: 3, access: 'w' },
      ],
      optional: false, // a deny after an allow needs the filter
    });
    c.linux.resources.devices.pop();
    using withoutDeny = toSpawnOptions(c, { bundle });
    expect(withoutDeny.cgroup?.devices?.optional).toBe(true); // no CAP_MKNOD in podman's bounding set
    c.process.capabilities.bounding.push('CAP_MKNOD');
    using mknod = toSpawnOptions(c, { bundle });
    expect(mknod.cgroup?.devices?.optional).toBe(false);
  });

  test('device rules that need the filter make a cgroup even without resources to write', () => {
    const c: Json = { ...defaultSpec(), process: { ...defaultSpec().process!, terminal: false } };
    c.linux.resources.devices.push({ allow: false, type: 'c', major: 1, minor: 7 });
    using m = toSpawnOptions(c, { bundle, id: 'dev1' });
    expect(m.cgroup).toMatchObject({ path: '/nsbox-oci/dev1', writes: [], devices: { optional: false } });
  });

  test("spawn's own validation accepts the options (no syscall but stat)", () => {
    using m = toSpawnOptions(podman, { bundle });
    const c = checkSpawn(m.command, m.args, m.options);
    expect(c.argv).toEqual(['sh', '-c', 'hostname; id']);
    expect(c.container?.mounts).toHaveLength(12);
    expect(c.security.rlimits).toBeDefined();
    expect(c.security.sysctl).toEqual([['/proc/sys/net/ipv4/ping_group_range', '0 0']]);
  });

  test('process.terminal: a pty made inside, sized by consoleSize when both are non-zero; stdio left out', () => {
    const c = defaultSpec();
    using m = toSpawnOptions(c, { bundle, stdio: 'inherit' });
    expect(m.options.terminal).toBe(true);
    expect(m.options.stdio).toBeUndefined();
    c.process!.consoleSize = { height: 40, width: 120 };
    using sized = toSpawnOptions(c, { bundle });
    expect(sized.options.terminal).toEqual({ rows: 40, cols: 120 });
    c.process!.consoleSize = { height: 0, width: 120 };
    using zero = toSpawnOptions(c, { bundle });
    expect(zero.options.terminal).toBe(true);
  });

  test("runc's spec: relative root, read-only root, ambient reported in warnings", () => {
    const c = { ...defaultSpec(), process: { ...defaultSpec().process!, terminal: false } };
    using m = toSpawnOptions(c, { bundle });
    expect(m.options.rootfs).toBe(join(bundle, 'rootfs'));
    expect(m.options.readOnlyRoot).toBe(true);
    expect(m.options.capabilities?.ambient).toEqual([]);
    expect(m.warnings).toEqual([
      expect.stringMatching(/^process\.capabilities\.ambient: CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE not raised/),
    ]);
    expect(m.cgroup).toBeUndefined(); // a deny-all device list is no cgroup write
  });
});

describe('refused by JSON path, before any syscall', () => {
  const base = (): Json => JSON.parse(JSON.stringify(podman));
  const cases: Array<[string, (c: Json) => void, string, string]> = [
    [
      'a console too large',
      (c) => {
        c.process.terminal = true;
        c.process.consoleSize = { height: 70000, width: 80 };
      },
      'process.consoleSize',
      'ERR_INVALID_ARG_VALUE',
    ],
    [
      'an AppArmor profile',
      (c) => (c.process.apparmorProfile = 'containers-default-0.50.1'),
      'process.apparmorProfile',
      'ERR_NSBOX_UNSUPPORTED',
    ],
    [
      'an SELinux label',
      (c) => (c.process.selinuxLabel = 'system_u:system_r:container_t:s0'),
      'process.selinuxLabel',
      'ERR_NSBOX_UNSUPPORTED',
    ],
    ['ioPriority', (c) => (c.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE' }), 'process.ioPriority', 'ERR_NSBOX_UNSUPPORTED'],
    ['a scheduler', (c) => (c.process.scheduler = { policy: 'SCHED_BATCH' }), 'process.scheduler', 'ERR_NSBOX_UNSUPPORTED'],
    ['execCPUAffinity', (c) => (c.process.execCPUAffinity = { initial: '0' }), 'process.execCPUAffinity', 'ERR_NSBOX_UNSUPPORTED'],
    ['intelRdt', (c) => (c.linux.intelRdt = { closID: 'x' }), 'linux.intelRdt', 'ERR_NSBOX_UNSUPPORTED'],
    ['memoryPolicy', (c) => (c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0' }), 'linux.memoryPolicy', 'ERR_NSBOX_UNSUPPORTED'],
    ['netDevices without createStartSplit', (c) => (c.linux.netDevices = { eth1: {} }), 'linux.netDevices', 'ERR_NSBOX_UNSUPPORTED'],
    ['hooks', (c) => (c.hooks = { createRuntime: [{ path: '/usr/bin/netavark' }] }), 'hooks.createRuntime', 'ERR_NSBOX_UNSUPPORTED'],
    ['no mount namespace', (c) => c.linux.namespaces.splice(4, 1), 'linux.namespaces', 'ERR_NSBOX_UNSUPPORTED'],
    ['a namespace twice', (c) => c.linux.namespaces.push({ type: 'ipc' }), 'linux.namespaces[6].type', 'ERR_INVALID_ARG_VALUE'],
    ['hostname without uts', (c) => c.linux.namespaces.splice(3, 1), 'hostname', 'ERR_INVALID_ARG_VALUE'],
    [
      'uid mappings without a user namespace',
      (c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 1, size: 1 }]),
      'linux.uidMappings',
      'ERR_INVALID_ARG_VALUE',
    ],
    ['tmpcopyup on a bind mount', (c) => c.mounts[5].options.push('tmpcopyup'), 'mounts[5].options', 'ERR_NSBOX_UNSUPPORTED'],
    ['tmpcopyup on a proc mount', (c) => c.mounts[0].options.push('tmpcopyup'), 'mounts[0].options', 'ERR_NSBOX_UNSUPPORTED'],
    [
      'an overlay mount',
      (c) => c.mounts.push({ destination: '/x', type: 'overlay', source: 'overlay' }),
      'mounts[12].type',
      'ERR_NSBOX_UNSUPPORTED',
    ],
    ['a missing bind source', (c) => (c.mounts[5].source = '/nonexistent/nsbox'), 'mounts[5].source', 'ERR_INVALID_ARG_VALUE'],
    [
      'per-mount id maps',
      (c) => (c.mounts[10].uidMappings = [{ containerID: 0, hostID: 1, size: 1 }]),
      'mounts[10].uidMappings',
      'ERR_NSBOX_UNSUPPORTED',
    ],
    ['a bad tmpfs mode', (c) => (c.mounts[1].options[2] = 'mode=999'), 'mounts[1].options', 'ERR_INVALID_ARG_VALUE'],
    [
      'a device owner',
      (c) => (c.linux.devices = [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229, uid: 1000 }]),
      'linux.devices[0].uid',
      'ERR_NSBOX_UNSUPPORTED',
    ],
    [
      'a device without minor',
      (c) => (c.linux.devices = [{ type: 'c', path: '/dev/fuse', major: 10 }]),
      'linux.devices[0].minor',
      'ERR_INVALID_ARG_VALUE',
    ],
    [
      'a device rule of an unknown type',
      (c) => (c.linux.resources.devices = [{ allow: true, type: 'x', access: 'rwm' }]),
      'linux.resources.devices[0].type',
      'ERR_INVALID_ARG_VALUE',
    ],
    ['kernel memory', (c) => (c.linux.resources.memory.kernel = 1 << 20), 'linux.resources.memory.kernel', 'ERR_NSBOX_UNSUPPORTED'],
    ['a systemd cgroupsPath', (c) => (c.linux.cgroupsPath = 'machine.slice:libpod:4f3a'), 'linux.cgroupsPath', 'ERR_NSBOX_UNSUPPORTED'],
    ['a cgroupsPath with ..', (c) => (c.linux.cgroupsPath = '/a/../../b'), 'linux.cgroupsPath', 'ERR_INVALID_ARG_VALUE'],
    ['resources without a cgroupsPath or id', (c) => delete c.linux.cgroupsPath, 'linux.cgroupsPath', 'ERR_INVALID_ARG_VALUE'],
    ['no process', (c) => delete c.process, 'process', 'ERR_INVALID_ARG_VALUE'],
    ['a missing root', (c) => (c.root.path = 'nonexistent'), 'root.path', 'ERR_INVALID_ARG_VALUE'],
    ['empty args', (c) => (c.process.args = []), 'process.args', 'ERR_INVALID_ARG_VALUE'],
    ['an env entry without =', (c) => c.process.env.push('JUSTNAME'), 'process.env[5]', 'ERR_INVALID_ARG_VALUE'],
    [
      'a time offset clock',
      (c) => {
        c.linux.namespaces.push({ type: 'time' });
        c.linux.timeOffsets = { realtime: { secs: 1 } };
      },
      'linux.timeOffsets.realtime',
      'ERR_INVALID_ARG_VALUE',
    ],
  ];
  test.each(cases)('%s → %s', (_, edit, jsonPath, code) => {
    const c = base();
    edit(c);
    expect(() => toSpawnOptions(parseConfig(c), { bundle })).toThrow(expect.objectContaining({ code, jsonPath }));
  });

  test('ignored with a warning, as runc and crun ignore them: a Windows username, the fs options of a bind, a mount label while SELinux is off (refused when on); mount propagation kept', () => {
    const c = base();
    c.process.user.username = 'test';
    c.linux.mountLabel = 'system_u:object_r:container_file_t:s0';
    const selinux = existsSync('/sys/fs/selinux/enforce');
    if (selinux) {
      expect(() => toSpawnOptions(parseConfig(c), { bundle })).toThrow(
        expect.objectContaining({ code: 'ERR_NSBOX_UNSUPPORTED', jsonPath: 'linux.mountLabel' }),
      );
      delete c.linux.mountLabel;
    }
    c.mounts[5].options.push('size=1m'); // mount(2) ignores a bind's data
    c.mounts[10].options[3] = 'rshared';
    using m = toSpawnOptions(parseConfig(c), { bundle });
    expect((m.options.mounts as Json)[10].propagation).toBe('rshared');
    expect(m.warnings).toEqual(
      expect.arrayContaining([
        expect.stringContaining('mounts[5].options: a bind mount takes no filesystem options; size=1m ignored'),
        expect.stringContaining('process.user.username'),
        ...(selinux ? [] : [expect.stringContaining('linux.mountLabel')]),
      ]),
    );
    expect(m.options.uid).toBe(c.process.user.uid);
  });

  test("tmpcopyup on a tmpfs is copyUp (podman's systemd mode: /run, /tmp, /var/log/journal); its mode stays unset", () => {
    const c = base();
    c.mounts.push({ destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup'] });
    using m = toSpawnOptions(parseConfig(c), { bundle });
    expect((m.options.mounts as Json).at(-1)).toEqual({ type: 'tmpfs', target: '/run', flags: ['nosuid', 'nodev'], copyUp: true });
  });

  test('poststart and poststop hooks are returned for runHooks; the others are refused', () => {
    const c = base();
    const hook = { path: '/usr/bin/true', args: ['true'], timeout: 5 };
    c.hooks = { poststart: [hook], poststop: [hook, hook], createRuntime: [] };
    using m = toSpawnOptions(parseConfig(c), { bundle });
    expect(m.hooks).toEqual({ poststart: [hook], poststop: [hook, hook] });
    c.hooks.startContainer = [hook];
    expect(() => toSpawnOptions(parseConfig(c), { bundle })).toThrow(
      expect.objectContaining({ code: 'ERR_NSBOX_UNSUPPORTED', jsonPath: 'hooks.startContainer' }),
    );
    // With the create/start split every kind is accepted and returned, for the caller to run.
    c.hooks.createContainer = [hook];
    using split = toSpawnOptions(parseConfig(c), { bundle, createStartSplit: true });
    expect(split.hooks).toEqual({ poststart: [hook], poststop: [hook, hook], createContainer: [hook], startContainer: [hook] });
  });

  test('seccomp.listenerPath: returned as seccompListener when a rule notifies; required by a runtime', () => {
    const c = base();
    c.linux.seccomp.listenerPath = '/run/agent.sock';
    c.linux.seccomp.listenerMetadata = 'm';
    {
      using m = toSpawnOptions(parseConfig(c), { bundle });
      expect(m.seccompListener).toBeUndefined(); // no SCMP_ACT_NOTIFY rule: the path is ignored (config-linux.md)
    }
    c.linux.seccomp.syscalls.push({ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' });
    {
      using m = toSpawnOptions(parseConfig(c), { bundle, createStartSplit: true });
      expect(m.seccompListener).toEqual({ path: '/run/agent.sock', metadata: 'm' });
    }
    delete c.linux.seccomp.listenerPath;
    {
      using m = toSpawnOptions(parseConfig(c), { bundle }); // in-process: child.seccompNotifier
      expect(m.seccompListener).toBeUndefined();
    }
    expect(() => toSpawnOptions(parseConfig(c), { bundle, createStartSplit: true })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', jsonPath: 'linux.seccomp.listenerPath' }),
    );
  });

  test('netDevices with createStartSplit: checked as runc checks them, returned as a plan', () => {
    const c = base();
    c.linux.netDevices = { eth1: {}, nsbxa: { name: 'inner0' } };
    const split = { bundle, createStartSplit: true };
    if (process.geteuid!() === 0) {
      using m = toSpawnOptions(parseConfig(c), split);
      expect(m.netDevices).toEqual([
        { host: 'eth1', name: 'eth1' },
        { host: 'nsbxa', name: 'inner0' },
      ]);
    } else {
      expect(() => toSpawnOptions(parseConfig(c), split)).toThrow(
        expect.objectContaining({ code: 'ERR_NSBOX_UNSUPPORTED', jsonPath: 'linux.netDevices' }),
      );
      return;
    }
    const bad: Array<[Json, string]> = [
      [{ 'a/b': {} }, 'linux.netDevices["a/b"]'],
      [{ eth1: { name: 'x'.repeat(16) } }, 'linux.netDevices.eth1.name'],
      [{ eth1: { name: 'a:b' } }, 'linux.netDevices.eth1.name'],
      [{ eth1: { name: 'z' }, eth2: { name: 'z' } }, 'linux.netDevices.eth2.name'],
    ];
    for (const [d, jsonPath] of bad) {
      c.linux.netDevices = d;
      expect(() => toSpawnOptions(parseConfig(c), split)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', jsonPath }));
    }
    c.linux.netDevices = { eth1: {} };
    c.linux.namespaces = c.linux.namespaces.filter((n: Json) => n.type !== 'network');
    expect(() => toSpawnOptions(parseConfig(c), split)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', jsonPath: 'linux.netDevices' }),
    );
  });

  test('containerProcessState: the message for a seccomp agent, as runc sends it', () => {
    const state = { ociVersion: '1.2.0', id: 'a', status: 'creating', pid: 7, bundle: '/b', annotations: { k: 'v' } } as const;
    expect(JSON.parse(JSON.stringify(containerProcessState(state, 9, 'meta')))).toEqual({
      ociVersion: '1.2.0',
      fds: ['seccompFd'],
      pid: 9,
      metadata: 'meta',
      state: { ociVersion: '1.2.0', id: 'a', status: 'creating', pid: 7, bundle: '/b', annotations: { k: 'v' } },
    });
    expect(containerProcessState({ ...state, annotations: undefined }, 7)).not.toHaveProperty('metadata');
  });

  test('linux.rootfsPropagation: shared, slave and unbindable (r-forms alike) become options.propagation; private stays the default', () => {
    const prop = (p: string) => {
      const c: Json = { ...defaultSpec(), process: { ...defaultSpec().process!, terminal: false } };
      c.root = { path: join(bundle, 'rootfs') };
      c.linux = { ...c.linux, rootfsPropagation: p };
      const m = toSpawnOptions(c, { bundle });
      m.close();
      return m.options.propagation;
    };
    expect([prop('shared'), prop('rshared'), prop('rslave'), prop('unbindable'), prop('private'), prop('rprivate')]).toEqual([
      'shared',
      'shared',
      'slave',
      'unbindable',
      undefined,
      undefined,
    ]);
  });

  test('resources without cgroupsPath go to /nsbox-oci/ID when an id is given', () => {
    const c = base();
    delete c.linux.cgroupsPath;
    using m = toSpawnOptions(parseConfig(c), { bundle, id: 'web1' });
    expect(m.cgroup?.path).toBe('/nsbox-oci/web1');
  });

  test('a user namespace with maps, time offsets, a FIFO and a fuse device', () => {
    const c = base();
    c.linux.namespaces.push({ type: 'user' }, { type: 'time' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.timeOffsets = { monotonic: { secs: 10, nanosecs: 500000000 }, boottime: { secs: -1 } };
    c.linux.devices = [
      { type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 },
      { type: 'p', path: '/dev/fifo' },
      { type: 'u', path: '/dev/null', major: 1, minor: 3, fileMode: 0o600 },
    ];
    using m = toSpawnOptions(parseConfig(c), { bundle });
    expect(m.options.uidMap).toEqual([{ inside: 0, outside: 100000, count: 65536 }]);
    expect(m.options.timeOffsets).toEqual({ monotonic: 10.5, boottime: -1 });
    expect(m.options.devices).toContainEqual({ path: '/dev/fuse', type: 'c', major: 10, minor: 229, mode: 0o666 });
    expect(m.options.devices).toContainEqual({ path: '/dev/fifo', type: 'p' });
    expect(m.options.devices?.find((d) => d.path === '/dev/null')).toEqual({
      path: '/dev/null',
      type: 'c',
      major: 1,
      minor: 3,
      mode: 0o600,
    });
  });
});

describe('features()', () => {
  test('derived from the parser and mapper tables', () => {
    const f = features();
    expect(f.ociVersionMin).toBe('1.0.0');
    expect(f.ociVersionMax).toMatch(/^1\.2\./);
    expect(parseConfig({ ...defaultSpec(), ociVersion: f.ociVersionMax }).ociVersion).toBe(f.ociVersionMax);
    expect(f.linux.namespaces).toEqual(['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time']);
    expect(f.linux.cgroup).toEqual({ v1: false, v2: true, systemd: false, systemdUser: false, rdma: true });
    expect(f.linux.capabilities).toContain('CAP_SYS_ADMIN');
    expect(f.linux.seccomp.actions).toContain('SCMP_ACT_NOTIFY');
    expect(f.linux.seccomp.operators).toContain('SCMP_CMP_MASKED_EQ');
    expect(f.linux.apparmor.enabled).toBe(false);
    expect(f.hooks).toEqual(['poststart', 'poststop']);
    // Every listed mount option is accepted by the mapper; every refused one is absent.
    for (const o of Object.keys(MOUNT_OPTIONS)) {
      const c = { ...defaultSpec(), process: { ...defaultSpec().process!, terminal: false } };
      c.mounts = [{ destination: '/x', type: 'bind', source: bundle, options: ['rbind', o] }];
      const ok = (() => {
        try {
          toSpawnOptions(c, { bundle }).close();
          return true;
        } catch {
          return false;
        }
      })();
      // sync, dirsync: fresh mounts only; tmpcopyup: a tmpfs only.
      expect(f.mountOptions.includes(o), o).toBe(ok || ['sync', 'dirsync', 'tmpcopyup'].includes(o));
    }
  });
});

describe('deriveStatus', () => {
  test.each([
    [{ alive: false, waitingForStart: false }, 'stopped'],
    [{ alive: false, waitingForStart: true, frozen: true }, 'stopped'],
    [{ alive: true, waitingForStart: false, creating: true }, 'creating'],
    [{ alive: true, waitingForStart: true }, 'created'],
    [{ alive: true, waitingForStart: true, frozen: true }, 'paused'],
    [{ alive: true, waitingForStart: false, frozen: true }, 'paused'],
    [{ alive: true, waitingForStart: false, frozen: false }, 'running'],
  ] as const)('%j → %s', (facts, status) => expect(deriveStatus(facts)).toBe(status));
});
