/**
 * Waiting for mount-table changes: `watchMounts()`, an async iterator of mountinfo
 * snapshots, driven by the event loop (poll(2) POLLPRI on /proc/PID/mountinfo through
 * libuv), never by a timer or a thread.
 * @module
 */
import { nsboxError, invalidArgType } from '../errors.js';
import { native, type NativeMountWatch } from '../native.js';
import { checkPid, toSysError, type ProcTarget } from '../procfs.js';
import { mountinfo, type MountInfoEntry } from './mountinfo.js';

/** Options of {@link watchMounts}. */
export interface WatchMountsOptions {
  /** Ends the iteration (the pending `next()` rejects with the signal's reason, as `events.on` does). */
  signal?: AbortSignal;
}

/**
 * Watches the mount table of a process: an async iterator that yields a new
 * {@link mountinfo} snapshot each time the table changed (a mount, unmount, move or
 * propagation or flag change in its mount namespace). The kernel raises POLLPRI|POLLERR on
 * an open `/proc/PID/mountinfo` after each change (proc_pid_mountinfo(5)); nsbox polls that
 * fd in the event loop and re-reads the file. Changes that happen while the consumer is busy
 * coalesce into one snapshot. What `findmnt --poll` does.
 *
 * Keeps the event loop alive only while a `next()` is pending. `return()` (or `break` out
 * of `for await`), or aborting `signal`, closes the fd. No privileges needed for one's own
 * processes; does not touch the calling thread.
 * @param pid - whose mount namespace to watch; `'self'` (default) is this process.
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_OUT_OF_RANGE` (pid) before any syscall; SysError
 *   `ENOENT`/`EACCES` (syscall `'open'`, `path`).
 */
export function watchMounts(pid: ProcTarget = 'self', options: WatchMountsOptions = {}): AsyncIterableIterator<MountInfoEntry[]> & AsyncDisposable {
  const target = checkPid('pid', pid);
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgType('options.signal', 'an instance of AbortSignal', signal);
  if (signal?.aborted) throw abortError(signal);

  let changed = false;
  let waiter: { resolve: (r: IteratorResult<MountInfoEntry[]>) => void; reject: (e: unknown) => void } | undefined;
  let done = false;
  const path = `/proc/${target}/mountinfo`;
  let watch: NativeMountWatch;
  try {
    watch = new native.MountWatch(path, onChange);
  } catch (err) {
    throw toSysError(err, path, typeof target === 'number' ? target : undefined);
  }
  watch.ref(false);

  function snapshot(): IteratorResult<MountInfoEntry[]> {
    changed = false;
    return { value: mountinfo(target), done: false };
  }

  function onChange(): void {
    changed = true;
    const w = waiter;
    if (w === undefined) return;
    waiter = undefined;
    watch.ref(false);
    try {
      w.resolve(snapshot());
    } catch (err) {
      // The process went away: its mountinfo is gone; end with the error.
      finish();
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
      if (waiter !== undefined) return Promise.reject(nsboxError('ERR_INVALID_ARG_VALUE', 'watchMounts(): next() called while another next() is pending'));
      if (changed) {
        try {
          return Promise.resolve(snapshot());
        } catch (err) {
          finish();
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

function abortError(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const e = new Error('The operation was aborted');
  e.name = 'AbortError';
  (e as Error & { code: string }).code = 'ABORT_ERR';
  return e;
}
