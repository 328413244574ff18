/**
 * `linux.resources` on cgroup v2: the `unified` map as it is, and the cgroup v1-style fields
 * (memory, cpu, pids, blockIO, hugepageLimits, rdma) translated to v2 files the way crun does
 * (crun.1.md, "CGROUP v2"). A v1 field with no v2 equivalent is an error, as config-linux.md
 * requires ("If the conversion is not possible the runtime MUST generate an error"). Pure.
 * @module
 */
import { unsupported, valueError } from './check.js';
import type { OciResources, OciThrottleDevice } from './types.js';

/** One write to a file of the container's cgroup, in order. */
export interface CgroupWrite {
  /** The file, e.g. `memory.max`. */
  file: string;
  /** What is written. */
  value: string;
}

/** The v2 writes of `linux.resources` and the controllers they need enabled. */
export interface CgroupResourcePlan {
  /** Writes in order; a `unified` entry replaces the translated write to the same file. */
  writes: CgroupWrite[];
  /** Controllers the writes need (`memory`, `cpu`, `io`, …), for the parents' cgroup.subtree_control. */
  controllers: string[];
}

/** Options of {@link translateResources}. */
export interface TranslateOptions {
  /**
   * The cgroup has `io.bfq.weight` (the BFQ scheduler): blkio weights are written there as
   * they are, as crun does; else converted to `io.weight`. Default false.
   */
  bfq?: boolean;
}

const SHARES_MIN = 2;
const SHARES_MAX = 262144;

/**
 * cpu.weight of v1 cpu.shares, as crun ≥ 1.23 and runc ≥ 1.3.2 compute it (crun#1767,
 * runc#4785): `ceil(10^((l² + 125·l) / 612 − 7/34))` with `l = log2(shares)`, which maps
 * 2 → 1, 1024 (the v1 default) → 100 (the v2 default) and 262144 → 10000. 0 means unset.
 */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= SHARES_MIN) return 1;
  if (shares >= SHARES_MAX) return 10000;
  const l = Math.log2(shares);
  return Math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34));
}

/** io.weight of a v1 blkio weight (10–1000 → 1–10000 linearly), crun's fallback when there is no io.bfq.weight. */
export function blkioWeightToIoWeight(weight: number): number {
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

const R = 'linux.resources';
type Put = (file: string, value: string) => void;
const limitText = (v: number) => (v < 0 ? 'max' : String(v));

/**
 * Translates `linux.resources` (without `devices`, which is not a cgroup v2 file) into cgroup
 * v2 writes. `unified` entries are kept as given and win over translated values for the same
 * file. Pure; every error names the JSON path.
 * @throws TypeError `ERR_INVALID_ARG_VALUE` for a value out of its v1 range;
 *   `ERR_NSBOX_UNSUPPORTED` for a v1 field with no v2 equivalent (kernel, kernelTCP,
 *   swappiness, disableOOMKiller, realtime*, leafWeight, network).
 */
export function translateResources(r: OciResources, options: TranslateOptions = {}): CgroupResourcePlan {
  const out = new Map<string, string>();
  const put = (file: string, value: string) => out.set(file, value);
  if (r.memory) memory(r.memory, put);
  if (r.cpu) cpu(r.cpu, r.unified, put);
  if (r.pids && r.pids.limit !== 0) put('pids.max', limitText(r.pids.limit));
  if (r.blockIO) blockIO(r.blockIO, options, put);
  (r.hugepageLimits ?? []).forEach((h, i) => {
    if (!/^\d+[KMG]B$/.test(h.pageSize))
      throw valueError(`${R}.hugepageLimits[${i}].pageSize`, "must be a page size such as '2MB' or '1GB'", h.pageSize);
    put(`hugetlb.${h.pageSize}.max`, String(h.limit));
  });
  if (r.network && (r.network.classID !== undefined || (r.network.priorities ?? []).length > 0))
    throw unsupported(`${R}.network`, 'net_cls and net_prio exist only in cgroup v1');
  const rdma = Object.entries(r.rdma ?? {});
  if (rdma.length)
    put('rdma.max', rdma.map(([dev, l]) => `${dev} hca_handle=${l.hcaHandles ?? 'max'} hca_object=${l.hcaObjects ?? 'max'}`).join('\n'));
  for (const [file, value] of Object.entries(r.unified ?? {})) {
    if (!/^[a-z_]+(\.[A-Za-z0-9_-]+)+$/.test(file))
      throw valueError(`${R}.unified[${JSON.stringify(file)}]`, 'must name a cgroup v2 file such as "memory.max" (no "/")', file);
    out.delete(file); // the unified value is written last and wins, as crun does
    put(file, value);
  }
  const writes = [...out].map(([file, value]) => ({ file, value }));
  const controllers = [...new Set(writes.map((w) => w.file.split('.')[0]!).filter((c) => c !== 'cgroup'))];
  return { writes, controllers };
}

/** memory: limit, reservation, swap (memory+swap in v1); the v1-only fields refused. */
function memory(m: NonNullable<OciResources['memory']>, put: Put): void {
  const p = `${R}.memory`;
  for (const k of ['kernel', 'kernelTCP'] as const)
    if (m[k] !== undefined && m[k] !== 0) throw unsupported(`${p}.${k}`, 'cgroup v2 has no separate kernel memory limit');
  if (m.swappiness !== undefined) throw unsupported(`${p}.swappiness`, 'cgroup v2 has no per-cgroup swappiness');
  if (m.disableOOMKiller === true) throw unsupported(`${p}.disableOOMKiller`, 'cgroup v2 cannot disable the OOM killer');
  if (m.useHierarchy === false) throw unsupported(`${p}.useHierarchy`, 'cgroup v2 accounting is always hierarchical');
  if (m.limit !== undefined && m.limit !== 0) put('memory.max', limitText(m.limit));
  if (m.reservation !== undefined && m.reservation !== 0) put('memory.low', limitText(m.reservation));
  if (m.swap !== undefined && m.swap !== 0) {
    // v1's swap limit is memory+swap; v2's memory.swap.max is swap alone.
    if (m.swap < 0) put('memory.swap.max', 'max');
    else if (m.limit === undefined || m.limit <= 0)
      throw valueError(`${p}.swap`, 'needs memory.limit (cgroup v2 limits swap alone: memory.swap.max = swap − limit)', m.swap);
    else if (m.swap < m.limit)
      throw valueError(`${p}.swap`, `must be at least memory.limit (${m.limit}): it counts memory plus swap`, m.swap);
    else put('memory.swap.max', String(m.swap - m.limit));
  }
}

/** cpu and cpuset: shares → weight, quota/period → cpu.max, burst, idle, cpus, mems; realtime refused. */
function cpu(c: NonNullable<OciResources['cpu']>, unified: OciResources['unified'], put: Put): void {
  const p = `${R}.cpu`;
  for (const k of ['realtimeRuntime', 'realtimePeriod'] as const)
    if (c[k] !== undefined && c[k] !== 0) throw unsupported(`${p}.${k}`, 'cgroup v2 has no realtime CPU controller');
  if (c.shares !== undefined && c.shares !== 0) {
    if (unified?.['cpu.idle'] === '1') throw valueError(`${p}.shares`, 'cannot be set with unified["cpu.idle"] = "1"', c.shares);
    put('cpu.weight', String(sharesToWeight(c.shares)));
  }
  const quota = c.quota !== undefined && c.quota !== 0 ? c.quota : undefined;
  const period = c.period !== undefined && c.period !== 0 ? c.period : undefined;
  if (quota !== undefined || period !== undefined)
    put('cpu.max', `${quota === undefined || quota < 0 ? 'max' : quota} ${period ?? 100000}`);
  if (c.burst !== undefined) put('cpu.max.burst', String(c.burst));
  if (c.idle !== undefined) {
    if (c.idle !== 0 && c.idle !== 1) throw valueError(`${p}.idle`, 'must be 0 or 1', c.idle);
    put('cpu.idle', String(c.idle));
  }
  if (c.cpus !== undefined && c.cpus !== '') put('cpuset.cpus', c.cpus);
  if (c.mems !== undefined && c.mems !== '') put('cpuset.mems', c.mems);
}

/** blkio: weights to io.weight or io.bfq.weight, throttles to io.max; leaf weights refused. */
function blockIO(b: NonNullable<OciResources['blockIO']>, options: TranslateOptions, put: Put): void {
  const p = `${R}.blockIO`;
  const weight = (w: number, at: string) => {
    if (w < 10 || w > 1000) throw valueError(at, 'must be a blkio weight from 10 to 1000', w);
    return options.bfq ? w : blkioWeightToIoWeight(w);
  };
  const wfile = options.bfq ? 'io.bfq.weight' : 'io.weight';
  if (b.leafWeight !== undefined && b.leafWeight !== 0) throw unsupported(`${p}.leafWeight`, 'cgroup v2 has no leaf weight');
  const lines: string[] = [];
  if (b.weight !== undefined && b.weight !== 0) lines.push(`default ${weight(b.weight, `${p}.weight`)}`);
  (b.weightDevice ?? []).forEach((d, i) => {
    if (d.leafWeight !== undefined && d.leafWeight !== 0)
      throw unsupported(`${p}.weightDevice[${i}].leafWeight`, 'cgroup v2 has no leaf weight');
    if (d.weight !== undefined) lines.push(`${d.major}:${d.minor} ${weight(d.weight, `${p}.weightDevice[${i}].weight`)}`);
  });
  if (lines.length) put(wfile, lines.join('\n'));
  // io.max: one line per device with every key that device has.
  const max = new Map<string, string[]>();
  const keys: Array<[keyof typeof b, string]> = [
    ['throttleReadBpsDevice', 'rbps'],
    ['throttleWriteBpsDevice', 'wbps'],
    ['throttleReadIOPSDevice', 'riops'],
    ['throttleWriteIOPSDevice', 'wiops'],
  ];
  for (const [field, key] of keys) {
    for (const d of (b[field] as OciThrottleDevice[] | undefined) ?? []) {
      const dev = `${d.major}:${d.minor}`;
      max.set(dev, [...(max.get(dev) ?? []), `${key}=${d.rate === 0 ? 'max' : d.rate}`]);
    }
  }
  if (max.size) put('io.max', [...max].map(([dev, kv]) => `${dev} ${kv.join(' ')}`).join('\n'));
}
