// linux.resources on cgroup v2: the unified map as it is, the v1 fields translated with crun's
// formulas (crun.1.md "CGROUP v2"; crun's tests/unit for the shares conversion), and errors,
// by JSON path, for v1 fields that have no v2 equivalent. Pure: no cgroup is touched.
import { describe, expect, test } from 'vitest';
import { blkioWeightToIoWeight, sharesToWeight, translateResources } from '../../src/oci/index.js';

const files = (r: Parameters<typeof translateResources>[0], o?: Parameters<typeof translateResources>[1]) =>
  Object.fromEntries(translateResources(r, o).writes.map((w) => [w.file, w.value]));

describe('cpu.shares → cpu.weight (crun ≥ 1.23, runc ≥ 1.3.2)', () => {
  test.each([
    [0, 0], // unset
    [1, 1],
    [2, 1],
    [1024, 100], // the v1 default is the v2 default
    [262144, 10000],
    [500000, 10000],
  ])('%i → %i (crun test_convert_shares_to_weight)', (shares, weight) => expect(sharesToWeight(shares)).toBe(weight));

  test('the log-quadratic curve in between: ceil(10^((l² + 125l)/612 − 7/34)), l = log2(shares)', () => {
    expect(sharesToWeight(512)).toBe(59);
    expect(sharesToWeight(2048)).toBe(174);
    expect(sharesToWeight(100)).toBe(17);
    for (let s = 3; s < 262144; s = Math.ceil(s * 1.7)) {
      const w = sharesToWeight(s);
      expect(w).toBeGreaterThanOrEqual(1);
      expect(w).toBeLessThanOrEqual(10000);
      expect(sharesToWeight(s + 1)).toBeGreaterThanOrEqual(w); // monotonic
    }
  });
});

describe('blkio weight → io.weight: 1 + (x − 10)·9999/990 (crun.1.md)', () => {
  test.each([
    [10, 1],
    [500, 4950],
    [1000, 10000],
    [100, 910],
  ])('%i → %i', (x, y) => expect(blkioWeightToIoWeight(x)).toBe(y));
});

describe('translateResources', () => {
  test('memory: limit → memory.max, reservation → memory.low, swap → memory.swap.max = swap − limit', () => {
    expect(files({ memory: { limit: 33554432, reservation: 16777216, swap: 67108864 } })).toEqual({
      'memory.max': '33554432',
      'memory.low': '16777216',
      'memory.swap.max': '33554432',
    });
    expect(files({ memory: { limit: -1, swap: -1 } })).toEqual({ 'memory.max': 'max', 'memory.swap.max': 'max' });
    expect(files({ memory: { limit: 0 } })).toEqual({}); // Docker's 0: unset
  });

  test('cpu: shares → cpu.weight, quota/period → cpu.max, cpus/mems → cpuset, burst, idle', () => {
    expect(files({ cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '0-1', mems: '0', burst: 1000, idle: 0 } })).toEqual({
      'cpu.weight': '100',
      'cpu.max': '50000 100000',
      'cpuset.cpus': '0-1',
      'cpuset.mems': '0',
      'cpu.max.burst': '1000',
      'cpu.idle': '0',
    });
    expect(files({ cpu: { quota: -1 } })).toEqual({ 'cpu.max': 'max 100000' });
    expect(files({ cpu: { period: 50000 } })).toEqual({ 'cpu.max': 'max 50000' });
  });

  test('pids, hugetlb, rdma, and the controllers they need', () => {
    const plan = translateResources({
      pids: { limit: 100 },
      hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
      rdma: { mlx5_1: { hcaHandles: 3 } },
    });
    expect(plan.writes).toEqual([
      { file: 'pids.max', value: '100' },
      { file: 'hugetlb.2MB.max', value: '4194304' },
      { file: 'rdma.max', value: 'mlx5_1 hca_handle=3 hca_object=max' },
    ]);
    expect(plan.controllers).toEqual(['pids', 'hugetlb', 'rdma']);
    expect(files({ pids: { limit: -1 } })).toEqual({ 'pids.max': 'max' });
  });

  test('blockIO: weights to io.weight (converted) or io.bfq.weight (as they are); throttles to one io.max line per device', () => {
    const b = {
      blockIO: {
        weight: 500,
        weightDevice: [{ major: 8, minor: 0, weight: 100 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
        throttleWriteBpsDevice: [{ major: 253, minor: 1, rate: 2097152 }],
      },
    };
    expect(files(b)).toEqual({
      'io.weight': 'default 4950\n8:0 910',
      'io.max': '8:0 rbps=1048576 wiops=100\n253:1 wbps=2097152',
    });
    expect(files(b, { bfq: true })['io.bfq.weight']).toBe('default 500\n8:0 100');
    expect(translateResources(b).controllers).toEqual(['io']);
  });

  test('unified entries are written as given and win over a translated value for the same file', () => {
    expect(translateResources({ memory: { limit: 1000 }, unified: { 'memory.max': '2000', 'memory.high': '1500' } }).writes).toEqual([
      { file: 'memory.max', value: '2000' },
      { file: 'memory.high', value: '1500' },
    ]);
  });

  test.each([
    [{ memory: { kernel: 1 } }, 'linux.resources.memory.kernel', 'ERR_NSBOX_UNSUPPORTED'],
    [{ memory: { kernelTCP: 1 } }, 'linux.resources.memory.kernelTCP', 'ERR_NSBOX_UNSUPPORTED'],
    [{ memory: { swappiness: 10 } }, 'linux.resources.memory.swappiness', 'ERR_NSBOX_UNSUPPORTED'],
    [{ memory: { disableOOMKiller: true } }, 'linux.resources.memory.disableOOMKiller', 'ERR_NSBOX_UNSUPPORTED'],
    [{ memory: { useHierarchy: false } }, 'linux.resources.memory.useHierarchy', 'ERR_NSBOX_UNSUPPORTED'],
    [{ memory: { swap: 100 } }, 'linux.resources.memory.swap', 'ERR_INVALID_ARG_VALUE'],
    [{ memory: { limit: 200, swap: 100 } }, 'linux.resources.memory.swap', 'ERR_INVALID_ARG_VALUE'],
    [{ cpu: { realtimeRuntime: 950000 } }, 'linux.resources.cpu.realtimeRuntime', 'ERR_NSBOX_UNSUPPORTED'],
    [{ cpu: { idle: 2 } }, 'linux.resources.cpu.idle', 'ERR_INVALID_ARG_VALUE'],
    [{ cpu: { shares: 512 }, unified: { 'cpu.idle': '1' } }, 'linux.resources.cpu.shares', 'ERR_INVALID_ARG_VALUE'],
    [{ blockIO: { weight: 5 } }, 'linux.resources.blockIO.weight', 'ERR_INVALID_ARG_VALUE'],
    [{ blockIO: { leafWeight: 10 } }, 'linux.resources.blockIO.leafWeight', 'ERR_NSBOX_UNSUPPORTED'],
    [{ hugepageLimits: [{ pageSize: '2M', limit: 1 }] }, 'linux.resources.hugepageLimits[0].pageSize', 'ERR_INVALID_ARG_VALUE'],
    [{ network: { classID: 1 } }, 'linux.resources.network', 'ERR_NSBOX_UNSUPPORTED'],
    [{ unified: { '../memory.max': '1' } }, 'linux.resources.unified["../memory.max"]', 'ERR_INVALID_ARG_VALUE'],
  ])('%j is refused at %s', (r, jsonPath, code) => {
    expect(() => translateResources(r as never)).toThrow(expect.objectContaining({ code, jsonPath }));
  });
});
