/**
 * The bins' exit: process.exit() without Node's teardown.
 *
 * process.exit() runs the 'exit' listeners and then `process.reallyExit()`, which stops Node's
 * platform (joining V8's worker threads and libuv's pool), runs atexit handlers and C++ static
 * destructors before exit(3): ~0.9 ms of every short `nsbox` command (docs/performance.md,
 * "`nsbox run` start-up"), of no use to a process that is about to end. {@link exitProcess}
 * keeps process.exit()'s steps — the 'exit' event, `process.exitCode` — and ends the process
 * with _exit(2) instead (csrc/process_exit.cc; C stdio flushed first).
 *
 * Neither may drop output: Node writes stdout and stderr synchronously to files and terminals,
 * but to a pipe only until it is full (64 kB unread), then queues the rest, which
 * process.exit() loses (`nsbox network ls | slow-reader`). So the bins first wait until what
 * they wrote has left ({@link exitWhenWritten}); the streams are watched from the bin's start
 * ({@link watchStdio}) without being made, since making process.stdout is itself a cold path
 * (~0.3 ms) that a plain `nsbox run` never takes.
 *
 * Node's teardown is kept when something may need it: a worker thread, an exit status outside
 * 0..255, Node options (`--cpu-prof`, `--prof` and the diagnostic report write at teardown;
 * any `process.execArgv` or `NODE_OPTIONS` counts) or V8 coverage (`NODE_V8_COVERAGE`).
 * @internal
 * @module
 */
import { native } from './native.js';

type ExitingProcess = NodeJS.Process & { reallyExit(code: number): never };

/** process.stdout and process.stderr, once something has asked for them. */
const used = new Set<NodeJS.WriteStream>();

/**
 * Notes process.stdout or process.stderr the first time anything asks for it (process's own
 * lazy getter, wrapped; the stream is made as before). Idempotent.
 * @internal
 */
export function watchStdio(): void {
  for (const name of ['stdout', 'stderr'] as const) {
    const d = Object.getOwnPropertyDescriptor(process, name);
    if (!d?.get || !d.configurable || (d.get as { nsboxWatched?: true }).nsboxWatched) continue;
    const get = d.get;
    const watched = Object.assign(
      function (this: NodeJS.Process) {
        const s = get.call(this) as NodeJS.WriteStream;
        used.add(s);
        return s;
      },
      { nsboxWatched: true as const },
    );
    Object.defineProperty(process, name, { ...d, get: watched });
  }
}

/** Whether this process may end without Node's teardown (see the module's comment). */
function teardownNeeded(): boolean {
  return !native.onProcessMainThread() || process.execArgv.length > 0 || !!process.env.NODE_OPTIONS || !!process.env.NODE_V8_COVERAGE;
}

/**
 * process.exit(status), ending with _exit(2) when nothing needs Node's teardown. Only for a
 * bin's last step: nothing after it runs, and a library must never call it.
 * @internal
 */
export function exitProcess(status: number): never {
  if (teardownNeeded()) return process.exit(status);
  const proc = process as ExitingProcess & { _exiting?: boolean };
  const reallyExit = proc.reallyExit;
  const end = (code: number): never =>
    Number.isInteger(code) && code >= 0 && code <= 255 ? native.exitNow(code) : reallyExit.call(proc, code);
  // An 'exit' listener that calls process.exit() itself ends here too.
  proc.reallyExit = end;
  // process.exit()'s own steps, without its first call in a process (~0.2 ms of Node's code
  // compiled for it, against 0.04 ms for these): the status, the 'exit' event once, then the
  // status as the listeners left it.
  process.exitCode = status;
  if (!proc._exiting) {
    proc._exiting = true;
    process.emit('exit', status);
  }
  return end(Number(process.exitCode ?? status));
}

/**
 * {@link exitProcess}(status) once every write to a watched stdio stream has left the process
 * (a full pipe drained by its reader, however long that takes, as a process blocked in
 * write(2) would wait; a reader that has gone ends the stream, and the wait); at once if
 * nothing is queued.
 * @internal
 */
export function exitWhenWritten(status: number): void {
  // Polled: 'drain' comes only after a write() that returned false, not for a short write
  // queued behind a full pipe.
  if (![...used].some((s) => s.writableLength > 0 && !s.destroyed)) exitProcess(status);
  setTimeout(() => exitWhenWritten(status), 1);
}
