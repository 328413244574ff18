/**
 * Wiring a namespace to the host in one call: a veth pair whose far end is created directly
 * inside the namespace, addresses on both ends, both up, lo up, a default route inside.
 * @module
 */
import { SysError, invalidArgType, invalidArgValue, nsboxError } from '../errors.js';
import { Namespace, adoptMadeNetns } from '../namespaces/namespace.js';
import { native } from '../native.js';
import { NL } from './netlink/constants.js';
import { encodeAddress } from './netlink/address.js';
import { HOST_RTNL, exchange, prepareExchange, readAnswers, type ExchangeRequest } from './netlink/exchange.js';
import { encodeRoute } from './netlink/route.js';
import { hardenHostLinkIpv6, hostIpv6Writes, upHardened } from './host-end.js';
import { decodeLink, encodeDelLink, encodeGetLink, encodeNewLink, encodeSetLink, vethEchoIndexes } from './netlink/rtnl.js';
import { parseCidr, parseIp } from './ip.js';
import { checkIfName, holdNetns, withRtnl } from './target.js';
import type { IfIndex, NetnsTarget } from './types.js';

/** The loopback device's index in every network namespace (LOOPBACK_IFINDEX). */
const LOOPBACK_IFINDEX = 1;

/**
 * Brings `lo` up in a namespace (a new one has it down). Replaces `ip -n NS link set lo up`.
 * Needs CAP_NET_ADMIN there.
 * @throws SysError (syscall `'RTM_NEWLINK'`, `ifname` `'lo'`).
 */
export async function loUp(netns?: NetnsTarget): Promise<void> {
  await withRtnl(
    netns,
    async (s) => {
      await s.request(encodeSetLink({ index: LOOPBACK_IFINDEX, up: true }), { syscall: 'RTM_NEWLINK', ifname: 'lo' });
    },
    'netns',
  );
}

/** Options of {@link connectToHost}. */
export interface ConnectOptions {
  /** The host end's name; default `nsbx` + 8 random hex digits. */
  hostIf?: string;
  /** The name of the end inside; default `eth0`. */
  childIf?: string;
  /** The host end's address, `ADDR/PREFIX` (e.g. `'10.200.0.1/30'`); the default route inside goes via ADDR. */
  hostAddress: string;
  /** The inner end's address, `ADDR/PREFIX`, same family as `hostAddress`. */
  childAddress: string;
}

/** What {@link connectToHost} made. */
export interface HostConnection {
  /** The host end's name (in the caller's namespace). */
  hostIf: string;
  /** The host end's index. */
  hostIndex: IfIndex;
  /** The inner end's name (in the target namespace). */
  childIf: string;
  /** The inner end's index, in the target namespace. */
  childIndex: IfIndex;
}

/** What `connectToHost('new', …)` made: the connection and the new namespace, the caller's to close. */
export interface NewHostConnection extends HostConnection {
  /** The network namespace made for this connection (close it to remove it, both veth ends with it). */
  netns: Namespace;
}

/** The namespace of a spawned child (by its pid) or of a handle. */
function targetNetns(target: unknown): NetnsTarget {
  if (target instanceof Namespace) return target;
  if (target !== null && typeof target === 'object' && typeof (target as { pid?: unknown }).pid === 'number')
    return (target as { pid: number }).pid;
  throw invalidArgType('target', 'a Namespace or an object with a pid', target);
}

/** The veth's two names: a random host-side name unless given, `eth0` inside unless given. */
function vethNames(o: { hostIf?: unknown; childIf?: unknown }): { hostIf: string; childIf: string } {
  const hostIf =
    o.hostIf === undefined
      ? `nsbx${Math.floor(Math.random() * 2 ** 32)
          .toString(16)
          .padStart(8, '0')}`
      : checkIfName('options.hostIf', o.hostIf);
  const childIf = o.childIf === undefined ? 'eth0' : checkIfName('options.childIf', o.childIf);
  return { hostIf, childIf };
}

/**
 * `connectToHost('new', options)`: makes a new network namespace and connects it to the
 * caller's as described below, in one trip to nsbox's thread kept for network namespace work
 * (`createNamespace('net')` and `connectToHost(ns, options)` in one call, the fastest way to
 * this end state). Resolves with the connection and the namespace as `netns`, yours to close
 * (the namespace goes with its last reference, both veth ends with it). Needs CAP_SYS_ADMIN
 * (for the namespace) and CAP_NET_ADMIN; blocks the calling thread for the kernel's work
 * (~1 ms).
 * @throws as the other form; SysError `EPERM` (syscall `'unshare'`) when the namespace cannot
 * be made; a failure after it closes the namespace (and deletes the host end if it was made).
 */
export function connectToHost(target: 'new', options: ConnectOptions): Promise<NewHostConnection>;
/**
 * Connects a process's (or a handle's) network namespace to the caller's with a veth pair:
 * the inner end is created directly inside (no move), both ends get their address and come
 * up, `lo` comes up inside, and a default route inside goes via the host address. Replaces
 * `ip link add H type veth peer name C netns NS; ip addr add …; ip link set H up;
 * ip -n NS addr add …; ip -n NS link set C up; ip -n NS link set lo up;
 * ip -n NS route add default via HOSTADDR`. Removing the namespace (or `deleteLink(hostIf)`)
 * removes both ends.
 *
 * Needs CAP_NET_ADMIN in both namespaces. Three sendto(2) calls on two rtnetlink sockets
 * (the veth; the host address; the four requests inside as one datagram), each answered by
 * the kernel before sendto returns and read back at once on the calling thread: no event-loop
 * turn, no thread waits (an answer not queued yet would be waited for at most 1 s, then
 * `ETIMEDOUT`; rtnetlink never leaves one behind). The host-side socket is kept for the next
 * call: after the first call the environment holds one NETLINK_ROUTE socket, never polled,
 * in no multicast group (it never keeps the process alive and is closed when the
 * environment ends: exit, worker termination). The socket inside is the one
 * `createNamespace('net')` made with the namespace when it is still there; otherwise it is
 * made on a dedicated thread that enters the namespace (the calling thread never does).
 * With `'new'` as the target it makes the namespace too — `createNamespace('net')` and this
 * call in one: the namespace, a socket inside it and every request are made on nsbox's
 * thread kept for network namespace work, in one trip from the calling thread (the thread
 * goes back into the caller's namespace after; the calling thread never leaves it), as one C
 * program would do them; the result carries the handle as `netns`. The fastest way to a
 * fresh namespace wired to the host (docs/performance.md).
 * @param target - a child (anything with a `pid`), a network namespace handle, or `'new'`.
 * @throws validation errors before any request; SysError (`ifname`, `kernelMessage`) from
 * the step that failed (`'RTM_NEWLINK'`, `'RTM_NEWADDR'`, `'RTM_NEWROUTE'`); a failure after
 * the veth was made deletes it. With `'new'`, SysError `EPERM` (syscall `'unshare'`) when the
 * namespace cannot be made, as createNamespace's; a failure after closes the new namespace.
 */
export function connectToHost(target: { readonly pid: number } | Namespace, options: ConnectOptions): Promise<HostConnection>;
export async function connectToHost(
  target: { readonly pid: number } | Namespace | 'new',
  options: ConnectOptions,
): Promise<HostConnection | NewHostConnection> {
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  const netns = target === 'new' ? undefined : targetNetns(target);
  const host = parseCidr('options.hostAddress', options.hostAddress);
  const child = parseCidr('options.childAddress', options.childAddress);
  if (host.family !== child.family)
    throw invalidArgValue('options.childAddress', options.childAddress, 'must be of the family of hostAddress');
  const { hostIf, childIf } = vethNames(options);
  const af = host.family === 4 ? NL.AF_INET : NL.AF_INET6;

  // The host end is made down and hardened (host-end.ts) before it comes up: up with its
  // address. Then inside, as one datagram: lo up, the inner end up (it was created
  // up; this is a no-op kept for a peer the kernel made down), its address, the default route
  // (after the address, so the gateway is reachable when the kernel handles it). Each exchange
  // is one sendto(2), its answers read at once: rtnetlink has handled the requests before
  // sendto returns. The first refusal, in this order, is thrown.
  const ipv6 = af === NL.AF_INET6;
  const hostRequests = (hostIndex: IfIndex): ExchangeRequest[] => [
    [
      encodeAddress(true, { family: af, index: hostIndex, prefix: host.prefix, local: host.bytes }),
      { syscall: 'RTM_NEWADDR', ifname: hostIf },
    ],
  ];
  const insideRequests = (childIndex: IfIndex): ExchangeRequest[] => [
    [encodeSetLink({ index: LOOPBACK_IFINDEX, up: true }), { syscall: 'RTM_NEWLINK', ifname: 'lo' }],
    [encodeSetLink({ index: childIndex, up: true }), { syscall: 'RTM_NEWLINK', ifname: childIf }],
    [
      encodeAddress(true, { family: af, index: childIndex, prefix: child.prefix, local: child.bytes }),
      { syscall: 'RTM_NEWADDR', ifname: childIf },
    ],
    [
      encodeRoute('add', { family: af, dstLen: 0, gateway: host.bytes, table: NL.RT_TABLE_MAIN }),
      { syscall: 'RTM_NEWROUTE', ifname: childIf },
    ],
  ];
  if (netns === undefined) return connectNew(hostIf, childIf, ipv6, hostRequests, insideRequests);
  return withVeth(netns, hostIf, childIf, ipv6, noMaster, ({ inner, hostIndex, childIndex }) => {
    exchange(HOST_RTNL, [...hostRequests(hostIndex), ...upHardened(hostIndex, hostIf)]);
    exchange(inner, insideRequests(childIndex));
    return { hostIf, hostIndex, childIf, childIndex };
  });
}

/**
 * Where an interface index sits in an RTM_NEWLINK/RTM_NEWADDR request: after the 16-byte
 * nlmsghdr, ifinfomsg's family, pad and type (u8, u8, u16) or ifaddrmsg's family, prefix
 * length, flags and scope (four u8): `ifi_index`/`ifa_index` at byte 20 either way.
 */
const INDEX_AT = 20;
/** Which of connectToHost's requests inside name the inner end by index (its up, its address). */
const CHILD_INDEXED = [false, true, true, false];

/**
 * connectToHost('new', …): one native call (csrc/ns_make.cc nsMakeConnected) makes the
 * namespace and a socket in it on the kept thread and, in the same trip, sends the veth (its
 * peer's IFLA_NET_NS_FD written in there, the host end down), writes the host end's IPv6
 * sysctls from the caller's namespace, then sends the host address, its IPv4 settings and up,
 * and the requests inside, with the indexes from the veth's echo written into them. Every message is built here and every
 * answer read here, by exchange()'s own halves. A kernel without the echo (before 6.1) stops
 * it after the veth: the rest goes as withVeth does it, after two lookups.
 */
function connectNew(
  hostIf: string,
  childIf: string,
  ipv6: boolean,
  hostRequests: (i: IfIndex) => ExchangeRequest[],
  insideRequests: (i: IfIndex) => ExchangeRequest[],
): NewHostConnection {
  const at: { netnsFd?: number } = {};
  const veth: ExchangeRequest[] = [
    [
      // Down until hardened, right after this trip (IPv6 turned off on a link that is up
      // would tear down what it made meanwhile: dearer than bringing it up later).
      encodeNewLink({ name: hostIf, kind: 'veth', up: false, peer: { name: childIf, netnsFd: -1 } }, true, at),
      { syscall: 'RTM_NEWLINK', ifname: hostIf },
    ],
  ];
  // The host end's requests (its address, then its IPv4 settings and up), sent once its IPv6
  // sysctls are written, in the same trip: the thread goes home to write them.
  const hostReqs = [...hostRequests(0 as IfIndex), ...upHardened(0 as IfIndex, hostIf)];
  const insideReqs = insideRequests(0 as IfIndex);
  const writes = hostIpv6Writes(hostIf, ipv6);
  const s0 = prepareExchange(veth);
  const s1 = prepareExchange(hostReqs);
  const s2 = prepareExchange(insideReqs);
  const patches = [0, at.netnsFd!, 2];
  for (let k = 0, off = 0; k < hostReqs.length; off += s1.sizes[k]!, k++) patches.push(1, off + INDEX_AT, 0);
  for (let k = 0, off = 0; k < insideReqs.length; off += s2.sizes[k]!, k++) if (CHILD_INDEXED[k]) patches.push(2, off + INDEX_AT, 1);
  const [fd, sock, dev, ino, done, hostIndex, childIndex, errno, syscall, a0, a1, a2, writeFailed] = native.nsMakeConnected(
    [s0.datagram, false, s1.datagram, false, s2.datagram, true],
    new Uint32Array(patches),
    writes.flat(),
  );
  const ns = adoptMadeNetns(fd, dev, ino);
  let made = false;
  try {
    if (sock < 0) {
      // Every request answered: the host end was hardened and brought up in the trip.
      return { hostIf, hostIndex: hostIndex as IfIndex, childIf, childIndex: childIndex as IfIndex, netns: ns };
    }
    if (done >= 1) {
      readAnswers(veth, s0.seqs, a0);
      made = true;
    }
    if (done === 1 && errno === 0 && hostIndex === 0) {
      // No echo: look the two ends up and send the rest from here.
      const hi = linkIndex(HOST_RTNL, hostIf);
      const ci = linkIndex(sock, childIf);
      hardenHostLinkIpv6(hostIf, ipv6);
      exchange(HOST_RTNL, [...hostRequests(hi), ...upHardened(hi, hostIf)]);
      exchange(sock, insideRequests(ci));
      return { hostIf, hostIndex: hi, childIf, childIndex: ci, netns: ns };
    }
    if (done >= 2) readAnswers(hostReqs, s1.seqs, a1);
    if (done >= 3) readAnswers(insideReqs, s2.seqs, a2);
    if (errno !== 0)
      throw new SysError(errno, syscall ?? 'sendto', writeFailed >= 0 ? { path: writes[writeFailed]![0] } : { ifname: hostIf });
    throw nsboxError('ERR_NSBOX_NETLINK_DECODE', `connectToHost: no refusal found in the answers to step ${done}`);
  } catch (err) {
    if (made) deleteQuietly(hostIf, hostIndex > 0 ? (hostIndex as IfIndex) : undefined);
    ns.close();
    throw err;
  } finally {
    if (sock >= 0) native.close(sock);
  }
}

const noMaster = (): undefined => undefined;

/** The veth's indexes and a socket inside the target, for what follows its creation. */
interface Veth {
  /** A NETLINK_ROUTE socket fd in the target's namespace (withVeth closes it). */
  inner: number;
  hostIndex: IfIndex;
  childIndex: IfIndex;
}

/** The index of the link `name` on the rtnetlink socket `fd` (RTM_GETLINK by name). */
function linkIndex(fd: number, name: string): IfIndex {
  const [m] = exchange(fd, [[encodeGetLink({ name }), { syscall: 'RTM_GETLINK', ifname: name }]])[0]!;
  if (!m || m.type !== NL.RTM_NEWLINK) throw nsboxError('ERR_NSBOX_NETLINK_DECODE', `RTM_GETLINK for '${name}' got no link`);
  return decodeLink(m).index;
}

/**
 * Opens a socket in the target's namespace (or takes the one createNamespace('net') made with
 * it), asks `master` for the host end's bridge (if any), makes the veth on the environment's
 * host-side socket with its peer created directly inside the target and learns both indexes,
 * then runs `then`. Synchronous: every request is answered inside its sendto(2) (see
 * exchange). A failure after the veth exists deletes it again; the target's socket and the
 * held namespace are released whatever happens (the host socket stays for the next call).
 */
function withVeth<T>(
  netns: NetnsTarget,
  hostIf: string,
  childIf: string,
  ipv6: boolean,
  master: () => IfIndex | undefined,
  then: (v: Veth) => T,
): T {
  const held = holdNetns('target', netns);
  let inner = -1;
  let created = false;
  let hostIndex: IfIndex | undefined;
  try {
    // The socket createNamespace('net') opened with the namespace, if it is still there: no
    // thread trip into the namespace for this one.
    inner = held.made?.() ?? -1;
    if (inner < 0) inner = native.netlinkSocketIn(held.fd);
    const masterIndex = master();
    // NLM_F_ECHO: the kernel answers RTM_NEWLINK with the host end's RTM_NEWLINK, which
    // carries its index and, as IFLA_LINK, the peer's (veth_get_iflink): no lookup. A kernel
    // that does not echo (before 6.1) gets the lookups.
    const spec = {
      name: hostIf,
      kind: 'veth' as const,
      up: false, // until hardened (below): `then` brings it up
      peer: { name: childIf, netnsFd: held.fd },
      ...(masterIndex !== undefined ? { master: masterIndex } : {}),
    };
    const [echo] = exchange(HOST_RTNL, [[encodeNewLink(spec, true), { syscall: 'RTM_NEWLINK', ifname: hostIf }]]);
    created = true;
    const ends = vethEchoIndexes(echo!);
    let childIndex: IfIndex;
    if (ends !== undefined) {
      hostIndex = ends.host;
      childIndex = ends.peer;
    } else {
      hostIndex = linkIndex(HOST_RTNL, hostIf);
      childIndex = linkIndex(inner, childIf);
    }
    hardenHostLinkIpv6(hostIf, ipv6);
    return then({ inner, hostIndex, childIndex });
  } catch (err) {
    if (created) deleteQuietly(hostIf, hostIndex);
    throw err;
  } finally {
    if (inner >= 0) native.close(inner);
    held.release();
  }
}

/** Deletes the host end made by withVeth (by its index when known), ignoring failures. */
function deleteQuietly(name: string, index: IfIndex | undefined): void {
  try {
    exchange(HOST_RTNL, [[encodeDelLink(index ?? linkIndex(HOST_RTNL, name)), { syscall: 'RTM_DELLINK' }]]);
  } catch {
    // Already gone (the namespace went away with its end) or not ours to delete.
  }
}

/** Options of {@link connectToBridge}. */
export interface BridgeConnectOptions {
  /** The bridge in the caller's namespace; made (and brought up) if it does not exist. */
  bridge: string;
  /** When the bridge is made here: its address, `ADDR/PREFIX` (the namespaces' gateway). */
  bridgeAddress?: string;
  /** The host end's name (enslaved to the bridge); default `nsbx` + 8 random hex digits. */
  hostIf?: string;
  /** The inner end's name; default `eth0`. */
  childIf?: string;
  /** The inner end's address, `ADDR/PREFIX`. */
  childAddress: string;
  /** A default route inside via this address (usually the bridge's). */
  gateway?: string;
}

/** What {@link connectToBridge} made. */
export interface BridgeConnection extends HostConnection {
  /** The bridge's index in the caller's namespace. */
  bridgeIndex: IfIndex;
  /** True if this call made the bridge. */
  bridgeCreated: boolean;
}

/**
 * Joins a process's (or a handle's) network namespace to a bridge in the caller's: a veth
 * pair whose host end is enslaved to the bridge and whose inner end is created directly
 * inside, with its address, up, `lo` up, and a default route via `gateway` when given. Call
 * it once per namespace to put several on one link-layer segment. Replaces
 * `ip link add BR type bridge; ip addr add … dev BR; ip link set BR up;
 * ip link add H master BR up type veth peer name C netns NS; ip -n NS addr add …;
 * ip -n NS link set C up; ip -n NS link set lo up; ip -n NS route add default via GW`.
 *
 * Needs CAP_NET_ADMIN in both namespaces. Its requests go out and are answered as
 * {@link connectToHost}'s are (each inside its sendto(2), read back at once; the same kept
 * host-side socket).
 * @throws validation errors before any request; SysError (`ifname`, `kernelMessage`) from
 * the failing step; a failure after the veth was made deletes it (a bridge made here stays).
 */
export async function connectToBridge(
  target: { readonly pid: number } | Namespace,
  options: BridgeConnectOptions,
): Promise<BridgeConnection> {
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  const bridge = checkIfName('options.bridge', options.bridge);
  const netns = targetNetns(target);
  const child = parseCidr('options.childAddress', options.childAddress);
  const brAddr = options.bridgeAddress === undefined ? undefined : parseCidr('options.bridgeAddress', options.bridgeAddress);
  const gw = options.gateway === undefined ? undefined : parseIp('options.gateway', options.gateway);
  if (gw && gw.family !== child.family) throw invalidArgValue('options.gateway', options.gateway, 'must be of the family of childAddress');
  const { hostIf, childIf } = vethNames(options);
  const af = child.family === 4 ? NL.AF_INET : NL.AF_INET6;

  let bridgeCreated = false;
  let bridgeIndex!: IfIndex;
  const findOrMakeBridge = (): IfIndex => {
    try {
      bridgeIndex = linkIndex(HOST_RTNL, bridge);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENODEV') throw err;
      // Made down, hardened (its members' traffic reaches the host's IP stack through it), then
      // up with its address.
      exchange(HOST_RTNL, [[encodeNewLink({ name: bridge, kind: 'bridge', up: false }), { syscall: 'RTM_NEWLINK', ifname: bridge }]]);
      bridgeIndex = linkIndex(HOST_RTNL, bridge);
      try {
        hardenHostLinkIpv6(bridge, brAddr?.family === 6);
      } catch (err) {
        deleteQuietly(bridge, bridgeIndex);
        throw err;
      }
      bridgeCreated = true;
      const up: ExchangeRequest[] = brAddr
        ? [
            [
              encodeAddress(true, {
                family: brAddr.family === 4 ? NL.AF_INET : NL.AF_INET6,
                index: bridgeIndex,
                prefix: brAddr.prefix,
                local: brAddr.bytes,
              }),
              { syscall: 'RTM_NEWADDR', ifname: bridge },
            ],
          ]
        : [];
      exchange(HOST_RTNL, [...up, ...upHardened(bridgeIndex, bridge)]);
    }
    return bridgeIndex;
  };
  return withVeth(netns, hostIf, childIf, af === NL.AF_INET6, findOrMakeBridge, ({ inner, hostIndex, childIndex }) => {
    exchange(HOST_RTNL, upHardened(hostIndex, hostIf));
    const steps: ExchangeRequest[] = [
      [encodeSetLink({ index: LOOPBACK_IFINDEX, up: true }), { syscall: 'RTM_NEWLINK', ifname: 'lo' }],
      [encodeSetLink({ index: childIndex, up: true }), { syscall: 'RTM_NEWLINK', ifname: childIf }],
      [
        encodeAddress(true, { family: af, index: childIndex, prefix: child.prefix, local: child.bytes }),
        { syscall: 'RTM_NEWADDR', ifname: childIf },
      ],
    ];
    if (gw)
      steps.push([
        encodeRoute('add', { family: af, dstLen: 0, gateway: gw.bytes, table: NL.RT_TABLE_MAIN }),
        { syscall: 'RTM_NEWROUTE', ifname: childIf },
      ]);
    exchange(inner, steps);
    return { hostIf, hostIndex, childIf, childIndex, bridgeIndex, bridgeCreated };
  });
}
