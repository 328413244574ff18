/**
 * spawn's `network` option: the new network namespace of the child, made in the child's own
 * user namespace (so the command holds CAP_NET_ADMIN/CAP_NET_RAW over it, and a fresh sysfs
 * shows it), is configured while the child waits at its network step: `lo` up by the child
 * itself, then a veth pair made by the parent from outside, its peer created directly in the
 * child's namespace (IFLA_NET_NS_FD), addresses, links up and a default route set through
 * a netlink socket made inside that namespace on a dedicated native thread. The command runs
 * only once this is done; a failure undoes it (the veth is deleted) and fails the spawn.
 * @internal
 * @module
 */
import { SysError, invalidArgType, invalidArgValue, type SysErrorContext } from '../errors.js';
import { native } from '../native.js';
import { openNamespace } from '../namespaces/namespace.js';
import { kFd } from '../namespaces/types.js';
import { parseCidr, parseIp, type Cidr } from './ip.js';
import { NL } from './netlink/constants.js';
import { encodeAddress } from './netlink/address.js';
import { encodeRoute } from './netlink/route.js';
import { decodeLink, encodeDelLink, encodeGetLink, encodeNewLink, encodeSetLink } from './netlink/rtnl.js';
import { toSysError, type RequestInfo } from './netlink/socket.js';
import { decodeError, splitMessages, type MessageWriter, type NlMessage } from './netlink/wire.js';
import { checkIfName } from './target.js';
import type { IfIndex } from './types.js';

/** A veth pair between the caller's network namespace and the child's (spawn's `network.veth`). */
export interface SpawnVethOptions {
  /**
   * The host end's address, `ADDR/PREFIX` (e.g. `'10.200.0.1/30'`). Required without
   * `bridge`; not allowed with it (the host end of a bridge port has no address).
   */
  hostAddress?: string;
  /**
   * Enslave the host end to this existing bridge of the caller's network namespace instead of
   * giving it an address (`ip link add H master BR type veth peer …`): the child joins the
   * bridge's segment, as a container joins a Docker network. See `gateway`.
   */
  bridge?: string;
  /** With `bridge`: the default route inside goes via this address (usually the bridge's). */
  gateway?: string;
  /** The inner end's address, `ADDR/PREFIX`, of the family of `hostAddress`. */
  childAddress: string;
  /** The host end's name; default `nsbx` + 8 random hex digits. */
  hostIf?: string;
  /** The inner end's name; default `eth0`. */
  childIf?: string;
  /** A default route inside via the host end's address (with `bridge`: via `gateway`, when given). Default true. */
  defaultRoute?: boolean;
}

/**
 * spawn's `network` option: how the child's new network namespace is set up before the
 * command runs. Needs `'net'` in `namespaces`.
 */
export interface SpawnNetworkOptions {
  /**
   * Bring `lo` up (`ip link set lo up`), done by the child itself: no privileges outside
   * needed. Default true. With `lo` down Linux delivers no packet to the namespace's own
   * addresses, not even one that came in on the veth: leave it on with `veth`.
   */
  lo?: boolean;
  /**
   * A veth pair to the caller's network namespace, made by the parent while the child waits
   * (`ip link add H type veth peer name eth0 netns PID`, addresses, links up, default route).
   * Needs CAP_NET_ADMIN in the caller's network namespace (root). The host end goes away
   * with the child's network namespace, when the command and everything in it has exited.
   */
  veth?: SpawnVethOptions;
}

/** What spawn made for `network.veth`: the two ends' names and indexes. */
export interface SpawnVethLink {
  /** The host end's name, in the caller's network namespace. */
  hostIf: string;
  /** The host end's index there. */
  hostIndex: IfIndex;
  /** The inner end's name, in the child's network namespace. */
  childIf: string;
  /** The inner end's index there. */
  childIndex: IfIndex;
}

/** Validated `network`. @internal */
export interface CheckedNetwork {
  lo: boolean;
  veth?: { host?: Cidr; bridge?: string; gateway?: Buffer; child: Cidr; hostIf: string; childIf: string; defaultRoute: boolean };
}

const VETH_KEYS = new Set(['hostAddress', 'childAddress', 'hostIf', 'childIf', 'defaultRoute', 'bridge', 'gateway']);

/** Checks `options.network` (no syscalls); `newNet`: 'net' is in options.namespaces. @internal */
export function checkNetwork(value: unknown, newNet: boolean): CheckedNetwork | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw invalidArgType('options.network', 'an object', value);
  const n = value as SpawnNetworkOptions;
  for (const k of Object.keys(n))
    if (k !== 'lo' && k !== 'veth')
      throw invalidArgValue(`options.network.${k}`, (n as Record<string, unknown>)[k], 'is not a network option');
  if (n.lo !== undefined && typeof n.lo !== 'boolean') throw invalidArgType('options.network.lo', 'of type boolean', n.lo);
  if (!newNet)
    throw invalidArgValue('options.network', value, "needs 'net' in options.namespaces (a network namespace of the child's own)");
  const out: CheckedNetwork = { lo: n.lo ?? true };
  if (n.veth === undefined) return out;
  const v = n.veth;
  if (typeof v !== 'object' || v === null) throw invalidArgType('options.network.veth', 'an object', v);
  for (const k of Object.keys(v))
    if (!VETH_KEYS.has(k))
      throw invalidArgValue(`options.network.veth.${k}`, (v as unknown as Record<string, unknown>)[k], 'is not a veth option');
  const child = parseCidr('options.network.veth.childAddress', v.childAddress);
  let host: Cidr | undefined;
  let bridge: string | undefined;
  let gateway: Buffer | undefined;
  if (v.bridge !== undefined) {
    bridge = checkIfName('options.network.veth.bridge', v.bridge);
    if (v.hostAddress !== undefined)
      throw invalidArgValue('options.network.veth.hostAddress', v.hostAddress, 'is not allowed with bridge (a bridge port has no address)');
    if (v.gateway !== undefined) {
      const g = parseIp('options.network.veth.gateway', v.gateway);
      if (g.family !== child.family)
        throw invalidArgValue('options.network.veth.gateway', v.gateway, 'must be of the family of childAddress');
      gateway = g.bytes;
    }
  } else {
    if (v.gateway !== undefined)
      throw invalidArgValue('options.network.veth.gateway', v.gateway, 'needs bridge (without it the route goes via hostAddress)');
    host = parseCidr('options.network.veth.hostAddress', v.hostAddress);
    if (host.family !== child.family)
      throw invalidArgValue('options.network.veth.childAddress', v.childAddress, 'must be of the family of hostAddress');
  }
  if (v.defaultRoute !== undefined && typeof v.defaultRoute !== 'boolean')
    throw invalidArgType('options.network.veth.defaultRoute', 'of type boolean', v.defaultRoute);
  const hostIf =
    v.hostIf === undefined
      ? `nsbx${Math.floor(Math.random() * 2 ** 32)
          .toString(16)
          .padStart(8, '0')}`
      : checkIfName('options.network.veth.hostIf', v.hostIf);
  const childIf = v.childIf === undefined ? 'eth0' : checkIfName('options.network.veth.childIf', v.childIf);
  out.veth = { child, hostIf, childIf, defaultRoute: v.defaultRoute ?? true };
  if (host) out.veth.host = host;
  if (bridge !== undefined) out.veth.bridge = bridge;
  if (gateway) out.veth.gateway = gateway;
  return out;
}

type Request = readonly [MessageWriter, RequestInfo];

/**
 * Sends `requests` in order on one socket in the namespace of `nsfd` (-1: ours) and returns
 * each one's reply messages; the first refusal is thrown as a SysError.
 */
function transact(nsfd: number, requests: readonly Request[]): NlMessage[][] {
  const answers = native.netlinkTransact(
    nsfd,
    requests.map(([m]) => m.finish(0, 0)),
  );
  return answers.map((buf, i) => {
    const msgs = splitMessages(buf);
    const ack = msgs.find((m) => m.type === NL.NLMSG_ERROR);
    if (ack) {
      const e = decodeError(ack);
      if (e.error !== 0) throw toSysError(e, requests[i]![1]);
    }
    return msgs.filter((m) => m.type !== NL.NLMSG_ERROR);
  });
}

/**
 * Makes and configures the veth of `veth` for the network namespace of process `pid`:
 * synchronous (spawn's parent is blocked in the network handshake meanwhile). A failure
 * after the pair exists deletes it again.
 */
function setUpVeth(pid: number, veth: NonNullable<CheckedNetwork['veth']>): SpawnVethLink {
  const { host, child, hostIf, childIf, bridge } = veth;
  const af = child.family === 4 ? NL.AF_INET : NL.AF_INET6;
  const ns = openNamespace('net', { pid });
  let hostIndex: IfIndex | undefined;
  try {
    let master: IfIndex | undefined;
    if (bridge !== undefined) {
      const [[br]] = transact(-1, [[encodeGetLink({ name: bridge }), { syscall: 'RTM_GETLINK', ifname: bridge }]]) as [NlMessage[]];
      master = decodeLink(br!).index;
    }
    const peer = { name: childIf, netnsFd: ns[kFd] };
    const spec = { name: hostIf, kind: 'veth' as const, up: true, peer, ...(master !== undefined ? { master } : {}) };
    const [, [hostLink]] = transact(-1, [
      [encodeNewLink(spec), { syscall: 'RTM_NEWLINK', ifname: hostIf }],
      [encodeGetLink({ name: hostIf }), { syscall: 'RTM_GETLINK', ifname: hostIf }],
    ]) as [NlMessage[], NlMessage[]];
    hostIndex = decodeLink(hostLink!).index;
    if (host)
      transact(-1, [
        [
          encodeAddress(true, { family: af, index: hostIndex, prefix: host.prefix, local: host.bytes }),
          { syscall: 'RTM_NEWADDR', ifname: hostIf },
        ],
      ]);
    const [[childLink]] = transact(ns[kFd], [[encodeGetLink({ name: childIf }), { syscall: 'RTM_GETLINK', ifname: childIf }]]) as [
      NlMessage[],
    ];
    const childIndex = decodeLink(childLink!).index;
    // lo is the child's to bring up (network.lo), before it asked for this.
    const inside: Request[] = [
      [encodeSetLink({ index: childIndex, up: true }), { syscall: 'RTM_NEWLINK', ifname: childIf }],
      [
        encodeAddress(true, { family: af, index: childIndex, prefix: child.prefix, local: child.bytes }),
        { syscall: 'RTM_NEWADDR', ifname: childIf },
      ],
    ];
    const via = host?.bytes ?? veth.gateway;
    if (veth.defaultRoute && via)
      inside.push([
        encodeRoute('add', { family: af, dstLen: 0, gateway: via, table: NL.RT_TABLE_MAIN }),
        { syscall: 'RTM_NEWROUTE', ifname: childIf },
      ]);
    transact(ns[kFd], inside);
    return { hostIf, hostIndex, childIf, childIndex };
  } catch (err) {
    if (hostIndex !== undefined) {
      try {
        transact(-1, [[encodeDelLink(hostIndex), { syscall: 'RTM_DELLINK', ifname: hostIf }]]);
      } catch {
        // Gone already: it goes with the child's namespace, which dies with the child.
      }
    }
    throw err;
  } finally {
    ns.close();
  }
}

/** The parent's side of the network step, for one spawn: its hook and what it made or met. @internal */
export class NetworkSetup {
  /** The failure to report instead of the bare step error, if any. */
  error: Error | undefined;
  /** The veth made, once made. */
  veth: SpawnVethLink | undefined;
  readonly #checked: CheckedNetwork;

  constructor(checked: CheckedNetwork) {
    this.#checked = checked;
  }

  /** The child brings lo up. */
  get lo(): boolean {
    return this.#checked.lo;
  }

  /** True when the child must wait for the parent (a veth to make). */
  get parentSide(): boolean {
    return this.#checked.veth !== undefined;
  }

  /**
   * After a failed spawn: deletes the veth made for it, now (the kernel would, once the dead
   * child's namespace is cleaned up, a moment later).
   */
  undo(): void {
    const v = this.veth;
    this.veth = undefined;
    if (!v) return;
    try {
      transact(-1, [[encodeDelLink(v.hostIndex), { syscall: 'RTM_DELLINK', ifname: v.hostIf }]]);
    } catch {
      // Already gone with the namespace.
    }
  }

  /** The error spawn throws for a failed network step: the request's, with `step` and `pid`. */
  failure(pid: number): Error {
    const e = this.error;
    if (!(e instanceof SysError)) return e!;
    const ctx: SysErrorContext = { step: 'network', pid };
    if (e.ifname !== undefined) ctx.ifname = e.ifname;
    if (e.kernelMessage !== undefined) ctx.kernelMessage = e.kernelMessage;
    if (e.path !== undefined) ctx.path = e.path;
    if (e.code === 'EPERM' && e.syscall === 'RTM_NEWLINK' && process.geteuid!() !== 0)
      ctx.hint = "a veth's host end needs CAP_NET_ADMIN in the caller's network namespace (root); lo alone needs nothing";
    return new SysError(e.errno, e.syscall, ctx);
  }

  /** Called by the native spawn with the waiting process's pid; returns 0 or a positive errno. */
  readonly hook = (pid: number): number => {
    try {
      this.veth = setUpVeth(pid, this.#checked.veth!);
      return 0;
    } catch (err) {
      this.error = err as Error;
      return err instanceof SysError ? -err.errno : 125;
    }
  };
}
