/**
 * Creating a container, shared by `create` and `run`: config.json loaded and mapped, its
 * cgroup v2 prepared, the process spawned with a start gate (everything applied, waiting
 * before execve) and its hooks (prestart, createRuntime and createContainer run during the
 * spawn, startContainer at the start), then the state and the pid file written. On any
 * failure what was made is undone: the process, the cgroup, `ROOT/ID/`.
 * @internal
 * @module
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Cgroup } from '../../cgroups/cgroup.js';
import { findCgroup2 } from '../../cgroups/discovery.js';
import type { NsboxChild } from '../../namespaces/child.js';
import type { SpawnOptions } from '../../namespaces/options.js';
import { sendFd } from '../../namespaces/pty.js';
import { spawn } from '../../namespaces/spawn.js';
import type { SeccompNotifier } from '../../security/notify.js';
import { setSeccompStore } from '../../security/seccomp/filter.js';
import { prepareCgroup } from '../cgroup.js';
import { ociHookError, ociSpawnHooks } from '../hooks.js';
import { loadBundleSync } from '../parse.js';
import { DEFAULT_PARENT } from '../cgroup-dir.js';
import { toSpawnOptions, type OciCgroupPlan, type OciSpawn } from '../spawn-options.js';
import { containerProcessState, type OciState } from '../state.js';
import { removeDefaultParent } from './cgroup.js';
import { RuntimeError, UsageError } from './errors.js';
import { hookState, sendTerminal } from './gate.js';
import type { Log } from './log.js';
import { startTime } from './proc.js';
import { lockContainer } from './lock.js';
import { seccompCache } from './seccomp-cache.js';
import { checkId, writeAtomic, type ContainerRecord, type Store } from './store.js';

/** What `create` and `run` were asked. */
export interface CreateRequest {
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds: number;
  noNewKeyring: boolean;
  noPivot: boolean;
  /**
   * `run` in the foreground: with process.terminal and no console socket, the pty's master
   * stays with the caller (runc relays the caller's terminal to it), and a console socket is
   * refused, as runc refuses it.
   */
  foreground?: boolean;
}

/** The create flags of `create` and `run`, checked. */
export function createRequest(flags: Record<string, unknown>, id: string | undefined): CreateRequest {
  const req: CreateRequest = {
    id: checkId(id),
    bundle: resolve(typeof flags.bundle === 'string' ? flags.bundle : '.'),
    preserveFds: 0,
    noNewKeyring: flags['no-new-keyring'] === true,
    noPivot: flags['no-pivot'] === true,
  };
  if (typeof flags['pid-file'] === 'string') req.pidFile = resolve(flags['pid-file']);
  if (typeof flags['console-socket'] === 'string') req.consoleSocket = resolve(flags['console-socket']);
  if (typeof flags['preserve-fds'] === 'string') {
    const n = Number(flags['preserve-fds']);
    if (!/^\d+$/.test(flags['preserve-fds']) || n > 1024)
      throw new UsageError(`--preserve-fds: "${flags['preserve-fds']}" is not a number of fds (0 to 1024)`);
    req.preserveFds = n;
  }
  if (req.noPivot)
    throw new UsageError(
      '--no-pivot: refused: nsbox always enters the container root with pivot_root(2) (a root on the initramfs cannot be pivoted; put it on a tmpfs)',
    );
  return req;
}

/** `created` as runc writes it: RFC 3339 UTC with nanoseconds. */
function rfc3339(): string {
  const ns = process.hrtime.bigint() % 1_000_000n;
  return new Date().toISOString().replace(/Z$/, `${String(ns).padStart(6, '0')}Z`);
}

/**
 * The container's cgroup: `linux.cgroupsPath`/`resources` as the config asks (a failure
 * fails create), else `/nsbox-oci/ID` when it can be made (root, or a delegated v2 tree),
 * so that ps, pause and kill --all work; without one, the process stays in ours.
 */
async function makeCgroup(plan: OciCgroupPlan | undefined, id: string, log: Log): Promise<{ cg: Cgroup; owned: boolean } | undefined> {
  const v2 = findCgroup2();
  const existed = (p: string) => v2 !== null && existsSync(`${v2.mountPoint}${p}`);
  if (plan !== undefined) {
    const owned = !existed(plan.path);
    return { cg: await prepareCgroup(plan), owned };
  }
  if (v2 === null) return undefined;
  const path = `/${DEFAULT_PARENT}/${id}`;
  try {
    const owned = !existed(path);
    return { cg: await prepareCgroup({ path, writes: [], controllers: [] }), owned };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw err;
    log.debug(`no cgroup for ${id}: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * Creates the container: on return its process waits at the start gate and ROOT/ID/state.json
 * says so. `stdio`: the container's fds 0-2 (this process's own by default, as conmon expects).
 */
export async function createContainer(store: Store, log: Log, req: CreateRequest): Promise<{ rec: ContainerRecord; child: NsboxChild }> {
  const { dir, config } = loadBundleSync(req.bundle);
  if (req.consoleSocket !== undefined && config.process?.terminal !== true)
    throw new UsageError('--console-socket: only for a process with a terminal (process.terminal is not true in config.json)');
  // runc: "cannot use console socket if runc will not detach"; "cannot allocate tty if runc
  // will detach without setting console socket".
  if (req.foreground && req.consoleSocket !== undefined)
    throw new UsageError('--console-socket: only with --detach (run in the foreground relays your terminal itself)');
  if (config.process?.terminal === true && req.consoleSocket === undefined && !req.foreground)
    throw new UsageError('process.terminal is true in config.json: give --console-socket (where the pty master goes)');
  store.claim(req.id);
  let unlock: (() => void) | undefined;
  let made: { cg: Cgroup; owned: boolean } | undefined;
  let child: NsboxChild | undefined;
  const m = { close: () => undefined } as { close(): void };
  try {
    unlock = lockContainer(store, req.id);
    const mapped = toSpawnOptions(config, { bundle: dir, id: req.id, stdio: 'inherit', createStartSplit: true });
    m.close = () => mapped.close();
    for (const w of mapped.warnings) log.warn(w);
    made = await makeCgroup(mapped.cgroup, req.id, log);
    const gate = store.gatePath(req.id);
    const options: SpawnOptions = { ...mapped.options, startGate: gate, dieWithParent: false };
    if (made) options.cgroup = made.cg;
    if (req.noNewKeyring) options.noNewSessionKeyring = true;
    // linux.netDevices: moved in by spawn while the process waits, before the hooks, as runc
    // moves them (a failure undoes create and moves back what was moved).
    if (mapped.netDevices)
      options.network = {
        ...options.network,
        lo: options.network?.lo ?? false,
        moveLinks: mapped.netDevices.map((d) => ({ name: d.host, newName: d.name })),
      };
    if (req.preserveFds > 0) {
      options.fds = {};
      for (let fd = 3; fd < 3 + req.preserveFds; fd++) options.fds[fd] = fd;
    }
    // The hooks of create and start run inside spawn, where runc runs them (docs/oci.md
    // "Hooks"): prestart and createRuntime by us, createContainer by the container's process
    // before pivot_root, both while it waits with every mount made; startContainer by it after
    // the start gate. Their state is known now but for the pid, which spawn fills in.
    const created = rfc3339();
    const owner = userInfo().username;
    const base = {
      ociVersion: config.ociVersion,
      id: req.id,
      pid: 0,
      bundle: dir,
      rootfs: mapped.options.rootfs as string,
      created,
      owner,
    };
    const stateOf = (status: OciState['status']) =>
      hookState(config.annotations ? { ...base, annotations: config.annotations } : base, status);
    const inSpawn = ociSpawnHooks(mapped.hooks, stateOf, config.process?.env);
    if (Object.keys(inSpawn.hooks).length > 0) options.hooks = inSpawn.hooks;
    log.debug(`spawning ${mapped.command} for ${req.id}`);
    // A profile compiled by an earlier create of this build is read back, not compiled again.
    setSeccompStore(seccompCache(store.root));
    try {
      child = spawn(mapped.command, mapped.args, options);
    } catch (err) {
      throw ociHookError(err, inSpawn.origin);
    } finally {
      setSeccompStore(undefined);
    }
    // At once, before the event loop turns (so this process never takes a notification), the
    // seccomp listener goes to linux.seccomp.listenerPath, as runc sends it: status creating.
    if (child.seccompNotifier && mapped.seccompListener) {
      const state = { ociVersion: config.ociVersion, id: req.id, status: 'creating', pid: child.pid, bundle: dir } as const;
      sendListener(child.seccompNotifier, mapped.seccompListener, {
        ...state,
        ...(config.annotations && { annotations: config.annotations }),
      });
    }
    // process.terminal: the pty was made inside the container; its master goes to the
    // console socket (SCM_RIGHTS, runc's message), and this process keeps no copy.
    // A foreground run keeps it (child.terminal) to relay the caller's terminal.
    if (child.terminal && req.consoleSocket !== undefined) await sendTerminal(req.consoleSocket, child.terminal);
    const start = startTime(child.pid);
    if (start === undefined) throw new RuntimeError(`container ${req.id}: its process ${child.pid} exited during create`);
    const rec: ContainerRecord = {
      ociVersion: config.ociVersion,
      id: req.id,
      pid: child.pid,
      startTime: start,
      bundle: dir,
      rootfs: mapped.options.rootfs as string,
      created,
      owner,
      gate,
      config,
    };
    if (config.annotations) rec.annotations = config.annotations;
    if (made) Object.assign(rec, { cgroup: made.cg.path, cgroupDir: made.cg.directory, cgroupOwned: made.owned });
    if (Object.keys(mapped.hooks).length > 0) rec.hooks = mapped.hooks;
    store.write(rec);
    if (req.pidFile !== undefined) writeAtomic(req.pidFile, String(child.pid), 0o644);
    // The waiting process outlives this command (spawn's startGate): let the loop end.
    child.unref();
    return { rec, child };
  } catch (err) {
    child?.kill('SIGKILL');
    if (child?.terminal && !child.terminal.closed) child.terminal.close();
    if (child) await child.exited;
    if (made?.owned) {
      await made.cg.remove({ recursive: true }).catch(() => undefined);
      removeDefaultParent(made.cg.path, made.cg.directory);
    }
    store.remove(req.id);
    throw err;
  } finally {
    m.close();
    unlock?.();
  }
}

/**
 * Sends a seccomp listener to the agent at `listener.path` (runtime-spec listenerPath) with the
 * container process state (`pid`: the process under the filter, by default the container's),
 * and closes ours: the agent answers the notifications now. A failure is an error
 * (config-linux.md: the runtime MUST generate one).
 */
export function sendListener(
  notifier: SeccompNotifier,
  listener: NonNullable<OciSpawn['seccompListener']>,
  state: Parameters<typeof containerProcessState>[0],
  pid: number = state.pid,
): void {
  try {
    sendFd(listener.path, notifier, { name: JSON.stringify(containerProcessState(state, pid, listener.metadata)) });
  } finally {
    notifier.close();
  }
}
