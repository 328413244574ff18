// OCI hooks run by runHooks: the state as JSON on stdin, exactly the hook's args (args[0] as
// argv[0]) and env, in order, stopping at the first failure, SIGKILL after the timeout.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runHooks, type OciState } from '../../src/oci/index.js';
import { childPids } from '../helpers/proc.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsbox-oci-hooks-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const state: OciState = {
  ociVersion: '1.2.0',
  id: 'web1',
  status: 'running',
  pid: 4242,
  bundle: '/b',
  rootfs: '/b/rootfs',
  created: '2026-11-29T00:00:00.000000000Z',
  owner: '',
  annotations: { a: 'b' },
};
const sh = (script: string, extra: object = {}) => ({ path: '/bin/sh', args: ['hook-name', '-c', script], ...extra });

describe('runHooks', () => {
  test('state on stdin, argv[0] and env exactly as given, hooks in order', async () => {
    const out = join(dir, 'order');
    await runHooks(
      {
        poststart: [
          sh(`cat > ${out}; echo >> ${out}; echo "$0 [$FOO] [$HOME]" >> ${out}`, { env: ['FOO=bar'] }),
          sh(`echo second >> ${out}`),
        ],
      },
      'poststart',
      state,
    );
    const [json, line, second] = readFileSync(out, 'utf8').split('\n');
    expect(JSON.parse(json!)).toEqual(state);
    expect(line).toBe('hook-name [bar] []');
    expect(second).toBe('second');
  });

  test('no hooks of that kind: nothing runs', async () => {
    await expect(runHooks(undefined, 'poststop', state)).resolves.toBeUndefined();
    await expect(runHooks({ poststart: [sh('exit 1')] }, 'poststop', state)).resolves.toBeUndefined();
  });

  test('a non-zero exit stops the list: ERR_NSBOX_HOOK_FAILED with its JSON path, status and stderr', async () => {
    const out = join(dir, 'fail');
    const err = await runHooks({ poststop: [sh('true'), sh('echo broken >&2; exit 3'), sh(`touch ${out}`)] }, 'poststop', state).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'ERR_NSBOX_HOOK_FAILED', jsonPath: 'hooks.poststop[1]', path: '/bin/sh', status: 3 });
    expect((err as Error).message).toMatch(/broken$/);
    expect(() => readFileSync(out)).toThrow();
  });

  test('a hook past its timeout is SIGKILLed', async () => {
    const t0 = Date.now();
    await expect(runHooks({ poststart: [sh('sleep 30', { timeout: 1 })] }, 'poststart', state)).rejects.toMatchObject({
      code: 'ERR_NSBOX_HOOK_FAILED',
      signal: 'SIGKILL',
    });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(childPids()).toEqual([]);
  });

  test('createContainer and startContainer need the container (they run in its namespaces); the others refuse it', () => {
    const misuse = expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(() => runHooks({ createContainer: [sh('true')] }, 'createContainer', state)).toThrow(misuse);
    expect(() => runHooks({ poststart: [sh('true')] }, 'poststart', state, { container: { pid: process.pid } })).toThrow(misuse);
    expect(() => runHooks({ startContainer: [] }, 'startContainer', state, { container: { pid: -1 } })).toThrow(misuse);
  });

  test('a hook that cannot be started, and an aborted one', async () => {
    await expect(runHooks({ poststart: [{ path: '/nonexistent/hook' }] }, 'poststart', state)).rejects.toMatchObject({
      code: 'ERR_NSBOX_HOOK_FAILED',
      jsonPath: 'hooks.poststart[0]',
    });
    const ac = new AbortController();
    const p = runHooks({ poststart: [sh('sleep 30')] }, 'poststart', state, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toMatchObject({ code: 'ERR_NSBOX_HOOK_FAILED' });
  });
});
