/**
 * `/proc/<pid>/mountinfo`, parsed: the mount table as the kernel shows it to one process
 * (its mount namespace, seen from its root). See proc_pid_mountinfo(5).
 * @module
 */
import { invalidArgType, invalidArgValue } from '../errors.js';
import { checkPid, readProc } from '../procfs.js';

/**
 * The propagation tags of a mount (proc_pid_mountinfo(5), field 7; the kernel's
 * shared-subtree documentation). A field is `undefined` when the tag is absent.
 */
export interface MountPropagation {
  /** `shared:N`: the mount is in peer group N. */
  shared?: number;
  /** `master:N`: the mount is a slave of (receives propagation from) peer group N. */
  master?: number;
  /** `propagate_from:N`: the mount receives from peer group N, the closest dominant group visible here. */
  propagateFrom?: number;
  /** `unbindable`: the mount cannot be bind-mounted. */
  unbindable?: boolean;
}

/** One line of `/proc/<pid>/mountinfo`, with the kernel's octal escapes decoded. */
export interface MountInfoEntry {
  /** Unique id of the mount (may be reused after umount). */
  mountId: number;
  /** Id of the parent mount, or of itself at the top of the tree. */
  parentId: number;
  /** Major device number of `st_dev` for files on this filesystem. */
  major: number;
  /** Minor device number of `st_dev` for files on this filesystem. */
  minor: number;
  /** The directory of the filesystem that forms the root of this mount (`/` unless a bind mount of a subtree). */
  root: string;
  /** Where the mount is, relative to the reading process's root. */
  mountPoint: string;
  /** Per-mount options, in the kernel's words (`rw`, `nosuid`, `relatime`, …). */
  options: string[];
  /** The optional fields: propagation tags. Unknown tags (the kernel may add some) are ignored, as proc(5) asks. */
  optionalFields: MountPropagation;
  /** Filesystem type, `type[.subtype]` (`ext4`, `fuse.sshfs`). */
  fsType: string;
  /** Filesystem-specific source (a device, `tmpfs`, `none`, …); may be empty. */
  source: string;
  /** Per-superblock options (`rw`, `size=…`, `mode=755`, …). */
  superOptions: string[];
}

/**
 * Decodes the kernel's escapes in a mountinfo field: it writes space, tab, newline, backslash
 * (and `#` in the source field) as a backslash and three octal digits (`\040`).
 */
function unescapeField(field: string): string {
  if (!field.includes('\\')) return field;
  return field.replace(/\\([0-3][0-7]{2})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

function splitOptions(field: string): string[] {
  return field === '' ? [] : field.split(',').map(unescape);
}

function decimal(field: string | undefined): number {
  return field !== undefined && /^\d+$/.test(field) ? Number(field) : NaN;
}

function parseLine(line: string): MountInfoEntry | undefined {
  // Fields are separated by single spaces; a field itself never holds a raw space (it is
  // escaped), but the source may be empty, so do not collapse runs of spaces.
  const f = line.split(' ');
  const sep = f.indexOf('-', 6);
  if (f.length < 10 || sep < 0 || f.length < sep + 4) return undefined;
  const [mountId, parentId] = [decimal(f[0]), decimal(f[1])];
  const dev = /^(\d+):(\d+)$/.exec(f[2]!);
  if (Number.isNaN(mountId) || Number.isNaN(parentId) || dev === null) return undefined;

  const optionalFields: MountPropagation = {};
  for (const tag of f.slice(6, sep)) {
    if (tag === 'unbindable') {
      optionalFields.unbindable = true;
      continue;
    }
    const colon = tag.indexOf(':');
    const value = decimal(tag.slice(colon + 1));
    if (colon < 0 || Number.isNaN(value)) continue;
    const name = tag.slice(0, colon);
    if (name === 'shared') optionalFields.shared = value;
    else if (name === 'master') optionalFields.master = value;
    else if (name === 'propagate_from') optionalFields.propagateFrom = value;
  }
  return {
    mountId,
    parentId,
    major: Number(dev[1]),
    minor: Number(dev[2]),
    root: unescapeField(f[3]!),
    mountPoint: unescapeField(f[4]!),
    options: splitOptions(f[5]!),
    optionalFields,
    fsType: unescapeField(f[sep + 1]!),
    source: unescapeField(f[sep + 2]!),
    // The super options are the last field; should a future kernel append fields, ignore them.
    superOptions: splitOptions(f[sep + 3]!),
  };
}

/**
 * Parses the text of a `/proc/<pid>/mountinfo` file (proc_pid_mountinfo(5)): one entry per
 * line, in the kernel's order (parents before children, in mount order). Empty lines are
 * skipped.
 *
 * Pure: touches nothing; {@link mountinfo} reads the file and calls this.
 * @param text - the file's contents.
 * @throws TypeError `ERR_INVALID_ARG_TYPE` if `text` is not a string;
 *   TypeError `ERR_INVALID_ARG_VALUE` for a line that is not a mountinfo line.
 */
export function parseMountinfo(text: string): MountInfoEntry[] {
  if (typeof text !== 'string') throw invalidArgType('text', 'of type string', text);
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const entry = parseLine(line);
    if (entry === undefined) throw invalidArgValue('text', line, 'holds a line that is not a mountinfo line');
    out.push(entry);
  }
  return out;
}

/**
 * The mount table of a process: `/proc/<pid>/mountinfo` (proc_pid_mountinfo(5)), parsed.
 * What `findmnt` and `cat /proc/self/mountinfo` show.
 *
 * Synchronous: it reads one procfs file, which the kernel generates without blocking on
 * I/O. Touches nothing, needs no privilege for one's own processes (another user's needs
 * ptrace read access: root or the same uid). Does not touch the calling thread's namespaces.
 *
 * @param pid - a process id; `'self'` (the default) is the calling process.
 * @throws TypeError `ERR_INVALID_ARG_TYPE` / RangeError `ERR_OUT_OF_RANGE` for a bad `pid`;
 *   `SysError` `ENOENT` (no such process), `EACCES` (not allowed), with `syscall`
 *   `'open'`, `path` and `pid`.
 */
export function mountinfo(pid: number | 'self' = 'self'): MountInfoEntry[] {
  return parseMountinfo(readProc(checkPid('pid', pid), 'mountinfo'));
}
