/**
 * Routes: list, add, replace, delete — `ip route` over rtnetlink, IPv4 and IPv6.
 * @module
 */
import { invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { NL } from './netlink/constants.js';
import { decodeRoute, encodeGetRoutes, encodeRoute, type RouteRequest } from './netlink/route.js';
import { SCOPES } from './netlink/rtnl.js';
import { parseCidr, parseIp } from './ip.js';
import { checkIfName, resolveIndex, withRtnl } from './target.js';
import type { NetnsOptions, Route, RouteQuery, RouteSpec } from './types.js';

function checkOpts<T extends NetnsOptions>(o: unknown): T {
  if (o === null || typeof o !== 'object') throw invalidArgType('options', 'of type object', o);
  return o as T;
}

/**
 * The routes of the namespace: RTM_GETROUTE dump, filtered to the main table unless asked.
 * Replaces `ip -j route show` (`ip -j -6 route show`, `table all`). No privileges needed.
 * @throws SysError (syscall `'RTM_GETROUTE'`).
 */
export async function routes(query: RouteQuery = {}): Promise<Route[]> {
  const q = checkOpts<RouteQuery>(query);
  if (q.family !== undefined && q.family !== 4 && q.family !== 6) throw invalidArgValue('options.family', q.family, 'must be 4 or 6');
  const t = q.table ?? NL.RT_TABLE_MAIN;
  if (t !== 'all' && (typeof t !== 'number' || !Number.isInteger(t) || t < 0))
    throw invalidArgValue('options.table', t, "must be a table number or 'all'");
  const fam = q.family === 4 ? NL.AF_INET : q.family === 6 ? NL.AF_INET6 : NL.AF_UNSPEC;
  return withRtnl(q.netns, async (s) => {
    const msgs = await s.request(encodeGetRoutes(fam), { syscall: 'RTM_GETROUTE' });
    const all = msgs.filter((m) => m.type === NL.RTM_NEWROUTE && (m.body[0] === NL.AF_INET || m.body[0] === NL.AF_INET6)).map(decodeRoute);
    return t === 'all' ? all : all.filter((r) => r.table === t);
  });
}

function buildRoute(spec: RouteSpec): { req: Omit<RouteRequest, 'oif'>; dev?: string } {
  if (spec === null || typeof spec !== 'object') throw invalidArgType('route', 'of type object', spec);
  let family: 4 | 6 | undefined;
  const req: Omit<RouteRequest, 'oif'> = { family: 0, dstLen: 0, table: NL.RT_TABLE_MAIN };
  if (spec.dst !== 'default') {
    const c = parseCidr('route.dst', spec.dst, true);
    family = c.family;
    req.dst = c.bytes;
    req.dstLen = c.prefix;
  }
  if (spec.gateway !== undefined) {
    const g = parseIp('route.gateway', spec.gateway);
    if (family !== undefined && g.family !== family) throw invalidArgValue('route.gateway', spec.gateway, 'is not of the family of dst');
    family = g.family;
    req.gateway = g.bytes;
  }
  if (spec.src !== undefined) {
    const p = parseIp('route.src', spec.src);
    if (family !== undefined && p.family !== family) throw invalidArgValue('route.src', spec.src, 'is not of the family of dst');
    family = p.family;
    req.prefsrc = p.bytes;
  }
  req.family = family === 6 ? NL.AF_INET6 : NL.AF_INET; // 'default' alone means IPv4, as `ip route`
  if (spec.table !== undefined) {
    if (!Number.isInteger(spec.table) || spec.table < 1 || spec.table > 0xffffffff)
      throw outOfRange('route.table', 'an integer from 1 to 2^32-1', spec.table);
    req.table = spec.table;
  }
  if (spec.metric !== undefined) {
    if (!Number.isInteger(spec.metric) || spec.metric < 0 || spec.metric > 0xffffffff)
      throw outOfRange('route.metric', 'an integer from 0 to 2^32-1', spec.metric);
    req.metric = spec.metric;
  }
  if (spec.scope !== undefined) {
    const n = SCOPES.byName[spec.scope];
    if (n === undefined) throw invalidArgValue('route.scope', spec.scope, `must be one of ${Object.keys(SCOPES.byName).join(', ')}`);
    req.scope = n;
  }
  if (spec.dev !== undefined) return { req, dev: checkIfName('route.dev', spec.dev) };
  return { req };
}

async function modify(op: 'add' | 'replace' | 'del', spec: RouteSpec, opts: NetnsOptions): Promise<void> {
  const o = checkOpts<NetnsOptions>(opts);
  const { req, dev } = buildRoute(spec);
  const syscall = op === 'del' ? 'RTM_DELROUTE' : 'RTM_NEWROUTE';
  await withRtnl(o.netns, async (s) => {
    const full: RouteRequest = dev === undefined ? req : { ...req, oif: await resolveIndex(s, dev) };
    await s.request(encodeRoute(op, full), dev === undefined ? { syscall } : { syscall, ifname: dev });
  });
}

/**
 * Adds a route: RTM_NEWROUTE with NLM_F_CREATE|NLM_F_EXCL. Replaces
 * `ip route add DST|default [via GW] [dev DEV] [table N] [metric N] [scope S] [src ADDR]`.
 * Needs CAP_NET_ADMIN.
 * @throws validation errors before any request; SysError (syscall `'RTM_NEWROUTE'`,
 * `kernelMessage`) `EEXIST`, `ENETUNREACH` (gateway not reachable), `ENODEV`, `EPERM`.
 */
export async function addRoute(route: RouteSpec, options: NetnsOptions = {}): Promise<void> {
  await modify('add', route, options);
}

/**
 * Adds or replaces a route: RTM_NEWROUTE with NLM_F_CREATE|NLM_F_REPLACE. Replaces
 * `ip route replace …`. Needs CAP_NET_ADMIN.
 * @throws as {@link addRoute}, without `EEXIST`.
 */
export async function replaceRoute(route: RouteSpec, options: NetnsOptions = {}): Promise<void> {
  await modify('replace', route, options);
}

/**
 * Deletes a route: RTM_DELROUTE. Replaces `ip route del …`. Fields left out match anything.
 * Needs CAP_NET_ADMIN.
 * @throws SysError (syscall `'RTM_DELROUTE'`) `ESRCH` (no such route), `EPERM`.
 */
export async function deleteRoute(route: RouteSpec, options: NetnsOptions = {}): Promise<void> {
  await modify('del', route, options);
}
