/**
 * A cgroup v2 directory as an object: members, type, controllers, freeze/thaw, kill,
 * limits, statistics, events and pressure. {@link cgroup} opens one, {@link createCgroup}
 * makes one.
 * @module
 */
import { readdirSync, rmdirSync } from 'node:fs';
import { posix } from 'node:path';
import { SysError, handleClosed, withHint, invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { cgError, hasCg, readCg, readCgIf, writeCg, writeCgAsync, type CgroupLocation } from './files.js';
import { compileLimits, readLimits, type CgroupLimitValues, type CgroupLimits, type LimitWrite } from './limits.js';
import { cgroup } from './create.js';
import { controllerError, resolveCgroup } from './mount.js';
import {
  parseCgroupEvents,
  parseEvents,
  parseIoStat,
  parsePressure,
  type CgroupEvents,
  type CgroupStat,
  type CpuStats,
  type HugetlbSizeStats,
  type IoDeviceStats,
  type MemoryStats,
  type PidsStats,
  type Pressure,
} from './stats.js';
import { readHugetlbStats, readMemoryStats, readPidsStats } from './read-stats.js';
import {
  checkSignal,
  eventFile,
  pressureFile,
  triggerSpec,
  type CgroupEventKind,
  type CgroupEventMap,
  type PressureEvent,
  type PressureKind,
  type PressureTriggerOptions,
} from './events.js';
import { waitFor, WatchIterator } from './watch.js';
import type { DeviceRule } from './device-filter.js';
import { devicePrograms, setDeviceRules } from './devices.js';

/** The cgroup types of cgroup.type. */
export type CgroupType = 'domain' | 'threaded' | 'domain threaded' | 'domain invalid';
/** Options of {@link Cgroup.remove}. */
export interface RemoveCgroupOptions {
  /** Remove descendant cgroups too, bottom-up. Default false (a cgroup with children gives EBUSY). */
  recursive?: boolean;
}

const CONTROLLER_NAME = /^[a-z_][a-z0-9_]*$/;

function tid(name: string, v: unknown): number {
  if (typeof v !== 'number') throw invalidArgType(name, 'of type number', v);
  if (!Number.isSafeInteger(v) || v < 1) throw outOfRange(name, 'a positive integer', v);
  return v;
}

/** @internal */
export function controllerList(name: string, list: unknown): string[] {
  if (!Array.isArray(list)) throw invalidArgType(name, 'an array of controller names', list);
  return list.map((c, i) => {
    if (typeof c !== 'string' || !CONTROLLER_NAME.test(c))
      throw invalidArgValue(`${name}[${i}]`, c, "must be a controller name such as 'memory'");
    return c;
  });
}

function ids(text: string): number[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
}

/**
 * A cgroup v2 (cgroups(7), Documentation/admin-guide/cgroup-v2.rst). Holds no fd: it names a
 * directory under the v2 mount. After {@link Cgroup.remove} its methods throw
 * `ERR_HANDLE_CLOSED`.
 *
 * Privileges: writing needs write access to the files (root, or a delegated subtree: see
 * docs/cgroups.md); reading needs none.
 */
export class Cgroup {
  /** The cgroup's path in the v2 hierarchy, as `/proc/PID/cgroup` shows it (`/app/web`). */
  readonly path: string;
  /** Its directory (`/sys/fs/cgroup/app/web`). */
  readonly directory: string;
  #removed = false;
  #removing: Promise<void> | undefined;

  /** @internal Use {@link cgroup} or {@link createCgroup}. */
  constructor(location: { readonly path: string; readonly directory: string }) {
    this.path = location.path;
    this.directory = location.directory;
  }

  #live(): this {
    if (this.#removed) throw handleClosed(`cgroup ${this.path} (removed)`);
    return this;
  }

  /** Child cgroups (the subdirectories), sorted by name. Replaces `ls -d DIR/*&#47;`. */
  children(): Cgroup[] {
    this.#live();
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(this.directory, { withFileTypes: true });
    } catch (cause) {
      throw cgError(cause, this.directory, this);
    }
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort()
      .map((n) => new Cgroup({ path: posix.join(this.path, n), directory: `${this.directory}/${n}` }));
  }

  /** Process ids in this cgroup (cgroup.procs); not those of descendants. */
  procs(): number[] {
    return ids(readCg(this.#live(), 'cgroup.procs'));
  }

  /** Thread ids in this cgroup (cgroup.threads). */
  threads(): number[] {
    return ids(readCg(this.#live(), 'cgroup.threads'));
  }

  /**
   * Moves a process (all its threads) here: `echo PID > cgroup.procs`. Needs write access to
   * this cgroup.procs and to that of the common ancestor of source and destination.
   * @throws `ERR_INVALID_ARG_TYPE`/`ERR_OUT_OF_RANGE`; SysError `ESRCH`, `EBUSY` (no-internal-
   *   process rule: this cgroup has controllers in subtree_control), `EOPNOTSUPP` (threaded), `EACCES`.
   */
  addProcess(pid: number): void {
    writeCg(this.#live(), 'cgroup.procs', String(tid('pid', pid)));
  }

  /** Moves one thread here: `echo TID > cgroup.threads` (threaded subtrees, or the thread's own domain). */
  addThread(threadId: number): void {
    writeCg(this.#live(), 'cgroup.threads', String(tid('threadId', threadId)));
  }

  /** Moves every process of this cgroup to `target` (a leaf), e.g. before enabling controllers here. */
  moveProcessesTo(target: Cgroup | string): void {
    const t = target instanceof Cgroup ? target : cgroup(target);
    for (const pid of this.procs()) {
      try {
        t.addProcess(pid);
      } catch (err) {
        if ((err as SysError).code !== 'ESRCH') throw err; // exited meanwhile
      }
    }
  }

  /** cgroup.type: 'domain', 'threaded', 'domain threaded' or 'domain invalid'. */
  get type(): CgroupType {
    return readCg(this.#live(), 'cgroup.type').trim() as CgroupType;
  }

  /** Only 'threaded' can be written: it turns this cgroup (and makes its parent) threaded. */
  set type(v: CgroupType) {
    if (v !== 'threaded') throw invalidArgValue('type', v, "can only be set to 'threaded' (cgroup.type)");
    writeCg(this.#live(), 'cgroup.type', v);
  }

  /** Controllers available here (cgroup.controllers). */
  controllers(): string[] {
    return readCg(this.#live(), 'cgroup.controllers')
      .split(/\s+/)
      .filter((c) => c !== '');
  }

  /** Controllers enabled for the children (cgroup.subtree_control). */
  subtreeControl(): string[] {
    return readCg(this.#live(), 'cgroup.subtree_control')
      .split(/\s+/)
      .filter((c) => c !== '');
  }

  /**
   * Enables controllers for the children: one write of `+a +b` to cgroup.subtree_control.
   * @throws `ERR_NSBOX_CGROUP_CONTROLLER` when one is not in cgroup.controllers (nothing written);
   *   SysError `EBUSY` when this cgroup has processes (the no-internal-process rule; the message
   *   says so: move them to a leaf first with {@link Cgroup.moveProcessesTo}).
   */
  enableControllers(list: readonly string[]): void {
    this.#subtree(controllerList('list', list), '+');
  }

  /** Disables controllers for the children (`-a -b`). EBUSY when a child still enables them below. */
  disableControllers(list: readonly string[]): void {
    this.#subtree(controllerList('list', list), '-');
  }

  #subtree(list: string[], sign: '+' | '-'): void {
    if (list.length === 0) return;
    const available = this.controllers();
    if (sign === '+') {
      for (const c of list) if (!available.includes(c)) throw controllerError(this, c, 'cgroup.controllers', `enableControllers: ${c}`);
    }
    try {
      writeCg(this, 'cgroup.subtree_control', list.map((c) => sign + c).join(' '));
    } catch (err) {
      if (err instanceof SysError && err.code === 'EBUSY') {
        throw withHint(
          err,
          sign === '+'
            ? `${this.path} has processes of its own, and a cgroup with domain controllers enabled for its children may not (the no-internal-process rule); move them to a leaf first (moveProcessesTo)`
            : 'a child cgroup still enables one of these controllers in its own cgroup.subtree_control',
        );
      }
      throw err;
    }
  }

  /** Freezes every process in the subtree (`echo 1 > cgroup.freeze`); resolves when cgroup.events says `frozen 1`. */
  async freeze(): Promise<void> {
    writeCg(this.#live(), 'cgroup.freeze', '1');
    await waitFor(this, 'cgroup.events', (t) => parseCgroupEvents(t).frozen);
  }

  /** Thaws (`echo 0 > cgroup.freeze`); resolves when cgroup.events says `frozen 0`. */
  async thaw(): Promise<void> {
    writeCg(this.#live(), 'cgroup.freeze', '0');
    await waitFor(this, 'cgroup.events', (t) => !parseCgroupEvents(t).frozen);
  }

  /**
   * SIGKILLs every process in the subtree (`echo 1 > cgroup.kill`, Linux 5.14+); resolves
   * when cgroup.events says `populated 0`.
   */
  async kill(): Promise<void> {
    this.#live();
    if (!parseCgroupEvents(readCg(this, 'cgroup.events')).populated) return;
    this.#killAll();
    await waitFor(this, 'cgroup.events', (t) => !parseCgroupEvents(t).populated);
  }

  // cgroup.kill (Linux 5.14+) kills the subtree atomically. A threaded cgroup refuses it
  // (EOPNOTSUPP) and an older kernel lacks it (ENOENT): then every thread listed in the
  // subtree gets SIGKILL (which kills its whole process); unlike cgroup.kill this races with
  // a process that forks meanwhile.
  #killAll(): void {
    try {
      writeCg(this, 'cgroup.kill', '1');
    } catch (err) {
      const code = (err as SysError).code;
      if (code !== 'ENOTSUP' && code !== 'ENOENT') throw err;
      const walk = (cg: Cgroup): void => {
        for (const t of cg.threads())
          try {
            process.kill(t, 'SIGKILL');
          } catch {
            /* gone */
          }
        for (const c of cg.children()) walk(c);
      };
      walk(this);
    }
  }

  /**
   * Kills what runs in the subtree, waits until it is empty, and removes the directory
   * (rmdir(2)), children first when `recursive`. Idempotent; afterwards the object is closed.
   * Replaces `echo 1 > cgroup.kill; rmdir DIR`.
   * @throws SysError `EBUSY` (children left and not `recursive`), `EACCES`/`EPERM`.
   */
  remove(options: RemoveCgroupOptions = {}): Promise<void> {
    if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
    if (options.recursive !== undefined && typeof options.recursive !== 'boolean')
      throw invalidArgType('options.recursive', 'of type boolean', options.recursive);
    if (this.#removed) return Promise.resolve();
    this.#removing ??= this.#remove(options.recursive === true).finally(() => {
      this.#removing = undefined;
    });
    return this.#removing;
  }

  async #remove(recursive: boolean): Promise<void> {
    const events = readCgIf(this, 'cgroup.events');
    if (events === undefined && !hasCg(this, '.')) {
      this.#removed = true; // already gone
      return;
    }
    if (events !== undefined && parseCgroupEvents(events).populated) {
      this.#killAll();
      await waitFor(this, 'cgroup.events', (t) => !parseCgroupEvents(t).populated);
    }
    if (recursive) for (const c of this.children()) await c.remove({ recursive: true });
    try {
      rmdirSync(this.directory);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw cgError(cause, this.directory, this);
    }
    this.#removed = true;
  }

  /** `await using cg = await createCgroup(…)`: {@link Cgroup.remove} with `recursive: true`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove({ recursive: true });
  }

  /**
   * Writes limits, one write(2) per setting, after validating all of them and checking that
   * every file exists (so nothing is written when one cannot be). Writes that can wait in the
   * kernel (memory.*: lowering a limit reclaims; io.*; cpuset.*) run off the event loop's
   * thread; pids, cpu and hugetlb writes are counter updates, made synchronously.
   * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE`/`ERR_OUT_OF_RANGE` for a bad spec;
   *   `ERR_NSBOX_CGROUP_CONTROLLER` naming the controller that is not enabled or available
   *   (e.g. bound to cgroup v1); SysError (`EINVAL`, `EBUSY`, …) with `path` and `cgroup`.
   */
  async setLimits(limits: CgroupLimits): Promise<void> {
    const writes = compileLimits(limits);
    this.#live();
    checkWritable(this, writes);
    for (const w of writes) {
      if (w.mayBlock) await writeCgAsync(this, w.file, w.value);
      else writeCg(this, w.file, w.value);
    }
  }

  /** The limits as the files read now (only files that exist). */
  limits(): CgroupLimitValues {
    return readLimits((f) => readCgIf(this, f), this.#files());
  }

  #files(): string[] {
    try {
      return readdirSync(this.#live().directory);
    } catch (cause) {
      throw cgError(cause, this.directory, this);
    }
  }

  /** cgroup.stat: nr_descendants, nr_dying_descendants, and per-controller counts on newer kernels. */
  stat(): CgroupStat {
    return parseEvents<CgroupStat>(readCg(this.#live(), 'cgroup.stat'));
  }

  /** cgroup.events now: populated, frozen. */
  state(): CgroupEvents {
    return parseCgroupEvents(readCg(this.#live(), 'cgroup.events'));
  }

  /** memory.current/peak/swap.*\/stat/events (what exists; `{}` without the memory controller). */
  memoryStats(): MemoryStats {
    return readMemoryStats(this.#live());
  }

  /** cpu.stat: usage/user/system µs always; periods and throttling with the cpu controller. */
  cpuStats(): CpuStats {
    return parseEvents<CpuStats>(readCg(this.#live(), 'cpu.stat'));
  }

  /** io.stat, one entry per device (`[]` without the io controller or before any I/O). */
  ioStats(): IoDeviceStats[] {
    const t = readCgIf(this.#live(), 'io.stat');
    return t === undefined ? [] : parseIoStat(t);
  }

  /** pids.current/peak/max/events (`{}` without the pids controller). */
  pidsStats(): PidsStats {
    return readPidsStats(this.#live());
  }

  /** hugetlb.<size>.* per page size ('2MB', '1GB'; `{}` without the hugetlb controller). */
  hugetlbStats(): Record<string, HugetlbSizeStats> {
    return readHugetlbStats(this, this.#files());
  }

  /**
   * Follows cgroup.events, memory.events or pids.events: yields the current snapshot first,
   * then a new one each time the kernel notifies a change (POLLPRI, in the event loop).
   * Ends when the cgroup is removed, on `return()` (break), or on abort.
   * @throws `ERR_INVALID_ARG_VALUE` for an unknown kind; `ERR_NSBOX_CGROUP_CONTROLLER` if the
   *   file does not exist (controller not enabled); SysError.
   */
  events<K extends CgroupEventKind>(kind: K, options: { signal?: AbortSignal } = {}): AsyncIterableIterator<CgroupEventMap[K]> {
    const file = eventFile(kind);
    const signal = checkSignal(options);
    this.#live();
    if (!hasCg(this, file)) throw controllerError(this, kind, file, `events('${kind}')`);
    const parse = (t: string): CgroupEventMap[K] => (kind === 'cgroup' ? parseCgroupEvents(t) : parseEvents(t)) as CgroupEventMap[K];
    let last: string | undefined;
    const fresh = (t: string): CgroupEventMap[K] | undefined => {
      if (t === last) return undefined;
      last = t;
      return parse(t);
    };
    return new WatchIterator<CgroupEventMap[K]>(
      this,
      file,
      null,
      (t) => fresh(t!),
      signal,
      () => fresh(readCg(this, file)),
    );
  }

  /** `<kind>.pressure` (PSI): some/full avg10/avg60/avg300 (%) and total (µs). */
  pressure(kind: PressureKind): Pressure {
    return parsePressure(readCg(this.#live(), pressureFile(kind)));
  }

  /**
   * A PSI trigger (Documentation/accounting/psi.rst): writes `<stall> <threshold> <window>` to
   * `<kind>.pressure` and yields each time the stall time within a window crosses the
   * threshold (POLLPRI, in the event loop; at most once per window). `return()` closes the
   * fd, which removes the trigger. Needs cgroup.pressure 1 (the default). Unprivileged
   * callers: window a multiple of 2 s (else EPERM from the write).
   * @throws `ERR_INVALID_ARG_*`/`ERR_OUT_OF_RANGE`; SysError `EINVAL`, `EPERM`, `EBUSY`.
   */
  pressureTrigger(kind: PressureKind, options: PressureTriggerOptions): AsyncIterableIterator<PressureEvent> {
    const { file, trigger, windowUs } = triggerSpec(kind, options);
    const signal = checkSignal(options);
    try {
      return new WatchIterator<PressureEvent>(this.#live(), file, trigger, () => ({ pressure: parsePressure(readCg(this, file)) }), signal);
    } catch (err) {
      if (err instanceof SysError && err.code === 'EINVAL' && windowUs % 2_000_000 !== 0) {
        throw withHint(
          err,
          'without CAP_SYS_RESOURCE the kernel accepts only windows that are a multiple of 2 s (windowUs 2000000, 4000000, …)',
        );
      }
      throw err;
    }
  }

  /**
   * Sets which devices the processes of this subtree may open (read, write) and mknod(2):
   * compiles `rules` to an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE), loads it and attaches
   * it to this cgroup (BPF_F_ALLOW_MULTI), then detaches the device programs attached here
   * before, so exactly one stays; replaces cgroup v1's devices.allow/deny. For each access
   * the last rule naming it for the device decides; a device no rule allows is denied, even
   * to root. A descendant's own programs can only deny more. The program stays attached
   * after this returns (the cgroup holds it) and goes with the cgroup. Synchronous (bpf(2)).
   *
   * Privileges: CAP_SYS_ADMIN, or CAP_BPF and CAP_NET_ADMIN (Linux 5.8+), in the initial user
   * namespace (not available rootless, even in a delegated subtree).
   * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE`/`ERR_OUT_OF_RANGE` for bad rules
   *   (nothing loaded); SysError with `path` and `cgroup`, `syscall` the bpf command:
   *   `BPF_PROG_LOAD` (`kernelMessage`: the verifier's log), `BPF_PROG_ATTACH`,
   *   `BPF_PROG_DETACH`; `EPERM` without the privilege (with a `hint`).
   */
  setDeviceRules(rules: readonly DeviceRule[]): void {
    setDeviceRules(this.#live(), rules);
  }

  /** Ids of the device programs attached to this cgroup itself (as `bpftool cgroup show DIR` lists). */
  devicePrograms(): number[] {
    return devicePrograms(this.#live());
  }

  /** The parent cgroup, or null for the mount's root. */
  parent(): Cgroup | null {
    if (this.path === '/' || this.directory === posix.dirname(this.directory)) return null;
    const loc = resolveCgroup('path', posix.dirname(this.directory));
    return loc.directory === this.directory ? null : new Cgroup(loc);
  }
}

/** @internal Every file of `writes` exists, or the controller error for the first that does not. */
export function checkWritable(cg: CgroupLocation, writes: readonly LimitWrite[]): void {
  for (const w of writes) if (!hasCg(cg, w.file)) throw controllerError(cg, w.controller, w.file, w.option);
}
