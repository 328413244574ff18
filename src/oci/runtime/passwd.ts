/**
 * `exec --user NAME[:GROUP]`: user and group names looked up in the container's own
 * /etc/passwd and /etc/group, as the container sees them (its mount namespace, through
 * `/proc/PID/root`), each opened with openat2(2) RESOLVE_IN_ROOT (nsbox/fs's resolveInRoot) so
 * that a symlink planted in the container cannot make the runtime read a host file.
 * @internal
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { resolveInRoot } from '../../fs/resolve.js';
import { RuntimeError, UsageError } from './errors.js';

/** What `--user` resolves to. */
export interface ExecUser {
  uid: number;
  /** Set when a group was given, or from the user's passwd entry when a name was. */
  gid?: number;
  /** With a name: the gids of the /etc/group entries that list the user as a member (runc's supplementary groups). */
  memberOf?: number[];
  /** With a name: its home directory from /etc/passwd (HOME when the process has none, as runc sets it). */
  home?: string;
}

/** A passwd or group file larger than this is refused: the container writes it, the runtime reads it. */
const MAX_FILE = 4 << 20;

const NUMERIC = /^\d+$/;

/**
 * Reads `path` (absolute, inside the container) of the container whose process is `pid`:
 * resolved confined to its root, then re-opened through the O_PATH fd (no second lookup).
 * Undefined when the file does not exist; only a regular file is read (a FIFO would block).
 */
function readInContainer(pid: number, path: string): string | undefined {
  let handle: ReturnType<typeof resolveInRoot>;
  try {
    handle = resolveInRoot(`/proc/${pid}/root`, path);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const st = statSync(handle.procPath);
    if (!st.isFile()) throw new RuntimeError(`exec: --user: ${path} in the container is not a regular file`);
    if (st.size > MAX_FILE) throw new RuntimeError(`exec: --user: ${path} in the container is larger than ${MAX_FILE} bytes`);
    return readFileSync(handle.procPath, 'utf8');
  } finally {
    handle.close();
  }
}

/** The colon-separated entries of a passwd(5) or group(5) text, comments and blank lines skipped. */
function entries(text: string | undefined): string[][] {
  return (text ?? '')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

function id(field: string | undefined): number | undefined {
  return field !== undefined && NUMERIC.test(field) && Number(field) < 2 ** 32 ? Number(field) : undefined;
}

/**
 * Resolves `--user` as runc's user lookup does: `UID[:GID]` numeric as given (no file is
 * read); a user NAME gives the uid and primary gid of its /etc/passwd entry, its home, and the
 * groups of /etc/group that list it; a GROUP name gives the gid of its /etc/group entry.
 * @throws UsageError for a malformed spec; RuntimeError when a name is not in the container's
 *   files; SysError from openat2(2) (e.g. `ELOOP` for a magic link) or from reading.
 */
export function resolveExecUser(spec: string, pid: number): ExecUser {
  const colon = spec.indexOf(':');
  const user = colon < 0 ? spec : spec.slice(0, colon);
  const group = colon < 0 ? undefined : spec.slice(colon + 1);
  if (user === '' || group === '' || /[\s:]/.test(user) || (group !== undefined && /[\s:]/.test(group)))
    throw new UsageError(`--user: "${spec}" is not USER[:GROUP] (a name or a number each)`);
  const out: ExecUser = { uid: 0 };
  if (NUMERIC.test(user)) {
    const uid = id(user);
    if (uid === undefined) throw new UsageError(`--user: uid ${user} is out of range`);
    out.uid = uid;
  } else {
    const pw = entries(readInContainer(pid, '/etc/passwd')).find((e) => e[0] === user);
    const uid = id(pw?.[2]);
    const gid = id(pw?.[3]);
    if (pw === undefined || uid === undefined || gid === undefined)
      throw new RuntimeError(`exec: --user: no user "${user}" in the container's /etc/passwd`);
    Object.assign(out, { uid, gid, home: pw[5] ?? '/' });
  }
  const groups = group !== undefined && !NUMERIC.test(group) ? entries(readInContainer(pid, '/etc/group')) : undefined;
  if (group !== undefined) {
    if (NUMERIC.test(group)) {
      const gid = id(group);
      if (gid === undefined) throw new UsageError(`--user: gid ${group} is out of range`);
      out.gid = gid;
    } else {
      const gid = id(groups!.find((e) => e[0] === group)?.[2]);
      if (gid === undefined) throw new RuntimeError(`exec: --user: no group "${group}" in the container's /etc/group`);
      out.gid = gid;
    }
  }
  if (!NUMERIC.test(user)) {
    const all = groups ?? entries(readInContainer(pid, '/etc/group'));
    out.memberOf = all.filter((e) => (e[3] ?? '').split(',').includes(user)).flatMap((e) => id(e[2]) ?? []);
  }
  return out;
}
