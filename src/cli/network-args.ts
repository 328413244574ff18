/**
 * The arguments of `nsbox network create|rm|ls`. Pure.
 * @module
 */
import { UsageError, noNul } from './values.js';
import type { RunArgs } from './args.js';

/**
 * Whether `nsbox run` needs the network module (network.ts): `--net veth`, `--publish` or
 * `--network`. `--net none` alone is spawn's own `network.lo`.
 */
export function runNeedsNetwork(run: Pick<RunArgs, 'net' | 'publish' | 'network'>): boolean {
  return run.net?.mode === 'veth' || run.publish.length > 0 || run.network !== undefined;
}

/** What `nsbox network …` was asked to do. */
export type NetworkArgs =
  | { cmd: 'create'; name: string; subnet?: string; nat: boolean }
  | { cmd: 'rm'; name: string; force: boolean }
  | { cmd: 'ls' };

/**
 * Parses the arguments after `nsbox network`: `create NAME [--subnet CIDR] [--no-nat]`,
 * `rm [--force] NAME`, `ls`.
 * @throws {@link UsageError}.
 */
export function parseNetworkArgs(argv: readonly string[]): NetworkArgs {
  const [cmd, ...rest] = argv;
  const flags = new Map<string, string | true>();
  const words: string[] = [];
  const valued = new Set(['--subnet']);
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (!a.startsWith('--')) {
      words.push(noNul('NAME', a));
      continue;
    }
    const eq = a.indexOf('=');
    const f = eq < 0 ? a : a.slice(0, eq);
    if (flags.has(f)) throw new UsageError(`network ${cmd}: ${f} given more than once`);
    if (valued.has(f)) {
      const v = eq >= 0 ? a.slice(eq + 1) : rest[++i];
      if (v === undefined) throw new UsageError(`network ${cmd}: ${f} needs a value`);
      flags.set(f, noNul(f, v));
    } else if (eq >= 0) throw new UsageError(`network ${cmd}: ${f} takes no value`);
    else flags.set(f, true);
  }
  const allowed: Record<string, string[]> = { create: ['--subnet', '--no-nat'], rm: ['--force'], ls: [] };
  if (cmd === undefined || !(cmd in allowed)) throw new UsageError(`network: '${cmd ?? ''}' is not create, rm or ls`);
  for (const f of flags.keys()) if (!allowed[cmd]!.includes(f)) throw new UsageError(`network ${cmd}: unknown option '${f}'`);
  if (cmd === 'ls') {
    if (words.length > 0) throw new UsageError(`network ls: unexpected '${words[0]}'`);
    return { cmd };
  }
  if (words.length !== 1) throw new UsageError(`network ${cmd}: needs exactly one NAME`);
  const name = words[0]!;
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/.test(name))
    throw new UsageError(`network ${cmd}: '${name}' is not a network name (1 to 32 letters, digits, _ or -)`);
  if (cmd === 'rm') return { cmd, name, force: flags.has('--force') };
  const out: NetworkArgs = { cmd: 'create', name, nat: !flags.has('--no-nat') };
  const subnet = flags.get('--subnet');
  if (typeof subnet === 'string') {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(subnet);
    if (!m || [m[1], m[2], m[3], m[4]].some((b) => Number(b) > 255) || Number(m[5]) < 8 || Number(m[5]) > 30)
      throw new UsageError(`--subnet: '${subnet}' is not an IPv4 ADDR/PREFIX with a prefix from 8 to 30`);
    out.subnet = subnet;
  }
  return out;
}
