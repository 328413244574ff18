/**
 * A container's root as spawn-plan steps: the root filesystem (a directory, an overlay of
 * layers, or a tmpfs with the host's system directories read-only), ordered mounts, the
 * defaults runc and Docker set (/proc, /sys, /dev, /dev/pts, /dev/shm, /dev/mqueue, masked
 * and read-only paths, /etc/hostname, /etc/hosts, /etc/resolv.conf), then pivot_root(2).
 * The options are validated in src/fs/container.ts; the steps run in the child
 * (csrc/child_fs.cc), where every target inside the root is resolved with openat2(2)
 * RESOLVE_IN_ROOT.
 * @internal
 * @module
 */
import { constants as fsConstants, realpathSync, statSync } from 'node:fs';
import { isDirectory, isSymbolicLink, pathExists, readLink, readTextFile, statPath } from '../pathstat.js';
import {
  MASKED_DIRS,
  MASKED_PATHS,
  READONLY_PATHS,
  type ContainerMount,
  type ContainerOptions,
  type DeviceNode,
  type RootfsSpec,
} from '../fs/container.js';
import { attrBits, flagBits, MOUNT_FLAGS, type MountAttr } from '../fs/flags.js';
import { invalidArgValue } from '../errors.js';
import { K, MK } from '../native.js';
import type { CheckedHooks } from './hooks.js';
import type { PlanBuilder } from './plan.js';

/** What the plan needs to know about the namespaces. @internal */
export interface ContainerContext {
  /** Filled in: the sources of idmapped volumes, in the order their steps use them. */
  idmapSources: string[];
  newUser: boolean;
  newPid: boolean;
  newNet: boolean;
  /** The network namespace is joined (not new, not the host's shared one). */
  joinedNet?: boolean;
  /** A detached read-only sysfs of the joined network namespace, made by the parent. */
  sysfsFd?: number | undefined;
  newIpc: boolean;
  root: boolean;
  /** OP_LOCK follows the pivot: keep the fd it needs. */
  lock?: boolean;
  /** The host uid (and gid) the container's root will be: owner of a throw-away overlay upper. */
  rootOwner?: number | undefined;
  /** Namespaced sysctls, as (path under /proc/sys, value): written in the container's /proc. */
  sysctl?: ReadonlyArray<readonly [string, string]>;
  /**
   * The new network namespace comes with the lock (OP_LOCK), whose helper mounts its sysfs on
   * /sys and masks it: /sys here is a placeholder, unmasked (a fresh sysfs may only be mounted
   * in a user namespace while another one is fully visible).
   */
  sysfsInLock?: boolean;
  /**
   * The terminal step binds its pty onto /dev/console: the default /dev gets an empty file
   * there, made by the setup (the container's root may not own that tmpfs once locked).
   */
  console?: boolean;
  /** The hooks that run before pivot_root: createRuntime (by the parent), createContainer. */
  hooks?: CheckedHooks | undefined;
  /** Steps to add right before those hooks (spawn's network step when it moves links in). */
  beforeHooks?: (() => void) | undefined;
  /**
   * A template's root (template-plan.ts): every run mounts its own /proc with its masks and
   * read-only paths, devpts, /dev/shm and /dev/mqueue, so the template has a bare /proc and
   * only the directories for the others.
   */
  template?: boolean;
  /** Counted by anchorOf: the volumes anchored so far. */
  anchors?: number;
}

/** What a template leaves to each run: the paths under /proc. */
const notProc = (ctx: ContainerContext) => (p: string) => !(ctx.template && p.startsWith('/proc/'));

const M = K.PLAN_MOUNT;
const IN_ROOT = M.MNT_DST_IN_ROOT;
const NOSUID = K.MS_NOSUID;
const NODEV = K.MS_NODEV;
const NOEXEC = K.MS_NOEXEC;
const BIND_REC = K.MS_BIND | K.MS_REC;

const DEVICES: ReadonlyArray<readonly [string, number, number]> = [
  ['null', 1, 3],
  ['zero', 1, 5],
  ['full', 1, 7],
  ['random', 1, 8],
  ['urandom', 1, 9],
  ['tty', 5, 0],
];
const HOST_SYSTEM_DIRS = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'etc'];

const host = (p: string) => `/oldroot${p === '/' ? '' : p}`;
/** tmpfs options that give a fresh tmpfs to the container's root when it is an id block's. */
const owned = (ctx: ContainerContext) => (ctx.rootOwner === undefined ? '' : `,uid=${ctx.rootOwner},gid=${ctx.rootOwner}`);

function rootSteps(plan: PlanBuilder, rootfs: RootfsSpec, ctx: ContainerContext): void {
  if (rootfs === 'host') {
    plan.mount('tmpfs', '/newroot', 'tmpfs', NOSUID | NODEV, `mode=0755${owned(ctx)}`, 0, 'rootfs');
    for (const e of hostSystemDirs()) {
      if (e.link !== undefined) plan.symlink(e.link, `/${e.name}`, 'rootfs');
      else
        plan.mount(
          host(`/${e.name}`),
          `/${e.name}`,
          null,
          BIND_REC,
          null,
          IN_ROOT | M.MNT_MKDIR | M.MNT_RDONLY | M.MNT_RECURSIVE,
          'rootfs',
          `/${e.name}`,
        );
    }
    plan.mount('tmpfs', '/tmp', 'tmpfs', NOSUID | NODEV, 'mode=1777', IN_ROOT | M.MNT_MKDIR, 'rootfs');
    return;
  }
  if (typeof rootfs === 'string') {
    plan.mount(host(rootfs), '/newroot', null, BIND_REC, null, 0, 'rootfs', rootfs);
    return;
  }
  // overlayfs takes lowerdir top first; nsbox takes layers bottom first, as images stack them.
  const lower = [...rootfs.layers].reverse().map(host).join(':');
  let upper: string;
  let work: string;
  if (rootfs.upper !== undefined) {
    upper = host(rootfs.upper);
    work = host(rootfs.work!);
  } else {
    // Throw-away upper: a tmpfs of the base, gone when the container's mount namespace is.
    plan.mount('tmpfs', '/overlay', 'tmpfs', NOSUID | NODEV, 'mode=0755', M.MNT_MKDIR, 'rootfs');
    plan.mkdir('/overlay/upper', 0, 'rootfs', ctx.rootOwner);
    plan.mkdir('/overlay/work', 0, 'rootfs');
    upper = '/overlay/upper';
    work = '/overlay/work';
  }
  const data = `lowerdir=${lower},upperdir=${upper},workdir=${work}${ctx.newUser ? ',userxattr' : ''}`;
  plan.mount('overlay', '/newroot', 'overlay', 0, data, 0, 'rootfs', rootfs.layers.join(':'));
}

/**
 * Appends the container's filesystem steps. Needs a new mount namespace (checked by spawn).
 * @internal
 */
export function addContainerSteps(plan: PlanBuilder, o: ContainerOptions, ctx: ContainerContext): void {
  plan.fsBase('/tmp');
  if (o.rootfs !== undefined) rootSteps(plan, o.rootfs, ctx);
  else {
    // No new root: mounts apply to the (private) copy of the host tree, seen via /newroot.
    plan.mount(host('/'), '/newroot', null, BIND_REC, null, 0, 'rootfs', '/');
  }
  const ephemeral = o.rootfs !== undefined && typeof o.rootfs !== 'string';
  // Mount points of the defaults are created if missing (as runc does); in a directory
  // rootfs that may be read-only, a target that cannot be made is skipped.
  const make = (dir: boolean) => (dir ? M.MNT_MKDIR : M.MNT_MKFILE) | (ephemeral ? 0 : M.MNT_OPTIONAL);
  if (o.rootfs !== undefined && o.defaultMounts !== false) defaultSteps(plan, o, ctx, make);
  for (const m of o.mounts ?? []) {
    const ro = m.readOnly ? M.MNT_RDONLY : 0;
    const A = anchorOf(m, ctx);
    switch (m.type) {
      case 'bind': {
        const isDir = statSync(m.source).isDirectory();
        if (m.idmap) {
          // The parent makes the idmapped tree once the user namespace has its maps; the child
          // attaches tree number k here (csrc/spawn.cc IdmapTrees, child_fs.cc MNT_FROM_TREE).
          const k = ctx.idmapSources.push(m.source) - 1;
          plan.mount(
            null,
            m.target,
            null,
            k,
            null,
            IN_ROOT | M.MNT_FROM_TREE | (isDir ? M.MNT_MKDIR : M.MNT_MKFILE) | ro | M.MNT_RECURSIVE | A,
            'mounts',
            m.target,
          );
          bindAttrs(plan, m.target, m.attrs, true);
          propagate(plan, m);
          break;
        }
        const rec = m.recursive === false ? 0 : K.MS_REC;
        plan.mount(
          host(m.source),
          m.target,
          null,
          K.MS_BIND | rec,
          null,
          IN_ROOT | (isDir ? M.MNT_MKDIR : M.MNT_MKFILE) | ro | (rec ? M.MNT_RECURSIVE : 0) | A,
          'mounts',
          m.target,
        );
        bindAttrs(plan, m.target, m.attrs, rec !== 0);
        propagate(plan, m);
        break;
      }
      case 'tmpfs': {
        // copyUp without a mode: the root takes the covered directory's (MNT_COPYUP_MODE).
        const mode = m.mode !== undefined ? `mode=0${m.mode.toString(8)}` : m.copyUp ? '' : 'mode=0755';
        const opts = ([mode, m.size !== undefined ? `size=${m.size}` : '', m.data ?? ''].filter(Boolean).join(',') + owned(ctx)).replace(
          /^,/,
          '',
        );
        const flags = m.flags === undefined ? NOSUID | NODEV : flagBits('flags', m.flags, MOUNT_FLAGS);
        // A copy is written after the mount: read-only comes after it (mount_setattr, MNT_RDONLY).
        const copy = m.copyUp ? M.MNT_COPYUP | (m.mode === undefined ? M.MNT_COPYUP_MODE : 0) | (m.readOnly ? M.MNT_RDONLY : 0) : 0;
        const rdonly = m.readOnly && !m.copyUp ? K.MS_RDONLY : 0;
        plan.mount(m.source ?? 'tmpfs', m.target, 'tmpfs', flags | rdonly, opts || null, IN_ROOT | M.MNT_MKDIR | copy | A, 'mounts');
        propagate(plan, m);
        break;
      }
      default: {
        const flags = m.flags === undefined ? NOSUID | NODEV | NOEXEC : flagBits('flags', m.flags, MOUNT_FLAGS);
        const data = m.data ?? (m.type === 'devpts' ? 'newinstance,ptmxmode=0666,mode=0620' : null);
        plan.mount(m.source ?? m.type, m.target, m.type, flags | (m.readOnly ? K.MS_RDONLY : 0), data, IN_ROOT | M.MNT_MKDIR | A, 'mounts');
        propagate(plan, m);
      }
    }
  }
  const custom = o.maskedPaths !== undefined || o.readonlyPaths !== undefined;
  const defaults = o.rootfs !== undefined && o.defaultMounts !== false;
  if (o.devices !== undefined) deviceSteps(plan, o.devices, ctx);
  ctx.beforeHooks?.();
  if (ctx.hooks) hookSteps(plan, o, ctx.hooks);
  // Without the default mounts, sysctls are written here, in the root's /proc, while
  // /proc/sys is still writable: the read-only paths below may cover it.
  if (custom && !defaults) for (const [path, value] of ctx.sysctl ?? []) plan.sysctl(path, value, true);
  if (o.maskedPaths !== undefined)
    maskSteps(
      plan,
      o.maskedPaths.filter(notProc(ctx)),
      typeof o.rootfs === 'string' ? o.rootfs : undefined,
      defaults && ctx.sysfsInLock === true,
    );
  if (o.readonlyPaths !== undefined) readonlySteps(plan, o.readonlyPaths.filter(notProc(ctx)));
  if (o.readOnlyRoot) plan.setattr('/', K.MOUNT_ATTR_RDONLY, 0, IN_ROOT, 'read-only-root');
  plan.pivot(ctx.lock === true);
  // Without the default mounts, sysctls go to whatever /proc the root has, once in it.
  if (!defaults && !custom) for (const [path, value] of ctx.sysctl ?? []) plan.sysctl(path, value, false);
}

/**
 * The hooks before pivot_root, where runc runs OCI's: every mount and device made, masks,
 * read-only paths and a read-only root still to come (runc applies those after pivot_root).
 * createRuntime is run by the parent; createContainer by the child, chroot(2)ed into the
 * caller's root (/oldroot), where a directory root is bound over its own path, with every
 * mount made in it, as runc's hook finds it there. realpath: the path is resolved in the base.
 */
function hookSteps(plan: PlanBuilder, o: ContainerOptions, hooks: CheckedHooks): void {
  for (const [i, h] of hooks.createRuntime.entries()) plan.hook('createRuntime', i, h, K.HOOK_CALLER);
  if (hooks.createContainer.length === 0) return;
  if (typeof o.rootfs === 'string' && o.rootfs !== 'host')
    plan.mount('/newroot', host(realpathSync(o.rootfs)), null, BIND_REC, null, 0, 'hooks', o.rootfs);
  for (const [i, h] of hooks.createContainer.entries()) plan.hook('createContainer', i, h, K.HOOK_HOST);
}

function defaultSteps(plan: PlanBuilder, o: ContainerOptions, ctx: ContainerContext, make: (dir: boolean) => number): void {
  const D = make(true);
  const F = make(false);
  // /proc and /sys are anchors: the masks, read-only paths and sysctls under them are resolved
  // beneath the mount's own root (MNT_IN_ANCHOR), never by path from the container's root,
  // where a process that can write the rootfs could rename the mount point away meanwhile.
  const A = M.MNT_ANCHOR;
  // /proc: a new instance needs a pid namespace this user namespace owns (or root outside one).
  if (ctx.newPid || (ctx.root && !ctx.newUser)) plan.mount('proc', '/proc', 'proc', NOSUID | NODEV | NOEXEC, null, IN_ROOT | D | A, 'proc');
  else plan.mount(host('/proc'), '/proc', null, BIND_REC, null, IN_ROOT | D | A, 'proc');
  // sysctls while /proc/sys is still writable (it is made read-only below).
  for (const [path, value] of ctx.sysctl ?? []) plan.sysctl(path, value, true);
  // /sys read-only: sysfs needs a network namespace this user namespace owns. A joined one
  // gets the sysfs the parent made for it, or an empty read-only tmpfs: never the host's.
  // Only a shared (host) network namespace binds the host's /sys, read-only.
  if ((ctx.newNet && !ctx.sysfsInLock) || (ctx.root && !ctx.newUser))
    plan.mount('sysfs', '/sys', 'sysfs', NOSUID | NODEV | NOEXEC | K.MS_RDONLY, null, IN_ROOT | D | A, 'sys');
  else if (ctx.sysfsFd !== undefined) plan.mount(null, '/sys', null, ctx.sysfsFd, null, IN_ROOT | D | A | M.MNT_FROM_FD, 'sys');
  else if (ctx.joinedNet)
    plan.mount('tmpfs', '/sys', 'tmpfs', K.MS_RDONLY | NOSUID | NODEV | NOEXEC, 'size=0,mode=0555', IN_ROOT | D | A, 'sys');
  else plan.mount(host('/sys'), '/sys', null, BIND_REC, null, IN_ROOT | D | A | M.MNT_RDONLY | M.MNT_RECURSIVE, 'sys');
  // /dev: a tmpfs with the usual nodes; mknod needs root outside a user namespace, else bind.
  plan.mount('tmpfs', '/dev', 'tmpfs', NOSUID | K.MS_STRICTATIME, 'mode=0755,size=65536k', IN_ROOT | D, 'dev');
  for (const [name, major, minor] of DEVICES) {
    if (ctx.root && !ctx.newUser) plan.mknod(`/dev/${name}`, fsConstants.S_IFCHR | 0o666, major, minor);
    else if (hostDevices().has(name))
      plan.mount(host(`/dev/${name}`), `/dev/${name}`, null, K.MS_BIND, null, IN_ROOT | M.MNT_MKFILE, 'dev', `/dev/${name}`);
  }
  if (ctx.console) plan.mknod('/dev/console', fsConstants.S_IFREG | 0o666, 0, 0);
  for (const [link, target] of [
    ['fd', '/proc/self/fd'],
    ['stdin', '/proc/self/fd/0'],
    ['stdout', '/proc/self/fd/1'],
    ['stderr', '/proc/self/fd/2'],
    ['ptmx', 'pts/ptmx'],
  ] as const) {
    plan.symlink(target, `/dev/${link}`, 'dev');
  }
  if (ctx.template) plan.mkdir('/dev/pts', IN_ROOT, 'dev');
  else
    plan.mount(
      'devpts',
      '/dev/pts',
      'devpts',
      NOSUID | NOEXEC,
      `newinstance,ptmxmode=0666,mode=0620${ctx.newUser ? '' : ',gid=5'}`,
      IN_ROOT | M.MNT_MKDIR,
      'dev',
    );
  if (!ctx.template) plan.mount('shm', '/dev/shm', 'tmpfs', NOSUID | NODEV | NOEXEC, 'mode=1777,size=65536k', IN_ROOT | M.MNT_MKDIR, 'dev');
  if (ctx.newIpc && !ctx.template)
    plan.mount('mqueue', '/dev/mqueue', 'mqueue', NOSUID | NODEV | NOEXEC, null, IN_ROOT | M.MNT_MKDIR, 'dev');
  if (ctx.template) for (const d of ['/dev/shm', '/dev/mqueue']) plan.mkdir(d, IN_ROOT, 'dev');
  // Masked and read-only paths, as runc: files get /dev/null, directories an empty tmpfs.
  // Only those this kernel has (the container's /proc and /sys show the same kernel).
  // Masked files get an empty read-only file of nsbox's base tmpfs rather than the host's
  // /dev/null, so no host device inode is reachable through a mask.
  // (Paths given in the options replace these and are applied after the mounts.)
  const { masked, readonly } = presentPaths();
  if (o.maskedPaths === undefined) maskSteps(plan, masked.filter(notProc(ctx)), undefined, ctx.sysfsInLock === true);
  if (o.readonlyPaths === undefined) readonlySteps(plan, readonly.filter(notProc(ctx)));
  // /etc/hostname, /etc/hosts, /etc/resolv.conf: written on the base tmpfs, bound in (read-only
  // when the root is). /etc/hostname says what hostname(1) will: the name given, else the
  // one the child's uts namespace has when the file is written (new, shared or joined), which
  // the child itself appends (WRITE_NODENAME).
  const name = o.hostname;
  const hosts = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t';
  const files: Array<[string, string, boolean]> = [
    ['hostname', name === undefined ? '' : `${name}\n`, name === undefined],
    ['hosts', name === undefined ? hosts : `${hosts}${name}\n`, name === undefined],
    ['resolv.conf', hostResolvConf(), false],
  ];
  for (const [file, content, nodename] of files) {
    plan.writeFile(`/.nsbox-${file}`, content, 0o644, 'etc', nodename);
    plan.mount(`/.nsbox-${file}`, `/etc/${file}`, null, K.MS_BIND, null, IN_ROOT | F | (o.readOnlyRoot ? M.MNT_RDONLY : 0), 'etc');
  }
}

/** Masks: files get an empty read-only file of nsbox's base tmpfs, directories an empty read-only tmpfs. */
function maskSteps(plan: PlanBuilder, paths: readonly string[], rootDir: string | undefined, sysByLock: boolean): void {
  const dirs = paths.map((p) => isMaskedDir(p, rootDir));
  if (dirs.some((d) => !d)) plan.writeFile('/.nsbox-empty', '', 0o444, 'masked-paths');
  paths.forEach((p, i) => {
    if (sysByLock && p.startsWith('/sys/')) {
      // The lock's helper mounts the container's own sysfs over the /sys placeholder and masks
      // these directories on it (sysfsMasks): a mask made here would lie under that sysfs.
      if (dirs[i]) return;
      throw invalidArgValue(
        'options.maskedPaths',
        p,
        "is a file under /sys: with the container's own network namespace its fresh sysfs can have only directories masked",
      );
    }
    if (dirs[i])
      plan.mount(
        'tmpfs',
        p,
        'tmpfs',
        K.MS_RDONLY | NOSUID | NODEV | NOEXEC,
        'size=0',
        IN_ROOT | M.MNT_OPTIONAL | M.MNT_IN_ANCHOR,
        'masked-paths',
      );
    else plan.mount('/.nsbox-empty', p, null, K.MS_BIND, null, IN_ROOT | M.MNT_OPTIONAL | M.MNT_RDONLY | M.MNT_IN_ANCHOR, 'masked-paths');
  });
}

/**
 * Whether a masked path is a directory: /proc and /sys show the same kernel inside as here;
 * other paths are looked at in a directory root (the child resolves the mount itself inside
 * the root, so this only picks the kind of mask).
 */
function isMaskedDir(p: string, rootDir: string | undefined): boolean {
  if (MASKED_DIRS.has(p)) return true;
  const where = p.startsWith('/proc/') || p.startsWith('/sys/') ? p : rootDir === undefined ? undefined : `${rootDir}${p}`;
  try {
    return where !== undefined && isDirectory(statPath(where, false));
  } catch {
    return false;
  }
}

/**
 * Read-only paths are bound onto themselves: the source is the target opened inside the root
 * (MNT_SRC_SELF), never a path looked up again, which a symlinked /proc in an image could point
 * at a host directory.
 */
function readonlySteps(plan: PlanBuilder, paths: readonly string[]): void {
  for (const p of paths) {
    plan.mount(
      null,
      p,
      null,
      BIND_REC,
      null,
      IN_ROOT | M.MNT_OPTIONAL | M.MNT_SRC_SELF | M.MNT_RDONLY | M.MNT_RECURSIVE | M.MNT_IN_ANCHOR,
      'readonly-paths',
    );
  }
}

/**
 * A mount's propagation other than private (mount_setattr(2) `propagation`; AT_RECURSIVE for
 * the `r` forms). Private needs no step: the container's tree is built private.
 */
function propagate(plan: PlanBuilder, m: ContainerMount): void {
  const p = m.propagation?.replace(/^r/, '');
  if (p === undefined || p === 'private') return;
  const flag = { shared: K.MS_SHARED, slave: K.MS_SLAVE, unbindable: K.MS_UNBINDABLE }[p as 'shared' | 'slave' | 'unbindable'];
  plan.setattr(m.target, 0, 0, IN_ROOT | M.MNT_IN_ANCHOR | (m.propagation!.startsWith('r') ? M.MNT_RECURSIVE : 0), 'mounts', flag);
}

/** mount_setattr(2) of a bind's extra attributes (nosuid, nodev, noexec, atime…). */
function bindAttrs(plan: PlanBuilder, target: string, attrs: readonly MountAttr[] | undefined, recursive: boolean): void {
  if (attrs === undefined || attrs.length === 0) return;
  const { bits, atime } = attrBits('attrs', attrs);
  plan.setattr(target, bits, atime ? MK.MOUNT_ATTR__ATIME : 0, IN_ROOT | M.MNT_IN_ANCHOR | (recursive ? M.MNT_RECURSIVE : 0), 'mounts');
}

/** The most volumes a plan anchors (csrc/child.h ChildCtx::anchors: 64, with /proc, /sys and a template run's /proc). */
const MAX_VOLUME_ANCHORS = 56;

/**
 * MNT_ANCHOR for a mount that later steps act on — its own attributes or propagation, a
 * template's read-write volume (made writable again after the whole tree is made read-only),
 * a mount at /proc or /sys (the masks, read-only paths and sysctls under it) — so that they
 * reach it through its fd, never by a path that a rename in the rootfs could move meanwhile.
 * Past MAX_VOLUME_ANCHORS volumes, the rest are looked up by path.
 */
function anchorOf(m: ContainerMount, ctx: ContainerContext): number {
  const kernelFs = m.target === '/proc' || m.target === '/sys';
  const later =
    (m.propagation !== undefined && m.propagation !== 'private') ||
    (m.type === 'bind' && ((m.attrs?.length ?? 0) > 0 || (ctx.template === true && m.readOnly !== true)));
  if (!kernelFs && !later) return 0;
  if (!kernelFs && (ctx.anchors = (ctx.anchors ?? 0) + 1) > MAX_VOLUME_ANCHORS) return 0;
  return M.MNT_ANCHOR;
}

const TYPE_BITS = { c: fsConstants.S_IFCHR, b: fsConstants.S_IFBLK, p: fsConstants.S_IFIFO } as const;

/**
 * Device nodes: mknod(2) by root outside a user namespace (and FIFOs always); else the host's
 * node at the same path, bound in — after checking, here, that it is that device.
 */
function deviceSteps(plan: PlanBuilder, devices: readonly DeviceNode[], ctx: ContainerContext): void {
  devices.forEach((d, i) => {
    if (d.type === 'p' || (ctx.root && !ctx.newUser)) {
      plan.mknod(d.path, TYPE_BITS[d.type] | (d.mode ?? 0o666), d.major ?? 0, d.minor ?? 0);
      return;
    }
    let rdev: number | undefined;
    let kind: boolean | undefined;
    try {
      const st = statSync(d.path);
      rdev = st.rdev;
      kind = d.type === 'c' ? st.isCharacterDevice() : st.isBlockDevice();
    } catch {
      // not on the host: said below
    }
    const major = rdev === undefined ? -1 : ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
    const minor = rdev === undefined ? -1 : (rdev & 0xff) | ((rdev >> 12) & ~0xff);
    if (!kind || major !== d.major || minor !== d.minor)
      throw invalidArgValue(
        `options.devices[${i}]`,
        d,
        `cannot be made in a user namespace, and the host has no such device at ${d.path} to bind in`,
      );
    plan.mount(host(d.path), d.path, null, K.MS_BIND, null, IN_ROOT | M.MNT_MKFILE, 'dev', d.path);
  });
  for (const [link, target] of [
    ['fd', '/proc/self/fd'],
    ['stdin', '/proc/self/fd/0'],
    ['stdout', '/proc/self/fd/1'],
    ['stderr', '/proc/self/fd/2'],
    ['ptmx', 'pts/ptmx'],
  ] as const) {
    plan.symlink(target, `/dev/${link}`, 'dev');
  }
}

let systemDirs: Array<{ name: string; link?: string }> | undefined;
/** The host's /usr, /bin, /sbin, /lib*, /etc: directories, or symlinks on merged-/usr systems. Looked up once. */
function hostSystemDirs(): Array<{ name: string; link?: string }> {
  systemDirs ??= HOST_SYSTEM_DIRS.flatMap((name) => {
    try {
      const st = statPath(`/${name}`, false); // undefined, no error object, for a missing /lib32
      if (isSymbolicLink(st)) return [{ name, link: readLink(`/${name}`) }];
      return isDirectory(st) ? [{ name }] : [];
    } catch {
      return [];
    }
  });
  return systemDirs;
}

let devices: Set<string> | undefined;
/** The host device nodes a rootless container binds (a machine without /dev/tty exists). */
function hostDevices(): Set<string> {
  devices ??= new Set(DEVICES.map(([n]) => n).filter((n) => pathExists(`/dev/${n}`)));
  return devices;
}

let present: { masked: string[]; readonly: string[] } | undefined;
/**
 * The masked directories under /sys (of `masked`, default MASKED_PATHS) this kernel has: the
 * lock's helper masks them on the container's fresh sysfs. @internal
 */
export function sysfsMasks(masked?: readonly string[]): string[] {
  return (masked ?? presentPaths().masked).filter((p) => p.startsWith('/sys/') && isMaskedDir(p, undefined));
}

/** MASKED_PATHS and READONLY_PATHS that exist on this kernel; looked up once. */
function presentPaths(): { masked: string[]; readonly: string[] } {
  present ??= { masked: MASKED_PATHS.filter(pathExists), readonly: READONLY_PATHS.filter(pathExists) };
  return present;
}

function hostResolvConf(): string {
  try {
    return readTextFile('/etc/resolv.conf');
  } catch {
    return '';
  }
}
