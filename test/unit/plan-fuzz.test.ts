// The native plan parser (csrc/plan_parse.cc) against bounded, random and mutated plans, fed
// to native.spawn in a separate Node process (test/helpers/plan-fuzz.mjs), so that a crash
// shows as a signal here. Only typed errors or a SysError-shaped result may come back, and
// no child or fd may be left behind.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const helper = join(import.meta.dirname, '..', 'helpers', 'plan-fuzz.mjs');

// biome-ignore lint/suspicious/noExplicitAny: the helper's JSON report, checked field by field below
function run(...args: string[]): any {
  const r = spawnSync(process.execPath, [helper, ...args], { encoding: 'utf8', timeout: 60_000 });
  expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
  return JSON.parse(r.stdout);
}

describe('the spawn plan parser', () => {
  it('refuses every plan with one word out of bounds (clone flags, fds, signals, ids, counts, modes) with ERR_INVALID_ARG_VALUE', () => {
    const out = run('targeted');
    const entries = Object.entries(out.results as Record<string, string>);
    expect(entries.length).toBeGreaterThan(40);
    expect(entries.filter(([, code]) => code !== 'ERR_INVALID_ARG_VALUE')).toEqual([]);
    expect(out.children).toBe('');
  });

  it.each([1, 2, 3])(
    'seed %i: 10,000 random and mutated plans give typed errors or clean results, leave no child or fd',
    (seed) => {
      const out = run('fuzz', String(seed), '10000');
      expect(out.violations).toEqual([]);
      expect(out.counts.fed).toBeGreaterThan(9000);
      expect(out.counts.rejected).toBeGreaterThan(8000);
      expect(out.counts.ran + out.counts.failed).toBeGreaterThan(50);
    },
    60_000,
  );

  it('a status-protocol failure (the answer to MSG_MAPS cannot be sent) is a failure result, the child killed and reaped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsbox-plan-fuzz-'));
    try {
      const out = run('dead-answer', dir);
      expect(out.result).toMatchObject({ ok: false, step: 0, errno: constants.errno.EPIPE, syscall: 'sendmsg' });
      expect(out.children).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
