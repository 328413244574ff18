/**
 * The netlink wire format (netlink(7), rtnetlink(7)): nlmsghdr, attributes (struct rtattr /
 * struct nlattr: u16 length, u16 type, payload, padded to 4), nesting, and the error message
 * with its extended ACK. Pure TS over Buffer, host byte order as the kernel speaks it.
 *
 * Every length is checked both ways: the encoder refuses what does not fit its u16/u32 field,
 * and the decoder refuses any length that is shorter than its header or overruns its
 * container (runc's CVE-2021-43784 was an attribute length trusted past its buffer), throwing
 * {@link NetlinkDecodeError} and never returning a partial message.
 * @internal
 * @module
 */
import { NetlinkDecodeError, nsboxError } from '../../errors.js';
import { NL } from './constants.js';

const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** NLMSG_ALIGN / NLA_ALIGN: round up to 4. */
export const align4 = (n: number): number => (n + 3) & ~3;

const NLMSGHDR = NL.SIZEOF_NLMSGHDR; // 16
const RTATTR = NL.SIZEOF_RTATTR; // 4
const U16_MAX = 0xffff;
const ATTR_TYPE_MASK = ~(NL.NLA_F_NESTED | NL.NLA_F_NET_BYTEORDER) & 0xffff;

function encodeError(message: string): Error {
  return nsboxError('ERR_NSBOX_NETLINK_ENCODE', message);
}

/**
 * Builds one netlink message: the 16-byte header, a fixed family header, then attributes.
 * The header's length is filled in by {@link MessageWriter.finish}.
 */
export class MessageWriter {
  #buf: Buffer;
  #len = 0;
  #open: number[] = []; // offsets of nested attributes whose length is still to be written
  /** The message's NLM_F_* flags. */
  readonly flags: number;

  /** Starts a message of `type` with `flags`; `seq` and the port id are set by the socket. */
  constructor(type: number, flags: number, sizeHint = 256) {
    this.flags = flags;
    // Not zero-filled: every byte up to #len is written (pad() writes its zeros), and only
    // those are ever sent; allocUnsafe takes a slice of Node's pool instead of a new buffer.
    this.#buf = Buffer.allocUnsafe(Math.max(sizeHint, 64));
    this.u32(0); // nlmsg_len, set by finish()
    this.u16(type);
    this.u16(flags);
    this.u32(0); // nlmsg_seq
    this.u32(0); // nlmsg_pid
  }

  /** Bytes written so far: the offset the next write lands at. */
  get length(): number {
    return this.#len;
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  /** Appends a u8. */
  u8(v: number): this {
    this.#room(1);
    this.#buf.writeUInt8(v, this.#len);
    this.#len += 1;
    return this;
  }
  /** Appends a host-order u16. */
  u16(v: number): this {
    this.#room(2);
    // Byte stores: Buffer#writeUInt16* validates its arguments on every call, and attribute
    // headers are the most frequent write of all.
    const b = this.#buf;
    const at = this.#len;
    if (LE) {
      b[at] = v & 0xff;
      b[at + 1] = (v >>> 8) & 0xff;
    } else {
      b[at] = (v >>> 8) & 0xff;
      b[at + 1] = v & 0xff;
    }
    this.#len += 2;
    return this;
  }
  /** Appends a host-order u32. */
  u32(v: number): this {
    this.#room(4);
    if (LE) this.#buf.writeUInt32LE(v >>> 0, this.#len);
    else this.#buf.writeUInt32BE(v >>> 0, this.#len);
    this.#len += 4;
    return this;
  }
  /** Appends a host-order s32. */
  i32(v: number): this {
    this.#room(4);
    if (LE) this.#buf.writeInt32LE(v, this.#len);
    else this.#buf.writeInt32BE(v, this.#len);
    this.#len += 4;
    return this;
  }
  /** Appends raw bytes. */
  bytes(b: Uint8Array): this {
    this.#room(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }
  /** Appends zero bytes up to the next 4-byte boundary. */
  pad(): this {
    if ((this.#len & 3) === 0) return this;
    const n = align4(this.#len) - this.#len;
    this.#room(n);
    this.#buf.fill(0, this.#len, this.#len + n);
    this.#len += n;
    return this;
  }

  /** An attribute with a raw payload; refuses one whose length does not fit its u16. */
  attr(type: number, payload: Uint8Array): this {
    const len = RTATTR + payload.length;
    if (len > U16_MAX) throw encodeError(`netlink attribute ${type} is ${payload.length} bytes; at most ${U16_MAX - RTATTR} fit`);
    this.pad();
    this.u16(len).u16(type).bytes(payload);
    return this.pad();
  }
  /** A u8 attribute. */
  attrU8(type: number, v: number): this {
    return this.attr(type, Uint8Array.of(v & 0xff));
  }
  /** A host-order u16 attribute. */
  attrU16(type: number, v: number): this {
    this.pad();
    return this.u16(RTATTR + 2)
      .u16(type)
      .u16(v)
      .pad();
  }
  /** A host-order u32 attribute. */
  attrU32(type: number, v: number): this {
    this.pad();
    return this.u16(RTATTR + 4)
      .u16(type)
      .u32(v);
  }
  /** A host-order s32 attribute. */
  attrI32(type: number, v: number): this {
    this.pad();
    return this.u16(RTATTR + 4)
      .u16(type)
      .i32(v);
  }
  /** A big-endian u32 attribute (nf_tables numbers: the kernel reads them with nla_get_be32). */
  attrBe32(type: number, v: number): this {
    this.pad();
    this.u16(RTATTR + 4).u16(type);
    this.#room(4);
    this.#buf.writeUInt32BE(v >>> 0, this.#len);
    this.#len += 4;
    return this;
  }
  /** A big-endian u64 attribute. */
  attrBe64(type: number, v: bigint): this {
    this.pad();
    this.u16(RTATTR + 8).u16(type);
    this.#room(8);
    this.#buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.#len);
    this.#len += 8;
    return this;
  }
  /** A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND, IFA_LABEL), written in place. */
  attrString(type: number, s: string): this {
    const n = Buffer.byteLength(s, 'utf8') + 1;
    if (RTATTR + n > U16_MAX) throw encodeError(`netlink attribute ${type} is ${n} bytes; at most ${U16_MAX - RTATTR} fit`);
    this.pad();
    this.u16(RTATTR + n).u16(type);
    this.#room(n);
    this.#buf.write(s, this.#len, 'utf8');
    this.#buf[this.#len + n - 1] = 0;
    this.#len += n;
    return this.pad();
  }
  /** Opens a nested attribute; close it with {@link MessageWriter.end}. */
  begin(type: number): this {
    this.pad();
    this.#open.push(this.#len);
    return this.u16(0).u16(type);
  }
  /** Closes the innermost nested attribute, writing its length. */
  end(): this {
    const at = this.#open.pop();
    if (at === undefined) throw encodeError('netlink nest closed twice');
    const len = this.#len - at;
    if (len > U16_MAX) throw encodeError(`nested netlink attribute is ${len} bytes; at most ${U16_MAX} fit`);
    if (LE) this.#buf.writeUInt16LE(len, at);
    else this.#buf.writeUInt16BE(len, at);
    return this.pad();
  }

  /** The finished message (a copy-free view), with nlmsg_len, `seq` and `pid` set. */
  finish(seq = 0, pid = 0): Buffer {
    if (this.#open.length > 0) throw encodeError('netlink message finished with an open nest');
    this.pad();
    const b = this.#buf.subarray(0, this.#len);
    if (LE) {
      b.writeUInt32LE(this.#len, 0);
      b.writeUInt32LE(seq >>> 0, 8);
      b.writeUInt32LE(pid >>> 0, 12);
    } else {
      b.writeUInt32BE(this.#len, 0);
      b.writeUInt32BE(seq >>> 0, 8);
      b.writeUInt32BE(pid >>> 0, 12);
    }
    return b;
  }
}

/** Sets the sequence number of a finished message in place. */
export function setSeq(msg: Buffer, seq: number): void {
  if (LE) msg.writeUInt32LE(seq >>> 0, 8);
  else msg.writeUInt32BE(seq >>> 0, 8);
}

/** Sets NLM_F_* `flags` in the header of a finished message, in place (the others are kept). */
export function addFlags(msg: Buffer, flags: number): void {
  if (LE) msg.writeUInt16LE((msg.readUInt16LE(6) | flags) & 0xffff, 6);
  else msg.writeUInt16BE((msg.readUInt16BE(6) | flags) & 0xffff, 6);
}

/** Reads host-order integers with bounds checks that throw {@link NetlinkDecodeError}. */
export class Reader {
  /** The bytes read; offsets below are relative to `buf`, `base` is added to error offsets. */
  constructor(
    readonly buf: Buffer,
    readonly base = 0,
  ) {}
  #need(off: number, n: number, what: string): void {
    if (off < 0 || off + n > this.buf.length)
      throw new NetlinkDecodeError(`${what} needs ${n} bytes, ${Math.max(0, this.buf.length - off)} left`, this.base + off);
  }
  u8(off: number, what = 'u8'): number {
    this.#need(off, 1, what);
    return this.buf[off]!;
  }
  u16(off: number, what = 'u16'): number {
    this.#need(off, 2, what);
    return LE ? this.buf.readUInt16LE(off) : this.buf.readUInt16BE(off);
  }
  u32(off: number, what = 'u32'): number {
    this.#need(off, 4, what);
    return LE ? this.buf.readUInt32LE(off) : this.buf.readUInt32BE(off);
  }
  i32(off: number, what = 's32'): number {
    this.#need(off, 4, what);
    return LE ? this.buf.readInt32LE(off) : this.buf.readInt32BE(off);
  }
}

/** One decoded netlink message; `body` is a view of the payload after the 16-byte header. */
export interface NlMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  readonly body: Buffer;
  /** Offset of the message in its datagram (for error offsets). */
  readonly offset: number;
}

/**
 * Splits a datagram into messages. A length shorter than the header or longer than what
 * is left of the datagram is refused; so is trailing garbage shorter than a header.
 */
export function splitMessages(datagram: Buffer): NlMessage[] {
  const r = new Reader(datagram);
  const out: NlMessage[] = [];
  let off = 0;
  while (off < datagram.length) {
    const len = r.u32(off, 'nlmsghdr');
    if (len < NLMSGHDR) throw new NetlinkDecodeError(`nlmsg_len ${len} is shorter than the ${NLMSGHDR}-byte header`, off);
    if (len > datagram.length - off)
      throw new NetlinkDecodeError(`nlmsg_len ${len} overruns the datagram (${datagram.length - off} bytes left)`, off);
    out.push({
      type: r.u16(off + 4),
      flags: r.u16(off + 6),
      seq: r.u32(off + 8),
      pid: r.u32(off + 12),
      body: datagram.subarray(off + NLMSGHDR, off + len),
      offset: off,
    });
    off += Math.min(align4(len), datagram.length - off);
  }
  return out;
}

/** Attributes of one level, by type (NLA_F_NESTED/NLA_F_NET_BYTEORDER masked off); the last of a repeated type wins. */
export type Attrs = Map<number, Buffer>;

/**
 * Parses the attributes in `buf` from `start`. A length shorter than the 4-byte attribute
 * header or overrunning `buf` is refused.
 */
export function parseAttrs(buf: Buffer, start = 0, base = 0, wanted?: ReadonlySet<number>): Attrs {
  const out: Attrs = new Map();
  const end = buf.length;
  let off = start;
  // Every attribute's length is checked, wanted or not; only the wanted ones get a view
  // (a link carries ~50 attributes and a 1,000-link dump would otherwise make 50,000).
  while (off < end) {
    if (end - off < RTATTR) throw new NetlinkDecodeError(`attribute header needs ${RTATTR} bytes, ${end - off} left`, base + off);
    const len = LE ? buf[off]! | (buf[off + 1]! << 8) : (buf[off]! << 8) | buf[off + 1]!;
    if (len < RTATTR) throw new NetlinkDecodeError(`attribute length ${len} is shorter than its ${RTATTR}-byte header`, base + off);
    if (len > end - off)
      throw new NetlinkDecodeError(`attribute length ${len} overruns its container (${end - off} bytes left)`, base + off);
    const type = (LE ? buf[off + 2]! | (buf[off + 3]! << 8) : (buf[off + 2]! << 8) | buf[off + 3]!) & ATTR_TYPE_MASK;
    if (wanted === undefined || wanted.has(type)) out.set(type, buf.subarray(off + RTATTR, off + len));
    off += Math.min((len + 3) & ~3, end - off);
  }
  return out;
}

/** The payload of attribute `type`, which must be exactly `size` bytes (NLA_U8 … NLA_S32 in the kernel's policies). */
function fixed(a: Attrs, type: number, size: number, what: string): Buffer | undefined {
  const b = a.get(type);
  if (b === undefined) return undefined;
  // Shorter would read past the payload, longer would silently drop bytes: both are refused.
  if (b.length !== size) throw new NetlinkDecodeError(`attribute ${type} (${what}) has ${b.length} bytes, not ${size}`, 0);
  return b;
}

/** Typed attribute accessors: a payload of any other size than its type's is a {@link NetlinkDecodeError}. */
export const attr = {
  u8(a: Attrs, type: number): number | undefined {
    return fixed(a, type, 1, 'u8')?.[0];
  },
  u16(a: Attrs, type: number): number | undefined {
    const b = fixed(a, type, 2, 'u16');
    return b === undefined ? undefined : LE ? b.readUInt16LE(0) : b.readUInt16BE(0);
  },
  u32(a: Attrs, type: number): number | undefined {
    const b = fixed(a, type, 4, 'u32');
    return b === undefined ? undefined : LE ? b.readUInt32LE(0) : b.readUInt32BE(0);
  },
  i32(a: Attrs, type: number): number | undefined {
    const b = fixed(a, type, 4, 's32');
    return b === undefined ? undefined : LE ? b.readInt32LE(0) : b.readInt32BE(0);
  },
  /** A NUL-terminated (or not) string. */
  str(a: Attrs, type: number): string | undefined {
    const b = a.get(type);
    if (b === undefined) return undefined;
    const nul = b.indexOf(0);
    return b.toString('utf8', 0, nul < 0 ? b.length : nul);
  },
  nested(a: Attrs, type: number): Attrs | undefined {
    const b = a.get(type);
    return b === undefined ? undefined : parseAttrs(b);
  },
};

/** A decoded NLMSG_ERROR (an ACK when `error` is 0) or the status of an NLMSG_DONE. */
export interface NlError {
  /** errno as the kernel sends it: 0 (ACK) or negative. */
  readonly error: number;
  /** NLMSGERR_ATTR_MSG: the kernel's reason, as text. */
  readonly message?: string;
  /** NLMSGERR_ATTR_OFFS: offset in the request of the attribute at fault. */
  readonly offset?: number;
}

/**
 * Decodes the body of NLMSG_ERROR: s32 error, the request's header (the whole request unless
 * the ACK is capped), then extended-ACK attributes when NLM_F_ACK_TLVS is set.
 */
export function decodeError(msg: NlMessage): NlError {
  const r = new Reader(msg.body, msg.offset + NLMSGHDR);
  const error = r.i32(0, 'nlmsgerr.error');
  const origLen = r.u32(4, 'nlmsgerr.msg');
  if (!(msg.flags & NL.NLM_F_ACK_TLVS)) return { error };
  let tlvStart = 4 + NLMSGHDR;
  if (!(msg.flags & NL.NLM_F_CAPPED)) {
    if (origLen < NLMSGHDR || 4 + origLen > msg.body.length) {
      throw new NetlinkDecodeError(`nlmsgerr echoes a ${origLen}-byte request that overruns the message`, msg.offset + NLMSGHDR + 4);
    }
    tlvStart = 4 + align4(origLen);
  }
  if (tlvStart > msg.body.length)
    throw new NetlinkDecodeError('nlmsgerr: extended ACK starts past the message', msg.offset + NLMSGHDR + tlvStart);
  const a = parseAttrs(msg.body, tlvStart, msg.offset + NLMSGHDR);
  const out: { error: number; message?: string; offset?: number } = { error };
  const text = attr.str(a, NL.NLMSGERR_ATTR_MSG);
  if (text !== undefined) out.message = text;
  const offs = attr.u32(a, NL.NLMSGERR_ATTR_OFFS);
  if (offs !== undefined) out.offset = offs;
  return out;
}

/** Decodes the body of NLMSG_DONE: an s32 status (a dump can fail at its end) and extack TLVs. */
export function decodeDone(msg: NlMessage): NlError {
  if (msg.body.length < 4) return { error: 0 };
  const r = new Reader(msg.body, msg.offset + NLMSGHDR);
  const error = r.i32(0, 'NLMSG_DONE status');
  if (!(msg.flags & NL.NLM_F_ACK_TLVS)) return { error };
  const a = parseAttrs(msg.body, 4, msg.offset + NLMSGHDR);
  const text = attr.str(a, NL.NLMSGERR_ATTR_MSG);
  return text === undefined ? { error } : { error, message: text };
}
