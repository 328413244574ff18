/**
 * The process `spawn` returns: shaped like Node's ChildProcess (`pid`, stdio streams,
 * `kill()`, 'spawn'/'exit'/'close' events) plus `exited` and `namespace(type)`.
 * @module
 */
import type { SpawnVethLink } from '../net/spawn-network.js';
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { SysError, unknownSignal } from '../errors.js';
import { K, native, type NativeChildWatch } from '../native.js';
import { openNamespaceOfPidfd, type Namespace } from './namespace.js';
import type { NamespaceFile } from './types.js';
import type { SeccompNotifier } from '../security/notify.js';
import type { Pty } from './pty.js';

/** How a child ended: an exit code, or the signal that killed it. */
export interface ExitStatus {
  /** Exit code, or null if a signal ended it. */
  code: number | null;
  /** The signal's name (as child_process reports it), or null. */
  signal: NodeJS.Signals | null;
}

/** Signal number → name, made at the first child killed by a signal. */
let signalNames: Map<number, NodeJS.Signals> | undefined;
const signalName = (n: number): NodeJS.Signals | null =>
  (signalNames ??= new Map(Object.entries(K.SIGNAL).map(([name, v]) => [v, name as NodeJS.Signals]))).get(n) ?? null;

/** SIGRTMAX on Linux (signal(7)): numbers 1 to 64 are signals. */
const SIGNAL_MAX = 64;

/**
 * Signal name or number → number (undefined: SIGTERM). Names are the kernel's, as in
 * `os.constants.signals`; numbers go from 1 to SIGRTMAX (64), so real-time signals can be
 * sent, which child_process cannot. 0 (no signal: an existence check) only where
 * `allowZero` says so, as ChildProcess.kill(0) — never as a `killSignal`, where it would
 * make `timeout` kill nothing.
 * @throws `ERR_UNKNOWN_SIGNAL` (TypeError, as child_process) for anything else.
 * @internal
 */
export function signalNumber(sig: unknown, allowZero = false): number {
  if (sig === undefined) return K.SIGNAL.SIGTERM;
  if (typeof sig === 'number' && Number.isInteger(sig) && sig >= (allowZero ? 0 : 1) && sig <= SIGNAL_MAX) return sig;
  if (typeof sig === 'string' && Object.hasOwn(K.SIGNAL, sig)) return K.SIGNAL[sig as NodeJS.Signals];
  throw unknownSignal(sig);
}

const live = new Set<NsboxChild>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // process.exit() skips the environment teardown that kills and reaps children natively;
  // nsbox children never outlive the program that made them.
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

/** @internal */
export interface ChildInit {
  pid: number;
  pidfd: number;
  stdio: Array<Readable | Writable | null>;
  /** Called once the child has exited (timers, abort listeners). */
  onExit: () => void;
  /** The listener of the child's seccomp filter (a filter with a notify action). */
  seccompNotifier?: SeccompNotifier | undefined;
  /** The veth made for `network.veth`. */
  veth?: SpawnVethLink | undefined;
  /** Waiting at spawn's `startGate`: outlives this process (never killed at exit or teardown). */
  gated?: boolean;
  /** The master of the pty the child made (`terminal: true`). */
  terminal?: Pty | undefined;
}

/**
 * A running (or finished) child made by {@link spawn}.
 *
 * Events, as ChildProcess: `'spawn'` (next tick after a successful start), `'exit'`
 * `(code, signal)` when the process has been reaped, `'close'` `(code, signal)` once it
 * has exited and its stdio streams have closed.
 */
export class NsboxChild extends EventEmitter {
  /** The child's pid, in the caller's pid namespace. */
  readonly pid: number;
  /** The parent's end of the child's stdin when `stdio[0]` was 'pipe', else null. */
  readonly stdin: Writable | null;
  /** The parent's end of the child's stdout when `stdio[1]` was 'pipe', else null. */
  readonly stdout: Readable | null;
  /** The parent's end of the child's stderr when `stdio[2]` was 'pipe', else null. */
  readonly stderr: Readable | null;
  /** Every stdio entry, index = child fd ('pipe' entries are streams, others null). */
  readonly stdio: ReadonlyArray<Readable | Writable | null>;
  /** Exit code once exited by itself, else null. */
  exitCode: number | null = null;
  /** The signal that ended the child, else null. */
  signalCode: NodeJS.Signals | null = null;
  /** True once `kill()` has sent a signal successfully. */
  killed = false;
  /** Resolves with the exit status when the child has exited and been reaped. Never rejects. */
  readonly exited: Promise<ExitStatus>;
  /**
   * The notifications of the child's seccomp filter when it has `SCMP_ACT_NOTIFY` rules
   * (see docs/security.md), else null. Yours to iterate and to close: a notified syscall
   * waits until it is answered. It ends by itself once every process using the filter (the
   * child and whatever it forked) has exited.
   */
  readonly seccompNotifier: SeccompNotifier | null;
  /**
   * The veth pair made for spawn's `network.veth` (both ends' names and indexes: the host
   * end's in the caller's namespace, the inner end's in the child's), else null. It goes
   * away with the child's network namespace.
   */
  readonly veth: SpawnVethLink | null;
  /**
   * True when spawn returned at `startGate`: the child waits there, before Landlock, seccomp
   * and execve, until {@link openStartGate}. Such a child is a container that outlives the
   * process that made it: neither process exit nor the environment's teardown kills it
   * (`kill()` and `exited` work as for any child while this process runs).
   */
  readonly gated: boolean;
  /**
   * With spawn's `terminal: true` (or a size): the master of the pty the child made and has as
   * its controlling terminal (`path` is the slave's path as the child sees it, /dev/pts/0 in a
   * fresh container). Yours to read, write (`stream()`), resize, pass on (`sendFd()`) and
   * close; nsbox does not close it when the child exits. Else null.
   */
  readonly terminal: Pty | null;

  readonly #watch: NativeChildWatch;
  #running = true;

  /** @internal */
  constructor(init: ChildInit) {
    super();
    this.pid = init.pid;
    this.stdio = init.stdio;
    this.stdin = (init.stdio[0] as Writable | null) ?? null;
    this.stdout = (init.stdio[1] as Readable | null) ?? null;
    this.stderr = (init.stdio[2] as Readable | null) ?? null;
    this.seccompNotifier = init.seccompNotifier ?? null;
    this.veth = init.veth ?? null;
    this.gated = init.gated === true;
    this.terminal = init.terminal ?? null;
    let resolve!: (s: ExitStatus) => void;
    this.exited = new Promise((r) => (resolve = r));
    const streams = init.stdio.filter((s): s is Readable | Writable => s !== null);
    let open = streams.length + 1; // +1: the exit itself
    const closeOne = () => {
      if (--open === 0) this.emit('close', this.exitCode, this.signalCode);
    };
    for (const s of streams) s.once('close', closeOne);
    this.#watch = native.watchChild(
      init.pid,
      init.pidfd,
      (code, signal) => {
        this.#running = false;
        live.delete(this);
        this.exitCode = code;
        this.signalCode = signal === null ? null : signalName(signal);
        init.onExit();
        // As ChildProcess: nobody reads the child's stdin any more, so 'close' must not wait on it.
        for (const st of init.stdio) if (st && !(st as Readable).readable) st.destroy();
        this.emit('exit', this.exitCode, this.signalCode);
        resolve({ code: this.exitCode, signal: this.signalCode });
        closeOne();
      },
      this.gated,
    );
    if (!this.gated) {
      live.add(this);
      installExitHook();
    }
    // A promise reaction, V8's own: the first process.nextTick or queueMicrotask of a process
    // is a cold path of Node's of ~0.1 ms (measured: 105–145 µs, a promise 5 µs). A listener
    // that throws surfaces as an unhandled rejection, which Node raises as an uncaught
    // exception, as it would from nextTick.
    void Promise.resolve().then(() => this.emit('spawn'));
  }

  /** True until the child has exited and been reaped. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Sends a signal (default SIGTERM) with pidfd_send_signal(2): it can never hit a reused
   * pid. Returns true if the signal was sent, false if the child had already exited.
   * Signal 0 sends nothing and only checks that the child is there and may be signalled.
   * Replaces `kill -SIG PID` and ChildProcess.kill. Needs no privilege for one's own child
   * (a child that changed uid, or joined a user namespace you do not own, needs CAP_KILL).
   * Does not block and does not wait for the child to exit (see `exited`).
   * @throws `ERR_UNKNOWN_SIGNAL` for an unknown signal; SysError `EPERM` (syscall
   * `'pidfd_send_signal'`, with `pid`) if not allowed.
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    const n = signalNumber(signal, true);
    if (!this.#running) return false;
    const err = this.#watch.kill(n);
    if (err === 0) {
      this.killed = true;
      return true;
    }
    if (err === K.ERRNO.ESRCH) return false;
    throw new SysError(err, 'pidfd_send_signal', { pid: this.pid });
  }

  /**
   * Opens one of the child's namespaces (/proc/PID/ns/TYPE) as a handle, through the child's
   * own pidfd (ioctl PIDFD_GET_*_NAMESPACE on Linux 6.11+, else the /proc file checked against
   * the pidfd): race-free, no other process can be reached. What `lsns -p PID` lists, as a
   * handle; see `openNamespace`. Does not touch the calling thread.
   * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` for a bad type; SysError `ESRCH`
   * (with `path` and `pid`; syscall `'open'` once its exit has been seen, else the one that
   * found it gone) once the child has exited; `EACCES` as `openNamespace`.
   */
  namespace(type: NamespaceFile): Namespace {
    const pidfd = this.#running ? this.#watch.fd : -1;
    if (pidfd < 0) throw new SysError(3, 'open', { path: `/proc/${this.pid}/ns/${String(type)}`, pid: this.pid });
    return openNamespaceOfPidfd(pidfd, this.pid, type);
  }

  /**
   * Stops watching the child without ever reaping it: its exit status is left for whoever is
   * its parent once this process has exited — a subreaper (prctl PR_SET_CHILD_SUBREAPER), such
   * as conmon or containerd's shim, or init. That is what an OCI runtime's `exec --detach`
   * needs: the process must stay for its supervisor to wait for, even if it ends before this
   * process does (it then stays a zombie until this process exits). Afterwards `running` is
   * false, `kill()` returns false and `exited` never settles. Meant for a child the caller
   * hands over, usually one made with `startGate` (disown before opening the gate, so no
   * exit can be reaped in between). Does not block.
   */
  disown(): this {
    if (!this.#running) return this;
    this.#running = false;
    live.delete(this);
    this.#watch.release();
    return this;
  }

  /** Lets the event loop exit while the child runs (as ChildProcess.unref). */
  unref(): this {
    this.#watch.ref(false);
    return this;
  }

  /** Undoes unref(). */
  ref(): this {
    this.#watch.ref(true);
    return this;
  }

  /** Kills the child (SIGKILL) if it still runs and waits until it is reaped. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.kill('SIGKILL');
    await this.exited;
  }
}
