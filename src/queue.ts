/**
 * The queue behind nsbox's async iterators over native events (cgroup file watches, seccomp
 * notifications): values pushed by event callbacks wait for `next()`, pending `next()` calls
 * wait for values, an error reaches the first pending (or the next) `next()` once, and the
 * native handle keeps the event loop alive only while a `next()` is pending.
 * @internal
 * @module
 */

/** What the queue drives on its native handle. @internal */
export interface QueueHandle {
  /** uv_ref/uv_unref of the handle. */
  ref(on: boolean): void;
}

/** @internal */
export class EventQueue<T> {
  #values: T[] = [];
  #waiters: Array<{ resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }> = [];
  #error: unknown;
  #done = false;
  readonly #handle: () => QueueHandle | undefined;
  readonly #limit: number;

  /** `handle()`: the native handle now (undefined once closed); `limit`: values kept while nobody reads (older ones first). */
  constructor(handle: () => QueueHandle | undefined, limit = Number.POSITIVE_INFINITY) {
    this.#handle = handle;
    this.#limit = limit;
  }

  get done(): boolean {
    return this.#done;
  }

  push(v: T): void {
    const w = this.#waiters.shift();
    if (w) w.resolve({ value: v, done: false });
    else if (this.#values.length < this.#limit) this.#values.push(v);
    if (this.#waiters.length === 0) this.#handle()?.ref(false);
  }

  /** Ends the stream (with `err` for the first pending, or next, `next()`). False if it had ended. */
  finish(err?: unknown): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.#error = err;
    const waiters = this.#waiters.splice(0);
    if (waiters.length > 0) this.#error = undefined;
    waiters.forEach((w, i) => {
      if (err === undefined || i > 0) w.resolve({ value: undefined, done: true });
      else w.reject(err);
    });
    return true;
  }

  /** Drops the values not read yet and any error not reported yet. */
  clear(): void {
    this.#values.length = 0;
    this.#error = undefined;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#values.length > 0) return Promise.resolve({ value: this.#values.shift()!, done: false });
    if (this.#done) {
      const err = this.#error;
      this.#error = undefined;
      return err === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(err);
    }
    this.#handle()?.ref(true);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }
}
