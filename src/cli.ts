#!/usr/bin/env node
/**
 * The `nsbox` command: `nsbox run [options] -- COMMAND [ARGS...]` runs a program in new
 * and/or joined namespaces, like unshare(1) and bwrap(1), on nsbox's public API only.
 * See `nsbox --help` and README.md.
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { SysError, connectToHost, createNamespace, loUp, openNamespacePath, spawn, type Namespace, type NsboxChild, type SpawnOptions } from './index.js';
import { UsageError, buildEnv, helpText, parseArgs, type RunArgs } from './cli/args.js';

/** "the runner failed" (as env(1), docker, timeout(1) use 125). */
const EXIT_NSBOX = 125;
const EXIT_NOT_EXECUTABLE = 126;
const EXIT_NOT_FOUND = 127;

/** Signals passed on to the command. */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** True if a PATH search for `command` finds a file at all (executable or not). */
function foundInPath(command: string, env: Record<string, string>): boolean {
  // execvp(3)'s default search path when PATH is unset.
  const dirs = (env.PATH ?? '/bin:/usr/bin').split(':');
  return dirs.some((d) => {
    try {
      return statSync(`${d === '' ? '.' : d}/${command}`).isFile();
    } catch {
      return false;
    }
  });
}

/**
 * Exit status for an error, as shells use them: 127 when execve could not find COMMAND, 126
 * when it found it and could not run it, else 125. A PATH search that met an unreadable
 * directory fails with EACCES even though no file was found: that is 127, as in bash.
 */
function exitStatusOf(err: unknown, run: RunArgs, env: Record<string, string>): number {
  if (err instanceof SysError && err.syscall === 'execve') {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return EXIT_NOT_FOUND;
    if (err.code === 'EACCES' || err.code === 'ENOEXEC' || err.code === 'EPERM') {
      return run.command.includes('/') || foundInPath(run.command, env) ? EXIT_NOT_EXECUTABLE : EXIT_NOT_FOUND;
    }
  }
  return EXIT_NSBOX;
}

/** Opens the --join targets; a path must be an nsfs file of the named kind. */
function openJoins(run: RunArgs, opened: Namespace[]): NonNullable<SpawnOptions['join']> {
  const join: NonNullable<SpawnOptions['join']> = {};
  for (const j of run.join) {
    if (j.pid !== undefined) {
      join[j.kind] = j.pid;
      continue;
    }
    const ns = openNamespacePath(j.path);
    opened.push(ns);
    if (ns.type !== j.kind) throw new UsageError(`--join ${j.kind}=${j.path}: that is a ${ns.type} namespace`);
    join[j.kind] = ns;
  }
  return join;
}

/**
 * --net none|veth: a new network namespace made here (the command joins it), lo up, and for
 * veth the pair to the host with addresses and a default route inside. The namespace ends
 * with the command (nsbox's handle is closed once the command has it), taking both veth
 * ends with it.
 */
async function prepareNet(run: RunArgs, opened: Namespace[], join: NonNullable<SpawnOptions['join']>): Promise<void> {
  if (run.net === undefined || run.net.mode === 'host') return;
  const ns = createNamespace('net');
  opened.push(ns);
  if (run.net.mode === 'veth') await connectToHost(ns, { hostAddress: run.net.hostAddress, childAddress: run.net.childAddress });
  else await loUp(ns);
  join.net = ns;
}

function spawnOptions(run: RunArgs, join: SpawnOptions['join'], env: Record<string, string>): SpawnOptions {
  const o: SpawnOptions = {
    namespaces: run.namespaces,
    join,
    env,
    stdio: 'inherit',
    dieWithParent: run.dieWithParent,
  };
  if (run.uidMap) o.uidMap = run.uidMap;
  if (run.gidMap) o.gidMap = run.gidMap;
  if (run.hostname !== undefined) o.hostname = run.hostname;
  if (run.domainname !== undefined) o.domainname = run.domainname;
  if (run.uid !== undefined) o.uid = run.uid;
  if (run.gid !== undefined) o.gid = run.gid;
  if (run.groups !== undefined) o.groups = run.groups;
  if (run.cwd !== undefined) o.cwd = run.cwd;
  if (run.argv0 !== undefined) o.argv0 = run.argv0;
  if (run.newSession) o.detached = true;
  if (run.namespaces.includes('mnt')) {
    // A container root: the layers, the directory, or by default the host's system dirs.
    o.rootfs = run.layers.length > 0 ? { layers: run.layers } : (run.rootfs ?? 'host');
    o.mounts = [
      ...run.volumes.map((v) => ({ type: 'bind' as const, source: v.source, target: v.target, readOnly: v.readOnly })),
      ...run.tmpfs.map((t) => ({ type: 'tmpfs' as const, target: t })),
    ];
    if (run.readOnly) o.readOnlyRoot = true;
  }
  if (run.timeout !== undefined) {
    o.timeout = run.timeout;
    // SIGKILL: a PID 1 of a new pid namespace would ignore SIGTERM.
    o.killSignal = 'SIGKILL';
  }
  return o;
}

/**
 * Catches FORWARDED signals from before the child exists (a signal may arrive the moment it
 * has exec'd, before spawn() returns) and passes each to it, in order. Returns the attach
 * and remove functions.
 */
function forwardSignals(): { attach: (child: NsboxChild) => void; remove: () => void } {
  let target: NsboxChild | undefined;
  const pending: NodeJS.Signals[] = [];
  const send = (sig: NodeJS.Signals) => {
    try {
      target!.kill(sig);
    } catch {
      // A refusal (EPERM after a setuid program) leaves the command running, as it would
      // be without nsbox in between.
    }
  };
  const handlers = FORWARDED.map((sig) => {
    const h = () => (target ? send(sig) : pending.push(sig));
    process.on(sig, h);
    return [sig, h] as const;
  });
  return {
    attach(child) {
      target = child;
      for (const sig of pending.splice(0)) send(sig);
    },
    remove() {
      for (const [sig, h] of handlers) process.off(sig, h);
    },
  };
}

/**
 * Runs the `nsbox` command with `argv` (the arguments after the script) and resolves with
 * the exit status to use. Writes only to stderr/stdout for help, version and errors, and
 * never touches stdin: the command owns the terminal while it runs.
 */
async function main(argv: readonly string[]): Promise<number> {
  let run: RunArgs;
  try {
    const parsed = parseArgs(argv);
    if (parsed.action === 'help') {
      process.stdout.write(helpText());
      return 0;
    }
    if (parsed.action === 'version') {
      process.stdout.write(`nsbox ${version()}\n`);
      return 0;
    }
    run = parsed.run;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`nsbox: ${err.message}\nTry 'nsbox --help' for more information.\n`);
    return EXIT_NSBOX;
  }

  let child: NsboxChild;
  const opened: Namespace[] = [];
  const signals = forwardSignals();
  const env = buildEnv(run, process.env);
  try {
    const join = openJoins(run, opened);
    await prepareNet(run, opened, join);
    child = spawn(run.command, run.args, spawnOptions(run, join, env));
  } catch (err) {
    const e = err as Error;
    const hint = err instanceof UsageError ? "\nTry 'nsbox --help' for more information." : '';
    process.stderr.write(`nsbox: ${e.message}${hint}\n`);
    signals.remove();
    return exitStatusOf(err, run, env);
  } finally {
    for (const ns of opened) ns.close();
  }

  signals.attach(child);
  const { code, signal } = await child.exited;
  signals.remove();
  if (signal !== null) return 128 + (osConstants.signals[signal] ?? 0);
  return code ?? EXIT_NSBOX;
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => {
    process.stderr.write(`nsbox: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(EXIT_NSBOX);
  },
);
