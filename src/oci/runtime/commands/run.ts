/**
 * `run [--bundle DIR] [--detach] [--keep] [--pid-file F] [--console-socket S] ID`: create, then
 * start. Without --detach it waits for the container's process, passing on the signals it
 * gets, deletes the container (unless --keep) and exits with its status (128+N for signal N);
 * with process.terminal it relays the caller's terminal to the pty (runc's foreground run), and
 * --console-socket is then refused, as runc refuses it.
 * @internal
 * @module
 */
import { constants } from 'node:os';
import type { Context } from '../context.js';
import { createContainer, createRequest } from '../container.js';
import { relayTerminal } from '../terminal.js';
import { destroy } from './delete.js';
import { startRecord } from './start.js';

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export async function main(ctx: Context): Promise<number> {
  const req = createRequest(ctx.flags, ctx.args[0]);
  if (ctx.flags.detach !== true) req.foreground = true;
  const { rec, child } = await createContainer(ctx.store, ctx.log, req);
  // process.terminal without --console-socket: the caller's terminal is relayed to the pty.
  const relay = child.terminal ? relayTerminal(child.terminal) : undefined;
  try {
    await startRecord(ctx, rec);
  } catch (err) {
    child.kill('SIGKILL');
    await child.exited;
    await relay?.done();
    await destroy(ctx, rec);
    throw err;
  }
  if (ctx.flags.detach) return 0;
  child.ref(); // createContainer unref'd it: here the loop waits for its exit
  // With a terminal, SIGWINCH resizes the pty (the relay's handler) instead, as runc does.
  const handlers = FORWARDED.filter((sig) => !(relay && sig === 'SIGWINCH')).map((sig) => {
    const h = () => {
      try {
        child.kill(sig);
      } catch {
        // gone, or not ours to signal any more
      }
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  const { code, signal } = await child.exited;
  for (const [sig, h] of handlers) process.off(sig, h);
  await relay?.done();
  if (!ctx.flags.keep) await destroy(ctx, rec);
  if (signal !== null) return 128 + (constants.signals[signal] ?? 0);
  return code ?? 1;
}
