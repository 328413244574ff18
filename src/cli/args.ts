/**
 * The argument parser of the `nsbox` command: the option table (which `--help` is made
 * from), `nsbox run` options to a {@link RunArgs}, and usage errors. Pure: no syscalls,
 * no process state, so it is unit-tested on its own.
 * @module
 */
import { internalAssertion } from '../errors.js';
import type { IdMapping, NamespaceType } from '../index.js';
import { UsageError, id, kind, mapping, noNul, publishArg, vethMode, type NetMode, type PublishArg } from './values.js';
import { parseNetworkArgs, type NetworkArgs } from './network-args.js';

export { DEFAULT_VETH_POOL, UsageError, type NetMode, type PublishArg } from './values.js';
export { parseNetworkArgs, runNeedsNetwork, type NetworkArgs } from './network-args.js';
import { DEFAULT_NAMESPACES, OPTIONS, type OptionName, type OptionSpec } from './options.js';
import {
  checkSecurityArgs,
  defaultSecurityArgs,
  parseSecurityOption,
  SECURITY_OPTIONS,
  type SecurityArgs,
  type SecurityOptionName,
} from './security-args.js';

export { DEFAULT_NAMESPACES, OPTIONS, helpText, type OptionName, type OptionSpec } from './options.js';

/** A namespace to join: by pid (`/proc/PID/ns/KIND`) or by nsfs file path. */
export type JoinSpec = { kind: NamespaceType; pid: number; path?: undefined } | { kind: NamespaceType; path: string; pid?: undefined };

/** One environment change, applied in command-line order. */
export type EnvOp = { set: string; value: string } | { unset: string };

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
  /** --share kinds, when given (for messages: `namespaces` already leaves them out). */
  share?: NamespaceType[];
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
  /** Default true: an init as PID 1 of a new pid namespace; false with --no-init. */
  init: boolean;
  timeout?: number;
  /** --rootfs: a directory, or 'host'. */
  rootfs?: string;
  /** --layer, bottom first. */
  layers: string[];
  /** --volume, in order. */
  volumes: Array<{ source: string; target: string; readOnly: boolean; idmap: boolean }>;
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
  /** --net; 'none' and 'veth' put 'net' in `namespaces` and become spawn's `network` option. */
  net?: NetMode;
  /** False with --no-nat (--net veth). */
  nat: boolean;
  /** --publish, in order. */
  publish: PublishArg[];
  /** --network NAME. */
  network?: string;
  /** --cap-add, --seccomp, --ulimit, --landlock-*, … (security-args.ts). */
  security: SecurityArgs;
}

/** The result of {@link parseArgs}. */
export type Parsed =
  | { action: 'help' }
  | { action: 'version' }
  | { action: 'run'; run: RunArgs }
  | { action: 'network'; network: NetworkArgs };

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
/** What parseArgs collects while it reads the options. */
interface State {
  namespaces: NamespaceType[] | undefined;
  share: NamespaceType[];
  join: JoinSpec[];
  uidMap: IdMapping[];
  gidMap: IdMapping[];
  env: EnvOp[];
  r: Omit<RunArgs, 'command' | 'args' | 'namespaces' | 'join' | 'env'>;
}

/** Applies one (non-security) option with its value `v`; 'help'/'version' end the parse. */
function applyOption(name: Exclude<OptionName, SecurityOptionName>, opt: string, v: string, st: State): 'help' | 'version' | undefined {
  switch (name) {
    case 'help':
      return 'help';
    case 'version':
      return 'version';
    case 'namespaces':
      if (v === 'none') st.namespaces = [];
      else {
        if (v === '') throw new UsageError(`${opt}: empty list (use 'none' for no new namespaces)`);
        st.namespaces = [...new Set(v.split(',').map((k) => kind(opt, k)))];
      }
      break;
    case 'share':
      st.share.push(kind(opt, v));
      break;
    case 'join': {
      const at = v.indexOf('=');
      if (at < 0) throw new UsageError(`${opt}: '${v}' is not KIND=PID or KIND=PATH`);
      const k = kind(opt, v.slice(0, at));
      const target = v.slice(at + 1);
      if (st.join.some((j) => j.kind === k)) throw new UsageError(`${opt}: ${k} is joined twice`);
      if (target === '') throw new UsageError(`${opt}: ${k}= needs a pid or a path`);
      if (/^\d+$/.test(target)) {
        const pid = Number(target);
        if (pid < 1 || pid > 4_194_304) throw new UsageError(`${opt}: ${target} is not a pid`);
        st.join.push({ kind: k, pid });
      } else st.join.push({ kind: k, path: target });
      break;
    }
    case 'hostname':
    case 'domainname':
      if (Buffer.byteLength(v) > 64) throw new UsageError(`${opt}: at most 64 bytes`);
      st.r[name] = v;
      break;
    case 'uid':
    case 'gid':
      st.r[name] = id(opt, v);
      break;
    case 'groups':
      st.r.groups = v === '' ? [] : v.split(',').map((g) => id(opt, g));
      break;
    case 'map-uid':
      st.uidMap.push(mapping(opt, v));
      break;
    case 'map-gid':
      st.gidMap.push(mapping(opt, v));
      break;
    case 'env': {
      const at = v.indexOf('=');
      if (at <= 0) throw new UsageError(`${opt}: '${v}' is not K=V`);
      st.env.push({ set: v.slice(0, at), value: v.slice(at + 1) });
      break;
    }
    case 'unsetenv':
      if (v === '' || v.includes('=')) throw new UsageError(`${opt}: '${v}' is not a variable name`);
      st.env.push({ unset: v });
      break;
    case 'clearenv':
      st.r.clearenv = true;
      break;
    case 'cwd':
    case 'argv0':
      if (v === '') throw new UsageError(`${opt}: empty value`);
      st.r[name] = v;
      break;
    case 'die-with-parent':
      st.r.dieWithParent = true;
      break;
    case 'no-die-with-parent':
      st.r.dieWithParent = false;
      break;
    case 'new-session':
      st.r.newSession = true;
      break;
    case 'no-init':
      st.r.init = false;
      break;
    case 'rootfs':
      if (v !== 'host' && !v.startsWith('/')) throw new UsageError(`${opt}: '${v}' is not an absolute directory or 'host'`);
      st.r.rootfs = v;
      break;
    case 'layer':
      if (!v.startsWith('/')) throw new UsageError(`${opt}: '${v}' is not an absolute directory`);
      st.r.layers.push(v);
      break;
    case 'volume': {
      // SRC:DST[:OPTS], OPTS comma-separated from ro, rw, idmap (podman's vocabulary).
      const parts = v.split(':');
      const opts = parts.length === 3 ? parts[2]!.split(',') : [];
      const known = opts.every((x) => x === 'ro' || x === 'rw' || x === 'idmap');
      if (
        !(parts.length === 2 || parts.length === 3) ||
        !known ||
        (opts.includes('ro') && opts.includes('rw')) ||
        new Set(opts).size !== opts.length ||
        !parts[0]!.startsWith('/') ||
        !parts[1]!.startsWith('/')
      ) {
        throw new UsageError(`${opt}: '${v}' is not SRC:DST[:ro|rw][,idmap] with absolute paths`);
      }
      st.r.volumes.push({ source: parts[0]!, target: parts[1]!, readOnly: opts.includes('ro'), idmap: opts.includes('idmap') });
      break;
    }
    case 'tmpfs':
      if (!v.startsWith('/')) throw new UsageError(`${opt}: '${v}' is not an absolute path`);
      st.r.tmpfs.push(v);
      break;
    case 'read-only':
      st.r.readOnly = true;
      break;
    case 'no-lock-mounts':
      st.r.lockMounts = false;
      break;
    case 'memory':
      if (!/^\d+[kKmMgGtT]?$/.test(v)) throw new UsageError(`${opt}: '${v}' is not a size (bytes, or with K, M, G, T: 64M)`);
      st.r.memory = v;
      break;
    case 'pids':
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 2 ** 31 - 1)
        throw new UsageError(`${opt}: '${v}' is not a number of tasks (1 to ${2 ** 31 - 1})`);
      st.r.pids = Number(v);
      break;
    case 'cpus':
      if (!/^\d+(\.\d+)?$/.test(v) || !(Number(v) >= 0.01)) throw new UsageError(`${opt}: '${v}' is not a number of CPUs (0.01 or more)`);
      st.r.cpus = Number(v);
      break;
    case 'cgroup-parent':
      if (v === '') throw new UsageError(`${opt}: empty value`);
      st.r.cgroupParent = v;
      break;
    case 'net':
      if (v === 'none' || v === 'host') st.r.net = { mode: v };
      else if (v === 'veth' || v.startsWith('veth:')) st.r.net = vethMode(opt, v);
      else throw new UsageError(`${opt}: '${v}' is not none, host or veth[:ADDR/PREFIX]`);
      break;
    case 'no-nat':
      st.r.nat = false;
      break;
    case 'publish': {
      const p = publishArg(opt, v);
      if (st.r.publish.some((x) => x.hostPort === p.hostPort && x.protocol === p.protocol))
        throw new UsageError(`${opt}: host port ${p.hostPort}/${p.protocol} is published twice`);
      st.r.publish.push(p);
      break;
    }
    case 'network':
      if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/.test(v))
        throw new UsageError(`${opt}: '${v}' is not a network name (1 to 32 letters, digits, _ or -)`);
      st.r.network = v;
      break;
    case 'timeout':
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 2 ** 31 - 1)
        throw new UsageError(`${opt}: '${v}' is not a number of milliseconds (1 to ${2 ** 31 - 1})`);
      st.r.timeout = Number(v);
      break;
    default: {
      const never: never = name;
      throw internalAssertion(`unhandled option ${String(never)}`);
    }
  }
  return undefined;
}

export function parseArgs(argv: readonly string[]): Parsed {
  let i = 0;
  const first = argv[0];
  if (first === undefined) throw new UsageError("missing subcommand: use 'nsbox run [options] -- COMMAND [ARGS...]'");
  if (first === '-h' || first === '--help' || first === 'help') return { action: 'help' };
  if (first === '--version') return { action: 'version' };
  if (first === 'network') return { action: 'network', network: parseNetworkArgs(argv.slice(1)) };
  if (first !== 'run')
    throw new UsageError(first.startsWith('-') ? `unknown option '${first}' (options go after 'run')` : `unknown subcommand '${first}'`);
  i = 1;

  const r: State['r'] = {
    clearenv: false,
    dieWithParent: true,
    newSession: false,
    init: true,
    layers: [],
    volumes: [],
    tmpfs: [],
    readOnly: false,
    lockMounts: true,
    nat: true,
    publish: [],
    security: defaultSecurityArgs(),
  };
  const st: State = { namespaces: undefined, share: [], join: [], uidMap: [], gidMap: [], env: [], r };
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
    const end = applyOption(name, opt, v, st);
    if (end) return { action: end };
  }
  if (seen.has('die-with-parent') && seen.has('no-die-with-parent'))
    throw new UsageError('--die-with-parent and --no-die-with-parent contradict each other');
  checkSecurityArgs(r.security, usage);

  const { namespaces, share, join, uidMap, gidMap, env } = st;
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
    // --net decides the network namespace: the host's, or a new one of the command's own
    // (spawn's network option sets it up).
    if (joined.has('net') || share.includes('net'))
      throw new UsageError(`--net ${r.net.mode} contradicts --${joined.has('net') ? 'join' : 'share'} net`);
    ns = ns.filter((k) => k !== 'net');
    if (r.net.mode !== 'host') ns.push('net');
  }

  checkNetFlags(r, ns, joined, share);

  const uts = ns.includes('uts') || joined.has('uts');
  for (const k of ['hostname', 'domainname'] as const) {
    if (r[k] !== undefined && !uts) throw new UsageError(`--${k} needs a new or joined uts namespace (it would change the host's)`);
  }
  if (!ns.includes('user') && (uidMap.length > 0 || gidMap.length > 0))
    throw new UsageError('--map-uid/--map-gid need a new user namespace');
  if (r.rootfs !== undefined && r.layers.length > 0) throw new UsageError('--rootfs and --layer exclude each other');
  const fsFlags = r.rootfs !== undefined || r.layers.length > 0 || r.volumes.length > 0 || r.tmpfs.length > 0 || r.readOnly;
  if (fsFlags && !ns.includes('mnt'))
    throw new UsageError('--rootfs, --layer, --volume, --tmpfs and --read-only need a new mount namespace');
  if (uidMap.length > 0) r.uidMap = uidMap;
  if (gidMap.length > 0) r.gidMap = gidMap;

  const run: RunArgs = { ...r, command, args, namespaces: ns, join, env };
  if (share.length > 0) run.share = share;
  return { action: 'run', run };
}

/** --network, --publish and --no-nat against --net and the namespaces; adds 'net' for --network. */
function checkNetFlags(r: State['r'], ns: NamespaceType[], joined: Set<NamespaceType>, share: NamespaceType[]): void {
  const veth = r.net?.mode === 'veth';
  if (r.network !== undefined) {
    if (r.net !== undefined) throw new UsageError(`--network ${r.network} and --net ${r.net.mode} exclude each other`);
    if (joined.has('net') || share.includes('net'))
      throw new UsageError(`--network ${r.network} contradicts --${joined.has('net') ? 'join' : 'share'} net`);
    if (!ns.includes('mnt')) throw new UsageError(`--network ${r.network} needs a new mount namespace (for the member's /etc/hosts)`);
    if (!r.nat) throw new UsageError(`--no-nat: a network's NAT is its own (nsbox network create --no-nat)`);
    if (!ns.includes('net')) ns.push('net');
  } else {
    if (!r.nat && !veth) throw new UsageError('--no-nat needs --net veth');
    if (r.publish.length > 0 && !veth && r.net?.mode !== 'none')
      throw new UsageError(`--publish ${r.publish[0]!.text} needs --net none, --net veth or --network`);
  }
}

/** The environment of the command: the base (or nothing with --clearenv), then each op in order. */
export function buildEnv(
  run: Pick<RunArgs, 'clearenv' | 'env'>,
  base: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!run.clearenv) for (const [k, v] of Object.entries(base)) if (v !== undefined) out[k] = v;
  for (const op of run.env) {
    if ('set' in op) out[op.set] = op.value;
    else delete out[op.unset];
  }
  return out;
}
