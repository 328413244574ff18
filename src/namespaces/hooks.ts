/**
 * spawn's `hooks`: programs run at three points of the spawn plan, where the OCI runtime spec
 * runs its `createRuntime`, `createContainer` and `startContainer` hooks — by this process
 * while the child waits, or by the child itself, before pivot_root(2) and before execve(2), as
 * runc runs them from its init. The child runs them natively (csrc/child_hook.cc, OP_HOOK);
 * this module validates them and says what a failed one's report means.
 * @module
 */
import { constants as osConstants } from 'node:os';
import { invalidArgType, invalidArgValue, outOfRange, SysError, type SysErrorContext } from '../errors.js';
import { K } from '../native.js';

/** A program spawn runs at one point of its setup (see {@link SpawnHooks}). */
export interface SpawnHook {
  /** The program: an absolute path, executed as is (execve(2), no PATH search). Where it resolves depends on the hook's kind. */
  path: string;
  /** Its argv, `args[0]` first (execv(3)'s, as OCI's `args`). Default: `[path]`. */
  args?: string[];
  /** Its whole environment. Default: none (not this process's). */
  env?: Record<string, string>;
  /**
   * Milliseconds after which its process group is SIGKILLed and the spawn fails (`ETIMEDOUT`).
   * Default: no limit — spawn (or the start) waits as long as it runs.
   */
  timeout?: number;
  /** Text written to its stdin, which is then closed. Default: none (an empty stdin). Not with `state`. */
  stdin?: string;
  /**
   * An object written to its stdin as JSON with `pid` set to the child's pid as this process
   * sees it (`child.pid`, not 1 in a new pid namespace): the container's state, as OCI hooks
   * read it (runtime.md "State"). Not with `stdin`.
   */
  state?: Record<string, unknown>;
}

/**
 * spawn's `hooks`: programs run at three points of the child's setup, each in order; the first
 * that fails — a non-zero exit (`ECANCELED`, with `status`), a signal (`ECANCELED`, with
 * `signal`), its `timeout` (`ETIMEDOUT`; its process group is SIGKILLed) or a program that
 * cannot be executed (the execve(2) errno) — fails the spawn (or the start) with a
 * {@link SysError} whose `step` names it (`'hooks.createContainer[0]'`), with its `path` and
 * the end of its stderr (`stderr`). Nothing is left: the child is killed and reaped.
 *
 * Every hook runs as a process of its own, in a process group of its own (SIGKILLed whole at
 * its timeout), with exactly its `args` and `env`, its stdin the given text, its stdout
 * discarded and its stderr kept (the last 4 KiB) for the error; PR_SET_PDEATHSIG kills it if
 * what runs it dies. It holds no fd of nsbox's or of this process's (close_range(2) before
 * execve), and none of this process's memory (execve(2) replaces it). docs/security.md.
 *
 * Blocking: spawn waits for the `createRuntime` and `createContainer` hooks (the calling
 * thread, as for the rest of the setup): give them a `timeout`.
 */
export interface SpawnHooks {
  /**
   * Run by this process — in its own namespaces, root and credentials, as
   * `child_process.spawn` would — while the child waits with its namespaces made and its root
   * assembled (every mount made), before its `createContainer` hooks and pivot_root(2).
   * OCI's `prestart` and `createRuntime`. Needs `rootfs` or `mounts`.
   */
  createRuntime?: SpawnHook[];
  /**
   * Run by the child before pivot_root(2): in its namespaces (mount, uts, ipc, net, pid,
   * cgroup, and the user namespace that built the root), its cgroup and credentials (the
   * setup's: root of its user namespace, or real root), with the caller's root — the child's
   * private copy of this process's mount namespace, chroot(2)ed into — so `path`, and any
   * interpreter it names (`#!`, an ELF loader), resolve on the host, as runc runs OCI's
   * `createContainer`. A directory `rootfs` appears at its path there with every mount made for
   * the container (masks, read-only paths and a read-only root come after the hooks). With the
   * mount lock (`lockMounts`), the command later runs in a user and mount namespace nested in
   * these. Needs `rootfs` or `mounts`; not with `join.user` (processes of a joined user
   * namespace could ptrace the hook, which holds the host's filesystem).
   */
  createContainer?: SpawnHook[];
  /**
   * Run by the child right before execve(2) of the command — after the start gate
   * (`startGate`) opens, in the command's namespaces, root, cwd, cgroup and credentials, under
   * its capabilities, no_new_privs, Landlock and seccomp filter, so `path` resolves in the
   * container — as runc runs OCI's `startContainer`. A failure after the gate fails
   * `openStartGate()` instead, and the child exits without running the command.
   */
  startContainer?: SpawnHook[];
}

/** A hook as the plan carries it. @internal */
export interface CheckedHook {
  path: string;
  argv: string[];
  env: string[];
  /** Milliseconds; 0: no limit. */
  timeout: number;
  /** Its stdin: `before`, then (when `pid`) the child's pid, then `after`. */
  before: string;
  after: string;
  pid: boolean;
}

/** The hook kinds, in the order they run. */
export const HOOK_KINDS = ['createRuntime', 'createContainer', 'startContainer'] as const;

/** Validated `hooks`, every list present. @internal */
export type CheckedHooks = Record<(typeof HOOK_KINDS)[number], CheckedHook[]>;

const MAX_HOOKS = 1024;
const MAX_TIMEOUT = 2 ** 31 - 1;

function noNul(name: string, v: unknown): string {
  if (typeof v !== 'string') throw invalidArgType(name, 'of type string', v);
  if (v.includes('\0')) throw invalidArgValue(name, v, 'must be a string without null bytes');
  return v;
}

/** The stdin of a hook: its text, or its state as JSON cut where the pid goes. */
function stdinOf(name: string, h: SpawnHook): Pick<CheckedHook, 'before' | 'after' | 'pid'> {
  if (h.state === undefined) return { before: h.stdin === undefined ? '' : noNul(`${name}.stdin`, h.stdin), after: '', pid: false };
  if (h.stdin !== undefined) throw invalidArgValue(`${name}.stdin`, h.stdin, `cannot be given with ${name}.state`);
  if (typeof h.state !== 'object' || h.state === null || Array.isArray(h.state))
    throw invalidArgType(`${name}.state`, 'an object', h.state);
  // The pid is known only in the child: the JSON is cut where it goes, the top-level `pid`
  // member (appended when the state has none), written as JSON.stringify writes an object.
  const members: string[] = [];
  let at = -1;
  try {
    for (const [k, v] of Object.entries(h.state)) {
      if (k === 'pid') {
        at = members.push(`${JSON.stringify(k)}:`) - 1;
        continue;
      }
      const text = JSON.stringify(v);
      if (text !== undefined) members.push(`${JSON.stringify(k)}:${text}`);
    }
  } catch {
    throw invalidArgValue(`${name}.state`, h.state, 'must be serialisable as JSON');
  }
  if (at < 0) at = members.push('"pid":') - 1;
  const rest = members.slice(at + 1);
  return { before: `{${members.slice(0, at + 1).join(',')}`, after: `${rest.length > 0 ? ',' : ''}${rest.join(',')}}`, pid: true };
}

function checkHook(name: string, h: unknown): CheckedHook {
  if (typeof h !== 'object' || h === null) throw invalidArgType(name, 'an object', h);
  const o = h as SpawnHook;
  for (const k of Object.keys(o))
    if (!['path', 'args', 'env', 'timeout', 'stdin', 'state'].includes(k))
      throw invalidArgValue(`${name}.${k}`, (o as unknown as Record<string, unknown>)[k], 'is not a hook option');
  const path = noNul(`${name}.path`, o.path);
  if (!path.startsWith('/')) throw invalidArgValue(`${name}.path`, path, 'must be an absolute path');
  let argv = [path];
  if (o.args !== undefined) {
    if (!Array.isArray(o.args)) throw invalidArgType(`${name}.args`, 'an array of strings', o.args);
    argv = o.args.map((a, i) => noNul(`${name}.args[${i}]`, a));
  }
  const env: string[] = [];
  if (o.env !== undefined) {
    if (typeof o.env !== 'object' || o.env === null || Array.isArray(o.env)) throw invalidArgType(`${name}.env`, 'an object', o.env);
    for (const [k, v] of Object.entries(o.env)) {
      if (k.length === 0 || k.includes('=')) throw invalidArgValue(`${name}.env`, k, 'has a variable name that is empty or contains "="');
      env.push(noNul(`${name}.env.${k}`, `${k}=${noNul(`${name}.env.${k}`, v)}`));
    }
  }
  let timeout = 0;
  if (o.timeout !== undefined) {
    if (typeof o.timeout !== 'number' || !(o.timeout > 0) || o.timeout > MAX_TIMEOUT)
      throw outOfRange(`${name}.timeout`, 'a number of milliseconds > 0 and < 2^31', o.timeout);
    timeout = Math.ceil(o.timeout);
  }
  return { path, argv, env, timeout, ...stdinOf(name, o) };
}

/**
 * Validates spawn's `hooks` (no syscalls). `container`: the spawn builds a container root;
 * `joinUser`: it joins a user namespace. @internal
 */
export function checkHooks(v: unknown, f: { container: boolean; joinUser: boolean }): CheckedHooks | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidArgType('options.hooks', 'an object', v);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!(HOOK_KINDS as readonly string[]).includes(k))
      throw invalidArgValue(`options.hooks.${k}`, o[k], `is not one of ${HOOK_KINDS.join(', ')}`);
  const out = { createRuntime: [], createContainer: [], startContainer: [] } as CheckedHooks;
  for (const kind of HOOK_KINDS) {
    const list = o[kind];
    if (list === undefined) continue;
    const name = `options.hooks.${kind}`;
    if (!Array.isArray(list)) throw invalidArgType(name, 'an array of hooks', list);
    if (list.length > MAX_HOOKS) throw outOfRange(`${name}.length`, `<= ${MAX_HOOKS}`, list.length);
    out[kind] = list.map((h, i) => checkHook(`${name}[${i}]`, h));
    if (kind !== 'startContainer' && list.length > 0 && !f.container)
      throw invalidArgValue(name, list, 'needs options.rootfs or options.mounts (it runs before pivot_root)');
  }
  if (out.createContainer.length > 0 && f.joinUser)
    throw invalidArgValue(
      'options.hooks.createContainer',
      o.createContainer,
      "cannot be combined with options.join.user: the joined user namespace's processes could ptrace the hook, whose root is the host's",
    );
  return out;
}

const signalNames = new Map<number, string>(Object.entries(osConstants.signals).map(([name, n]) => [n, name]));

/** What a failed hook's report names (a plan's step, or what the start gate knows). @internal */
export interface HookAt {
  step: string;
  path?: string;
  /** Its timeout in milliseconds, when the reporter knows it. */
  timeout?: number;
}

/**
 * The SysError of a failed hook: `errno`, and the MSG_ERROR value `sysid` (the syscall's
 * SysId, the status above it: csrc/plan.h OP_HOOK). @internal
 */
export function hookFailure(errno: number, sysid: number, at: HookAt, extra: { pid?: number; stderr?: string } = {}): SysError {
  const status = (sysid >>> K.SYS_ITEM_SHIFT) - 1;
  const syscall = K.SYSID[sysid & ((1 << K.SYS_ITEM_SHIFT) - 1)] ?? 'execve';
  const ctx: SysErrorContext = { step: at.step };
  if (at.path !== undefined) ctx.path = at.path;
  if (extra.pid !== undefined) ctx.pid = extra.pid;
  let what: string | undefined;
  if (status >= 256) {
    ctx.signal = signalNames.get(status - 256) ?? String(status - 256);
    what =
      errno === osConstants.errno.ETIMEDOUT
        ? `ran past its timeout${at.timeout ? ` of ${at.timeout} ms` : ''}: its process group was SIGKILLed`
        : `was killed by ${ctx.signal}`;
  } else if (status >= 0) {
    ctx.status = status;
    what = `exited with status ${status}`;
  }
  const tail = extra.stderr?.trim();
  if (tail) ctx.stderr = extra.stderr!;
  if (what !== undefined) ctx.hint = tail ? `the hook ${what}: ${tail}` : `the hook ${what}`;
  return new SysError(errno, syscall, ctx);
}
