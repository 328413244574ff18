/**
 * Resolving the `netns` option to a namespace fd, and running requests on one rtnetlink
 * socket made in that namespace.
 * @internal
 * @module
 */
import { invalidArgType, invalidArgValue } from '../errors.js';
import { Namespace, openNamespace } from '../namespaces/namespace.js';
import { kFd } from '../namespaces/types.js';
import { NL } from './netlink/constants.js';
import { RtnlSocket } from './netlink/socket.js';
import { decodeLink, encodeGetLink } from './netlink/rtnl.js';
import { openNetns } from './netns.js';
import type { IfIndex, NetnsTarget } from './types.js';

/** A namespace fd and how to let go of it (a handle we opened is closed; the caller's is kept). */
export interface HeldNetns {
  fd: number;
  release(): void;
}

/** Resolves `netns` (undefined: the caller's, fd -1). Validation is synchronous, before any syscall. */
export function holdNetns(name: string, netns: NetnsTarget | undefined): HeldNetns {
  if (netns === undefined) return { fd: -1, release() {} };
  if (netns instanceof Namespace) {
    if (netns.type !== 'net') throw invalidArgValue(name, netns.id, 'must be a network namespace');
    return { fd: netns[kFd], release() {} };
  }
  let ns: Namespace;
  if (typeof netns === 'number') ns = openNamespace('net', { pid: netns });
  else if (typeof netns === 'string') ns = openNetns(netns);
  else throw invalidArgType(name, 'a Namespace, a pid or a /run/netns name', netns);
  return { fd: ns[kFd], release: () => ns.close() };
}

/** Runs `fn` with a socket in `netns`, closing the socket (and any handle opened) after. */
export async function withRtnl<T>(netns: NetnsTarget | undefined, fn: (s: RtnlSocket) => Promise<T>): Promise<T> {
  const held = holdNetns('options.netns', netns);
  let sock: RtnlSocket;
  try {
    sock = new RtnlSocket(held.fd);
  } finally {
    held.release();
  }
  try {
    return await fn(sock);
  } finally {
    sock.close();
  }
}

/** Checks a link name argument (the kernel judges length and characters, with an extack reason). */
export function checkIfName(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
  if (value === '') throw invalidArgValue(name, value, 'must not be empty');
  return value;
}

/** Checks a `string | IfIndex` link reference. */
export function checkLinkRef(name: string, value: unknown): string | IfIndex {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1 || value > 0x7fffffff) throw invalidArgValue(name, value, 'must be an interface index (a positive integer)');
    return value as IfIndex;
  }
  return checkIfName(name, value);
}

/** The index of a link by name (RTM_GETLINK with IFLA_IFNAME), or the index given. */
export async function resolveIndex(s: RtnlSocket, ref: string | IfIndex): Promise<IfIndex> {
  if (typeof ref === 'number') return ref;
  const [m] = await s.request(encodeGetLink({ name: ref }), { syscall: 'RTM_GETLINK', ifname: ref });
  if (!m || m.type !== NL.RTM_NEWLINK) throw new Error(`nsbox: RTM_GETLINK for '${ref}' got no link`);
  return decodeLink(m).index;
}
