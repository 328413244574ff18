/**
 * `exec [--process FILE | COMMAND ARGS…] ID`: a new process in a created or running
 * container: it joins every namespace of the container's process that differs from ours (by
 * its pid, checked against the recorded start time before and after), is placed in its
 * cgroup by clone3, and gets the container's config.json process (seccomp included) with the
 * flags applied, mapped by the same code as create's (nsbox/oci's mapProcess). Without
 * --detach it waits and exits with the process's status; with --tty it then relays the
 * caller's terminal to the process's pty, as run does (--console-socket is for --detach only,
 * where it is needed, as runc has it).
 * @internal
 * @module
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { NsboxChild } from '../../../namespaces/child.js';
import type { SpawnOptions } from '../../../namespaces/options.js';
import { spawn } from '../../../namespaces/spawn.js';
import type { SeccompNotifier } from '../../../security/notify.js';
import { parseConfig } from '../../parse.js';
import { mapProcess, refuseProcess } from '../../spawn-options.js';
import type { OciProcess } from '../../types.js';
import { list, str, type Context } from '../context.js';
import { sendListener } from '../container.js';
import { sendTerminal, startGate } from '../gate.js';
import { RuntimeError, UsageError } from '../errors.js';
import { processCgroupDir } from '../cgroup.js';
import { isAlive } from '../proc.js';
import { pinNamespaces } from '../pin.js';
import { resolveExecUser } from '../passwd.js';
import { statusOf } from '../status.js';
import { relayTerminal } from '../terminal.js';
import { checkId, writeAtomic, type ContainerRecord } from '../store.js';

/**
 * spawn() into the container's cgroup; when clone3 finds it closed to processes (EBUSY: the
 * container enabled controllers for sub-cgroups there, as systemd does), into the cgroup of
 * the container's process instead, as runc and crun do.
 */
function spawnInContainer(ctx: Context, rec: ContainerRecord, argv: string[], o: SpawnOptions): NsboxChild {
  try {
    return spawn(argv[0]!, argv.slice(1), o);
  } catch (err) {
    const e = err as { code?: string; syscall?: string };
    const alt = e.code === 'EBUSY' && e.syscall === 'clone3' && o.cgroup !== undefined ? processCgroupDir(rec) : undefined;
    if (alt === undefined || alt === o.cgroup) throw err;
    ctx.log.debug(`exec in ${rec.id}: ${(err as Error).message}; joining ${alt}, its process's cgroup`);
    return spawn(argv[0]!, argv.slice(1), { ...o, cgroup: alt });
  }
}

/** The process to run: --process FILE, else the container's process with the command and flags. */
function processOf(ctx: Context, rec: ContainerRecord): OciProcess {
  const file = str(ctx, 'process');
  let proc: OciProcess;
  if (file !== undefined) {
    if (ctx.args.length > 1) throw new UsageError('exec: give either --process FILE or a command, not both');
    const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    proc = parseConfig({ ociVersion: rec.ociVersion, process: json }).process!;
  } else {
    if (ctx.args.length < 2) throw new UsageError('exec: give the command to run after the container ID (or --process FILE)');
    const base = rec.config.process;
    proc = { ...structuredClone(base ?? { cwd: '/', user: { uid: 0, gid: 0 } }), args: ctx.args.slice(1), terminal: false };
  }
  const cwd = str(ctx, 'cwd');
  if (cwd !== undefined) proc.cwd = cwd;
  const env = list(ctx, 'env');
  if (env.length > 0) {
    const keys = new Set(env.map((e) => e.split('=')[0]));
    proc.env = [...(proc.env ?? []).filter((e) => !keys.has(e.split('=')[0])), ...env];
  }
  const user = str(ctx, 'user');
  if (user !== undefined) {
    // Names are looked up in the container's own /etc/passwd and /etc/group (confined).
    const u = resolveExecUser(user, rec.pid);
    proc.user = { ...proc.user, uid: u.uid, gid: u.gid ?? proc.user.gid };
    if (u.memberOf !== undefined) proc.user.additionalGids = [...new Set([...(proc.user.additionalGids ?? []), ...u.memberOf])];
    if (u.home !== undefined && !(proc.env ?? []).some((e) => e.startsWith('HOME='))) proc.env = [...(proc.env ?? []), `HOME=${u.home}`];
  }
  const gids = list(ctx, 'additional-gids');
  if (gids.length > 0) {
    if (gids.some((g) => !/^\d+$/.test(g))) throw new UsageError(`--additional-gids: each must be a number`);
    proc.user = { ...proc.user, additionalGids: [...new Set([...(proc.user.additionalGids ?? []), ...gids.map(Number)])] };
  }
  const caps = list(ctx, 'cap');
  if (caps.length > 0) {
    const c = { ...(proc.capabilities ?? {}) };
    for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const)
      c[set] = [...new Set([...(c[set] ?? []), ...caps])];
    proc.capabilities = c;
  }
  if (ctx.flags['no-new-privs']) proc.noNewPrivileges = true;
  return proc;
}

/** An exec's seccomp listener to linux.seccomp.listenerPath; without one nobody could answer it. */
function forwardListener(rec: ContainerRecord, notifier: SeccompNotifier, child: { pid: number; kill(s: NodeJS.Signals): void }): void {
  const sc = rec.config.linux?.seccomp;
  try {
    if (sc?.listenerPath === undefined) throw new RuntimeError('linux.seccomp.listenerPath is not set (needed for SCMP_ACT_NOTIFY rules)');
    const state = { ociVersion: rec.ociVersion, id: rec.id, status: 'running', pid: rec.pid, bundle: rec.bundle } as const;
    const listener = { path: sc.listenerPath, ...(sc.listenerMetadata !== undefined && { metadata: sc.listenerMetadata }) };
    sendListener(notifier, listener, { ...state, ...(rec.annotations && { annotations: rec.annotations }) }, child.pid);
  } catch (err) {
    notifier.close();
    child.kill('SIGKILL');
    throw err;
  }
}

export async function main(ctx: Context): Promise<number> {
  const id = checkId(ctx.args[0]);
  if (str(ctx, 'process-label')) throw new UsageError('--process-label: refused: nsbox applies no SELinux label');
  if (str(ctx, 'apparmor')) throw new UsageError('--apparmor: refused: nsbox applies no AppArmor profile');
  const rec = ctx.store.read(id);
  const status = statusOf(rec);
  if (status !== 'running' && status !== 'created') throw new RuntimeError(`cannot exec in container ${id}: it is ${status}`);
  const proc = processOf(ctx, rec);
  if (ctx.flags.tty) proc.terminal = true;
  const consoleSocket = str(ctx, 'console-socket');
  const detach = ctx.flags.detach === true;
  // runc's checkTerminal: "cannot allocate tty if runc will detach without setting console
  // socket"; "cannot use console socket if runc will not detach or allocate tty". In the
  // foreground, the caller's terminal is relayed to the pty instead.
  if (proc.terminal && detach && consoleSocket === undefined)
    throw new UsageError('--tty with --detach: give --console-socket (where the pty master goes)');
  if (!proc.terminal && consoleSocket !== undefined) throw new UsageError('--console-socket: only with --tty (or process.terminal)');
  if (!detach && consoleSocket !== undefined)
    throw new UsageError('--console-socket: only with --detach (exec in the foreground relays your terminal itself)');
  refuseProcess(proc);
  const o: SpawnOptions = {};
  const warnings: string[] = [];
  const { argv } = mapProcess(proc, o, warnings);
  for (const w of warnings) ctx.log.warn(w);
  const gids = proc.user.additionalGids ?? [];
  // setgroups(2) is denied in a user namespace whose creator could only map its own ids.
  let setgroups = 'allow';
  try {
    setgroups = readFileSync(`/proc/${rec.pid}/setgroups`, 'latin1').trim();
  } catch {
    // gone: the liveness check below says so
  }
  if (gids.length > 0 || setgroups !== 'deny') o.groups = gids;
  const seccomp = rec.config.linux?.seccomp;
  if (seccomp !== undefined) o.seccomp = seccomp as NonNullable<SpawnOptions['seccomp']>;
  if (rec.cgroupDir !== undefined) o.cgroup = rec.cgroupDir;
  if (!proc.terminal) o.stdio = 'inherit'; // with a terminal, fds 0-2 are the pty's slave
  const preserve = str(ctx, 'preserve-fds');
  if (preserve !== undefined) {
    if (!/^\d+$/.test(preserve)) throw new UsageError(`--preserve-fds: "${preserve}" is not a number`);
    o.fds = {};
    for (let fd = 3; fd < 3 + Number(preserve); fd++) o.fds[fd] = fd;
  }
  // A detached process must outlive this command: it is spawned behind a start gate of its
  // own (such a child persists) and let through at once. A foreground one with a terminal
  // waits there too, until the relay has set the pty's size and cleared its ONLCR: its
  // first output and its first look at the size come after that.
  const relayed = proc.terminal === true && consoleSocket === undefined;
  const gate = detach || relayed ? `${ctx.store.dir(id)}/exec-${randomBytes(6).toString('hex')}` : undefined;
  if (gate !== undefined) Object.assign(o, { startGate: gate, dieWithParent: false });
  // The container's namespaces, pinned through a pidfd: a pid reused since create is never
  // joined, not even for a moment.
  const pinned = isAlive(rec.pid, rec.startTime)
    ? pinNamespaces(rec.pid, rec.startTime, status === 'created' ? rec.gate : undefined)
    : undefined;
  if (pinned === undefined) throw new RuntimeError(`cannot exec in container ${id}: it is stopped`);
  let child: NsboxChild;
  try {
    o.join = Object.fromEntries(pinned);
    child = spawnInContainer(ctx, rec, argv, o);
  } finally {
    for (const ns of pinned.values()) ns.close();
  }
  // runc forwards an exec's seccomp listener too, with the container's state (running).
  if (child.seccompNotifier) forwardListener(rec, child.seccompNotifier, child);
  if (child.terminal && consoleSocket !== undefined)
    await sendTerminal(resolve(consoleSocket), child.terminal).catch((err: unknown) => {
      child.kill('SIGKILL');
      throw err;
    });
  // In the foreground without a console socket: the caller's terminal, as run relays it.
  const relay = relayed && child.terminal ? relayTerminal(child.terminal) : undefined;
  const pidFile = str(ctx, 'pid-file');
  if (pidFile !== undefined) writeAtomic(pidFile, String(child.pid));
  if (relay) {
    try {
      await startGate(gate!);
    } catch (err) {
      child.kill('SIGKILL');
      await child.exited;
      await relay.done();
      throw err;
    }
  } else if (gate !== undefined) {
    // Its exit status belongs to our supervisor (conmon, the shim: subreapers that inherit it
    // when we exit): never reap it here, even if it ends before we do.
    child.disown();
    await startGate(gate);
    return 0;
  }
  const forward = (sig: NodeJS.Signals) => () => {
    try {
      child.kill(sig);
    } catch {
      // gone
    }
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const).map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  const { code, signal } = await child.exited;
  for (const [s, h] of handlers) process.off(s, h);
  await relay?.done();
  if (signal !== null) return 128 + (constants.signals[signal] ?? 0);
  return code ?? 1;
}
