// Limit specs into cgroupfs writes, sizes with units, and the parsers of stat/event files:
// pure, no cgroupfs.
import { describe, expect, test } from 'vitest';
import { compileLimits, cpusToMax, readLimits } from '../../src/cgroups/limits.js';
import { parseCgroupEvents, parseEvents, parseIoStat, parsePressure } from '../../src/cgroups/stats.js';
import { bytesText } from '../../src/cgroups/units.js';

describe('bytesText', () => {
  test.each([
    [0, '0'],
    [4096, '4096'],
    [5n, '5'],
    ['64M', String(64 << 20)],
    ['512k', '524288'],
    ['1G', String(1 << 30)],
    ['2MiB', String(2 << 20)],
    ['3MB', String(3 << 20)],
    ['max', 'max'],
    ['1P', String(2n ** 50n)],
  ])('%s → %s', (v, text) => expect(bytesText('x', v)).toBe(text));

  test.each([
    [-1, 'ERR_OUT_OF_RANGE'],
    [1.5, 'ERR_OUT_OF_RANGE'],
    [-1n, 'ERR_OUT_OF_RANGE'],
    [2n ** 64n, 'ERR_OUT_OF_RANGE'],
    ['12X', 'ERR_INVALID_ARG_VALUE'],
    ['-5M', 'ERR_INVALID_ARG_VALUE'],
    ['', 'ERR_INVALID_ARG_VALUE'],
    [' 5', 'ERR_INVALID_ARG_VALUE'],
    [null, 'ERR_INVALID_ARG_TYPE'],
    [{}, 'ERR_INVALID_ARG_TYPE'],
  ])('%s is refused with %s', (v, code) => expect(() => bytesText('x', v)).toThrow(expect.objectContaining({ code })));

  test("'max' can be refused where the kernel has no such value", () => {
    expect(() => bytesText('memory.min', 'max', false)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});

describe('compileLimits', () => {
  test("one write per setting, in the kernel's syntax", () => {
    const w = compileLimits({
      memory: { max: '64M', high: 1 << 25, min: 0, low: '1M', swapMax: 'max', zswapMax: 0, oomGroup: true },
      cpu: { max: { quota: 50000, period: 100000 }, weight: 200, weightNice: -5, idle: false, burst: 1000 },
      pids: { max: 64 },
      io: { max: [{ device: '8:0', rbps: '1M', wiops: 100 }], weight: 300 },
      cpuset: { cpus: '0-1,3', mems: '0', partition: 'root' },
      hugetlb: { '2MB': { max: '4M', rsvdMax: 'max' } },
    }).map(({ file, value }) => [file, value]);
    expect(w).toEqual([
      ['memory.min', '0'],
      ['memory.low', '1048576'],
      ['memory.high', '33554432'],
      ['memory.max', '67108864'],
      ['memory.swap.max', 'max'],
      ['memory.zswap.max', '0'],
      ['memory.oom.group', '1'],
      ['cpu.max', '50000 100000'],
      ['cpu.weight', '200'],
      ['cpu.weight.nice', '-5'],
      ['cpu.idle', '0'],
      ['cpu.max.burst', '1000'],
      ['pids.max', '64'],
      ['io.max', '8:0 rbps=1048576 wiops=100'],
      ['io.weight', 'default 300'],
      ['cpuset.cpus', '0-1,3'],
      ['cpuset.mems', '0'],
      ['cpuset.cpus.partition', 'root'],
      ['hugetlb.2MB.max', '4194304'],
      ['hugetlb.2MB.rsvd.max', 'max'],
    ]);
    expect(compileLimits({ cpu: { max: 'max' }, pids: { max: 'max' } }).map((x) => x.value)).toEqual(['max', 'max']);
    expect(compileLimits({ cpu: { max: { quota: 'max' } } }).map((x) => x.value)).toEqual(['max']);
  });

  test.each([
    [{ memroy: {} }, 'ERR_INVALID_ARG_VALUE', 'limits.memroy'],
    [{ memory: { maxx: 1 } }, 'ERR_INVALID_ARG_VALUE', 'limits.memory.maxx'],
    [{ memory: { max: '12X' } }, 'ERR_INVALID_ARG_VALUE', 'limits.memory.max'],
    [{ memory: { max: -1 } }, 'ERR_OUT_OF_RANGE', 'limits.memory.max'],
    [{ memory: { min: 'max' } }, 'ERR_INVALID_ARG_VALUE', 'limits.memory.min'],
    [{ memory: { oomGroup: 1 } }, 'ERR_INVALID_ARG_TYPE', 'limits.memory.oomGroup'],
    [{ cpu: { max: { quota: 10 } } }, 'ERR_OUT_OF_RANGE', 'limits.cpu.max.quota'],
    [{ cpu: { weight: 10001 } }, 'ERR_OUT_OF_RANGE', 'limits.cpu.weight'],
    [{ pids: { max: -1 } }, 'ERR_OUT_OF_RANGE', 'limits.pids.max'],
    [{ io: { max: [{ device: 'sda', rbps: 1 }] } }, 'ERR_INVALID_ARG_VALUE', 'limits.io.max[0].device'],
    [{ io: { max: [{ device: '8:0' }] } }, 'ERR_INVALID_ARG_VALUE', 'limits.io.max[0]'],
    [{ cpuset: { cpus: 'all' } }, 'ERR_INVALID_ARG_VALUE', 'limits.cpuset.cpus'],
    [{ cpuset: { partition: 'yes' } }, 'ERR_INVALID_ARG_VALUE', 'limits.cpuset.partition'],
    [{ hugetlb: { '2M': { max: 1 } } }, 'ERR_INVALID_ARG_VALUE', 'limits.hugetlb.2M'],
    [null, 'ERR_INVALID_ARG_TYPE', 'limits'],
  ])('%j → %s naming %s', (spec, code, name) => {
    expect(() => compileLimits(spec)).toThrow(expect.objectContaining({ code, message: expect.stringContaining(name) }));
  });

  test('cpusToMax: --cpus 0.5 is 50000 of 100000 µs', () => {
    expect(cpusToMax('cpus', 0.5)).toEqual({ quota: 50000, period: 100000 });
    expect(cpusToMax('cpus', 2)).toEqual({ quota: 200000, period: 100000 });
    expect(() => cpusToMax('cpus', 0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });
});

describe('parsers', () => {
  test('readLimits reads only the files that exist, max and huge values included', () => {
    const files: Record<string, string> = {
      'memory.max': 'max\n',
      'memory.min': '0\n',
      'memory.oom.group': '1\n',
      'cpu.max': '50000 100000\n',
      'pids.max': '64\n',
      'io.max': '8:0 rbps=1048576 wbps=max riops=max wiops=100\n',
      'io.weight': 'default 100\n8:0 200\n',
      'hugetlb.2MB.max': '9223372036854771712\n',
    };
    expect(readLimits((f) => files[f], Object.keys(files))).toEqual({
      memory: { max: 'max', min: 0, oomGroup: true },
      cpu: { max: { quota: 50000, period: 100000 } },
      pids: { max: 64 },
      io: { max: [{ device: '8:0', rbps: 1048576, wbps: 'max', riops: 'max', wiops: 100 }], weight: 100 },
      hugetlb: { '2MB': { max: 9223372036854771712n } },
    });
  });

  test('events, io.stat and PSI files', () => {
    expect(parseCgroupEvents('populated 1\nfrozen 0\n')).toEqual({ populated: true, frozen: false });
    expect(parseEvents('low 0\nhigh 2\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n')).toEqual({
      low: 0,
      high: 2,
      max: 3,
      oom: 1,
      oomKill: 1,
      oomGroupKill: 0,
    });
    expect(parseIoStat('8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n')).toEqual([
      { device: '8:0', rbytes: 4096, wbytes: 0, rios: 1, wios: 0, dbytes: 0, dios: 0 },
    ]);
    expect(parsePressure('some avg10=1.50 avg60=0.00 avg300=0.00 total=123\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n')).toEqual({
      some: { avg10: 1.5, avg60: 0, avg300: 0, total: 123 },
      full: { avg10: 0, avg60: 0, avg300: 0, total: 7 },
    });
  });
});
