/**
 * Pseudo-terminals (pty(7)): `openPty()` makes a master/slave pair, a {@link Pty} owns it;
 * `sendFd()` passes an fd (a pty master) to a console socket as runc does for conmon and
 * podman. spawn's `terminal` option gives a child a controlling terminal (docs/namespaces.md,
 * "Terminals").
 * @module
 */
import { readSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { ReadStream } from 'node:tty';
import { handleClosed, invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { native } from '../native.js';
import { SeccompNotifier } from '../security/notify.js';

/** Options of {@link openPty}. */
export interface PtyOptions {
  /** Rows of the terminal (TIOCSWINSZ), 1 to 65535. Default: unset (0, as the kernel makes it). */
  rows?: number;
  /** Columns of the terminal, 1 to 65535. Default: unset (0). */
  cols?: number;
}

/** A terminal's size (struct winsize's rows and columns). */
export interface PtySize {
  /** Rows (lines). */
  rows: number;
  /** Columns (characters per line). */
  cols: number;
}

const leaks = new FinalizationRegistry<{ fds: number[] }>(({ fds }) => {
  for (const fd of fds) {
    try {
      native.close(fd);
    } catch {
      // The fd is gone either way.
    }
  }
  process.emitWarning(
    `A Pty was garbage-collected without close(); nsbox closed its fds ${fds.join(', ')}. ` +
      'Call close() or use `using` so fds are released when you are done with them.',
    { type: 'NsboxWarning', code: 'NSBOX_LEAKED_HANDLE' },
  );
});

/** A terminal dimension: an integer from 1 to 65535 (struct winsize holds unsigned shorts). @internal */
export function checkDimension(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidArgType(name, 'an integer', v);
  if (v < 1 || v > 65535) throw outOfRange(name, 'an integer from 1 to 65535', v);
  return v;
}

/** Validates `{ rows?, cols? }` (both or neither). @internal */
export function checkPtySize(name: string, o: unknown): PtySize | undefined {
  if (o === undefined) return undefined;
  if (typeof o !== 'object' || o === null) throw invalidArgType(name, 'an object { rows?, cols? }', o);
  const { rows, cols, ...rest } = o as PtyOptions;
  for (const k of Object.keys(rest)) throw invalidArgValue(`${name}.${k}`, (rest as Record<string, unknown>)[k], 'is not an option');
  if (rows === undefined && cols === undefined) return undefined;
  if (rows === undefined || cols === undefined) throw invalidArgValue(name, o, 'must give both rows and cols, or neither');
  return { rows: checkDimension(`${name}.rows`, rows), cols: checkDimension(`${name}.cols`, cols) };
}

/**
 * The master as a stream: a libuv tty handle on a copy of the master (it closes its copy
 * itself) for reads and writes. When the slave side is gone, libuv may see the end (EIO, or
 * EOF after the hangup) before the last output has gone through the line discipline, and Node
 * would then drop it; so at the end what the kernel still holds is read from the Pty's own
 * master (non-blocking, as libuv made the shared open file) until EIO or EAGAIN, then the
 * stream ends. Defined at its first use: node:stream and node:tty (and node:net, which tty
 * loads) are a noticeable part of a spawn's start-up, and most spawns have no terminal.
 */
let PtyStream: (new (master: () => number) => Duplex) | undefined;
function ptyStream(): new (master: () => number) => Duplex {
  if (PtyStream) return PtyStream;
  const { Duplex } = process.getBuiltinModule('node:stream');
  const { ReadStream: TtyReadStream } = process.getBuiltinModule('node:tty');
  PtyStream = class extends Duplex {
    readonly #inner: ReadStream;
    readonly #master: () => number;
    #ended = false;

    constructor(master: () => number) {
      super({ allowHalfOpen: false, decodeStrings: false });
      this.#master = master;
      const copy = native.ptyDup(master());
      try {
        this.#inner = new TtyReadStream(copy);
      } catch (err) {
        native.close(copy);
        throw err;
      }
      native.forgetFd(copy); // libuv owns the copy now
      this.#inner.on('data', (d: Buffer) => {
        if (!this.push(d)) this.#inner.pause();
      });
      this.#inner.on('end', () => this.#end());
      this.#inner.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EIO' ? this.#end() : this.destroy(err)));
      this.#inner.pause();
    }

    override _read(): void {
      this.#inner.resume();
    }

    override _write(chunk: Buffer | string, encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
      // Once the terminal has ended nobody reads it any more: the write goes nowhere.
      if (this.#ended) cb();
      else this.#inner.write(chunk, encoding, cb);
    }

    override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
      this.#inner.destroy();
      cb(err);
    }

    #end(): void {
      if (this.#ended) return;
      this.#ended = true;
      const buf = Buffer.allocUnsafe(65536);
      for (;;) {
        let n: number;
        try {
          n = readSync(this.#master(), buf);
        } catch {
          break; // EIO (no slave left) or EAGAIN (nothing more), or the Pty is closed
        }
        if (n <= 0) break;
        this.push(Buffer.from(buf.subarray(0, n)));
      }
      this.push(null);
    }
  };
  return PtyStream;
}

/**
 * A pseudo-terminal pair: the master (the side a terminal emulator, conmon or your code
 * drives) and, when made by {@link openPty}, the slave (the side a program uses as its
 * terminal). Both fds are O_CLOEXEC and owned by this object until `close()`; the GC only
 * closes a leaked one, with a warning.
 *
 * A child spawned with `terminal: pty` gets the slave on fds 0, 1 and 2 as its controlling
 * terminal; close the parent's copy then (`closeSlave()`), so the master sees the end (EIO)
 * once the child and its descendants have closed theirs. A Pty from spawn's `terminal: true`
 * (`child.terminal`) holds the master only: the slave lives in the child.
 */
export class Pty implements Disposable {
  /** The slave's path in the devpts instance it belongs to (`/dev/pts/N`; for a pty made inside a container, the container's). */
  readonly path: string;
  #master: number;
  #slave: number;
  #stream: Duplex | undefined;
  readonly #token = {};

  /** @internal */
  constructor(master: number, slave: number, path: string) {
    this.#master = master;
    this.#slave = slave;
    this.path = path;
    leaks.register(this, { fds: slave >= 0 ? [master, slave] : [master] }, this.#token);
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#master < 0;
  }

  /**
   * The master's fd number (for stdio of another program, or {@link sendFd}).
   * @throws `ERR_HANDLE_CLOSED` after `close()`.
   */
  get master(): number {
    if (this.#master < 0) throw handleClosed('Pty');
    return this.#master;
  }

  /**
   * The slave's fd number, or undefined when this Pty has no slave (made inside a child, or
   * after `closeSlave()`). Pass it as stdio, or the Pty itself as spawn's `terminal`.
   * @throws `ERR_HANDLE_CLOSED` after `close()`.
   */
  get slave(): number | undefined {
    if (this.closed) throw handleClosed('Pty');
    return this.#slave < 0 ? undefined : this.#slave;
  }

  /** Closes the slave fd (close(2)) and keeps the master. Idempotent. */
  closeSlave(): void {
    const fd = this.#slave;
    if (fd < 0) return;
    this.#slave = -1;
    this.#reregister();
    native.close(fd);
  }

  /**
   * Sets the terminal's size (ioctl TIOCSWINSZ, tty_ioctl(4)); the foreground process group
   * gets SIGWINCH. What `stty rows R cols C` does. Never blocks.
   * @throws `ERR_INVALID_ARG_TYPE`/`ERR_OUT_OF_RANGE` for a dimension that is not an integer
   *   from 1 to 65535; `ERR_HANDLE_CLOSED` after close().
   */
  resize(rows: number, cols: number): void {
    checkDimension('rows', rows);
    checkDimension('cols', cols);
    native.ptyResize(this.master, rows, cols);
  }

  /**
   * Turns the terminal's ONLCR output flag on or off (termios(3), tcsetattr TCSANOW; on the
   * master, the ioctl acts on the slave's settings): with it on, the kernel's default, each
   * `\n` the program writes reaches the master as `\r\n`. What `stty onlcr` / `stty -onlcr`
   * does. A relay that copies the master's output to another terminal that translates too
   * (a terminal in Node's raw mode keeps its own ONLCR) turns it off, as runc does for its
   * foreground terminal (containerd/console's ClearONLCR); lines then end `\r\n`, not
   * `\r\r\n`. Never blocks.
   * @throws `ERR_INVALID_ARG_TYPE` when `on` is not a boolean; `ERR_HANDLE_CLOSED` after
   *   close(); SysError (`ioctl`, e.g. `EIO`) when the kernel refuses.
   */
  setOnlcr(on: boolean): void {
    if (typeof on !== 'boolean') throw invalidArgType('on', 'a boolean', on);
    native.ptySetOnlcr(this.master, on ? 1 : 0);
  }

  /** The terminal's size (ioctl TIOCGWINSZ). @throws `ERR_HANDLE_CLOSED` after close(). */
  size(): PtySize {
    const [rows, cols] = native.ptySize(this.master);
    return { rows, cols };
  }

  /**
   * The master as a duplex stream: what you write is the terminal's input (`'\x03'` is
   * Ctrl-C), what you read its output, until every slave fd is closed (the child and whatever
   * inherited its terminal have exited): then the stream ends, with everything the kernel held
   * read first. It reads through a copy of the master (fcntl F_DUPFD_CLOEXEC) that it closes
   * itself; the Pty keeps its own, and `close()` destroys the stream. Calling it again returns
   * the same stream.
   * @throws `ERR_HANDLE_CLOSED` after close(); SysError (`fcntl`) when out of fds.
   */
  stream(): Duplex {
    if (this.#stream) return this.#stream;
    if (this.#master < 0) throw handleClosed('Pty');
    this.#stream = new (ptyStream())(() => this.#master);
    return this.#stream;
  }

  /** Closes both fds and destroys the stream, if any. Idempotent; never blocks. */
  close(): void {
    this.closeSlave();
    const fd = this.#master;
    this.#master = -1;
    leaks.unregister(this.#token);
    this.#stream?.destroy();
    if (fd >= 0) native.close(fd);
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #reregister(): void {
    leaks.unregister(this.#token);
    const fds = [this.#master, this.#slave].filter((fd) => fd >= 0);
    if (fds.length > 0) leaks.register(this, { fds }, this.#token);
  }
}

/**
 * Opens a new pseudo-terminal pair (pty(7)): posix_openpt(3) (open /dev/ptmx), unlockpt(3)
 * (ioctl TIOCSPTLCK), the slave opened through the master with ioctl TIOCGPTPEER (Linux
 * 4.13; no path lookup, so no race on /dev/pts), else by its path; both O_CLOEXEC and
 * O_NOCTTY. With `rows` and `cols`, sets the size (TIOCSWINSZ). What openpty(3) does.
 *
 * Privileges: none (the caller's /dev/ptmx and devpts). Never blocks; does not touch the
 * calling thread.
 *
 * @throws `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE` for bad
 *   options, before any syscall; SysError with `syscall` 'open' or 'ioctl' and `path`
 *   (`ENOENT` without /dev/ptmx, `ENOSPC` when devpts's `max` is reached).
 */
export function openPty(options?: PtyOptions): Pty {
  const size = checkPtySize('options', options);
  const [master, slave, path] = native.openPty(size?.rows ?? 0, size?.cols ?? 0);
  return new Pty(master, slave, path);
}

/** Options of {@link sendFd}. */
export interface SendFdOptions {
  /** The message's data bytes (a stream socket needs at least one). Default `'/dev/ptmx'`, what runc sends with a pty master. */
  name?: string;
}

/** sun_path of struct sockaddr_un holds 108 bytes, the terminating NUL included (unix(7)). */
const SUN_PATH_MAX = 107;

/**
 * Sends a file descriptor to the unix socket at `socketPath` (a SOCK_STREAM listener such as
 * conmon's or podman's `--console-socket`): connect(2), then one sendmsg(2) with the fd as
 * SCM_RIGHTS (unix(7)) and `name` as the data — runc's console-socket message. The receiver
 * gets its own copy of the fd; ours stays open. `fd` is a {@link Pty} (its master is sent), a
 * {@link SeccompNotifier} (its listener: an OCI runtime sends it to `linux.seccomp.listenerPath`
 * with the container process state as `name`, as runc and crun do), or an fd number.
 *
 * Privileges: write permission on the socket. Blocking: a local connect and one small send,
 * on the calling thread (it waits only while the listener's backlog is full; microseconds
 * otherwise). Does not touch the calling thread's namespaces.
 *
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` for a bad path (empty, over 107
 *   bytes, NUL), fd or name, before any syscall; SysError with `syscall` 'connect' and `path`
 *   (`ENOENT` no such socket, `ECONNREFUSED` nobody listening, `EACCES`), or 'sendmsg';
 *   `ERR_HANDLE_CLOSED` for a closed Pty or SeccompNotifier.
 */
export function sendFd(socketPath: string, fd: Pty | SeccompNotifier | number, options?: SendFdOptions): void {
  if (typeof socketPath !== 'string') throw invalidArgType('socketPath', 'of type string', socketPath);
  if (socketPath === '' || socketPath.includes('\0') || Buffer.byteLength(socketPath) > SUN_PATH_MAX)
    throw invalidArgValue('socketPath', socketPath, `must be a path of 1 to ${SUN_PATH_MAX} bytes without null bytes`);
  let n: number;
  if (fd instanceof Pty) n = fd.master;
  else if (fd instanceof SeccompNotifier) n = fd.rawFd();
  else if (typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 && fd <= 0x7fffffff) n = fd;
  else throw invalidArgType('fd', 'a Pty or a non-negative integer fd', fd);
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArgType('options', 'an object', options);
  const name = options?.name ?? '/dev/ptmx';
  if (typeof name !== 'string') throw invalidArgType('options.name', 'of type string', name);
  if (name === '' || name.includes('\0')) throw invalidArgValue('options.name', name, 'must be a non-empty string without null bytes');
  native.sendFd(socketPath, n, name);
}

/**
 * spawn's `terminal` option: `true` (or a size) for a pty made inside the child, a
 * {@link Pty} for one made here. `{ rows, cols }` sets the size of a new one.
 */
export type TerminalOption = boolean | Pty | PtySize;

/** A checked `terminal` option. @internal */
export type CheckedTerminal = { kind: 'new'; size: number } | { kind: 'pty'; slave: number };

/**
 * Validates spawn's `terminal` with the options it excludes (stdio 0–2, processGroup)
 * and puts the child's fds 0, 1, 2 in `stdio`: the Pty's slave, or (a pty made in the child)
 * the child's own 0, 1, 2, which the terminal step has made the slave by then. @internal
 */
export function checkTerminal(
  o: { terminal?: unknown; stdio?: unknown; fds?: unknown; processGroup?: unknown; init?: unknown },
  stdio: Map<number, unknown>,
): CheckedTerminal | undefined {
  const t = o.terminal;
  if (t === undefined || t === false) return undefined;
  let out: CheckedTerminal;
  if (t === true) out = { kind: 'new', size: 0 };
  else if (t instanceof Pty) {
    if (t.closed || t.slave === undefined)
      throw invalidArgValue('options.terminal', t.path, 'is a Pty without its slave fd (closed, or made inside a child)');
    out = { kind: 'pty', slave: t.slave };
  } else if (typeof t === 'object' && t !== null) {
    const size = checkPtySize('options.terminal', t);
    out = { kind: 'new', size: size ? size.rows | (size.cols << 16) : 0 };
  } else throw invalidArgType('options.terminal', 'a boolean, a Pty or { rows, cols }', t);
  const std = o.stdio;
  if (typeof std === 'string' || (Array.isArray(std) && std.slice(0, 3).some((v) => v !== undefined && v !== null)))
    throw invalidArgValue('options.stdio', std, 'sets fds 0–2, which options.terminal makes the terminal');
  if (typeof o.fds === 'object' && o.fds !== null && Object.keys(o.fds).some((k) => Number(k) < 3))
    throw invalidArgValue('options.fds', o.fds, 'sets fds 0–2, which options.terminal makes the terminal');
  if (o.processGroup !== undefined && o.processGroup !== false)
    throw invalidArgValue('options.processGroup', o.processGroup, 'cannot be used with options.terminal (the child leads a new session)');
  for (let fd = 0; fd < 3; fd++) stdio.set(fd, out.kind === 'pty' ? out.slave : 'inherit');
  return out;
}
