/**
 * The bins' exit: process.exit() without Node's teardown.
 *
 * process.exit() runs the 'exit' listeners and then `process.reallyExit()`, which stops Node's
 * platform (joining V8's worker threads and libuv's pool), runs atexit handlers and C++ static
 * destructors before exit(3): ~0.9 ms of every short `nsbox` command (docs/performance.md,
 * "`nsbox run` start-up"), of no use to a process that is about to end. {@link exitProcess}
 * keeps process.exit()'s steps — the 'exit' event, `process.exitCode` — and ends the process
 * with _exit(2) instead (csrc/process_exit.cc; C stdio flushed first). What it drops is what
 * process.exit() drops too: a write still queued in a stream (Node writes stdout and stderr
 * synchronously on Linux, whether a file, a pipe or a terminal).
 *
 * Node's teardown is kept when something may need it: a worker thread, an exit status outside
 * 0..255, Node options (`--cpu-prof`, `--prof` and the diagnostic report write at teardown;
 * any `process.execArgv` or `NODE_OPTIONS` counts) or V8 coverage (`NODE_V8_COVERAGE`).
 * @internal
 * @module
 */
import { native } from './native.js';

type ExitingProcess = NodeJS.Process & { reallyExit(code: number): never };

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
  if (!teardownNeeded()) {
    const proc = process as ExitingProcess;
    const reallyExit = proc.reallyExit;
    proc.reallyExit = (code: number): never =>
      Number.isInteger(code) && code >= 0 && code <= 255 ? native.exitNow(code) : reallyExit.call(proc, code);
  }
  return process.exit(status);
}
