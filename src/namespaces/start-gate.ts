/**
 * The create/start gate: spawn's `startGate` option makes the child wait before its last
 * steps; {@link openStartGate} lets it go on (the OCI `create`/`start` split).
 * @module
 */
import { unlink } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { abortError, invalidArgType, invalidArgValue, SysError, withHint } from '../errors.js';
import { K, native } from '../native.js';
import { adoptNamespaceFd, type Namespace } from './namespace.js';
import type { NamespaceType } from './types.js';
import { hookFailure } from './hooks.js';
import type { CheckedSecurity } from '../security/options.js';
import { SECCOMP_FILTER_FLAG_NEW_LISTENER } from '../security/seccomp/flags.js';
import type { SpawnOptions } from './options.js';

/** sizeof(sockaddr_un.sun_path): the path and its NUL. */
const SUN_PATH = 108;

function checkPath(name: string, v: unknown): string {
  if (typeof v !== 'string') throw invalidArgType(name, 'of type string', v);
  if (v.includes('\0')) throw invalidArgValue(name, v, 'must be a string without null bytes');
  if (!v.startsWith('/')) throw invalidArgValue(name, v, 'must be an absolute path');
  if (Buffer.byteLength(v) >= SUN_PATH) throw invalidArgValue(name, v, `must be shorter than ${SUN_PATH} bytes (a unix socket path)`);
  return v;
}

/** spawn's `startGate` and the options it cannot go with. @internal */
export function checkGate(o: SpawnOptions): void {
  checkPath('options.startGate', o.startGate);
  if (o.init === true)
    throw invalidArgValue(
      'options.init',
      o.init,
      'cannot be combined with options.startGate (the gate waits in the command, not in an init)',
    );
  if (o.dieWithParent === true)
    throw invalidArgValue(
      'options.dieWithParent',
      o.dieWithParent,
      'cannot be true with options.startGate: a created container outlives the process that created it',
    );
}

/**
 * Whether the filters go before the gate although `noNewPrivileges` would put them after it: a
 * seccomp filter with notify rules is loaded at create, as runc loads every filter, so that
 * its listener comes back to spawn (`child.seccompNotifier`) while the status socket is open.
 * The filter then also sees the gate's own syscalls (accept4, read, sendto, close, prctl,
 * rt_sigaction, rt_sigprocmask, statx, faccessat) and, with Landlock, landlock_*. @internal
 */
export function filtersBeforeGate(security: CheckedSecurity): boolean {
  return security.seccomp !== undefined && (security.seccomp.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) !== 0;
}

/** Options of {@link openStartGate}. */
export interface StartGateOptions {
  /** Stops waiting for the outcome (rejects with `ABORT_ERR`); a start already sent stands. */
  signal?: AbortSignal;
}

/** The step a failure after the gate names (the child sends the op: the starter has no plan). */
function stepOf(op: number): { step: string; syscall: string } {
  if (op === K.OP.LANDLOCK) return { step: 'landlock', syscall: 'landlock_restrict_self' };
  if (op === K.OP.SECCOMP) return { step: 'seccomp', syscall: 'seccomp' };
  return { step: 'exec', syscall: 'execve' };
}

const MSG_ERROR = 1; // csrc/plan.h
const ACK = 0x41; // 'A', csrc/plan.h kGateAck
const START = Buffer.from('S'); // kGateStart

/** What the connection carried: the ack alone (started), or the ack and a failure. */
function outcome(buf: Buffer, path: string): SysError | undefined {
  if (buf.length === 0 || buf[0] !== ACK)
    return new SysError(osConstants.errno.ECONNRESET, 'read', {
      path,
      hint: 'the container did not take this start (another start won the race, or it was killed)',
    });
  if (buf.length === 1) return undefined;
  if (buf.length < 17) return new SysError(osConstants.errno.EPROTO, 'read', { path });
  // struct Msg in host order (Int32Array is host order too).
  const [kind, op, errno, sysid] = new Int32Array(Uint8Array.from(buf.subarray(1, 17)).buffer);
  if (kind !== MSG_ERROR || !(errno! > 0)) return new SysError(osConstants.errno.EPROTO, 'read', { path });
  // A startContainer hook: its index above the op, the end of its stderr after the Msg.
  if ((op! & 0xff) === K.OP.HOOK) {
    const stderr = buf.subarray(17).toString('utf8');
    return hookFailure(errno!, sysid!, { step: `hooks.startContainer[${op! >>> 8}]` }, stderr ? { stderr } : {});
  }
  if (buf.length !== 17) return new SysError(osConstants.errno.EPROTO, 'read', { path });
  const info = stepOf(op!);
  const sysName = sysid ? K.SYSID[sysid & ((1 << K.SYS_ITEM_SHIFT) - 1)] : undefined;
  return new SysError(errno!, sysName ?? info.syscall, { step: info.step });
}

/**
 * Starts a container that spawn created with `startGate` (OCI `start`, `runc start`): connects
 * to the gate's socket, sends the start, and removes the socket's path (a container starts
 * once). The child then runs its last steps — Landlock, seccomp, its startContainer hooks,
 * execve.
 *
 * Resolves once the command has exec'd (the connection closes on execve(2), as spawn's status
 * socket does). A process killed between the start and the execve (a seccomp filter whose
 * action kills) also closes it: that shows in the child's exit status, not here.
 *
 * Privileges: write access to the socket (mode 0600: the user that created the container, or
 * root). Never blocks the calling thread: connect and read run in the event loop.
 *
 * @param path - the `startGate` path given to spawn.
 * @throws (synchronously) `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` for a path that is
 *   not absolute or is 108 bytes or longer; `ABORT_ERR` if `signal` is already aborted.
 * @returns a Promise that rejects with a {@link SysError}: `ECONNREFUSED` or `ENOENT`
 *   (syscall 'connect', `path`) when no container waits there — never created, killed, or
 *   already started; for a later step's failure its `step` ('landlock', 'seccomp', 'exec', or
 *   a startContainer hook's, `'hooks.startContainer[0]'`, with its `status` or `signal` and
 *   `stderr`: see spawn's `hooks`), `syscall` and `code` (e.g. `EPERM`, 'execve');
 *   `ECONNRESET` when the container did not
 *   take this start; `ABORT_ERR` when `signal` aborts.
 */
export function openStartGate(path: string, options?: StartGateOptions): Promise<void> {
  checkPath('path', path);
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArgType('options', 'an object', options);
  const signal = options?.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an AbortSignal', signal);
  if (signal?.aborted) throw abortError(signal);
  return new Promise<void>((resolve, reject) => {
    // node:net only here: spawn links this module for its startGate option, and loading
    // node:net would cost every spawn.
    const sock = process.getBuiltinModule('node:net').connect({ path });
    const chunks: Buffer[] = [];
    let settled = false;
    let removed: Promise<unknown> = Promise.resolve();
    const done = (err?: Error): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      // Settled once the path is gone: a start that resolved cannot be followed by another.
      void removed.then(() => (err ? reject(err) : resolve()));
    };
    const onAbort = (): void => done(abortError(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.once('connect', () => {
      sock.write(START);
      // One start per container: whoever connects next finds nothing there.
      removed = new Promise((r) => unlink(path, r));
    });
    sock.on('data', (b: Buffer) => chunks.push(b));
    sock.once('end', () => done(outcome(Buffer.concat(chunks), path)));
    sock.once('error', (e: NodeJS.ErrnoException) => {
      // Connected, but the gate closed this connection without taking it (another start won
      // the race while this one sat in the listen backlog): the write of the start meets a
      // closed peer. The same outcome as an end without the ack.
      if (e.code === 'EPIPE' || e.code === 'ECONNRESET') return done(outcome(Buffer.concat(chunks), path));
      const errno = typeof e.errno === 'number' ? e.errno : -osConstants.errno.EPROTO;
      const hint =
        e.code === 'ECONNREFUSED' || e.code === 'ENOENT'
          ? 'container is not waiting to start (never created, killed, or already started)'
          : undefined;
      done(new SysError(errno, e.syscall ?? 'connect', { path, ...(hint && { hint }) }));
    });
  });
}

/** Options of {@link openStartGateSync}. */
export interface StartGateSyncOptions {
  /**
   * Milliseconds to wait for the command's execve(2), after which the wait fails with
   * `ETIMEDOUT` (the start stands: the container goes on starting). Default: no bound, as
   * `runc start` — the wait includes the container's startContainer hooks, each bounded by its
   * own `timeout`. 0 to 2147483647.
   */
  timeout?: number;
}

/**
 * {@link openStartGate} without the event loop, for a process with nothing else to do
 * meanwhile (a runtime's `start` command: nsbox-oci's): the same start, the same outcome and
 * errors, but the calling thread connects, sends, removes the path and waits in native code,
 * and no socket object (node:net) is made. In a short-lived command that saves loading
 * node:net and its streams and two turns of the event loop.
 *
 * Privileges: write access to the socket, as {@link openStartGate}. Blocking: the calling
 * thread waits until the command has exec'd (or a step after the gate failed), for at most
 * `timeout`; never call it from a server's event loop — use {@link openStartGate} there.
 *
 * @param path - the `startGate` path given to spawn.
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` for a bad path or timeout, before any
 *   syscall; then the {@link SysError}s of {@link openStartGate}'s promise (`ECONNREFUSED`/
 *   `ENOENT` when nothing waits there, a later step's failure with its `step`, `ECONNRESET`),
 *   and `ETIMEDOUT` (syscall 'read') past `timeout`.
 */
export function openStartGateSync(path: string, options?: StartGateSyncOptions): void {
  checkPath('path', path);
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArgType('options', 'an object', options);
  const timeout = options?.timeout;
  if (timeout !== undefined) {
    if (typeof timeout !== 'number') throw invalidArgType('options.timeout', 'of type number', timeout);
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > 0x7fffffff)
      throw invalidArgValue('options.timeout', timeout, 'must be an integer from 0 to 2147483647 (milliseconds)');
  }
  let got: Buffer;
  try {
    got = native.gateStart(path, timeout ?? -1);
  } catch (err) {
    if (err instanceof SysError && err.syscall === 'connect' && (err.code === 'ECONNREFUSED' || err.code === 'ENOENT'))
      throw withHint(err, 'container is not waiting to start (never created, killed, or already started)');
    throw err;
  }
  const err = outcome(got, path);
  if (err) throw err;
}

/** The kinds a gate answers with, in its order (csrc/plan.h kGateNsNames). */
const GATE_NS_KINDS: readonly NamespaceType[] = ['user', 'mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup', 'time'];

/** Options of {@link startGateNamespaces}. */
export interface StartGateNamespacesOptions {
  /** Milliseconds to wait for the answer (default 5000; 0 to 60000). */
  timeout?: number;
}

/**
 * The namespaces of a process waiting at a start gate (spawn's `startGate`), handed over by
 * the process itself: connects to the gate's socket and asks, instead of starting it; the
 * process opens its own `/proc/self/ns/*` and sends the fds (unix(7) SCM_RIGHTS), then waits
 * on for its start. This is how an unprivileged runtime's `exec` joins a created container:
 * the waiting process is non-dumpable (it holds a copy of the creator's memory), so its
 * `/proc/PID/ns/*` are closed to everyone without CAP_SYS_PTRACE over it (ptrace(2) access
 * mode checks) — the owner of a rootless container included — and setns(2) by pidfd checks the
 * same.
 *
 * Every kind the process has is returned (a kernel without time namespaces, or a root without
 * `/proc` mounted, gives fewer); each handle's type is checked (ioctl NS_GET_NSTYPE). The
 * caller closes the handles.
 *
 * Privileges: write access to the socket (mode 0600: the user that created the gate, or
 * root), as for {@link openStartGate}. What it gives is what that user could join anyway
 * with the process dumpable. Blocking: the calling thread waits for the answer — a local
 * socket and one message from a process that only waits, bounded by `timeout`.
 *
 * @param path - the `startGate` path given to spawn.
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` for a bad path or timeout, before any
 *   syscall; SysError `ENOENT`/`ECONNREFUSED` (syscall 'connect', `path`) when nothing waits
 *   there; `ECONNRESET` when the process closed without answering (an older nsbox, or it is
 *   starting); `ETIMEDOUT` past `timeout`.
 */
export function startGateNamespaces(path: string, options?: StartGateNamespacesOptions): Map<NamespaceType, Namespace> {
  checkPath('path', path);
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArgType('options', 'an object', options);
  const timeout = options?.timeout ?? 5000;
  if (typeof timeout !== 'number') throw invalidArgType('options.timeout', 'of type number', timeout);
  if (!Number.isInteger(timeout) || timeout < 0 || timeout > 60_000)
    throw invalidArgValue('options.timeout', timeout, 'must be an integer from 0 to 60000 (milliseconds)');
  const fds = native.gateNamespaces(path, timeout);
  const out = new Map<NamespaceType, Namespace>();
  let i = 0;
  try {
    for (; i < fds.length; i++) {
      const fd = fds[i]!;
      if (fd < 0) continue;
      const ns = adoptNamespaceFd(fd); // closes fd if it is no namespace
      out.set(ns.type, ns);
      if (ns.type !== GATE_NS_KINDS[i]) throw new SysError(osConstants.errno.EPROTO, 'recvmsg', { path });
    }
    return out;
  } catch (err) {
    for (const ns of out.values()) ns.close();
    for (i++; i < fds.length; i++) if (fds[i]! >= 0) native.close(fds[i]!);
    throw err;
  }
}
