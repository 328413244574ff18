// The docs' examples, run as a user would run them (docs/ci.md, "Examples in the docs"): each
// `<!-- example: run -->` block of README.md and docs/*.md in its own process, with a timeout,
// in a scratch directory whose node_modules/nsbox links to this repository (so `import 'nsbox'`
// resolves through package.json's exports to dist/, and `npx nsbox` / `nsbox` run dist/cli.js).
// Asserted: the exit status, the stated output (the `output` block after it; none = prints
// nothing), and that it leaves no network namespace, link, mount or cgroup behind.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { findCgroup2, mountinfo } from '../../src/index.js';
import { type RunMarker, docBlocks, makeScratch, outputMatches, runBlock } from '../helpers/doc-examples.mjs';
import { isRoot, testIf } from '../helpers/env.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const nodeMajor = Number(process.versions.node.split('.')[0]);
const v2 = findCgroup2();

/** Why a run block is skipped here, or null when it runs. */
function skipReason(m: RunMarker): string | null {
  if (m.root && !isRoot) return 'needs root';
  if (m.node !== undefined && nodeMajor < m.node) return `needs Node >= ${m.node} (this is ${process.versions.node})`;
  const missing = (m.cgroup2 ?? []).filter((c) => !v2?.controllers.includes(c));
  if (missing.length)
    return `needs the ${missing.join(', ')} controller(s) in cgroup v2 (${v2 ? `${v2.mountPoint} offers: ${v2.controllers.join(' ') || 'none'}` : 'not mounted'}; the guest runs it: scripts/guest-tests.sh)`;
  return null;
}

let scratch: string;
beforeAll(() => {
  scratch = makeScratch(root);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// The rest of the suite runs in parallel and names its objects nsbx…/nsbox-…, and systemd makes
// and removes its units' cgroups (apt-daily.service, session-N.scope) whenever it likes: not
// examples' leaks. Except nsbox-oci's default parent `/nsbox-oci` and what is in it, which an
// example's container makes too: a container there is the suite's only with the runtime
// tests' ids (c-XXXXXXXX…), and the parent only while one of those is in it — so a parent an
// example's `delete` leaves behind, empty, is reported.
const RUNTIME_TEST_ID = /^c-[0-9a-f]{8}/;
const suiteOwn = (s: string, now: ReadonlySet<string>) => {
  // "link NAME", "netns NAME", "mount PATH", "cgroup PATH": the name's parts, without the kind.
  const parts = s.slice(s.indexOf(' ') + 1).split('/');
  const oci = s.startsWith('cgroup ') ? parts.indexOf('nsbox-oci') : -1;
  if (oci >= 0) {
    if (oci === parts.length - 1) return [...now].some((x) => x.startsWith(`${s}/`) && RUNTIME_TEST_ID.test(x.slice(s.length + 1)));
    return RUNTIME_TEST_ID.test(parts[oci + 1]!);
  }
  return parts.some((c) => c.startsWith('nsbx') || c.startsWith('nsbox-') || /\.(slice|scope|service|socket|mount)$/.test(c));
};

function cgroupDirs(dir: string, depth: number, out: string[] = []): string[] {
  if (depth === 0) return out;
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return out;
  }
  for (const e of entries) {
    out.push(`${dir}/${e}`);
    cgroupDirs(`${dir}/${e}`, depth - 1, out);
  }
  return out;
}

/** What an example could leave behind: named netns, links here, mounts here, v2 cgroups. */
function snapshot(): Set<string> {
  const netns = existsSync('/run/netns') ? readdirSync('/run/netns').map((n) => `netns ${n}`) : [];
  const links = readdirSync('/sys/class/net').map((n) => `link ${n}`);
  const mounts = mountinfo().map((m) => `mount ${m.mountPoint}`);
  const cgroups = v2 ? cgroupDirs(v2.mountPoint, 4).map((d) => `cgroup ${d}`) : [];
  return new Set([...netns, ...links, ...mounts, ...cgroups]);
}

const runBlocks = docBlocks(root).filter((b) => b.marker?.kind === 'run');

describe('every run block of README.md and docs/*.md', () => {
  for (const block of runBlocks) {
    const m = block.marker as RunMarker;
    const reason = skipReason(m);
    const name = `${block.file}:${block.line} (${block.lang}${m.root ? ', root' : ''})`;
    testIf(reason === null, reason ?? '')(
      name,
      async () => {
        const before = snapshot();
        const r = await runBlock(scratch, block, m.timeout);
        const where = `${name}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
        expect(r.timedOut, `timed out after ${m.timeout} ms: ${where}`).toBe(false);
        expect({ code: r.code, signal: r.signal }, where).toEqual({ code: m.exit, signal: null });
        const expected = block.output?.code ?? '';
        expect(
          outputMatches(expected, r.stdout),
          `stdout is not the stated output (${block.output ? `${block.file}:${block.output.line}` : 'none: prints nothing'})\n--- expected\n${expected}${where}`,
        ).toBe(true);
        // A leak is what stays: the kernel tears a dead network namespace down (and a veth's
        // host end with it) asynchronously, within milliseconds of the example's exit.
        const leftNow = () => {
          const now = snapshot();
          // /run/netns as a mount point is kept by design, as `ip netns add` keeps it (the
          // suite's global setup unmounts it at the end when it was not one before); the
          // namespaces in it are what would leak.
          return [...now].filter((x) => !before.has(x) && !suiteOwn(x, now) && !x.includes(scratch) && x !== 'mount /run/netns');
        };
        let left = leftNow();
        for (let i = 0; i < 40 && left.length > 0; i++) {
          await new Promise((r) => setTimeout(r, 50));
          left = leftNow();
        }
        expect(left, `left behind by ${name}`).toEqual([]);
      },
      m.timeout + 10_000,
    );
  }
});
