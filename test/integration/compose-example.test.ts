// examples/compose: up → requests by name and from outside → down, twice (the named volume
// keeps its data), and nothing left. The example runs in a network namespace made here
// ("host", with a veth to "out", the outside world), so the host's firewall is never touched.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect } from 'vitest';
import { isRoot, onPath, testIf, tools } from '../helpers/env.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const compose = join(root, 'examples/compose/compose.mjs');
const has = onPath;
const busybox = ['/usr/bin/busybox', '/bin/busybox'].find((p) => existsSync(p));
const composeTest = testIf(
  isRoot && tools.ip && has('nft') && has('curl') && busybox !== undefined,
  'needs root, ip, nft, curl and a static busybox',
);
const sh = (...a: string[]) => execFileSync(a[0]!, a.slice(1), { encoding: 'utf8' });
const made: string[] = [];
const cleanups: Array<() => void> = [];
let dir: string | undefined;

afterAll(() => {
  for (const c of cleanups) c();
  for (const n of made) {
    try {
      sh('ip', 'netns', 'del', n);
    } catch {
      // gone already
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** images/base: busybox; images/web: busybox and a site, both as directories of layers. */
function images(d: string): void {
  const bin = join(d, 'images/base/0-busybox/bin');
  mkdirSync(bin, { recursive: true });
  execFileSync('cp', [busybox!, join(bin, 'busybox')]);
  for (const a of sh(busybox!, '--list').trim().split('\n')) if (a !== 'busybox') symlinkSync('busybox', join(bin, a));
  mkdirSync(join(d, 'images/web/1-site/www'), { recursive: true });
  symlinkSync('../base/0-busybox', join(d, 'images/web/0-busybox'));
  writeFileSync(join(d, 'images/web/1-site/www/index.html'), 'hello from web\n');
}

async function get(ns: string, url: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    try {
      return sh('ip', 'netns', 'exec', ns, 'curl', '-sf', '--max-time', '2', url);
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`no answer from ${url}`);
}

describe('examples/compose', () => {
  composeTest(
    'up: services reach each other by name, published ports answer from outside; the volume persists; down leaves nothing',
    async () => {
      const id = randomBytes(3).toString('hex');
      const host = `nsbx-xh-${id}`;
      const out = `nsbx-xo-${id}`;
      for (const n of [host, out]) {
        sh('ip', 'netns', 'add', n);
        made.push(n);
        sh('ip', '-n', n, 'link', 'set', 'lo', 'up');
      }
      sh('ip', '-n', host, 'link', 'add', 'hout', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', out);
      sh('ip', '-n', host, 'addr', 'add', '10.99.0.1/24', 'dev', 'hout');
      sh('ip', '-n', host, 'link', 'set', 'hout', 'up');
      sh('ip', '-n', out, 'addr', 'add', '10.99.0.2/24', 'dev', 'eth0');
      sh('ip', '-n', out, 'link', 'set', 'eth0', 'up');

      dir = mkdtempSync(join(tmpdir(), 'nsbox-compose-'));
      chmodSync(dir, 0o755);
      images(dir);
      const project = `c${id}`;
      const file = join(dir, 'compose.json');
      const example = JSON.parse(readFileSync(join(root, 'examples/compose/compose.example.json'), 'utf8')) as { name: string };
      writeFileSync(file, JSON.stringify({ ...example, name: project }));
      // Asynchronously: `down` waits for `up`, which this process must be free to reap.
      const run = (...args: string[]) => promisify(execFile)('ip', ['netns', 'exec', host, process.execPath, compose, ...args, '-f', file]);
      cleanups.push(() => rmSync(`/run/nsbox/networks/${project}`, { recursive: true, force: true }));

      for (const expected of ['1', '2']) {
        const up = spawn('ip', ['netns', 'exec', host, process.execPath, compose, 'up', '-f', file], { stdio: 'ignore' });
        const exited = new Promise((r) => up.on('exit', r));
        // app counts its starts in the named volume, and fetched web's page by name.
        expect((await get(out, 'http://10.99.0.1:8081/count')).trim()).toBe(expected);
        expect(await get(out, 'http://10.99.0.1:8081/web')).toBe('hello from web\n');
        expect(await get(out, 'http://10.99.0.1:8080/')).toBe('hello from web\n');
        expect(sh('ip', 'netns', 'exec', host, 'nft', 'list', 'tables')).toMatch(new RegExp(`nsbox_net_${project}`));
        await run('down');
        await exited;
        expect(sh('ip', 'netns', 'exec', host, 'nft', 'list', 'tables').trim()).toBe('');
        expect((JSON.parse(sh('ip', '-n', host, '-j', 'link')) as Array<{ ifname: string }>).map((l) => l.ifname).sort()).toEqual([
          'hout',
          'lo',
        ]);
        expect(existsSync(`/run/nsbox/networks/${project}`)).toBe(false);
      }
      expect(readFileSync(join(dir, '.nsbox-compose/volumes/data/n'), 'utf8').trim()).toBe('2');
      await run('down', '--volumes');
      expect(existsSync(join(dir, '.nsbox-compose'))).toBe(false);
    },
  );
});
