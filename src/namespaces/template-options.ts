/**
 * The options of {@link template} and of its runs, and their checks before any syscall.
 * @module
 */
import { handleClosed, invalidArgType, invalidArgValue } from '../errors.js';
import type { ContainerMount, RootfsSpec } from '../fs/container.js';
import { SECURITY_KEYS, type SecurityOptions } from '../security/options.js';
import type { IdMapping, SetgroupsPolicy } from './idmap.js';
import { checkSpawn, type Checked, type SpawnOptions } from './options.js';
import { NamespacePool } from './pool.js';
import type { NamespaceType } from './types.js';

/** The namespaces a template's runs get by default: all but time. */
const DEFAULT_NAMESPACES: NamespaceType[] = ['user', 'mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup'];

/** Options of {@link template}: what every run shares. */
export interface TemplateOptions extends SecurityOptions {
  /**
   * The namespaces of each run. Must hold `'mnt'` and `'pid'`; `'time'` is not offered.
   * `'user'`: the template makes its user namespaces once (with the id maps below) and every
   * run enters them; the others are made anew for each run. Default: user, mnt, pid, net, ipc,
   * uts, cgroup.
   */
  namespaces?: NamespaceType[];
  /** uid map of the template's user namespace, as spawn takes it (default: an id block as root, else your own uid as 0). */
  uidMap?: IdMapping[];
  /** gid map, as {@link uidMap}. */
  gidMap?: IdMapping[];
  /** setgroups(2) in the template's user namespace, as spawn takes it. */
  setgroups?: SetgroupsPolicy;
  /** The container's root, as spawn takes it: a directory, an overlay `{ layers }`, or `'host'`. Mounted read-only. */
  rootfs: RootfsSpec;
  /**
   * Bind mounts (volumes) made once, in order, inside the root: `type: 'bind'` only. A volume
   * without `readOnly` is the one thing runs share on purpose: what one run writes there,
   * the next sees. In a run it has the read-only state spawn gives it: its own mount and the
   * host's submounts it brings in are writable where the host has them read-write (read from
   * this process's /proc/self/mountinfo when the template is made); what the template mounts
   * under it (a `readOnly` volume, masked and read-only paths, a scratch placeholder) is
   * read-only. A volume with `propagation: 'shared'` or `'rshared'` is a peer group of each
   * run's own (each run's copy of the tree is made a slave of the template's first): what a
   * run mounts under it reaches no other run. Per-run writable space is {@link scratch}.
   */
  mounts?: ContainerMount[];
  /** spawn's default mounts (/proc, /sys, /dev, masked and read-only paths, /etc files). Default true. */
  defaultMounts?: boolean;
  /** Masked paths replacing the defaults, as spawn takes them; those under /proc are applied on each run's fresh /proc. */
  maskedPaths?: string[];
  /** Read-only paths replacing the defaults, as spawn takes them; those under /proc are applied on each run's /proc. */
  readonlyPaths?: string[];
  /** Hostname of every run (needs `'uts'`); also in /etc/hostname. */
  hostname?: string;
  /** NIS domain name of every run (needs `'uts'`). */
  domainname?: string;
  /**
   * Keep the command out of the user namespace that owns its mounts (default true, with
   * `'user'`): the command runs in a user namespace of its own nested in it, so it cannot
   * mount, unmount or remount anything, whatever capabilities it keeps. `false`: the command
   * runs in the template's user namespace with every capability the security options leave
   * it, and could undo its masks: it can remount the root and the template's mounts
   * read-write, so a directory rootfs, a masked file and /etc/hostname become writable and
   * what it writes there is seen by later runs. Only for trusted commands.
   */
  lockMounts?: boolean;
  /**
   * Directories that get a fresh, empty tmpfs (mode 1777) in every run: the run's writable
   * space, gone when it ends. The root and everything else made once are read-only.
   * Default `['/tmp']`.
   */
  scratch?: string[];
  /**
   * Take each run's network namespace from this pool (see `namespacePool({ kind: 'net' })`)
   * instead of making it with unshare(2) (~0.35 ms of kernel time per run): every run joins a
   * fresh namespace (setns(2)), made for the pool and handed out once, with `lo` up as the pool
   * made it. Needs `'net'` in `namespaces`. The pool stays the caller's: closing it makes later
   * runs fail (`ERR_HANDLE_CLOSED`). When the pool is empty (runs outpace its refill), the
   * run's child makes the namespace itself, the same way and with the same owner (unshare(2)
   * before any other step, `lo` as the pool's): the calling thread never waits for one.
   *
   * Ownership: a pooled namespace belongs to the pool creator's user namespace (the initial
   * one, for root), not to the run's own: the command has no capability over it — it cannot
   * add or change links, addresses or routes, open raw or packet sockets, bind ports below
   * `net.ipv4.ip_unprivileged_port_start`, or change the namespace's sysctls — where without a
   * pool it is root of the user namespace that owns its network namespace. Joining one needs
   * CAP_SYS_ADMIN over it: root, in practice (as the pool itself does).
   */
  netPool?: NamespacePool;
}

/**
 * Options of {@link SandboxTemplate.spawn}: what may differ between runs, as spawn takes them.
 * `env` defaults to this process's environment, as spawn's does: pass one to give a run
 * nothing of it.
 */
export type TemplateSpawnOptions = Pick<
  SpawnOptions,
  | 'env'
  | 'cwd'
  | 'cwdOptional'
  | 'argv0'
  | 'stdio'
  | 'fds'
  | 'uid'
  | 'gid'
  | 'groups'
  | 'timeout'
  | 'signal'
  | 'killSignal'
  | 'dieWithParent'
  | 'cgroup'
>;

const TEMPLATE_KEYS = new Set<string>([
  'namespaces',
  'uidMap',
  'gidMap',
  'setgroups',
  'rootfs',
  'mounts',
  'defaultMounts',
  'maskedPaths',
  'readonlyPaths',
  'hostname',
  'domainname',
  'lockMounts',
  'scratch',
  'netPool',
  ...SECURITY_KEYS,
]);
export const RUN_KEYS = new Set<string>([
  'env',
  'cwd',
  'cwdOptional',
  'argv0',
  'stdio',
  'fds',
  'uid',
  'gid',
  'groups',
  'timeout',
  'signal',
  'killSignal',
  'dieWithParent',
  'cgroup',
]);

/** Validated template options. @internal */
export interface CheckedTemplate {
  c: Checked;
  scratch: string[];
  o: TemplateOptions;
  netPool: NamespacePool | undefined;
}

function checkScratch(v: unknown): string[] {
  if (v === undefined) return ['/tmp'];
  if (!Array.isArray(v)) throw invalidArgType('options.scratch', 'an array of absolute paths', v);
  return v.map((p, i) => {
    if (typeof p !== 'string') throw invalidArgType(`options.scratch[${i}]`, 'of type string', p);
    if (!p.startsWith('/') || p === '/' || p.includes('\0') || p.split('/').includes('..'))
      throw invalidArgValue(`options.scratch[${i}]`, p, "must be an absolute path other than '/', without '..'");
    return p;
  });
}

/** Every check of template(), before any syscall. */
export function checkTemplate(options: unknown): CheckedTemplate {
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
  const o = options as TemplateOptions;
  for (const k of Object.keys(o))
    if (!TEMPLATE_KEYS.has(k))
      throw invalidArgValue(`options.${k}`, (o as unknown as Record<string, unknown>)[k], 'is not a template option');
  if (o.rootfs === undefined) throw invalidArgValue('options.rootfs', undefined, 'is required: a template is a container root');
  const namespaces = o.namespaces ?? DEFAULT_NAMESPACES;
  if (Array.isArray(namespaces)) {
    for (const t of ['mnt', 'pid'] as const)
      if (!namespaces.includes(t))
        throw invalidArgValue(
          'options.namespaces',
          namespaces,
          `must include '${t}' (each run gets a copy of the root and a pid namespace)`,
        );
    if (namespaces.includes('time'))
      throw invalidArgValue('options.namespaces', namespaces, "must not include 'time' (not offered by templates)");
  }
  const mounts = o.mounts ?? [];
  if (!Array.isArray(mounts)) throw invalidArgType('options.mounts', 'an array of mount specs', mounts);
  mounts.forEach((m, i) => {
    if (typeof m === 'object' && m !== null && (m.type !== 'bind' || m.idmap === true))
      throw invalidArgValue(`options.mounts[${i}]`, m, 'must be a bind mount without idmap (per-run tmpfs: use options.scratch)');
  });
  const scratch = checkScratch(o.scratch);
  const netPool = checkNetPool(o.netPool, namespaces);
  const { scratch: _s, netPool: _p, ...rest } = o;
  // Each scratch directory gets an empty read-only tmpfs in the template (its mount point,
  // made if missing), covered by a fresh one in every run.
  const spawnLike: SpawnOptions = {
    ...rest,
    namespaces,
    mounts: [...mounts, ...scratch.map((target): ContainerMount => ({ type: 'tmpfs', target, mode: 0o755 }))],
    readOnlyRoot: true,
  };
  const c = checkSpawn('/', [], spawnLike);
  // Unprivileged, each run's own user namespace gets its maps from a helper that needs the run's
  // /proc (OP_LOCK): the default mounts make it.
  if (o.defaultMounts === false && c.newNs.has('user') && o.lockMounts !== false && process.geteuid!() !== 0)
    throw invalidArgValue(
      'options.defaultMounts',
      false,
      "needs lockMounts: false as an unprivileged user (each run's user namespace is set up through its /proc)",
    );
  if ((o.hostname !== undefined || o.domainname !== undefined) && !c.newNs.has('uts'))
    throw invalidArgValue('options.hostname', o.hostname ?? o.domainname, "needs 'uts' in options.namespaces");
  return { c, scratch, o, netPool };
}

function checkNetPool(v: unknown, namespaces: unknown): NamespacePool | undefined {
  if (v === undefined) return undefined;
  if (!(v instanceof NamespacePool)) throw invalidArgType('options.netPool', 'a NamespacePool', v);
  if (v.kind !== 'net') throw invalidArgValue('options.netPool', v, `is a pool of ${v.kind as string} namespaces`);
  if (v.closed) throw handleClosed('NamespacePool');
  if (Array.isArray(namespaces) && !namespaces.includes('net'))
    throw invalidArgValue('options.netPool', v, "needs 'net' in options.namespaces (each run's network namespace comes from it)");
  return v;
}
