/**
 * The security flags of `nsbox run` (Docker's names and forms): their rows of the option
 * table, their parsing, and what they become as spawn options. Pure, like args.ts.
 * @module
 */
import { internalAssertion } from '../errors.js';
import type { Rlimit } from '../security/limits.js';

/** The security option names (without `--`). */
export type SecurityOptionName =
  | 'cap-add'
  | 'cap-drop'
  | 'seccomp'
  | 'allow-new-privileges'
  | 'privileged'
  | 'ulimit'
  | 'sysctl'
  | 'oom-score-adj'
  | 'umask'
  | 'landlock-read'
  | 'landlock-write'
  | 'landlock-connect'
  | 'landlock-bind';

/** What the security flags asked for. */
export interface SecurityArgs {
  /** --cap-add, upper-cased with the CAP_ prefix, in order. */
  capAdd: string[];
  /** --cap-drop, likewise; 'ALL' drops every capability (then --cap-add adds back). */
  capDrop: string[];
  /** --seccomp: a profile file, 'default' or 'unconfined'; undefined (not given) means 'default'. */
  seccomp?: string;
  allowNewPrivileges: boolean;
  privileged: boolean;
  ulimits: Rlimit[];
  sysctl: Record<string, string>;
  oomScoreAdj?: number;
  umask?: number;
  landlock: { read: string[]; write: string[]; connect: number[]; bind: number[] };
}

/** Rows of the option table for the security flags. */
export const SECURITY_OPTIONS = [
  {
    name: 'cap-add',
    value: 'CAP',
    repeatable: true,
    help: "Add a capability to COMMAND's bounding, effective and permitted sets (CAP_NET_ADMIN, NET_ADMIN or net_admin; ALL for all).",
  },
  {
    name: 'cap-drop',
    value: 'CAP|ALL',
    repeatable: true,
    help: "Drop a capability (ALL: every one; --cap-add then adds back). Default set: Docker's (CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE); nothing inheritable or ambient.",
  },
  {
    name: 'seccomp',
    value: 'PATH|default|unconfined',
    help: "The seccomp filter: an OCI/Docker seccomp profile (JSON), nsbox's default profile (the default: Docker's policy, ENOSYS for syscalls newer than it knows), or none.",
  },
  {
    name: 'allow-new-privileges',
    help: 'Do not set no_new_privs (on by default): setuid programs and file capabilities work again inside.',
  },
  {
    name: 'privileged',
    help: 'Every capability, no seccomp filter, no_new_privs off. The mounts stay locked and the id block stays (see --no-lock-mounts): for trusted commands only.',
  },
  {
    name: 'ulimit',
    value: 'NAME=SOFT[:HARD]',
    repeatable: true,
    help: "A resource limit, as Docker's --ulimit (nofile=1024:4096, core=0, nproc=512; -1 or unlimited for none), set by nsbox with prlimit before COMMAND starts.",
  },
  {
    name: 'sysctl',
    value: 'KEY=VALUE',
    repeatable: true,
    help: 'A namespaced sysctl inside (net.*, kernel.shm*/msg*/sem, fs.mqueue.*, kernel.hostname/domainname); others would change the host and are refused.',
  },
  { name: 'oom-score-adj', value: 'N', help: "COMMAND's oom_score_adj (-1000 to 1000; lowering it needs CAP_SYS_RESOURCE)." },
  { name: 'umask', value: 'MODE', help: "COMMAND's umask, octal (0022)." },
  {
    name: 'landlock-read',
    value: 'PATH',
    repeatable: true,
    help: 'Landlock: COMMAND may read and execute beneath PATH. Any --landlock-* flag denies every path and port not named, except what COMMAND needs to start (its binary, its loader, the library directories).',
  },
  { name: 'landlock-write', value: 'PATH', repeatable: true, help: 'Landlock: COMMAND may read and write beneath PATH.' },
  {
    name: 'landlock-connect',
    value: 'PORT',
    repeatable: true,
    help: 'Landlock: COMMAND may connect to TCP PORT (every other TCP connect is denied).',
  },
  { name: 'landlock-bind', value: 'PORT', repeatable: true, help: 'Landlock: COMMAND may bind TCP PORT (every other TCP bind is denied).' },
] as const;

/** The defaults: Docker's capabilities, no_new_privs, the default seccomp profile. */
export function defaultSecurityArgs(): SecurityArgs {
  return {
    capAdd: [],
    capDrop: [],
    allowNewPrivileges: false,
    privileged: false,
    ulimits: [],
    sysctl: {},
    landlock: { read: [], write: [], connect: [], bind: [] },
  };
}

function capName(opt: string, v: string, fail: (m: string) => Error): string {
  if (!/^[A-Za-z_0-9]+$/.test(v)) throw fail(`${opt}: '${v}' is not a capability name`);
  const up = v.toUpperCase();
  return up === 'ALL' ? 'ALL' : up.startsWith('CAP_') ? up : `CAP_${up}`;
}

function limit(opt: string, v: string, fail: (m: string) => Error): number | 'unlimited' {
  if (v === '-1' || v === 'unlimited') return 'unlimited';
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw fail(`${opt}: '${v}' is not a limit (a number, -1 or unlimited)`);
  return Number(v);
}

function port(opt: string, v: string, fail: (m: string) => Error): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw fail(`${opt}: '${v}' is not a TCP port (1 to 65535)`);
  return Number(v);
}

/** Applies one security flag to `s`. `fail` makes the usage error. */
export function parseSecurityOption(name: SecurityOptionName, v: string, s: SecurityArgs, fail: (m: string) => Error): void {
  const opt = `--${name}`;
  switch (name) {
    case 'cap-add':
      s.capAdd.push(capName(opt, v, fail));
      break;
    case 'cap-drop':
      s.capDrop.push(capName(opt, v, fail));
      break;
    case 'seccomp':
      if (v === '') throw fail(`${opt}: empty value (a profile file, default or unconfined)`);
      s.seccomp = v;
      break;
    case 'allow-new-privileges':
      s.allowNewPrivileges = true;
      break;
    case 'privileged':
      s.privileged = true;
      break;
    case 'ulimit': {
      const m = /^([a-zA-Z_]+)=([^:]+)(?::(.+))?$/.exec(v);
      if (!m) throw fail(`${opt}: '${v}' is not NAME=SOFT[:HARD]`);
      const soft = limit(opt, m[2]!, fail);
      const hard = m[3] === undefined ? soft : limit(opt, m[3], fail);
      if (soft !== 'unlimited' && (hard === 'unlimited' ? false : soft > hard))
        throw fail(`${opt}: soft limit ${soft} is above the hard limit ${hard}`);
      if (hard !== 'unlimited' && soft === 'unlimited') throw fail(`${opt}: soft limit unlimited is above the hard limit ${hard}`);
      s.ulimits.push({ type: m[1]!, soft, hard });
      break;
    }
    case 'sysctl': {
      const at = v.indexOf('=');
      if (at <= 0) throw fail(`${opt}: '${v}' is not KEY=VALUE`);
      s.sysctl[v.slice(0, at)] = v.slice(at + 1);
      break;
    }
    case 'oom-score-adj':
      if (!/^-?\d+$/.test(v) || Math.abs(Number(v)) > 1000) throw fail(`${opt}: '${v}' is not a number from -1000 to 1000`);
      s.oomScoreAdj = Number(v);
      break;
    case 'umask':
      if (!/^0?[0-7]{1,3}$/.test(v)) throw fail(`${opt}: '${v}' is not an octal mode (0022)`);
      s.umask = Number.parseInt(v, 8);
      break;
    case 'landlock-read':
    case 'landlock-write':
      if (!v.startsWith('/')) throw fail(`${opt}: '${v}' is not an absolute path`);
      s.landlock[name === 'landlock-read' ? 'read' : 'write'].push(v);
      break;
    case 'landlock-connect':
    case 'landlock-bind':
      s.landlock[name === 'landlock-connect' ? 'connect' : 'bind'].push(port(opt, v, fail));
      break;
    default: {
      const never: never = name;
      throw internalAssertion(`unhandled option ${String(never)}`);
    }
  }
}

/** Contradictions between security flags, after all are read. */
export function checkSecurityArgs(s: SecurityArgs, fail: (m: string) => Error): void {
  if (s.privileged && (s.capDrop.length > 0 || s.seccomp !== undefined)) {
    throw fail('--privileged gives every capability and no seccomp filter: it excludes --cap-drop and --seccomp');
  }
}

/** The capability set the flags give: Docker's default set, minus drops, plus adds (Docker's order). */
export function capabilitySet(s: SecurityArgs, defaults: readonly string[], all: readonly string[]): string[] {
  if (s.privileged) return [...all];
  let set = s.capDrop.includes('ALL') ? [] : defaults.filter((c) => !s.capDrop.includes(c));
  for (const c of s.capAdd) set = c === 'ALL' ? [...all] : set.includes(c) ? set : [...set, c];
  return set;
}
