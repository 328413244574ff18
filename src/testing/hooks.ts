/**
 * How a fixture registers its removal with a test framework, without depending on one.
 * @module
 */
import { invalidArgType } from '../errors.js';

/**
 * Where a fixture registers its removal, so it runs after the test whether it passed or
 * failed: a function that takes a callback (vitest's `onTestFinished`, node:test's
 * `t.after.bind(t)`), a vitest test context (it has `onTestFinished`), or a node:test
 * `TestContext` (it has `after`). Omitted: the caller removes the fixture itself
 * (`await using`, or `remove()` in an `afterEach`).
 */
export type CleanupHook =
  | ((fn: () => Promise<void>) => unknown)
  | {
      /** vitest's test context: registers `fn` to run when the test has finished, passed or failed. */
      onTestFinished(fn: () => Promise<void>): unknown;
    }
  | {
      /** node:test's TestContext: registers `fn` to run after the test, passed or failed. */
      after(fn: () => Promise<void>): unknown;
    };

/** Registers `remove` with `hook` (see {@link CleanupHook}). @internal */
export function register(hook: CleanupHook | undefined, remove: () => Promise<void>): void {
  if (hook === undefined) return;
  if (typeof hook === 'function') hook(remove);
  else if (typeof hook === 'object' && hook !== null && typeof (hook as { onTestFinished?: unknown }).onTestFinished === 'function')
    (hook as { onTestFinished(fn: () => Promise<void>): unknown }).onTestFinished(remove);
  else if (typeof hook === 'object' && hook !== null && typeof (hook as { after?: unknown }).after === 'function')
    (hook as { after(fn: () => Promise<void>): unknown }).after(remove);
  else throw invalidArgType('cleanup', 'a function, a vitest test context or a node:test TestContext', hook);
}

/** Checks a hook before anything is made (so a bad one leaves nothing behind). @internal */
export function checkHook(hook: unknown): CleanupHook | undefined {
  if (hook === undefined) return undefined;
  if (typeof hook === 'function') return hook as CleanupHook;
  if (typeof hook === 'object' && hook !== null) {
    const h = hook as { onTestFinished?: unknown; after?: unknown };
    if (typeof h.onTestFinished === 'function' || typeof h.after === 'function') return hook as CleanupHook;
  }
  throw invalidArgType('cleanup', 'a function, a vitest test context or a node:test TestContext', hook);
}
