/**
 * config.json `mounts` in runc's option vocabulary, turned into nsbox's container mounts. One
 * table says what every option does; `features().mountOptions` lists the same table.
 * @module
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BindMount, ContainerMount, SpecialMount, TmpfsMount } from '../fs/container.js';
import type { MountAttr, MountFlag, Propagation } from '../fs/flags.js';
import { at, unsupported, valueError } from './check.js';
import type { OciMount } from './types.js';

/** What an option does. @internal */
type OptionKind =
  | { k: 'bind'; recursive: boolean }
  | { k: 'ro'; value: boolean }
  /** A mount flag (fresh mounts) that is also a mount attribute (binds). */
  | { k: 'flag'; flag: MountFlag & MountAttr }
  /** A flag of fresh mounts only. */
  | { k: 'msflag'; flag: MountFlag }
  /** The default of a fresh mount (rw, suid, dev, exec, …): nothing to do. */
  | { k: 'default' }
  | { k: 'propagation' }
  | { k: 'idmap' }
  /** tmpfs only: the tmpfs starts as a copy of the directory it covers. */
  | { k: 'copyup' }
  | { k: 'refuse'; why: string };

const flag = (f: MountFlag & MountAttr): OptionKind => ({ k: 'flag', flag: f });
const DEFAULT: OptionKind = { k: 'default' };
const PROPAGATION: OptionKind = { k: 'propagation' };

/**
 * runc's mount options (libcontainer/specconv: mountFlags, mountPropagationMapping,
 * recAttrFlags, extensions) and what nsbox does with each. The `r` forms of flags apply to every
 * submount of an rbind; on a fresh mount they are the plain flag. Any other word is a
 * filesystem option (`mode=755`, `size=64m`, `newinstance`…) passed in the mount's data.
 * @internal
 */
export const MOUNT_OPTIONS: Readonly<Record<string, OptionKind>> = Object.freeze({
  bind: { k: 'bind', recursive: false },
  rbind: { k: 'bind', recursive: true },
  ro: { k: 'ro', value: true },
  rro: { k: 'ro', value: true },
  rw: { k: 'ro', value: false },
  rrw: { k: 'ro', value: false },
  nosuid: flag('nosuid'),
  rnosuid: flag('nosuid'),
  nodev: flag('nodev'),
  rnodev: flag('nodev'),
  noexec: flag('noexec'),
  rnoexec: flag('noexec'),
  noatime: flag('noatime'),
  rnoatime: flag('noatime'),
  relatime: flag('relatime'),
  rrelatime: flag('relatime'),
  strictatime: flag('strictatime'),
  rstrictatime: flag('strictatime'),
  nodiratime: flag('nodiratime'),
  rnodiratime: flag('nodiratime'),
  nosymfollow: flag('nosymfollow'),
  rnosymfollow: flag('nosymfollow'),
  sync: { k: 'msflag', flag: 'sync' },
  dirsync: { k: 'msflag', flag: 'dirsync' },
  suid: DEFAULT,
  rsuid: DEFAULT,
  dev: DEFAULT,
  rdev: DEFAULT,
  exec: DEFAULT,
  rexec: DEFAULT,
  async: DEFAULT,
  atime: DEFAULT,
  ratime: DEFAULT,
  diratime: DEFAULT,
  rdiratime: DEFAULT,
  norelatime: DEFAULT,
  rnorelatime: DEFAULT,
  nostrictatime: DEFAULT,
  rnostrictatime: DEFAULT,
  symfollow: DEFAULT,
  rsymfollow: DEFAULT,
  nomand: DEFAULT,
  defaults: DEFAULT,
  private: PROPAGATION,
  rprivate: PROPAGATION,
  shared: PROPAGATION,
  rshared: PROPAGATION,
  slave: PROPAGATION,
  rslave: PROPAGATION,
  unbindable: PROPAGATION,
  runbindable: PROPAGATION,
  idmap: { k: 'idmap' },
  ridmap: { k: 'idmap' },
  mand: { k: 'refuse', why: 'mandatory locking was removed from Linux (5.15)' },
  remount: { k: 'refuse', why: 'a container mount is always a new mount' },
  tmpcopyup: { k: 'copyup' },
});

/** Filesystem types nsbox mounts fresh in a container (`cgroup` is mounted as cgroup2: nsbox is cgroup v2 only). @internal */
export const MOUNT_TYPES: readonly string[] = Object.freeze([
  'bind',
  'none',
  'tmpfs',
  'proc',
  'sysfs',
  'mqueue',
  'devpts',
  'cgroup',
  'cgroup2',
]);

/**
 * One config.json mount as a container mount. `bundle` resolves relative bind sources.
 * Pure but for an existence check of bind sources.
 * @internal
 */
export function mapMount(m: OciMount, i: number, bundle: string, warnings: string[] = []): ContainerMount {
  const out = mapMountOnly(m, i, bundle, warnings);
  const { propagation } = parseOptions(m, at('mounts', i));
  // The tree is built private: 'private' needs nothing.
  if (propagation !== undefined && propagation.replace(/^r/, '') !== 'private') out.propagation = propagation;
  return out;
}

function mapMountOnly(m: OciMount, i: number, bundle: string, warnings: string[]): ContainerMount {
  const p = at('mounts', i);
  // config.md: a relative destination is deprecated and relative to "/".
  const target = m.destination.startsWith('/') ? m.destination : `/${m.destination}`;
  const { bind, recursive, readOnly, idmap, copyUp, flags, msflags, data } = parseOptions(m, p);
  if (m.uidMappings !== undefined || m.gidMappings !== undefined)
    throw unsupported(
      at(p, m.uidMappings !== undefined ? 'uidMappings' : 'gidMappings'),
      'per-mount id mappings (use the "idmap" option: the container\'s own maps)',
    );
  const type = m.type ?? (bind ? 'bind' : undefined);
  if (type === undefined) throw valueError(at(p, 'type'), 'is required unless options hold "bind" or "rbind"', m.type);
  // runc and crun copy up only into a tmpfs (runc: EXT_COPYUP of a tmpfs mount).
  if (copyUp && (type !== 'tmpfs' || bind)) throw unsupported(at(p, 'options'), '"tmpcopyup" on a mount that is not a tmpfs');
  if (type === 'bind' || bind) {
    if (type !== 'bind' && type !== 'none')
      throw valueError(at(p, 'type'), 'must be "bind" or "none" for a mount with the "bind" or "rbind" option', type);
    if (m.source === undefined) throw valueError(at(p, 'source'), 'is required for a bind mount', m.source);
    // mount(2) ignores the data of MS_BIND, and runc and crun pass it: ignored, with a warning.
    if (data.length) warnings.push(`${at(p, 'options')}: a bind mount takes no filesystem options; ${data.join(', ')} ignored`);
    if (msflags.length) throw unsupported(at(p, 'options'), `${msflags.join(', ')} on a bind mount (mount_setattr has no such attribute)`);
    // config.md: bind sources are absolute or relative to the bundle.
    const source = resolve(bundle, m.source);
    if (!existsSync(source)) throw valueError(at(p, 'source'), `does not exist (${source})`, m.source);
    const out: BindMount = { type: 'bind', source, target, recursive };
    if (readOnly) out.readOnly = true;
    if (idmap) out.idmap = true;
    if (flags.length) out.attrs = flags;
    return out;
  }
  if (idmap) throw unsupported(at(p, 'options'), '"idmap" on a mount that is not a bind mount');
  if (!MOUNT_TYPES.includes(type))
    throw unsupported(
      at(p, 'type'),
      `mounting "${type}" (nsbox mounts bind, tmpfs, proc, sysfs, mqueue, devpts and cgroup2 in a container)`,
    );
  const mountFlags: MountFlag[] = [...flags, ...msflags];
  if (type === 'tmpfs') {
    const out: TmpfsMount = { type: 'tmpfs', target, flags: mountFlags };
    // The source a fresh mount shows in mountinfo (runc and crun pass it to mount(2)).
    if (m.source !== undefined && m.source !== '' && m.source !== 'tmpfs') out.source = m.source;
    const rest: string[] = [];
    for (const d of data) {
      const [k, v] = d.split('=', 2) as [string, string | undefined];
      if (k === 'mode' && v !== undefined && /^[0-7]{1,4}$/.test(v)) out.mode = Number.parseInt(v, 8);
      else if (k === 'size' && v !== undefined && /^\d+[kmg%]?$/i.test(v)) out.size = v;
      else if (k === 'mode' || k === 'size') throw valueError(at(p, 'options'), `holds a bad tmpfs ${k} (${d})`, m.options);
      else rest.push(d);
    }
    if (rest.length) out.data = rest.join(',');
    if (readOnly) out.readOnly = true;
    if (copyUp) out.copyUp = true;
    return out;
  }
  if ((type === 'cgroup' || type === 'cgroup2') && data.length)
    throw unsupported(at(p, 'options'), `cgroup v1 options (${data.join(', ')}): nsbox mounts cgroup2`);
  const special: SpecialMount = { type: type === 'cgroup' ? 'cgroup2' : (type as SpecialMount['type']), target, flags: mountFlags };
  if (data.length) special.data = data.join(',');
  if (readOnly) special.readOnly = true;
  if (m.source !== undefined && m.source !== '' && m.source !== special.type) special.source = m.source;
  return special;
}

/** What a mount's options ask for. */
interface ParsedOptions {
  bind: boolean | undefined;
  recursive: boolean;
  readOnly: boolean;
  idmap: boolean;
  copyUp: boolean;
  flags: Array<MountFlag & MountAttr>;
  msflags: MountFlag[];
  data: string[];
  propagation: Propagation | undefined;
}

/** Reads `mounts[i].options` through {@link MOUNT_OPTIONS}; a word it does not name is filesystem data. */
function parseOptions(m: OciMount, p: string): ParsedOptions {
  let bind: boolean | undefined;
  let recursive = false;
  let readOnly = false;
  let idmap = false;
  let copyUp = false;
  let propagation: Propagation | undefined;
  const flags: ParsedOptions['flags'] = [];
  const msflags: MountFlag[] = [];
  const data: string[] = [];
  (m.options ?? []).forEach((o, j) => {
    const op = MOUNT_OPTIONS[o];
    const where = at(at(p, 'options'), j);
    if (op === undefined) {
      if (o.startsWith('idmap=') || o.startsWith('ridmap='))
        throw unsupported(where, 'an idmapped mount with its own mapping (only the container user namespace\'s, with "idmap")');
      if (o === '' || o.includes(',')) throw valueError(where, 'must be one mount option (no commas)', o);
      data.push(o);
      return;
    }
    switch (op.k) {
      case 'bind':
        bind = true;
        recursive ||= op.recursive;
        break;
      case 'ro':
        readOnly = op.value;
        break;
      case 'flag':
        if (!flags.includes(op.flag)) flags.push(op.flag);
        break;
      case 'msflag':
        msflags.push(op.flag);
        break;
      case 'default':
        break;
      case 'propagation':
        // The last one wins, as mount(8) applies them in order (each is its own mount(2) call).
        propagation = o as Propagation;
        break;
      case 'idmap':
        idmap = true;
        break;
      case 'copyup':
        copyUp = true;
        break;
      case 'refuse':
        throw unsupported(where, op.why);
    }
  });
  return { bind, recursive, readOnly, idmap, copyUp, flags, msflags, data, propagation };
}
