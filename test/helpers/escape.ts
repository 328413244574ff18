// The escape suite's tools: the `nsbox` CLI as a real process, the four modes an attempt runs
// in (root or not × the default root or a busybox --rootfs), throw-away host objects that are
// always removed, and host-side witnesses. See test/integration/escapes-*.test.ts.
import { execFileSync, spawn as spawnProcess, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { test } from 'vitest';
import { canUserns, isRoot, testIf } from './env.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
/** What npm links as `nsbox`: package.json's bin (dist/nsbox-cli/nsbox.cjs). */
export const cli = join(repo, JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).bin.nsbox);

/** Builds dist/ if it is missing or older than src/ (as the CLI tests do). */
export function ensureBuilt(): void {
  execFileSync(process.execPath, [join(repo, 'scripts/ensure-built.mjs')], { stdio: 'ignore' });
}

/** A random name part, so concurrent runs and files never collide. */
export const uniq = (): string => randomBytes(6).toString('hex');

export interface Mode {
  name: string;
  root: boolean;
  rootfs: boolean;
  test: typeof test;
}

const rootlessReason = isRoot ? 'rootless mode: runs as the unprivileged CI user only' : 'user namespaces cannot be created here';
const rootTest = testIf(isRoot, 'root mode: needs root');
const rootlessTest = testIf(!isRoot && canUserns, rootlessReason);

/** Every mode; CI runs the suite once as root and once as nsboxci, so each mode runs once. */
export const MODES: Mode[] = [
  { name: 'root, default root', root: true, rootfs: false, test: rootTest },
  { name: 'root, --rootfs', root: true, rootfs: true, test: rootTest },
  { name: 'rootless, default root', root: false, rootfs: false, test: rootlessTest },
  { name: 'rootless, --rootfs', root: false, rootfs: true, test: rootlessTest },
];
export const ROOT_MODES = MODES.filter((m) => m.root);
export const ROOTFS_MODES = MODES.filter((m) => m.rootfs);

// ---------------------------------------------------------------------------------------------
// Cleanup: everything a test makes on the host is registered here and undone in afterEach,
// last made first, whether the test passed or not.

const undo: Array<() => void> = [];
export function onCleanup(fn: () => void): void {
  undo.push(fn);
}
/** Runs every registered cleanup; throws the first error after running them all. */
export function runCleanup(): void {
  let first: unknown;
  while (undo.length) {
    try {
      undo.pop()!();
    } catch (e) {
      first ??= e;
    }
  }
  if (first) throw first;
}

/** A host temp dir (mode 0755 unless told, so the container's ids can reach it), removed afterwards. */
export function tempDir(prefix = 'nsbox-esc-', mode = 0o755): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(d, mode);
  onCleanup(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A path on the host that nothing has made: a sentinel a successful escape would create. */
export function sentinelPath(dir = tmpdir()): string {
  const p = join(dir, `nsbox-pwn-${uniq()}`);
  onCleanup(() => rmSync(p, { recursive: true, force: true }));
  return p;
}

/**
 * A busybox rootfs: /bin/busybox and a symlink per applet, lib/lib64 -> usr/..., an empty /usr
 * (bound from the host read-only by attempts that need python3), /etc/passwd and an /etc/shadow
 * holding `marker` (so a read of it is told apart from the host's).
 */
export function makeRootfs(marker = 'rootfs-own-shadow'): string {
  const r = tempDir('nsbox-esc-rootfs-');
  for (const d of ['bin', 'dev', 'etc', 'mnt', 'proc', 'sys', 'tmp', 'usr', 'root']) mkdirSync(join(r, d));
  chmodSync(join(r, 'tmp'), 0o1777);
  cpSync('/bin/busybox', join(r, 'bin/busybox'));
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).trim().split('\n');
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(r, 'bin', a));
  symlinkSync('usr/lib', join(r, 'lib'));
  symlinkSync('usr/lib64', join(r, 'lib64'));
  writeFileSync(join(r, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(r, 'etc/group'), 'root:x:0:\n');
  writeFileSync(join(r, 'etc/shadow'), `root:${marker}:1::::::\n`, { mode: 0o600 });
  return r;
}

// ---------------------------------------------------------------------------------------------
// Running the CLI.

export interface Result {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Still running after the timeout, so it was SIGKILLed. */
  timedOut: boolean;
}

export interface RunOptions {
  /** Extra fds of the nsbox process: { 7: fd } opens fd 7 on the host's `fd`. */
  fds?: Record<number, number>;
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
}

/** Starts `node dist/cli.js ...args`; `p` is the process, `done` its result. */
export function start(args: string[], opts: RunOptions = {}) {
  const stdio: StdioOptions = ['pipe', 'pipe', 'pipe'];
  for (const [n, fd] of Object.entries(opts.fds ?? {})) {
    while (stdio.length < Number(n)) stdio.push('ignore');
    stdio[Number(n)] = fd;
  }
  const p = spawnProcess(process.execPath, [cli, ...args], { stdio, env: opts.env ?? process.env });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  p.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  p.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  p.stdin!.on('error', () => {});
  p.stdin!.end(opts.input ?? '');
  const timer = setTimeout(() => {
    timedOut = true;
    p.kill('SIGKILL');
  }, opts.timeoutMs ?? 15_000);
  const done = new Promise<Result>((resolve) =>
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    }),
  );
  onCleanup(() => {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });
  return { p, done };
}
export const nsbox = (args: string[], opts?: RunOptions) => start(args, opts).done;

export interface BoxOptions extends RunOptions {
  /** nsbox options before `--`. */
  args?: string[];
  /** With --rootfs: bind the host's /usr read-only so /usr/bin/python3 runs (busybox stays first in PATH). */
  python?: boolean;
}

/** The nsbox options of `mode` for a rootfs `rootfs`. */
export function modeArgs(mode: Mode, rootfs: string, python = false): string[] {
  if (!mode.rootfs) return [];
  return ['--rootfs', rootfs, '--env', 'PATH=/bin:/usr/bin', ...(python ? ['--volume', '/usr:/usr:ro'] : [])];
}

/** `nsbox run <mode's options> <opts.args> -- sh -c script`. */
export function box(mode: Mode, rootfs: string, script: string, opts: BoxOptions = {}): Promise<Result> {
  return nsbox(['run', ...modeArgs(mode, rootfs, opts.python), ...(opts.args ?? []), '--', 'sh', '-c', script], opts);
}

/** A shell word for `s` (single-quoted). */
export const sq = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/** `python3 -c <code>` as a shell command, in either mode (with the /usr bind under --rootfs). */
export const py = (code: string): string => `/usr/bin/python3 -c ${sq(code)}`;

/** Runs python3 on the host; returns its stdout. */
export function hostPython(code: string, args: string[] = []): string {
  return execFileSync('python3', ['-c', code, ...args], { encoding: 'utf8' });
}

// ---------------------------------------------------------------------------------------------
// Host witnesses.

/** The cgroup v2 mount point of this machine (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid one). */
export function cgroup2Mount(): string | undefined {
  for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = l.indexOf(' - ');
    if (sep > 0 && l.slice(sep + 3).startsWith('cgroup2 ')) return l.split(' ')[4];
  }
  return undefined;
}

/** This process's cgroup v2 path ('/' at the root). */
export function ownCgroup2(): string {
  const line = readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('0::'));
  return line?.slice(3) ?? '/';
}

/** Is `pid` alive (not reaped, not a zombie)? */
export function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

export const exists = existsSync;

/** Python prelude for raw syscalls through ctypes (x86_64 and arm64 numbers where they differ). */
export const PY_LIBC = `
import ctypes, os, sys, errno, platform
libc = ctypes.CDLL(None, use_errno=True)
arm = platform.machine() == 'aarch64'
def sc(nr, *a):
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(x) if isinstance(x, int) else x for x in a])
    return r if r >= 0 else -ctypes.get_errno()
def ename(r):
    return errno.errorcode.get(-r, str(r)) if r < 0 else 'OK'
`;
