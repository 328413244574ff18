/**
 * The cgroup device filter as an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE): an ordered list
 * of device rules (runtime-spec `linux.resources.devices`, cgroup v1's devices.allow/deny)
 * compiled to instructions over `struct bpf_cgroup_dev_ctx`. Pure TS: no syscall here.
 *
 * Semantics: for each access the request asks for (mknod, read, write), the last rule that
 * matches the device and names that access decides; nothing matching denies. The program
 * walks the rules in order keeping a mask of allowed accesses for the device (a matching
 * allow rule sets its bits, a matching deny rule clears them) and allows the request when
 * every requested bit is in the mask.
 * @module
 */
import { invalidArgType, invalidArgValue, outOfRange } from '../errors.js';

/**
 * One device rule, in runtime-spec's words (`linux.resources.devices[]`). Later rules
 * override earlier ones for the devices and accesses they name; a device no rule allows is
 * denied.
 */
export interface DeviceRule {
  /** Allow (true) or deny (false) the accesses. */
  allow: boolean;
  /** `'c'` character, `'b'` block, `'a'` both. Default `'a'`. */
  type?: 'a' | 'b' | 'c';
  /** Major number; absent, null or -1: any. */
  major?: number | null;
  /** Minor number; absent, null or -1: any. */
  minor?: number | null;
  /** Any combination of `r` (read), `w` (write), `m` (mknod). Absent or empty: `'rwm'`. */
  access?: string;
}

// <linux/bpf.h> enum bpf_cgroup_dev_ctx / BPF_DEVCG_*: the low 16 bits of access_type are the
// device type, the high 16 the access.
const DEVCG_DEV = { b: 1, c: 2 } as const; // BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR
const DEVCG_ACC = { m: 1, r: 2, w: 4 } as const; // BPF_DEVCG_ACC_MKNOD, _READ, _WRITE

/** eBPF opcodes used (<linux/bpf.h>, <linux/bpf_common.h>). @internal */
export const EOP = {
  LDX_MEM_W: 0x61, // BPF_LDX | BPF_MEM | BPF_W
  ALU_MOV_K: 0xb4, // BPF_ALU | BPF_MOV | BPF_K (32-bit, zero-extends)
  ALU_MOV_X: 0xbc, // BPF_ALU | BPF_MOV | BPF_X
  ALU_AND_K: 0x54, // BPF_ALU | BPF_AND | BPF_K
  ALU_AND_X: 0x5c, // BPF_ALU | BPF_AND | BPF_X
  ALU_OR_K: 0x44, // BPF_ALU | BPF_OR | BPF_K
  ALU_RSH_K: 0x74, // BPF_ALU | BPF_RSH | BPF_K
  JNE_K: 0x55, // BPF_JMP | BPF_JNE | BPF_K
  JEQ_X: 0x1d, // BPF_JMP | BPF_JEQ | BPF_X
  EXIT: 0x95, // BPF_JMP | BPF_EXIT
} as const;

/** One decoded instruction (struct bpf_insn). @internal */
export interface BpfInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

/** The kernel's limit for one program of an unprivileged loader (BPF_MAXINSNS); we stay below it. @internal */
export const MAX_DEVICE_INSNS = 4096;

/** Validates rules as the library takes them: a new array of normalized rules. @internal */
export function checkDeviceRules(name: string, rules: unknown): DeviceRule[] {
  if (!Array.isArray(rules)) throw invalidArgType(name, 'an array of device rules', rules);
  return rules.map((r: unknown, i) => {
    const p = `${name}[${i}]`;
    if (typeof r !== 'object' || r === null) throw invalidArgType(p, 'an object', r);
    const o = r as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!['allow', 'type', 'major', 'minor', 'access'].includes(k))
        throw invalidArgValue(`${p}.${k}`, o[k], 'is not a device rule field');
    if (typeof o.allow !== 'boolean') throw invalidArgType(`${p}.allow`, 'of type boolean', o.allow);
    const type = o.type ?? 'a';
    if (type !== 'a' && type !== 'b' && type !== 'c') throw invalidArgValue(`${p}.type`, o.type, "must be 'a', 'b' or 'c'");
    const rule: DeviceRule = { allow: o.allow, type };
    for (const k of ['major', 'minor'] as const) {
      const v = o[k];
      if (v === undefined || v === null || v === -1) continue;
      if (typeof v !== 'number') throw invalidArgType(`${p}.${k}`, 'of type number', v);
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
        throw outOfRange(`${p}.${k}`, '-1 (any) or an integer >= 0 and <= 4294967295', v);
      rule[k] = v;
    }
    const access = o.access ?? '';
    if (typeof access !== 'string') throw invalidArgType(`${p}.access`, 'of type string', access);
    if (!/^[rwm]*$/.test(access) || new Set(access).size !== access.length)
      throw invalidArgValue(`${p}.access`, access, "must be a combination of 'r', 'w' and 'm'");
    rule.access = access === '' ? 'rwm' : access;
    return rule;
  });
}

const accessMask = (access: string | undefined): number =>
  [...(access || 'rwm')].reduce((m, c) => m | DEVCG_ACC[c as keyof typeof DEVCG_ACC], 0);

/**
 * The program for `rules` (validated by {@link checkDeviceRules}) as instructions.
 *
 * Registers: r1 the context; r2 the device type; r3 the requested access; r4 major; r5
 * minor; r6 the accesses allowed so far. Each rule's tests jump past its own update when the
 * device does not match; rules that match every device update r6 unconditionally.
 * @internal
 */
export function deviceProgram(rules: readonly DeviceRule[]): BpfInsn[] {
  const out: BpfInsn[] = [];
  const ins = (code: number, dst: number, src: number, off: number, imm: number): void => {
    out.push({ code, dst, src, off, imm: imm | 0 });
  };
  ins(EOP.LDX_MEM_W, 2, 1, 0, 0); // r2 = ctx->access_type
  ins(EOP.ALU_MOV_X, 3, 2, 0, 0); // w3 = w2
  ins(EOP.ALU_RSH_K, 3, 0, 0, 16); // w3 >>= 16: access
  ins(EOP.ALU_AND_K, 2, 0, 0, 0xffff); // w2 &= 0xffff: type
  ins(EOP.LDX_MEM_W, 4, 1, 4, 0); // r4 = ctx->major
  ins(EOP.LDX_MEM_W, 5, 1, 8, 0); // r5 = ctx->minor
  // A rule for every device and every access overrides all before it: start there.
  const full = (r: DeviceRule) => (r.type ?? 'a') === 'a' && r.major == null && r.minor == null && accessMask(r.access) === 7;
  const start = rules.findLastIndex(full);
  ins(EOP.ALU_MOV_K, 6, 0, 0, start >= 0 && rules[start]!.allow ? 7 : 0); // w6: allowed so far
  for (const r of rules.slice(start + 1)) {
    const tests: [number, number][] = [];
    if (r.type === 'b' || r.type === 'c') tests.push([2, DEVCG_DEV[r.type]]);
    if (typeof r.major === 'number' && r.major !== -1) tests.push([4, r.major]);
    if (typeof r.minor === 'number' && r.minor !== -1) tests.push([5, r.minor]);
    const mask = accessMask(r.access);
    // `if rN != K goto past the update`: the remaining tests plus the update.
    for (const [i, [reg, k]] of tests.entries()) ins(EOP.JNE_K, reg, 0, tests.length - i, k);
    if (r.allow) ins(EOP.ALU_OR_K, 6, 0, 0, mask);
    else ins(EOP.ALU_AND_K, 6, 0, 0, ~mask & 7);
  }
  ins(EOP.ALU_AND_X, 6, 3, 0, 0); // w6 &= w3: the requested accesses allowed
  ins(EOP.ALU_MOV_K, 0, 0, 0, 1); // w0 = 1
  ins(EOP.JEQ_X, 6, 3, 1, 0); // if r6 == r3 goto exit
  ins(EOP.ALU_MOV_K, 0, 0, 0, 0); // w0 = 0
  ins(EOP.EXIT, 0, 0, 0, 0);
  return out;
}

/** struct bpf_insn[] bytes, as the host lays them out (little-endian: dst in the low nibble). @internal */
export function encodeProgram(insns: readonly BpfInsn[]): Buffer {
  const b = Buffer.alloc(insns.length * 8);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  insns.forEach((x, i) => {
    b[i * 8] = x.code;
    b[i * 8 + 1] = le ? (x.src << 4) | x.dst : (x.dst << 4) | x.src;
    if (le) {
      b.writeInt16LE(x.off, i * 8 + 2);
      b.writeInt32LE(x.imm, i * 8 + 4);
    } else {
      b.writeInt16BE(x.off, i * 8 + 2);
      b.writeInt32BE(x.imm, i * 8 + 4);
    }
  });
  return b;
}

/** A readable listing (`r2 = *(u32 *)(r1 + 0)`, …), for golden tests and debugging. @internal */
export function listProgram(insns: readonly BpfInsn[]): string[] {
  return insns.map((x) => {
    const k = x.imm >>> 0 > 9 ? `0x${(x.imm >>> 0).toString(16)}` : String(x.imm >>> 0);
    switch (x.code) {
      case EOP.LDX_MEM_W:
        return `r${x.dst} = *(u32 *)(r${x.src} + ${x.off})`;
      case EOP.ALU_MOV_K:
        return `w${x.dst} = ${k}`;
      case EOP.ALU_MOV_X:
        return `w${x.dst} = w${x.src}`;
      case EOP.ALU_AND_K:
        return `w${x.dst} &= ${k}`;
      case EOP.ALU_AND_X:
        return `w${x.dst} &= w${x.src}`;
      case EOP.ALU_OR_K:
        return `w${x.dst} |= ${k}`;
      case EOP.ALU_RSH_K:
        return `w${x.dst} >>= ${k}`;
      case EOP.JNE_K:
        return `if r${x.dst} != ${k} goto +${x.off}`;
      case EOP.JEQ_X:
        return `if r${x.dst} == r${x.src} goto +${x.off}`;
      case EOP.EXIT:
        return 'exit';
      default:
        return `.insn 0x${x.code.toString(16)}`;
    }
  });
}
