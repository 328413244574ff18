/**
 * stdio and extra fds for spawn, as child_process takes them: 'pipe', 'inherit', 'ignore',
 * a stream with an fd, or an fd number; plus extra fds at chosen numbers.
 * @module
 */
import type { Socket } from 'node:net';
import type { Stream } from 'node:stream';
import { invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { native } from '../native.js';

/** What one child fd is connected to. A stream must have an underlying fd (a file, pipe, socket or TTY stream). */
export type StdioSource = 'pipe' | 'inherit' | 'ignore' | Stream | number | null | undefined;

/** The `stdio` option: one value for 0–2, or an array (index = fd in the child). */
export type StdioOptions = 'pipe' | 'inherit' | 'ignore' | StdioSource[];

const MAX_FDS = 256;
const MAX_TARGET = 65535;

/** The result of preparing stdio: the fd plan for the child and the parent's ends. @internal */
export interface PreparedStdio {
  /** [target, source] pairs for the OP_FDS step. */
  pairs: Array<[number, number]>;
  /** fds to close in the parent once the child has exec'd (child ends, /dev/null). */
  closeAfter: number[];
  /** The parent's pipe ends, keyed by child fd, not yet wrapped in streams. */
  parentEnds: Map<number, { fd: number; readable: boolean }>;
}

function streamFd(s: Stream): number | undefined {
  const anyS = s as unknown as { fd?: unknown; _handle?: { fd?: unknown } };
  const fd = typeof anyS.fd === 'number' ? anyS.fd : anyS._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

function isStream(v: unknown): v is Stream {
  return typeof v === 'object' && v !== null && typeof (v as { pipe?: unknown }).pipe === 'function';
}

/** Validates stdio and extra fds (no syscalls). @internal */
export function checkStdio(stdio: unknown, fds: unknown): Map<number, StdioSource> {
  const map = new Map<number, StdioSource>();
  let list: unknown[];
  if (stdio === undefined) list = ['pipe', 'pipe', 'pipe'];
  else if (typeof stdio === 'string') {
    if (!['pipe', 'inherit', 'ignore'].includes(stdio))
      throw invalidArgValue('options.stdio', stdio, "must be 'pipe', 'inherit', 'ignore' or an array");
    list = [stdio, stdio, stdio];
  } else if (Array.isArray(stdio)) {
    list = [...stdio];
    while (list.length < 3) list.push(undefined);
  } else throw invalidArgType('options.stdio', 'a string or an array', stdio);
  const add = (name: string, target: number, v: unknown) => {
    if (v === null || v === undefined) v = target < 3 ? 'pipe' : 'ignore';
    if (typeof v === 'string') {
      if (!['pipe', 'inherit', 'ignore'].includes(v))
        throw invalidArgValue(name, v, "must be 'pipe', 'inherit', 'ignore', a stream or an fd");
    } else if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw outOfRange(name, 'a non-negative integer fd', v);
    } else if (isStream(v)) {
      if (streamFd(v) === undefined) throw invalidArgValue(name, v, 'is a stream without an underlying file descriptor');
    } else throw invalidArgType(name, "'pipe', 'inherit', 'ignore', a stream or an fd", v);
    map.set(target, v as StdioSource);
  };
  list.forEach((v, i) => add(`options.stdio[${i}]`, i, v));
  if (fds !== undefined) {
    if (typeof fds !== 'object' || fds === null) throw invalidArgType('options.fds', 'an object mapping child fd numbers to sources', fds);
    for (const [k, v] of Object.entries(fds)) {
      const target = Number(k);
      if (!Number.isInteger(target) || target < 0 || target > MAX_TARGET)
        throw outOfRange(`options.fds key`, `an integer from 0 to ${MAX_TARGET}`, k);
      if (map.has(target) && target < list.length)
        throw invalidArgValue(`options.fds[${k}]`, v, 'sets a child fd that options.stdio already sets');
      add(`options.fds[${k}]`, target, v);
    }
  }
  if (map.size > MAX_FDS) throw outOfRange('number of child fds', `at most ${MAX_FDS}`, map.size);
  return map;
}

/** Opens what the child needs (pipes, /dev/null). On failure closes what it opened. @internal */
export function prepareStdio(map: Map<number, StdioSource>): PreparedStdio {
  const out: PreparedStdio = { pairs: [], closeAfter: [], parentEnds: new Map() };
  let devnull = -1;
  try {
    for (const [target, v] of map) {
      if (v === 'pipe') {
        const [r, w] = native.pipe();
        const childReads = target === 0;
        out.closeAfter.push(childReads ? r : w);
        out.parentEnds.set(target, { fd: childReads ? w : r, readable: !childReads });
        out.pairs.push([target, childReads ? r : w]);
      } else if (v === 'ignore') {
        if (devnull < 0) {
          devnull = native.devNull();
          out.closeAfter.push(devnull);
        }
        out.pairs.push([target, devnull]);
      } else if (v === 'inherit') {
        out.pairs.push([target, target]);
      } else if (typeof v === 'number') {
        out.pairs.push([target, v]);
      } else {
        out.pairs.push([target, streamFd(v as Stream)!]);
      }
    }
    return out;
  } catch (err) {
    releaseStdio(out, true);
    throw err;
  }
}

/** Closes the child's ends (and, on failure, the parent's). @internal */
export function releaseStdio(p: PreparedStdio, failed: boolean): void {
  // native.close, not fs.closeSync: in a worker, Node warns about closing fds fs did not open.
  for (const fd of p.closeAfter) native.close(fd);
  p.closeAfter.length = 0;
  if (failed) {
    for (const { fd } of p.parentEnds.values()) native.close(fd);
    p.parentEnds.clear();
  }
}

/** Wraps a parent pipe end as a net.Socket, as child_process does. @internal */
export function wrapEnd(fd: number, readable: boolean): Socket {
  // node:net only here, for a 'pipe' end: loading it costs every spawn without one.
  const { Socket } = process.getBuiltinModule('node:net');
  const s = new Socket({ fd, readable, writable: !readable });
  native.forgetFd(fd); // libuv owns it now; until here, environment teardown would close it
  if (readable) s.on('error', () => {}); // a reader sees EOF; errors surface through 'close'
  return s;
}
