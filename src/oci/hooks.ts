/**
 * `runHooks()`: OCI hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle") run one
 * after the other, with the container's state as JSON on stdin: in the runtime's namespaces,
 * or for createContainer and startContainer in the container's (spawned with nsbox's `join`).
 * And the mapping of the create/start hooks onto spawn's own `hooks` option, which
 * `nsbox-oci` uses instead: there they run where runc runs them, rootless too.
 * @module
 */
import type { spawn as Spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { invalidArgValue, nsboxError, SysError, type NsboxErrorCode } from '../errors.js';
import type { SpawnHook, SpawnHooks } from '../namespaces/hooks.js';
import type { SpawnOptions } from '../namespaces/options.js';
import type { NamespaceType } from '../namespaces/types.js';
import type { OciState } from './state.js';
import type { OciHook, OciHooks } from './types.js';

/** A hook that failed: `ERR_NSBOX_HOOK_FAILED`. */
export type HookError = Error & {
  /** `'ERR_NSBOX_HOOK_FAILED'`. */
  code: NsboxErrorCode;
  /** The hook, as a JSON path: `hooks.poststart[0]`. */
  jsonPath: string;
  /** The hook's program. */
  path: string;
  /** Its exit status, when it exited. */
  status?: number;
  /** The signal that ended it, when one did (SIGKILL after a timeout). */
  signal?: string;
};

/** The container a createContainer or startContainer hook runs in: see {@link RunHooksOptions.container}. */
export interface HookContainer {
  /** The container's process (as spawn's `child.pid`, or the runtime's record): its namespaces are joined. */
  pid: number;
  /** Its cgroup v2 directory or path, where the hook is placed (as a process of the container). */
  cgroup?: string;
}

/** Options of {@link runHooks}. */
export interface RunHooksOptions {
  /** Aborts the running hook (SIGKILL to its process group) and rejects. */
  signal?: AbortSignal;
  /**
   * Required for `createContainer` and `startContainer` (config.md: they run in the container
   * namespace), refused for the other kinds: each hook is spawned by nsbox's `spawn()` with
   * `join` of every namespace of `pid` that differs from the caller's (entered as its user
   * namespace's root, non-dumpable until execve, nothing of the caller's but the hook's args
   * and env), in `cgroup`. A createContainer hook's `path` resolves in the runtime's namespace,
   * as config.md asks: it is opened here and executed as `/proc/self/fd/3` inside, so the
   * container needs /proc; an interpreter it names (`#!`, or a dynamic binary's loader) is
   * then found in the container's root, since nsbox's container root is already pivoted when
   * the hook runs (runc and crun run it before pivot_root). A startContainer hook's `path`
   * resolves in the container's root. Joining needs root while the process waits at its
   * start gate (it is non-dumpable); spawn's `hooks` option runs these two kinds from inside
   * the container's process instead, before pivot_root and before execve, as runc does.
   */
  container?: HookContainer;
}

/** Where spawn's `fds` puts a createContainer hook's program. */
const HOOK_FD = 3;

/** The hooks that run in the container's namespaces (config.md#posix-platform-hooks). */
const IN_CONTAINER: ReadonlySet<keyof OciHooks> = new Set(['createContainer', 'startContainer'] as const);

const STDERR_KEPT = 4096;

/** A started hook, as {@link runOne} drives it. */
interface HookProcess {
  /** Its pid in our pid namespace. */
  pid: number;
  stdin: Writable;
  stderr: Readable;
  /** Settles when it has exited. */
  exited: Promise<unknown>;
  /** Its status once it has exited and its stderr is closed; rejects when it could not be started. */
  closed: Promise<{ status: number | null; signal: string | null }>;
}

/** A hook as a child of ours, in our namespaces (node:child_process). */
function launchHere(spawn: typeof Spawn, hook: OciHook, args: string[], env: Record<string, string>): HookProcess {
  // Its own process group, so a timeout or an abort kills whatever the hook started too.
  const child = spawn(hook.path, args.slice(1), { argv0: args[0] ?? hook.path, env, stdio: ['pipe', 'ignore', 'pipe'], detached: true });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const closed = new Promise<{ status: number | null; signal: string | null }>((res, rej) => {
    child.once('error', rej);
    child.once('close', (status, signal) => res({ status, signal }));
  });
  return { pid: child.pid ?? 0, stdin: child.stdin!, stderr: child.stderr!, exited, closed };
}

/**
 * The namespaces of `pid` that are not the caller's, to join by its pid. @internal
 * (also the runtime's `exec`)
 */
export function namespacesToJoin(pid: number): NamespaceType[] {
  return KINDS.filter((t) => {
    try {
      return statSync(`/proc/${pid}/ns/${t}`).ino !== statSync(`/proc/self/ns/${t}`).ino;
    } catch (err) {
      // ENOENT: a kind this kernel lacks. Anything else (EACCES: a process waiting at its
      // start gate is non-dumpable, and only root passes ptrace's check) must not be taken
      // for "the same namespace as ours": the process would run in the runtime's.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  });
}

/** The namespace kinds of /proc/PID/ns (this module loads no addon until a hook runs in a container). */
const KINDS: readonly NamespaceType[] = ['user', 'mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup', 'time'];

/** A hook spawned into the container's namespaces (nsbox's spawn with `join`). */
async function launchInContainer(
  hook: OciHook,
  args: string[],
  env: Record<string, string>,
  c: HookContainer,
  pathInRuntime: boolean,
): Promise<HookProcess> {
  const { spawn: nsSpawn } = await import('../namespaces/spawn.js');
  const options: SpawnOptions = {
    argv0: args[0] ?? hook.path,
    env,
    join: Object.fromEntries(namespacesToJoin(c.pid).map((t) => [t, c.pid])),
    stdio: ['pipe', 'ignore', 'pipe'],
    processGroup: true,
  };
  if (c.cgroup !== undefined) options.cgroup = c.cgroup;
  let fd: number | undefined;
  try {
    if (pathInRuntime) {
      fd = openSync(hook.path, 'r'); // O_CLOEXEC here; spawn dup2s it to HOOK_FD in the child
      options.fds = { [HOOK_FD]: fd };
    }
    const child = nsSpawn(pathInRuntime ? `/proc/self/fd/${HOOK_FD}` : hook.path, args.slice(1), options);
    const stderrClosed = new Promise<void>((res) => child.stderr!.once('close', () => res()));
    const closed = Promise.all([child.exited, stderrClosed]).then(([e]) => ({ status: e.code, signal: e.signal }));
    return { pid: child.pid, stdin: child.stdin!, stderr: child.stderr!, exited: child.exited, closed };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The process group of `pid` (field 5 of /proc/PID/stat), or `pid` when it is gone. */
function processGroupOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) || pid;
  } catch {
    return pid;
  }
}

/** The HookError of the hook at `at`: `what` it did, with the end of its stderr. */
function hookError(at: string, hook: OciHook, what: string, extra: Partial<HookError>, stderr = ''): HookError {
  const tail = stderr.trim() === '' ? '' : `: ${stderr.trim().slice(-STDERR_KEPT)}`;
  const err = nsboxError('ERR_NSBOX_HOOK_FAILED', `config.json: ${at} (${hook.path}) ${what}${tail}`) as HookError;
  Object.assign(err, { jsonPath: at, path: hook.path, ...extra });
  return err;
}

/** config.md: env as execv(3) takes it, `NAME=value`; no inherited environment. */
function envOf(list: readonly string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of list ?? []) {
    const eq = e.indexOf('=');
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return env;
}

async function runOne(
  spawn: typeof Spawn | undefined,
  hook: OciHook,
  at: string,
  state: string,
  options: RunHooksOptions,
  kind: keyof OciHooks,
): Promise<void> {
  const fail = (what: string, extra: Partial<HookError>, stderr = ''): never => {
    throw hookError(at, hook, what, extra, stderr);
  };
  // config.md: args and env as execv(3) takes them — args[0] is argv[0]; no inherited env.
  const env = envOf(hook.env);
  const args = hook.args ?? [hook.path];
  let child: HookProcess;
  try {
    child =
      options.container === undefined
        ? launchHere(spawn!, hook, args, env)
        : await launchInContainer(hook, args, env, options.container, kind === 'createContainer');
  } catch (e) {
    const { code, step } = e as { code?: string; step?: string };
    // The program was opened here; what exec(2) did not find inside is what it names.
    const why =
      kind === 'createContainer' && code === 'ENOENT' && step === 'exec'
        ? ": its #! interpreter or ELF loader is not in the container's root"
        : '';
    return fail(`could not be started (${code ?? (e as Error).message}${why})`, {});
  }
  const { signal } = options;
  let stderr = '';
  let killedFor: 'timeout' | 'abort' | undefined;
  const killGroup = (why: 'timeout' | 'abort') => {
    killedFor ??= why;
    try {
      process.kill(-processGroupOf(child.pid), 'SIGKILL');
    } catch {
      // already gone
    }
  };
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-STDERR_KEPT);
  });
  const timer = hook.timeout === undefined ? undefined : setTimeout(() => killGroup('timeout'), hook.timeout * 1000);
  const onAbort = () => killGroup('abort');
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  child.stdin.on('error', () => undefined); // a hook that does not read its stdin
  child.stdin.end(state);
  // A hook that leaves a process behind holding stderr must not hang the runtime: once it
  // has exited, what stderr still has comes within a moment or not at all.
  void child.exited.then(() => setTimeout(() => child.stderr.destroy(), 200).unref());
  let result: { status: number | null; signal: string | null };
  try {
    result = await child.closed;
  } catch (e) {
    return fail(`could not be started (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {});
  } finally {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  const { status, signal: sig } = result;
  if (killedFor === 'abort') fail('was aborted', { signal: 'SIGKILL' }, stderr);
  else if (killedFor === 'timeout') fail(`ran past its timeout of ${hook.timeout} s and was killed`, { signal: 'SIGKILL' }, stderr);
  else if (sig !== null) fail(`was killed by ${sig}`, { signal: sig }, stderr);
  else if (status !== 0) fail(`exited with status ${status}`, { status: status ?? undefined }, stderr);
}

/**
 * Runs the hooks of one kind (`'poststart'`, …) in order, each with `state` as JSON on its
 * stdin; stops at the first that fails. Each runs with exactly its own `args` (`args[0]` is
 * its argv[0]) and `env`, in a process group of its own that is SIGKILLed after its `timeout`
 * seconds. `createContainer` and `startContainer` hooks run in the container's namespaces
 * (`options.container`, required for them); the others in the caller's. What a failure means
 * is the caller's decision (runtime.md: a failing createRuntime, createContainer,
 * startContainer or prestart hook fails the operation; a failing poststart or poststop hook is
 * only logged). Asynchronous.
 * @throws TypeError `ERR_INVALID_ARG_VALUE` (synchronously) when `options.container`
 *   is missing for createContainer/startContainer or given for another kind;
 *   rejects with `ERR_NSBOX_HOOK_FAILED` (see {@link HookError}).
 */
export function runHooks(hooks: OciHooks | undefined, kind: keyof OciHooks, state: OciState, options: RunHooksOptions = {}): Promise<void> {
  const inContainer = IN_CONTAINER.has(kind);
  if (inContainer !== (options.container !== undefined))
    throw invalidArgValue(
      'options.container',
      options.container,
      inContainer
        ? `is required for ${kind} hooks (they run in the container's namespaces)`
        : `is only for createContainer and startContainer hooks`,
    );
  const pid = options.container?.pid;
  if (options.container !== undefined && !(Number.isSafeInteger(pid) && pid! > 0))
    throw invalidArgValue('options.container.pid', pid, 'must be a positive integer');
  return runAll(hooks?.[kind] ?? [], kind, JSON.stringify(state), options);
}

async function runAll(list: OciHook[], kind: keyof OciHooks, text: string, options: RunHooksOptions): Promise<void> {
  if (list.length === 0) return;
  // node:child_process only when a hook runs here: most containers have none, and
  // nsbox-oci's create pays for every builtin it loads.
  const spawn = options.container === undefined ? (await import('node:child_process')).spawn : undefined;
  for (let i = 0; i < list.length; i++) await runOne(spawn, list[i]!, `hooks.${kind}[${i}]`, text, options, kind);
}

/** The config.json hook behind each entry of spawn's `hooks`: its JSON path and the hook. @internal */
export type HookOrigin = Partial<Record<keyof SpawnHooks, ReadonlyArray<{ at: string; hook: OciHook }>>>;

/** The longest timeout spawn takes (milliseconds: 2^31 - 1, about 24.8 days). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

function spawnHook(hook: OciHook, state: OciState, env?: readonly string[]): SpawnHook {
  const h: SpawnHook = {
    path: hook.path,
    args: hook.args ?? [hook.path],
    env: envOf(hook.env ?? env),
    state: { ...state },
  };
  if (hook.timeout !== undefined) h.timeout = Math.min(hook.timeout * 1000, MAX_TIMEOUT_MS);
  return h;
}

/**
 * The hooks spawn runs itself (its `hooks` option), where runc runs them: `prestart` (status
 * `created`, as crun gives it) then `createRuntime` (`creating`) by the runtime before
 * pivot_root; `createContainer` (`creating`) by the container's process before pivot_root,
 * with the runtime's root; `startContainer` (`created`) by it after the start gate, before
 * execve, with `processEnv` (config.json's `process.env`) when it has no `env` of its own, as
 * runc gives it. `state(status)`: the state each reads on stdin (its `pid` is spawn's). @internal
 */
export function ociSpawnHooks(
  hooks: OciHooks,
  state: (status: OciState['status']) => OciState,
  processEnv?: readonly string[],
): { hooks: SpawnHooks; origin: HookOrigin } {
  const out: SpawnHooks = {};
  const origin: Record<keyof SpawnHooks, Array<{ at: string; hook: OciHook }>> = {
    createRuntime: [],
    createContainer: [],
    startContainer: [],
  };
  const add = (into: keyof SpawnHooks, kind: keyof OciHooks, status: OciState['status'], env?: readonly string[]) => {
    for (const [i, hook] of (hooks[kind] ?? []).entries()) {
      (out[into] ??= []).push(spawnHook(hook, state(status), env));
      origin[into].push({ at: `hooks.${kind}[${i}]`, hook });
    }
  };
  add('createRuntime', 'prestart', 'created');
  add('createRuntime', 'createRuntime', 'creating');
  add('createContainer', 'createContainer', 'creating');
  add('startContainer', 'startContainer', 'created', processEnv);
  return { hooks: out, origin };
}

/** The origin of `startContainer` hooks alone (what `start` knows: the container's record). @internal */
export function startHookOrigin(hooks: OciHooks | undefined): HookOrigin {
  return { startContainer: (hooks?.startContainer ?? []).map((hook, i) => ({ at: `hooks.startContainer[${i}]`, hook })) };
}

/**
 * A failure of spawn (or of the start gate) that a hook of `origin` caused, as the
 * ERR_NSBOX_HOOK_FAILED that runHooks gives (the SysError as its `cause`); anything else as
 * it is. @internal
 */
export function ociHookError(err: unknown, origin: HookOrigin): unknown {
  const m = err instanceof SysError ? /^hooks\.(createRuntime|createContainer|startContainer)\[(\d+)\]$/.exec(err.step ?? '') : null;
  const o = m ? origin[m[1] as keyof SpawnHooks]?.[Number(m[2])] : undefined;
  if (!o) return err;
  const e = err as SysError;
  let out: HookError;
  if (e.code === 'ETIMEDOUT')
    out = hookError(o.at, o.hook, `ran past its timeout of ${o.hook.timeout} s and was killed`, { signal: 'SIGKILL' }, e.stderr);
  else if (e.signal !== undefined) out = hookError(o.at, o.hook, `was killed by ${e.signal}`, { signal: e.signal }, e.stderr);
  else if (e.status !== undefined) out = hookError(o.at, o.hook, `exited with status ${e.status}`, { status: e.status }, e.stderr);
  else {
    const where = o.at.startsWith('hooks.startContainer') ? "in the container's root" : "on the runtime's filesystem";
    const why = e.code === 'ENOENT' && e.syscall === 'execve' ? `: it, or the #! interpreter or ELF loader it names, is not ${where}` : '';
    out = hookError(o.at, o.hook, `could not be started (${e.code}${why})`, {});
  }
  out.cause = err;
  return out;
}
