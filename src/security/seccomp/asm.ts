/**
 * A small classic-BPF assembler: forward jumps to labels, conditional jumps further than
 * 255 instructions rewritten through `ja` trampolines, output as struct sock_filter[] bytes.
 * @module
 * @internal
 */
import { internalAssertion } from '../../errors.js';

/** Opcodes used by the compiler (linux/bpf_common.h, linux/filter.h). @internal */
export const OP = {
  LD_W_ABS: 0x20, // BPF_LD | BPF_W | BPF_ABS
  AND_K: 0x54, // BPF_ALU | BPF_AND | BPF_K
  JA: 0x05, // BPF_JMP | BPF_JA
  JEQ_K: 0x15, // BPF_JMP | BPF_JEQ | BPF_K
  JGT_K: 0x25, // BPF_JMP | BPF_JGT | BPF_K
  JGE_K: 0x35, // BPF_JMP | BPF_JGE | BPF_K
  JSET_K: 0x45, // BPF_JMP | BPF_JSET | BPF_K
  RET_K: 0x06, // BPF_RET | BPF_K
} as const;

/** A jump target: a label id, or NEXT for the following instruction. @internal */
export type Target = number;
/** The instruction that follows. @internal */
export const NEXT: Target = -1;

interface Insn {
  code: number;
  k: number;
  /** Conditional: label ids (or NEXT). `ja`: k is unused, jt holds the label. */
  jt: Target;
  jf: Target;
  /** Whether jt/jf go through a trampoline `ja` placed right after this instruction. */
  longT: boolean;
  longF: boolean;
}

/** Thrown when the program cannot be encoded (more than the kernel's BPF_MAXINSNS). @internal */
export class ProgramTooLarge extends Error {
  /** @param size - instructions the program would have. */
  constructor(readonly size: number) {
    super(`${size} instructions`);
  }
}

/** Builds one program; labels only ever point forward, as cBPF requires. @internal */
export class Assembler {
  private readonly insns: Insn[] = [];
  /** label id → index in insns of the instruction it precedes. */
  private readonly labels: number[] = [];

  /** A new, unplaced label. */
  label(): Target {
    this.labels.push(-1);
    return this.labels.length - 1;
  }

  /** Places `l` before the next instruction emitted. */
  place(l: Target): void {
    this.labels[l] = this.insns.length;
  }

  /** Instructions so far (before trampolines). */
  get length(): number {
    return this.insns.length;
  }

  private emit(code: number, k: number, jt: Target = NEXT, jf: Target = NEXT): void {
    this.insns.push({ code, k: k >>> 0, jt, jf, longT: false, longF: false });
  }

  /** `ld [off]`: a 32-bit word of seccomp_data. */
  ld(off: number): void {
    this.emit(OP.LD_W_ABS, off);
  }

  /** `and #k`. */
  and(k: number): void {
    this.emit(OP.AND_K, k);
  }

  /** A conditional jump on A against k. */
  jmp(code: number, k: number, jt: Target, jf: Target): void {
    this.emit(code, k, jt, jf);
  }

  /** `ja label`. */
  ja(l: Target): void {
    this.emit(OP.JA, 0, l, NEXT);
  }

  /** `ret #k`. */
  ret(k: number): void {
    this.emit(OP.RET_K, k);
  }

  /**
   * Lays the program out and encodes it. Conditional jumps whose target is further than
   * 255 instructions go through a `ja` placed right after them; since a trampoline moves
   * what follows, the layout is repeated until no jump needs a new one.
   */
  assemble(maxInsns: number): Uint8Array {
    const { insns, labels } = this;
    const pos = new Int32Array(insns.length + 1);
    for (;;) {
      let p = 0;
      for (let i = 0; i < insns.length; i++) {
        pos[i] = p;
        const ins = insns[i]!;
        p += 1 + (ins.longT ? 1 : 0) + (ins.longF ? 1 : 0);
      }
      pos[insns.length] = p;
      let changed = false;
      for (let i = 0; i < insns.length; i++) {
        const ins = insns[i]!;
        if (ins.code === OP.JA || (ins.code & 0x07) !== 0x05) continue;
        if (!ins.longT && ins.jt !== NEXT && pos[labels[ins.jt]!]! - pos[i]! - 1 > 255) ins.longT = changed = true;
        if (!ins.longF && ins.jf !== NEXT && pos[labels[ins.jf]!]! - pos[i]! - 1 > 255) ins.longF = changed = true;
      }
      if (!changed) {
        if (p > maxInsns) throw new ProgramTooLarge(p);
        return this.encode(pos, p);
      }
    }
  }

  private encode(pos: Int32Array, size: number): Uint8Array {
    const { insns, labels } = this;
    // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; } as two host-order u32 words.
    const words = new Uint32Array(size * 2);
    const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    const put = (at: number, code: number, jt: number, jf: number, k: number): void => {
      words[at * 2] = le ? (code | (jt << 16) | (jf << 24)) >>> 0 : ((code << 16) | (jt << 8) | jf) >>> 0;
      words[at * 2 + 1] = k;
    };
    const target = (l: Target): number => {
      const at = labels[l]!;
      if (at < 0) throw internalAssertion(`seccomp label ${l} never placed`);
      return pos[at]!;
    };
    for (let i = 0; i < insns.length; i++) {
      const ins = insns[i]!;
      const at = pos[i]!;
      if (ins.code === OP.JA) {
        put(at, OP.JA, 0, 0, target(ins.jt) - at - 1);
        continue;
      }
      if ((ins.code & 0x07) !== 0x05) {
        put(at, ins.code, 0, 0, ins.k);
        continue;
      }
      let tramp = at + 1;
      let jt = 0;
      let jf = 0;
      if (ins.jt !== NEXT) {
        if (ins.longT) {
          put(tramp, OP.JA, 0, 0, target(ins.jt) - tramp - 1);
          jt = tramp++ - at - 1;
        } else {
          jt = target(ins.jt) - at - 1;
        }
      }
      if (ins.jf !== NEXT) {
        if (ins.longF) {
          put(tramp, OP.JA, 0, 0, target(ins.jf) - tramp - 1);
          jf = tramp++ - at - 1;
        } else {
          jf = target(ins.jf) - at - 1;
        }
      }
      // NEXT means the instruction after this one and its trampolines.
      if (ins.jt === NEXT) jt = tramp - at - 1;
      if (ins.jf === NEXT) jf = tramp - at - 1;
      if (jt < 0 || jf < 0 || jt > 255 || jf > 255) throw internalAssertion(`seccomp jump out of range at ${at}`);
      put(at, ins.code, jt, jf, ins.k);
    }
    return new Uint8Array(words.buffer);
  }
}
