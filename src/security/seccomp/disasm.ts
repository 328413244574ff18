/**
 * A disassembler for classic BPF seccomp programs, for humans and tests.
 * @module
 */
import { invalidArgType, invalidArgValue } from '../../errors.js';

const RET_NAMES: readonly [number, string][] = [
  [0x80000000, 'KILL_PROCESS'],
  [0x00000000, 'KILL_THREAD'],
  [0x00030000, 'TRAP'],
  [0x00050000, 'ERRNO'],
  [0x7fc00000, 'USER_NOTIF'],
  [0x7ff00000, 'TRACE'],
  [0x7ffc0000, 'LOG'],
  [0x7fff0000, 'ALLOW'],
];

/** `ALLOW`, `ERRNO(38)`, … for a SECCOMP_RET_* word. */
function retName(k: number): string {
  const action = (k & 0xffff0000) >>> 0;
  const data = k & 0xffff;
  const name = RET_NAMES.find(([v]) => v === action)?.[1] ?? 'unknown';
  return data !== 0 || action === 0x00050000 ? `${name}(${data})` : name;
}

/** What a `ld [off]` reads from struct seccomp_data (little-endian layout). */
function field(off: number): string {
  if (off === 0) return 'nr';
  if (off === 4) return 'arch';
  if (off === 8) return 'instruction_pointer.lo';
  if (off === 12) return 'instruction_pointer.hi';
  if (off >= 16 && off < 64 && off % 4 === 0) return `args[${(off - 16) >> 3}].${off % 8 === 0 ? 'lo' : 'hi'}`;
  return '?';
}

const hex = (k: number): string => `#0x${k.toString(16)}`;
const at = (n: number): string => n.toString().padStart(4, '0');

const JUMPS: Readonly<Record<number, string>> = { 21: 'jeq', 37: 'jgt', 53: 'jge', 69: 'jset' };

/**
 * One line per instruction of a classic BPF program (struct sock_filter[], host byte
 * order), with absolute jump targets and the seccomp meaning of loads and returns:
 *
 * ```
 * 0000: ld [4]                      ; arch
 * 0001: jeq #0xc000003e  jt 0003 jf 0002
 * 0002: ret #0x80000000             ; KILL_PROCESS
 * ```
 *
 * @param program - the bytes, a multiple of 8 long (as `CompiledSeccomp.program`).
 * @returns the listing, lines joined with `\n`.
 * @throws ERR_INVALID_ARG_TYPE if `program` is not a Uint8Array; ERR_INVALID_ARG_VALUE if its length is not a multiple of 8.
 */
export function disassemble(program: Uint8Array): string {
  if (!(program instanceof Uint8Array)) throw invalidArgType('program', 'an instance of Uint8Array', program);
  if (program.length % 8 !== 0) throw invalidArgValue('program', program.length, 'must be a multiple of 8 bytes long');
  const dv = new DataView(program.buffer, program.byteOffset, program.byteLength);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const lines: string[] = [];
  for (let pc = 0; pc < program.length / 8; pc++) {
    const code = dv.getUint16(pc * 8, le);
    const jt = dv.getUint8(pc * 8 + 2);
    const jf = dv.getUint8(pc * 8 + 3);
    const k = dv.getUint32(pc * 8 + 4, le);
    let text: string;
    let note = '';
    if (code === 0x20) {
      text = `ld [${k}]`;
      note = field(k);
    } else if (code === 0x54) {
      text = `and ${hex(k)}`;
    } else if (code === 0x06) {
      text = `ret ${hex(k)}`;
      note = retName(k);
    } else if (code === 0x05) {
      text = `ja ${at(pc + 1 + k)}`;
    } else if (JUMPS[code] !== undefined) {
      text = `${JUMPS[code]} ${hex(k)}  jt ${at(pc + 1 + jt)} jf ${at(pc + 1 + jf)}`;
    } else {
      text = `.insn code=0x${code.toString(16)} jt=${jt} jf=${jf} k=0x${k.toString(16)}`;
    }
    lines.push(note ? `${at(pc)}: ${text.padEnd(28)}; ${note}` : `${at(pc)}: ${text}`);
  }
  return lines.join('\n');
}
