/**
 * Reading the statistics files of one cgroup into the typed objects of stats.ts.
 * @internal
 * @module
 */
import { readCgIf, type CgroupLocation } from './files.js';
import {
  parseEvents,
  parseMax,
  parseRaw,
  type HugetlbSizeStats,
  type MemoryEvents,
  type MemoryStats,
  type PidsEvents,
  type PidsStats,
} from './stats.js';

/** memory.* that exist. @internal */
export function readMemoryStats(cg: CgroupLocation): MemoryStats {
  const out: MemoryStats = {};
  const num = (f: string): number | undefined => {
    const t = readCgIf(cg, f);
    return t === undefined ? undefined : Number(t.trim());
  };
  const set = <K extends keyof MemoryStats>(k: K, v: MemoryStats[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('current', num('memory.current'));
  set('peak', num('memory.peak'));
  set('swapCurrent', num('memory.swap.current'));
  set('swapPeak', num('memory.swap.peak'));
  set('zswapCurrent', num('memory.zswap.current'));
  let t: string | undefined;
  if ((t = readCgIf(cg, 'memory.stat')) !== undefined) out.stat = parseRaw(t);
  if ((t = readCgIf(cg, 'memory.events')) !== undefined) out.events = parseEvents<MemoryEvents>(t);
  if ((t = readCgIf(cg, 'memory.events.local')) !== undefined) out.eventsLocal = parseEvents<MemoryEvents>(t);
  if ((t = readCgIf(cg, 'memory.swap.events')) !== undefined) out.swapEvents = parseEvents<Record<string, number>>(t);
  return out;
}

/** pids.* that exist. @internal */
export function readPidsStats(cg: CgroupLocation): PidsStats {
  const out: PidsStats = {};
  let t: string | undefined;
  if ((t = readCgIf(cg, 'pids.current')) !== undefined) out.current = Number(t.trim());
  if ((t = readCgIf(cg, 'pids.peak')) !== undefined) out.peak = Number(t.trim());
  if ((t = readCgIf(cg, 'pids.max')) !== undefined) out.max = parseMax(t);
  if ((t = readCgIf(cg, 'pids.events')) !== undefined) out.events = parseEvents<PidsEvents>(t);
  return out;
}

/** hugetlb.<size>.* per page size, from the directory listing `files`. @internal */
export function readHugetlbStats(cg: CgroupLocation, files: readonly string[]): Record<string, HugetlbSizeStats> {
  const out: Record<string, HugetlbSizeStats> = {};
  for (const f of files) {
    const m = /^hugetlb\.(\d+[KMG]B)\.(current|max|rsvd\.current|rsvd\.max|events)$/.exec(f);
    if (!m) continue;
    const t = readCgIf(cg, f);
    if (t === undefined) continue;
    const e = (out[m[1]!] ??= {});
    switch (m[2]) {
      case 'current':
        e.current = Number(t.trim());
        break;
      case 'max':
        e.max = parseMax(t);
        break;
      case 'rsvd.current':
        e.rsvdCurrent = Number(t.trim());
        break;
      case 'rsvd.max':
        e.rsvdMax = parseMax(t);
        break;
      default:
        e.events = parseEvents<Record<string, number>>(t);
    }
  }
  return out;
}
