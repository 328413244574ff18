/**
 * Typed cgroup v2 limits: the spec a caller writes ({@link CgroupLimits}), its translation
 * into one write per cgroupfs file, and what {@link Cgroup.limits} reads back
 * ({@link CgroupLimitValues}). Validation is pure and happens before any write.
 * @module
 */
import { invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { bytesText, boolText, intText, parseMax, type Bytes, type LimitValue } from './units.js';

/** memory controller limits (Documentation/admin-guide/cgroup-v2.rst, "Memory Interface Files"). */
export interface MemoryLimits {
  /** memory.min: hard protection from reclaim. */
  min?: Bytes;
  /** memory.low: best-effort protection from reclaim. */
  low?: Bytes;
  /** memory.high: throttle and reclaim above this. */
  high?: Bytes;
  /** memory.max: hard limit; the OOM killer acts above it. Lowering it can block while reclaiming. */
  max?: Bytes;
  /** memory.swap.max: swap usage limit. */
  swapMax?: Bytes;
  /** memory.zswap.max: zswap pool limit (Linux 5.19+). */
  zswapMax?: Bytes;
  /** memory.oom.group: the OOM killer kills the whole cgroup together. */
  oomGroup?: boolean;
}

/** cpu controller limits. */
export interface CpuLimits {
  /** cpu.max: `quota` µs of CPU per `period` µs (default period 100000), or 'max'. */
  max?:
    | {
        /** µs of CPU time per period, or 'max'. */
        quota: number | 'max';
        /** The period, µs (1000–1000000; default 100000). */
        period?: number;
      }
    | 'max';
  /** cpu.weight: 1–10000 (default 100). */
  weight?: number;
  /** cpu.weight.nice: -20–19, the nice(2)-style view of the weight. */
  weightNice?: number;
  /** cpu.idle: SCHED_IDLE for the whole cgroup. */
  idle?: boolean;
  /** cpu.max.burst: µs a cgroup may bank and burst above its quota. */
  burst?: number;
}

/** pids controller limits. */
export interface PidsLimits {
  /** pids.max: number of tasks (processes and threads), or 'max'. */
  max?: number | 'max';
}

/** One io.max line: limits on one block device. Unset fields are left as they are. */
export interface IoDeviceLimit {
  /** The device as 'MAJ:MIN' (e.g. '8:0'; `lsblk -o MAJ:MIN`). */
  device: string;
  /** Read bytes per second. */
  rbps?: Bytes;
  /** Written bytes per second. */
  wbps?: Bytes;
  /** Read operations per second. */
  riops?: number | 'max';
  /** Write operations per second. */
  wiops?: number | 'max';
}

/** io controller limits. */
export interface IoLimits {
  /** io.max, one write per device. */
  max?: IoDeviceLimit[];
  /** io.weight default: 1–10000 (default 100). */
  weight?: number;
}

/** cpuset controller settings. */
export interface CpusetLimits {
  /** cpuset.cpus, a cpu list such as '0-3,6'. */
  cpus?: string;
  /** cpuset.mems, a memory node list such as '0'. */
  mems?: string;
  /** cpuset.cpus.partition. */
  partition?: 'member' | 'root' | 'isolated';
}

/** hugetlb limits of one huge page size. */
export interface HugetlbSizeLimits {
  /** hugetlb.<size>.max: huge page usage limit (a multiple of the page size). */
  max?: Bytes;
  /** hugetlb.<size>.rsvd.max: reservation limit. */
  rsvdMax?: Bytes;
}

/**
 * Limits to write with {@link Cgroup.setLimits} or {@link createCgroup}: one write per
 * setting, each to the file the kernel documents. Unknown keys are errors.
 */
export interface CgroupLimits {
  /** memory controller limits. */
  memory?: MemoryLimits;
  /** cpu controller limits. */
  cpu?: CpuLimits;
  /** pids controller limits. */
  pids?: PidsLimits;
  /** io controller limits. */
  io?: IoLimits;
  /** cpuset controller settings. */
  cpuset?: CpusetLimits;
  /** Per huge page size as cgroupfs names it: '2MB', '1GB', '64KB'. */
  hugetlb?: Record<string, HugetlbSizeLimits>;
}

/** What {@link Cgroup.limits} reads back; a field is present only when its file exists. */
export interface CgroupLimitValues {
  /** memory.* limits. */
  memory?: {
    /** memory.min, bytes. */
    min?: number;
    /** memory.low, bytes. */
    low?: number;
    /** memory.high. */
    high?: LimitValue;
    /** memory.max. */
    max?: LimitValue;
    /** memory.swap.max. */
    swapMax?: LimitValue;
    /** memory.zswap.max. */
    zswapMax?: LimitValue;
    /** memory.oom.group. */
    oomGroup?: boolean;
  };
  /** cpu.* limits. */
  cpu?: {
    /** cpu.max. */
    max?: {
      /** µs per period, or 'max'. */
      quota: LimitValue;
      /** The period, µs. */
      period: number;
    };
    /** cpu.weight. */
    weight?: number;
    /** cpu.weight.nice. */
    weightNice?: number;
    /** cpu.idle. */
    idle?: boolean;
    /** cpu.max.burst, µs. */
    burst?: number;
  };
  /** pids.max. */
  pids?: {
    /** pids.max. */
    max?: LimitValue;
  };
  /** io.* limits. */
  io?: {
    /** io.max, one entry per limited device; an unset field reads 'max'. */
    max?: Array<{
      /** 'MAJ:MIN'. */
      device: string;
      /** Read bytes per second. */
      rbps: LimitValue;
      /** Written bytes per second. */
      wbps: LimitValue;
      /** Read operations per second. */
      riops: LimitValue;
      /** Write operations per second. */
      wiops: LimitValue;
    }>;
    /** io.weight's default. */
    weight?: number;
  };
  /** cpuset.* settings. */
  cpuset?: {
    /** cpuset.cpus ('' = inherit). */
    cpus?: string;
    /** cpuset.mems. */
    mems?: string;
    /** cpuset.cpus.partition (may read 'root invalid (…)'). */
    partition?: string;
  };
  /** hugetlb.<size>.* per page size. */
  hugetlb?: Record<
    string,
    {
      /** hugetlb.<size>.max. */
      max?: LimitValue;
      /** hugetlb.<size>.rsvd.max. */
      rsvdMax?: LimitValue;
    }
  >;
}

/** One cgroupfs write: the file (relative to the cgroup) and the exact text. @internal */
export interface LimitWrite {
  file: string;
  value: string;
  /** The controller the file belongs to (its prefix). */
  controller: string;
  /** The option's name for messages, e.g. 'limits.memory.max'. */
  option: string;
  /**
   * The write can wait in the kernel: memory.* (lowering a limit reclaims, and can take
   * long), io.* (the device queue is frozen while io.max changes), cpuset.* (CPU hotplug
   * lock, scheduling-domain rebuild). Those go through libuv's pool; the others (pids, cpu,
   * hugetlb) are a counter update and are written synchronously.
   */
  mayBlock: boolean;
}

function obj(name: string, v: unknown, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidArgType(name, 'an object', v);
  for (const k of Object.keys(v))
    if (!keys.includes(k))
      throw invalidArgValue(`${name}.${k}`, (v as Record<string, unknown>)[k], `is not a known setting (one of ${keys.join(', ')})`);
  return v as Record<string, unknown>;
}

const LIST = /^(\d+(-\d+)?)(,\d+(-\d+)?)*$/;
const DEVICE = /^\d+:\d+$/;
const PAGE_SIZE = /^\d+[KMG]B$/;

/**
 * Validates a {@link CgroupLimits} and returns the writes it means, in a stable order (for
 * memory: min, low, high, max so that protections are set before a limit). No syscalls.
 * @internal
 */
export function compileLimits(limits: unknown, name = 'limits'): LimitWrite[] {
  const l = obj(name, limits, ['memory', 'cpu', 'pids', 'io', 'cpuset', 'hugetlb']);
  const out: LimitWrite[] = [];
  const add = (controller: string, file: string, value: string, option: string) =>
    out.push({ controller, file, value, option, mayBlock: controller === 'memory' || controller === 'io' || controller === 'cpuset' });
  if (l.memory !== undefined) {
    const n = `${name}.memory`;
    const m = obj(n, l.memory, ['min', 'low', 'high', 'max', 'swapMax', 'zswapMax', 'oomGroup']);
    const files: Array<[string, string, boolean]> = [
      ['min', 'memory.min', false],
      ['low', 'memory.low', false],
      ['high', 'memory.high', true],
      ['max', 'memory.max', true],
      ['swapMax', 'memory.swap.max', true],
      ['zswapMax', 'memory.zswap.max', true],
    ];
    for (const [k, file, allowMax] of files)
      if (m[k] !== undefined) add('memory', file, bytesText(`${n}.${k}`, m[k], allowMax), `${n}.${k}`);
    if (m.oomGroup !== undefined) add('memory', 'memory.oom.group', boolText(`${n}.oomGroup`, m.oomGroup), `${n}.oomGroup`);
  }
  if (l.cpu !== undefined) {
    const n = `${name}.cpu`;
    const c = obj(n, l.cpu, ['max', 'weight', 'weightNice', 'idle', 'burst']);
    if (c.max !== undefined) {
      let text: string;
      if (c.max === 'max') text = 'max';
      else {
        const mx = obj(`${n}.max`, c.max, ['quota', 'period']);
        const quota = intText(`${n}.max.quota`, mx.quota, 1000, 2 ** 53 - 1, true);
        text = mx.period === undefined ? quota : `${quota} ${intText(`${n}.max.period`, mx.period, 1000, 1_000_000)}`;
      }
      add('cpu', 'cpu.max', text, `${n}.max`);
    }
    if (c.weight !== undefined) add('cpu', 'cpu.weight', intText(`${n}.weight`, c.weight, 1, 10000), `${n}.weight`);
    if (c.weightNice !== undefined) add('cpu', 'cpu.weight.nice', intText(`${n}.weightNice`, c.weightNice, -20, 19), `${n}.weightNice`);
    if (c.idle !== undefined) add('cpu', 'cpu.idle', boolText(`${n}.idle`, c.idle), `${n}.idle`);
    if (c.burst !== undefined) add('cpu', 'cpu.max.burst', intText(`${n}.burst`, c.burst, 0, 2 ** 53 - 1), `${n}.burst`);
  }
  if (l.pids !== undefined) {
    const n = `${name}.pids`;
    const p = obj(n, l.pids, ['max']);
    if (p.max !== undefined) add('pids', 'pids.max', intText(`${n}.max`, p.max, 0, 2 ** 31 - 1, true), `${n}.max`);
  }
  if (l.io !== undefined) {
    const n = `${name}.io`;
    const io = obj(n, l.io, ['max', 'weight']);
    if (io.max !== undefined) {
      if (!Array.isArray(io.max)) throw invalidArgType(`${n}.max`, 'an array of { device, rbps?, wbps?, riops?, wiops? }', io.max);
      io.max.forEach((d: unknown, i: number) => {
        const dn = `${n}.max[${i}]`;
        const dev = obj(dn, d, ['device', 'rbps', 'wbps', 'riops', 'wiops']);
        if (typeof dev.device !== 'string' || !DEVICE.test(dev.device))
          throw invalidArgValue(`${dn}.device`, dev.device, "must be 'MAJ:MIN'");
        const parts = [dev.device];
        for (const k of ['rbps', 'wbps'] as const) if (dev[k] !== undefined) parts.push(`${k}=${bytesText(`${dn}.${k}`, dev[k])}`);
        for (const k of ['riops', 'wiops'] as const)
          if (dev[k] !== undefined) parts.push(`${k}=${intText(`${dn}.${k}`, dev[k], 1, 2 ** 53 - 1, true)}`);
        if (parts.length === 1) throw invalidArgValue(dn, d, 'sets no limit (rbps, wbps, riops or wiops)');
        add('io', 'io.max', parts.join(' '), dn);
      });
    }
    if (io.weight !== undefined) add('io', 'io.weight', `default ${intText(`${n}.weight`, io.weight, 1, 10000)}`, `${n}.weight`);
  }
  if (l.cpuset !== undefined) {
    const n = `${name}.cpuset`;
    const c = obj(n, l.cpuset, ['cpus', 'mems', 'partition']);
    for (const k of ['cpus', 'mems'] as const) {
      if (c[k] === undefined) continue;
      if (typeof c[k] !== 'string') throw invalidArgType(`${n}.${k}`, 'a list such as "0-3,6"', c[k]);
      if (c[k] !== '' && !LIST.test(c[k])) throw invalidArgValue(`${n}.${k}`, c[k], 'must be a list such as "0-3,6"');
      add('cpuset', `cpuset.${k}`, c[k], `${n}.${k}`);
    }
    if (c.partition !== undefined) {
      if (!['member', 'root', 'isolated'].includes(c.partition as string))
        throw invalidArgValue(`${n}.partition`, c.partition, "must be 'member', 'root' or 'isolated'");
      add('cpuset', 'cpuset.cpus.partition', c.partition as string, `${n}.partition`);
    }
  }
  if (l.hugetlb !== undefined) {
    const n = `${name}.hugetlb`;
    if (typeof l.hugetlb !== 'object' || l.hugetlb === null) throw invalidArgType(n, 'an object keyed by page size', l.hugetlb);
    for (const [size, v] of Object.entries(l.hugetlb)) {
      if (!PAGE_SIZE.test(size)) throw invalidArgValue(`${n}.${size}`, v, "has a page size not in cgroupfs's form ('2MB', '1GB', '64KB')");
      const h = obj(`${n}.${size}`, v, ['max', 'rsvdMax']);
      if (h.max !== undefined) add('hugetlb', `hugetlb.${size}.max`, bytesText(`${n}.${size}.max`, h.max), `${n}.${size}.max`);
      if (h.rsvdMax !== undefined)
        add('hugetlb', `hugetlb.${size}.rsvd.max`, bytesText(`${n}.${size}.rsvdMax`, h.rsvdMax), `${n}.${size}.rsvdMax`);
    }
  }
  return out;
}

/**
 * Reads back the limits from the files that exist. `read(name)` returns a file's text or
 * undefined when it does not exist; `files` lists the cgroup's directory.
 * @internal
 */
export function readLimits(read: (file: string) => string | undefined, files: readonly string[]): CgroupLimitValues {
  const out: CgroupLimitValues = {};
  const mem: NonNullable<CgroupLimitValues['memory']> = {};
  const r = (f: string): string | undefined => (files.includes(f) ? read(f)?.trim() : undefined);
  let t: string | undefined;
  if ((t = r('memory.min')) !== undefined) mem.min = Number(t);
  if ((t = r('memory.low')) !== undefined) mem.low = Number(t);
  if ((t = r('memory.high')) !== undefined) mem.high = parseMax(t);
  if ((t = r('memory.max')) !== undefined) mem.max = parseMax(t);
  if ((t = r('memory.swap.max')) !== undefined) mem.swapMax = parseMax(t);
  if ((t = r('memory.zswap.max')) !== undefined) mem.zswapMax = parseMax(t);
  if ((t = r('memory.oom.group')) !== undefined) mem.oomGroup = t === '1';
  if (Object.keys(mem).length) out.memory = mem;
  const cpu: NonNullable<CgroupLimitValues['cpu']> = {};
  if ((t = r('cpu.max')) !== undefined) {
    const [q, p] = t.split(/\s+/);
    cpu.max = { quota: parseMax(q!), period: Number(p) };
  }
  if ((t = r('cpu.weight')) !== undefined) cpu.weight = Number(t);
  if ((t = r('cpu.weight.nice')) !== undefined) cpu.weightNice = Number(t);
  if ((t = r('cpu.idle')) !== undefined) cpu.idle = t === '1';
  if ((t = r('cpu.max.burst')) !== undefined) cpu.burst = Number(t);
  if (Object.keys(cpu).length) out.cpu = cpu;
  if ((t = r('pids.max')) !== undefined) out.pids = { max: parseMax(t) };
  const io: NonNullable<CgroupLimitValues['io']> = {};
  if ((t = r('io.max')) !== undefined) {
    io.max = t
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((line) => {
        const [device, ...kv] = line.trim().split(/\s+/);
        const f = Object.fromEntries(kv.map((p) => p.split('=') as [string, string]));
        const v = (k: string) => (f[k] === undefined ? 'max' : parseMax(f[k]));
        return { device: device!, rbps: v('rbps'), wbps: v('wbps'), riops: v('riops'), wiops: v('wiops') };
      });
  }
  if ((t = r('io.weight')) !== undefined) {
    const m = /^default\s+(\d+)/m.exec(t);
    if (m) io.weight = Number(m[1]);
  }
  if (Object.keys(io).length) out.io = io;
  const cs: NonNullable<CgroupLimitValues['cpuset']> = {};
  if ((t = r('cpuset.cpus')) !== undefined) cs.cpus = t;
  if ((t = r('cpuset.mems')) !== undefined) cs.mems = t;
  if ((t = r('cpuset.cpus.partition')) !== undefined) cs.partition = t;
  if (Object.keys(cs).length) out.cpuset = cs;
  const huge: NonNullable<CgroupLimitValues['hugetlb']> = {};
  for (const f of files) {
    const m = /^hugetlb\.(\d+[KMG]B)\.(max|rsvd\.max)$/.exec(f);
    if (!m || (t = r(f)) === undefined) continue;
    const e = (huge[m[1]!] ??= {});
    if (m[2] === 'max') e.max = parseMax(t);
    else e.rsvdMax = parseMax(t);
  }
  if (Object.keys(huge).length) out.hugetlb = huge;
  return out;
}

/** `--cpus 0.5` style: a CPU count into cpu.max quota/period (period 100000 µs). @internal */
export function cpusToMax(name: string, cpus: number): { quota: number; period: number } {
  if (typeof cpus !== 'number' || !(cpus > 0) || !Number.isFinite(cpus)) throw outOfRange(name, 'a number of CPUs > 0', cpus);
  const quota = Math.round(cpus * 100000);
  if (quota < 1000) throw outOfRange(name, '>= 0.01 CPUs', cpus);
  return { quota, period: 100000 };
}
