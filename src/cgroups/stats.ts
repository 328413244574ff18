/**
 * Statistics and event files parsed into typed objects. Keys are the kernel's, camelCased
 * (`oom_kill` → `oomKill`); a key a newer kernel adds appears too, untyped.
 * @module
 */
import { camel, parseFlat, parseFlatRaw, parseMax, type LimitValue } from './units.js';

/** cgroup.stat. */
export interface CgroupStat {
  /** Visible descendant cgroups. */
  nrDescendants: number;
  /** Removed descendants still being torn down. */
  nrDyingDescendants: number;
  [key: string]: number;
}

/** cgroup.events. */
export interface CgroupEvents {
  /** The cgroup or a descendant has live processes. */
  populated: boolean;
  /** The cgroup is frozen (cgroup.freeze 1 has taken effect). */
  frozen: boolean;
}

/** memory.events (or memory.events.local): counts since creation. */
export interface MemoryEvents {
  /** Times usage was above memory.low (protection breached). */
  low: number;
  /** Times processes were throttled above memory.high. */
  high: number;
  /** Times usage hit memory.max. */
  max: number;
  /** Times the OOM killer was invoked (or allocation failed). */
  oom: number;
  /** Processes killed by the OOM killer. */
  oomKill: number;
  /** Times the whole cgroup was OOM-killed (memory.oom.group). */
  oomGroupKill?: number;
  [key: string]: number | undefined;
}

/** pids.events. */
export interface PidsEvents {
  /** fork/clone calls refused because pids.max was reached. */
  max: number;
  [key: string]: number | undefined;
}

/** memory.* usage; each field present only when its file exists. */
export interface MemoryStats {
  /** memory.current, bytes. */
  current?: number;
  /** memory.peak, bytes (Linux 5.19+). */
  peak?: number;
  /** memory.swap.current, bytes. */
  swapCurrent?: number;
  /** memory.swap.peak, bytes (Linux 6.5+). */
  swapPeak?: number;
  /** memory.zswap.current, bytes. */
  zswapCurrent?: number;
  /** memory.stat with the kernel's keys (anon, file, kernel, sock, shmem, pgfault, …). */
  stat?: Record<string, number>;
  /** memory.events. */
  events?: MemoryEvents;
  /** memory.events.local (this cgroup only). */
  eventsLocal?: MemoryEvents;
  /** memory.swap.events (high, max, fail). */
  swapEvents?: Record<string, number>;
}

/** cpu.stat (present without the cpu controller too: usage, user, system). */
export interface CpuStats {
  /** Total CPU time, µs. */
  usageUsec: number;
  /** User CPU time, µs. */
  userUsec: number;
  /** System CPU time, µs. */
  systemUsec: number;
  /** Only with the cpu controller enabled. */
  /** Enforcement periods elapsed. */
  nrPeriods?: number;
  /** Periods in which the cgroup was throttled. */
  nrThrottled?: number;
  /** Total time throttled, µs. */
  throttledUsec?: number;
  /** Periods in which it used its burst. */
  nrBursts?: number;
  /** Total burst time used, µs. */
  burstUsec?: number;
  [key: string]: number | undefined;
}

/** One io.stat line. */
export interface IoDeviceStats {
  /** 'MAJ:MIN'. */
  device: string;
  /** Bytes read. */
  rbytes: number;
  /** Bytes written. */
  wbytes: number;
  /** Read operations. */
  rios: number;
  /** Write operations. */
  wios: number;
  /** Bytes discarded. */
  dbytes: number;
  /** Discard operations. */
  dios: number;
  [key: string]: number | string;
}

/** pids.*. */
export interface PidsStats {
  /** pids.current. */
  current?: number;
  /** pids.peak (Linux 6.1+). */
  peak?: number;
  /** pids.max. */
  max?: LimitValue;
  /** pids.events. */
  events?: PidsEvents;
}

/** hugetlb.<size>.* of one page size. */
export interface HugetlbSizeStats {
  /** hugetlb.<size>.current: bytes in use. */
  current?: number;
  /** hugetlb.<size>.max. */
  max?: LimitValue;
  /** hugetlb.<size>.rsvd.current: bytes reserved. */
  rsvdCurrent?: number;
  /** hugetlb.<size>.rsvd.max. */
  rsvdMax?: LimitValue;
  /** hugetlb.<size>.events: `max` = allocations that failed on the limit. */
  events?: Record<string, number>;
}

/** One line of a PSI file: the share of time tasks stalled. */
export interface PressureLine {
  /** Percent over the last 10 s. */
  avg10: number;
  /** Percent over the last 60 s. */
  avg60: number;
  /** Percent over the last 300 s. */
  avg300: number;
  /** Total stall time, µs. */
  total: number;
}

/** A `<kind>.pressure` file (Documentation/accounting/psi.rst). */
export interface Pressure {
  /** Some tasks stalled. */
  some: PressureLine;
  /** All non-idle tasks stalled at once (absent for cpu on old kernels). */
  full?: PressureLine;
}

/** @internal */
export function parseCgroupEvents(text: string): CgroupEvents {
  const f = parseFlat(text);
  return { populated: f.populated === 1, frozen: f.frozen === 1 };
}

/** @internal */
export function parseEvents<T>(text: string): T {
  return parseFlat(text) as T;
}

/** @internal */
export function parseRaw(text: string): Record<string, number> {
  return parseFlatRaw(text);
}

/** @internal */
export function parseIoStat(text: string): IoDeviceStats[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const [device, ...kv] = line.trim().split(/\s+/);
      const e: IoDeviceStats = { device: device!, rbytes: 0, wbytes: 0, rios: 0, wios: 0, dbytes: 0, dios: 0 };
      for (const p of kv) {
        const [k, v] = p.split('=');
        if (k !== undefined && v !== undefined) e[camel(k)] = Number(v);
      }
      return e;
    });
}

/** @internal */
export function parsePressure(text: string): Pressure {
  const out: Partial<Pressure> = {};
  for (const line of text.split('\n')) {
    const [kind, ...kv] = line.trim().split(/\s+/);
    if (kind !== 'some' && kind !== 'full') continue;
    const f = Object.fromEntries(kv.map((p) => p.split('=') as [string, string]));
    out[kind] = { avg10: Number(f.avg10), avg60: Number(f.avg60), avg300: Number(f.avg300), total: Number(f.total) };
  }
  return out as Pressure;
}

/** @internal */
export { parseMax };
