/**
 * The script the isolated Node process runs (`node -e BOOTSTRAP`): kept tiny and free of any
 * nsbox import, since its load time is the start-up cost of every `runIsolated` call.
 *
 * Protocol (docs/testing.md): fd 3 carries one v8-serialized request until EOF —
 * `{ url, name, args }` (an export of a module) or `{ source, args }` (a function's text);
 * fd 4 gets one frame, a 4-byte little-endian length then a v8-serialized
 * `{ ok: true, value }` or `{ ok: false, error }`. The error is flattened to plain data (name,
 * message, stack, and its own properties such as code, errno, syscall, path), since the
 * structured clone of an Error keeps only its name and message. Then the process exits at once,
 * whatever the function left running.
 * @internal
 * @module
 */

/** A thrown value as plain data: an error's fields, or the value itself. @internal */
export interface EncodedError {
  /** Set when the thrown value was not an Error: the value (or its String() if it cannot be cloned). */
  value?: unknown;
  name?: string;
  message?: string;
  stack?: string;
  /** The error's own enumerable properties (and code/errno/syscall), those that clone. */
  props?: Record<string, unknown>;
  cause?: EncodedError;
  errors?: EncodedError[];
}

// Plain JavaScript, run as a CommonJS `-e` script (no ESM loader start-up); `import()` loads
// the module. A function sent as source was compiled by the caller's toolchain, which may
// have rewritten it with calls to its own helpers; the bootstrap provides the two vitest's
// transform adds: `__vite_ssr_dynamic_import__` for `import()` (vite's SSR transform) and
// `__name` (esbuild keeping function names).
export const BOOTSTRAP = `'use strict';
const fs = require('node:fs');
const v8 = require('node:v8');
globalThis.__name ??= (f) => f;
globalThis.__vite_ssr_dynamic_import__ ??= (s) => import(s);
const clones = (v) => { try { v8.serialize(v); return true; } catch { return false; } };
function enc(e, depth) {
  if (!(e instanceof Error)) return { value: clones(e) ? e : String(e) };
  const o = { name: e.name, message: e.message, stack: e.stack, props: {} };
  for (const k of new Set([...Object.keys(e), 'code', 'errno', 'syscall', 'path', 'dest'])) {
    if (k !== 'cause' && k !== 'errors' && e[k] !== undefined && clones(e[k])) o.props[k] = e[k];
  }
  if (depth < 8 && e.cause !== undefined) o.cause = enc(e.cause, depth + 1);
  if (depth < 8 && Array.isArray(e.errors)) o.errors = e.errors.map((x) => enc(x, depth + 1));
  return o;
}
function send(m) {
  let body;
  try { body = v8.serialize(m); } catch (e) { body = v8.serialize({ ok: false, error: enc(e, 0) }); }
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length);
  const buf = Buffer.concat([head, body]);
  for (let off = 0; off < buf.length; ) off += fs.writeSync(4, buf, off);
}
(async () => {
  let m;
  try {
    const req = v8.deserialize(fs.readFileSync(3));
    fs.closeSync(3);
    const fn = req.source !== undefined ? (0, eval)('(' + req.source + '\\n)') : (await import(req.url))[req.name];
    if (typeof fn !== 'function') throw new TypeError('nsbox/testing: ' + (req.source !== undefined ? 'the source' : req.url + ' export ' + req.name) + ' is not a function');
    m = { ok: true, value: await fn(...req.args) };
  } catch (e) {
    m = { ok: false, error: enc(e, 0) };
  }
  send(m);
  process.exit(0);
})();
`;
