/**
 * `create --bundle DIR [--pid-file F] [--console-socket S] [--preserve-fds N] [--no-new-keyring] ID`:
 * the container set up, its process waiting for `start`; this command then exits.
 * @internal
 * @module
 */
import type { Context } from '../context.js';
import { createContainer, createRequest } from '../container.js';

export async function main(ctx: Context): Promise<number> {
  await createContainer(ctx.store, ctx.log, createRequest(ctx.flags, ctx.args[0]));
  return 0;
}
