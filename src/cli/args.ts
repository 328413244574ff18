/**
 * The argument parser of the `nsbox` command: the option table (which `--help` is made
 * from), `nsbox run` options to a {@link RunArgs}, and usage errors. Pure: no syscalls,
 * no process state, so it is unit-tested on its own.
 * @module
 */
import { NAMESPACE_TYPES, isNamespaceType, type IdMapping, type NamespaceType } from '../index.js';
import { checkSecurityArgs, defaultSecurityArgs, parseSecurityOption, SECURITY_OPTIONS, type SecurityArgs, type SecurityOptionName } from './security-args.js';

/** The namespaces `nsbox run` creates when `--namespaces` is not given. */
export const DEFAULT_NAMESPACES: readonly NamespaceType[] = Object.freeze(['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup'] as const);

/** The inner address of `--net veth` without one. */
export const DEFAULT_VETH = '10.200.0.2/30';

/** Every option name `nsbox run` accepts (without the leading `--`). */
export type OptionName =
  | 'namespaces' | 'share' | 'join' | 'hostname' | 'domainname' | 'uid' | 'gid' | 'groups' | 'map-uid' | 'map-gid'
  | 'env' | 'unsetenv' | 'clearenv' | 'cwd' | 'argv0' | 'die-with-parent' | 'no-die-with-parent' | 'new-session'
  | 'timeout' | 'rootfs' | 'layer' | 'volume' | 'tmpfs' | 'read-only' | 'no-lock-mounts' | 'net' | 'memory' | 'pids' | 'cpus' | 'cgroup-parent'
  | 'help' | 'version' | SecurityOptionName;

/** One row of the option table. */
export interface OptionSpec {
  /** Long name, without `--`. */
  readonly name: OptionName;
  /** Other spellings (with their dashes), e.g. `-h`, `--chdir`. */
  readonly aliases?: readonly string[];
  /** The value's placeholder in `--help`; absent for flags. */
  readonly value?: string;
  /** May be given more than once. */
  readonly repeatable?: boolean;
  /** What `--help` says about it. */
  readonly help: string;
}

/** The option table of `nsbox run`: the parser accepts exactly these, `--help` lists them all. */
export const OPTIONS: readonly OptionSpec[] = Object.freeze([
  { name: 'namespaces', value: 'LIST', help: `New namespaces, comma-separated, from ${NAMESPACE_TYPES.join(',')}; 'none' for none. Default: ${DEFAULT_NAMESPACES.join(',')}.` },
  { name: 'share', value: 'KIND', repeatable: true, help: "Do not create namespace KIND: removes it from the list (as bwrap's --share-net)." },
  { name: 'join', value: 'KIND=PID|PATH', repeatable: true, help: 'Join an existing namespace: /proc/PID/ns/KIND, or an nsfs file such as /run/netns/NAME (as nsenter). A joined kind is dropped from the default list.' },
  { name: 'hostname', value: 'NAME', help: 'Hostname inside (needs a new or joined uts namespace).' },
  { name: 'domainname', value: 'NAME', help: 'NIS domain name inside (needs a new or joined uts namespace).' },
  { name: 'uid', value: 'N', help: 'Run as uid N inside (it must be mapped). Default: 0 in a new user namespace, else unchanged.' },
  { name: 'gid', value: 'N', help: 'Run as gid N inside (it must be mapped).' },
  { name: 'groups', value: 'GID,...', help: "Supplementary gids, comma-separated ('' for none); needs setgroups allowed (root, or --map-gid through newgidmap)." },
  { name: 'map-uid', value: 'INSIDE:OUTSIDE:COUNT', repeatable: true, help: "A uid_map line of the new user namespace. Default: 0:<your euid>:1. More than your own uid needs root, or newuidmap and /etc/subuid ranges." },
  { name: 'map-gid', value: 'INSIDE:OUTSIDE:COUNT', repeatable: true, help: 'A gid_map line of the new user namespace. Default: 0:<your egid>:1 (newgidmap as for --map-uid).' },
  { name: 'env', value: 'K=V', repeatable: true, help: 'Set an environment variable.' },
  { name: 'unsetenv', value: 'K', repeatable: true, help: 'Remove an environment variable.' },
  { name: 'clearenv', help: 'Start from an empty environment (before --env/--unsetenv apply).' },
  { name: 'cwd', aliases: ['--chdir'], value: 'DIR', help: 'Working directory of the command (resolved in its mount namespace).' },
  { name: 'argv0', value: 'NAME', help: 'argv[0] the command sees (the program run is still COMMAND).' },
  { name: 'die-with-parent', help: 'Kill the command (SIGKILL) if nsbox dies. On by default; the flag exists for bwrap users.' },
  { name: 'no-die-with-parent', help: 'Let the command outlive nsbox (e.g. when nsbox itself is SIGKILLed).' },
  { name: 'new-session', help: 'Run the command in a new session (setsid), without the controlling terminal.' },
  { name: 'timeout', value: 'MS', help: 'Kill the command with SIGKILL after MS milliseconds (nsbox then exits 137).' },
  { name: 'rootfs', value: 'DIR|host', help: "The command's root directory, entered with pivot_root (needs a mount namespace). Default with a mount namespace: 'host', a tmpfs root with the host's /usr, /bin, /sbin, /lib*, /etc read-only. Also mounts /proc, /sys (ro), /dev, /dev/pts, /dev/shm, masked paths, /etc/hostname, /etc/hosts, /etc/resolv.conf." },
  { name: 'layer', value: 'DIR', repeatable: true, help: 'An overlay root: the layers, bottom first, with a throw-away writable layer on top (instead of --rootfs).' },
  { name: 'volume', value: 'SRC:DST[:ro]', repeatable: true, help: 'Bind the host path SRC to DST inside, read-write or read-only (ro).' },
  { name: 'tmpfs', value: 'DST', repeatable: true, help: 'Mount a fresh tmpfs on DST inside.' },
  { name: 'read-only', help: 'Make the root read-only (/dev, /proc and tmpfs mounts stay writable).' },
  { name: 'no-lock-mounts', help: "Do not lock the container's mounts. By default COMMAND runs in a user and mount namespace nested in the ones that built its root, so the kernel locks every mount: masks, read-only paths, ':ro' volumes and --read-only cannot be undone from inside, and COMMAND has no capabilities over its network, uts and ipc namespaces. With this flag it gets them, and can unmount or remount everything made for it: for trusted commands only." },
  { name: 'net', value: 'none|host|veth[:ADDR/PREFIX]', help: `Networking. 'none': a new network namespace with only lo, up. 'host': the host's (as --share net). 'veth': a new one joined to the host by a veth pair: eth0 inside with ADDR/PREFIX (IPv4, prefix at most 30; default ${DEFAULT_VETH}), the prefix's first other address on the host end (nsbx…), lo up, a default route via the host end. 'none' and 'veth' need root; without --net a new network namespace has lo down.` },
  { name: 'memory', value: 'SIZE', help: "Run the command in a new cgroup v2 with memory.max SIZE (bytes, or with K, M, G: '64M'). The cgroup is removed afterwards." },
  { name: 'pids', value: 'N', help: 'Run the command in a new cgroup v2 with pids.max N (processes and threads).' },
  { name: 'cpus', value: 'N', help: "Run the command in a new cgroup v2 with cpu.max N CPUs' worth of time ('0.5': 50 ms per 100 ms)." },
  { name: 'cgroup-parent', value: 'PATH', help: "Where --memory/--pids/--cpus make their cgroup: a cgroup v2 path relative to the v2 mount, or a directory in it. Default: nsbox's own cgroup. Alone, it runs the command in a new cgroup there without limits." },
  ...SECURITY_OPTIONS,
  { name: 'help', aliases: ['-h'], help: 'Print this help and exit.' },
  { name: 'version', help: "Print nsbox's version and exit." },
] satisfies OptionSpec[]);

/** A namespace to join: by pid (`/proc/PID/ns/KIND`) or by nsfs file path. */
export type JoinSpec = { kind: NamespaceType; pid: number; path?: undefined } | { kind: NamespaceType; path: string; pid?: undefined };

/** One environment change, applied in command-line order. */
export type EnvOp = { set: string; value: string } | { unset: string };

/** `--net`: how the command's network is set up. */
export type NetMode = { mode: 'none' } | { mode: 'host' } | { mode: 'veth'; childAddress: string; hostAddress: string };

/** What `nsbox run` was asked to do. `undefined` means not given. */
export interface RunArgs {
  /** The program to run (searched in PATH when it has no `/`). */
  command: string;
  /** Its arguments (after argv[0]). */
  args: string[];
  /** The namespaces to create, after defaults, --share and --join are applied. */
  namespaces: NamespaceType[];
  /** Namespaces to join. */
  join: JoinSpec[];
  hostname?: string;
  domainname?: string;
  uid?: number;
  gid?: number;
  groups?: number[];
  uidMap?: IdMapping[];
  gidMap?: IdMapping[];
  /** Start from an empty environment. */
  clearenv: boolean;
  /** --env and --unsetenv, in order. */
  env: EnvOp[];
  cwd?: string;
  argv0?: string;
  /** Default true. */
  dieWithParent: boolean;
  newSession: boolean;
  timeout?: number;
  /** --rootfs: a directory, or 'host'. */
  rootfs?: string;
  /** --layer, bottom first. */
  layers: string[];
  /** --volume, in order. */
  volumes: Array<{ source: string; target: string; readOnly: boolean }>;
  /** --tmpfs targets, in order. */
  tmpfs: string[];
  readOnly: boolean;
  /** False with --no-lock-mounts. */
  lockMounts: boolean;
  /** --memory: memory.max as given ('64M'). */
  memory?: string;
  /** --pids: pids.max. */
  pids?: number;
  /** --cpus: CPUs of cpu.max. */
  cpus?: number;
  /** --cgroup-parent. */
  cgroupParent?: string;
  /** --net; when 'none' or 'veth' the CLI makes the network namespace itself and joins it. */
  net?: NetMode;
  /** --cap-add, --seccomp, --ulimit, --landlock-*, … (security-args.ts). */
  security: SecurityArgs;
}

/** The result of {@link parseArgs}. */
export type Parsed = { action: 'help' } | { action: 'version' } | { action: 'run'; run: RunArgs };

/** A bad command line. The CLI prints `nsbox: <message>` and exits 125. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const MAX_ID = 0xfffffffe;

function id(opt: string, v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > MAX_ID) throw new UsageError(`${opt}: '${v}' is not an id (0 to ${MAX_ID})`);
  return Number(v);
}

function kind(opt: string, v: string): NamespaceType {
  if (!isNamespaceType(v)) throw new UsageError(`${opt}: unknown namespace '${v}' (one of ${NAMESPACE_TYPES.join(', ')})`);
  return v;
}

function mapping(opt: string, v: string): IdMapping {
  const m = /^(\d+):(\d+):(\d+)$/.exec(v);
  if (!m) throw new UsageError(`${opt}: '${v}' is not INSIDE:OUTSIDE:COUNT`);
  const [inside, outside, count] = [m[1]!, m[2]!, m[3]!].map(Number) as [number, number, number];
  if (count < 1 || inside + count - 1 > MAX_ID || outside + count - 1 > MAX_ID) {
    throw new UsageError(`${opt}: '${v}' is not a range of ids between 0 and ${MAX_ID}`);
  }
  return { inside, outside, count };
}

/** `veth[:ADDR/PREFIX]`: the inner address and the host end's (the prefix's first other address). */
function vethMode(opt: string, v: string): NetMode {
  const text = v === 'veth' ? DEFAULT_VETH : v.slice('veth:'.length);
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  const bytes = m ? [m[1], m[2], m[3], m[4]].map(Number) : [];
  const prefix = m ? Number(m[5]) : -1;
  if (!m || bytes.some((b) => b > 255) || prefix < 1 || prefix > 30) {
    throw new UsageError(`${opt}: '${text}' is not an IPv4 ADDR/PREFIX with a prefix from 1 to 30`);
  }
  const addr = bytes.reduce((a, b) => a * 256 + b, 0);
  const size = 2 ** (32 - prefix);
  const network = addr - (addr % size);
  if (addr === network || addr === network + size - 1) throw new UsageError(`${opt}: ${text} is the network or broadcast address of its prefix`);
  const host = addr === network + 1 ? network + 2 : network + 1;
  const dotted = (n: number) => [24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join('.');
  return { mode: 'veth', childAddress: `${dotted(addr)}/${prefix}`, hostAddress: `${dotted(host)}/${prefix}` };
}

function noNul(opt: string, v: string): string {
  if (v.includes('\0')) throw new UsageError(`${opt}: value contains a NUL byte`);
  return v;
}

const byName = new Map<string, OptionSpec>();
for (const o of OPTIONS) {
  byName.set(`--${o.name}`, o);
  for (const a of o.aliases ?? []) byName.set(a, o);
}

/**
 * Parses the arguments after `nsbox` (e.g. `['run', '--hostname', 'box', '--', 'sh']`).
 * Options are `--name VALUE` or `--name=VALUE`; `--` ends them, and so does the first
 * argument that is not an option. Unknown options, bad values, a missing command and
 * contradictions (a kind both created and joined, `--hostname` without a uts namespace)
 * are errors.
 * @throws {@link UsageError} for a bad command line.
 */
export function parseArgs(argv: readonly string[]): Parsed {
  let i = 0;
  const first = argv[0];
  if (first === undefined) throw new UsageError("missing subcommand: use 'nsbox run [options] -- COMMAND [ARGS...]'");
  if (first === '-h' || first === '--help' || first === 'help') return { action: 'help' };
  if (first === '--version') return { action: 'version' };
  if (first !== 'run') throw new UsageError(first.startsWith('-') ? `unknown option '${first}' (options go after 'run')` : `unknown subcommand '${first}'`);
  i = 1;

  let namespaces: NamespaceType[] | undefined;
  const share: NamespaceType[] = [];
  const join: JoinSpec[] = [];
  const uidMap: IdMapping[] = [];
  const gidMap: IdMapping[] = [];
  const env: EnvOp[] = [];
  const r: Omit<RunArgs, 'command' | 'args' | 'namespaces' | 'join' | 'env'> = {
    clearenv: false, dieWithParent: true, newSession: false, layers: [], volumes: [], tmpfs: [], readOnly: false, lockMounts: true,
    security: defaultSecurityArgs(),
  };
  const securityNames = new Set<string>(SECURITY_OPTIONS.map((o) => o.name));
  const usage = (m: string) => new UsageError(m);
  const seen = new Set<OptionName>();

  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq >= 0 ? a.slice(0, eq) : a;
    const spec = byName.get(flag);
    if (!spec) throw new UsageError(`unknown option '${flag}'`);
    const opt = `--${spec.name}`;
    if (seen.has(spec.name) && !spec.repeatable) throw new UsageError(`${opt} given more than once`);
    seen.add(spec.name);
    let v = '';
    if (spec.value === undefined) {
      if (eq >= 0) throw new UsageError(`${opt} takes no value`);
    } else if (eq >= 0) v = a.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`${opt} needs a value (${spec.value})`);
      v = argv[++i]!;
    }
    noNul(opt, v);
    if (securityNames.has(spec.name)) {
      parseSecurityOption(spec.name as SecurityOptionName, v, r.security, usage);
      continue;
    }
    const name = spec.name as Exclude<OptionName, SecurityOptionName>;
    switch (name) {
      case 'help':
        return { action: 'help' };
      case 'version':
        return { action: 'version' };
      case 'namespaces':
        if (v === 'none') namespaces = [];
        else {
          if (v === '') throw new UsageError(`${opt}: empty list (use 'none' for no new namespaces)`);
          namespaces = [...new Set(v.split(',').map((k) => kind(opt, k)))];
        }
        break;
      case 'share':
        share.push(kind(opt, v));
        break;
      case 'join': {
        const at = v.indexOf('=');
        if (at < 0) throw new UsageError(`${opt}: '${v}' is not KIND=PID or KIND=PATH`);
        const k = kind(opt, v.slice(0, at));
        const target = v.slice(at + 1);
        if (join.some((j) => j.kind === k)) throw new UsageError(`${opt}: ${k} is joined twice`);
        if (target === '') throw new UsageError(`${opt}: ${k}= needs a pid or a path`);
        if (/^\d+$/.test(target)) {
          const pid = Number(target);
          if (pid < 1 || pid > 4_194_304) throw new UsageError(`${opt}: ${target} is not a pid`);
          join.push({ kind: k, pid });
        } else join.push({ kind: k, path: target });
        break;
      }
      case 'hostname':
      case 'domainname':
        if (Buffer.byteLength(v) > 64) throw new UsageError(`${opt}: at most 64 bytes`);
        r[name] = v;
        break;
      case 'uid':
      case 'gid':
        r[name] = id(opt, v);
        break;
      case 'groups':
        r.groups = v === '' ? [] : v.split(',').map((g) => id(opt, g));
        break;
      case 'map-uid':
        uidMap.push(mapping(opt, v));
        break;
      case 'map-gid':
        gidMap.push(mapping(opt, v));
        break;
      case 'env': {
        const at = v.indexOf('=');
        if (at <= 0) throw new UsageError(`${opt}: '${v}' is not K=V`);
        env.push({ set: v.slice(0, at), value: v.slice(at + 1) });
        break;
      }
      case 'unsetenv':
        if (v === '' || v.includes('=')) throw new UsageError(`${opt}: '${v}' is not a variable name`);
        env.push({ unset: v });
        break;
      case 'clearenv':
        r.clearenv = true;
        break;
      case 'cwd':
      case 'argv0':
        if (v === '') throw new UsageError(`${opt}: empty value`);
        r[name] = v;
        break;
      case 'die-with-parent':
        r.dieWithParent = true;
        break;
      case 'no-die-with-parent':
        r.dieWithParent = false;
        break;
      case 'new-session':
        r.newSession = true;
        break;
      case 'rootfs':
        if (v !== 'host' && !v.startsWith('/')) throw new UsageError(`${opt}: '${v}' is not an absolute directory or 'host'`);
        r.rootfs = v;
        break;
      case 'layer':
        if (!v.startsWith('/')) throw new UsageError(`${opt}: '${v}' is not an absolute directory`);
        r.layers.push(v);
        break;
      case 'volume': {
        const parts = v.split(':');
        const ro = parts.length === 3 && parts[2] === 'ro';
        if (!(parts.length === 2 || (parts.length === 3 && (ro || parts[2] === 'rw'))) || !parts[0]!.startsWith('/') || !parts[1]!.startsWith('/')) {
          throw new UsageError(`${opt}: '${v}' is not SRC:DST[:ro] with absolute paths`);
        }
        r.volumes.push({ source: parts[0]!, target: parts[1]!, readOnly: ro });
        break;
      }
      case 'tmpfs':
        if (!v.startsWith('/')) throw new UsageError(`${opt}: '${v}' is not an absolute path`);
        r.tmpfs.push(v);
        break;
      case 'read-only':
        r.readOnly = true;
        break;
      case 'no-lock-mounts':
        r.lockMounts = false;
        break;
      case 'memory':
        if (!/^\d+[kKmMgGtT]?$/.test(v)) throw new UsageError(`${opt}: '${v}' is not a size (bytes, or with K, M, G, T: 64M)`);
        r.memory = v;
        break;
      case 'pids':
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 2 ** 31 - 1) throw new UsageError(`${opt}: '${v}' is not a number of tasks (1 to ${2 ** 31 - 1})`);
        r.pids = Number(v);
        break;
      case 'cpus':
        if (!/^\d+(\.\d+)?$/.test(v) || !(Number(v) >= 0.01)) throw new UsageError(`${opt}: '${v}' is not a number of CPUs (0.01 or more)`);
        r.cpus = Number(v);
        break;
      case 'cgroup-parent':
        if (v === '') throw new UsageError(`${opt}: empty value`);
        r.cgroupParent = v;
        break;
      case 'net':
        if (v === 'none' || v === 'host') r.net = { mode: v };
        else if (v === 'veth' || v.startsWith('veth:')) r.net = vethMode(opt, v);
        else throw new UsageError(`${opt}: '${v}' is not none, host or veth[:ADDR/PREFIX]`);
        break;
      case 'timeout':
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 2 ** 31 - 1) throw new UsageError(`${opt}: '${v}' is not a number of milliseconds (1 to ${2 ** 31 - 1})`);
        r.timeout = Number(v);
        break;
      default: {
        const never: never = name;
        throw new Error(`unhandled option ${String(never)}`);
      }
    }
  }
  if (seen.has('die-with-parent') && seen.has('no-die-with-parent')) throw new UsageError('--die-with-parent and --no-die-with-parent contradict each other');
  checkSecurityArgs(r.security, usage);

  const command = argv[i];
  if (command === undefined || command === '') throw new UsageError('missing COMMAND: nsbox run [options] -- COMMAND [ARGS...]');
  noNul('COMMAND', command);
  const args = argv.slice(i + 1).map((x) => noNul('ARGS', x));

  // Namespaces: the list (or the default), minus --share, minus the joined kinds when the
  // list is the default one; an explicit list that also joins a kind is a contradiction.
  const joined = new Set(join.map((j) => j.kind));
  let ns = namespaces ?? [...DEFAULT_NAMESPACES];
  if (namespaces !== undefined) {
    const both = ns.find((k) => joined.has(k) && !share.includes(k));
    if (both) throw new UsageError(`--namespaces lists ${both}, which --join also joins`);
  }
  ns = ns.filter((k) => !share.includes(k) && !joined.has(k));
  if (r.net !== undefined) {
    // --net decides the network namespace: the host's, or one the CLI makes and joins.
    if (joined.has('net') || share.includes('net')) throw new UsageError(`--net ${r.net.mode} contradicts --${joined.has('net') ? 'join' : 'share'} net`);
    ns = ns.filter((k) => k !== 'net');
  }

  const uts = ns.includes('uts') || joined.has('uts');
  for (const k of ['hostname', 'domainname'] as const) {
    if (r[k] !== undefined && !uts) throw new UsageError(`--${k} needs a new or joined uts namespace (it would change the host's)`);
  }
  if (!ns.includes('user') && (uidMap.length > 0 || gidMap.length > 0)) throw new UsageError('--map-uid/--map-gid need a new user namespace');
  if (r.rootfs !== undefined && r.layers.length > 0) throw new UsageError('--rootfs and --layer exclude each other');
  const fsFlags = r.rootfs !== undefined || r.layers.length > 0 || r.volumes.length > 0 || r.tmpfs.length > 0 || r.readOnly;
  if (fsFlags && !ns.includes('mnt')) throw new UsageError('--rootfs, --layer, --volume, --tmpfs and --read-only need a new mount namespace');
  if (uidMap.length > 0) r.uidMap = uidMap;
  if (gidMap.length > 0) r.gidMap = gidMap;

  return { action: 'run', run: { ...r, command, args, namespaces: ns, join, env } };
}

/** The environment of the command: the base (or nothing with --clearenv), then each op in order. */
export function buildEnv(run: Pick<RunArgs, 'clearenv' | 'env'>, base: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  if (!run.clearenv) for (const [k, v] of Object.entries(base)) if (v !== undefined) out[k] = v;
  for (const op of run.env) {
    if ('set' in op) out[op.set] = op.value;
    else delete out[op.unset];
  }
  return out;
}

/** The text of `nsbox --help`: usage, every option of {@link OPTIONS}, notes and examples. */
export function helpText(): string {
  const rows = OPTIONS.map((o) => {
    const names = [`--${o.name}`, ...(o.aliases ?? [])].join(', ') + (o.value ? ` ${o.value}` : '');
    return [names, o.help + (o.repeatable ? ' Repeatable.' : '')] as const;
  });
  const width = Math.max(...rows.map(([n]) => n.length)) + 2;
  const opts = rows.map(([n, h]) => `  ${n.padEnd(width)}${h}`).join('\n');
  return `Usage: nsbox run [options] [--] COMMAND [ARGS...]
       nsbox --help | --version

Runs COMMAND in new and/or joined Linux namespaces, as unshare(1) and bwrap(1) do, with
stdin, stdout and stderr passed through. Without root, nsbox makes a user namespace first
and maps your uid and gid to 0 inside it. As root, ids 0-65535 inside map to a block of
65536 unprivileged host ids of their own (never host root, unless --map-uid 0:0:N says so).
The container's mounts are locked against COMMAND (see --no-lock-mounts), it gets a new
session keyring, and ioctl TIOCSTI/TIOCLINUX on a terminal fail with EPERM. COMMAND runs
with Docker's default capabilities, no_new_privs and nsbox's default seccomp profile
(see --cap-add, --seccomp, --allow-new-privileges, --privileged).

Options:
${opts}

Options end at '--' or at the first argument that is not an option.

Exit status: COMMAND's own; 128+N if a signal N killed it; 125 if nsbox itself failed
(bad option, a namespace could not be made or joined); 126 if COMMAND is not executable;
127 if it was not found.

Signals: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH sent to nsbox are
passed to COMMAND. In a new pid namespace COMMAND is PID 1, and PID 1 ignores every signal
it has no handler for (pid_namespaces(7)): a plain 'sh' or 'sleep' there survives SIGTERM and
SIGINT, as under unshare --fork --pid or bwrap. Use --share pid, a program that handles its
signals, or SIGKILL. A terminal's Ctrl-C reaches COMMAND directly (same process group) and
through nsbox as well. Unless --no-die-with-parent, COMMAND is SIGKILLed if nsbox dies.

Examples:
  nsbox run --hostname box -- sh -c 'echo $$; id -u; hostname'
  nsbox run --share net -- curl -sI https://example.org
  nsbox run --namespaces user,net -- ip link
  nsbox run --net veth:10.200.0.2/30 -- ping -c1 10.200.0.1             (as root)
  nsbox run --join net=/run/netns/blue --namespaces none -- ip addr      (as root)
  nsbox run --map-uid 0:1000:1 --map-uid 1:100000:65536 \\
            --map-gid 0:1000:1 --map-gid 1:100000:65536 -- id            (newuidmap)
  nsbox run --clearenv --env PATH=/usr/bin:/bin --cwd / --timeout 5000 -- env
  nsbox run --layer /images/base --layer /images/app --volume /srv/data:/data:ro -- sh
  nsbox run --rootfs /srv/busybox --read-only --tmpfs /tmp -- sh
  nsbox run --cap-drop ALL --cap-add NET_BIND_SERVICE --ulimit nofile=1024 -- id
  nsbox run --landlock-read /usr --landlock-write /tmp -- sh -c 'ls /tmp; cat /etc/passwd'
`;
}
