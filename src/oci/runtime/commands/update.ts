/**
 * `update --resources FILE|- ID`: new `linux.resources` (the LinuxResources JSON, from FILE
 * or stdin) for a container's cgroup, checked and translated to cgroup v2 as at create
 * (nsbox/oci's translateResources), the controllers they need enabled from the root down.
 * @internal
 * @module
 */
import { readFileSync } from 'node:fs';
import { applyCgroupPlan } from '../../cgroup.js';
import { parseConfig } from '../../parse.js';
import { translateResources } from '../../resources.js';
import { RuntimeError, UsageError } from '../errors.js';
import { str, type Context } from '../context.js';
import { statusOf } from '../status.js';
import { checkId } from '../store.js';

export async function main(ctx: Context): Promise<number> {
  const id = checkId(ctx.args[0]);
  const file = str(ctx, 'resources');
  if (file === undefined) throw new UsageError('update: give --resources FILE (or - for stdin)');
  if (!ctx.store.has(id)) throw new RuntimeError(`container ${id} does not exist`);
  const unlock = await ctx.store.lock(id);
  try {
    const rec = ctx.store.read(id);
    if (statusOf(rec) === 'stopped') throw new RuntimeError(`container ${id} is not running`);
    if (rec.cgroup === undefined) throw new RuntimeError(`update: container ${id} has no cgroup`);
    const json = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8')) as unknown;
    const resources = parseConfig({ ociVersion: rec.ociVersion, linux: { resources: json } }).linux!.resources!;
    const plan = translateResources(resources);
    await applyCgroupPlan({ path: rec.cgroup, writes: plan.writes, controllers: plan.controllers, resources }, true);
    return 0;
  } finally {
    unlock();
  }
}
