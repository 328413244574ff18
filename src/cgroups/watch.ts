/**
 * Event-loop driven waiting on cgroupfs files: a promise that settles when an events file
 * says something, and an async iterator of changes. Both sit on csrc/filewatch.cc (POLLPRI on
 * the file's fd through libuv); no timers.
 * @internal
 * @module
 */
import { constants as osConstants } from 'node:os';
import { SysError, abortError } from '../errors.js';
import { native, type NativeFileWatch } from '../native.js';
import { EventQueue } from '../queue.js';
import { cgError, readCg, type CgroupLocation } from './files.js';

const { ENODEV } = osConstants.errno;

function openWatch(
  cg: CgroupLocation,
  file: string,
  trigger: string | null,
  on: (text: string | null, errno: number) => void,
): NativeFileWatch {
  const path = `${cg.directory}/${file}`;
  try {
    return new native.FileWatch(path, trigger, on);
  } catch (cause) {
    if (cause instanceof SysError) {
      const err = new SysError(cause.errno, cause.syscall, { path, cgroup: cg.path });
      throw err;
    }
    throw cgError(cause, path, cg);
  }
}

/**
 * Resolves once `test(text of file)` is true: the file is watched first, then read, so a
 * change between the two is never missed. Rejects if the file cannot be read (e.g. the cgroup
 * was removed: ENODEV).
 * @internal
 */
export function waitFor(cg: CgroupLocation, file: string, test: (text: string) => boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const w = openWatch(cg, file, null, (text, errno) => {
      if (settled) return;
      if (errno !== 0) settle(new SysError(errno, 'read', { path: `${cg.directory}/${file}`, cgroup: cg.path }));
      else if (test(text!)) settle();
    });
    function settle(err?: unknown): void {
      settled = true;
      w.close();
      if (err === undefined) resolve();
      else reject(err);
    }
    try {
      if (test(readCg(cg, file))) settle();
    } catch (err) {
      settle(err);
    }
  });
}

/**
 * An async iterator over a watched file. `map` turns each notification into a value to
 * yield (or undefined to skip it). Ends when the file goes away (the cgroup was removed),
 * on return(), or on abort (rejecting a pending next() with an AbortError).
 * @internal
 */
export class WatchIterator<T> implements AsyncIterableIterator<T> {
  #watch: NativeFileWatch | undefined;
  #queue = new EventQueue<T>(() => this.#watch, 1024);
  #signal: AbortSignal | undefined;
  #onAbort = (): void => this.#finish(abortError(this.#signal!));

  /** @param initial - values to yield first (a snapshot read after the watch was set up). */
  constructor(
    cg: CgroupLocation,
    file: string,
    trigger: string | null,
    map: (text: string | null) => T | undefined,
    signal?: AbortSignal,
    initial?: () => T | undefined,
  ) {
    if (signal?.aborted) throw abortError(signal);
    this.#watch = openWatch(cg, file, trigger, (text, errno) => {
      if (errno === ENODEV) return this.#finish();
      if (errno !== 0)
        return this.#finish(new SysError(errno, trigger === null ? 'read' : 'poll', { path: `${cg.directory}/${file}`, cgroup: cg.path }));
      let v: T | undefined;
      try {
        v = map(text);
      } catch (err) {
        return this.#finish(err);
      }
      if (v !== undefined) this.#queue.push(v);
    });
    try {
      const first = initial?.();
      if (first !== undefined) this.#queue.push(first);
    } catch (err) {
      this.#watch.close();
      throw err;
    }
    // Keeps the process alive only while a next() is pending, as an awaited promise should;
    // an iterator left alone does not hold the event loop open.
    this.#watch.ref(false);
    this.#signal = signal;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  #finish(err?: unknown): void {
    if (!this.#queue.finish(err)) return;
    this.#watch?.close();
    this.#watch = undefined;
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }

  /** The next value; waits in the event loop. */
  next(): Promise<IteratorResult<T>> {
    return this.#queue.next();
  }

  /** Stops watching (closes the fd); later next() calls report done. */
  return(): Promise<IteratorResult<T>> {
    this.#queue.clear();
    this.#finish();
    this.#queue.clear();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
