/**
 * A container's lock: flock(2) on `ROOT/ID/lock`, taken by the commands that change the
 * container (create, start, delete, pause, resume, update). Apart from store.ts so that what
 * only reads the store (the command line, `state`, `list`) does not link the addon.
 * @internal
 * @module
 */
import { join } from 'node:path';
import { native } from '../../native.js';
import { RuntimeError } from './errors.js';
import type { Store } from './store.js';

/**
 * Takes the container's lock (flock(2) LOCK_EX on `ROOT/ID/lock`, released when this process
 * exits). @throws RuntimeError when another nsbox-oci command holds it.
 */
export function lockContainer(store: Store, id: string): () => void {
  const fd = native.lockFile(join(store.dir(id), 'lock'));
  if (fd < 0) throw new RuntimeError(`container ${id} is busy: another nsbox-oci command holds its lock`);
  return () => native.close(fd);
}
