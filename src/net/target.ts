/**
 * Resolving the `netns` option to a namespace fd, and running requests on one rtnetlink
 * socket made in that namespace.
 * @internal
 * @module
 */
import { invalidArgType, invalidArgValue, nsboxError } from '../errors.js';
import { Namespace, checkPid, openNamespace, takeRtnlSocket } from '../namespaces/namespace.js';
import { kFd } from '../namespaces/types.js';
import { NL } from './netlink/constants.js';
import { RtnlSocket } from './netlink/socket.js';
import { decodeLink, encodeGetLink } from './netlink/rtnl.js';
import { checkNetnsName, openNetns } from './netns.js';
import type { IfIndex, NetnsTarget } from './types.js';

/** A namespace fd and how to let go of it (a handle we opened is closed; the caller's is kept). */
export interface HeldNetns {
  fd: number;
  release(): void;
  /** An rtnetlink socket already open in the namespace (createNamespace('net') makes one), once; -1 if none. */
  made?: () => number;
}

/** Resolves `netns` (undefined: the caller's, fd -1). Validation is synchronous, before any syscall. */
export function holdNetns(name: string, netns: NetnsTarget | undefined): HeldNetns {
  if (netns === undefined) return { fd: -1, release() {} };
  if (netns instanceof Namespace) {
    if (netns.type !== 'net') throw invalidArgValue(name, netns.id, 'must be a network namespace');
    const ns = netns;
    return { fd: ns[kFd], release() {}, made: () => takeRtnlSocket(ns) };
  }
  let ns: Namespace;
  // Checked here, so errors name the caller's option (`options.netns`, `spec.peer.netns`).
  if (typeof netns === 'number') ns = openNamespace('net', { pid: checkPid(name, netns) });
  else if (typeof netns === 'string') ns = openNetns(checkNetnsName(netns, name));
  else throw invalidArgType(name, 'a Namespace, a pid or a /run/netns name', netns);
  return { fd: ns[kFd], release: () => ns.close() };
}

/**
 * Runs `fn` with a socket in `netns`, closing the socket (and any handle opened) after.
 * `name` is the argument's name in validation errors.
 */
export async function withRtnl<T>(netns: NetnsTarget | undefined, fn: (s: RtnlSocket) => Promise<T>, name = 'options.netns'): Promise<T> {
  const held = holdNetns(name, netns);
  let sock: RtnlSocket;
  try {
    sock = new RtnlSocket(held.fd, 0, undefined, undefined, undefined, held.made?.());
  } finally {
    held.release();
  }
  try {
    return await fn(sock);
  } finally {
    sock.close();
  }
}

/**
 * Checks a link name argument. A NUL byte is refused here: the kernel reads a name up to its
 * first NUL, so 'br0\0other' would act on br0. Length and other characters are the
 * kernel's to judge (it says why in its extended ACK).
 */
export function checkIfName(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
  if (value === '') throw invalidArgValue(name, value, 'must not be empty');
  if (value.includes('\0')) throw invalidArgValue(name, value, 'must not contain null bytes');
  return value;
}

/** Checks a `string | IfIndex` link reference. */
export function checkLinkRef(name: string, value: unknown): string | IfIndex {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1 || value > 0x7fffffff)
      throw invalidArgValue(name, value, 'must be an interface index (a positive integer)');
    return value as IfIndex;
  }
  return checkIfName(name, value);
}

/** The index of a link by name (RTM_GETLINK with IFLA_IFNAME), or the index given. */
export async function resolveIndex(s: RtnlSocket, ref: string | IfIndex): Promise<IfIndex> {
  if (typeof ref === 'number') return ref;
  const [m] = await s.request(encodeGetLink({ name: ref }), { syscall: 'RTM_GETLINK', ifname: ref });
  if (!m || m.type !== NL.RTM_NEWLINK) throw nsboxError('ERR_NSBOX_NETLINK_DECODE', `RTM_GETLINK for '${ref}' got no link`);
  return decodeLink(m).index;
}
