// Worker threads ending while their nsbox objects are busy: children spawned, mount table
// and netlink socket polled, requests in flight. Nothing may crash the process (a fatal
// N-API error while JS cannot run any more) and no child may be left behind. The stress runs
// in its own Node process so that a crash shows as its exit status, not as a lost test run.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';

const dist = new URL('../../dist/index.js', import.meta.url).href;
const script = `
  import { Worker } from 'node:worker_threads';
  const pids = [];
  for (let i = 0; i < 60; i++) {
    const w = new Worker(\`import { parentPort } from 'node:worker_threads';
      const m = await import(${JSON.stringify(dist)});
      for (let j = 0; j < 3; j++) m.spawn('true', { stdio: 'pipe' });
      const s = m.spawn('sleep', ['60'], { stdio: 'ignore' });
      m.watchMounts().next();
      m.links().catch(() => {});
      parentPort.postMessage(s.pid);\`, { eval: true, type: 'module' });
    pids.push(await new Promise((r, j) => { w.once('message', r); w.once('error', j); }));
    await new Promise((r) => setTimeout(r, i % 3));
    await w.terminate();
  }
  console.log(JSON.stringify(pids));`;

const alive = (pid: number): boolean => {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
};

test('60 workers terminated mid-flight: no crash, every child reaped', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  const pids = JSON.parse(out.trim().split('\n').pop()!) as number[];
  expect(pids).toHaveLength(60);
  expect(pids.filter(alive)).toEqual([]);
}, 150_000);
