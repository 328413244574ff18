/**
 * Reading and writing one cgroupfs file, with errors as {@link SysError} carrying `path` and
 * `cgroup`. Each write is one write(2) of the whole value: cgroupfs parses one write as one
 * setting.
 * @internal
 * @module
 */
import { closeSync, constants, existsSync, openSync, promises, readFileSync, writeSync } from 'node:fs';
import { fromFsError } from '../errors.js';

/** Where a cgroup is: its path in the hierarchy and its directory. @internal */
export interface CgroupLocation {
  readonly path: string;
  readonly directory: string;
}

/** A Node fs error as a SysError with the cgroup's path as context. @internal */
export function cgError(cause: unknown, file: string, cg: CgroupLocation): unknown {
  return fromFsError(cause, { path: file, cgroup: cg.path });
}

/** Reads `<directory>/<name>`. @internal */
export function readCg(cg: CgroupLocation, name: string): string {
  const file = `${cg.directory}/${name}`;
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw cgError(cause, file, cg);
  }
}

/** Reads `<directory>/<name>`, or undefined when the file does not exist. @internal */
export function readCgIf(cg: CgroupLocation, name: string): string | undefined {
  const file = `${cg.directory}/${name}`;
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw cgError(cause, file, cg);
  }
}

/** Whether `<directory>/<name>` exists. @internal */
export function hasCg(cg: CgroupLocation, name: string): boolean {
  return existsSync(`${cg.directory}/${name}`);
}

/**
 * One write(2) of `value` to `<directory>/<name>`, opened O_WRONLY without O_CREAT (a missing
 * file is ENOENT, never created). Synchronous: for files whose write does not wait (procs,
 * subtree_control, freeze, kill, type).
 * @internal
 */
export function writeCg(cg: CgroupLocation, name: string, value: string): void {
  const file = `${cg.directory}/${name}`;
  let fd = -1;
  try {
    fd = openSync(file, constants.O_WRONLY);
    writeSync(fd, value);
  } catch (cause) {
    throw cgError(cause, file, cg);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** {@link writeCg} off the event loop's thread: for settings that can block (lowering memory.max reclaims). @internal */
export async function writeCgAsync(cg: CgroupLocation, name: string, value: string): Promise<void> {
  const file = `${cg.directory}/${name}`;
  let fh: import('node:fs/promises').FileHandle | undefined;
  try {
    fh = await promises.open(file, constants.O_WRONLY);
    await fh.write(value);
  } catch (cause) {
    throw cgError(cause, file, cg);
  } finally {
    await fh?.close();
  }
}
