/**
 * A userspace port forwarder into a network namespace, for a caller without root: it listens
 * in the caller's namespace and, for each TCP connection or UDP flow, opens a socket inside the
 * target namespace (sockets-in-netns) and copies the bytes both ways in Node — rootlesskit's
 * "builtin" port driver, slirp4netns' and pasta's port forwarding, Docker's userland proxy.
 * @module
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { Server, Socket, isIP } from 'node:net';
import { handleClosed, invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { native } from '../native.js';
import { NL } from './netlink/constants.js';
import { holdNetns, type HeldNetns } from './target.js';
import type { NetnsTarget } from './types.js';

/** Options of {@link forwardPort}. */
export interface ForwardPortOptions {
  /** The namespace the traffic is forwarded into (a container's): a handle (keep it open while forwarding), a pid, or a /run/netns name. */
  netns: NetnsTarget;
  /** The transport protocol. */
  protocol: 'tcp' | 'udp';
  /** The port listened on in the caller's namespace; 0 picks a free one ({@link PortForwarder.port}). */
  hostPort: number;
  /** The caller's address to listen on (an IP literal), default `'0.0.0.0'` (every IPv4 address, as Docker's `-p`). */
  hostAddress?: string;
  /** The address connected to inside the namespace (an IP literal), default `'127.0.0.1'`. */
  target?: string;
  /** The port connected to inside the namespace. */
  targetPort: number;
  /** UDP: a client's flow (its socket inside) is closed after this many ms without a datagram either way; default 30000. */
  udpIdleTimeout?: number;
}

interface Flow {
  sock: UdpSocket;
  timer: NodeJS.Timeout;
}

const ip = (name: string, v: unknown): 4 | 6 => {
  if (typeof v !== 'string' || isIP(v) === 0)
    throw invalidArgValue(name, v, 'must be an IPv4 or IPv6 address (no name lookups inside a namespace)');
  return isIP(v) as 4 | 6;
};
const port = (name: string, v: unknown, min: number): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 65535) throw outOfRange(name, `an integer from ${min} to 65535`, v);
  return v;
};

/**
 * One forwarded port, made by {@link forwardPort}. `close()` stops listening and ends every
 * relay it carries; nothing it opened outlives it.
 */
export class PortForwarder {
  #held: HeldNetns | null;
  #server: Server | UdpSocket;
  #tcp = new Set<[Socket, Socket]>();
  #flows = new Map<string, Flow>();
  #closing: Promise<void> | undefined;
  /** The protocol forwarded. */
  readonly protocol: 'tcp' | 'udp';
  /** The address listened on. */
  readonly hostAddress: string;
  /** The port listened on (the one picked when `hostPort` was 0). */
  readonly port: number;

  /** @internal */
  constructor(held: HeldNetns, server: Server | UdpSocket, protocol: 'tcp' | 'udp', hostAddress: string, port: number) {
    this.#held = held;
    this.#server = server;
    this.protocol = protocol;
    this.hostAddress = hostAddress;
    this.port = port;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#held === null;
  }

  /** The relays open now: TCP connections, or UDP client flows. */
  get relays(): number {
    return this.protocol === 'tcp' ? this.#tcp.size : this.#flows.size;
  }

  /** A socket inside the namespace (on a native thread there, or a child in its user namespace). @internal */
  socketInside(family: 4 | 6, type: 'tcp' | 'udp'): number {
    if (!this.#held) throw handleClosed('port forwarder');
    return native.inetSocketIn(
      this.#held.fd,
      family === 4 ? NL.AF_INET : NL.AF_INET6,
      type === 'tcp' ? NL.SOCK_STREAM : NL.SOCK_DGRAM,
      Buffer.alloc(0),
      0,
      -1,
    );
  }

  /** Tracks the two sockets of one TCP relay. @internal */
  trackTcp(a: Socket, b: Socket): void {
    const pair: [Socket, Socket] = [a, b];
    this.#tcp.add(pair);
    let open = 2;
    const closed = (): void => {
      if (--open === 0) this.#tcp.delete(pair);
    };
    a.once('close', closed);
    b.once('close', closed);
  }

  /** The UDP flows by client address. @internal */
  get flows(): Map<string, Flow> {
    return this.#flows;
  }

  /**
   * Stops listening, resets every open TCP relay (both its sockets) and closes every UDP flow,
   * then releases the namespace. Resolves once the listening socket is closed. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const held = this.#held;
    this.#held = null;
    for (const [a, b] of this.#tcp) {
      a.destroy();
      b.destroy();
    }
    this.#tcp.clear();
    for (const f of this.#flows.values()) {
      clearTimeout(f.timer);
      f.sock.close();
    }
    this.#flows.clear();
    const server = this.#server;
    this.#closing = new Promise<void>((resolve) => {
      if (server instanceof Server) server.close(() => resolve());
      else server.close(() => resolve());
    }).finally(() => held?.release());
    return this.#closing;
  }

  /** Same as {@link PortForwarder.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function relayTcp(fw: PortForwarder, client: Socket, family: 4 | 6, target: string, targetPort: number): void {
  let up: Socket;
  try {
    up = new Socket({ fd: fw.socketInside(family, 'tcp'), readable: true, writable: true, allowHalfOpen: true });
  } catch {
    client.resetAndDestroy();
    return;
  }
  fw.trackTcp(client, up);
  const fail = (): void => {
    client.resetAndDestroy();
    up.destroy();
  };
  client.on('error', fail);
  up.on('error', fail);
  let piped = false;
  // A client gone before the target answered takes its half-made relay with it.
  client.once('close', () => {
    if (!piped) up.destroy();
  });
  up.connect({ port: targetPort, host: target }, () => {
    piped = true;
    // Half-closes travel: a FIN from one side ends the other's writing side (pipe's end()).
    client.pipe(up);
    up.pipe(client);
    client.resume();
  });
}

function relayUdp(
  fw: PortForwarder,
  host: UdpSocket,
  msg: Buffer,
  rinfo: RemoteInfo,
  f: { family: 4 | 6; target: string; targetPort: number; idle: number },
): void {
  const key = `${rinfo.address}|${rinfo.port}`;
  let flow = fw.flows.get(key);
  if (!flow) {
    let fd: number;
    try {
      fd = fw.socketInside(f.family, 'udp');
    } catch {
      return; // dropped, as a datagram may be
    }
    const sock = createSocket(f.family === 4 ? 'udp4' : 'udp6');
    const end = (): void => {
      const cur = fw.flows.get(key);
      if (cur?.sock !== sock) return;
      clearTimeout(cur.timer);
      fw.flows.delete(key);
      sock.close();
    };
    sock.on('error', end);
    sock.bind({ fd });
    sock.on('message', (reply, from) => {
      if (from.port !== f.targetPort) return;
      const cur = fw.flows.get(key);
      if (cur) cur.timer.refresh();
      host.send(reply, rinfo.port, rinfo.address);
    });
    flow = { sock, timer: setTimeout(end, f.idle) };
    fw.flows.set(key, flow);
  } else flow.timer.refresh();
  flow.sock.send(msg, f.targetPort, f.target);
}

/**
 * Forwards `hostAddress:hostPort` of the caller's network namespace to `target:targetPort`
 * inside `netns`, in userspace: a TCP listener (or a UDP socket) here, and for each accepted
 * connection (or each UDP client address and port) a socket made inside the namespace that
 * connects to the target, with the bytes copied both ways (half-closes included). A UDP flow
 * ends after `udpIdleTimeout` ms of silence. Replaces rootlesskit's builtin port driver,
 * `slirp4netns`'s `add_hostfwd` and `pasta -t/-u`; `socat TCP-LISTEN:H,fork,reuseaddr
 * EXEC:'nsenter -n -t PID socat STDIO TCP:127.0.0.1:P'`.
 *
 * Unlike {@link publishPort} (DNAT in the kernel, root) it needs no privileges beyond making
 * sockets in `netns`: root, or — for a rootless caller — owning the namespace's user
 * namespace (a container it started): the socket is then made by a short-lived child that
 * joins that user namespace (a copy-on-write fork, about a millisecond, on the calling thread).
 * The target sees the connection come from the namespace's own address (`127.0.0.1` for the
 * default target), not the client's: keeping the client's address would need
 * IP_TRANSPARENT (CAP_NET_ADMIN) or the kernel's NAT, which only root has.
 * A connection the target refuses is reset. Only the socket creation touches a thread
 * outside the event loop; listening and relaying are node:net and node:dgram.
 * @throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE`/`ERR_OUT_OF_RANGE` before any syscall;
 * from the listener: `EADDRINUSE`, `EACCES` (a port below 1024 without privileges), as
 * node:net reports them; SysError `'setns'`/`ENOENT` for a namespace that cannot be opened.
 */
export async function forwardPort(options: ForwardPortOptions): Promise<PortForwarder> {
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  const { netns, protocol, hostAddress = '0.0.0.0', target = '127.0.0.1', udpIdleTimeout = 30_000 } = options;
  if (protocol !== 'tcp' && protocol !== 'udp') throw invalidArgValue('options.protocol', protocol, "must be 'tcp' or 'udp'");
  const hostPort = port('options.hostPort', options.hostPort, 0);
  const targetPort = port('options.targetPort', options.targetPort, 1);
  const hostFamily = ip('options.hostAddress', hostAddress);
  const family = ip('options.target', target);
  if (typeof udpIdleTimeout !== 'number' || !(udpIdleTimeout > 0) || udpIdleTimeout > 2 ** 31 - 1)
    throw outOfRange('options.udpIdleTimeout', 'a number of ms from 1 to 2147483647', udpIdleTimeout);
  if (netns === undefined) throw invalidArgType('options.netns', 'a Namespace, a pid or a /run/netns name', netns);
  const held = holdNetns('options.netns', netns);
  try {
    if (protocol === 'tcp') {
      const server = new Server({ pauseOnConnect: true, allowHalfOpen: true });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: hostPort, host: hostAddress, exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const bound = (server.address() as { port: number }).port;
      const fw = new PortForwarder(held, server, 'tcp', hostAddress, bound);
      // An accept(2) failure (EMFILE) loses that connection only; the listener goes on.
      server.on('error', () => undefined);
      server.on('connection', (client: Socket) => relayTcp(fw, client, family, target, targetPort));
      return fw;
    }
    const sock = createSocket(hostFamily === 4 ? 'udp4' : 'udp6');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ port: hostPort, address: hostAddress, exclusive: true }, () => {
        sock.off('error', reject);
        resolve();
      });
    }).catch((err: unknown) => {
      sock.close();
      throw err;
    });
    const fw = new PortForwarder(held, sock, 'udp', hostAddress, sock.address().port);
    // A datagram that cannot be sent back is lost, as UDP allows; the socket goes on.
    sock.on('error', () => undefined);
    const f = { family, target, targetPort, idle: udpIdleTimeout };
    sock.on('message', (msg, rinfo) => relayUdp(fw, sock, msg, rinfo, f));
    return fw;
  } catch (err) {
    held.release();
    throw err;
  }
}
