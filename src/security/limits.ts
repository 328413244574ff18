/**
 * The process settings a spawn applies besides capabilities and filters: resource limits,
 * oom_score_adj, umask, personality and namespaced sysctls — in the OCI runtime spec's shapes.
 * @module
 */
import { invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { K } from '../native.js';

/** A resource limit (setrlimit(2)), as the OCI spec's `process.rlimits[]`. */
export interface Rlimit {
  /** `RLIMIT_NOFILE`, … (any case; the `RLIMIT_` prefix may be left out). */
  type: string;
  /** Soft limit; `Infinity` or `'unlimited'` for RLIM_INFINITY. */
  soft: number | bigint | 'unlimited';
  /** Hard limit; `Infinity` or `'unlimited'` for RLIM_INFINITY. */
  hard: number | bigint | 'unlimited';
}

/** The execution domain (personality(2)), as the OCI spec's `linux.personality`. */
export interface Personality {
  /** `'LINUX'` (PER_LINUX) or `'LINUX32'` (PER_LINUX32: `uname -m` says i686). */
  domain: 'LINUX' | 'LINUX32';
  /** Extra flags: `ADDR_NO_RANDOMIZE`, `READ_IMPLIES_EXEC`, `UNAME26`, … */
  flags?: string[];
}

const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

function limitValue(name: string, v: unknown): bigint {
  if (v === 'unlimited' || v === Infinity) return RLIM_INFINITY;
  if (typeof v === 'bigint') {
    if (v < 0n || v > RLIM_INFINITY) throw outOfRange(name, '>= 0 and <= 2^64-1', v);
    return v;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw invalidArgType(name, "a non-negative integer, a bigint or 'unlimited'", v);
  return BigInt(v);
}

/** The resource number of an rlimit name (`nofile`, `RLIMIT_NOFILE`). @internal */
export function rlimitNumber(option: string, type: unknown): number {
  if (typeof type !== 'string') throw invalidArgType(option, 'an RLIMIT_* name', type);
  let key = type.toUpperCase();
  if (!key.startsWith('RLIMIT_')) key = `RLIMIT_${key}`;
  const n = K.RLIMIT[key];
  if (n === undefined) throw invalidArgValue(option, type, `is not a resource limit: use one of ${Object.keys(K.RLIMIT).join(', ')}`);
  return n;
}

/**
 * Checks `rlimits` and packs them as (resource, soft, hard) triples for prlimit(2), which
 * the parent applies to the child before anything else runs in it. @internal
 */
export function packRlimits(rlimits: unknown, option = 'options.rlimits'): BigUint64Array | undefined {
  if (rlimits === undefined) return undefined;
  if (!Array.isArray(rlimits)) throw invalidArgType(option, 'an array of { type, soft, hard }', rlimits);
  const out = new BigUint64Array(rlimits.length * 3);
  const seen = new Set<number>();
  rlimits.forEach((r: unknown, i) => {
    const at = `${option}[${i}]`;
    if (typeof r !== 'object' || r === null) throw invalidArgType(at, 'an object { type, soft, hard }', r);
    const { type, soft, hard } = r as Rlimit;
    const n = rlimitNumber(`${at}.type`, type);
    if (seen.has(n)) throw invalidArgValue(`${at}.type`, type, 'is given twice');
    seen.add(n);
    const s = limitValue(`${at}.soft`, soft);
    const h = limitValue(`${at}.hard`, hard);
    if (s > h) throw invalidArgValue(`${at}.soft`, soft, 'is above the hard limit (setrlimit(2) would fail with EINVAL)');
    out.set([BigInt(n), s, h], i * 3);
  });
  return out;
}

/** Checks `oomScoreAdj` (-1000..1000). @internal */
export function checkOomScoreAdj(v: unknown, option = 'options.oomScoreAdj'): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidArgType(option, 'an integer', v);
  if (v < -1000 || v > 1000) throw outOfRange(option, '>= -1000 and <= 1000', v);
  return v;
}

/** Checks `umask` (0..0o777). @internal */
export function checkUmask(v: unknown, option = 'options.umask'): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidArgType(option, 'an integer (e.g. 0o022)', v);
  if (v < 0 || v > 0o777) throw outOfRange(option, '>= 0 and <= 0o777', v);
  return v;
}

/** The personality(2) value of `p`. @internal */
export function personalityValue(p: unknown, option = 'options.personality'): number | undefined {
  if (p === undefined) return undefined;
  if (typeof p !== 'object' || p === null) throw invalidArgType(option, 'an object { domain, flags? }', p);
  const { domain, flags } = p as Personality;
  const P = K.PERSONALITY;
  let v: number;
  if (domain === 'LINUX') v = P.PER_LINUX!;
  else if (domain === 'LINUX32') v = P.PER_LINUX32!;
  else throw invalidArgValue(`${option}.domain`, domain, "must be 'LINUX' or 'LINUX32'");
  if (flags !== undefined) {
    if (!Array.isArray(flags)) throw invalidArgType(`${option}.flags`, 'an array of flag names', flags);
    flags.forEach((f, i) => {
      const bit = typeof f === 'string' && !f.startsWith('PER_') ? P[f] : undefined;
      if (bit === undefined)
        throw invalidArgValue(
          `${option}.flags[${i}]`,
          f,
          `is not a personality flag: use ${Object.keys(P)
            .filter((k) => !k.startsWith('PER_'))
            .join(', ')}`,
        );
      v |= bit;
    });
  }
  return v;
}

/** Which namespace makes a sysctl key the container's own, or undefined for a host-wide key. @internal */
export function sysctlNamespace(key: string): 'net' | 'ipc' | 'uts' | undefined {
  if (key.startsWith('net.')) return 'net';
  if (/^kernel\.(msgmax|msgmnb|msgmni|sem|shmall|shmmax|shmmni|shm_rmid_forced|msg_next_id|sem_next_id|shm_next_id)$/.test(key))
    return 'ipc';
  if (key.startsWith('fs.mqueue.')) return 'ipc';
  if (key === 'kernel.hostname' || key === 'kernel.domainname') return 'uts';
  return undefined;
}

/**
 * Checks `sysctl` (key → value, keys with dots or slashes, as sysctl(8) takes them) and
 * returns (path under /proc/sys, value) pairs. Only keys of a namespace the child has its own
 * of are allowed (runc's rule): `net.*` needs a new or joined network namespace, the ipc keys
 * (`kernel.shm*`, `kernel.msg*`, `kernel.sem`, `fs.mqueue.*`) an ipc one, `kernel.hostname`
 * and `kernel.domainname` a uts one; any other key would change the host and is refused. @internal
 */
export function checkSysctl(v: unknown, own: ReadonlySet<string>, option = 'options.sysctl'): Array<[string, string]> {
  if (v === undefined) return [];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidArgType(option, 'an object of key → value', v);
  const out: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
    const at = `${option}.${key}`;
    if (typeof value !== 'string' && typeof value !== 'number') throw invalidArgType(at, 'a string or a number', value);
    const text = String(value);
    if (text.includes('\0')) throw invalidArgValue(at, text, 'must not contain null bytes');
    // sysctl(8): with a slash the key is a path; else dots separate, and a slash means a dot.
    const path = key.includes('/') ? key.replace(/^\/+/, '') : key.replaceAll('.', '/');
    const dotted = path.replaceAll('/', '.');
    if (!/^[A-Za-z0-9_.:@+-]+(\/[A-Za-z0-9_.:@+-]+)*$/.test(path) || path.split('/').some((c) => c === '.' || c === '..')) {
      throw invalidArgValue(option, key, 'is not a sysctl key');
    }
    const ns = sysctlNamespace(dotted);
    if (ns === undefined)
      throw invalidArgValue(
        option,
        key,
        'is not a namespaced sysctl (net.*, the ipc keys, kernel.hostname/domainname): setting it would change the host',
      );
    if (!own.has(ns)) throw invalidArgValue(option, key, `needs '${ns}' in options.namespaces or options.join`);
    out.push([`/proc/sys/${path}`, text]);
  }
  return out;
}
