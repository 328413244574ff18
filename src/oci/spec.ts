/**
 * `defaultSpec()`: the config.json `runc spec` writes (and `runc spec --rootless`), as an
 * object, for the runtime CLI's `spec` command and for tests.
 * @module
 */
import type { OciMount, OciSpec } from './types.js';

/** Options of {@link defaultSpec}. */
export interface DefaultSpecOptions {
  /**
   * `runc spec --rootless`: a user namespace mapping the caller's uid and gid to 0 (as given,
   * or the process's own), no network namespace, /sys bound from the host, no `gid=` on
   * /dev/pts, no cgroup resources.
   */
  rootless?: boolean;
  /** Host uid mapped to 0 in the rootless spec. Default: process.geteuid(). */
  uid?: number;
  /** Host gid mapped to 0 in the rootless spec. Default: process.getegid(). */
  gid?: number;
}

const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

/**
 * The default config.json of `runc spec` (runc 1.2, runtime-spec 1.2.0): `sh` on a terminal
 * as root in `rootfs` (read-only), hostname `runc`, CAP_AUDIT_WRITE, CAP_KILL and
 * CAP_NET_BIND_SERVICE, RLIMIT_NOFILE 1024, no_new_privs, the standard mounts, masked and
 * read-only paths, new pid, network, ipc, uts, mount and cgroup namespaces, and a deny-all
 * device list. A fresh object on every call; pure.
 *
 * Note that `process.terminal` is true, as runc writes it: the spawned child's `terminal` is
 * then the pty's master, for the caller to use or to send to a console socket (`sendFd()`);
 * set it to false for plain stdio.
 */
export function defaultSpec(options: DefaultSpecOptions = {}): OciSpec {
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
  const spec: OciSpec = {
    ociVersion: '1.2.0',
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...CAPS], effective: [...CAPS], permitted: [...CAPS], ambient: [...CAPS] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts,
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  if (options.rootless) toRootless(spec, options.uid ?? process.geteuid!(), options.gid ?? process.getegid!());
  return spec;
}

/** What runc's specconv.ToRootless does to the default spec. */
function toRootless(spec: OciSpec, uid: number, gid: number): void {
  const linux = spec.linux!;
  linux.namespaces = [...linux.namespaces!.filter((n) => n.type !== 'network' && n.type !== 'user'), { type: 'user' }];
  linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
  linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }];
  for (const m of spec.mounts!) {
    if (m.destination === '/sys') {
      m.source = '/sys';
      m.type = 'none';
      m.options = ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'];
    } else if (m.options) m.options = m.options.filter((o) => !o.startsWith('gid=') && !o.startsWith('uid='));
  }
  delete linux.resources;
}
