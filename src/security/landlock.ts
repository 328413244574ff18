/**
 * Landlock (landlock(7)): an unprivileged access-control layer a process puts on itself and
 * every process it starts. nsbox applies a ruleset only to a spawned child — the `landlock`
 * option of `spawn()`, a step of the spawn plan run after every mount and pivot_root — never
 * to Node itself. This module holds the ruleset's types, its validation, and the masking of
 * its rights to the ABI the kernel reports (best-effort or strict). docs/security.md has the
 * rights and ABI table.
 * @module
 */
import { invalidArgType, invalidArgValue, nsboxError, outOfRange } from '../errors.js';
import { K, native } from '../native.js';

/** A filesystem right, the kernel's `LANDLOCK_ACCESS_FS_*` name in lower kebab case. */
export type LandlockFsAccess =
  | 'execute'
  | 'write-file'
  | 'read-file'
  | 'read-dir'
  | 'remove-dir'
  | 'remove-file'
  | 'make-char'
  | 'make-dir'
  | 'make-reg'
  | 'make-sock'
  | 'make-fifo'
  | 'make-block'
  | 'make-sym'
  | 'refer'
  | 'truncate'
  | 'ioctl-dev';

/**
 * A right or a shorthand: `'read'` = read-file + read-dir; `'write'` = write-file, remove-*,
 * make-*, refer, truncate, ioctl-dev (everything that changes the tree or a file's content);
 * `'execute'` is the right itself.
 */
export type LandlockFsAccessName = LandlockFsAccess | 'read' | 'write';

/** A TCP right (`LANDLOCK_ACCESS_NET_*`, ABI 4). */
export type LandlockNetAccess = 'bind-tcp' | 'connect-tcp';

/** What a scoped domain cannot reach outside itself (`LANDLOCK_SCOPE_*`, ABI 6). */
export type LandlockScope = 'abstract-unix-socket' | 'signal';

/** Rights granted beneath a path (LANDLOCK_RULE_PATH_BENEATH). */
export interface LandlockFsRule {
  /**
   * An absolute path, opened by the child after pivot_root: in a container it is the
   * container's path. A file (not a directory) keeps only the rights that apply to files
   * (execute, read-file, write-file, truncate, ioctl-dev).
   */
  path: string;
  /** One name or a list; shorthands allowed. Must not be empty. */
  access: LandlockFsAccessName | readonly LandlockFsAccessName[];
  /** A missing path (ENOENT, ENOTDIR) skips the rule instead of failing the spawn. Default false. */
  optional?: boolean;
}

/** Rights on one TCP port (LANDLOCK_RULE_NET_PORT, ABI 4). */
export interface LandlockNetRule {
  /** 0 to 65535, host order. */
  port: number;
  /** One right or a list; must not be empty. */
  access: LandlockNetAccess | readonly LandlockNetAccess[];
}

/**
 * A Landlock ruleset for a spawned child: everything it handles is denied except what a rule
 * grants.
 */
export interface LandlockRuleset {
  /** Filesystem rules. */
  fs?: readonly LandlockFsRule[];
  /** TCP port rules (ABI 4). */
  net?: readonly LandlockNetRule[];
  /** Scopes (ABI 6): no connecting to abstract UNIX sockets / no signals outside the domain. */
  scopes?: readonly LandlockScope[];
  /**
   * What the ruleset restricts. Default: every filesystem right the kernel's ABI knows; the
   * TCP rights only when `net` rules or `handled.net` are given (then both, by default). A
   * right not handled stays allowed everywhere.
   */
  handled?: {
    /** Filesystem rights restricted (shorthands allowed). Default: all the ABI knows. */
    fs?: LandlockFsAccessName | readonly LandlockFsAccessName[];
    /** TCP rights restricted (ABI 4). Default: both when `net` rules are given, else none. */
    net?: readonly LandlockNetAccess[];
  };
  /**
   * `'best-effort'` (default): rights, scopes, TCP rules and log flags the kernel's ABI lacks
   * are dropped (as rust-landlock's BestEffort); with no Landlock at all (ABI 0) the child
   * runs without a ruleset. `'strict'`: any of these throws `ERR_NSBOX_UNSUPPORTED` instead.
   */
  mode?: 'best-effort' | 'strict';
  /**
   * Audit the command's denials (ABI 7, `LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON`). Default
   * false: `LOG_SAME_EXEC_OFF`, nothing is logged — the policy is nsbox's caller's, not the
   * command's own, which is the case the uapi header leaves unlogged.
   */
  log?: boolean;
}

/** A ruleset masked to an ABI, ready for the spawn plan. @internal */
export interface ResolvedLandlock {
  readonly abi: number;
  readonly handledFs: number;
  readonly handledNet: number;
  readonly scoped: number;
  readonly flags: number;
  readonly fs: ReadonlyArray<{ readonly path: string; readonly access: number; readonly optional: boolean }>;
  readonly net: ReadonlyArray<{ readonly port: number; readonly access: number }>;
}

const L = K.LANDLOCK;
/** A right's bit and the ABI that brought it. @internal */
export interface LandlockRight {
  readonly bit: number;
  readonly abi: number;
}
type Right = LandlockRight;
const r = (name: string, abi: number): Right => ({ bit: L[name]!, abi });

/** Every filesystem right with its bit (from the uapi header) and the ABI that brought it. @internal */
export const FS_RIGHTS: Readonly<Record<LandlockFsAccess, Right>> = Object.freeze({
  execute: r('ACCESS_FS_EXECUTE', 1),
  'write-file': r('ACCESS_FS_WRITE_FILE', 1),
  'read-file': r('ACCESS_FS_READ_FILE', 1),
  'read-dir': r('ACCESS_FS_READ_DIR', 1),
  'remove-dir': r('ACCESS_FS_REMOVE_DIR', 1),
  'remove-file': r('ACCESS_FS_REMOVE_FILE', 1),
  'make-char': r('ACCESS_FS_MAKE_CHAR', 1),
  'make-dir': r('ACCESS_FS_MAKE_DIR', 1),
  'make-reg': r('ACCESS_FS_MAKE_REG', 1),
  'make-sock': r('ACCESS_FS_MAKE_SOCK', 1),
  'make-fifo': r('ACCESS_FS_MAKE_FIFO', 1),
  'make-block': r('ACCESS_FS_MAKE_BLOCK', 1),
  'make-sym': r('ACCESS_FS_MAKE_SYM', 1),
  refer: r('ACCESS_FS_REFER', 2),
  truncate: r('ACCESS_FS_TRUNCATE', 3),
  'ioctl-dev': r('ACCESS_FS_IOCTL_DEV', 5),
});
const NET_RIGHTS: Readonly<Record<LandlockNetAccess, Right>> = Object.freeze({
  'bind-tcp': r('ACCESS_NET_BIND_TCP', 4),
  'connect-tcp': r('ACCESS_NET_CONNECT_TCP', 4),
});
const SCOPES: Readonly<Record<LandlockScope, Right>> = Object.freeze({
  'abstract-unix-socket': r('SCOPE_ABSTRACT_UNIX_SOCKET', 6),
  signal: r('SCOPE_SIGNAL', 6),
});
const LOG_ABI = 7;
/** The Linux release that brought each ABI (for messages). */
const KERNEL_OF: Readonly<Record<number, string>> = { 1: '5.13', 2: '5.19', 3: '6.2', 4: '6.7', 5: '6.10', 6: '6.12', 7: '6.15' };

const READ: readonly LandlockFsAccess[] = ['read-file', 'read-dir'];
const WRITE: readonly LandlockFsAccess[] = [
  'write-file',
  'remove-dir',
  'remove-file',
  'make-char',
  'make-dir',
  'make-reg',
  'make-sock',
  'make-fifo',
  'make-block',
  'make-sym',
  'refer',
  'truncate',
  'ioctl-dev',
];

let abiCache: number | undefined;

/**
 * The Landlock ABI version of the running kernel: 1 (Linux 5.13) to 7 (6.15) on today's
 * kernels, 0 when Landlock is not built in or was disabled at boot. Also shown as
 * `features().landlock`.
 *
 * landlock_create_ruleset(2) with `LANDLOCK_CREATE_RULESET_VERSION`: makes no object, needs
 * no privilege, does not touch the calling thread. Probed once, then cached.
 * @throws nothing.
 */
export function landlockAbi(): number {
  abiCache ??= native.landlockAbi();
  return abiCache;
}

const KNOWN = new Set(['fs', 'net', 'scopes', 'handled', 'mode', 'log']);

function list<T>(name: string, v: unknown, what: string): readonly T[] {
  if (typeof v === 'string') return [v as T];
  if (!Array.isArray(v)) throw invalidArgType(name, `${what} or an array of them`, v);
  return v as T[];
}

/** Names (with shorthands) → the rights they stand for; unknown names are errors. */
function fsNames(name: string, v: unknown): LandlockFsAccess[] {
  const out: LandlockFsAccess[] = [];
  for (const n of list<unknown>(name, v, 'a Landlock filesystem right')) {
    if (n === 'read') out.push(...READ);
    else if (n === 'write') out.push(...WRITE);
    else if (typeof n === 'string' && Object.hasOwn(FS_RIGHTS, n)) out.push(n as LandlockFsAccess);
    else
      throw invalidArgValue(
        name,
        n,
        `must contain only 'read', 'write' or ${Object.keys(FS_RIGHTS)
          .map((k) => `'${k}'`)
          .join(', ')}`,
      );
  }
  return out;
}

function names<T extends string>(name: string, v: unknown, table: Readonly<Record<T, Right>>, what: string): T[] {
  return list<unknown>(name, v, what).map((n) => {
    if (typeof n !== 'string' || !Object.hasOwn(table, n))
      throw invalidArgValue(
        name,
        n,
        `must contain only ${Object.keys(table)
          .map((k) => `'${k}'`)
          .join(', ')}`,
      );
    return n as T;
  });
}

/**
 * Checks a ruleset's shape: known keys, right names, absolute paths without NUL, ports in
 * range. No syscall. Throws `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE`
 * naming the offending option (`options.landlock.fs[2].path`). @internal
 */
export function checkLandlock(name: string, v: unknown): LandlockRuleset {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidArgType(name, 'an object', v);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) throw invalidArgValue(`${name}.${k}`, o[k], 'is not a Landlock ruleset option');
  if (o.fs !== undefined) {
    if (!Array.isArray(o.fs)) throw invalidArgType(`${name}.fs`, 'an array of rules', o.fs);
    o.fs.forEach((rule: unknown, i) => {
      const at = `${name}.fs[${i}]`;
      if (typeof rule !== 'object' || rule === null) throw invalidArgType(at, 'an object', rule);
      const { path, access, optional, ...rest } = rule as Record<string, unknown>;
      for (const k of Object.keys(rest))
        throw invalidArgValue(`${at}.${k}`, rest[k], "is not a rule option: use 'path', 'access', 'optional'");
      if (typeof path !== 'string') throw invalidArgType(`${at}.path`, 'of type string', path);
      if (!path.startsWith('/') || path.includes('\0'))
        throw invalidArgValue(`${at}.path`, path, 'must be an absolute path without null bytes');
      if (fsNames(`${at}.access`, access).length === 0) throw invalidArgValue(`${at}.access`, access, 'must not be empty');
      if (optional !== undefined && typeof optional !== 'boolean') throw invalidArgType(`${at}.optional`, 'of type boolean', optional);
    });
  }
  if (o.net !== undefined) {
    if (!Array.isArray(o.net)) throw invalidArgType(`${name}.net`, 'an array of rules', o.net);
    o.net.forEach((rule: unknown, i) => {
      const at = `${name}.net[${i}]`;
      if (typeof rule !== 'object' || rule === null) throw invalidArgType(at, 'an object', rule);
      const { port, access, ...rest } = rule as Record<string, unknown>;
      for (const k of Object.keys(rest)) throw invalidArgValue(`${at}.${k}`, rest[k], "is not a rule option: use 'port', 'access'");
      if (typeof port !== 'number' || !Number.isInteger(port)) throw invalidArgType(`${at}.port`, 'an integer', port);
      if (port < 0 || port > 65535) throw outOfRange(`${at}.port`, '>= 0 and <= 65535', port);
      if (names(`${at}.access`, access, NET_RIGHTS, 'a Landlock TCP right').length === 0)
        throw invalidArgValue(`${at}.access`, access, 'must not be empty');
    });
  }
  if (o.scopes !== undefined) {
    if (!Array.isArray(o.scopes)) throw invalidArgType(`${name}.scopes`, 'an array of scopes', o.scopes);
    names(`${name}.scopes`, o.scopes, SCOPES, 'a Landlock scope');
  }
  if (o.handled !== undefined) {
    const h = o.handled as Record<string, unknown>;
    if (typeof h !== 'object' || h === null || Array.isArray(h)) throw invalidArgType(`${name}.handled`, 'an object', h);
    for (const k of Object.keys(h))
      if (k !== 'fs' && k !== 'net') throw invalidArgValue(`${name}.handled.${k}`, h[k], "is not a handled kind: use 'fs' or 'net'");
    if (h.fs !== undefined) fsNames(`${name}.handled.fs`, h.fs);
    if (h.net !== undefined) {
      if (!Array.isArray(h.net)) throw invalidArgType(`${name}.handled.net`, 'an array of TCP rights', h.net);
      names(`${name}.handled.net`, h.net, NET_RIGHTS, 'a Landlock TCP right');
    }
  }
  if (o.mode !== undefined && o.mode !== 'best-effort' && o.mode !== 'strict')
    throw invalidArgValue(`${name}.mode`, o.mode, "must be 'best-effort' or 'strict'");
  if (o.log !== undefined && typeof o.log !== 'boolean') throw invalidArgType(`${name}.log`, 'of type boolean', o.log);
  return o as LandlockRuleset;
}

function unsupported(what: string, need: number, abi: number): Error {
  const have = abi === 0 ? 'this kernel has no Landlock (ABI 0)' : `this kernel has ABI ${abi}`;
  return nsboxError(
    'ERR_NSBOX_UNSUPPORTED',
    `${what} needs Landlock ABI ${need} (Linux ${KERNEL_OF[need] ?? 'later'}); ${have}. Use mode 'best-effort' to drop it.`,
  );
}

/**
 * The ruleset masked to Landlock ABI `abi` (default: the running kernel's): what the
 * kernel lacks is dropped (`'best-effort'`) or throws `ERR_NSBOX_UNSUPPORTED` naming the
 * right and the ABI it needs (`'strict'`). `null` when nothing is left to enforce in
 * best-effort (ABI 0, or only unsupported things asked). Checks the shape first
 * ({@link checkLandlock}); a rule granting a right that `handled` leaves out is
 * `ERR_INVALID_ARG_VALUE` (the kernel would refuse it with EINVAL). @internal
 */
export function resolveLandlock(name: string, v: unknown, abi = landlockAbi()): ResolvedLandlock | null {
  const rs = checkLandlock(name, v);
  const strict = rs.mode === 'strict';
  if (abi <= 0 && strict) throw unsupported(name, 1, abi);
  if (abi <= 0) return null;
  // Drops (or refuses) one right the ABI lacks; returns its bit or 0.
  const keep = (what: string, right: Right): number => {
    if (right.abi <= abi) return right.bit;
    if (strict) throw unsupported(what, right.abi, abi);
    return 0;
  };
  const mask = (at: string, rights: readonly string[], table: Readonly<Record<string, Right>>): number =>
    rights.reduce((m, n) => m | keep(`${at}: '${n}'`, table[n]!), 0);

  // A shorthand ('read', 'write') stands for the rights this ABI knows; a right named one by
  // one is asked for, so strict mode refuses it when the ABI lacks it.
  const fsMask = (at: string, spec: unknown): number =>
    list<string>(at, spec, 'a Landlock filesystem right').reduce((m, n) => {
      if (n !== 'read' && n !== 'write') return m | keep(`${at}: '${n}'`, FS_RIGHTS[n as LandlockFsAccess]);
      return (n === 'read' ? READ : WRITE).reduce((mm, x) => mm | (FS_RIGHTS[x].abi <= abi ? FS_RIGHTS[x].bit : 0), m);
    }, 0);
  const allFs = Object.values(FS_RIGHTS).reduce((m, x) => m | (x.abi <= abi ? x.bit : 0), 0);
  const handledFs = rs.handled?.fs === undefined ? allFs : fsMask(`${name}.handled.fs`, rs.handled.fs);
  const netAsked = rs.handled?.net !== undefined || (rs.net !== undefined && rs.net.length > 0);
  const handledNet = !netAsked
    ? 0
    : mask(rs.handled?.net ? `${name}.handled.net` : `${name}.net`, rs.handled?.net ?? ['bind-tcp', 'connect-tcp'], NET_RIGHTS);

  const fs: Array<{ path: string; access: number; optional: boolean }> = [];
  (rs.fs ?? []).forEach((rule, i) => {
    const at = `${name}.fs[${i}].access`;
    const access = fsMask(at, rule.access);
    if (access & ~handledFs) {
      const extra = Object.entries(FS_RIGHTS)
        .filter(([, x]) => x.bit & access & ~handledFs)
        .map(([n]) => `'${n}'`);
      throw invalidArgValue(at, rule.access, `grants ${extra.join(', ')}, which ${name}.handled.fs does not handle`);
    }
    if (access !== 0) fs.push({ path: rule.path, access, optional: rule.optional === true });
  });
  const net: Array<{ port: number; access: number }> = [];
  (rs.net ?? []).forEach((rule, i) => {
    const at = `${name}.net[${i}].access`;
    const access = mask(at, names(at, rule.access, NET_RIGHTS, 'a Landlock TCP right'), NET_RIGHTS);
    if (access & ~handledNet) throw invalidArgValue(at, rule.access, `grants a TCP right ${name}.handled.net does not handle`);
    if (access !== 0) net.push({ port: rule.port, access });
  });
  const scoped = mask(`${name}.scopes`, rs.scopes ?? [], SCOPES);
  let flags = 0;
  if (abi >= LOG_ABI) flags = rs.log === true ? L.RESTRICT_SELF_LOG_NEW_EXEC_ON! : L.RESTRICT_SELF_LOG_SAME_EXEC_OFF!;
  else if (rs.log === true && strict) throw unsupported(`${name}.log`, LOG_ABI, abi);
  if (rs.handled?.fs !== undefined && list(`${name}.handled.fs`, rs.handled.fs, '').length === 0 && !netAsked && !rs.scopes?.length) {
    throw invalidArgValue(name, v, 'handles nothing: give handled.fs, net rules or scopes');
  }
  if (handledFs === 0 && handledNet === 0 && scoped === 0) return null;
  return Object.freeze({ abi, handledFs, handledNet, scoped, flags, fs: Object.freeze(fs), net: Object.freeze(net) });
}
export { landlockForCommand, type LandlockCommandOptions } from './command.js';
