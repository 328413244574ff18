/**
 * Synchronous rtnetlink round trips on a bare socket fd, for requests the kernel answers
 * inside sendto(2) (changes and single gets, never dumps): one native call sends the
 * requests as one datagram and reads their answers back (csrc/netlink_sync.cc
 * netlinkExchange), with no socket object, promise or event-loop turn per request.
 * connectToHost and connectToBridge use it; the error of a refused request is the same
 * SysError {@link RtnlSocket.request} builds (`syscall`, `ifname`, `kernelMessage`).
 * @internal
 * @module
 */
import { native } from '../../native.js';
import { NL } from './constants.js';
import { toSysError, type RequestInfo } from './socket.js';
import { addFlags, decodeError, splitMessages, type MessageWriter, type NlError, type NlMessage } from './wire.js';

/** netlinkExchange's fd for the environment's host-side socket (made on first use, closed at teardown). */
export const HOST_RTNL = -1;

/** A request and what its error says about it. */
export type ExchangeRequest = readonly [MessageWriter, RequestInfo];

let nextSeq = (Date.now() >>> 0) & 0x7fffffff || 1;

/**
 * Sends `requests` as one datagram on `fd` (a NETLINK_ROUTE socket, or {@link HOST_RTNL}),
 * each with NLM_F_ACK; the kernel handles them in order, each whatever became of the one
 * before. Returns, per request, the messages it was answered with besides its ACK (the echo
 * of an NLM_F_ECHO request, the link of a get).
 * @throws SysError of the first refused request, in request order (with its `ifname` and
 * the kernel's extended-ACK text as `kernelMessage`); SysError `sendto`/`recvmsg` from the
 * transport; NetlinkDecodeError for an answer that does not parse.
 */
export function exchange(fd: number, requests: readonly ExchangeRequest[]): NlMessage[][] {
  const { datagram, seqs } = prepareExchange(requests);
  return readAnswers(requests, seqs, native.netlinkExchange(fd, datagram));
}

/**
 * {@link exchange}'s first half: gives each request its sequence number and NLM_F_ACK, and
 * joins them into the one datagram netlinkExchange sends (or another native call that sends
 * it the same way: nsMakeConnected).
 */
export function prepareExchange(requests: readonly ExchangeRequest[]): { datagram: Buffer; seqs: number[]; sizes: number[] } {
  const seqs: number[] = [];
  const bufs: Buffer[] = [];
  const sizes: number[] = [];
  for (const [msg] of requests) {
    const seq = nextSeq;
    nextSeq = nextSeq >= 0x7fffffff ? 1 : nextSeq + 1;
    const b = msg.finish(seq, 0);
    addFlags(b, NL.NLM_F_ACK);
    seqs.push(seq);
    bufs.push(b);
    sizes.push(b.length);
  }
  return { datagram: bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs), seqs, sizes };
}

/**
 * {@link exchange}'s second half: matches `answer` (the answering datagrams, or undefined
 * when every request was plainly ACKed) to the requests by sequence number.
 * @throws SysError of the first refused request, in request order; NetlinkDecodeError.
 */
export function readAnswers(requests: readonly ExchangeRequest[], seqs: readonly number[], answer: Buffer | undefined): NlMessage[][] {
  const n = requests.length;
  const parts: NlMessage[][] = requests.map(() => []);
  if (answer === undefined) return parts; // every request ACKed, nothing else answered
  const errors: Array<NlError | undefined> = [];
  for (const m of splitMessages(answer)) {
    const i = seqs.indexOf(m.seq);
    if (i < 0) continue;
    if (m.type === NL.NLMSG_ERROR) {
      const e = decodeError(m);
      if (e.error !== 0 && errors[i] === undefined) errors[i] = e;
    } else if (m.type !== NL.NLMSG_DONE && m.type !== NL.NLMSG_NOOP) parts[i]!.push(m);
  }
  for (let i = 0; i < n; i++) {
    const e = errors[i];
    if (e !== undefined) throw toSysError(e, requests[i]![1]);
  }
  return parts;
}
