/**
 * Namespace kinds, in the kernel's own words (the names of the files in /proc/PID/ns).
 * @module
 */
import { K } from '../native.js';

/** A kind of namespace that can be created or joined. */
export type NamespaceType = 'user' | 'pid' | 'mnt' | 'net' | 'uts' | 'ipc' | 'cgroup' | 'time';

/** A file in /proc/PID/ns: a namespace kind, or the namespace the next children will get. */
export type NamespaceFile = NamespaceType | 'pid_for_children' | 'time_for_children';

/** Every namespace kind, in the order nsbox joins them (user first, mnt late). */
export const NAMESPACE_TYPES: readonly NamespaceType[] = Object.freeze([
  'user',
  'cgroup',
  'ipc',
  'uts',
  'net',
  'pid',
  'time',
  'mnt',
] as const);

/** Every file of /proc/PID/ns nsbox can open. */
export const NAMESPACE_FILES: readonly NamespaceFile[] = Object.freeze([
  ...NAMESPACE_TYPES,
  'pid_for_children',
  'time_for_children',
] as const);

/** CLONE_NEW* flag of each kind; a missing entry is a compile error. @internal */
export const CLONE_FLAG: Readonly<Record<NamespaceType, number>> = Object.freeze({
  user: K.CLONE_NEWUSER,
  pid: K.CLONE_NEWPID,
  mnt: K.CLONE_NEWNS,
  net: K.CLONE_NEWNET,
  uts: K.CLONE_NEWUTS,
  ipc: K.CLONE_NEWIPC,
  cgroup: K.CLONE_NEWCGROUP,
  time: K.CLONE_NEWTIME,
});

/** The kind of a CLONE_NEW* value (as NS_GET_NSTYPE returns it). @internal */
export function typeOfFlag(flag: number): NamespaceType | undefined {
  for (const t of NAMESPACE_TYPES) if (CLONE_FLAG[t] === flag) return t;
  return undefined;
}

/** True if `value` names a namespace kind (one of {@link NAMESPACE_TYPES}). Pure; never throws. */
export function isNamespaceType(value: unknown): value is NamespaceType {
  return typeof value === 'string' && (NAMESPACE_TYPES as readonly string[]).includes(value);
}

export { kFd } from '../handle.js';
