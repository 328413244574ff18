/**
 * Checks of nf_tables specs and transaction operations, synchronous and before any syscall:
 * a bad name, family, hook, register or expression is an `ERR_INVALID_ARG_*` naming the
 * argument, never a kernel EINVAL.
 * @internal
 * @module
 */
import { invalidArgType, invalidArgValue } from '../../errors.js';
import { CHAIN_TYPES, FAMILIES } from '../netlink/nft.js';
import { CMP_OPS, CT_KEYS, FIB_FLAGS, FIB_RESULTS, META_KEYS, NAT_FLAGS, PAYLOAD_BASES } from '../netlink/nft-expr.js';
import type { NftChainSpec, NftExpr, NftFamily, NftRuleSpec, NftTableSpec, NftVerdict } from '../netlink/nft-objects.js';
import type { NftOp } from './types.js';

const HOOKS = ['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress'];

function obj(name: string, v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object') throw invalidArgType(name, 'of type object', v);
  return v as Record<string, unknown>;
}

/** An nf_tables object name: 1–255 bytes, no NUL (NFT_NAME_MAXLEN 256 with its NUL). */
export function checkNftName(name: string, v: unknown): string {
  if (typeof v !== 'string') throw invalidArgType(name, 'of type string', v);
  if (v === '' || Buffer.byteLength(v) > 255) throw invalidArgValue(name, v, 'must be 1 to 255 bytes');
  if (v.includes('\0')) throw invalidArgValue(name, v, 'must not contain null bytes');
  return v;
}

export function checkFamily(name: string, v: unknown): NftFamily {
  if (typeof v !== 'string' || !(v in FAMILIES.byName))
    throw invalidArgValue(name, v, `must be one of ${Object.keys(FAMILIES.byName).join(', ')}`);
  return v as NftFamily;
}

function checkInt(name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    throw invalidArgValue(name, v, `must be an integer from ${lo} to ${hi}`);
  return v;
}

function checkReg(name: string, v: unknown, verdictOk = false): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || !((v >= 1 && v <= 4) || (v >= 8 && v <= 23) || (verdictOk && v === 0)))
    throw invalidArgValue(name, v, 'must be a register: 1-4 or 8-23');
}

function checkBytes(name: string, v: unknown, max = 16): void {
  if (!(v instanceof Uint8Array)) throw invalidArgType(name, 'a Uint8Array or Buffer', v);
  if (v.length === 0 || v.length > max) throw invalidArgValue(name, `${v.length} bytes`, `must be 1 to ${max} bytes`);
}

function checkOneOf(name: string, v: unknown, names: readonly string[]): void {
  if (typeof v !== 'string' || !names.includes(v)) throw invalidArgValue(name, v, `must be one of ${names.join(', ')}`);
}

function checkFlags(name: string, v: unknown, names: readonly string[]): void {
  if (!Array.isArray(v)) throw invalidArgType(name, 'an array', v);
  for (const [i, f] of v.entries()) checkOneOf(`${name}[${i}]`, f, names);
}

function checkVerdict(name: string, v: unknown): NftVerdict {
  if (typeof v === 'string') {
    checkOneOf(name, v, ['accept', 'drop', 'continue', 'return']);
    return v as NftVerdict;
  }
  const o = obj(name, v);
  if ('jump' in o) checkNftName(`${name}.jump`, o.jump);
  else if ('goto' in o) checkNftName(`${name}.goto`, o.goto);
  else throw invalidArgValue(name, v, "must be 'accept', 'drop', 'continue', 'return', { jump } or { goto }");
  return v as NftVerdict;
}

/** Checks one expression. */
export function checkExpr(name: string, v: unknown): NftExpr {
  const e = obj(name, v);
  const reg = (k: string, verdictOk = false) => checkReg(`${name}.${k}`, e[k], verdictOk);
  const optReg = (k: string) => e[k] !== undefined && reg(k);
  switch (e.type) {
    case 'meta':
      checkOneOf(`${name}.key`, e.key, Object.keys(META_KEYS.byName));
      reg('dreg');
      break;
    case 'payload':
      checkOneOf(`${name}.base`, e.base, Object.keys(PAYLOAD_BASES.byName));
      checkInt(`${name}.offset`, e.offset, 0, 255);
      checkInt(`${name}.len`, e.len, 1, 16);
      reg('dreg');
      break;
    case 'cmp':
      checkOneOf(`${name}.op`, e.op, Object.keys(CMP_OPS.byName));
      reg('sreg');
      checkBytes(`${name}.data`, e.data);
      break;
    case 'bitwise':
      reg('sreg');
      reg('dreg');
      checkInt(`${name}.len`, e.len, 1, 16);
      checkBytes(`${name}.mask`, e.mask);
      checkBytes(`${name}.xor`, e.xor);
      if ((e.mask as Uint8Array).length !== e.len || (e.xor as Uint8Array).length !== e.len)
        throw invalidArgValue(`${name}.mask`, e.mask, 'mask and xor must be len bytes');
      break;
    case 'immediate':
      reg('dreg');
      checkBytes(`${name}.data`, e.data);
      break;
    case 'verdict':
      checkVerdict(`${name}.verdict`, e.verdict);
      break;
    case 'nat':
      checkOneOf(`${name}.nat`, e.nat, ['snat', 'dnat']);
      checkOneOf(`${name}.family`, e.family, ['ip', 'ip6']);
      for (const k of ['addrMin', 'addrMax', 'protoMin', 'protoMax']) optReg(k);
      if (e.flags !== undefined) checkFlags(`${name}.flags`, e.flags, Object.keys(NAT_FLAGS));
      break;
    case 'masq':
      for (const k of ['protoMin', 'protoMax']) optReg(k);
      if (e.flags !== undefined) checkFlags(`${name}.flags`, e.flags, Object.keys(NAT_FLAGS));
      break;
    case 'fib':
      checkFlags(`${name}.flags`, e.flags, Object.keys(FIB_FLAGS));
      checkOneOf(`${name}.result`, e.result, Object.keys(FIB_RESULTS.byName));
      reg('dreg');
      break;
    case 'ct':
      checkOneOf(`${name}.key`, e.key, Object.keys(CT_KEYS.byName));
      reg('dreg');
      if (e.direction !== undefined) checkOneOf(`${name}.direction`, e.direction, ['original', 'reply']);
      break;
    case 'counter':
      for (const k of ['packets', 'bytes'])
        if (e[k] !== undefined && (typeof e[k] !== 'bigint' || (e[k] as bigint) < 0n))
          throw invalidArgValue(`${name}.${k}`, e[k], 'must be a bigint >= 0');
      break;
    case 'lookup':
      checkNftName(`${name}.set`, e.set);
      reg('sreg');
      optReg('dreg');
      break;
    case 'other':
      checkNftName(`${name}.name`, e.name);
      if (!(e.data instanceof Uint8Array)) throw invalidArgType(`${name}.data`, 'a Uint8Array or Buffer', e.data);
      break;
    default:
      throw invalidArgValue(`${name}.type`, e.type, 'is not an nf_tables expression this library encodes');
  }
  return e as unknown as NftExpr;
}

export function checkTableSpec(name: string, v: unknown): NftTableSpec {
  const t = obj(name, v);
  checkFamily(`${name}.family`, t.family);
  checkNftName(`${name}.name`, t.name);
  return t as unknown as NftTableSpec;
}

export function checkChainSpec(name: string, v: unknown): NftChainSpec {
  const c = obj(name, v);
  const family = checkFamily(`${name}.family`, c.family);
  checkNftName(`${name}.table`, c.table);
  checkNftName(`${name}.name`, c.name);
  if (c.hook !== undefined) {
    checkOneOf(`${name}.hook`, c.hook, HOOKS);
    if ((c.hook === 'ingress') !== (family === 'netdev'))
      throw invalidArgValue(`${name}.hook`, c.hook, "'ingress' is the netdev family's only hook");
    if (c.type !== undefined) checkOneOf(`${name}.type`, c.type, CHAIN_TYPES);
    if (c.priority !== undefined) checkInt(`${name}.priority`, c.priority, -0x80000000, 0x7fffffff);
    if (c.policy !== undefined) checkOneOf(`${name}.policy`, c.policy, ['accept', 'drop']);
    if (c.device !== undefined) checkNftName(`${name}.device`, c.device);
  } else {
    for (const k of ['type', 'priority', 'policy', 'device'])
      if (c[k] !== undefined) throw invalidArgValue(`${name}.${k}`, c[k], 'applies to base chains only (set hook)');
  }
  return c as unknown as NftChainSpec;
}

export function checkRuleSpec(name: string, v: unknown): NftRuleSpec {
  const r = obj(name, v);
  checkFamily(`${name}.family`, r.family);
  checkNftName(`${name}.table`, r.table);
  checkNftName(`${name}.chain`, r.chain);
  if (!Array.isArray(r.exprs)) throw invalidArgType(`${name}.exprs`, 'an array', r.exprs);
  for (const [i, e] of r.exprs.entries()) checkExpr(`${name}.exprs[${i}]`, e);
  return r as unknown as NftRuleSpec;
}

/** Checks one transaction operation (`{ add: { table } }`, `{ delete: { rule } }`, …). */
export function checkOp(name: string, v: unknown): NftOp {
  const o = obj(name, v);
  const verb = 'add' in o ? 'add' : 'delete' in o ? 'delete' : undefined;
  if (verb === undefined || Object.keys(o).length !== 1)
    throw invalidArgValue(name, v, 'must be { add: { table|chain|rule } } or { delete: { table|chain|rule } }');
  const body = obj(`${name}.${verb}`, o[verb]);
  const kinds = Object.keys(body);
  if (kinds.length !== 1 || !['table', 'chain', 'rule'].includes(kinds[0]!))
    throw invalidArgValue(`${name}.${verb}`, body, 'must hold exactly one of table, chain, rule');
  const kind = kinds[0]!;
  const at = `${name}.${verb}.${kind}`;
  if (verb === 'add') {
    if (kind === 'table') checkTableSpec(at, body.table);
    else if (kind === 'chain') checkChainSpec(at, body.chain);
    else checkRuleSpec(at, body.rule);
  } else {
    const d = obj(at, body[kind]);
    checkFamily(`${at}.family`, d.family);
    if (kind === 'table') checkNftName(`${at}.name`, d.name);
    else {
      checkNftName(`${at}.table`, d.table);
      if (kind === 'chain') checkNftName(`${at}.name`, d.name);
      else {
        checkNftName(`${at}.chain`, d.chain);
        if (typeof d.handle !== 'bigint' || d.handle <= 0n)
          throw invalidArgValue(`${at}.handle`, d.handle, 'must be a rule handle (a bigint > 0)');
      }
    }
  }
  return o as unknown as NftOp;
}
