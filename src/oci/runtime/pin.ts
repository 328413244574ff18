/**
 * The namespaces of a container's process, opened race-free: a pidfd first, then the start
 * time checked (so the pidfd names the recorded process, not a later one with its pid), then
 * each namespace taken through that pidfd (ioctl PIDFD_GET_*_NAMESPACE on Linux 6.11+, else
 * `/proc/PID/ns/*` opened), then the pidfd asked whether that process is still unreaped
 * (pidfd_send_signal(2) with signal 0). A pid cannot be reused before its process is reaped,
 * so every handle opened in between is the container's.
 * @internal
 * @module
 */
import { statSync } from 'node:fs';
import { constants } from 'node:os';
import { SysError } from '../../errors.js';
import { native } from '../../native.js';
import { type Namespace, openNamespaceOfPidfd } from '../../namespaces/namespace.js';
import { startGateNamespaces } from '../../namespaces/start-gate.js';
import type { NamespaceType } from '../../namespaces/types.js';
import { startTime } from './proc.js';

const KINDS: readonly NamespaceType[] = ['user', 'mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup', 'time'];

/**
 * Opens every namespace of the process `pid` started at `start` that is not the caller's.
 * Returns undefined when that process is gone (exited, reaped, or its pid now names another
 * process); nothing is left open then. The caller closes the handles.
 *
 * A process waiting at its start gate (`created`) is non-dumpable: without CAP_SYS_PTRACE
 * over it (an unprivileged runtime, a rootless container) its /proc/PID/ns/* are closed
 * (EACCES). Given its `gate`, the process is asked for them over the gate's socket instead
 * (startGateNamespaces): only this container's process listens there.
 * @throws SysError from pidfd_open (other than ESRCH), open (EACCES without `gate`) or the
 * gate's answer.
 */
export function pinNamespaces(pid: number, start: string, gate?: string): Map<NamespaceType, Namespace> | undefined {
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
        ns = openNamespaceOfPidfd(fd, pid, t);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'ESRCH') return undefined; // the process exited meanwhile (nsFdOfPidfd says so for /proc's ENOENT too)
        if (code === 'ENOENT') continue; // a kind this kernel lacks
        if (code === 'EACCES' && gate !== undefined && opened.size === 0) {
          fromGate(gate, opened);
          break;
        }
        throw err;
      }
      opened.set(t, ns);
    }
    for (const [t, ns] of opened) {
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

/** The gate's answer into `into`; a gate gone (the process started or exited meanwhile) is EACCES as before. */
function fromGate(gate: string, into: Map<NamespaceType, Namespace>): void {
  let got: Map<NamespaceType, Namespace>;
  try {
    got = startGateNamespaces(gate);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ECONNRESET')
      throw new SysError(constants.errno.EACCES, 'open', {
        path: gate,
        hint: 'its process is non-dumpable and no longer answers at its start gate',
      });
    throw err;
  }
  for (const [t, ns] of got) into.set(t, ns);
}
