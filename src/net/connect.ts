/**
 * Wiring a namespace to the host in one call: a veth pair whose far end is created directly
 * inside the namespace, addresses on both ends, both up, lo up, a default route inside.
 * @module
 */
import { invalidArgType, invalidArgValue } from '../errors.js';
import { Namespace } from '../namespaces/namespace.js';
import { NL } from './netlink/constants.js';
import { encodeAddress } from './netlink/address.js';
import { encodeRoute } from './netlink/route.js';
import { decodeLink, decodeLinkIndexes, encodeDelLink, encodeGetLink, encodeNewLink, encodeSetLink } from './netlink/rtnl.js';
import { RtnlSocket } from './netlink/socket.js';
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
 * Connects a process's (or a handle's) network namespace to the caller's with a veth pair:
 * the inner end is created directly inside (no move), both ends get their address and come
 * up, `lo` comes up inside, and a default route inside goes via the host address. Replaces
 * `ip link add H type veth peer name C netns NS; ip addr add …; ip link set H up;
 * ip -n NS addr add …; ip -n NS link set C up; ip -n NS link set lo up;
 * ip -n NS route add default via HOSTADDR`. Removing the namespace (or `deleteLink(hostIf)`)
 * removes both ends.
 *
 * Needs CAP_NET_ADMIN in both namespaces. Requests pipelined on two rtnetlink sockets; no
 * thread blocks. The host-side socket is kept for the next call: after the first call the
 * environment holds one unreferenced NETLINK_ROUTE socket (it never keeps the process alive
 * and is closed when the environment ends: exit, worker termination).
 * @param target - a child (anything with a `pid`) or a network namespace handle.
 * @throws validation errors before any request; SysError (`ifname`, `kernelMessage`) from
 * the step that failed (`'RTM_NEWLINK'`, `'RTM_NEWADDR'`, `'RTM_NEWROUTE'`); a failure after
 * the veth was made deletes it.
 */
export async function connectToHost(target: { readonly pid: number } | Namespace, options: ConnectOptions): Promise<HostConnection> {
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  const netns = targetNetns(target);
  const host = parseCidr('options.hostAddress', options.hostAddress);
  const child = parseCidr('options.childAddress', options.childAddress);
  if (host.family !== child.family)
    throw invalidArgValue('options.childAddress', options.childAddress, 'must be of the family of hostAddress');
  const { hostIf, childIf } = vethNames(options);
  const af = host.family === 4 ? NL.AF_INET : NL.AF_INET6;

  return withVeth(
    netns,
    hostIf,
    childIf,
    async () => undefined,
    async ({ h, c, hostIndex, childIndex }) => {
      // Both sides at once: host address; inside, lo up, the inner end up (it was created up;
      // this is a no-op kept for a peer the kernel made down), its address, the default route
      // (sent after the address, so the gateway is reachable when the kernel handles it).
      // The four requests inside go as one datagram: one sendto(2), handled in order; their
      // answers are read at once (pump), not on the next event-loop turn.
      const steps = [
        h.request(encodeAddress(true, { family: af, index: hostIndex, prefix: host.prefix, local: host.bytes }), {
          syscall: 'RTM_NEWADDR',
          ifname: hostIf,
        }),
        ...c.requestMany([
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
        ]),
      ];
      h.pump();
      c.pump();
      await settle(steps);
      return { hostIf, hostIndex, childIf, childIndex };
    },
  );
}

/**
 * The host-side rtnetlink socket connectToHost and connectToBridge share in this environment
 * (the main thread's, or a worker's: each loads this module anew), made on first use. Kept
 * instead of one per call: its making and closing were ~0.03 ms of each call's JS, N-API and
 * libuv work. It joins no multicast group and is unreferenced while no request waits, so it
 * never keeps the process alive; the addon closes it when the environment ends (process exit,
 * worker termination: its cleanup hook); a new one replaces it if it is found closed.
 * Requests of concurrent calls share it, each matched by its sequence number.
 */
let hostSocket: RtnlSocket | undefined;

function hostRtnl(): RtnlSocket {
  if (hostSocket === undefined || hostSocket.closed) hostSocket = new RtnlSocket(-1);
  return hostSocket;
}

/** The two sockets and the veth's indexes, for what follows its creation. */
interface Veth {
  h: RtnlSocket;
  c: RtnlSocket;
  hostIndex: IfIndex;
  childIndex: IfIndex;
}

/**
 * Takes the host socket (see hostRtnl) and opens one in the target's namespace, asks `master`
 * for the host end's bridge (if any), makes the veth with its peer created directly inside
 * the target and learns both indexes, then runs `then`. A failure after the veth exists
 * deletes it again; the target's socket and the held namespace are released whatever
 * happens (the host socket stays for the next call).
 */
async function withVeth<T>(
  netns: NetnsTarget,
  hostIf: string,
  childIf: string,
  master: (h: RtnlSocket) => Promise<IfIndex | undefined>,
  then: (v: Veth) => Promise<T>,
): Promise<T> {
  const held = holdNetns('target', netns);
  let hs: RtnlSocket | undefined;
  let cs: RtnlSocket | undefined;
  let created = false;
  try {
    hs = hostRtnl();
    // The socket createNamespace('net') opened with the namespace, if it is still there: no
    // thread trip into the namespace for this one.
    cs = new RtnlSocket(held.fd, 0, undefined, undefined, undefined, held.made?.());
    const h = hs;
    const c = cs;
    const masterIndex = await master(h);
    // NLM_F_ECHO: the kernel answers RTM_NEWLINK with the host end's RTM_NEWLINK, which
    // carries its index and, as IFLA_LINK, the peer's (veth_get_iflink): one event-loop
    // round trip, no lookup. A kernel that does not echo (before 6.1) gets the lookups.
    const spec = {
      name: hostIf,
      kind: 'veth' as const,
      up: true,
      peer: { name: childIf, netnsFd: held.fd },
      ...(masterIndex !== undefined ? { master: masterIndex } : {}),
    };
    const newLink = h.request(encodeNewLink(spec, true), { syscall: 'RTM_NEWLINK', ifname: hostIf });
    h.pump(); // the echo and the ACK are queued by now: no event-loop turn
    const echo = await newLink;
    created = true;
    const echoed = echo.find((m) => m.type === NL.RTM_NEWLINK);
    const link = echoed === undefined ? undefined : decodeLinkIndexes(echoed);
    if (link !== undefined && link.index > 0 && link.link !== undefined)
      return await then({ h, c, hostIndex: link.index, childIndex: link.link });
    const [hostLink, childLink] = await Promise.all([
      h.request(encodeGetLink({ name: hostIf }), { syscall: 'RTM_GETLINK', ifname: hostIf }),
      c.request(encodeGetLink({ name: childIf }), { syscall: 'RTM_GETLINK', ifname: childIf }),
    ]);
    const hostIndex = decodeLink(hostLink[0]!).index;
    const childIndex = decodeLink(childLink[0]!).index;
    return await then({ h, c, hostIndex, childIndex });
  } catch (err) {
    if (created && hs && !hs.closed) await deleteQuietly(hs, hostIf);
    throw err;
  } finally {
    cs?.close();
    held.release();
  }
}

/** Waits for every request; the first failure (in request order) is thrown. */
async function settle(steps: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(steps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

async function deleteQuietly(s: RtnlSocket, name: string): Promise<void> {
  try {
    const [m] = await s.request(encodeGetLink({ name }), { syscall: 'RTM_GETLINK' });
    await s.request(encodeDelLink(decodeLink(m!).index), { syscall: 'RTM_DELLINK' });
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
 * Needs CAP_NET_ADMIN in both namespaces.
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
  const findOrMakeBridge = async (h: RtnlSocket): Promise<IfIndex> => {
    try {
      bridgeIndex = decodeLink((await h.request(encodeGetLink({ name: bridge }), { syscall: 'RTM_GETLINK', ifname: bridge }))[0]!).index;
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENODEV') throw err;
      await h.request(encodeNewLink({ name: bridge, kind: 'bridge', up: true }), { syscall: 'RTM_NEWLINK', ifname: bridge });
      bridgeCreated = true;
      bridgeIndex = decodeLink((await h.request(encodeGetLink({ name: bridge }), { syscall: 'RTM_GETLINK', ifname: bridge }))[0]!).index;
      if (brAddr) {
        await h.request(
          encodeAddress(true, {
            family: brAddr.family === 4 ? NL.AF_INET : NL.AF_INET6,
            index: bridgeIndex,
            prefix: brAddr.prefix,
            local: brAddr.bytes,
          }),
          { syscall: 'RTM_NEWADDR', ifname: bridge },
        );
      }
    }
    return bridgeIndex;
  };
  return withVeth(netns, hostIf, childIf, findOrMakeBridge, async ({ c, hostIndex, childIndex }) => {
    const steps = [
      c.request(encodeSetLink({ index: LOOPBACK_IFINDEX, up: true }), { syscall: 'RTM_NEWLINK', ifname: 'lo' }),
      c.request(encodeSetLink({ index: childIndex, up: true }), { syscall: 'RTM_NEWLINK', ifname: childIf }),
      c.request(encodeAddress(true, { family: af, index: childIndex, prefix: child.prefix, local: child.bytes }), {
        syscall: 'RTM_NEWADDR',
        ifname: childIf,
      }),
    ];
    if (gw)
      steps.push(
        c.request(encodeRoute('add', { family: af, dstLen: 0, gateway: gw.bytes, table: NL.RT_TABLE_MAIN }), {
          syscall: 'RTM_NEWROUTE',
          ifname: childIf,
        }),
      );
    await settle(steps);
    return { hostIf, hostIndex, childIf, childIndex, bridgeIndex, bridgeCreated };
  });
}
