/**
 * The machinery behind {@link events} and {@link nftEvents}: a netlink socket joined to
 * multicast groups in a chosen namespace, its messages decoded into a queue read as an async
 * iterator that also closes on `close()`, `Symbol.dispose` or an AbortSignal.
 * @internal
 * @module
 */
import { abortError, invalidArgType } from '../errors.js';
import { RtnlSocket } from './netlink/socket.js';
import type { NlMessage } from './netlink/wire.js';
import { holdNetns } from './target.js';
import type { NetnsOptions } from './types.js';

/** Options of an event listener: where, and a signal that ends it. */
export interface MonitorOptions extends NetnsOptions {
  /** Ends the iteration: a waiting `next()` rejects with an `AbortError`, the socket closes. */
  signal?: AbortSignal;
}

/** An async iterator of events that also closes on `close()` and `Symbol.dispose`. */
export interface MonitorIterator<T> extends AsyncIterableIterator<T> {
  /** Stops listening and closes the socket; waiting `next()` calls end. Idempotent. */
  close(): void;
  /** Same as `close()`. */
  [Symbol.dispose](): void;
}

/**
 * Opens the socket (validating `options` first) and returns the iterator. `decode` returns
 * undefined for a message that is not an event; a throw ends the iteration with that error.
 */
export function monitor<T>(
  options: MonitorOptions,
  groups: number,
  protocol: number | undefined,
  decode: (m: NlMessage) => T | undefined,
): MonitorIterator<T> {
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  const { netns, signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw invalidArgType('options.signal', 'an instance of AbortSignal', signal);
  if (signal?.aborted) throw abortError(signal);
  const queue: T[] = [];
  let failure: Error | undefined;
  let done = false;
  let waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void } | undefined;

  const wake = (): void => {
    if (!waiter) return;
    const w = waiter;
    if (queue.length > 0) {
      waiter = undefined;
      w.resolve({ value: queue.shift()!, done: false });
    } else if (failure) {
      waiter = undefined;
      const f = failure;
      failure = undefined;
      done = true;
      w.reject(f);
    } else if (done) {
      waiter = undefined;
      w.resolve({ value: undefined, done: true });
    }
  };

  const held = holdNetns('options.netns', netns);
  let sock: RtnlSocket;
  try {
    sock = new RtnlSocket(
      held.fd,
      groups,
      (m) => {
        try {
          const e = decode(m);
          if (e !== undefined) queue.push(e);
        } catch (err) {
          failure = err as Error;
          close();
        }
        wake();
      },
      (err) => {
        failure = err;
        close();
        wake();
      },
      protocol,
    );
  } finally {
    held.release();
  }

  const onAbort = (): void => {
    failure = abortError(signal!);
    close();
    wake();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  function close(): void {
    if (sock.closed) return;
    sock.close();
    signal?.removeEventListener('abort', onAbort);
    done = true;
    wake();
  }

  const it: MonitorIterator<T> = {
    next(): Promise<IteratorResult<T>> {
      if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
      if (failure) {
        const f = failure;
        failure = undefined;
        done = true;
        return Promise.reject(f);
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
      });
    },
    return(): Promise<IteratorResult<T>> {
      queue.length = 0;
      failure = undefined;
      close();
      return Promise.resolve({ value: undefined, done: true });
    },
    close,
    [Symbol.dispose]: close,
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}
