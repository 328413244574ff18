/**
 * `state ID` (runc's JSON), `list [--format table|json] [-q]`, `ps [--format table|json] ID`:
 * read-only, no lock and no addon; every status derived from the kernel.
 * @internal
 * @module
 */
import { readdirSync, readFileSync, type Dirent } from 'node:fs';
import { RuntimeError, UsageError } from '../errors.js';
import { str, type Context } from '../context.js';
import { print } from '../output.js';
import { cmdline } from '../proc.js';
import { ociState, statusOf } from '../status.js';
import { checkId, type ContainerRecord } from '../store.js';

export async function main(ctx: Context): Promise<number> {
  if (ctx.command === 'state') return state(ctx);
  if (ctx.command === 'list') return listAll(ctx);
  return ps(ctx);
}

function state(ctx: Context): number {
  const rec = ctx.store.read(checkId(ctx.args[0]));
  print(`${JSON.stringify(ociState(rec), null, 2)}\n`);
  return 0;
}

function format(ctx: Context): 'table' | 'json' {
  const f = str(ctx, 'format') ?? 'table';
  if (f !== 'table' && f !== 'json') throw new UsageError(`--format: "${f}" is not table or json`);
  return f;
}

function listAll(ctx: Context): number {
  const fmt = format(ctx);
  const states = [];
  for (const id of ctx.store.ids()) {
    let rec: ContainerRecord;
    try {
      rec = ctx.store.read(id);
    } catch {
      continue; // a create in progress (no state.json yet), or removed meanwhile
    }
    states.push(ociState(rec));
  }
  if (ctx.flags.quiet) {
    print(states.map((s) => `${s.id}\n`).join(''));
    return 0;
  }
  if (fmt === 'json') {
    print(`${JSON.stringify(states)}\n`);
    return 0;
  }
  const rows = [
    ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
    ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner]),
  ];
  print(table(rows));
  return 0;
}

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]! + 3))).join('')}\n`).join('');
}

/**
 * The pids in the container's cgroup and every cgroup below it (a systemd inside moves itself
 * to init.scope and its services to their own cgroups, as runc's GetAllPids and crun count
 * them), or its process alone without a cgroup.
 */
export function containerPids(rec: ContainerRecord): number[] {
  if (rec.cgroupDir === undefined) return statusOf(rec) === 'stopped' ? [] : [rec.pid];
  const pids: number[] = [];
  const walk = (dir: string): void => {
    let procs: string;
    try {
      procs = readFileSync(`${dir}/cgroup.procs`, 'latin1');
    } catch (err) {
      // The container's cgroup gone (no pids), or a sub-cgroup removed while we walk.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const l of procs.split('\n')) if (l !== '') pids.push(Number(l));
    let subs: Dirent[] = [];
    try {
      subs = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const e of subs) if (e.isDirectory()) walk(`${dir}/${e.name}`);
  };
  walk(rec.cgroupDir);
  return pids;
}

function ps(ctx: Context): number {
  const fmt = format(ctx);
  const rec = ctx.store.read(checkId(ctx.args[0]));
  const pids = containerPids(rec);
  if (fmt === 'json') {
    print(`${JSON.stringify(pids)}\n`);
    return 0;
  }
  if (statusOf(rec) === 'stopped' && pids.length === 0) throw new RuntimeError(`container ${rec.id} is not running`);
  print(table([['PID', 'CMD'], ...pids.map((p) => [String(p), cmdline(p)])]));
  return 0;
}
