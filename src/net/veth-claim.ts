/**
 * Subnets of veth pairs to the host, claimed so that concurrent `nsbox run --net veth` never
 * share one: under the state lock of `<state>/veth` (`/run/nsbox/veth` for root), a subnet is
 * free when no route of the caller's network namespace overlaps it and no live claim of that
 * namespace holds it; a claim is a flock on `<state>/veth/ADDR_PREFIX.lock` held by the process
 * that made it (released by {@link VethClaim.release}, or by the kernel when the process dies),
 * as network-state.ts claims a member's address. The same lock serialises `--publish`'s check
 * of the ports published already and its table ({@link withRunNetLock}).
 * @internal
 * @module
 */
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { nsboxError } from '../errors.js';
import { native } from '../native.js';
import { link } from './link.js';
import { currentNetns, defaultStateDir, readJson, withStateLock, writeJson } from './network-state.js';
import { routes } from './route.js';
import type { IfIndex } from './types.js';

/** Where `--net veth` picks a subnet when given none: the first free /30 of it. */
export const VETH_POOL = '10.200.0.0/16';
const POOL_PREFIX = 30;

/** What `<state>/veth/ADDR_PREFIX.json` holds. */
interface ClaimRecord {
  subnet: string;
  netns: string;
  /** The claiming process (for people; liveness is the flock). */
  pid: number;
}

/** A claimed subnet: its two addresses, held until {@link VethClaim.release}. */
export interface VethClaim {
  /** The network, `ADDR/PREFIX`. */
  subnet: string;
  /** The command's end, `ADDR/PREFIX`: the second address. */
  childAddress: string;
  /** The host end, `ADDR/PREFIX`: the first. */
  hostAddress: string;
  /** Frees the subnet. Idempotent; never throws. */
  release(): Promise<void>;
}

const v4 = (s: string) => s.split('.').reduce((n, b) => n * 256 + Number(b), 0);
const dotted = (n: number) => [24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join('.');
/** [first, end) of an IPv4 ADDR/PREFIX. */
function span(c: string): [number, number] {
  const [a, p] = c.split('/') as [string, string];
  const size = 2 ** (32 - Number(p ?? 32));
  const first = v4(a) - (v4(a) % size);
  return [first, first + size];
}
const overlaps = (a: [number, number], b: [number, number]) => a[0] < b[1] && b[0] < a[1];

/** The state directory of veth claims and `--publish`'s lock. */
export function vethStateDir(): string {
  return join(dirname(defaultStateDir()), 'veth');
}

/** Runs `fn` under the lock of veth claims and published ports. */
export function withRunNetLock<T>(fn: () => T | Promise<T>): Promise<T> {
  return withStateLock(vethStateDir(), fn);
}

const paths = (dir: string, subnet: string) => {
  const base = join(dir, subnet.replace('/', '_'));
  return { json: `${base}.json`, lock: `${base}.lock` };
};

/** The subnets of this namespace's live claims; claims whose process died are removed. Under the lock. */
function liveClaims(dir: string, netns: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    const c = readJson<ClaimRecord>(join(dir, f));
    if (!c) continue;
    const p = paths(dir, c.subnet);
    const fd = native.lockFile(p.lock);
    if (fd < 0) {
      if (c.netns === netns) out.push(c.subnet);
      continue;
    }
    rmSync(p.json, { force: true });
    rmSync(p.lock, { force: true });
    native.close(fd);
  }
  return out;
}

/** A route of the namespace overlapping `s` (any table; default routes aside), as text for messages. */
async function routeOver(s: [number, number], all: Awaited<ReturnType<typeof routes>>): Promise<string | undefined> {
  const r = all.find((x) => x.dst !== 'default' && overlaps(span(x.dst), s));
  if (!r) return undefined;
  let dev = '';
  if (r.dev !== undefined)
    dev = ` dev ${await link(r.dev as IfIndex).then(
      (l) => l.name,
      () => `#${r.dev}`,
    )}`;
  return `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${dev}`;
}

/**
 * Claims a subnet for a veth pair to the host. With `given` (the addresses of `--net
 * veth:ADDR/PREFIX`): that subnet, refused when a route of the caller's namespace (any table
 * but a default route) or another live claim overlaps it. Without: the first /30 of
 * {@link VETH_POOL} that none overlaps. Needs write access to the state directory.
 * @throws `ERR_NSBOX_NETWORK_IN_USE` (given: routed or claimed already), `ERR_NSBOX_NETWORK_FULL`
 * (no free /30), SysError (`'RTM_GETROUTE'`, the state files).
 */
export async function claimVethSubnet(given?: { childAddress: string; hostAddress: string }): Promise<VethClaim> {
  const dir = vethStateDir();
  const netns = currentNetns();
  return withRunNetLock(async () => {
    const claimed = liveClaims(dir, netns).map(span);
    const all = await routes({ family: 4, table: 'all' });
    let subnet: string | undefined;
    let hostAddress: string;
    let childAddress: string;
    if (given) {
      const [first] = span(given.childAddress);
      const prefix = given.childAddress.split('/')[1]!;
      subnet = `${dotted(first)}/${prefix}`;
      const s = span(subnet);
      const route = await routeOver(s, all);
      if (route !== undefined) throw nsboxError('ERR_NSBOX_NETWORK_IN_USE', `the host routes ${route} already, which overlaps ${subnet}`);
      if (claimed.some((c) => overlaps(c, s)))
        throw nsboxError('ERR_NSBOX_NETWORK_IN_USE', `${subnet} overlaps the subnet of another nsbox run's veth`);
      ({ hostAddress, childAddress } = given);
    } else {
      const [from, end] = span(VETH_POOL);
      const taken = [...claimed, ...all.filter((r) => r.dst !== 'default').map((r) => span(r.dst))];
      for (let n = from; n < end && subnet === undefined; n += 2 ** (32 - POOL_PREFIX)) {
        const s: [number, number] = [n, n + 2 ** (32 - POOL_PREFIX)];
        if (!taken.some((t) => overlaps(t, s))) subnet = `${dotted(n)}/${POOL_PREFIX}`;
      }
      if (subnet === undefined)
        throw nsboxError('ERR_NSBOX_NETWORK_FULL', `every /${POOL_PREFIX} of ${VETH_POOL} is routed or claimed already`);
      const n = span(subnet)[0];
      hostAddress = `${dotted(n + 1)}/${POOL_PREFIX}`;
      childAddress = `${dotted(n + 2)}/${POOL_PREFIX}`;
    }
    const p = paths(dir, subnet);
    const fd = native.lockFile(p.lock);
    if (fd < 0) throw nsboxError('ERR_NSBOX_NETWORK_IN_USE', `${subnet} is claimed by another nsbox run`);
    try {
      writeJson(p.json, { subnet, netns, pid: process.pid } satisfies ClaimRecord);
    } catch (err) {
      rmSync(p.lock, { force: true });
      native.close(fd);
      throw err;
    }
    let held = true;
    return {
      subnet,
      childAddress,
      hostAddress,
      async release() {
        if (!held) return;
        held = false;
        try {
          await withRunNetLock(() => {
            rmSync(p.json, { force: true });
            rmSync(p.lock, { force: true });
          });
        } catch {
          // The next claimant finds the lock file free once fd is closed, and reclaims it.
        } finally {
          native.close(fd);
        }
      },
    };
  });
}
