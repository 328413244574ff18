// cgroup v2 controllers proven by their effect, in a pure cgroup v2 guest (scripts/guest-tests.sh
// runs this with `node --test` inside scripts/vm-run, as root, in the root cgroup with
// every controller enabled). Lean on purpose: the guest is emulated, Node runs 20-60x slower.
// Outside such a guest (no memory/pids/cpu/cpuset in cgroup v2, or not root) every test skips
// with the reason.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createCgroup, findCgroup2, spawn } from '../../dist/index.js';

// The system python: a pyenv shim would fork itself (and count against pids.max).
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const WANT = ['memory', 'pids', 'cpu', 'cpuset', 'io'];
const v2 = findCgroup2();
const missing = v2 === null ? WANT : WANT.filter((c) => !v2.controllers.includes(c));
const skip =
  process.geteuid() !== 0
    ? 'needs root'
    : missing.length
      ? `cgroup v2 here lacks ${missing.join(', ')} (run in the guest: scripts/guest-tests.sh)`
      : false;

let parent;
before(async () => {
  if (skip) return;
  parent = await createCgroup(`nsbox-guest-${randomBytes(4).toString('hex')}`, { controllers: WANT });
});
after(async () => {
  if (!parent) return;
  const dir = parent.directory;
  await parent.remove({ recursive: true });
  assert.equal(existsSync(dir), false);
});

/** Runs a program in `cg` (placed by CLONE_INTO_CGROUP) and collects its output and exit. */
async function run(cg, command, args) {
  const child = spawn(command, args, { cgroup: cg, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const closed = new Promise((r) => child.once('close', r));
  const { code, signal } = await child.exited;
  await closed;
  return { code, signal, stdout, stderr };
}

test('memory.max OOM-kills a process that allocates past it; events(memory) reports oom_kill', { skip }, async () => {
  const limits = { memory: { max: '32M' } };
  if (existsSync(`${parent.directory}/memory.swap.max`)) limits.memory.swapMax = 0;
  const cg = await createCgroup(`${parent.directory}/mem`, { limits });
  assert.equal(readFileSync(`${cg.directory}/memory.max`, 'utf8').trim(), String(32 << 20));
  assert.deepEqual(cg.limits().memory.max, 32 << 20);
  const events = cg.events('memory');
  assert.equal((await events.next()).value.oomKill, 0);
  const r = await run(cg, PY, ['-c', "b = b'x' * (200 << 20)"]);
  assert.equal(r.signal, 'SIGKILL');
  let e;
  for await (e of events) if (e.oomKill >= 1) break;
  assert.ok(e.oomKill >= 1);
  const stats = cg.memoryStats();
  assert.ok(stats.events.oomKill >= 1);
  if (stats.peak !== undefined) assert.ok(stats.peak <= 32 << 20);
  await cg.remove();
});

test('pids.max stops a fork bomb: fork fails with EAGAIN inside, pids.events counts it', { skip }, async () => {
  const cg = await createCgroup(`${parent.directory}/pids`, { limits: { pids: { max: 5 } } });
  const bomb = [
    'import os, errno, time',
    'n = 0',
    'try:',
    '    while n < 100:',
    '        if os.fork() == 0:',
    '            os.close(1); os.close(2); time.sleep(60); os._exit(0)',
    '        n += 1',
    'except OSError as e:',
    '    print(errno.errorcode[e.errno], n, flush=True)',
    'os._exit(0)',
  ].join('\n');
  const r = await run(cg, PY, ['-c', bomb]);
  assert.equal(r.stdout.trim(), 'EAGAIN 4', `stderr: ${r.stderr}`);
  const s = cg.pidsStats();
  assert.equal(s.max, 5);
  assert.equal(s.current, 4); // the sleeping children
  assert.ok(s.events.max >= 1);
  await cg.remove(); // kills the children
});

test('cpu.max throttles: throttled_usec grows and the CPU time obtained drops', { skip }, async () => {
  const slow = await createCgroup(`${parent.directory}/slow`, { limits: { cpu: { max: { quota: 10000, period: 100000 } } } });
  const fast = await createCgroup(`${parent.directory}/fast`);
  assert.deepEqual(slow.limits().cpu.max, { quota: 10000, period: 100000 });
  // The same busy loop in both, side by side for 1.5 s (two vCPUs).
  const spin = (cg) => spawn('sh', ['-c', 'while :; do :; done'], { cgroup: cg, stdio: 'ignore' });
  const a = spin(slow);
  const b = spin(fast);
  await new Promise((r) => setTimeout(r, 1500));
  const [s, f] = [slow.cpuStats(), fast.cpuStats()];
  a.kill('SIGKILL');
  b.kill('SIGKILL');
  await Promise.all([a.exited, b.exited]);
  assert.ok(s.nrThrottled > 0, `nr_throttled ${s.nrThrottled}`);
  assert.ok(s.throttledUsec > 0, `throttled_usec ${s.throttledUsec}`);
  assert.ok(s.usageUsec < f.usageUsec / 2, `throttled ${s.usageUsec} µs vs unthrottled ${f.usageUsec} µs`);
  await slow.remove();
  await fast.remove();
});

test("cpuset pins: the process sees only the cgroup's CPUs", { skip }, async () => {
  const cpus = readFileSync(`${parent.directory}/cpuset.cpus.effective`, 'utf8').trim();
  const last = cpus.split(/[,-]/).at(-1);
  const cg = await createCgroup(`${parent.directory}/pin`, { limits: { cpuset: { cpus: last, mems: '0' } } });
  const r = await run(cg, 'cat', ['/proc/self/status']);
  assert.equal(/^Cpus_allowed_list:\s*(.*)$/m.exec(r.stdout)[1], last);
  assert.equal(cg.limits().cpuset.cpus, last);
  await cg.remove();
});

test('spawn({ cgroup }) is inside from the first instruction, in a leaf with every controller', { skip }, async () => {
  const cg = await createCgroup(`${parent.directory}/leaf`);
  const r = await run(cg, 'cat', ['/proc/self/cgroup']);
  assert.equal(r.stdout.trim(), `0::${cg.path}`);
  await cg.remove();
});

test('a PSI memory trigger fires when memory.high throttles an allocating process', { skip }, async () => {
  const limits = { memory: { high: '16M' } };
  if (existsSync(`${parent.directory}/memory.swap.max`)) limits.memory.swapMax = 0;
  const cg = await createCgroup(`${parent.directory}/psi`, { limits });
  const trigger = cg.pressureTrigger('memory', { stall: 'some', thresholdUs: 50_000, windowUs: 1_000_000 });
  const child = spawn(PY, ['-c', "b = b'x' * (48 << 20)\nimport time\ntime.sleep(30)"], { cgroup: cg, stdio: 'ignore' });
  const ev = await trigger.next();
  assert.equal(ev.done, false);
  assert.ok(ev.value.pressure.some.total > 0);
  await trigger.return();
  child.kill('SIGKILL');
  await child.exited;
  await cg.remove();
});

test('io.max limits read throughput on a null_blk device; io.stat counts the bytes', { skip }, async (t) => {
  try {
    execFileSync('modprobe', ['null_blk'], { stdio: 'ignore' });
  } catch {
    t.skip('null_blk cannot be loaded here');
    return;
  }
  const device = readFileSync('/sys/block/nullb0/dev', 'utf8').trim();
  const slow = await createCgroup(`${parent.directory}/io-slow`, { limits: { io: { max: [{ device, rbps: '1M' }] } } });
  const fast = await createCgroup(`${parent.directory}/io-fast`);
  assert.deepEqual(slow.limits().io.max, [{ device, rbps: 1 << 20, wbps: 'max', riops: 'max', wiops: 'max' }]);
  const read = async (cg) => {
    const t0 = process.hrtime.bigint();
    const r = await run(cg, 'dd', ['if=/dev/nullb0', 'of=/dev/null', 'bs=1M', 'count=3', 'iflag=direct']);
    assert.equal(r.code, 0, r.stderr);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const tFast = await read(fast);
  const tSlow = await read(slow);
  // 3 MiB at 1 MiB/s: about 2 s or more after the first allowance; unthrottled: instant. The
  // throttle's wait is compared, not a ratio: under emulation on a loaded host, starting dd
  // alone has taken 3.8 s.
  assert.ok(tSlow > 1.5, `throttled read took ${tSlow} s`);
  assert.ok(tSlow - tFast > 1, `throttled ${tSlow} s vs unthrottled ${tFast} s`);
  const st = slow.ioStats().find((d) => d.device === device);
  assert.ok(st && st.rbytes >= 3 << 20, `io.stat: ${JSON.stringify(st)}`);
  await slow.remove();
  await fast.remove();
  execFileSync('rmmod', ['null_blk'], { stdio: 'ignore' });
});

test('nsbox run --memory 32M --pids 16 --cpus 0.5: limits applied, OOM kill is 137, no cgroup left', { skip }, async () => {
  const cli = new URL('../../dist/nsbox-cli/nsbox.cjs', import.meta.url).pathname; // package.json's bin
  const nsbox = (...args) =>
    execFileSync(process.execPath, [cli, 'run', '--cgroup-parent', parent.directory, '--namespaces', 'none', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const out = nsbox(
    '--memory',
    '32M',
    '--pids',
    '16',
    '--cpus',
    '0.5',
    '--',
    'sh',
    '-c',
    'd=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup); cat $d/memory.max $d/pids.max $d/cpu.max',
  );
  assert.deepEqual(out.trim().split('\n'), [String(32 << 20), '16', '50000 100000']);
  let status;
  try {
    nsbox('--memory', '32M', '--', PY, '-c', "b = b'x' * (200 << 20)");
  } catch (err) {
    status = err.status;
  }
  assert.equal(status, 137);
  assert.deepEqual(
    parent.children().filter((c) => c.path.includes('nsbox-run-')),
    [],
  );
});
