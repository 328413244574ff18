/**
 * The events and PSI vocabulary of {@link Cgroup.events}, {@link Cgroup.pressure} and
 * {@link Cgroup.pressureTrigger}: kinds, options, what they yield, and their validation.
 * @module
 */
import { invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import type { CgroupEvents, MemoryEvents, PidsEvents, Pressure } from './stats.js';

/** The events files {@link Cgroup.events} can follow. */
export type CgroupEventKind = 'cgroup' | 'memory' | 'pids';
/** A PSI resource. */
export type PressureKind = 'cpu' | 'memory' | 'io';

/** What {@link Cgroup.events} yields for each kind. */
export interface CgroupEventMap {
  /** cgroup.events. */
  cgroup: CgroupEvents;
  /** memory.events. */
  memory: MemoryEvents;
  /** pids.events. */
  pids: PidsEvents;
}

/** Options of {@link Cgroup.pressureTrigger}. */
export interface PressureTriggerOptions {
  /** 'some' (default): some tasks stalled; 'full': all non-idle tasks stalled at once. */
  stall?: 'some' | 'full';
  /** Stall time within the window that fires the trigger, µs (> 0, ≤ windowUs). */
  thresholdUs: number;
  /** Window, µs: 500000–10000000. Unprivileged callers need a multiple of 2 s (psi.rst). */
  windowUs: number;
  /** Ends the iteration (rejecting a pending next() with an AbortError). */
  signal?: AbortSignal;
}

/** One PSI trigger event: the pressure file as read when the trigger fired. */
export interface PressureEvent {
  /** The `<kind>.pressure` file right after the event. */
  pressure: Pressure;
}

const EVENT_FILE: Readonly<Record<CgroupEventKind, string>> = { cgroup: 'cgroup.events', memory: 'memory.events', pids: 'pids.events' };
const PRESSURE_KINDS: readonly PressureKind[] = ['cpu', 'memory', 'io'];

/** The events file of `kind`. @throws `ERR_INVALID_ARG_VALUE`. @internal */
export function eventFile(kind: unknown): string {
  if (typeof kind !== 'string' || !Object.hasOwn(EVENT_FILE, kind))
    throw invalidArgValue('kind', kind, "must be 'cgroup', 'memory' or 'pids'");
  return EVENT_FILE[kind as CgroupEventKind];
}

/** The PSI file of `kind`. @throws `ERR_INVALID_ARG_VALUE`. @internal */
export function pressureFile(kind: unknown): string {
  if (!PRESSURE_KINDS.includes(kind as PressureKind)) throw invalidArgValue('kind', kind, "must be 'cpu', 'memory' or 'io'");
  return `${kind as PressureKind}.pressure`;
}

/** The PSI file and the trigger text (`some 150000 1000000`). @throws `ERR_INVALID_ARG_*`, `ERR_OUT_OF_RANGE`. @internal */
export function triggerSpec(kind: unknown, options: unknown): { file: string; trigger: string; windowUs: number } {
  const file = pressureFile(kind);
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
  const o = options as Partial<PressureTriggerOptions>;
  const stall = o.stall ?? 'some';
  if (stall !== 'some' && stall !== 'full') throw invalidArgValue('options.stall', stall, "must be 'some' or 'full'");
  const windowUs = o.windowUs;
  if (typeof windowUs !== 'number' || !Number.isInteger(windowUs) || windowUs < 500_000 || windowUs > 10_000_000) {
    throw outOfRange('options.windowUs', 'an integer >= 500000 and <= 10000000', windowUs);
  }
  const thr = o.thresholdUs;
  if (typeof thr !== 'number' || !Number.isInteger(thr) || thr < 1 || thr > windowUs) {
    throw outOfRange('options.thresholdUs', `an integer >= 1 and <= windowUs (${windowUs})`, thr);
  }
  return { file, trigger: `${stall} ${thr} ${windowUs}`, windowUs };
}

/** `options.signal`, checked. @internal */
export function checkSignal(options: unknown): AbortSignal | undefined {
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
  const s = (options as { signal?: unknown }).signal;
  if (s !== undefined && !(s instanceof AbortSignal)) throw invalidArgType('options.signal', 'an AbortSignal', s);
  return s as AbortSignal | undefined;
}
