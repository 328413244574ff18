/**
 * `parseConfig()` and `loadBundle()`: a runtime-spec config.json checked field by field, every
 * error naming the JSON path of the bad field, before anything touches the kernel.
 * @module
 */
import { promises, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fromFsError, invalidArgType } from '../errors.js';
import { absPath, arr, bool, i64, int, obj, oneOf, record, str, u32, u64, typeError, valueError, type Check } from './check.js';
import { ACTION_RET, type SeccompAction, type SeccompOperator } from '../security/seccomp/profile.js';
import type { OciNamespaceType, OciSpec } from './types.js';

/** The namespace kinds config-linux.md names, in its order. */
export const OCI_NAMESPACE_TYPES: readonly OciNamespaceType[] = Object.freeze([
  'pid',
  'network',
  'mount',
  'ipc',
  'uts',
  'user',
  'cgroup',
  'time',
] as const);

/** The versions accepted: 1.0.x, 1.1.x and 1.2.x, with an optional pre-release (`1.0.2-dev`). */
const VERSION = /^1\.[0-2]\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
/** The oldest and newest runtime-spec versions nsbox reads. @internal */
export const OCI_VERSION_MIN = '1.0.0';
/** @internal */
export const OCI_VERSION_MAX = '1.2.1';

const ociVersion: Check<string> = (v, p) => {
  const s = str(v, p);
  if (!VERSION.test(s)) throw valueError(p, 'must be a runtime-spec version from 1.0.0 to 1.2.x (SemVer, e.g. "1.2.0")', s);
  return s;
};

const idMapping = obj({ containerID: u32, hostID: u32, size: u32 }, ['containerID', 'hostID', 'size']);
const strings = arr(str);
const u16 = int(0, 65535, 'an unsigned 16-bit integer');

const mount = obj(
  { destination: str, source: str, type: str, options: strings, uidMappings: arr(idMapping), gidMappings: arr(idMapping) },
  ['destination'],
);

const rlimit = obj({ type: str, soft: u64, hard: u64 }, ['type', 'soft', 'hard']);
const capabilities = obj({ bounding: strings, effective: strings, inheritable: strings, permitted: strings, ambient: strings });
const user = obj({ uid: u32, gid: u32, umask: u32, additionalGids: arr(u32), username: str }, ['uid', 'gid']);
const processSchema = obj(
  {
    terminal: bool,
    consoleSize: obj({ height: u32, width: u32 }, ['height', 'width']),
    cwd: absPath,
    env: strings,
    args: strings,
    commandLine: str,
    rlimits: arr(rlimit),
    apparmorProfile: str,
    capabilities,
    noNewPrivileges: bool,
    oomScoreAdj: int(-1000, 1000),
    scheduler: obj({ policy: str, nice: int(-20, 19), priority: i64, flags: strings, runtime: u64, deadline: u64, period: u64 }, [
      'policy',
    ]),
    selinuxLabel: str,
    ioPriority: obj({ class: oneOf(['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE']), priority: int(0, 7) }, ['class']),
    execCPUAffinity: obj({ initial: str, final: str }),
    user,
  },
  ['cwd', 'user'],
);

const hook = obj({ path: absPath, args: strings, env: strings, timeout: int(1, 2 ** 31 - 1, 'a positive integer') }, ['path']);
const hooks = obj({
  prestart: arr(hook),
  createRuntime: arr(hook),
  createContainer: arr(hook),
  startContainer: arr(hook),
  poststart: arr(hook),
  poststop: arr(hook),
});

const device = obj({ type: oneOf(['c', 'b', 'u', 'p']), path: absPath, major: i64, minor: i64, fileMode: u32, uid: u32, gid: u32 }, [
  'type',
  'path',
]);
const deviceRule = obj({ allow: bool, type: oneOf(['a', 'c', 'b']), major: i64, minor: i64, access: str }, ['allow']);
const blockDevice = { major: i64, minor: i64 };
const throttle = obj({ ...blockDevice, rate: u64 }, ['major', 'minor', 'rate']);
const resources = obj({
  devices: arr(deviceRule),
  memory: obj({
    limit: i64,
    reservation: i64,
    swap: i64,
    kernel: i64,
    kernelTCP: i64,
    swappiness: u64,
    disableOOMKiller: bool,
    useHierarchy: bool,
    checkBeforeUpdate: bool,
  }),
  cpu: obj({
    shares: u64,
    quota: i64,
    burst: u64,
    period: u64,
    realtimeRuntime: i64,
    realtimePeriod: u64,
    cpus: str,
    mems: str,
    idle: i64,
  }),
  pids: obj({ limit: i64 }),
  blockIO: obj({
    weight: u16,
    leafWeight: u16,
    weightDevice: arr(obj({ ...blockDevice, weight: u16, leafWeight: u16 }, ['major', 'minor'])),
    throttleReadBpsDevice: arr(throttle),
    throttleWriteBpsDevice: arr(throttle),
    throttleReadIOPSDevice: arr(throttle),
    throttleWriteIOPSDevice: arr(throttle),
  }),
  hugepageLimits: arr(obj({ pageSize: str, limit: u64 }, ['pageSize', 'limit'])),
  network: obj({ classID: u32, priorities: arr(obj({ name: str, priority: u32 }, ['name', 'priority'])) }),
  rdma: record(obj({ hcaHandles: u32, hcaObjects: u32 })),
  unified: record(str),
});

/** The seccomp argument operators. @internal */
export const SECCOMP_OPERATORS: readonly SeccompOperator[] = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
];
const seccompArg = obj(
  {
    index: int(0, 5),
    value: u64,
    valueTwo: u64,
    op: oneOf(SECCOMP_OPERATORS),
  },
  ['index', 'value', 'op'],
);
/** The seccomp actions the compiler knows (its own table). @internal */
export const SECCOMP_ACTIONS = Object.keys(ACTION_RET) as SeccompAction[];
const ACTIONS = SECCOMP_ACTIONS;
const seccomp = obj(
  {
    defaultAction: oneOf(ACTIONS),
    defaultErrnoRet: u32,
    architectures: strings,
    flags: strings,
    listenerPath: absPath,
    listenerMetadata: str,
    syscalls: arr(obj({ names: strings, action: oneOf(ACTIONS), errnoRet: u32, args: arr(seccompArg) }, ['names', 'action'])),
  },
  ['defaultAction'],
);

const linux = obj({
  namespaces: arr(obj({ type: oneOf(OCI_NAMESPACE_TYPES), path: absPath }, ['type'])),
  uidMappings: arr(idMapping),
  gidMappings: arr(idMapping),
  timeOffsets: record(obj({ secs: i64, nanosecs: u32 })),
  devices: arr(device),
  netDevices: record(obj({ name: str })),
  cgroupsPath: str,
  resources,
  intelRdt: obj({}),
  memoryPolicy: obj({ mode: str, nodes: str, flags: strings }, ['mode']),
  sysctl: record(str),
  seccomp,
  rootfsPropagation: oneOf(['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable']),
  maskedPaths: arr(absPath),
  readonlyPaths: arr(absPath),
  mountLabel: str,
  personality: obj({ domain: oneOf(['LINUX', 'LINUX32']), flags: strings }, ['domain']),
});

/** Sections for other platforms: a Linux runtime refuses a config written for one. */
const OTHER_PLATFORMS = ['windows', 'solaris', 'vm', 'zos', 'freebsd'];

const spec = obj<OciSpec>(
  {
    ociVersion,
    root: obj({ path: str, readonly: bool }, ['path']),
    mounts: arr(mount),
    process: processSchema,
    hostname: str,
    domainname: str,
    hooks,
    annotations: record(str),
    linux,
  },
  ['ociVersion'],
);

/**
 * Checks a runtime-spec config.json (a JSON text, a Buffer of one, or the parsed object) and
 * returns it typed, with only the fields nsbox knows (unknown properties are ignored, as
 * config.md requires of a runtime). Versions 1.0.x–1.2.x are accepted. Pure: no syscalls.
 *
 * Whether nsbox can honour every field is {@link toSpawnOptions}' question: this only checks
 * the shapes (types, required fields, enumerations, ranges).
 *
 * @throws TypeError `ERR_INVALID_ARG_TYPE` or `ERR_INVALID_ARG_VALUE` whose message names the
 *   JSON path of the bad field (`config.json: linux.namespaces[2].type must be one of …`) and
 *   whose `jsonPath` property holds that path; `ERR_INVALID_ARG_VALUE` for text that is not
 *   JSON (`jsonPath` '').
 */
export function parseConfig(config: string | Buffer | object): OciSpec {
  let doc: unknown = config;
  if (typeof config === 'string' || Buffer.isBuffer(config)) {
    try {
      doc = JSON.parse(config.toString());
    } catch (e) {
      throw valueError('', `is not valid JSON (${(e as Error).message})`, String(config).slice(0, 40));
    }
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw typeError('', 'a JSON object', doc);
  for (const k of OTHER_PLATFORMS)
    if ((doc as Record<string, unknown>)[k] != null)
      throw valueError(k, 'is a section for another platform; nsbox runs Linux containers', (doc as Record<string, unknown>)[k]);
  return spec(doc, '');
}

/** A bundle: its directory (absolute) and its checked config.json. */
export interface OciBundle {
  /** The bundle directory, absolute. */
  dir: string;
  /** The parsed and checked config.json. */
  config: OciSpec;
}

/**
 * Reads and checks `DIR/config.json` ({@link parseConfig}). Asynchronous (one file read).
 * @throws as {@link parseConfig}; SysError `ENOENT`/`EACCES` with `path` when
 *   config.json cannot be read.
 */
export async function loadBundle(dir: string): Promise<OciBundle> {
  const file = bundleFile(dir);
  let text: Buffer;
  try {
    text = await promises.readFile(file);
  } catch (cause) {
    throw fromFsError(cause, { path: file });
  }
  return { dir: dirname(file), config: parseConfig(text) };
}

/**
 * {@link loadBundle} with one synchronous read: the OCI runtime's `create`, a command that has
 * nothing else to do meanwhile, where the asynchronous read costs the thread pool's start and
 * four round trips to it (open, stat, read, close). @internal
 */
export function loadBundleSync(dir: string): OciBundle {
  const file = bundleFile(dir);
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch (cause) {
    throw fromFsError(cause, { path: file });
  }
  return { dir: dirname(file), config: parseConfig(text) };
}

function bundleFile(dir: unknown): string {
  if (typeof dir !== 'string' || dir === '') throw invalidArgType('dir', 'a non-empty string', dir);
  return `${resolve(dir)}/config.json`;
}
