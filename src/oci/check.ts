/**
 * Small validators that name the JSON path of a bad field: `config.json: linux.namespaces[2].type
 * must be one of …`. Errors are TypeErrors with Node's `ERR_INVALID_ARG_TYPE` and
 * `ERR_INVALID_ARG_VALUE` codes (the project's misuse errors), plus `jsonPath`.
 * @internal
 * @module
 */
import { inspect } from 'node:util';
import type { NsboxErrorCode } from '../errors.js';

/** A config error: `code`, and the JSON path of the field (`linux.namespaces[2].type`). @internal */
export type ConfigError = Error & { code: NsboxErrorCode; jsonPath: string };

function make(E: new (m: string) => Error, code: NsboxErrorCode, file: string, path: string, text: string): ConfigError {
  const err = new E(`${file}: ${path === '' ? 'the document' : path} ${text}`) as ConfigError;
  Object.defineProperty(err, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  err.jsonPath = path;
  // As Node's own errors: "TypeError [ERR_X]: …" in the stack.
  if (err.stack) err.stack = err.stack.replace(/^(\w+)/, `$1 [${code}]`);
  return err;
}

const shown = (v: unknown) => inspect(v, { depth: 1, breakLength: Infinity, maxStringLength: 60 });

/** `config.json: PATH must be EXPECTED. Received …` (ERR_INVALID_ARG_TYPE). @internal */
export function typeError(path: string, expected: string, value: unknown, file = 'config.json'): ConfigError {
  return make(TypeError, 'ERR_INVALID_ARG_TYPE', file, path, `must be ${expected}. Received ${shown(value)}`);
}

/** `config.json: PATH REASON. Received …` (ERR_INVALID_ARG_VALUE). @internal */
export function valueError(path: string, reason: string, value: unknown, file = 'config.json'): ConfigError {
  return make(TypeError, 'ERR_INVALID_ARG_VALUE', file, path, `${reason}. Received ${shown(value)}`);
}

/**
 * A field nsbox recognises but cannot honour (ERR_NSBOX_UNSUPPORTED): `config.json: PATH is not
 * supported by nsbox: WHY`. @internal
 */
export function unsupported(path: string, why: string, file = 'config.json'): ConfigError {
  return make(Error, 'ERR_NSBOX_UNSUPPORTED', file, path, `is not supported by nsbox: ${why}`);
}

/** A validator: checks `v` found at `path`, returns it typed. @internal */
export type Check<T> = (v: unknown, path: string) => T;

/** Joins a JSON path and a key. @internal */
export const at = (path: string, key: string | number): string =>
  typeof key === 'number'
    ? `${path}[${key}]`
    : /^[A-Za-z_$][\w$]*$/.test(key)
      ? path === ''
        ? key
        : `${path}.${key}`
      : `${path}[${JSON.stringify(key)}]`;

/** A string (no NUL bytes). @internal */
export const str: Check<string> = (v, p) => {
  if (typeof v !== 'string') throw typeError(p, 'a string', v);
  if (v.includes('\0')) throw valueError(p, 'must not contain null bytes', v);
  return v;
};
/** A boolean. @internal */
export const bool: Check<boolean> = (v, p) => {
  if (typeof v !== 'boolean') throw typeError(p, 'a boolean', v);
  return v;
};
/** An integer in [min, max] (JSON numbers: values past 2^53 are kept as parsed). @internal */
export const int =
  (min: number, max: number, what = 'an integer'): Check<number> =>
  (v, p) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError(p, what, v);
    if (v < min || v > max) throw valueError(p, `must be ${what} from ${min} to ${max}`, v);
    return v;
  };
/** uint32. @internal */
export const u32 = int(0, 2 ** 32 - 1, 'an unsigned 32-bit integer');
/** int64. @internal */
export const i64 = int(-(2 ** 63), 2 ** 63, 'a 64-bit integer');
/** uint64. @internal */
export const u64 = int(0, 2 ** 64, 'an unsigned 64-bit integer');
/** An absolute path. @internal */
export const absPath: Check<string> = (v, p) => {
  const s = str(v, p);
  if (!s.startsWith('/')) throw valueError(p, 'must be an absolute path', s);
  return s;
};
/** One of `values`. @internal */
export const oneOf =
  <T extends string>(values: readonly T[]): Check<T> =>
  (v, p) => {
    if (typeof v !== 'string') throw typeError(p, 'a string', v);
    if (!(values as readonly string[]).includes(v)) throw valueError(p, `must be one of ${values.map((x) => `"${x}"`).join(', ')}`, v);
    return v as T;
  };
/** An array whose elements pass `of`. @internal */
export const arr =
  <T>(of: Check<T>): Check<T[]> =>
  (v, p) => {
    if (!Array.isArray(v)) throw typeError(p, 'an array', v);
    return v.map((e, i) => of(e, at(p, i)));
  };
/** A plain object (not null, not an array). @internal */
export const plainObject: Check<Record<string, unknown>> = (v, p) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw typeError(p, 'an object', v);
  return v as Record<string, unknown>;
};
/** An object whose values pass `of` (annotations, sysctl, unified). @internal */
export const record =
  <T>(of: Check<T>): Check<Record<string, T>> =>
  (v, p) => {
    const o = plainObject(v, p);
    const out: Record<string, T> = {};
    for (const [k, x] of Object.entries(o)) out[k] = of(x, at(p, k));
    return out;
  };

/** The fields of an object: each key's validator; `required` names the keys that must be present. @internal */
export type Fields = Record<string, Check<unknown>>;

/**
 * An object with the listed fields: each present one validated (`null` counts as absent, as
 * Go's encoding/json reads it), unknown ones ignored as the spec says (config.md: "MUST
 * ignore unknown properties"), `required` ones enforced. Returns a copy with the known fields.
 * @internal
 */
export function obj<T>(fields: Fields, required: readonly string[] = []): Check<T> {
  return (v, p) => {
    const o = plainObject(v, p);
    const out: Record<string, unknown> = {};
    for (const k of required) if (o[k] === undefined || o[k] === null) throw valueError(at(p, k), 'is required', o[k]);
    for (const [k, check] of Object.entries(fields)) {
      const x = o[k];
      if (x === undefined || x === null) continue;
      out[k] = check(x, at(p, k));
    }
    return out as T;
  };
}
