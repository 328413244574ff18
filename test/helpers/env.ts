// What the machine and this process can do, and tests that say why they are skipped.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'vitest';

export const isRoot = process.geteuid!() === 0;
export const uid = process.geteuid!();
export const gid = process.getegid!();

/** Whether `cmd` is on PATH (`command -v`). */
export function onPath(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const tools = {
  ip: onPath('ip'),
  nsenter: onPath('nsenter'),
  newuidmap: onPath('newuidmap') && onPath('newgidmap'),
  unshare: onPath('unshare'),
  strace: onPath('strace'),
};

function subidRange(file: string): boolean {
  if (!existsSync(file)) return false;
  const name = (() => {
    try {
      return execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
    } catch {
      return String(uid);
    }
  })();
  return readFileSync(file, 'utf8')
    .split('\n')
    .some((l) => l.startsWith(`${name}:`) || l.startsWith(`${uid}:`));
}

/** This user has /etc/subuid and /etc/subgid ranges (for newuidmap/newgidmap). */
export const hasSubids = subidRange('/etc/subuid') && subidRange('/etc/subgid');

/** Can this process create a user namespace? (probe with unshare(1)) */
export const canUserns = (() => {
  try {
    execFileSync('unshare', ['-U', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * A test that runs only when `ok`; otherwise it is registered as skipped with the reason
 * in its name, so the reporter prints why.
 */
export function testIf(ok: boolean, reason: string): typeof test {
  if (ok) return test;
  const skipped = ((name: string, ...rest: unknown[]) =>
    (test.skip as (n: string, ...r: unknown[]) => void)(`${name} [skipped: ${reason}]`, ...rest)) as unknown as typeof test;
  return skipped;
}

export const rootTest = testIf(isRoot, 'needs root');
export const rootlessTest = testIf(!isRoot, 'runs as an unprivileged user only');
export const usernsTest = testIf(canUserns, 'user namespaces cannot be created here');
