// The docs' examples that need cgroup v2 controllers a hybrid host lacks (`<!-- example: run
// cgroup2=… -->`, docs/ci.md), run here in the pure cgroup v2 guest exactly as
// test/integration/doc-examples.test.ts runs the others on the host: in its own process group,
// from a scratch project whose node_modules/nsbox is this repository, its exit status and stated
// output asserted, and no cgroup left behind. Outside such a guest each skips with the reason.
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { findCgroup2 } from '../../dist/index.js';
import { docBlocks, makeScratch, outputMatches, runBlock } from '../helpers/doc-examples.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const v2 = findCgroup2();
// Node runs 20-60x slower under the guest's emulation: a block's timeout is scaled up.
const SLOWDOWN = 15;

/** The v2 cgroup directories (3 levels), to see what an example left behind. */
function cgroups(dir = v2.mountPoint, depth = 3, out = []) {
  if (depth === 0) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    out.push(`${dir}/${e.name}`);
    cgroups(`${dir}/${e.name}`, depth - 1, out);
  }
  return out;
}

let scratch;
before(() => {
  scratch = makeScratch(root);
});
after(() => rmSync(scratch, { recursive: true, force: true }));

const blocks = docBlocks(root).filter((b) => b.marker?.kind === 'run' && b.marker.cgroup2 !== undefined);

test('the docs have examples that need cgroup v2 controllers (else this file has nothing to run)', () => {
  assert.ok(blocks.length > 0);
});

for (const block of blocks) {
  const m = block.marker;
  const missing = v2 === null ? m.cgroup2 : m.cgroup2.filter((c) => !v2.controllers.includes(c));
  const skip =
    m.root && process.geteuid() !== 0
      ? 'needs root'
      : missing.length > 0
        ? `cgroup v2 here lacks ${missing.join(', ')} (run in the guest: scripts/guest-tests.sh)`
        : false;
  test(`${block.file}:${block.line} (${block.lang}, cgroup2=${m.cgroup2.join(',')})`, { skip }, async () => {
    const before = new Set(cgroups());
    const r = await runBlock(scratch, block, m.timeout * SLOWDOWN);
    const where = `--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
    assert.equal(r.timedOut, false, `timed out\n${where}`);
    assert.deepEqual({ code: r.code, signal: r.signal }, { code: m.exit, signal: null }, where);
    const expected = block.output?.code ?? '';
    assert.ok(outputMatches(expected, r.stdout), `stdout is not the stated output\n--- expected\n${expected}${where}`);
    assert.deepEqual(
      cgroups().filter((d) => !before.has(d)),
      [],
      'cgroups left behind',
    );
  });
}
