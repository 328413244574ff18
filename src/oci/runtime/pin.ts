/**
 * The namespaces of a container's process, opened race-free: a pidfd first, then the start
 * time checked (so the pidfd names the recorded process, not a later one with its pid), then
 * `/proc/PID/ns/*` opened, then the pidfd asked whether that process is still unreaped
 * (pidfd_send_signal(2) with signal 0). A pid cannot be reused before its process is reaped,
 * so every handle opened in between is the container's.
 * @internal
 * @module
 */
import { statSync } from 'node:fs';
import { constants } from 'node:os';
import { SysError } from '../../errors.js';
import { native } from '../../native.js';
import { type Namespace, openNamespace } from '../../namespaces/namespace.js';
import type { NamespaceType } from '../../namespaces/types.js';
import { startTime } from './proc.js';

const KINDS: readonly NamespaceType[] = ['user', 'mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup', 'time'];

/**
 * Opens every namespace of the process `pid` started at `start` that is not the caller's.
 * Returns undefined when that process is gone (exited, reaped, or its pid now names another
 * process); nothing is left open then. The caller closes the handles.
 * @throws SysError from pidfd_open (other than ESRCH) or open (EACCES: a non-dumpable
 * process, for a caller without CAP_SYS_PTRACE over it).
 */
export function pinNamespaces(pid: number, start: string): Map<NamespaceType, Namespace> | undefined {
  let fd: number;
  try {
    fd = native.pidfdOpen(pid);
  } catch (err) {
    if ((err as { code?: string }).code === 'ESRCH') return undefined;
    throw err;
  }
  const opened = new Map<NamespaceType, Namespace>();
  let ok = false;
  try {
    if (startTime(pid) !== start) return undefined;
    for (const t of KINDS) {
      let ns: Namespace;
      try {
        ns = openNamespace(t, { pid });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'ENOENT' && existsNs(t)) return undefined; // the process exited meanwhile
        if (code === 'ENOENT') continue; // a kind this kernel lacks
        throw err;
      }
      opened.set(t, ns);
      let ours: number | undefined;
      try {
        ours = statSync(`/proc/self/ns/${t}`).ino;
      } catch {
        // ours unreadable: join it anyway (it is the container's)
      }
      if (ours === ns.ino) {
        opened.delete(t);
        ns.close();
      }
    }
    const e = native.pidfdSignal(fd, 0);
    if (e === constants.errno.ESRCH) return undefined;
    if (e !== 0) throw new SysError(e, 'pidfd_send_signal', { pid });
    ok = true;
    return opened;
  } finally {
    native.close(fd);
    if (!ok) for (const ns of opened.values()) ns.close();
  }
}

/** Whether this kernel has namespaces of kind `t` (the caller's own link exists). */
function existsNs(t: NamespaceType): boolean {
  try {
    statSync(`/proc/self/ns/${t}`);
    return true;
  } catch {
    return false;
  }
}
