/**
 * `runHooks()`: OCI hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle") run in
 * the runtime's namespaces, one after the other, with the container's state as JSON on stdin.
 * @module
 */
import type { spawn as Spawn } from 'node:child_process';
import { nsboxError, type NsboxErrorCode } from '../errors.js';
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

/** Options of {@link runHooks}. */
export interface RunHooksOptions {
  /** Aborts the running hook (SIGKILL to its process group) and rejects. */
  signal?: AbortSignal;
}

const STDERR_KEPT = 4096;

function runOne(spawn: typeof Spawn, hook: OciHook, at: string, state: string, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const fail = (what: string, extra: Partial<HookError>, stderr = '') => {
      const tail = stderr.trim() === '' ? '' : `: ${stderr.trim().slice(-STDERR_KEPT)}`;
      const err = nsboxError('ERR_NSBOX_HOOK_FAILED', `config.json: ${at} (${hook.path}) ${what}${tail}`) as HookError;
      Object.assign(err, { jsonPath: at, path: hook.path, ...extra });
      reject(err);
    };
    // config.md: args and env as execv(3) takes them — args[0] is argv[0]; no inherited env.
    const env: Record<string, string> = {};
    for (const e of hook.env ?? []) {
      const eq = e.indexOf('=');
      if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
    }
    const args = hook.args ?? [hook.path];
    // Its own process group, so a timeout or an abort kills whatever the hook started too.
    const child = spawn(hook.path, args.slice(1), { argv0: args[0] ?? hook.path, env, stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    let killedFor: 'timeout' | 'abort' | undefined;
    const killGroup = (why: 'timeout' | 'abort') => {
      killedFor ??= why;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-STDERR_KEPT);
    });
    const timer = hook.timeout === undefined ? undefined : setTimeout(() => killGroup('timeout'), hook.timeout * 1000);
    const onAbort = () => killGroup('abort');
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    const done = () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    child.stdin!.on('error', () => undefined); // a hook that does not read its stdin
    child.stdin!.end(state);
    child.once('error', (e: NodeJS.ErrnoException) => {
      done();
      fail(`could not be started (${e.code ?? e.message})`, {});
    });
    // A hook that leaves a process behind holding stderr must not hang the runtime: once it
    // has exited, what stderr still has comes within a moment or not at all.
    child.once('exit', () => setTimeout(() => child.stderr!.destroy(), 200).unref());
    child.once('close', (status, sig) => {
      done();
      if (killedFor === 'abort') fail('was aborted', { signal: 'SIGKILL' }, stderr);
      else if (killedFor === 'timeout') fail(`ran past its timeout of ${hook.timeout} s and was killed`, { signal: 'SIGKILL' }, stderr);
      else if (sig !== null) fail(`was killed by ${sig}`, { signal: sig }, stderr);
      else if (status !== 0) fail(`exited with status ${status}`, { status: status ?? undefined }, stderr);
      else resolvePromise();
    });
  });
}

/**
 * Runs the hooks of one kind (`'poststart'`, …) in order, each with `state` as JSON on its
 * stdin, in the caller's namespaces; stops at the first that fails. Each runs with exactly
 * its own `args` (`args[0]` is its argv[0]) and `env`, in a process group of its own that is
 * SIGKILLed after its `timeout` seconds. What a failure means is the caller's decision (runtime.md: a failing
 * createRuntime, createContainer, startContainer or prestart hook fails the operation; a
 * failing poststart or poststop hook is only logged). Asynchronous.
 * @throws `ERR_NSBOX_HOOK_FAILED` (see {@link HookError}).
 */
export async function runHooks(
  hooks: OciHooks | undefined,
  kind: keyof OciHooks,
  state: OciState,
  options: RunHooksOptions = {},
): Promise<void> {
  const text = JSON.stringify(state);
  const list = hooks?.[kind] ?? [];
  if (list.length === 0) return;
  // node:child_process only when there is a hook to run: most containers have none, and
  // nsbox-oci's create pays for every builtin it loads.
  const { spawn } = await import('node:child_process');
  for (let i = 0; i < list.length; i++) await runOne(spawn, list[i]!, `hooks.${kind}[${i}]`, text, options.signal);
}
