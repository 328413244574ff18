/**
 * Which mounts of a template's tree stay writable once the setup has made the whole tree
 * read-only (template-plan.ts): the read-write volumes' own mounts and the host's submounts
 * they bring in, each only where the host has it read-write — what spawn() would give them —
 * and never one that a template-made mount covers. Everything else, the masks, read-only paths
 * and read-only volumes under a read-write volume included, stays read-only. Pure: the host's
 * mount table comes in as parsed /proc/self/mountinfo.
 * @internal
 * @module
 */
import { realpathSync } from 'node:fs';
import { posix } from 'node:path';
import type { ContainerOptions } from '../fs/container.js';
import type { MountInfoEntry } from '../fs/mountinfo.js';

/** `p` is `dir` or below it (normalised absolute paths). */
const atOrUnder = (p: string, dir: string) => p === dir || dir === '/' || p.startsWith(`${dir}/`);

/**
 * The mounts a path lookup can reach (proc_pid_mountinfo(5) lists hidden ones too): a mount is
 * reachable when its parent is, no mount is stacked on it (a child at its own mount point) and
 * no sibling covers its mount point (a mount of the same parent at one of its ancestors). Where
 * the table is ambiguous (two siblings at one point, two stacked, no single root at "/"), none
 * of them is counted: a mount left out stays read-only.
 */
export function reachableMounts(table: readonly MountInfoEntry[]): MountInfoEntry[] {
  const byId = new Map(table.map((e) => [e.mountId, e]));
  const children = new Map<number, MountInfoEntry[]>();
  for (const e of table) {
    if (e.parentId === e.mountId || !byId.has(e.parentId)) continue;
    const list = children.get(e.parentId) ?? [];
    list.push(e);
    children.set(e.parentId, list);
  }
  const out: MountInfoEntry[] = [];
  const walk = (e: MountInfoEntry): void => {
    const kids = children.get(e.mountId) ?? [];
    const stacked = kids.filter((k) => k.mountPoint === e.mountPoint);
    if (stacked.length > 0) {
      if (stacked.length === 1) walk(stacked[0]!); // only the top of a stack is reachable
      return;
    }
    out.push(e);
    for (const k of kids) if (!kids.some((s) => s !== k && atOrUnder(k.mountPoint, s.mountPoint))) walk(k);
  };
  // The root: the mount at "/" whose parent is not shown (outside this process's root).
  const roots = table.filter((e) => e.mountPoint === '/' && (e.parentId === e.mountId || !byId.has(e.parentId)));
  if (roots.length === 1) walk(roots[0]!);
  return out;
}

/**
 * The paths (inside the container, as the volumes' targets name them) whose mounts the setup
 * makes read-write again after the recursive read-only pass, non-recursively, in this order.
 * For each read-write bind volume (`readOnly` unset) that no later template-made mount covers:
 * its target when the host mount its source lies on is read-write; with `recursive` (the
 * default), each reachable host mount below the source that is read-write there, at the
 * matching path under the target, unless a template-made mount made after the volume (a later
 * volume, a scratch directory, a masked or read-only path) is at that path or above it.
 * Skipped too: unbindable mounts and nsfs files and what is below them (a recursive bind does
 * not copy them), whose path would name no mount. A host mount read-only there is never made
 * writable (rootless, it may be locked: clearing its flag would be EPERM).
 *
 * Targets and masked paths are compared as given: the setup resolves them inside the root,
 * where a symlink along one of them can make two different strings one place. A host mount
 * missing from `table` (mounted after it was read) stays read-only.
 */
export function writablePaths(container: ContainerOptions, table: readonly MountInfoEntry[]): string[] {
  const mounts = container.mounts ?? [];
  const coveredAfter = coverage(container);
  const reachable = reachableMounts(table);
  const byId = new Map(table.map((e) => [e.mountId, e]));
  const out: string[] = [];
  mounts.forEach((m, i) => {
    if (m.type !== 'bind' || m.readOnly === true) return;
    const covered = (p: string) => coveredAfter(i, p);
    if (covered(m.target)) return;
    let source: string;
    try {
      source = realpathSync(m.source);
    } catch {
      return; // gone since the options were checked: the setup's bind fails
    }
    // The host mount the source lies on: the reachable one at the longest prefix.
    let own: MountInfoEntry | undefined;
    for (const e of reachable)
      if (atOrUnder(source, e.mountPoint) && (own === undefined || e.mountPoint.length > own.mountPoint.length)) own = e;
    if (own !== undefined && !own.options.includes('ro')) out.push(m.target);
    if (m.recursive === false) return;
    for (const e of reachable) {
      if (e.mountPoint === source || !atOrUnder(e.mountPoint, source)) continue;
      if (e.options.includes('ro') || notCopied(e, source)) continue;
      const p = posix.join(m.target, posix.relative(source, e.mountPoint));
      if (!covered(p)) out.push(p);
    }
  });
  return out;

  /** A mount a recursive bind of `source` skips: it, or one it lies on below `source`, is unbindable or an nsfs file. */
  function notCopied(e: MountInfoEntry, source: string): boolean {
    for (
      let a: MountInfoEntry | undefined = e;
      a !== undefined && a.mountPoint !== source && atOrUnder(a.mountPoint, source);
      a = byId.get(a.parentId)
    )
      if (a.optionalFields.unbindable || a.fsType === 'nsfs') return true;
    return false;
  }
}

/**
 * Whether a template-made mount made after `mounts[i]` is at a path or above it: the setup
 * makes the default mounts first, then `mounts` in order (a template's scratch directories
 * last among them), then the masked and read-only paths given in the options (those under
 * /proc are each run's, on its fresh /proc).
 */
export function coverage(container: ContainerOptions): (i: number, path: string) => boolean {
  const setupMade = (p: string) => !p.startsWith('/proc/');
  const order = [
    ...(container.mounts ?? []).map((m) => m.target),
    ...(container.maskedPaths ?? []).filter(setupMade),
    ...(container.readonlyPaths ?? []).filter(setupMade),
  ];
  return (i, path) => order.some((t, j) => j > i && atOrUnder(path, t));
}
