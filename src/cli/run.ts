/**
 * `nsbox run [options] -- COMMAND [ARGS...]`: runs a program in new and/or joined
 * namespaces, like unshare(1) and bwrap(1), on nsbox's library. main.ts parses the
 * command line; this module makes the cgroup and the network the options ask for, spawns,
 * forwards signals and gives back the command's exit status.
 *
 * It imports each part of the library from its own module, never the package's index, and
 * loads the network module (`--net veth`, `--publish`, `--network`) only when a run asks for
 * it (in the linked bin, scripts/bundle.mjs, that code is in `rest.cjs`, which a plain run never reads).
 * @internal
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { statPath } from '../pathstat.js';
import { fileURLToPath } from 'node:url';
import type { Cgroup } from '../cgroups/cgroup.js';
// The cgroup modules only for --memory/--pids/--cpus/--cgroup-parent (scripts/bundle.mjs).
import * as lazyCgroupCreate from '../cgroups/create.js';
import type { CgroupLimits } from '../cgroups/limits.js';
import * as lazyCgroupLimits from '../cgroups/limits.js';
import * as lazyCgroupDiscovery from '../cgroups/discovery.js';
import { SysError, withHint } from '../errors.js';
import { K } from '../native.js';
import * as lazyMountinfo from '../fs/mountinfo.js';
import { openNamespacePath, type Namespace } from '../namespaces/namespace.js';
import type { SpawnOptions } from '../namespaces/options.js';
import { spawn, type NsboxChild } from '../namespaces/spawn.js';
import { seccompCache } from '../oci/runtime/seccomp-cache.js';
import { setSeccompStore } from '../security/seccomp/filter.js';
import { UsageError, buildEnv, runNeedsNetwork, type RunArgs } from './args.js';
import { cliMessage } from './errors.js';
import { runHint } from './hints.js';
import { EXIT_NSBOX, TRY_HELP } from './exit.js';
import type { RunNetwork } from './network.js';
import { securityOptions } from './security.js';

const EXIT_NOT_EXECUTABLE = 126;
const EXIT_NOT_FOUND = 127;

/**
 * What to print for a failure of the setup: a usage error as it is, a refusal the CLI can
 * explain as `--flag: <error> — <what to do>`, else the library's words (src/cli/errors.ts).
 * `usage`: the Try line follows (the message names a flag).
 */
function failureText(err: unknown, run: RunArgs): { text: string; usage: boolean } {
  if (err instanceof UsageError) return { text: err.message, usage: true };
  const h = runHint(err, run, { euid: process.geteuid!(), egid: process.getegid!(), ...joinedMaps(run) });
  if (h && err instanceof SysError) return { text: `${h.flag}: ${withHint(err, h.hint).message}`, usage: true };
  return cliMessage(err);
}

/** The id maps of a --join user=PID namespace, for the hint about --uid/--gid. */
function joinedMaps(run: RunArgs): { joinedUidMap?: string; joinedGidMap?: string } {
  const j = run.join.find((x) => x.kind === 'user');
  if (j?.pid === undefined) return {};
  try {
    return {
      joinedUidMap: readFileSync(`/proc/${j.pid}/uid_map`, 'utf8'),
      joinedGidMap: readFileSync(`/proc/${j.pid}/gid_map`, 'utf8'),
    };
  } catch {
    return {};
  }
}

/** Signals passed on to the command. */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/** True if a PATH search for `command` finds a file at all (executable or not). */
function foundInPath(command: string, env: Readonly<Record<string, string | undefined>>): boolean {
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
function exitStatusOf(err: unknown, run: RunArgs, env: Readonly<Record<string, string | undefined>>): number {
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
 * --net none|veth: spawn's network option. The command's new network namespace (made in its
 * own user namespace) gets lo up, and for veth the pair to the host with addresses and a
 * default route inside, before the command runs. The namespace ends with the command,
 * taking both veth ends with it.
 */
function networkOption(run: RunArgs): SpawnOptions['network'] {
  if (run.net === undefined || run.net.mode === 'host') return undefined;
  // veth without ADDR/PREFIX: the run's network setup picks them and patches this (network.ts).
  if (run.net.mode === 'none' || run.net.childAddress === undefined || run.net.hostAddress === undefined) return { lo: true };
  return { lo: true, veth: { hostAddress: run.net.hostAddress, childAddress: run.net.childAddress } };
}

function spawnOptions(run: RunArgs, join: SpawnOptions['join'], env: Record<string, string> | undefined): SpawnOptions {
  const o: SpawnOptions = {
    namespaces: run.namespaces,
    join,
    env,
    stdio: 'inherit',
    dieWithParent: run.dieWithParent,
    ...securityOptions(run),
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
  // PID 1 of a new pid namespace is nsbox's init, COMMAND its child (--no-init: COMMAND).
  if (run.init && run.namespaces.includes('pid')) o.init = true;
  const network = networkOption(run);
  if (network) o.network = network;
  if (run.namespaces.includes('mnt')) {
    // A container root: the layers, the directory, or by default the host's system dirs.
    o.rootfs = run.layers.length > 0 ? { layers: run.layers } : (run.rootfs ?? 'host');
    o.mounts = [
      ...run.volumes.map((v) => ({
        type: 'bind' as const,
        source: v.source,
        target: v.target,
        readOnly: v.readOnly,
        ...(v.idmap ? { idmap: true } : {}),
      })),
      ...run.tmpfs.map((t) => ({ type: 'tmpfs' as const, target: t })),
    ];
    if (run.readOnly) o.readOnlyRoot = true;
    // As bwrap: the caller's directory where the new root has it, else the root's /.
    if (run.cwd === undefined) {
      o.cwd = process.cwd();
      o.cwdOptional = true;
    }
    if (!run.lockMounts) o.lockMounts = false;
  }
  if (run.timeout !== undefined) {
    o.timeout = run.timeout;
    // SIGKILL: with --no-init, a PID 1 of a new pid namespace would ignore SIGTERM.
    o.killSignal = 'SIGKILL';
  }
  return o;
}

/** The option that asked for each controller, for messages. */
const FLAG_OF: Readonly<Record<string, string>> = { memory: '--memory', pids: '--pids', cpu: '--cpus' };

/** A cgroup problem the CLI reports with the option that caused it, exiting 125. */
class CgroupSetupError extends Error {}

/**
 * --memory/--pids/--cpus/--cgroup-parent: a new cgroup under the parent (default: our own
 * cgroup) with the limits; the parent's subtree_control gets the controllers it lacks.
 * Returns null when none of the options was given.
 */
async function makeCgroup(run: RunArgs): Promise<Cgroup | null> {
  if (run.memory === undefined && run.pids === undefined && run.cpus === undefined && run.cgroupParent === undefined) return null;
  const { cgroup, createCgroup } = lazyCgroupCreate;
  const { currentCgroup, findCgroup2 } = lazyCgroupDiscovery;
  if (findCgroup2() === null) throw new CgroupSetupError('--memory/--pids/--cpus/--cgroup-parent: cgroup v2 is not mounted here');
  const limits: CgroupLimits = {};
  if (run.memory !== undefined) limits.memory = { max: run.memory };
  if (run.pids !== undefined) limits.pids = { max: run.pids };
  if (run.cpus !== undefined) limits.cpu = { max: lazyCgroupLimits.cpusToMax('--cpus', run.cpus) };
  let parentDir = run.cgroupParent;
  if (parentDir === undefined) {
    const own = currentCgroup();
    if (own?.directory == null)
      throw new CgroupSetupError('--memory/--pids/--cpus: nsbox is not in a cgroup v2 it can see; give --cgroup-parent');
    parentDir = own.directory;
  }
  let parent: Cgroup;
  try {
    parent = cgroup(parentDir);
  } catch (err) {
    const e = err as Error & { code?: string };
    if (run.cgroupParent === undefined || !e.code?.startsWith('ERR_')) throw err;
    throw new CgroupSetupError(
      `--cgroup-parent: ${e.message.replace(/^The argument 'path' /, `'${run.cgroupParent}' `).replace(/\.? Received .*$/s, '')}`,
    );
  }
  const flags = cgroupFlags(run);
  const needed = Object.keys(limits).filter((c) => !parent.subtreeControl().includes(c));
  const offered = parent.controllers();
  // A controller missing from cgroup v2 altogether (a hybrid host has it in v1): no
  // delegation helps, so say that before anything else fails.
  const v2 = findCgroup2()!;
  for (const c of Object.keys(limits)) {
    if (v2.controllers.includes(c)) continue;
    const v1 = lazyMountinfo.mountinfo('self').find((m) => m.fsType === 'cgroup' && m.superOptions.includes(c));
    const why = v1
      ? `it is bound to the cgroup v1 hierarchy at ${v1.mountPoint}: a hybrid host`
      : 'not built into this kernel, or disabled with cgroup_disable=';
    throw new CgroupSetupError(
      `${FLAG_OF[c]}: the ${c} controller is not available in cgroup v2 here (${why}), and nsbox sets limits only through cgroup v2. ` +
        `Run without ${FLAG_OF[c]}, or on a host with the unified hierarchy (booted with systemd.unified_cgroup_hierarchy=1)`,
    );
  }
  for (const c of needed) {
    if (!offered.includes(c)) {
      throw new CgroupSetupError(
        `${FLAG_OF[c]}: the ${c} controller is not available to ${parent.path} (an ancestor has not enabled it in its cgroup.subtree_control) — ${delegateHint(run, parent)}`,
      );
    }
    try {
      parent.enableControllers([c]);
    } catch (err) {
      const todo = (err as { code?: string }).code === 'EBUSY' ? '' : ` — ${delegateHint(run, parent)}`;
      throw new CgroupSetupError(`${FLAG_OF[c]}: cannot enable the ${c} controller in ${parent.path}: ${(err as Error).message}${todo}`);
    }
  }
  try {
    return await createCgroup(
      `${parent.directory}/nsbox-run-${process.pid}-${process.getBuiltinModule('node:crypto').randomBytes(3).toString('hex')}`,
      { limits },
    );
  } catch (err) {
    const e = err as Error & { code?: string; controller?: string };
    if (e.code === 'ERR_NSBOX_CGROUP_CONTROLLER' && e.controller !== undefined) {
      throw new CgroupSetupError(`${FLAG_OF[e.controller] ?? e.controller}: ${e.message.slice(e.message.indexOf(': ') + 2)}`);
    }
    if (err instanceof SysError && (e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS')) {
      throw new CgroupSetupError(`${flags}: cannot create a cgroup in ${parent.path}: ${e.message} — ${delegateHint(run, parent)}`);
    }
    throw err;
  }
}

/** What to do when the parent cgroup is not the user's to manage. */
function delegateHint(run: RunArgs, parent: Cgroup): string {
  const whose = run.cgroupParent === undefined ? `nsbox's own cgroup (${parent.path})` : parent.path;
  return `${whose} is not delegated to you: run nsbox in a delegated cgroup (systemd-run --user -p Delegate=yes --scope nsbox run …), give --cgroup-parent a cgroup you own, or run nsbox as root`;
}

/** The cgroup flags given, for messages: `--memory/--pids`. */
function cgroupFlags(run: RunArgs): string {
  const given = [
    run.memory !== undefined && '--memory',
    run.pids !== undefined && '--pids',
    run.cpus !== undefined && '--cpus',
    run.cgroupParent !== undefined && '--cgroup-parent',
  ].filter(Boolean);
  return given.join('/');
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
 * Where a linked build keeps the seccomp filters it compiled (src/oci/runtime/seccomp-cache.ts
 * checks the build, the exact profile and options, and the files' owner): beside its linked
 * files (scripts/bundle.mjs), written by their owner (root for a global install, anyone in a
 * checkout) and read by other users as the owner's. No per-user store: a user's own cache
 * directory is one a rootless sandbox may be given to write, and a forged entry there was a
 * filter that allowed everything in the user's next run (found in review on 2026-11-30).
 */
function seccompStoreDir(): { dir: string; owner: number } | undefined {
  const linked = fileURLToPath(new URL('../nsbox-cli/', import.meta.url));
  try {
    const st = statPath(linked, true);
    return st === undefined ? undefined : { dir: linked, owner: st.uid };
  } catch {
    return undefined; // not built by scripts/bundle.mjs
  }
}

/**
 * Runs `nsbox run` as parsed and resolves with the exit status to use: the command's, 128 +
 * the signal that killed it, or 125/126/127 when nsbox could not start it (as env(1) and
 * docker). Writes only to stderr, and never touches stdin: the command owns the terminal
 * while it runs.
 * @internal
 */
export async function runCommand(run: RunArgs): Promise<number> {
  // The linked CLI compiles a seccomp profile (the default, or --seccomp FILE's) once per
  // build and user, not per run (~3 ms of a short run): one file per profile. tsc's modules
  // have no build id, hence no store.
  const store = seccompStoreDir();
  if (store !== undefined) setSeccompStore(seccompCache(store.dir, undefined, store.owner));
  let child: NsboxChild;
  const opened: Namespace[] = [];
  // Without --env/--unset/--clearenv the command gets this environment as it is: spawn reads
  // process.env itself (enumerating it is ~0.05 ms; once, not twice).
  const env = run.clearenv || run.env.length > 0 ? buildEnv(run, process.env) : undefined;
  let cg: Cgroup | null;
  try {
    cg = await makeCgroup(run);
  } catch (err) {
    if (!(err instanceof CgroupSetupError || err instanceof SysError || (err as { code?: string }).code?.startsWith('ERR_'))) throw err;
    process.stderr.write(`nsbox: ${(err as Error).message}${err instanceof CgroupSetupError ? TRY_HELP : ''}\n`);
    return EXIT_NSBOX;
  }
  let net: RunNetwork | null = null;
  // The network module (nf_tables, rtnetlink, networks) only for a run that asks for it.
  const network = runNeedsNetwork(run) ? await import('./network.js') : undefined;
  try {
    if (network) net = await network.setUpRunNetwork(run, process.geteuid!());
  } catch (err) {
    if (!(err instanceof network!.NetworkSetupError)) throw err;
    process.stderr.write(`nsbox: ${err.message}\n`);
    await cg?.remove({ recursive: true });
    return EXIT_NSBOX;
  }
  const signals = forwardSignals();
  try {
    const join = openJoins(run, opened);
    const options = spawnOptions(run, join, env);
    if (cg) options.cgroup = cg;
    if (net) {
      const { mounts, ...rest } = net.patch;
      Object.assign(options, rest);
      if (mounts) options.mounts = [...mounts, ...(options.mounts ?? [])];
    }
    child = spawn(run.command, run.args, options);
  } catch (err) {
    const { text, usage } = failureText(err, run);
    process.stderr.write(`nsbox: ${text}${usage ? TRY_HELP : ''}\n`);
    signals.remove();
    await net?.close();
    await cg?.remove({ recursive: true });
    return exitStatusOf(err, run, env ?? process.env);
  } finally {
    for (const ns of opened) ns.close();
  }

  if (net?.afterSpawn) {
    try {
      await net.afterSpawn(child);
    } catch (err) {
      if (!(err instanceof network!.NetworkSetupError)) throw err;
      process.stderr.write(`nsbox: ${err.message}\n`);
      child.kill('SIGKILL');
      await child.exited;
      signals.remove();
      await net.close();
      await cg?.remove({ recursive: true });
      return EXIT_NSBOX;
    }
  }
  signals.attach(child);
  const { code, signal } = await child.exited;
  // The handlers stay until nsbox exits: a signal during the cleanup below goes to the exited
  // child (nothing) instead of ending nsbox with its NAT rules or cgroup half removed.
  // NAT and published ports go, the network membership ends (its name leaves the others' /etc/hosts),
  // and --net veth's host end goes now rather than when the kernel gets to the dead namespace.
  await net?.close(child);
  // Whatever the command left behind in its cgroup dies with it.
  await cg?.remove({ recursive: true });
  if (signal !== null) return 128 + (K.SIGNAL[signal] ?? 0);
  return code ?? EXIT_NSBOX;
}
