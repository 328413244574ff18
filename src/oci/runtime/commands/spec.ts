/**
 * `spec [--rootless] [--bundle DIR]` (config.json as `runc spec` writes it; an existing one
 * is never overwritten) and `features` (runtime-spec features.md JSON).
 * @internal
 * @module
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RuntimeError } from '../errors.js';
import { str, type Context } from '../context.js';
import { print } from '../output.js';

export async function main(ctx: Context): Promise<number> {
  if (ctx.command === 'features') {
    const { features } = await import('../../features.js');
    const { HOOKS_AROUND_SPAWN, HOOKS_AT_CREATE } = await import('../../spawn-options.js');
    // The runtime runs prestart and createRuntime itself, while the process waits for start.
    const f = { ...features(), hooks: [...HOOKS_AT_CREATE, ...HOOKS_AROUND_SPAWN] };
    print(`${JSON.stringify(f, null, 2)}\n`);
    return 0;
  }
  const { defaultSpec } = await import('../../spec.js');
  const file = join(resolve(str(ctx, 'bundle') ?? '.'), 'config.json');
  const spec = defaultSpec({ rootless: ctx.flags.rootless === true });
  try {
    writeFileSync(file, `${JSON.stringify(spec, null, '\t')}\n`, { flag: 'wx', mode: 0o666 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new RuntimeError(`${file} exists: remove it first`);
    throw err;
  }
  return 0;
}
