/**
 * What every command gets: the parsed flags and arguments, the store at `--root`, the log.
 * @internal
 * @module
 */
import type { Flags } from './args.js';
import type { Log } from './log.js';
import type { Store } from './store.js';

export interface Context {
  /** The command's name (`state`, `list`… share a module). */
  command: string;
  flags: Flags;
  args: string[];
  store: Store;
  log: Log;
}

/** A command module's entry: resolves with the exit status. */
export type CommandMain = (ctx: Context) => Promise<number>;

/** A flag's string value, or undefined. */
export function str(ctx: Context, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** A list flag's values ([] when not given). */
export function list(ctx: Context, name: string): string[] {
  const v = ctx.flags[name];
  return Array.isArray(v) ? v : [];
}
