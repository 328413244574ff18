// spawnAsync() against the real kernel: the same isolation and the same errors as spawn, the
// setup's waits (newuidmap/newgidmap, the wait for execve) off the JS thread and bounded.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnAsync, SysError } from '../../src/index.js';
import { native } from '../../src/native.js';
import { checkSpawn, type SpawnOptions } from '../../src/namespaces/options.js';
import { launchAsync } from '../../src/namespaces/spawn-async.js';
import { start } from '../../src/namespaces/spawn.js';
import { canUserns, gid, hasSubids, isRoot, rootTest, testIf, tools, uid } from '../helpers/env.js';
import { childPids, fdCount, output } from '../helpers/proc.js';

const usernsTest = testIf(canUserns, 'user namespaces cannot be created here');
// The first spawnAsync makes libuv's one eventfd for async handles (for the life of the
// loop): made here, so the leak checks below count only what a spawn leaves.
beforeAll(async () => {
  await (await spawnAsync('true', { stdio: 'ignore' })).exited;
});
const dir = mkdtempSync(join(tmpdir(), 'nsbox-spawn-async-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An executable script in the test's directory. */
function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

// Root only: the maps written by `helper` (argv: helper PID inside outside count), as a
// rootless caller's newuidmap/newgidmap would be run, through spawn's own paths.
const helperOptions: SpawnOptions = {
  namespaces: ['user'],
  uidMap: [{ inside: 0, outside: 100000, count: 1000 }],
  gidMap: [{ inside: 0, outside: 100000, count: 1000 }],
};
function withHelper(command: string, args: string[], helper: string[], helperTimeout?: number) {
  const c = checkSpawn(command, args, { ...helperOptions, stdio: ['ignore', 'pipe', 'ignore'] });
  const ranges = ['0', '100000', '1000'];
  c.maps = {
    ...c.maps!,
    mode: 'helper',
    uidHelper: [...helper, ...ranges],
    gidHelper: [...helper, ...ranges],
    ...(helperTimeout ? { helperTimeout } : {}),
  };
  return c;
}
const viaSync = (c: ReturnType<typeof withHelper>) =>
  start(c, (p, c, parent, hook, finish) => finish(native.spawn(p.ops, p.strings, c.maps, parent, hook)));

/** Every failure must leave nothing: no child (helper or sandbox), no fd. */
async function leavesNothing(run: () => Promise<unknown>): Promise<unknown> {
  const children = childPids().length;
  const fds = fdCount();
  let err: unknown;
  try {
    await run();
  } catch (e) {
    err = e;
  }
  expect(childPids()).toHaveLength(children);
  expect(fdCount()).toBe(fds);
  return err;
}

describe('spawnAsync', () => {
  usernsTest('gives the same isolation as spawn: PID 1 of a new pid namespace, its own hostname and uid map', async () => {
    const c = await spawnAsync('sh', ['-c', 'echo $$; hostname; cat /proc/self/uid_map'], {
      namespaces: ['user', 'pid', 'uts'],
      hostname: 'async-box',
    });
    const r = await output(c);
    const [pid, host, map] = r.stdout.trim().split('\n');
    expect(pid).toBe('1');
    expect(host).toBe('async-box');
    expect(map!.trim().split(/\s+/)[0]).toBe('0');
    expect(r.code).toBe(0);
  });

  usernsTest('a failing setup rejects with the same SysError as spawn (step, syscall, code) and leaves nothing', async () => {
    const err = await leavesNothing(() => spawnAsync('/nonexistent/cmd', { namespaces: ['user', 'pid'], stdio: 'pipe' }));
    expect(err).toBeInstanceOf(SysError);
    expect(err).toMatchObject({ step: 'exec', syscall: 'execve', code: 'ENOENT' });
  });

  test('bad options reject with ERR_INVALID_ARG_VALUE before anything is made', async () => {
    const err = await leavesNothing(() => spawnAsync('true', { namespaces: ['nope' as never] }));
    expect(err).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });

  usernsTest('many spawns in flight at once each get their own child, all reaped', async () => {
    const before = childPids().length;
    const children = await Promise.all(
      Array.from({ length: 16 }, (_, i) => spawnAsync('sh', ['-c', `echo ${i}`], { namespaces: ['user', 'pid'] })),
    );
    const outs = await Promise.all(children.map((c) => output(c)));
    expect(outs.map((o) => o.stdout.trim())).toEqual(Array.from({ length: 16 }, (_, i) => String(i)));
    expect(childPids()).toHaveLength(before);
  });

  testIf(!isRoot && canUserns && tools.newuidmap && hasSubids, 'needs an unprivileged user with newuidmap and /etc/subuid ranges')(
    'an unprivileged user gets multi-range maps written by newuidmap/newgidmap, waited for off the JS thread',
    async () => {
      const first = (file: string) => {
        const me = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
        const line = readFileSync(file, 'utf8')
          .split('\n')
          .find((l) => l.startsWith(`${me}:`))!;
        return Number(line.split(':')[1]);
      };
      const [su, sg] = [first('/etc/subuid'), first('/etc/subgid')];
      const c = await spawnAsync('cat', ['/proc/self/uid_map', '/proc/self/gid_map'], {
        namespaces: ['user'],
        uidMap: [
          { inside: 0, outside: uid },
          { inside: 1, outside: su, count: 1000 },
        ],
        gidMap: [
          { inside: 0, outside: gid },
          { inside: 1, outside: sg, count: 1000 },
        ],
      });
      const r = await output(c);
      expect(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => l.trim().split(/\s+/).join(' ')),
      ).toEqual([`0 ${uid} 1`, `1 ${su} 1000`, `0 ${gid} 1`, `1 ${sg} 1000`]);
    },
  );

  testIf(!isRoot && canUserns, 'runs as an unprivileged user only')(
    'a map the user may not write rejects in step idmap (newuidmap, EPERM) and leaves nothing',
    async () => {
      const err = await leavesNothing(() =>
        spawnAsync('true', {
          namespaces: ['user'],
          uidMap: [{ inside: 0, outside: 0 }],
          gidMap: [{ inside: 0, outside: gid }],
          setgroups: 'allow',
        }),
      );
      if (tools.newuidmap) expect(err).toMatchObject({ step: 'idmap', syscall: 'newuidmap', code: 'EPERM' });
      else expect(err).toMatchObject({ code: 'ERR_NSBOX_NO_IDMAP_HELPER' });
    },
  );
});

describe('network', () => {
  rootTest("network.veth's parent side runs from the loop while the child waits; a refused link fails in step network", async () => {
    const name = `nsbxa${process.pid.toString(16).slice(-4)}`;
    const c = await spawnAsync('sh', ['-c', 'ip -o -4 addr show eth0 | awk "{print \\$4}"; read x'], {
      namespaces: ['user', 'pid', 'net'],
      network: { veth: { hostAddress: '10.213.7.1/30', childAddress: '10.213.7.2/30', hostIf: name } },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    try {
      expect(c.veth).toMatchObject({ hostIf: name, childIf: 'eth0' });
      let out = '';
      c.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
      await new Promise<void>((r) => c.stdout!.once('data', () => r()));
      expect(out.trim()).toBe('10.213.7.2/30');
      // The same host name again: RTM_NEWLINK refused while the first child holds it.
      const err = await leavesNothing(() =>
        spawnAsync('true', {
          namespaces: ['user', 'net'],
          network: { veth: { hostAddress: '10.213.8.1/30', childAddress: '10.213.8.2/30', hostIf: name } },
        }),
      );
      expect(err).toMatchObject({ step: 'network', code: 'EEXIST', ifname: name });
    } finally {
      c.stdin!.end('\n');
      await c.exited;
    }
  });
});

describe('id-map helpers', () => {
  rootTest('a failing helper is the same SysError (step idmap, syscall newuidmap, EPERM) from spawn and spawnAsync', async () => {
    for (const run of [viaSync, (c: ReturnType<typeof withHelper>) => start(c, launchAsync)]) {
      const err = await leavesNothing(async () => run(withHelper('true', [], ['/bin/false'])));
      expect(err).toBeInstanceOf(SysError);
      expect(err).toMatchObject({ step: 'idmap', syscall: 'newuidmap', code: 'EPERM' });
      expect((err as SysError).path).toMatch(/^\/proc\/\d+\/uid_map$/);
    }
  });

  rootTest('a hung helper is bounded: killed and reaped at its timeout, ETIMEDOUT in step idmap, nothing left', async () => {
    // sleep(1) sums its arguments: "sleep PID 1000 …" runs for longer than any test.
    for (const run of [viaSync, (c: ReturnType<typeof withHelper>) => start(c, launchAsync)]) {
      const t0 = performance.now();
      const err = await leavesNothing(async () => run(withHelper('true', [], ['/bin/sleep', '1000'], 300)));
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(err).toMatchObject({ step: 'idmap', syscall: 'newuidmap', code: 'ETIMEDOUT' });
    }
  });

  rootTest('the event loop keeps running while a slow helper writes the maps, and the maps are the ones asked for', async () => {
    const helper = script(
      'slow-map',
      // As newuidmap: PID then (inside outside count) triples; the file is the caller's choice.
      'sleep 0.4; pid=$1; shift; f=uid_map; [ -e "$0.uid-done-$pid" ] && f=gid_map; touch "$0.uid-done-$pid"; echo "$@" > /proc/$pid/$f',
    );
    const delay = monitorEventLoopDelay({ resolution: 5 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    delay.enable();
    try {
      const c = await start(withHelper('cat', ['/proc/self/uid_map', '/proc/self/gid_map'], [helper]), launchAsync);
      const r = await output(c);
      expect(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => l.trim().split(/\s+/).join(' ')),
      ).toEqual(['0 100000 1000', '0 100000 1000']);
    } finally {
      delay.disable();
      clearInterval(timer);
    }
    // Two helpers of 0.4 s each: the 10 ms timer kept firing, and no turn of the loop waited
    // anywhere near a helper's run.
    expect(ticks).toBeGreaterThan(30);
    expect(delay.max / 1e6).toBeLessThan(300);
  });

  rootTest('a worker ended while its spawnAsync waits on a helper takes the half-made child with it', async () => {
    const helper = script('hang-map', 'exec sleep 30');
    const { Worker } = await import('node:worker_threads');
    const base = new URL('../../dist/namespaces/', import.meta.url).href;
    const before = childPids().length;
    const w = new Worker(
      `import { parentPort } from 'node:worker_threads';
       const { checkSpawn } = await import(${JSON.stringify(`${base}options.js`)});
       const { start } = await import(${JSON.stringify(`${base}spawn.js`)});
       const { launchAsync } = await import(${JSON.stringify(`${base}spawn-async.js`)});
       const c = checkSpawn('true', [], ${JSON.stringify(helperOptions)});
       c.maps = { ...c.maps, mode: 'helper', uidHelper: [${JSON.stringify(helper)}, '0', '100000', '1000'], gidHelper: [${JSON.stringify(helper)}, '0', '100000', '1000'], helperTimeout: 2000 };
       start(c, launchAsync).catch(() => {});
       parentPort.postMessage('started');`,
      { eval: true, type: 'module' } as never,
    );
    await new Promise((r, j) => {
      w.once('message', r);
      w.once('error', j);
    });
    expect(childPids().length).toBeGreaterThan(before);
    await w.terminate();
    // The teardown killed the child and joined the session thread, which waited out the
    // helper's bound at most: nothing of the spawn is left.
    expect(childPids()).toHaveLength(before);
    expect(readFileSync('/proc/self/status', 'utf8')).toMatch(/Threads:/);
  });
});

describe('teardown', () => {
  usernsTest(
    '40 workers terminated with spawnAsync calls in flight: no crash, every child reaped, no zombie',
    () => {
      const dist = new URL('../../dist/index.js', import.meta.url).href;
      // Each worker starts four spawns it never awaits and one it does (a sleeper), then is
      // terminated at once or a few ms later: setups are cut at every stage (session thread
      // running, result queued, result delivered).
      const script = `
      import { Worker } from 'node:worker_threads';
      import { readdirSync } from 'node:fs';
      const pids = [];
      for (let i = 0; i < 40; i++) {
        const w = new Worker(\`import { parentPort } from 'node:worker_threads';
          const m = await import(${JSON.stringify(dist)});
          for (let j = 0; j < 4; j++) m.spawnAsync('true', { namespaces: ['user', 'pid'], stdio: 'pipe' }).catch(() => {});
          const s = await m.spawnAsync('sleep', ['60'], { namespaces: ['user', 'pid'], stdio: 'ignore' });
          parentPort.postMessage(s.pid);\`, { eval: true, type: 'module' });
        pids.push(await new Promise((r, j) => { w.once('message', r); w.once('error', j); }));
        await new Promise((r) => setTimeout(r, i % 3));
        await w.terminate();
      }
      const children = readdirSync('/proc/self/task').flatMap((t) => {
        try { return (readFileSync('/proc/self/task/' + t + '/children', 'utf8').trim() || null)?.split(' ') ?? []; } catch { return []; }
      });
      console.log(JSON.stringify({ pids, children }));`.replace(
        "import { readdirSync } from 'node:fs';",
        "import { readdirSync, readFileSync } from 'node:fs';",
      );
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
      const { pids, children } = JSON.parse(out.trim().split('\n').pop()!) as { pids: number[]; children: string[] };
      expect(pids).toHaveLength(40);
      const alive = (pid: number) => {
        try {
          return !/^[ZX]$/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0]!);
        } catch {
          return false;
        }
      };
      expect(pids.filter(alive)).toEqual([]);
      expect(children).toEqual([]);
    },
    150_000,
  );
});
