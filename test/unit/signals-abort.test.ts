// Signals and aborts, without privileges: an unknown `killSignal` (0 included, which would make
// `timeout` kill nothing) is ERR_UNKNOWN_SIGNAL as child_process throws it, before any syscall;
// a pid out of range names the option at fault; every `signal` option fails with the one
// AbortError shape (Node's); and every code nsbox throws is in its error-code type and docs.
import { spawn as cpSpawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, test, vi, type MockInstance } from 'vitest';
import { NSBOX_ERROR_CODES, abortError } from '../../src/errors.js';
import { native } from '../../src/native.js';
import { spawn } from '../../src/namespaces/index.js';
import { watchMounts } from '../../src/fs/index.js';
import { events } from '../../src/net/index.js';

let spawnSpy: MockInstance;
beforeEach(() => {
  spawnSpy = vi.spyOn(native, 'spawn');
});
afterEach(() => {
  spawnSpy.mockRestore();
});

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('did not throw');
}

describe('killSignal', () => {
  test.each([0, -1, 65, 1.5, NaN, 'SIGNOPE', 'sigterm', 'constructor', '', {}, null])(
    '%s is ERR_UNKNOWN_SIGNAL before any syscall',
    (sig) => {
      const err = thrown(() => spawn('true', { killSignal: sig as never, timeout: 1000 }));
      expect(err).toBeInstanceOf(TypeError);
      expect(err.code).toBe('ERR_UNKNOWN_SIGNAL');
      expect(spawnSpy).not.toHaveBeenCalled();
    },
  );

  test('child_process is the witness: it throws the same code for the same values', () => {
    for (const sig of [0, 65, 'SIGNOPE']) {
      expect(thrown(() => cpSpawn('true', { killSignal: sig as never })).code, String(sig)).toBe('ERR_UNKNOWN_SIGNAL');
    }
  });
});

describe('join pids', () => {
  test.each([
    ['net', 4_194_305],
    ['net', 0],
    ['uts', -1],
    ['ipc', 1.5],
  ] as const)('join.%s = %s is ERR_OUT_OF_RANGE naming options.join.<type>, not options.pid', (t, pid) => {
    const err = thrown(() => spawn('true', { join: { [t]: pid } }));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.code).toBe('ERR_OUT_OF_RANGE');
    expect(err.message).toContain(`"options.join.${t}"`);
    expect(spawnSpy).not.toHaveBeenCalled();
  });
});

describe('AbortError', () => {
  test("is Node's shape: name AbortError, code ABORT_ERR, the reason as cause", async () => {
    const reason = new Error('enough');
    const ours = abortError(AbortSignal.abort(reason));
    // Node's own, from events.once with an aborted signal.
    const { EventEmitter, once } = await import('node:events');
    const theirs = await once(new EventEmitter(), 'x', { signal: AbortSignal.abort(reason) }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(ours).toBeInstanceOf(Error);
    for (const e of [ours, theirs!]) expect(e).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: reason });
    expect(Object.keys(ours)).toEqual(Object.keys(theirs!));
    expect(ours.stack!.split('\n')[0]).toBe(theirs!.stack!.split('\n')[0]);
  });

  test('spawn, watchMounts and events() all throw it for an already aborted signal', () => {
    const reason = new Error('stop');
    const signal = AbortSignal.abort(reason);
    for (const fn of [() => spawn('true', { signal }), () => watchMounts('self', { signal }), () => events({ signal })]) {
      expect(thrown(fn)).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: reason });
    }
    expect(spawnSpy).not.toHaveBeenCalled();
  });

  test('a pending watchMounts next() rejects with it when the signal aborts', async () => {
    const ac = new AbortController();
    const it = watchMounts('self', { signal: ac.signal });
    const pending = it.next();
    const reason = new Error('later');
    ac.abort(reason);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: reason });
  });

  test('a pending events() next() rejects with it when the signal aborts', async () => {
    const ac = new AbortController();
    const it = events({ signal: ac.signal });
    const pending = it.next();
    ac.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: ac.signal.reason });
  });
});

describe('error codes', () => {
  test('the NsboxErrorCode type lists exactly the codes docs/errors.md documents', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## The `ERR_*` codes'), doc.indexOf('## Which function throws which SysError'));
    const documented = new Set([...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!));
    expect([...documented].sort()).toEqual([...NSBOX_ERROR_CODES].sort());
    expect(NSBOX_ERROR_CODES).toEqual(expect.arrayContaining(['ABORT_ERR', 'ERR_UNKNOWN_SIGNAL']));
  });
});
