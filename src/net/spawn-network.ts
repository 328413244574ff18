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
import { type Namespace, openNamespace } from '../namespaces/namespace.js';
import { kFd } from '../namespaces/types.js';
import { parseCidr, parseIp, type Cidr } from './ip.js';
import { NL } from './netlink/constants.js';
import { encodeAddress, encodeGetAddresses } from './netlink/address.js';
import { encodeRoute } from './netlink/route.js';
import { hardenHostLinkIpv6, upHardened } from './host-end.js';
import { decodeLink, encodeDelLink, encodeGetLink, encodeNewLink, encodeSetLink, vethEchoIndexes } from './netlink/rtnl.js';
import { toSysError, type RequestInfo } from './netlink/socket.js';
import { attr, decodeError, parseAttrs, splitMessages, type MessageWriter, type NlMessage } from './netlink/wire.js';
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
  /**
   * Interfaces of the caller's network namespace to move into the child's (OCI's
   * `linux.netDevices`), by the parent while the child waits, before the veth: each is set
   * down, moved and renamed to `newName` (default its name) in one RTM_NEWLINK
   * (`IFLA_NET_NS_FD`, so the name never clashes in either namespace), its permanent global
   * addresses — which the kernel drops on a move — added again inside, and set up there, as
   * runc 1.2 moves them. In a container whose spawn has `createRuntime` or `createContainer`
   * hooks, this comes before them (the hooks find the devices inside). A failure fails the
   * spawn (step `'network'`, with `ifname`; `ENODEV` for a missing interface) and moves back
   * what was moved. Later, what was moved goes with the namespace: when it is destroyed the
   * kernel returns physical devices to the initial namespace and deletes virtual ones.
   * Needs CAP_NET_ADMIN over both namespaces (root).
   */
  moveLinks?: SpawnMoveLink[];
}

/** An interface for spawn's `network.moveLinks`. */
export interface SpawnMoveLink {
  /** Its name in the caller's network namespace. */
  name: string;
  /** Its name in the child's. Default: `name`. */
  newName?: string;
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
  move: { host: string; name: string }[];
  veth?: { host?: Cidr; bridge?: string; gateway?: Buffer; child: Cidr; hostIf: string; childIf: string; defaultRoute: boolean };
}

const VETH_KEYS = new Set(['hostAddress', 'childAddress', 'hostIf', 'childIf', 'defaultRoute', 'bridge', 'gateway']);

/** Checks `options.network` (no syscalls); `newNet`: 'net' is in options.namespaces. @internal */
export function checkNetwork(value: unknown, newNet: boolean): CheckedNetwork | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw invalidArgType('options.network', 'an object', value);
  const n = value as SpawnNetworkOptions;
  for (const k of Object.keys(n))
    if (k !== 'lo' && k !== 'veth' && k !== 'moveLinks')
      throw invalidArgValue(`options.network.${k}`, (n as Record<string, unknown>)[k], 'is not a network option');
  if (n.lo !== undefined && typeof n.lo !== 'boolean') throw invalidArgType('options.network.lo', 'of type boolean', n.lo);
  if (!newNet)
    throw invalidArgValue('options.network', value, "needs 'net' in options.namespaces (a network namespace of the child's own)");
  const out: CheckedNetwork = { lo: n.lo ?? true, move: checkMoves(n.moveLinks) };
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

function checkMoves(value: unknown): CheckedNetwork['move'] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidArgType('options.network.moveLinks', 'an array', value);
  const out: CheckedNetwork['move'] = [];
  const hosts = new Set<string>();
  const names = new Set<string>();
  for (const [i, m] of value.entries()) {
    const at = `options.network.moveLinks[${i}]`;
    if (typeof m !== 'object' || m === null) throw invalidArgType(at, 'an object', m);
    for (const k of Object.keys(m))
      if (k !== 'name' && k !== 'newName')
        throw invalidArgValue(`${at}.${k}`, (m as Record<string, unknown>)[k], 'is not a moveLinks option');
    const host = checkIfName(`${at}.name`, (m as SpawnMoveLink).name);
    const newName = (m as SpawnMoveLink).newName;
    const name = newName === undefined ? host : checkIfName(`${at}.newName`, newName);
    if (hosts.has(host)) throw invalidArgValue(`${at}.name`, host, 'is moved twice');
    if (names.has(name)) throw invalidArgValue(`${at}.newName`, name, 'is the new name of another interface too');
    hosts.add(host);
    names.add(name);
    out.push({ host, name });
  }
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
 * Makes and configures the veth of `veth` for the child's network namespace `ns` (the caller
 * keeps and closes the handle): synchronous (spawn's parent is blocked in the network
 * handshake meanwhile). A failure after the pair exists deletes it again.
 */
function setUpVeth(ns: Namespace, veth: NonNullable<CheckedNetwork['veth']>): SpawnVethLink {
  const { host, child, hostIf, childIf, bridge } = veth;
  const af = child.family === 4 ? NL.AF_INET : NL.AF_INET6;
  let hostIndex: IfIndex | undefined;
  try {
    let master: IfIndex | undefined;
    if (bridge !== undefined) {
      const [[br]] = transact(-1, [[encodeGetLink({ name: bridge }), { syscall: 'RTM_GETLINK', ifname: bridge }]]) as [NlMessage[]];
      master = decodeLink(br!).index;
    }
    const peer = { name: childIf, netnsFd: ns[kFd] };
    // Down until hardened (host-end.ts): nothing the child sends reaches the host before.
    const spec = { name: hostIf, kind: 'veth' as const, up: false, peer, ...(master !== undefined ? { master } : {}) };
    // NLM_F_ECHO: the kernel (6.1 and later) answers with the host end's RTM_NEWLINK, which
    // carries its index and, as IFLA_LINK, the peer's: no RTM_GETLINK. A GETLINK of a link
    // made a moment ago is not free: it runs the link's pending linkwatch work at once
    // (linkwatch_sync_dev), and for a veth whose peer is not up yet that deactivates its
    // qdiscs and waits for an RCU grace period (docs/performance.md).
    const [echo] = transact(-1, [[encodeNewLink(spec, true), { syscall: 'RTM_NEWLINK', ifname: hostIf }]]) as [NlMessage[]];
    const ends = vethEchoIndexes(echo);
    let childIndex: IfIndex | undefined;
    if (ends !== undefined) {
      hostIndex = ends.host;
      childIndex = ends.peer;
    } else {
      const [[hostLink]] = transact(-1, [[encodeGetLink({ name: hostIf }), { syscall: 'RTM_GETLINK', ifname: hostIf }]]) as [NlMessage[]];
      hostIndex = decodeLink(hostLink!).index;
    }
    // IPv6's settings by file while it is down; IPv4's with the request before the one that
    // brings it up (host-end.ts).
    hardenHostLinkIpv6(hostIf, af === NL.AF_INET6);
    const hostSide: Request[] = host
      ? [
          [
            encodeAddress(true, { family: af, index: hostIndex, prefix: host.prefix, local: host.bytes }),
            { syscall: 'RTM_NEWADDR', ifname: hostIf },
          ],
        ]
      : [];
    transact(-1, [...hostSide, ...upHardened(hostIndex, hostIf)]);
    if (childIndex === undefined) {
      const [[childLink]] = transact(ns[kFd], [[encodeGetLink({ name: childIf }), { syscall: 'RTM_GETLINK', ifname: childIf }]]) as [
        NlMessage[],
      ];
      childIndex = decodeLink(childLink!).index;
    }
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
  }
}

/** A link moved by {@link moveLinks}: where it came from, to move it back. */
interface Moved {
  host: string;
  name: string;
  /** Up on the host before the move. */
  up: boolean;
  /** Its permanent global addresses there, to add again. */
  addresses: RawAddress[];
}

type RawAddress = ReturnType<typeof rawAddress>;

/** RTM_NEWADDR requests giving `addresses` to the link `index` (named `ifname`). */
function addAddresses(addresses: RawAddress[], index: number, ifname: string): Request[] {
  return addresses.map(
    (a): Request => [
      encodeAddress(true, {
        family: a.family,
        index,
        prefix: a.prefixLength,
        local: a.localBytes!,
        ...(a.broadcastBytes && { broadcast: a.broadcastBytes }),
      }),
      { syscall: 'RTM_NEWADDR', ifname },
    ],
  );
}

/** An RTM_NEWADDR's fields as the kernel sent them (the bytes, to send them back). */
function rawAddress(m: NlMessage): {
  family: number;
  prefixLength: number;
  scope: number;
  flags: number;
  index: number;
  localBytes?: Buffer;
  broadcastBytes?: Buffer;
} {
  const b = m.body;
  const a = parseAttrs(b, NL.SIZEOF_IFADDRMSG, m.offset);
  const local = a.get(NL.IFA_LOCAL) ?? a.get(NL.IFA_ADDRESS);
  const brd = a.get(NL.IFA_BROADCAST);
  return {
    family: b[0]!,
    prefixLength: b[1]!,
    scope: b[3]!,
    flags: attr.u32(a, NL.IFA_FLAGS) ?? b[2]!,
    index: b.readUInt32LE(4),
    ...(local && { localBytes: Buffer.from(local) }),
    ...(brd && { broadcastBytes: Buffer.from(brd) }),
  };
}

/**
 * Moves each of `moves` into the network namespace `ns` (an nsfs fd), recording each in
 * `moved` as soon as it is there; synchronous, as setUpVeth.
 */
function moveLinks(ns: number, moves: CheckedNetwork['move'], moved: Moved[]): void {
  for (const { host, name } of moves) {
    const info = { ifname: host };
    const [[l]] = transact(-1, [[encodeGetLink({ name: host }), { syscall: 'RTM_GETLINK', ...info }]]) as [NlMessage[]];
    const { index, up } = decodeLink(l!);
    const [, dump] = transact(-1, [
      [encodeSetLink({ index, up: false }), { syscall: 'RTM_NEWLINK', ...info }],
      [encodeGetAddresses(), { syscall: 'RTM_GETADDR', ...info }],
    ]) as [NlMessage[], NlMessage[]];
    const keep = dump
      .filter((m) => m.type === NL.RTM_NEWADDR)
      .map(rawAddress)
      .filter((a) => a.index === index && (a.flags & NL.IFA_F_PERMANENT!) !== 0 && a.scope === 0 && a.localBytes !== undefined);
    transact(-1, [[encodeSetLink({ index, netnsFd: ns, name }), { syscall: 'RTM_NEWLINK', ...info }]]);
    moved.push({ host, name, up, addresses: keep });
    const [[inside]] = transact(ns, [[encodeGetLink({ name }), { syscall: 'RTM_GETLINK', ifname: name }]]) as [NlMessage[]];
    const at = decodeLink(inside!).index;
    transact(ns, [...addAddresses(keep, at, name), [encodeSetLink({ index: at, up: true }), { syscall: 'RTM_NEWLINK', ifname: name }]]);
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

  /** True when the child must wait for the parent (a veth to make, links to move). */
  get parentSide(): boolean {
    return this.#checked.veth !== undefined || this.#checked.move.length > 0;
  }

  /** True when links are moved in (the step then goes before a container's hooks). */
  get moves(): boolean {
    return this.#checked.move.length > 0;
  }

  readonly #moved: Moved[] = [];
  #ns: Namespace | undefined;

  /**
   * After a failed spawn: deletes the veth made for it, now (the kernel would, once the dead
   * child's namespace is cleaned up, a moment later).
   */
  undo(): void {
    this.#moveBack();
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

  /**
   * Once the spawn is over: lets go of the child's namespace (held until then so that a
   * failure after the step can still move the links back).
   */
  release(): void {
    this.#ns?.close();
    this.#ns = undefined;
  }

  /** Moves back what was moved in, to its old name (best effort: the namespace may be gone). */
  #moveBack(): void {
    const ns = this.#ns;
    this.#ns = undefined;
    if (!ns) return;
    try {
      if (this.#moved.length === 0) return;
      const self = openNamespace('net', { pid: process.pid });
      try {
        for (const m of this.#moved.splice(0).reverse()) {
          try {
            const [[l]] = transact(ns[kFd], [[encodeGetLink({ name: m.name }), { syscall: 'RTM_GETLINK', ifname: m.name }]]) as [
              NlMessage[],
            ];
            const index = decodeLink(l!).index;
            transact(ns[kFd], [
              [encodeSetLink({ index, up: false, netnsFd: self[kFd], name: m.host }), { syscall: 'RTM_NEWLINK', ifname: m.name }],
            ]);
            // Back as it was: its addresses (the move dropped them) and its state.
            const [[back]] = transact(-1, [[encodeGetLink({ name: m.host }), { syscall: 'RTM_GETLINK', ifname: m.host }]]) as [NlMessage[]];
            const at = decodeLink(back!).index;
            transact(-1, [
              ...addAddresses(m.addresses, at, m.host),
              ...(m.up ? [[encodeSetLink({ index: at, up: true }), { syscall: 'RTM_NEWLINK', ifname: m.host }] as Request] : []),
            ]);
          } catch {
            // Gone with the namespace: the kernel returned it (physical) or deleted it (virtual).
          }
        }
      } finally {
        self.close();
      }
    } catch {
      // No handle on our own namespace: the kernel's clean-up stands.
    } finally {
      ns.close();
    }
  }

  /** Called by the native spawn with the waiting process's pid; returns 0 or a positive errno. */
  readonly hook = (pid: number): number => {
    try {
      // One handle on the child's namespace for both; kept until release() (or undo()), so
      // that a later failure can still move the links back.
      this.#ns = openNamespace('net', { pid });
      moveLinks(this.#ns[kFd], this.#checked.move, this.#moved);
      if (this.#checked.veth) this.veth = setUpVeth(this.#ns, this.#checked.veth);
      return 0;
    } catch (err) {
      this.error = err as Error;
      return err instanceof SysError ? -err.errno : 125;
    }
  };
}
