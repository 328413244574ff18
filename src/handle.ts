/**
 * The fd-owning part every nsbox handle shares (Namespace, PathHandle, FsContext,
 * DetachedMount): idempotent close(), `Symbol.dispose`, ERR_HANDLE_CLOSED after close, and a
 * FinalizationRegistry that closes a leaked fd and warns — never the release mechanism.
 * @internal
 * @module
 */
import { handleClosed } from './errors.js';
import { native } from './native.js';

/** Internal access to a handle's fd (never part of the public API). @internal */
export const kFd: unique symbol = Symbol('nsbox.fd');

const leaks = new FinalizationRegistry<{ fd: number; what: string }>(({ fd, what }) => {
  try {
    native.close(fd);
  } catch {
    // The fd is gone either way.
  }
  process.emitWarning(
    `A ${what} was garbage-collected without close(); nsbox closed its fd ${fd}. ` +
      'Call close() or use `using` so fds are released when you are done with them.',
    { type: 'NsboxWarning', code: 'NSBOX_LEAKED_HANDLE' },
  );
});

/**
 * Base of every handle that owns a file descriptor.
 * @internal
 */
export abstract class FdHandle implements Disposable {
  #fd: number;
  readonly #what: string;

  /** Takes ownership of `fd`; `what` names the handle in errors and warnings. */
  protected constructor(fd: number, what: string) {
    this.#fd = fd;
    this.#what = what;
    leaks.register(this, { fd, what }, this);
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /** The fd, for nsbox's own modules. Throws ERR_HANDLE_CLOSED after close(). @internal */
  get [kFd](): number {
    if (this.#fd < 0) throw handleClosed(this.#what);
    return this.#fd;
  }

  /** Closes the fd (close(2)). Idempotent; never blocks. */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    leaks.unregister(this);
    native.close(fd);
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
