#!/usr/bin/env node
// bench/oci.mjs — the start-up cost of `nsbox-oci state ID` (issue 12's target: at most 1.3×
// `node -e 0`). podman calls the runtime 4–6 times per container, so what a command loads
// before it answers is the figure that matters.
//
// The container is a state record under a temporary --root whose process is a `sleep` this
// script started (status `running`): `state` takes exactly the path it takes for a real
// container (state.json, /proc/PID/stat, the gate path, cgroup.freeze), with no privileges.
// Method: rounds interleave one `node -e 0` and one `node BIN --root R state ID` (BIN: package.json's
// bin, the linked dist/oci-runtime/nsbox-oci.js)
// (spawnSync each, timed from before the spawn to after the exit); medians and the ratio of
// medians are printed, plus `nsbox-oci --version` (no command module) for reference.
// Usage: node bench/oci.mjs [--rounds 40]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({ options: { rounds: { type: 'string', default: '40' } } });
const ROUNDS = Number(opt.rounds);
const cli = join(root, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).bin['nsbox-oci']);

const dir = mkdtempSync(join(tmpdir(), 'nsbox-oci-bench-'));
const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
try {
  const stat = readFileSync(`/proc/${sleeper.pid}/stat`, 'latin1');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  mkdirSync(join(dir, 'b1'), { mode: 0o700 });
  const rec = {
    ociVersion: '1.2.0',
    id: 'b1',
    pid: sleeper.pid,
    startTime: start,
    bundle: dir,
    rootfs: join(dir, 'rootfs'),
    created: new Date().toISOString(),
    owner: 'bench',
    gate: join(dir, 'b1', 'gate'),
    config: { ociVersion: '1.2.0' },
  };
  writeFileSync(join(dir, 'b1', 'state.json'), JSON.stringify(rec));

  const time = (args) => {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
    return { ms, out: r.stdout };
  };
  const check = JSON.parse(time([cli, '--root', dir, 'state', 'b1']).out);
  if (check.status !== 'running') throw new Error(`state says ${check.status}`);
  const runs = { node: [], state: [], version: [] };
  for (let i = 0; i < 3; i++) time(['-e', '0']); // warm the page cache
  for (let i = 0; i < ROUNDS; i++) {
    runs.node.push(time(['-e', '0']).ms);
    runs.state.push(time([cli, '--root', dir, 'state', 'b1']).ms);
    runs.version.push(time([cli, '--version']).ms);
  }
  // The minimum is what a command costs on an idle machine; the median includes whatever
  // else the machine does (other processes compete for the cores).
  const q = (a, p) => [...a].sort((x, y) => x - y)[Math.floor(a.length * p)];
  const row = (label, k) => {
    const [mn, md] = [q(runs[k], 0), q(runs[k], 0.5)];
    const [n0, n5] = [q(runs.node, 0), q(runs.node, 0.5)];
    const ratio = k === 'node' ? '' : `  (${(mn / n0).toFixed(2)}× / ${(md / n5).toFixed(2)}×)`;
    console.log(`  ${label.padEnd(22)}min ${mn.toFixed(1)} ms, median ${md.toFixed(1)} ms${ratio}`);
  };
  console.log(`node ${process.version}, ${ROUNDS} interleaved rounds (ratios to node -e 0: of the minima / of the medians):`);
  row('node -e 0', 'node');
  row('nsbox-oci --version', 'version');
  row('nsbox-oci state ID', 'state');
  console.log('  target: state at most 1.30× node -e 0');
} finally {
  sleeper.kill();
  rmSync(dir, { recursive: true, force: true });
}
