/**
 * The CLI's networking beyond the veth: outbound NAT for `--net veth`, `--publish`,
 * `--network NAME`, and the `nsbox network` subcommand — all on nsbox's public API. What a
 * run sets up lives as long as nsbox runs: NAT, published ports and the direct-access
 * protection of a `--net veth` sandbox's or a `--network` member's address are nf_tables tables
 * owned by nsbox's netlink socket (the kernel removes them if nsbox is killed), a network
 * membership is a flock nsbox holds (reclaimed by the next command if nsbox is killed).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  SysError,
  createNetwork,
  deleteLink,
  forwardPort,
  isolateAddress,
  link,
  listNetworks,
  masquerade,
  openNamespace,
  openNetwork,
  publishPorts,
  publishedPorts,
  removeNetwork,
  type NatHandle,
  type Namespace,
  type NetworkMember,
  type NsboxChild,
  type PortForwarder,
  type PublishedPort,
  type SpawnOptions,
} from '../index.js';
import { listeningSockets, socketHolder } from '../net/nft/published.js';
import { claimVethSubnet, withRunNetLock, type VethClaim } from '../net/veth-claim.js';
import { runNeedsNetwork, type NetworkArgs, type RunArgs } from './args.js';
import type { PublishArg } from './values.js';

/** A failure of the network setup, already phrased with the flag that caused it. */
export class NetworkSetupError extends Error {}

/** What a run's network setup adds to spawn's options, and how to undo it. */
export interface RunNetwork {
  /** Merged into spawn's options (network, hostname, mounts to append). */
  patch: Pick<SpawnOptions, 'network' | 'hostname'> & { mounts?: NonNullable<SpawnOptions['mounts']> };
  /**
   * `--net none --publish`: starts the userspace forwarders into the command's network
   * namespace, once it exists. @throws NetworkSetupError naming the flag.
   */
  afterSpawn?(child: NsboxChild): Promise<void>;
  /**
   * Removes the NAT and published ports (rules or forwarders) and leaves the network; with the
   * exited `child` of `--net veth`, also its veth's host end if it is still there (the kernel
   * removes it with the child's namespace, but asynchronously: a moment later). Never throws.
   */
  close(child?: NsboxChild): Promise<void>;
}

const message = (err: unknown) => (err as Error)?.message ?? String(err);

/** Deletes the veth host end `name` if it is still the link of that index (never another's that took the name). */
async function removeHostEnd(name: string, index: number): Promise<void> {
  try {
    const l = await link(name);
    if (l.index === index) await deleteLink(l.index);
  } catch {
    // Gone already, with the command's network namespace.
  }
}

/**
 * Sets up --net veth's subnet (a free one claimed for the run, or the one given if nothing
 * routes it), its direct-access protection and NAT (root only; NAT unless --no-nat),
 * --network's membership and the member address's direct-access protection (in by the
 * network's bridge only; replies let in when the network has no NAT), and the --publish
 * rules, before the command is spawned. A failure undoes what was done.
 * @throws NetworkSetupError naming the flag.
 */
export async function setUpRunNetwork(run: RunArgs, euid: number): Promise<RunNetwork | null> {
  const veth = run.net?.mode === 'veth' ? run.net : undefined;
  if (!runNeedsNetwork(run)) return null;
  if (run.net?.mode === 'none' && run.publish.length > 0) return forwarders(run, euid);
  if (!veth && run.network === undefined) return null;
  const handles: Array<NatHandle | PortForwarder> = [];
  let member: NetworkMember | undefined;
  let claim: VethClaim | undefined;
  const close = async (child?: NsboxChild) => {
    await Promise.allSettled(handles.map((h) => h.close()));
    await member?.leave().catch(() => undefined);
    if (veth && child?.veth) await removeHostEnd(child.veth.hostIf, child.veth.hostIndex);
    // Only once the host end (and its route) is gone may another run take the subnet.
    await claim?.release();
  };
  const patch: RunNetwork['patch'] = {};
  try {
    let target: string;
    if (run.network !== undefined) {
      if (euid !== 0)
        throw new NetworkSetupError(
          `--network ${run.network}: needs root (the member's veth is a port of a bridge in the host's network namespace)`,
        );
      const name = run.hostname ?? `nsbox-${randomBytes(3).toString('hex')}`;
      try {
        // join() also adds the address's direct-access protection (isolate, the default),
        // before the member's veth exists: removed by leave(), or by the kernel if nsbox dies.
        member = await (await openNetwork(run.network)).join(name);
      } catch (err) {
        throw new NetworkSetupError(`--network ${run.network}: ${message(err)}`);
      }
      const o = member.spawnOptions();
      patch.network = o.network;
      patch.mounts = o.mounts;
      if (run.namespaces.includes('uts')) patch.hostname = o.hostname;
      target = member.address;
    } else {
      const v = await vethAddresses(veth!, euid);
      claim = v.claim;
      const hostIf = `nsbx${randomBytes(4).toString('hex')}`;
      patch.network = { lo: true, veth: { hostAddress: v.hostAddress, childAddress: v.childAddress, hostIf } };
      target = v.childAddress.split('/')[0]!;
      if (euid === 0) {
        try {
          // Before the veth exists (iifname matches by name): no moment where the LAN reaches it.
          handles.push(await isolateAddress({ address: target, inInterface: hostIf, allowReplies: !run.nat }));
          if (run.nat) handles.push(await masquerade({ subnet: claim!.subnet }));
        } catch (err) {
          throw new NetworkSetupError(`--net veth (outbound NAT and direct-access protection; --no-nat for no NAT): ${message(err)}`);
        }
      }
    }
    if (run.publish.length > 0) {
      if (euid !== 0)
        throw new NetworkSetupError(
          `--publish ${run.publish[0]!.text}: needs root with --net veth (DNAT rules in the host's network namespace); without root, --net none --publish forwards in userspace`,
        );
      handles.push(...(await publish(run, target)));
    }
    return { patch, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The addresses of `--net veth[:ADDR/PREFIX]`: as root, claimed for the run (a free /30 without ADDR/PREFIX). */
async function vethAddresses(
  veth: { childAddress?: string; hostAddress?: string },
  euid: number,
): Promise<{ childAddress: string; hostAddress: string; claim?: VethClaim }> {
  const given = veth.childAddress !== undefined ? { childAddress: veth.childAddress, hostAddress: veth.hostAddress! } : undefined;
  // Without root there is no veth (spawn fails, with the CLI's hint): nothing to claim.
  if (euid !== 0) return given ?? { childAddress: '10.200.0.2/30', hostAddress: '10.200.0.1/30' };
  try {
    const claim = await claimVethSubnet(given);
    return { childAddress: claim.childAddress, hostAddress: claim.hostAddress, claim };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (given && code === 'ERR_NSBOX_NETWORK_IN_USE')
      throw new NetworkSetupError(
        `--net veth:${given.childAddress}: ${message(err)} — give another ADDR/PREFIX, or --net veth for a free one`,
      );
    if (code === 'ERR_NSBOX_NETWORK_FULL') throw new NetworkSetupError(`--net veth: ${message(err)} — give --net veth:ADDR/PREFIX`);
    throw new NetworkSetupError(`--net ${given ? `veth:${given.childAddress}` : 'veth'}: ${message(err)}`);
  }
}

/** 127.0.0.0/8: never reaches a DNAT'd destination (route_localnet is 0, as it should stay). */
const loopback = (a: string | undefined) => a?.startsWith('127.') ?? false;

/** Whether publications on `a` and `b` (undefined: every address) take the same flows. */
const overlap = (a: string | undefined, b: string | undefined) => a === undefined || b === undefined || a === b;

/**
 * Refuses a --publish whose host port and protocol a `nsbox_pub_*` table DNATs already on an
 * overlapping address (every address, or the same one).
 */
function refuseTaken(publish: readonly PublishArg[], taken: readonly PublishedPort[]): void {
  for (const p of publish) {
    const t = taken.find((x) => x.protocol === p.protocol && x.hostPort === p.hostPort && overlap(x.hostAddress, p.hostAddress));
    if (t) {
      const pid = /^nsbox_pub_(\d+)_/.exec(t.table)?.[1];
      throw new NetworkSetupError(
        `--publish ${p.text}: host port ${t.hostAddress ?? '*'}:${t.hostPort}/${t.protocol} is published already, to ${t.target}:${t.targetPort} (table ${t.family} ${t.table}${pid ? `, nsbox process ${pid}` : ''})`,
      );
    }
  }
}

/**
 * Refuses a DNAT'd --publish whose host port a socket of this namespace listens on for IPv4
 * (TCP listening, UDP bound), on an overlapping address: a userspace forwarder's (`--net none
 * --publish`, `-p 127.0.0.1:…` of another run, which no nf_tables table shows) or any
 * program's. The DNAT would take that socket's new flows (as docker-proxy's bind would fail).
 * A `::` socket counts, though it may be IPv6-only (procfs does not say).
 */
function refuseShadowed(dnat: readonly PublishArg[]): void {
  const sockets = listeningSockets();
  for (const p of dnat) {
    const s = sockets.find(
      (x) =>
        x.protocol === p.protocol &&
        x.port === p.hostPort &&
        (x.address === '::' || (!x.address.includes(':') && overlap(x.address === '0.0.0.0' ? undefined : x.address, p.hostAddress))),
    );
    if (s) {
      const h = socketHolder(s.inode);
      throw new NetworkSetupError(
        `--publish ${p.text}: host port ${s.address}:${s.port}/${s.protocol} is in use by a listening socket${h ? ` of process ${h.pid} (${h.comm})` : ''}, a userspace forwarder's or another program's, which its DNAT rule would shadow`,
      );
    }
  }
}

/**
 * The --publish ports to `target`, under the lock that concurrent nsbox runs share, so two
 * never publish the same one: refused when a `nsbox_pub_*` table DNATs the host port and
 * protocol already on an overlapping address (every address, or the same one), or, for a
 * DNAT'd port, when a socket listens on it here (a userspace forwarder's, or another
 * program's). DNAT rules in one owned table; a loopback IP, which DNAT cannot serve, gets a
 * userspace forwarder in our own namespace to `target:PORT` (Docker's userland proxy), whose
 * bind fails on a port in use.
 */
async function publish(run: RunArgs, target: string): Promise<Array<NatHandle | PortForwarder>> {
  const made: Array<NatHandle | PortForwarder> = [];
  const all = run.publish.map((p) => p.text).join(', ');
  try {
    await withRunNetLock(async () => {
      refuseTaken(run.publish, await publishedPorts());
      const dnat = run.publish.filter((p) => !loopback(p.hostAddress));
      refuseShadowed(dnat);
      if (dnat.length > 0) {
        const ports = dnat.map((p) => ({
          hostPort: p.hostPort,
          protocol: p.protocol,
          target,
          targetPort: p.port,
          ...(p.hostAddress !== undefined ? { hostAddress: p.hostAddress } : {}),
        }));
        made.push(await publishPorts({ ports }));
      }
      for (const p of run.publish.filter((x) => loopback(x.hostAddress))) {
        const fw = {
          netns: process.pid,
          protocol: p.protocol,
          hostPort: p.hostPort,
          hostAddress: p.hostAddress!,
          target,
          targetPort: p.port,
        };
        made.push(await forwardPort(fw));
      }
    });
    return made;
  } catch (err) {
    await Promise.allSettled(made.map((h) => h.close()));
    if (err instanceof NetworkSetupError) throw err;
    throw new NetworkSetupError(`--publish ${all}: ${message(err)}`);
  }
}

/**
 * `--net none --publish`: a userspace forwarder per port (root or not) from the host's
 * HOSTPORT to 127.0.0.1:PORT inside the command's own network namespace, started once the
 * command exists; the command sees connections come from 127.0.0.1. As root, under the runs'
 * lock, refused when a `nsbox_pub_*` table DNATs the port already (its rule would take the
 * forwarder's connections); without root nf_tables cannot be read, and only the bind checks.
 */
function forwarders(run: RunArgs, euid: number): RunNetwork {
  const fws: PortForwarder[] = [];
  let ns: Namespace | undefined;
  const close = async () => {
    await Promise.allSettled(fws.map((f) => f.close()));
    ns?.close();
  };
  const start = async (child: NsboxChild) => {
    for (const p of run.publish) {
      try {
        ns ??= await netnsOf(child);
        fws.push(
          await forwardPort({
            netns: ns,
            protocol: p.protocol,
            hostPort: p.hostPort,
            targetPort: p.port,
            ...(p.hostAddress !== undefined ? { hostAddress: p.hostAddress } : {}),
          }),
        );
      } catch (err) {
        throw new NetworkSetupError(`--publish ${p.text}: ${message(err)}`);
      }
    }
  };
  return {
    patch: {},
    close,
    async afterSpawn(child: NsboxChild) {
      try {
        if (euid !== 0) return await start(child);
        await withRunNetLock(async () => {
          refuseTaken(run.publish, await publishedPorts());
          await start(child);
        });
      } catch (err) {
        await close();
        if (err instanceof NetworkSetupError) throw err;
        throw new NetworkSetupError(`--publish ${run.publish.map((p) => p.text).join(', ')}: ${message(err)}`);
      }
    },
  };
}

/**
 * The child's network namespace. nsbox's init makes itself non-dumpable, so without root its
 * /proc/PID/ns files are closed to us (ptrace access mode): then the namespace is the
 * command's, its first child, which is dumpable and whose memory belongs to the user namespace
 * we own. Waits up to a second for the init to have forked it.
 */
async function netnsOf(child: NsboxChild): Promise<Namespace> {
  try {
    return child.namespace('net');
  } catch (err) {
    if ((err as { code?: string }).code !== 'EACCES') throw err;
  }
  for (let i = 0; i < 100; i++) {
    let kids = '';
    try {
      kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
    } catch {
      // gone: the next open says so
    }
    if (kids !== '') return openNamespace('net', { pid: Number(kids.split(/\s+/)[0]) });
    if (!child.running) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return child.namespace('net');
}

/**
 * `nsbox network create|rm|ls`: prints to `out`, a failure as `nsbox: network CMD: <error>`
 * to `err`; returns the exit status (125 on failure).
 */
export async function networkCommand(a: NetworkArgs, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  try {
    return await networkAction(a, out);
  } catch (e) {
    const x = e as Error & { code?: string };
    if (!(e instanceof SysError || x.code?.startsWith('ERR_'))) throw e;
    const hint =
      e instanceof SysError && x.code === 'EPERM' && process.geteuid!() !== 0
        ? " — nsbox network needs root (a bridge and NAT in the host's network namespace)"
        : '';
    err(`nsbox: network ${a.cmd}: ${x.message}${hint}\n`);
    return 125;
  }
}

async function networkAction(a: NetworkArgs, out: (s: string) => void): Promise<number> {
  switch (a.cmd) {
    case 'create': {
      const n = await createNetwork(a.name, { nat: a.nat, ...(a.subnet !== undefined ? { subnet: a.subnet } : {}) });
      out(`${n.name} ${n.subnet} ${n.bridge}${n.natTable ? ` nat:ip/${n.natTable}` : ''}\n`);
      return 0;
    }
    case 'rm':
      await removeNetwork(a.name, { force: a.force });
      return 0;
    case 'ls': {
      const rows = (await listNetworks()).map((n) => [
        n.name,
        n.subnet,
        n.bridge,
        n.natTable ? 'yes' : 'no',
        n.members.map((m) => `${m.name}=${m.address}`).join(',') || '-',
      ]);
      const all = [['NAME', 'SUBNET', 'BRIDGE', 'NAT', 'MEMBERS'], ...rows];
      const w = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
      for (const r of all) out(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]! + 2))).join('')}\n`);
      return 0;
    }
  }
}
