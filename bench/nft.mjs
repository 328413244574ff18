#!/usr/bin/env node
// bench/nft.mjs — issue 14 "Performance": publishing a port, rules in place when the call
// returns, against `nft -f` of the same rules from Node:
//   nsbox publishPort      publishPort({ hostPort, protocol, target, targetPort }): an owned
//                          table, a `ports` chain with the DNAT rule, prerouting/output nat
//                          chains jumping to it, postrouting with the hairpin masquerade, one
//                          transaction; the hairpin subnet looked up (RTM_GETROUTE) as by default
//   nsbox, hairpin given   the same with `hairpin: '10.88.0.0/24'` (no route lookup)
//   nsbox, netns option    the same acting on another namespace by name (the socket made by
//                          a dedicated thread inside it)
//   node→nft -f            spawnSync('nft', ['-f', '-'], { input }) with the same table,
//                          chains and rules as text (nft 1.0.6 has no `flags owner`)
//   batch ×100             100 published ports in one transaction: publishPorts() vs nft -f
// Teardown (closing the handle / `nft delete table`) is not timed. Everything runs in a
// private network namespace (the script re-executes itself under `unshare -n`), so the
// host's ruleset is never touched.
//
// Usage: node bench/nft.mjs [--n 30] [--warmup 5]    Needs root, nft, iproute2, a built nsbox.
// It measures; it is not a test.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? def : Number(argv[i + 1]);
};
const N = opt('n', 30);
const WARMUP = opt('warmup', 5);
if (process.geteuid() !== 0) {
  console.error('bench/nft.mjs needs root');
  process.exit(1);
}
if (process.env.NSBOX_BENCH_NETNS !== '1') {
  const r = spawnSync('unshare', ['-n', '--', process.execPath, fileURLToPath(import.meta.url), ...argv], {
    stdio: 'inherit',
    env: { ...process.env, NSBOX_BENCH_NETNS: '1' },
  });
  process.exit(r.status ?? 1);
}

const net = await import(path.join(ROOT, 'dist/net/index.js'));
const now = () => performance.now();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// This private namespace: a bridge with the containers' subnet, so the hairpin lookup finds it.
for (const cmd of ['link set lo up', 'link add br0 type bridge', 'addr add 10.88.0.1/24 dev br0', 'link set br0 up'])
  execFileSync('ip', cmd.split(' '));
const other = `nsbx-bench-${process.pid}`;
execFileSync('ip', ['netns', 'add', other]);
for (const cmd of ['link set lo up', 'link add br0 type bridge', 'addr add 10.88.0.1/24 dev br0', 'link set br0 up'])
  execFileSync('ip', ['-n', other, ...cmd.split(' ')]);

// Outbound NAT in place in both namespaces, as alongside published ports in real use (it also
// keeps conntrack's NAT hooks registered, which the first NAT table of a namespace pays for).
const keep = [await net.masquerade({ subnet: '10.88.0.0/24' }), await net.masquerade({ subnet: '10.88.0.0/24', netns: other })];

const port = (i) => ({ hostPort: 10000 + i, protocol: 'tcp', target: `10.88.0.${2 + (i % 250)}`, targetPort: 80 });
function nftText(table, ports) {
  const dn = (p) => `fib daddr type local tcp dport ${p.hostPort} dnat to ${p.target}:${p.targetPort}`;
  return `table ip ${table} {
  chain ports {
${ports.map((p) => `    ${dn(p)}`).join('\n')}
  }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept; jump ports; }
  chain output { type nat hook output priority -100; policy accept; jump ports; }
  chain postrouting { type nat hook postrouting priority srcnat; policy accept;
    ip saddr 10.88.0.0/24 ip daddr 10.88.0.0/24 ct status dnat masquerade
  }
}
`;
}
function nftF(text) {
  const r = spawnSync('nft', ['-f', '-'], { input: text });
  if (r.status !== 0) throw new Error(`nft -f: ${r.stderr}`);
}

const rows = {
  'nsbox publishPort': async () => {
    const t = now();
    const h = await net.publishPort(port(0));
    const dt = now() - t;
    await h.close();
    return dt;
  },
  'nsbox, hairpin given': async () => {
    const t = now();
    const h = await net.publishPort({ ...port(0), hairpin: '10.88.0.0/24' });
    const dt = now() - t;
    await h.close();
    return dt;
  },
  'nsbox, netns option': async () => {
    const t = now();
    const h = await net.publishPort({ ...port(0), netns: other });
    const dt = now() - t;
    await h.close();
    return dt;
  },
  'node→nft -f': async () => {
    const text = nftText('bench1', [port(0)]);
    const t = now();
    nftF(text);
    const dt = now() - t;
    execFileSync('nft', ['delete', 'table', 'ip', 'bench1']);
    return dt;
  },
  'nsbox batch ×100': async () => {
    const ports = Array.from({ length: 100 }, (_, i) => port(i));
    const t = now();
    const h = await net.publishPorts({ ports, hairpin: '10.88.0.0/24' });
    const dt = now() - t;
    await h.close();
    return dt;
  },
  'node→nft -f batch ×100': async () => {
    const text = nftText(
      'bench100',
      Array.from({ length: 100 }, (_, i) => port(i)),
    );
    const t = now();
    nftF(text);
    const dt = now() - t;
    execFileSync('nft', ['delete', 'table', 'ip', 'bench100']);
    return dt;
  },
};

const samples = Object.fromEntries(Object.keys(rows).map((k) => [k, []]));
try {
  for (let i = 0; i < WARMUP + N; i++) {
    // Rows alternate within a round so load on this shared machine hits each alike.
    for (const [name, fn] of Object.entries(rows)) {
      const dt = await fn();
      if (i >= WARMUP) samples[name].push(dt);
    }
  }
} finally {
  for (const h of keep) await h.close();
  execFileSync('ip', ['netns', 'del', other]);
}
const left = execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).trim();
if (left !== '') throw new Error(`rules left behind:\n${left}`);

const result = { date: new Date().toISOString(), host: os.hostname(), cpus: os.cpus().length, kernel: os.release(), n: N, rows: {} };
console.log(`nf_tables, N=${N} (median / p90 ms)`);
for (const [name, xs] of Object.entries(samples)) {
  const s = [...xs].sort((a, b) => a - b);
  const med = median(xs);
  const p90 = s[Math.floor(s.length * 0.9)];
  result.rows[name] = { median: med, p90 };
  console.log(`  ${name.padEnd(26)} ${med.toFixed(3).padStart(8)}  ${p90.toFixed(3).padStart(8)}`);
}
const r = result.rows;
const ratio = r['node→nft -f'].median / r['nsbox publishPort'].median;
console.log(
  `  publishPort vs nft -f: ${ratio.toFixed(1)}× (target ≥ 20×); batch of 100: ${r['nsbox batch ×100'].median.toFixed(2)} ms (target < 5 ms)`,
);
const out = path.join(HERE, 'results', `nft-${result.date.replace(/[:.]/g, '').slice(0, 17)}Z.json`);
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
