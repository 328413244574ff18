/**
 * `runIsolated()` and `inNamespaces()`: a JavaScript function run in a new Node process that
 * `spawn` starts inside fresh namespaces, with its arguments and result passed as structured
 * clones (node:v8) over a pipe, and what it throws rethrown here.
 * @module
 */
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { abortError, invalidArgType, invalidArgValue, nsboxError, outOfRange, SysError, type SysErrorContext } from '../errors.js';
import { native } from '../native.js';
import type { ExitStatus, NsboxChild } from '../namespaces/child.js';
import type { SpawnOptions } from '../namespaces/options.js';
import { spawn } from '../namespaces/spawn.js';
import { BOOTSTRAP, type EncodedError } from './bootstrap.js';

/**
 * Options of {@link runIsolated} and {@link inNamespaces}: everything {@link spawn} takes
 * (namespaces, join, id maps, hostname, rootfs and mounts, cgroup, network, the security
 * options, env, cwd …), except what the function's process needs for itself — its stdio, extra
 * fds, a terminal, a start gate, `detached`, `argv0` and `dieWithParent` (always on: the process
 * never outlives the thread that started it) — plus the few below.
 *
 * `namespaces` defaults to `['user', 'pid', 'net', 'uts', 'ipc']` (works rootless), and with
 * `'net'` the network defaults to `{ lo: true }`. In a new user namespace without `uidMap` and
 * `gidMap`, the function runs as the caller's own uid and gid mapped to 0 (`unshare -r`), also
 * as root: it must read the caller's files (spawn's default for root is a block of
 * unprivileged ids instead). `timeout`, `signal` and `killSignal` are
 * handled here: on either, the process is killed (default SIGKILL: as PID 1 of a new pid
 * namespace it would ignore SIGTERM) and reaped before the call rejects.
 */
export interface IsolatedOptions
  extends Omit<SpawnOptions, 'stdio' | 'fds' | 'terminal' | 'startGate' | 'detached' | 'argv0' | 'dieWithParent'> {
  /**
   * The child's stdout and stderr: `'pipe'` (default) writes them to this process's
   * `process.stdout`/`process.stderr` as they come and keeps their last 64 KiB for the error
   * of a process that ends without a result; `'inherit'` gives the child this process's fds 1
   * and 2; `'ignore'` sends them to /dev/null.
   */
  output?: 'pipe' | 'inherit' | 'ignore';
  /**
   * Node options for the child, before the bootstrap (`['--import', 'tsx']` to load
   * TypeScript modules on a Node without type stripping). Default: none.
   */
  execArgv?: readonly string[];
}

/**
 * The error of a function's process that ended without handing back a result or an exception:
 * it exited (the function called `process.exit()`, or Node failed to start), a signal killed
 * it, or it ran past `timeout` and was killed. `code` is `'ERR_NSBOX_ISOLATED_FAILED'`.
 */
export interface IsolatedError extends Error {
  /** `'ERR_NSBOX_ISOLATED_FAILED'`. */
  code: 'ERR_NSBOX_ISOLATED_FAILED';
  /** The process's pid (in the caller's pid namespace): gone and reaped by the time this is thrown. */
  pid: number;
  /** The exit status, or null when a signal ended the process. */
  status: number | null;
  /** The signal that ended it, or null. */
  signal: NodeJS.Signals | null;
  /** True when it was killed because it ran past `timeout`. */
  timedOut: boolean;
  /** The last 64 KiB of its stdout (with `output: 'pipe'`, else ''). */
  stdout: string;
  /** The last 64 KiB of its stderr (with `output: 'pipe'`, else ''). */
  stderr: string;
}

const TAIL = 64 * 1024;
const DEFAULT_NAMESPACES: NonNullable<SpawnOptions['namespaces']> = ['user', 'pid', 'net', 'uts', 'ipc'];
/** How long the child's stdout/stderr may stay open after it exited (a process it left holds them). */
const DRAIN_MS = 100;

interface Request {
  url?: string;
  name?: string;
  source?: string;
  args: unknown[];
}

/**
 * Runs the export `exportName` of the module `moduleUrl` with `args` in a new Node process
 * started by {@link spawn} inside fresh namespaces (by default a user, pid, network, uts and
 * ipc namespace, `lo` up: the function sees itself as PID 1, only `lo`, and uid 0), and
 * resolves with what it returns (awaited). Arguments and result cross as structured clones
 * (node:v8 serialize: no functions, no class instances beyond the built-ins). What it throws
 * is rethrown here with its name, message, `code`, `errno`, `syscall`, `path`, its other own
 * properties, `cause` and stack (the child's frames, then this call's); a `SysError` comes
 * back as a {@link SysError}, the built-in error classes as themselves, anything else as an
 * `Error` with the thrown `name`.
 *
 * The module is loaded with `import()` by plain Node (JavaScript; TypeScript only with
 * `execArgv` that teaches Node to load it). Replaces `unshare -Urpn node -e …` and parsing its
 * output. The child gets `dieWithParent`; nothing it leaves running outlives the call when it
 * has its own pid namespace (the default), since killing a pid namespace's PID 1 kills it all.
 *
 * Privileges: as {@link spawn} for the options given — none for the defaults where user
 * namespaces are allowed (`features().userNamespaces`). Does not block: the child is awaited in
 * the event loop. Works in worker threads.
 *
 * @typeParam F - the function's type (`typeof import('./fns.js').probe`), which types `args` and the result.
 * @param moduleUrl - a `file:` URL (`import.meta.url`, or `new URL('./f.js', import.meta.url)`) or an absolute path.
 * @param exportName - the export to call (`'default'` for a default export).
 * @param args - the arguments, structured-cloneable.
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE`/`ERR_OUT_OF_RANGE` for bad arguments or
 *   options, before anything starts; what {@link spawn} throws; `DataCloneError` for arguments
 *   that cannot be cloned; `ABORT_ERR` when `signal` aborts; `ERR_NSBOX_ISOLATED_FAILED`
 *   ({@link IsolatedError}) when the process ends without a result or runs past `timeout`;
 *   otherwise whatever the function threw.
 */
export async function runIsolated<F extends (...args: never[]) => unknown = (...args: unknown[]) => unknown>(
  moduleUrl: string | URL,
  exportName: string,
  args: Parameters<F>,
  options: IsolatedOptions = {},
): Promise<Awaited<ReturnType<F>>> {
  let url: string;
  if (moduleUrl instanceof URL) url = moduleUrl.href;
  else if (typeof moduleUrl !== 'string') throw invalidArgType('moduleUrl', 'a string or a URL', moduleUrl);
  else if (moduleUrl.startsWith('/')) url = pathToFileURL(moduleUrl).href;
  else if (/^(file|data|node):/.test(moduleUrl)) url = moduleUrl;
  else throw invalidArgValue('moduleUrl', moduleUrl, 'must be a file: URL or an absolute path');
  if (typeof exportName !== 'string') throw invalidArgType('exportName', 'of type string', exportName);
  if (!Array.isArray(args)) throw invalidArgType('args', 'an array', args);
  return (await run({ url, name: exportName, args }, options, new Error())) as Awaited<ReturnType<F>>;
}

/**
 * Runs `fn(...args)` as {@link runIsolated} does, sending the function as source text: it is
 * compiled anew in the child, so it must be self-contained — **no closures**: it sees none of
 * the variables around it here, not even imports; pass values as `args`, and load modules
 * inside with `await import('nsbox/net')` (resolved from this process's working directory) or
 * by an absolute URL passed in. An arrow function, a function expression or declaration,
 * async or not; a bound or native function is refused. Use {@link runIsolated} for code that
 * needs its module around it.
 *
 * Options, privileges and errors as {@link runIsolated}; `ERR_INVALID_ARG_VALUE` for a
 * function whose source cannot be sent.
 */
export async function inNamespaces<A extends unknown[], R>(
  options: IsolatedOptions,
  fn: (...args: A) => R,
  ...args: A
): Promise<Awaited<R>> {
  if (typeof fn !== 'function') throw invalidArgType('fn', 'a function', fn);
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source))
    throw invalidArgValue('fn', fn, 'is a native or bound function, whose source cannot be sent');
  try {
    new Function(`return (${source}\n)`); // compiled, never called: a method's text (`name() {}`) is no expression
  } catch {
    throw invalidArgValue(
      'fn',
      fn,
      'has source that is not a function expression (a method?): pass an arrow function or a function expression',
    );
  }
  return (await run({ source, args }, options ?? {}, new Error())) as Awaited<R>;
}

function checkOptions(options: IsolatedOptions): { spawnOptions: SpawnOptions; o: IsolatedOptions } {
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
  for (const k of ['stdio', 'fds', 'terminal', 'startGate', 'detached', 'argv0', 'dieWithParent']) {
    if (k in options) throw invalidArgValue(`options.${k}`, (options as Record<string, unknown>)[k], 'is set by runIsolated itself');
  }
  const { output, execArgv, timeout, signal, killSignal, ...rest } = options;
  if (output !== undefined && !['pipe', 'inherit', 'ignore'].includes(output))
    throw invalidArgValue('options.output', output, "must be 'pipe', 'inherit' or 'ignore'");
  if (execArgv !== undefined && (!Array.isArray(execArgv) || execArgv.some((a) => typeof a !== 'string')))
    throw invalidArgType('options.execArgv', 'an array of strings', execArgv);
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout)))
    throw outOfRange('options.timeout', 'a positive finite number of milliseconds', timeout);
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an AbortSignal', signal);
  const namespaces = rest.namespaces ?? (rest.join === undefined ? DEFAULT_NAMESPACES : []);
  const spawnOptions: SpawnOptions = {
    ...rest,
    namespaces,
    // Checked by spawn; used by us, on timeout and abort.
    killSignal: killSignal ?? 'SIGKILL',
    dieWithParent: true,
    stdio: ['ignore', output ?? 'pipe', output ?? 'pipe'],
  };
  if (rest.network === undefined && namespaces.includes('net')) spawnOptions.network = { lo: true };
  // The function is the caller's own code: inside a new user namespace it runs as the caller's
  // own uid and gid (mapped to 0), so it reads what the caller reads — the project's modules
  // above all. spawn's default for root, a block of unprivileged host ids, could not.
  if (namespaces.includes('user') && rest.uidMap === undefined && rest.gidMap === undefined) {
    spawnOptions.uidMap = [{ inside: 0, outside: process.geteuid!(), count: 1 }];
    spawnOptions.gidMap = [{ inside: 0, outside: process.getegid!(), count: 1 }];
  }
  return { spawnOptions, o: options };
}

/** Collects a stream's last TAIL bytes, forwarding each chunk to `to`. */
function tail(stream: Readable | null | undefined, to: Writable): () => string {
  let kept: Buffer[] = [];
  let size = 0;
  stream?.on('data', (chunk: Buffer) => {
    to.write(chunk);
    kept.push(chunk);
    size += chunk.length;
    while (size - kept[0]!.length >= TAIL) size -= kept.shift()!.length;
  });
  return () => {
    const all = Buffer.concat(kept);
    kept = [];
    return all.subarray(Math.max(0, all.length - TAIL)).toString('utf8');
  };
}

/** Reads one length-prefixed frame from the result pipe; resolves with null if the pipe ends first. */
function readFrame(stream: Readable): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let have = 0;
    let len = -1;
    const done = (v: Buffer | null) => {
      stream.removeAllListeners('data');
      resolve(v);
    };
    stream.on('data', (c: Buffer) => {
      chunks.push(c);
      have += c.length;
      if (len < 0 && have >= 4) len = (chunks.length === 1 ? c : Buffer.concat(chunks)).readUInt32LE(0);
      if (len >= 0 && have >= 4 + len) done(Buffer.concat(chunks, have).subarray(4, 4 + len));
    });
    stream.once('end', () => done(null));
    stream.once('close', () => done(null));
  });
}

async function run(req: Request, options: IsolatedOptions, callSite: Error): Promise<unknown> {
  const { spawnOptions, o } = checkOptions(options);
  const request = serialize(req); // a DataCloneError here, before anything starts
  if (o.signal?.aborted) throw abortError(o.signal);
  const [r, w] = native.pipe();
  let child: NsboxChild;
  try {
    spawnOptions.fds = { 3: r, 4: 'pipe' };
    child = spawn(process.execPath, [...(o.execArgv ?? []), '-e', BOOTSTRAP], spawnOptions);
  } catch (err) {
    native.close(w);
    throw err;
  } finally {
    native.close(r);
  }
  // The request: written by a blocking write in this thread would risk a deadlock on a big one
  // (the child reads it only after Node has started); a stream writes it as the child reads.
  const requestEnd = new Socket({ fd: w, readable: false, writable: true });
  native.forgetFd(w);
  requestEnd.on('error', () => {}); // EPIPE when the child died first: its exit tells why
  requestEnd.end(request);
  const resultEnd = child.stdio[4] as Readable;
  const frame = readFrame(resultEnd);
  const stdout = tail(child.stdout, process.stdout);
  const stderr = tail(child.stderr, process.stderr);

  const { status, timedOut, aborted } = await waitForExit(child, o, spawnOptions.killSignal!);
  // The frame is complete in the pipe once the child has exited (it wrote it before exiting);
  // its stdout and stderr get a moment to drain, then go, whoever else still holds them.
  await drain([child.stdout, child.stderr, resultEnd]);
  const body = await frame;
  if (aborted) throw abortError(o.signal!);
  if (body === null || timedOut) throw failure(child.pid, status, timedOut ? o.timeout! : undefined, stdout(), stderr());
  const msg = deserialize(body) as { ok: true; value: unknown } | { ok: false; error: EncodedError };
  if (msg.ok) return msg.value;
  throw decodeError(msg.error, callSite);
}

/** Awaits the child's exit, killing it at `timeout` or when `signal` aborts. */
async function waitForExit(
  child: NsboxChild,
  o: IsolatedOptions,
  killSignal: NodeJS.Signals | number,
): Promise<{ status: ExitStatus; timedOut: boolean; aborted: boolean }> {
  let timedOut = false;
  let aborted = false;
  const timer =
    o.timeout === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          child.kill(killSignal);
        }, o.timeout);
  const onAbort = () => {
    aborted = true;
    child.kill(killSignal);
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return { status: await child.exited, timedOut, aborted };
  } finally {
    if (timer) clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
  }
}

/** Waits until the streams close, at most DRAIN_MS, then destroys them. */
async function drain(streams: Array<Readable | null>): Promise<void> {
  const closed = Promise.all(streams.map((s) => (s && !s.destroyed ? new Promise((res) => s.once('close', res)) : null)));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise((res) => (timer = setTimeout(res, DRAIN_MS)))]);
  clearTimeout(timer);
  for (const s of streams) s?.destroy();
}

/** The {@link IsolatedError} of a process that ended without a result (`timeout`: it ran past it). */
function failure(pid: number, status: ExitStatus, timeout: number | undefined, stdout: string, stderr: string): IsolatedError {
  const why =
    timeout !== undefined
      ? `ran past its timeout of ${timeout} ms and was killed`
      : status.signal
        ? `was killed by ${status.signal}`
        : status.code === 0
          ? 'exited with status 0 (its promise never settled, and nothing kept its event loop alive)'
          : `exited with status ${status.code}`;
  const tail = stderr ? `; its stderr ends with:\n${stderr.slice(-4096)}` : '';
  const err = nsboxError('ERR_NSBOX_ISOLATED_FAILED', `The isolated function's process (pid ${pid}) ${why} before returning${tail}`);
  return Object.assign(err, {
    pid,
    status: status.code,
    signal: status.signal,
    timedOut: timeout !== undefined,
    stdout,
    stderr,
  }) as IsolatedError;
}

const BUILTIN: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** An error as the child encoded it, rebuilt here: SysError and the built-in classes as themselves. */
function decodeError(e: EncodedError, callSite: Error | undefined): unknown {
  if (!('name' in e) && 'value' in e) return e.value;
  const props = e.props ?? {};
  let err: Error;
  if (e.name === 'SysError' && typeof props.errno === 'number' && typeof props.syscall === 'string') {
    const ctx: SysErrorContext = {};
    for (const k of ['path', 'dest', 'step', 'pid', 'cgroup', 'ifname', 'kernelMessage', 'hint'] as const)
      if (props[k] !== undefined) (ctx as Record<string, unknown>)[k] = props[k];
    err = new SysError(props.errno, props.syscall, ctx);
  } else if (e.name === 'AggregateError') {
    err = new AggregateError(
      (e.errors ?? []).map((x) => decodeError(x, undefined)),
      e.message,
    );
  } else {
    err = new (BUILTIN[e.name ?? ''] ?? Error)(e.message);
    if (!(e.name! in BUILTIN)) Object.defineProperty(err, 'name', { value: e.name, writable: true, configurable: true, enumerable: false });
  }
  Object.defineProperty(err, 'message', { value: e.message ?? '', writable: true, configurable: true, enumerable: false });
  for (const [k, v] of Object.entries(props)) {
    if (err instanceof SysError && (k === 'errno' || k === 'code' || k === 'syscall')) continue; // rebuilt identically
    Object.defineProperty(err, k, { value: v, writable: true, configurable: true, enumerable: true });
  }
  if (e.cause !== undefined) {
    Object.defineProperty(err, 'cause', { value: decodeError(e.cause, undefined), writable: true, configurable: true, enumerable: false });
  }
  const here = callSite?.stack?.split('\n').slice(1).join('\n');
  const stack = e.stack ?? `${e.name}: ${e.message}`;
  Object.defineProperty(err, 'stack', {
    value: here ? `${stack}\n    --- in the isolated process; called from:\n${here}` : stack,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  return err;
}
