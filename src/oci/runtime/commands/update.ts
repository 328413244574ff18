/**
 * `update --resources FILE|- ID`: new `linux.resources` (the LinuxResources JSON, from FILE
 * or stdin) for a container's cgroup, checked and translated to cgroup v2 as at create
 * (nsbox/oci's translateResources), the controllers they need enabled from the root down;
 * `devices` replaces the cgroup's device filter (Cgroup.setDeviceRules), built as at create.
 * @internal
 * @module
 */
import { readFileSync } from 'node:fs';
import { applyCgroupPlan } from '../../cgroup.js';
import { parseConfig } from '../../parse.js';
import { mapDevices, planDeviceRules } from '../../devices.js';
import { translateResources } from '../../resources.js';
import type { OciCgroupPlan } from '../../spawn-options.js';
import { RuntimeError, UsageError } from '../errors.js';
import { str, type Context } from '../context.js';
import { statusOf } from '../status.js';
import { lockContainer } from '../lock.js';
import { checkId } from '../store.js';

export async function main(ctx: Context): Promise<number> {
  const id = checkId(ctx.args[0]);
  const file = str(ctx, 'resources');
  if (file === undefined) throw new UsageError('update: give --resources FILE (or - for stdin)');
  if (!ctx.store.has(id)) throw new RuntimeError(`container ${id} does not exist`);
  const unlock = lockContainer(ctx.store, id);
  try {
    const rec = ctx.store.read(id);
    if (statusOf(rec) === 'stopped') throw new RuntimeError(`container ${id} is not running`);
    if (rec.cgroup === undefined) throw new RuntimeError(`update: container ${id} has no cgroup`);
    const json = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8')) as unknown;
    const resources = parseConfig({ ociVersion: rec.ociVersion, linux: { resources: json } }).linux!.resources!;
    const plan = translateResources(resources);
    const cg: OciCgroupPlan = { path: rec.cgroup, writes: plan.writes, controllers: plan.controllers, resources };
    // devices: a new filter replaces the one create attached, built as at create (an absent or
    // empty list leaves it as it is, as crun does; runc's update cannot change it).
    if (resources.devices !== undefined && resources.devices.length > 0) {
      const userns = (rec.config.linux?.namespaces ?? []).some((n) => n.type === 'user');
      cg.devices = planDeviceRules(resources.devices, mapDevices(rec.config.linux?.devices), {
        userns,
        capabilities: rec.config.process?.capabilities,
      });
    }
    await applyCgroupPlan(cg, true);
    return 0;
  } finally {
    unlock();
  }
}
