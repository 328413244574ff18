// The device-rule compiler (src/cgroups/device-filter.ts) without a kernel: golden listings,
// the encoded bytes, validation, and an evaluator for the instructions it emits run against
// the rules' meaning (for each requested access the last rule naming it for the device
// decides; default deny) over random rule lists. test/integration/cgroup-devices.test.ts
// runs the same programs in the kernel.
import { describe, expect, test } from 'vitest';
import {
  type BpfInsn,
  EOP,
  checkDeviceRules,
  deviceProgram,
  encodeProgram,
  listProgram,
  type DeviceRule,
} from '../../src/cgroups/device-filter.js';

const PRELUDE = ['r2 = *(u32 *)(r1 + 0)', 'w3 = w2', 'w3 >>= 0x10', 'w2 &= 0xffff', 'r4 = *(u32 *)(r1 + 4)', 'r5 = *(u32 *)(r1 + 8)'];
const EPILOGUE = ['w6 &= w3', 'w0 = 1', 'if r6 == r3 goto +1', 'w0 = 0', 'exit'];
const compile = (rules: unknown[]) => deviceProgram(checkDeviceRules('rules', rules));

describe('golden listings', () => {
  test('no rules: deny everything', () => {
    expect(listProgram(compile([]))).toEqual([...PRELUDE, 'w6 = 0', ...EPILOGUE]);
  });

  test('deny all, then allows: the deny-all is the starting point, each allow tests only what it names', () => {
    const insns = compile([
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: true, type: 'c', major: 136, access: 'rw' },
      { allow: true, type: 'b', access: 'm' },
      { allow: false, type: 'c', major: 1, minor: 3, access: 'w' },
    ]);
    expect(listProgram(insns)).toEqual([
      ...PRELUDE,
      'w6 = 0',
      'if r2 != 2 goto +3',
      'if r4 != 1 goto +2',
      'if r5 != 3 goto +1',
      'w6 |= 7',
      'if r2 != 2 goto +2',
      'if r4 != 0x88 goto +1',
      'w6 |= 6',
      'if r2 != 1 goto +1',
      'w6 |= 1',
      'if r2 != 2 goto +3',
      'if r4 != 1 goto +2',
      'if r5 != 3 goto +1',
      'w6 &= 3',
      ...EPILOGUE,
    ]);
  });

  test('allow all (the default of a privileged container): one move; a later deny still applies', () => {
    expect(
      listProgram(
        compile([
          { allow: true, type: 'c', access: 'r' },
          { allow: true, type: 'a' },
          { allow: false, major: 10, minor: 200 },
        ]),
      ),
    ).toEqual([...PRELUDE, 'w6 = 7', 'if r4 != 0xa goto +2', 'if r5 != 0xc8 goto +1', 'w6 &= 0', ...EPILOGUE]);
  });

  test('encoding: struct bpf_insn, little-endian, dst in the low nibble', () => {
    const b = encodeProgram([
      { code: EOP.LDX_MEM_W, dst: 2, src: 1, off: 4, imm: 0 },
      { code: EOP.JNE_K, dst: 4, src: 0, off: 2, imm: 0x88 },
      { code: EOP.ALU_AND_K, dst: 6, src: 0, off: 0, imm: ~4 & 7 },
    ]);
    expect(b.toString('hex')).toBe('6112040000000000' + '5504020088000000' + '5406000003000000');
  });
});

describe('validation', () => {
  test.each([
    [[{ allow: 'yes' }], 'ERR_INVALID_ARG_TYPE'],
    [[{ allow: true, type: 'x' }], 'ERR_INVALID_ARG_VALUE'],
    [[{ allow: true, access: 'rr' }], 'ERR_INVALID_ARG_VALUE'],
    [[{ allow: true, access: 'x' }], 'ERR_INVALID_ARG_VALUE'],
    [[{ allow: true, major: -2 }], 'ERR_OUT_OF_RANGE'],
    [[{ allow: true, minor: 2 ** 32 }], 'ERR_OUT_OF_RANGE'],
    [[{ allow: true, minor: '3' }], 'ERR_INVALID_ARG_TYPE'],
    [[{ allow: true, extra: 1 }], 'ERR_INVALID_ARG_VALUE'],
    [[null], 'ERR_INVALID_ARG_TYPE'],
    ['a', 'ERR_INVALID_ARG_TYPE'],
  ])('%j → %s', (rules, code) => {
    expect(() => checkDeviceRules('rules', rules)).toThrow(expect.objectContaining({ code }));
  });

  test('defaults: type a, access rwm; -1 and null mean any', () => {
    expect(checkDeviceRules('rules', [{ allow: true, major: -1, minor: null, access: '' }])).toEqual([
      { allow: true, type: 'a', access: 'rwm' },
    ]);
  });
});

/** Runs a program of the instructions deviceProgram emits on one request, as the kernel would. */
function run(insns: readonly BpfInsn[], ctx: { type: number; access: number; major: number; minor: number }): number {
  const r = new Array<number | undefined>(11).fill(undefined);
  r[1] = -1; // the context pointer
  const mem = [(ctx.access << 16) | ctx.type, ctx.major, ctx.minor];
  const get = (i: number): number => {
    if (r[i] === undefined) throw new Error(`R${i} !read_ok`);
    return r[i]!;
  };
  for (let pc = 0, steps = 0; pc < insns.length; pc++, steps++) {
    if (steps > insns.length) throw new Error('loop');
    const x = insns[pc]!;
    const k = x.imm >>> 0;
    switch (x.code) {
      case EOP.LDX_MEM_W:
        if (get(x.src) !== -1 || x.off % 4 !== 0 || x.off > 8) throw new Error('bad load');
        r[x.dst] = mem[x.off / 4]! >>> 0;
        break;
      case EOP.ALU_MOV_K:
        r[x.dst] = k;
        break;
      case EOP.ALU_MOV_X:
        r[x.dst] = get(x.src);
        break;
      case EOP.ALU_AND_K:
        r[x.dst] = (get(x.dst) & k) >>> 0;
        break;
      case EOP.ALU_AND_X:
        r[x.dst] = (get(x.dst) & get(x.src)) >>> 0;
        break;
      case EOP.ALU_OR_K:
        r[x.dst] = (get(x.dst) | k) >>> 0;
        break;
      case EOP.ALU_RSH_K:
        r[x.dst] = get(x.dst) >>> k;
        break;
      case EOP.JNE_K:
        if (get(x.dst) !== k) pc += x.off;
        break;
      case EOP.JEQ_X:
        if (get(x.dst) === get(x.src)) pc += x.off;
        break;
      case EOP.EXIT:
        return get(0);
      default:
        throw new Error(`opcode ${x.code}`);
    }
    if (pc + 1 > insns.length) throw new Error('jump out of range');
  }
  throw new Error('fell off the end');
}

/** The rules' meaning, independently: per requested access, the last rule naming it decides. */
function reference(rules: readonly DeviceRule[], req: { type: 'b' | 'c'; access: string; major: number; minor: number }): boolean {
  return [...req.access].every((a) => {
    let allowed = false;
    for (const r of rules) {
      if (r.type !== undefined && r.type !== 'a' && r.type !== req.type) continue;
      if (r.major != null && r.major !== -1 && r.major !== req.major) continue;
      if (r.minor != null && r.minor !== -1 && r.minor !== req.minor) continue;
      if (!(r.access || 'rwm').includes(a)) continue;
      allowed = r.allow;
    }
    return allowed;
  });
}

describe('evaluated programs agree with the rules', () => {
  // A small deterministic generator (xorshift), so a failure reproduces.
  let seed = 0x9e3779b9;
  const rnd = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const pick = <T>(xs: readonly T[]) => xs[rnd(xs.length)]!;
  const ACCESS = ['r', 'w', 'm', 'rw', 'rm', 'wm', 'rwm', ''];
  const bit = { m: 1, r: 2, w: 4 } as const;

  test('2,000 random rule lists × every request over a small device space', () => {
    for (let n = 0; n < 2000; n++) {
      const rules: DeviceRule[] = Array.from({ length: rnd(7) }, () => {
        const r: DeviceRule = { allow: rnd(2) === 0, type: pick(['a', 'b', 'c'] as const), access: pick(ACCESS) };
        if (rnd(2)) r.major = rnd(3);
        if (rnd(2)) r.minor = rnd(3);
        return r;
      });
      const insns = deviceProgram(checkDeviceRules('rules', rules));
      for (const type of ['b', 'c'] as const)
        for (const access of ['r', 'w', 'm', 'rw', 'rwm'])
          for (let major = 0; major < 4; major++)
            for (let minor = 0; minor < 4; minor++) {
              const mask = [...access].reduce((m, c) => m | bit[c as 'r'], 0);
              const got = run(insns, { type: type === 'b' ? 1 : 2, access: mask, major, minor });
              const want = reference(rules, { type, access, major, minor }) ? 1 : 0;
              if (got !== want) throw new Error(`${JSON.stringify(rules)} ${type} ${major}:${minor} ${access}: got ${got}, want ${want}`);
            }
    }
  });
});
