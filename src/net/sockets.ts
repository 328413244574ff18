/**
 * TCP sockets inside another network namespace, served from Node: the socket is created
 * (and bound, and set listening) by a dedicated native thread that enters the namespace and
 * exits; the fd stays in that namespace and is handed to node:net. The Node process never
 * enters the namespace. Without root, for a namespace whose user namespace the caller owns (a
 * container it started), a short-lived child that joins that user namespace makes the socket
 * instead (csrc/child_socket.cc). forward.ts makes UDP sockets the same way.
 * @module
 */
import { Server, Socket, isIP } from 'node:net';
import { invalidArgValue, outOfRange } from '../errors.js';
import { native } from '../native.js';
import { NL } from './netlink/constants.js';
import { ipBytes } from './ip.js';
import { holdNetns } from './target.js';
import type { NetnsTarget } from './types.js';

function checkPort(name: string, port: unknown, allowZero: boolean): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw outOfRange(name, `an integer from ${allowZero ? 0 : 1} to 65535`, port);
  }
  return port;
}

function checkHost(name: string, host: unknown): { family: number; bytes: Buffer } {
  if (typeof host !== 'string' || isIP(host) === 0)
    throw invalidArgValue(name, host, 'must be an IPv4 or IPv6 address (no name lookups inside a namespace)');
  return { family: isIP(host) === 4 ? NL.AF_INET : NL.AF_INET6, bytes: ipBytes(host)! };
}

/**
 * A TCP server listening on `host:port` inside `netns`: socket(2), bind(2) and listen(2) run
 * on a dedicated thread in the namespace; the listening fd is served by a `net.Server`.
 * Replaces `ip netns exec NS some-server`. `port` 0 picks a free port (`server.address()`).
 * Needs whatever binding needs there (ports < 1024: CAP_NET_BIND_SERVICE) and CAP_SYS_ADMIN
 * to enter the namespace — or, without root, to own its user namespace. Close the server as usual.
 * @param netns - the namespace (a handle, a pid, or a /run/netns name).
 * @param port - the port, 0 for any free one.
 * @param host - the address to bind, default `'0.0.0.0'` (an IP literal: no name lookups).
 * @param backlog - listen(2)'s backlog, default 511 as node:net.
 * @throws `ERR_OUT_OF_RANGE`/`ERR_INVALID_ARG_VALUE` before any syscall; SysError
 * (`'setns'`, `'socket'`, `'bind'` — `EADDRINUSE`, `EADDRNOTAVAIL` —, `'listen'`).
 */
export async function listenTcpIn(netns: NetnsTarget, port: number, host = '0.0.0.0', backlog = 511): Promise<Server> {
  const p = checkPort('port', port, true);
  const h = checkHost('host', host);
  const held = holdNetns('netns', netns);
  let fd: number;
  try {
    fd = native.inetSocketIn(held.fd, h.family, NL.SOCK_STREAM, h.bytes, p, backlog);
  } finally {
    held.release();
  }
  const server = new Server();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    native.close(fd);
    throw err;
  });
  return server;
}

/**
 * A TCP connection from inside `netns` to `host:port`: the socket is made on a dedicated
 * thread in the namespace, then connected by node:net (non-blocking, in the event loop).
 * Replaces `ip netns exec NS nc HOST PORT`. Resolves once connected. The TCP handshake is
 * node:net's, in the event loop; the namespace only decides which routes and addresses apply.
 * @param netns - the namespace (a handle, a pid, or a /run/netns name).
 * @param port - the remote port.
 * @param host - the remote address (an IP literal: no name lookups).
 * @throws validation errors before any syscall; SysError (`'setns'`, `'socket'`); the
 * connection's own error (`ECONNREFUSED`, `ENETUNREACH`, …) as node:net reports it.
 */
export async function connectTcpIn(netns: NetnsTarget, port: number, host: string): Promise<Socket> {
  const p = checkPort('port', port, false);
  const h = checkHost('host', host);
  const held = holdNetns('netns', netns);
  let fd: number;
  try {
    fd = native.inetSocketIn(held.fd, h.family, NL.SOCK_STREAM, Buffer.alloc(0), 0, -1);
  } finally {
    held.release();
  }
  const sock = new Socket({ fd, readable: true, writable: true });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.connect({ port: p, host }, () => {
      sock.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    sock.destroy();
    throw err;
  });
  return sock;
}
