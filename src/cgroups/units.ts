/**
 * Values as cgroupfs writes and shows them: byte sizes with units, 'max', integers in ranges.
 * Pure: no syscalls.
 * @internal
 * @module
 */
import { invalidArgType, invalidArgValue, outOfRange } from '../errors.js';

/**
 * A size in bytes: a number or bigint of bytes, a string with an optional binary unit
 * (`'64M'`, `'512k'`, `'1G'`, `'2MiB'`; K/M/G/T/P are powers of 1024, as the kernel's
 * memparse(), which the memory files themselves accept), or `'max'` for no limit.
 */
export type Bytes = number | bigint | string;

const UNIT: Readonly<Record<string, bigint>> = { '': 1n, k: 1n << 10n, m: 1n << 20n, g: 1n << 30n, t: 1n << 40n, p: 1n << 50n };
const U64_MAX = (1n << 64n) - 1n;

/**
 * Checks a {@link Bytes} value and returns the kernel's text: `'max'` or a decimal number.
 * @throws TypeError `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE` ('12X'); RangeError
 *   `ERR_OUT_OF_RANGE` (negative, fractional, over 2^64-1).
 * @internal
 */
export function bytesText(name: string, v: unknown, allowMax = true): string {
  let n: bigint;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw outOfRange(name, 'a non-negative integer number of bytes', v);
    n = BigInt(v);
  } else if (typeof v === 'bigint') {
    n = v;
  } else if (typeof v === 'string') {
    if (v === 'max') {
      if (!allowMax) throw invalidArgValue(name, v, "cannot be 'max' here");
      return 'max';
    }
    const m = /^(\d+)\s*([kKmMgGtTpP]?)(?:i?[bB])?$/.exec(v);
    if (m === null)
      throw invalidArgValue(
        name,
        v,
        `must be a number of bytes with an optional unit (K, M, G, T, P: powers of 1024)${allowMax ? " or 'max'" : ''}`,
      );
    n = BigInt(m[1]!) * UNIT[m[2]!.toLowerCase()]!;
  } else {
    throw invalidArgType(name, `a number, a bigint or a string such as '64M'${allowMax ? " or 'max'" : ''}`, v);
  }
  if (n < 0n || n > U64_MAX) throw outOfRange(name, '>= 0 and <= 2^64-1 bytes', v);
  return n.toString();
}

/** An integer in [min, max], or 'max' when allowed; returns the kernel's text. @internal */
export function intText(name: string, v: unknown, min: number, max: number, allowMax = false): string {
  if (allowMax && v === 'max') return 'max';
  if (typeof v !== 'number') throw invalidArgType(name, allowMax ? "of type number or 'max'" : 'of type number', v);
  if (!Number.isInteger(v) || v < min || v > max) throw outOfRange(name, `an integer >= ${min} and <= ${max}`, v);
  return String(v);
}

/** A boolean as the kernel's '0'/'1'. @internal */
export function boolText(name: string, v: unknown): string {
  if (typeof v !== 'boolean') throw invalidArgType(name, 'of type boolean', v);
  return v ? '1' : '0';
}

/**
 * A limit as read back: `'max'`, or a number — a bigint when it is above 2^53-1 (hugetlb and
 * memory show "unlimited" as a huge multiple of the page size rather than 'max').
 */
export type LimitValue = number | bigint | 'max';

/** Parses a limit file's text into a {@link LimitValue}. @internal */
export function parseMax(text: string): LimitValue {
  const t = text.trim();
  if (t === 'max') return 'max';
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : BigInt(t);
}

/** "key value" lines into an object with camelCased keys and numeric values. @internal */
export function parseFlat(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k === undefined || k === '' || v === undefined) continue;
    out[camel(k)] = Number(v);
  }
  return out;
}

/** "key value" lines with the kernel's keys as they are. @internal */
export function parseFlatRaw(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k === undefined || k === '' || v === undefined) continue;
    out[k] = Number(v);
  }
  return out;
}

/** snake_case or dotted to camelCase: `oom_kill` → `oomKill`. @internal */
export function camel(k: string): string {
  return k.replace(/[_.]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
