// A classic BPF interpreter over struct seccomp_data, for tests: it validates a program as
// the kernel does before accepting it (bpf_check_classic + seccomp_check_filter, for the
// instructions seccomp allows) and runs it to the SECCOMP_RET_* word it returns.

/** struct seccomp_data: nr, arch, instruction_pointer, args[6] (64-bit each). */
export interface SeccompData {
  nr: number;
  arch: number;
  ip?: bigint;
  args?: readonly bigint[];
}

/** A validated program, decoded once. */
export interface Program {
  readonly code: Uint16Array;
  readonly jt: Uint8Array;
  readonly jf: Uint8Array;
  readonly k: Uint32Array;
}

const SECCOMP_DATA_SIZE = 64;
const BPF_MAXINSNS = 4096;
const BPF_MEMWORDS = 16;

// Opcode classes and the fields of linux/bpf_common.h.
const cls = (c: number): number => c & 0x07;
const LD = 0x00,
  LDX = 0x01,
  ST = 0x02,
  STX = 0x03,
  ALU = 0x04,
  JMP = 0x05,
  RET = 0x06,
  MISC = 0x07;

/** The opcodes seccomp_check_filter accepts (net/core/filter.c, kernel/seccomp.c). */
const ALLOWED = new Set([
  0x20 /* ld w abs */, 0x80 /* ld w len */, 0x81 /* ldx w len */, 0x00 /* ld imm */, 0x01 /* ldx imm */, 0x60 /* ld mem */,
  0x61 /* ldx mem */, 0x02 /* st */, 0x03 /* stx */, 0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x44, 0x4c, 0x54, 0x5c, 0x64, 0x6c,
  0x74, 0x7c, 0x84, 0x94, 0x9c, 0xa4, 0xac, 0x05 /* ja */, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d, 0x06 /* ret k */,
  0x16 /* ret a */, 0x07 /* tax */, 0x87 /* txa */,
]);

/** Thrown for a program the kernel would refuse (EINVAL). */
export class BpfInvalid extends Error {}

/** Decodes and validates `bytes` (struct sock_filter[], little-endian). */
export function loadProgram(bytes: Uint8Array): Program {
  if (bytes.length % 8 !== 0) throw new BpfInvalid('length not a multiple of 8');
  const n = bytes.length / 8;
  if (n === 0 || n > BPF_MAXINSNS) throw new BpfInvalid(`${n} instructions`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const p: Program = { code: new Uint16Array(n), jt: new Uint8Array(n), jf: new Uint8Array(n), k: new Uint32Array(n) };
  for (let i = 0; i < n; i++) {
    p.code[i] = dv.getUint16(i * 8, true);
    p.jt[i] = dv.getUint8(i * 8 + 2);
    p.jf[i] = dv.getUint8(i * 8 + 3);
    p.k[i] = dv.getUint32(i * 8 + 4, true);
  }
  for (let pc = 0; pc < n; pc++) {
    const c = p.code[pc]!;
    const k = p.k[pc]!;
    if (!ALLOWED.has(c)) throw new BpfInvalid(`opcode 0x${c.toString(16)} at ${pc}`);
    if (c === 0x20 && (k % 4 !== 0 || k >= SECCOMP_DATA_SIZE)) throw new BpfInvalid(`ld [${k}] at ${pc}`);
    if ((c === 0x60 || c === 0x61 || c === 0x02 || c === 0x03) && k >= BPF_MEMWORDS) throw new BpfInvalid(`mem ${k} at ${pc}`);
    if ((c === 0x34 || c === 0x94) && k === 0) throw new BpfInvalid(`division by 0 at ${pc}`);
    if (cls(c) === JMP) {
      if (c === 0x05) {
        if (pc + 1 + k >= n || k >= 0x80000000) throw new BpfInvalid(`ja out of range at ${pc}`);
      } else if (pc + 1 + p.jt[pc]! >= n || pc + 1 + p.jf[pc]! >= n) {
        throw new BpfInvalid(`jump out of range at ${pc}`);
      }
    }
  }
  if (cls(p.code[n - 1]!) !== RET) throw new BpfInvalid('last instruction is not ret');
  return p;
}

/** Runs a program over `data`; returns the SECCOMP_RET_* word (uint32). `stats.steps` counts instructions run. */
export function runProgram(p: Program, data: SeccompData, stats?: { steps: number }): number {
  const words = new Uint32Array(SECCOMP_DATA_SIZE / 4);
  words[0] = data.nr >>> 0;
  words[1] = data.arch >>> 0;
  const ip = data.ip ?? 0n;
  words[2] = Number(ip & 0xffffffffn);
  words[3] = Number((ip >> 32n) & 0xffffffffn);
  for (let i = 0; i < 6; i++) {
    const a = data.args?.[i] ?? 0n;
    words[4 + 2 * i] = Number(a & 0xffffffffn);
    words[5 + 2 * i] = Number((a >> 32n) & 0xffffffffn);
  }
  const mem = new Uint32Array(BPF_MEMWORDS);
  let A = 0;
  let X = 0;
  const n = p.code.length;
  for (let pc = 0; pc < n; pc++) {
    const c = p.code[pc]!;
    const k = p.k[pc]!;
    if (stats) stats.steps++;
    switch (cls(c)) {
      case LD:
        A = c === 0x20 ? words[k / 4]! : c === 0x80 ? SECCOMP_DATA_SIZE : c === 0x60 ? mem[k]! : k;
        break;
      case LDX:
        X = c === 0x81 ? SECCOMP_DATA_SIZE : c === 0x61 ? mem[k]! : k;
        break;
      case ST:
        mem[k] = A;
        break;
      case STX:
        mem[k] = X;
        break;
      case ALU: {
        const v = c & 0x08 ? X : k;
        switch (c & 0xf0) {
          case 0x00:
            A = (A + v) >>> 0;
            break;
          case 0x10:
            A = (A - v) >>> 0;
            break;
          case 0x20:
            A = Math.imul(A, v) >>> 0;
            break;
          case 0x30:
            if (v === 0) return 0;
            A = Math.floor(A / v) >>> 0;
            break;
          case 0x40:
            A = (A | v) >>> 0;
            break;
          case 0x50:
            A = (A & v) >>> 0;
            break;
          case 0x60:
            A = v >= 32 ? 0 : (A << v) >>> 0;
            break;
          case 0x70:
            A = v >= 32 ? 0 : A >>> v;
            break;
          case 0x80:
            A = -A >>> 0;
            break;
          case 0x90:
            if (v === 0) return 0;
            A = (A % v) >>> 0;
            break;
          case 0xa0:
            A = (A ^ v) >>> 0;
            break;
        }
        break;
      }
      case JMP: {
        if (c === 0x05) {
          pc += k;
          break;
        }
        const v = c & 0x08 ? X : k;
        let t: boolean;
        switch (c & 0xf0) {
          case 0x10:
            t = A === v;
            break;
          case 0x20:
            t = A > v;
            break;
          case 0x30:
            t = A >= v;
            break;
          default:
            t = (A & v) >>> 0 !== 0;
            break;
        }
        pc += t ? p.jt[pc]! : p.jf[pc]!;
        break;
      }
      case RET:
        return (c === 0x16 ? A : k) >>> 0;
      case MISC:
        if (c === 0x07) X = A;
        else A = X;
        break;
    }
  }
  throw new BpfInvalid('fell off the end'); // unreachable after loadProgram
}

/** The action class of a SECCOMP_RET_* word, with KILL_THREAD/KILL_PROCESS as one `kill`. */
export function actionOf(ret: number): string {
  const action = (ret & 0xffff0000) >>> 0;
  const data = ret & 0xffff;
  switch (action) {
    case 0x80000000:
    case 0x00000000:
      return 'kill';
    case 0x00030000:
      return 'trap';
    case 0x00050000:
      return `errno(${data})`;
    case 0x7fc00000:
      return 'notify';
    case 0x7ff00000:
      return `trace(${data})`;
    case 0x7ffc0000:
      return 'log';
    case 0x7fff0000:
      return 'allow';
    default:
      return `?${ret.toString(16)}`;
  }
}

/** A seeded PRNG (mulberry32), so random tests replay. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
