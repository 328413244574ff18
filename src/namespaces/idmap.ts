/**
 * uid/gid maps of a new user namespace (user_namespaces(7)): validation, defaults, and the
 * choice of who writes them — the parent directly (root, or an unprivileged user's single
 * mapping of itself with setgroups denied) or the setuid helpers newuidmap(1)/newgidmap(1)
 * with the ranges of /etc/subuid and /etc/subgid.
 * @module
 */
import { findHelper } from '../helpers.js';
import { invalidArgType, invalidArgValue, nsboxError, outOfRange } from '../errors.js';
import type { SpawnMaps } from '../native.js';

/** One line of /proc/PID/uid_map or gid_map: `count` ids from `inside` map to `outside`. */
export interface IdMapping {
  /** First id inside the namespace. */
  inside: number;
  /** First id outside (in the parent user namespace). */
  outside: number;
  /** How many consecutive ids. Defaults to 1. */
  count?: number;
}

/** Whether the new user namespace may call setgroups(2); see user_namespaces(7). */
export type SetgroupsPolicy = 'allow' | 'deny';

const MAX_ID = 0xfffffffe; // (uid_t)-1 is never a valid id
const MAX_LINES = 340; // the kernel's limit since 4.15

function checkMaps(name: string, maps: unknown): IdMapping[] {
  if (!Array.isArray(maps)) throw invalidArgType(name, 'an array of { inside, outside, count }', maps);
  if (maps.length === 0 || maps.length > MAX_LINES) throw outOfRange(`${name}.length`, `>= 1 and <= ${MAX_LINES}`, maps.length);
  const out: IdMapping[] = maps.map((m: unknown, i) => {
    if (typeof m !== 'object' || m === null) throw invalidArgType(`${name}[${i}]`, 'an object', m);
    const { inside, outside, count = 1 } = m as Record<string, unknown>;
    for (const [k, v] of [
      ['inside', inside],
      ['outside', outside],
      ['count', count],
    ] as const) {
      if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidArgType(`${name}[${i}].${k}`, 'an integer', v);
      if (v < (k === 'count' ? 1 : 0) || v > MAX_ID)
        throw outOfRange(`${name}[${i}].${k}`, `>= ${k === 'count' ? 1 : 0} and <= ${MAX_ID}`, v);
    }
    if ((inside as number) + (count as number) - 1 > MAX_ID || (outside as number) + (count as number) - 1 > MAX_ID) {
      throw outOfRange(`${name}[${i}]`, 'a range that ends at or below 4294967294', m);
    }
    return { inside: inside as number, outside: outside as number, count: count as number };
  });
  // The kernel rejects overlapping ranges (EINVAL); say which ones before any syscall.
  for (const side of ['inside', 'outside'] as const) {
    const sorted = [...out].sort((a, b) => a[side] - b[side]);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      if (prev[side] + prev.count! > sorted[i]![side]) throw invalidArgValue(name, maps, `has overlapping ${side} ranges`);
    }
  }
  return out;
}

const text = (maps: IdMapping[]): string => maps.map((m) => `${m.inside} ${m.outside} ${m.count}`).join('\n') + '\n';
const helperArgs = (maps: IdMapping[]): string[] => maps.flatMap((m) => [String(m.inside), String(m.outside), String(m.count)]);

/** Options that shape the id maps. @internal */
export interface IdMapOptions {
  uidMap?: unknown;
  gidMap?: unknown;
  setgroups?: unknown;
}

/**
 * Validates the maps and decides how they are written. Defaults: for an unprivileged caller,
 * its euid/egid become root inside (as `unshare -r`) with setgroups denied; for root, ids
 * 0-65535 inside map to a block of unprivileged host ids claimed per sandbox (`auto`).
 * @internal
 */
export function resolveIdMaps(o: IdMapOptions, euid: number, egid: number): ResolvedMaps {
  if (euid === 0 && o.uidMap === undefined && o.gidMap === undefined) {
    // Root without maps: a block of unprivileged host ids claimed at spawn time (idrange.ts).
    // The child switches to the block's first id right after the maps are written: keeping
    // host uid 0 would pass every owner check on host files although it shows as nobody.
    if (o.setgroups !== undefined && o.setgroups !== 'allow' && o.setgroups !== 'deny') {
      throw invalidArgValue('options.setgroups', o.setgroups, "must be 'allow' or 'deny'");
    }
    return { mode: 'direct', uidMap: '', gidMap: '', denySetgroups: o.setgroups === 'deny', auto: true, switchUid: 0, switchGid: 0 };
  }
  if (euid === 0 && (o.uidMap === undefined) !== (o.gidMap === undefined)) {
    // The missing one would be root's own id: host root's group (or user) inside.
    const [given, missing] = o.uidMap === undefined ? ['gidMap', 'uidMap'] : ['uidMap', 'gidMap'];
    throw invalidArgValue(
      `options.${missing}`,
      undefined,
      `must be given with options.${given} when the caller is root (it would map host root)`,
    );
  }
  const maps = resolveMaps(o, euid, egid);
  const uidMap = o.uidMap === undefined ? [{ inside: 0, outside: euid, count: 1 }] : (o.uidMap as IdMapping[]);
  const gidMap = o.gidMap === undefined ? [{ inside: 0, outside: egid, count: 1 }] : (o.gidMap as IdMapping[]);
  // A caller whose own ids are not mapped would be "nobody" inside, unable to own a file it
  // creates (EOVERFLOW) — become the namespace's root (or its first id) right after the maps.
  const inside = (maps: IdMapping[], id: number) =>
    maps.some((m) => m.outside <= id && id < m.outside + (m.count ?? 1))
      ? undefined
      : (maps.find((m) => m.inside === 0) ?? maps[0]!).inside;
  const switchUid = inside(uidMap, euid);
  const switchGid = inside(gidMap, egid);
  const out: ResolvedMaps = { ...maps };
  if (switchUid !== undefined) out.switchUid = switchUid;
  if (switchGid !== undefined) out.switchGid = switchGid;
  return out;
}

/** The maps, and the ids to switch to when the caller's own are not mapped. @internal */
export type ResolvedMaps = SpawnMaps & { switchUid?: number; switchGid?: number; auto?: boolean };

function resolveMaps(o: IdMapOptions, euid: number, egid: number): SpawnMaps {
  const uidMap = o.uidMap === undefined ? [{ inside: 0, outside: euid, count: 1 }] : checkMaps('options.uidMap', o.uidMap);
  const gidMap = o.gidMap === undefined ? [{ inside: 0, outside: egid, count: 1 }] : checkMaps('options.gidMap', o.gidMap);
  if (o.setgroups !== undefined && o.setgroups !== 'allow' && o.setgroups !== 'deny') {
    throw invalidArgValue('options.setgroups', o.setgroups, "must be 'allow' or 'deny'");
  }
  const setgroups = o.setgroups as SetgroupsPolicy | undefined;
  if (euid === 0) {
    return { mode: 'direct', uidMap: text(uidMap), gidMap: text(gidMap), denySetgroups: setgroups === 'deny' };
  }
  // An unprivileged writer may map exactly its own euid/egid, once, with setgroups denied.
  const self = (maps: IdMapping[], id: number) => maps.length === 1 && maps[0]!.outside === id && maps[0]!.count === 1;
  if (self(uidMap, euid) && self(gidMap, egid) && setgroups !== 'allow') {
    return { mode: 'direct', uidMap: text(uidMap), gidMap: text(gidMap), denySetgroups: true };
  }
  const newuidmap = findHelper('newuidmap');
  const newgidmap = findHelper('newgidmap');
  if (!newuidmap || !newgidmap) {
    throw nsboxError(
      'ERR_NSBOX_NO_IDMAP_HELPER',
      'Mapping more than your own uid and gid in a user namespace as an unprivileged user needs newuidmap(1) and newgidmap(1) ' +
        "(Debian/Ubuntu package 'uidmap') and ranges for you in /etc/subuid and /etc/subgid.",
    );
  }
  if (setgroups === 'deny') throw invalidArgValue('options.setgroups', setgroups, "cannot be 'deny' when newgidmap writes the maps");
  return {
    mode: 'helper',
    uidMap: text(uidMap),
    gidMap: text(gidMap),
    denySetgroups: false,
    uidHelper: [newuidmap, ...helperArgs(uidMap)],
    gidHelper: [newgidmap, ...helperArgs(gidMap)],
  };
}
