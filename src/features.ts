/**
 * `features()`: what this kernel offers and what this process may do with it, probed once.
 * docs/privileges.md explains how to read it.
 * @module
 */
import { release } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { findCgroup2, type Cgroup2Mount } from './cgroups/discovery.js';
import { findHelper } from './helpers.js';
import { K, native } from './native.js';
import { readProc } from './procfs.js';

/** Capability sets of the calling thread, from `/proc/self/status` (capabilities(7)). */
export interface CapabilitySets {
  /** `CapEff`: the effective set, as a bit mask (bit N is capability N, e.g. bit 21 `CAP_SYS_ADMIN`). */
  readonly effective: bigint;
  /** `CapBnd`: the bounding set, the most this process and its children can ever gain by exec. */
  readonly bounding: bigint;
}

/**
 * What the kernel and this process support, as {@link features} reports it. Frozen.
 *
 * "Supported" means the kernel has the interface: the probe called it and got something other
 * than "no such syscall" (ENOSYS) or "no such ioctl" (ENOTTY). Whether a given use is allowed
 * still depends on privileges (`root`, `capSysAdmin`, `userNamespaces`).
 *
 * Holds bigints (`capabilities`), so `JSON.stringify` needs a replacer.
 */
export interface Features {
  /** `uname -r` (`os.release()`), e.g. `'6.1.0-28-amd64'`. Informative: the probes, not the version, decide. */
  readonly kernel: string;
  /** clone3(2) exists (Linux 5.3). Probed with a zero-sized argument: EINVAL means present, ENOSYS absent. */
  readonly clone3: boolean;
  /**
   * clone3's `CLONE_INTO_CGROUP` (Linux 5.7): a child starts in a given cgroup v2. Probed with an fd
   * (INT_MAX) that can never be open: EBADF means the flag is known, EINVAL/E2BIG that it is not.
   */
  readonly cloneIntoCgroup: boolean;
  /** pidfd_open(2) (Linux 5.3). Probed by opening and closing a pidfd of this process. */
  readonly pidfd: boolean;
  /** pidfd_send_signal(2) (Linux 5.1). Probed with signal 0 to this process's pidfd. */
  readonly pidfdSendSignal: boolean;
  /** close_range(2) (Linux 5.9). Probed on the range [2^32-2, 2^32-1], where no fd can be. */
  readonly closeRange: boolean;
  /** Time namespaces (Linux 5.6, `CLONE_NEWTIME`): `/proc/self/ns/time` exists. */
  readonly timeNamespace: boolean;
  /**
   * The new mount API, fsopen(2)/fsmount(2)/move_mount(2)/open_tree(2) (Linux 5.2). Probed with
   * `fsopen("tmpfs")`, closed at once; EPERM (no CAP_SYS_ADMIN) still counts as present.
   */
  readonly newMountApi: boolean;
  /** mount_setattr(2) (Linux 5.12; idmapped mounts, recursive read-only). Probed with a zero-sized attribute (EINVAL). */
  readonly mountSetattr: boolean;
  /** openat2(2) (Linux 5.6; `RESOLVE_*` path-resolution limits). Probed by opening `/` with `RESOLVE_NO_MAGICLINKS`. */
  readonly openat2: boolean;
  /** The ioctl_ns(2) `NS_GET_*` requests (Linux 4.11). Probed with `NS_GET_NSTYPE` on `/proc/self/ns/net`. */
  readonly nsGetIoctls: boolean;
  /**
   * This process may create user namespaces, so rootless sandboxes work. Probed for real: a
   * short-lived child is cloned with `CLONE_NEWUSER` and reaped (a multi-threaded process
   * cannot unshare one itself). False when `user.max_user_namespaces` is 0, a distribution
   * sysctl (`kernel.unprivileged_userns_clone`, AppArmor's `apparmor_restrict_unprivileged_userns`)
   * forbids it, seccomp blocks it, or the process is chrooted.
   */
  readonly userNamespaces: boolean;
  /** Why `userNamespaces` is false: the errno name clone gave (`'EPERM'`, `'ENOSPC'`, `'EUSERS'`, …); `undefined` when true. */
  readonly userNamespacesError?: string;
  /** The effective uid is 0. Root is not the same as privileged: see `capSysAdmin`. */
  readonly root: boolean;
  /** Effective uid (geteuid(2)). */
  readonly euid: number;
  /** Effective gid (getegid(2)). */
  readonly egid: number;
  /** Capability sets, read from `/proc/self/status`. */
  readonly capabilities: CapabilitySets;
  /** `CAP_SYS_ADMIN` is in the effective set: mounts, namespaces other than user, sethostname… in the current user namespace. */
  readonly capSysAdmin: boolean;
  /** `CAP_SYS_RESOURCE` is in the effective set: raising limits past the hard ones. */
  readonly capSysResource: boolean;
  /** The cgroup v2 mount ({@link findCgroup2}), or `null` when cgroup v2 is not mounted. */
  readonly cgroup2: Readonly<Cgroup2Mount> | null;
  /**
   * Absolute path of the `newuidmap` setuid helper (shadow's uidmap package) in `/usr/bin`,
   * `/usr/sbin` or `/bin`, or `null`. With `/etc/subuid` it lets an unprivileged user map
   * more than its own uid into a user namespace.
   */
  readonly newuidmap: string | null;
  /** Absolute path of `newgidmap`, as for `newuidmap`. */
  readonly newgidmap: string | null;
  /**
   * The Landlock ABI version the kernel supports (landlock(7)): 1 (Linux 5.13) … 7 (6.15),
   * or 0 when Landlock is not built in or disabled at boot (`lsm=`). Probed with
   * `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`; needs no privilege.
   * See docs/security.md for what each version adds.
   */
  readonly landlock: number;
}

const CAP_SYS_ADMIN = BigInt(K.CAP.CAP_SYS_ADMIN!);
const CAP_SYS_RESOURCE = BigInt(K.CAP.CAP_SYS_RESOURCE!);

function capabilitySets(): CapabilitySets {
  const status = readProc('self', 'status');
  const field = (name: string): bigint => {
    const m = new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(status);
    return m === null ? 0n : BigInt(`0x${m[1]}`);
  };
  return Object.freeze({ effective: field('CapEff'), bounding: field('CapBnd') });
}

function freezeCgroup2(mount: Cgroup2Mount | null): Readonly<Cgroup2Mount> | null {
  if (mount === null) return null;
  return Object.freeze({ ...mount, controllers: Object.freeze([...mount.controllers]) as string[] });
}

let cached: Features | undefined;
let intoCgroup: boolean | undefined;

/**
 * `features().cloneIntoCgroup` alone, probed once: what spawn checks before its first syscall,
 * without the other probes (one of them clones a child; the OCI runtime's `create` would pay
 * for all of them). @internal
 */
export function cloneIntoCgroup(): boolean {
  if (cached !== undefined) return cached.cloneIntoCgroup;
  intoCgroup ??= native.probeCloneIntoCgroup();
  return intoCgroup;
}

/**
 * What the kernel offers and what this process may do with it: syscalls nsbox can use,
 * whether user namespaces can be created, root and capabilities, the cgroup v2 mount and the
 * id-map helpers.
 *
 * Probed on the first call and cached for the life of the process (later changes — a new
 * mount, dropped capabilities — are not seen); the same frozen object is returned every time.
 * The probes leave nothing behind: every fd they open is closed, the one child they create
 * (to try `CLONE_NEWUSER`) is reaped before returning.
 *
 * Synchronous and cheap (a few milliseconds, once). Needs no privilege: as an unprivileged
 * user it reports what that user can do. Does not touch the calling thread's namespaces.
 * @throws `SysError` only if `/proc` is not mounted (reading `/proc/self/status` fails).
 */
export function features(): Features {
  if (cached !== undefined) return cached;
  const n = native.probeFeatures();
  const capabilities = capabilitySets();
  const f: Features = {
    kernel: release(),
    clone3: n.clone3,
    cloneIntoCgroup: n.cloneIntoCgroup,
    pidfd: n.pidfd,
    pidfdSendSignal: n.pidfdSendSignal,
    closeRange: n.closeRange,
    timeNamespace: n.timeNamespace,
    newMountApi: n.newMountApi,
    mountSetattr: n.mountSetattr,
    openat2: n.openat2,
    nsGetIoctls: n.nsGetIoctls,
    userNamespaces: n.userNamespaces,
    ...(n.userNamespaces ? {} : { userNamespacesError: getSystemErrorName(-n.userNamespacesErrno) }),
    root: n.euid === 0,
    euid: n.euid,
    egid: n.egid,
    capabilities,
    capSysAdmin: ((capabilities.effective >> CAP_SYS_ADMIN) & 1n) === 1n,
    capSysResource: ((capabilities.effective >> CAP_SYS_RESOURCE) & 1n) === 1n,
    cgroup2: freezeCgroup2(findCgroup2()),
    newuidmap: findHelper('newuidmap'),
    newgidmap: findHelper('newgidmap'),
    landlock: n.landlock,
  };
  cached = Object.freeze(f);
  return cached;
}
