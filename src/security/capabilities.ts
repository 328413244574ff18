/**
 * Capabilities (capabilities(7)) by name: the five sets of a process, as a spawn option
 * takes them and as /proc/PID/status shows them.
 * @module
 */
import { invalidArgType, invalidArgValue } from '../errors.js';
import { K } from '../native.js';
import { readTextFile } from '../pathstat.js';
import { checkPid, readProc } from '../procfs.js';
import { DOCKER_CAPABILITIES } from './defaults.js';

/** A capability's kernel name, e.g. `'CAP_NET_ADMIN'`. Newer kernels may know more than these headers: `CAP_<n>`. */
export type CapabilityName = string;

/**
 * The five capability sets, as the OCI runtime spec's `process.capabilities` names them.
 * A set left out is empty.
 */
export interface LinuxCapabilities {
  /** The bounding set: the most any later execve(2) can grant. */
  bounding?: readonly CapabilityName[];
  /** The effective set: what the command can use now. */
  effective?: readonly CapabilityName[];
  /** The permitted set: what it may make effective. */
  permitted?: readonly CapabilityName[];
  /** The inheritable set. Empty unless asked for (the CVE-2022-29162 class). */
  inheritable?: readonly CapabilityName[];
  /** The ambient set, kept across execve(2) of unprivileged programs; each must be permitted and inheritable. */
  ambient?: readonly CapabilityName[];
}

/** The capability sets of a process, decoded from /proc/PID/status: names, in number order. */
export interface ProcessCapabilities {
  /** `CapEff`: what the process can use now. */
  readonly effective: CapabilityName[];
  /** `CapPrm`: what it may make effective. */
  readonly permitted: CapabilityName[];
  /** `CapInh`: kept across execve(2) for files with matching inheritable file capabilities. */
  readonly inheritable: CapabilityName[];
  /** `CapBnd`: the most any later execve(2) can grant. */
  readonly bounding: CapabilityName[];
  /** `CapAmb`: kept across execve(2) of unprivileged programs. */
  readonly ambient: CapabilityName[];
}

/** The five set names, in the order the plan carries them. @internal */
export const CAP_SETS = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;

const NUMBER_OF: ReadonlyMap<string, number> = new Map(Object.entries(K.CAP));
const NAME_OF: ReadonlyMap<number, string> = new Map(Object.entries(K.CAP).map(([k, v]) => [v, k]));

let lastCapCache: number | undefined;

/**
 * The highest capability number this kernel knows, from /proc/sys/kernel/cap_last_cap — read
 * at run time, never taken from compile-time headers (a capability newer than the headers
 * would otherwise survive a drop: bubblewrap's mistake). Falls back to the headers' last
 * capability when /proc is not mounted.
 */
export function lastCap(): number {
  if (lastCapCache === undefined) {
    try {
      lastCapCache = Number.parseInt(readTextFile('/proc/sys/kernel/cap_last_cap'), 10);
    } catch {
      lastCapCache = Math.max(...NUMBER_OF.values());
    }
  }
  return lastCapCache;
}

/** Every capability this kernel has, by name. */
export function allCapabilities(): CapabilityName[] {
  const out: string[] = [];
  for (let n = 0; n <= lastCap(); n++) out.push(NAME_OF.get(n) ?? `CAP_${n}`);
  return out;
}

/** The number of `CAP_<digits>`, or undefined. */
function capNumberOf(key: string): number | undefined {
  if (!key.startsWith('CAP_') || key.length === 4) return undefined;
  for (let i = 4; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  return Number(key.slice(4));
}

/**
 * The number of a capability name: `CAP_NET_ADMIN`, or in any case and without the prefix
 * (`net_admin`, as the CLI takes it) when `loose`. Throws ERR_INVALID_ARG_VALUE for an
 * unknown name or one this kernel lacks.
 */
export function capabilityNumber(name: unknown, option: string, loose = false): number {
  if (typeof name !== 'string') throw invalidArgType(option, 'a capability name', name);
  let key = name;
  if (loose) {
    key = name.toUpperCase();
    if (!key.startsWith('CAP_')) key = `CAP_${key}`;
  }
  // A name first; CAP_<number> (a capability newer than the headers) only if it is none. No
  // regular expression: its first use compiles it, ~0.1 ms of a short `nsbox run`.
  const n = NUMBER_OF.get(key) ?? capNumberOf(key);
  if (n === undefined) throw invalidArgValue(option, name, 'is not a capability name (capabilities(7)), e.g. CAP_NET_ADMIN');
  if (n > lastCap()) throw invalidArgValue(option, name, `is not known to this kernel (its last capability is ${lastCap()})`);
  return n;
}

/** The bit mask of a list of names. @internal */
export function capabilityMask(names: readonly unknown[] | undefined, option: string): bigint {
  if (names === undefined) return 0n;
  if (!Array.isArray(names)) throw invalidArgType(option, 'an array of capability names', names);
  let mask = 0n;
  names.forEach((n, i) => (mask |= 1n << BigInt(capabilityNumber(n, `${option}[${i}]`))));
  return mask;
}

/** Names of the bits set in `mask`, in number order. */
export function capabilityNames(mask: bigint): CapabilityName[] {
  const out: string[] = [];
  for (let n = 0; n < 64; n++) if ((mask >> BigInt(n)) & 1n) out.push(NAME_OF.get(n) ?? `CAP_${n}`);
  return out;
}

/**
 * The capability sets of process `pid` (default: this one), decoded from the
 * `CapInh/CapPrm/CapEff/CapBnd/CapAmb` lines of /proc/PID/status, as `capsh --decode` would.
 *
 * Privileges: none (any process whose /proc entry is visible). Blocking: reads one small
 * procfs file synchronously.
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_OUT_OF_RANGE` for a bad pid; {@link SysError} `ENOENT`
 *   (syscall 'open', path /proc/PID/status) when there is no such process.
 */
export function capabilities(pid: number | 'self' = 'self'): ProcessCapabilities {
  const text = readProc(checkPid('pid', pid), 'status');
  const field = (k: string): CapabilityName[] => {
    const m = new RegExp(`^${k}:\\s*([0-9a-f]+)$`, 'm').exec(text);
    return m ? capabilityNames(BigInt(`0x${m[1]}`)) : [];
  };
  return {
    effective: field('CapEff'),
    permitted: field('CapPrm'),
    inheritable: field('CapInh'),
    bounding: field('CapBnd'),
    ambient: field('CapAmb'),
  };
}

/** Docker's default capability set (moby daemon/pkg/oci/caps/defaults.go), which `nsbox run` uses. */
export const DEFAULT_CAPABILITIES: readonly CapabilityName[] = DOCKER_CAPABILITIES;
