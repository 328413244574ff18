/**
 * Text ↔ bytes for IP addresses, prefixes and MAC addresses, with the validation the public
 * API needs before any request is built.
 * @internal
 * @module
 */
import { invalidArgValue } from '../errors.js';

/** An IP address family: 4 or 6. */
export type IpFamily = 4 | 6;

/** A dotted-quad IPv4 address as node:net's isIPv4 accepts it (no leading zeros, each ≤ 255). */
const V4_OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]\\d|\\d)';
const V4 = new RegExp(`^${V4_OCTET}\\.${V4_OCTET}\\.${V4_OCTET}\\.${V4_OCTET}$`);

/** The bytes of an IPv4 or IPv6 address; `undefined` if `text` is neither. */
export function ipBytes(text: string): Buffer | undefined {
  // IPv4 without node:net: one match, the common case on connectToHost's path.
  const m = V4.exec(text);
  if (m) return Buffer.from([Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])]);
  // node:net only here, when an address is parsed: loading it costs every command that links
  // this module and never parses one.
  const { isIPv4, isIPv6 } = process.getBuiltinModule('node:net');
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  if (!isIPv6(text)) return undefined;
  let s = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  let tail: number[] = [];
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    tail = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
    s = s.slice(0, -v4[1]!.length);
    if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1);
  }
  const [head, rest] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head
    ? head
        .split(':')
        .filter((x) => x !== '')
        .map((x) => parseInt(x, 16))
    : [];
  const r = rest
    ? rest
        .split(':')
        .filter((x) => x !== '')
        .map((x) => parseInt(x, 16))
    : [];
  const groups =
    rest === undefined ? [...h, ...tail] : [...h, ...new Array<number>(8 - h.length - r.length - tail.length).fill(0), ...r, ...tail];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** A parsed `ADDR/PREFIX`. */
export interface Cidr {
  family: IpFamily;
  bytes: Buffer;
  prefix: number;
  text: string;
}

/** Parses `ADDR/PREFIX` (the prefix defaults to the full length when `prefixOptional`). */
export function parseCidr(name: string, value: unknown, prefixOptional = false): Cidr {
  if (typeof value !== 'string') throw invalidArgValue(name, value, "must be a string 'ADDR/PREFIX'");
  const slash = value.indexOf('/');
  const addr = slash < 0 ? value : value.slice(0, slash);
  const bytes = ipBytes(addr);
  if (!bytes) throw invalidArgValue(name, value, 'is not an IPv4 or IPv6 address');
  const max = bytes.length * 8;
  let prefix = max;
  if (slash < 0) {
    if (!prefixOptional) throw invalidArgValue(name, value, "needs a prefix length ('ADDR/PREFIX')");
  } else {
    const p = value.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) throw invalidArgValue(name, value, `has a prefix length that is not 0..${max}`);
    prefix = Number(p);
  }
  return { family: bytes.length === 4 ? 4 : 6, bytes, prefix, text: addr };
}

/** Parses an address without prefix. */
export function parseIp(name: string, value: unknown): { family: IpFamily; bytes: Buffer } {
  const bytes = typeof value === 'string' ? ipBytes(value) : undefined;
  if (!bytes) throw invalidArgValue(name, value, 'is not an IPv4 or IPv6 address');
  return { family: bytes.length === 4 ? 4 : 6, bytes };
}

/** The IPv4 broadcast address of a prefix (what `ip addr add … broadcast +` computes). */
export function broadcastOf(c: Cidr): Buffer {
  const n = c.bytes.readUInt32BE(0);
  const host = c.prefix === 32 ? 0 : 0xffffffff >>> c.prefix;
  const out = Buffer.alloc(4);
  out.writeUInt32BE((n | host) >>> 0);
  return out;
}

/** `aa:bb:cc:dd:ee:ff` → 6 bytes. */
export function macBytes(name: string, value: unknown): Buffer {
  if (typeof value !== 'string' || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(value)) {
    throw invalidArgValue(name, value, "must be a MAC address 'aa:bb:cc:dd:ee:ff'");
  }
  return Buffer.from(value.split(':').map((x) => parseInt(x, 16)));
}

export { ipText, macText } from './netlink/text.js';
