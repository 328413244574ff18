/**
 * Network namespaces by name, compatible with iproute2 (`ip netns`) both ways:
 * a namespace made here shows in `ip netns list`, and one made by `ip netns add` opens here.
 * @module
 */
import { readdirSync, statSync } from 'node:fs';
import { fromFsError, invalidArgType, invalidArgValue } from '../errors.js';
import { type Namespace, createNamespace, openNamespacePath } from '../namespaces/namespace.js';
import { NETNS_RUN_DIR, persistNamespace, prepareNetnsRunDir, unpersistNamespace } from '../namespaces/persist.js';

/** iproute2 accepts names up to NAME_MAX bytes (they are file names in /run/netns). */
const NAME_MAX = 255;

/**
 * Checks a /run/netns name (`arg` is the argument's name in errors): a file name of at most
 * NAME_MAX bytes, without '/' or NUL.
 * @internal
 */
export function checkNetnsName(value: unknown, arg = 'name'): string {
  if (typeof value !== 'string') throw invalidArgType(arg, 'of type string', value);
  if (value === '' || value === '.' || value === '..' || value.includes('/') || value.includes('\0')) {
    throw invalidArgValue(arg, value, "must be a file name: non-empty, not '.' or '..', without '/' or null bytes");
  }
  if (Buffer.byteLength(value) > NAME_MAX) {
    throw invalidArgValue(arg, value, `must be at most ${NAME_MAX} bytes`);
  }
  return value;
}

/**
 * Creates a network namespace named `name`: a new namespace (made on a dedicated native
 * thread, see createNamespace) bind-mounted at `/run/netns/NAME`, which `/run/netns` being
 * a shared mount point propagates to other mount namespaces. Replaces `ip netns add NAME`.
 * The new namespace has only a `lo` link, down.
 *
 * Needs CAP_SYS_ADMIN (root). Does not touch the calling thread. On failure nothing is left.
 *
 * @returns a handle on the new namespace (close it when done; the namespace stays).
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` (bad name) before any syscall;
 * SysError `EEXIST` (syscall `'open'`: the name is taken), `EPERM` (`'unshare'`, `'mount'`).
 */
export function createNetns(name: string): Namespace {
  const path = `${NETNS_RUN_DIR}/${checkNetnsName(name)}`;
  prepareNetnsRunDir();
  const ns = createNamespace('net');
  try {
    persistNamespace(ns, path, { exclusive: true });
  } catch (err) {
    ns.close();
    throw err;
  }
  return ns;
}

/**
 * Opens the network namespace named `name` (`/run/netns/NAME`), whoever made it: what
 * `ip netns exec NAME` enters, as a handle. Needs read access to /run/netns/NAME only.
 *
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` (bad name; or the file is not a
 * network namespace); SysError `ENOENT` (syscall `'stat'`, with `path`).
 */
export function openNetns(name: string): Namespace {
  const path = `${NETNS_RUN_DIR}/${checkNetnsName(name)}`;
  const ns = openNamespacePath(path);
  if (ns.type !== 'net') {
    ns.close();
    throw invalidArgValue('name', name, `names a ${ns.type} namespace, not a network namespace`);
  }
  return ns;
}

/**
 * The names of the network namespaces in /run/netns: entries that are nsfs bind mounts
 * (their `st_dev` is nsfs's), sorted. Replaces `ip netns list`. No privileges needed.
 *
 * @throws SysError (syscall `'scandir'` or `'stat'`) other than ENOENT.
 */
export function listNetns(): string[] {
  let names: string[];
  try {
    names = readdirSync(NETNS_RUN_DIR);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fromFsError(err, { path: NETNS_RUN_DIR }, 'scandir');
  }
  // Every nsfs inode lives on the one nsfs superblock, so a bind mount of a namespace has the
  // st_dev of /proc/self/ns/net, and an empty placeholder file has its filesystem's.
  const nsfsDev = statSync('/proc/self/ns/net').dev;
  return names
    .filter((n) => {
      try {
        return statSync(`${NETNS_RUN_DIR}/${n}`).dev === nsfsDev;
      } catch {
        return false; // removed meanwhile, or unreadable: not a namespace we can name
      }
    })
    .sort();
}

/**
 * Deletes the network namespace named `name`: detaches the bind mount at /run/netns/NAME
 * (umount2 MNT_DETACH) and removes the file. Replaces `ip netns delete NAME`. The namespace
 * ends once no process, fd or other mount holds it.
 *
 * Needs CAP_SYS_ADMIN (root).
 *
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` (bad name, or not a namespace
 * file) before unmounting; SysError `ENOENT` (syscall `'stat'`), `EPERM` (`'umount2'`).
 */
export function deleteNetns(name: string): void {
  unpersistNamespace(`${NETNS_RUN_DIR}/${checkNetnsName(name)}`);
}
