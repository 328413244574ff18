// typedoc as the witness that every export is documented (validation.notDocumented, warnings
// as errors in typedoc.json): a missing TSDoc comment fails the suite, not just `npm run docs`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('typedoc finds every export documented and every link valid', () => {
  const out = mkdtempSync(join(tmpdir(), 'nsbox-typedoc-'));
  try {
    let log = '';
    let status = 0;
    try {
      log = execFileSync(process.execPath, [join(root, 'node_modules/typedoc/bin/typedoc'), '--out', out], {
        cwd: root,
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (e) {
      const err = e as { status: number; stdout: string; stderr: string };
      status = err.status;
      log = `${err.stdout}${err.stderr}`;
    }
    expect(log).not.toMatch(/\[warning\]|\[error\]/);
    expect(status).toBe(0);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 120_000);
