/**
 * Waiting for mount-table changes: `watchMounts()`, an async iterator of mountinfo
 * snapshots, driven by the event loop (poll(2) POLLPRI on /proc/PID/mountinfo through
 * libuv), never by a timer or a thread.
 * @module
 */
import { SysError, abortError, invalidArgType, nsboxError } from '../errors.js';
import { native, type NativeFileWatch } from '../native.js';
import { checkPid, readProc, toSysError } from '../procfs.js';
import { parseMountinfo, type MountInfoEntry } from './mountinfo.js';

/** Options of {@link watchMounts}. */
export interface WatchMountsOptions {
  /** Ends the iteration (the pending `next()` rejects with the signal's reason, as `events.on` does). */
  signal?: AbortSignal;
}

/**
 * Watches the mount table of a process: an async iterator that yields a new
 * `mountinfo()` snapshot each time the table changed (a mount, unmount, move or
 * propagation or flag change in its mount namespace) since the call. The kernel raises
 * POLLPRI|POLLERR on an open `/proc/PID/mountinfo` after each change (proc_pid_mountinfo(5));
 * nsbox polls that fd in the event loop and re-reads the file. Changes that happen while the
 * consumer is busy coalesce into one snapshot (the latest), and a change undone before it
 * was read yields nothing. What `findmnt --poll` does.
 *
 * Keeps the event loop alive only while a `next()` is pending. `return()` (or `break` out
 * of `for await`), or aborting `signal`, closes the fd; a pending `next()` then rejects with
 * an `AbortError` (`code` `'ABORT_ERR'`, the signal's reason as `cause`). No privileges
 * needed for one's own processes; does not touch the calling thread.
 * @param pid - whose mount namespace to watch; `'self'` (default) is this process.
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_OUT_OF_RANGE` (pid) before any syscall; `ABORT_ERR`
 *   if `signal` is already aborted; SysError `ENOENT`/`EACCES` (syscall `'open'`, `path`).
 */
export function watchMounts(
  pid: number | 'self' = 'self',
  options: WatchMountsOptions = {},
): AsyncIterableIterator<MountInfoEntry[]> & AsyncDisposable {
  const target = checkPid('pid', pid);
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw invalidArgType('options.signal', 'an instance of AbortSignal', signal);
  if (signal?.aborted) throw abortError(signal);

  let waiter: { resolve: (r: IteratorResult<MountInfoEntry[]>) => void; reject: (e: unknown) => void } | undefined;
  let done = false;
  /** The text last yielded (or seen at the start); a snapshot is yielded only when it differs. */
  let last: string;
  /** A newer text not yet yielded, or the error reading it gave. */
  let pending: { text: string } | { error: unknown } | undefined;
  const path = `/proc/${target}/mountinfo`;
  let watch: NativeFileWatch;
  try {
    // The native watch hands over the table as it read it after the change: no second read.
    watch = new native.FileWatch(path, null, (text, errno) => {
      if (errno !== 0) check({ error: new SysError(errno, 'read', { path, ...(typeof target === 'number' ? { pid: target } : {}) }) });
      else check({ text: text! });
    });
  } catch (err) {
    throw toSysError(err, path, typeof target === 'number' ? target : undefined);
  }
  try {
    last = readProc(target, 'mountinfo');
  } catch (err) {
    watch.close();
    throw err;
  }
  watch.ref(false);
  // libuv adds the fd to epoll at the loop's next poll phase, and the kernel's poll consumes
  // the change it reports (see csrc/filewatch.cc): compare once after that phase has run, so a
  // change made before it is not lost. Two setImmediate hops always span one poll phase.
  setImmediate(() => setImmediate(() => check()));

  function take(): IteratorResult<MountInfoEntry[]> {
    const p = pending!;
    pending = undefined;
    if ('error' in p) {
      finish();
      throw p.error;
    }
    last = p.text;
    return { value: parseMountinfo(p.text), done: false };
  }

  /** A new reading (given by the watch, or read here): pending unless unchanged. */
  function check(reading?: { text: string } | { error: unknown }): void {
    if (done) return;
    if (reading === undefined) {
      try {
        reading = { text: readProc(target, 'mountinfo') };
      } catch (err) {
        reading = { error: err }; // the process went away
      }
    }
    if ('text' in reading && reading.text === last) return; // nothing new (or changed back)
    pending = reading;
    const w = waiter;
    if (w === undefined) return;
    waiter = undefined;
    watch.ref(false);
    try {
      w.resolve(take());
    } catch (err) {
      w.reject(err);
    }
  }

  function finish(): void {
    if (done) return;
    done = true;
    watch.close();
    signal?.removeEventListener('abort', onAbort);
  }

  function onAbort(): void {
    const w = waiter;
    waiter = undefined;
    finish();
    w?.reject(abortError(signal!));
  }
  signal?.addEventListener('abort', onAbort, { once: true });

  const it: AsyncIterableIterator<MountInfoEntry[]> & AsyncDisposable = {
    next(): Promise<IteratorResult<MountInfoEntry[]>> {
      if (done) return Promise.resolve({ value: undefined, done: true });
      if (waiter !== undefined)
        return Promise.reject(nsboxError('ERR_INVALID_ARG_VALUE', 'watchMounts(): next() called while another next() is pending'));
      if (pending !== undefined) {
        try {
          return Promise.resolve(take());
        } catch (err) {
          return Promise.reject(err);
        }
      }
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
        watch.ref(true);
      });
    },
    return(): Promise<IteratorResult<MountInfoEntry[]>> {
      const w = waiter;
      waiter = undefined;
      finish();
      w?.resolve({ value: undefined, done: true });
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
    async [Symbol.asyncDispose]() {
      await it.return!();
    },
  };
  return it;
}
