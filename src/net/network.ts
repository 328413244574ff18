/**
 * Named networks, as `docker network` gives them: a bridge with a subnet in the caller's
 * network namespace, outbound NAT, addresses handed out to members, and an /etc/hosts per
 * member naming every member — updated as members come and go. The state lives in files
 * (network-state.ts), so networks outlive the process that made them and any process can
 * join one by name; the kernel objects (bridge, NAT table) stay until {@link removeNetwork}.
 * @module
 */
import { join } from 'node:path';
import { mkdirSync, rmSync } from 'node:fs';
import { invalidArgType, invalidArgValue, nsboxError } from '../errors.js';
import { native } from '../native.js';
import { addAddress } from './address.js';
import { hardenHostLink } from './host-end.js';
import { addLink, deleteLink, setLink } from './link.js';
import { routes } from './route.js';
import { isolateAddress } from './nft/isolate.js';
import { enableForwarding, masqueradePlan } from './nft/nat.js';
import { nftablesAt } from './nft/session.js';
import { parseCidr, type Cidr } from './ip.js';
import {
  currentNetns,
  defaultStateDir,
  liveMembers,
  memberPaths,
  networkNames,
  readJson,
  rewriteHosts,
  withStateLock,
  writeJson,
  type MemberRecord,
  type NetworkRecord,
} from './network-state.js';
import { NetworkMember } from './network-member.js';

/** Options every network call takes. */
export interface NetworkStateOptions {
  /** Where the networks' state lives. Default: `/run/nsbox/networks` (root), else `$XDG_RUNTIME_DIR/nsbox/networks`. */
  stateDir?: string;
}

/** Options of {@link createNetwork}. */
export interface CreateNetworkOptions extends NetworkStateOptions {
  /** The IPv4 subnet, `ADDR/PREFIX` (prefix 8 to 30). Default: the first free `10.89.N.0/24`. */
  subnet?: string;
  /** Outbound NAT for the subnet (a masquerade table of the network's own). Default true. */
  nat?: boolean;
}

/** A network as {@link listNetworks} and {@link Network.info} describe it. */
export interface NetworkInfo {
  /** Its name. */
  name: string;
  /** `10.89.0.0/24`. */
  subnet: string;
  /** The bridge's address, the members' default route. */
  gateway: string;
  /** The bridge's name. */
  bridge: string;
  /** The nf_tables table of its NAT (`nsbox_net_NAME`, family `ip`), or null. */
  natTable: string | null;
  /** The network namespace its bridge is in (`net:[INODE]`). */
  netns: string;
  /** Its live members, in address order. */
  members: NetworkMemberInfo[];
}

/** A live member of a network, as {@link NetworkInfo.members} lists it. */
export interface NetworkMemberInfo {
  /** Its name, in every member's /etc/hosts. */
  name: string;
  /** Its address. */
  address: string;
  /** The process that holds its claim (the one that joined). */
  pid: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function checkName(name: unknown): string {
  if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
  if (!NAME.test(name)) throw invalidArgValue('name', name, 'must be 1 to 32 letters, digits, _ or -, starting with a letter or digit');
  return name;
}

function stateDirOf(o: unknown): string {
  if (o === undefined) return defaultStateDir();
  if (o === null || typeof o !== 'object') throw invalidArgType('options', 'of type object', o);
  const d = (o as NetworkStateOptions).stateDir;
  if (d === undefined) return defaultStateDir();
  if (typeof d !== 'string' || !d.startsWith('/')) throw invalidArgValue('options.stateDir', d, 'must be an absolute path');
  return d;
}

const v4 = (s: string) => s.split('.').reduce((n, b) => n * 256 + Number(b), 0);
const dotted = (n: number) => [24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join('.');
/** [first, end) of a CIDR as numbers. */
function span(c: string): [number, number] {
  const [a, p] = c.split('/') as [string, string];
  const size = 2 ** (32 - Number(p));
  const first = v4(a) - (v4(a) % size);
  return [first, first + size];
}
const overlaps = (a: string, b: string) => {
  const [a0, a1] = span(a);
  const [b0, b1] = span(b);
  return a0 < b1 && b0 < a1;
};

function checkSubnet(value: unknown): Cidr {
  const c = parseCidr('options.subnet', value);
  if (c.family !== 4 || c.prefix < 8 || c.prefix > 30)
    throw invalidArgValue('options.subnet', value, 'must be an IPv4 ADDR/PREFIX with a prefix from 8 to 30');
  return c;
}

/** The bridge's name: `nsbr-NAME` when it fits IFNAMSIZ, else `nsbr-` and a hash of the name. */
function bridgeName(name: string): string {
  if (name.length <= 10) return `nsbr-${name}`;
  let h = 0x811c9dc5;
  for (const ch of Buffer.from(name)) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  return `nsbr-${h.toString(16).padStart(8, '0')}`;
}

/** A free default subnet: 10.89.N.0/24 overlapping no recorded network and no route here. */
async function freeSubnet(dir: string): Promise<string> {
  const taken = networkNames(dir).map((n) => readJson<NetworkRecord>(join(dir, n, 'network.json'))!.subnet);
  for (const r of await routes({ family: 4 })) if (r.dst !== 'default' && r.dst.includes('/')) taken.push(r.dst);
  for (let n = 0; n < 256; n++) {
    const s = `10.89.${n}.0/24`;
    if (!taken.some((t) => overlaps(t, s))) return s;
  }
  throw nsboxError('ERR_NSBOX_NETWORK_FULL', 'every default subnet 10.89.0.0/24 to 10.89.255.0/24 is in use: give options.subnet');
}

function record(dir: string, name: string): NetworkRecord {
  const r = readJson<NetworkRecord>(join(dir, name, 'network.json'));
  if (!r) throw nsboxError('ERR_NSBOX_NETWORK_NOT_FOUND', `no network named '${name}' in ${dir}`);
  return r;
}

/** Refuses a network whose bridge is in another network namespace than the caller's. */
function here(r: NetworkRecord): void {
  const ns = currentNetns();
  if (r.netns !== ns)
    throw nsboxError('ERR_NSBOX_NETWORK_NOT_FOUND', `network '${r.name}' lives in network namespace ${r.netns}, not in this one (${ns})`);
}

/**
 * Creates a named network in the caller's network namespace: a bridge (`nsbr-NAME`) with the
 * subnet's first address, up; with `nat` (default), forwarding on and a masquerade for the
 * subnet in an nf_tables table of its own (`ip nsbox_net_NAME`), which is *not* owned by a
 * socket — it must outlive this process — and is deleted by {@link removeNetwork}. The state
 * is recorded under `stateDir`. Replaces `docker network create [--subnet CIDR] NAME`, i.e.
 * `ip link add nsbr-NAME type bridge; ip addr add GW/P dev nsbr-NAME; ip link set nsbr-NAME
 * up; sysctl -w net.ipv4.ip_forward=1; nft add table ip nsbox_net_NAME; nft add chain …
 * postrouting { type nat hook postrouting priority srcnat; }; nft add rule … ip saddr CIDR
 * ip daddr != CIDR counter masquerade`.
 *
 * Needs CAP_NET_ADMIN in the caller's network namespace (root), and write access to the state
 * directory. Does not block the event loop.
 * @throws `ERR_INVALID_ARG_*` before anything is done; `ERR_NSBOX_NETWORK_EXISTS`;
 * `ERR_NSBOX_NETWORK_FULL` (no free default subnet); `ERR_NSBOX_NETWORK_IN_USE` (the subnet
 * overlaps another network's); SysError from the bridge (`'RTM_NEWLINK'` `EEXIST`, `EPERM`) or
 * the NAT transaction. A failure removes what was made.
 */
export async function createNetwork(name: string, options: CreateNetworkOptions = {}): Promise<Network> {
  checkName(name);
  const dir = stateDirOf(options);
  const subnetGiven = options.subnet === undefined ? undefined : checkSubnet(options.subnet);
  if (options.nat !== undefined && typeof options.nat !== 'boolean') throw invalidArgType('options.nat', 'of type boolean', options.nat);
  return withStateLock(dir, async () => {
    if (readJson(join(dir, name, 'network.json')))
      throw nsboxError('ERR_NSBOX_NETWORK_EXISTS', `a network named '${name}' exists already (${join(dir, name)})`);
    let subnet: string;
    if (subnetGiven) {
      subnet = `${dotted(span(`${subnetGiven.text}/${subnetGiven.prefix}`)[0])}/${subnetGiven.prefix}`;
      for (const n of networkNames(dir)) {
        if (overlaps(record(dir, n).subnet, subnet))
          throw nsboxError('ERR_NSBOX_NETWORK_IN_USE', `subnet ${subnet} overlaps network '${n}' (${record(dir, n).subnet})`);
      }
    } else subnet = await freeSubnet(dir);
    const prefix = Number(subnet.split('/')[1]);
    const gateway = dotted(span(subnet)[0] + 1);
    const bridge = bridgeName(name);
    const natTable = options.nat === false ? null : `nsbox_net_${name.replace(/-/g, '_')}`;
    const rec: NetworkRecord = { version: 1, name, subnet, gateway, bridge, natTable, netns: currentNetns() };
    let bridgeMade = false;
    try {
      // Down until hardened (host-end.ts): the members' traffic reaches the host through it.
      await addLink({ kind: 'bridge', name: bridge, up: false });
      bridgeMade = true;
      hardenHostLink(bridge, false);
      await addAddress(bridge, `${gateway}/${prefix}`);
      await setLink(bridge, { up: true });
      if (natTable) {
        enableForwarding({ fd: -1, release() {} }, 4);
        const s = nftablesAt(-1);
        try {
          await s.commit(masqueradePlan(natTable, parseCidr('subnet', subnet), undefined, false));
        } finally {
          s.close();
        }
      }
      mkdirSync(join(dir, name, 'members'), { recursive: true, mode: 0o755 });
      mkdirSync(join(dir, name, 'hosts'), { recursive: true, mode: 0o755 });
      writeJson(join(dir, name, 'network.json'), rec);
    } catch (err) {
      if (bridgeMade) await deleteLink(bridge).catch(() => undefined);
      rmSync(join(dir, name), { recursive: true, force: true });
      throw err;
    }
    return new Network(dir, rec);
  });
}

/**
 * Opens a network made by {@link createNetwork} (by this or any other process) by name. Holds
 * nothing: the object is the record, read under the state lock.
 * @throws `ERR_NSBOX_NETWORK_NOT_FOUND` (none by that name, or its bridge is in another
 * network namespace).
 */
export async function openNetwork(name: string, options: NetworkStateOptions = {}): Promise<Network> {
  checkName(name);
  const dir = stateDirOf(options);
  return withStateLock(dir, () => {
    const r = record(dir, name);
    here(r);
    return new Network(dir, r);
  });
}

function info(dir: string, r: NetworkRecord): NetworkInfo {
  const netDir = join(dir, r.name);
  const { members, reclaimed } = liveMembers(netDir);
  if (reclaimed) rewriteHosts(netDir, members);
  return { name: r.name, subnet: r.subnet, gateway: r.gateway, bridge: r.bridge, natTable: r.natTable, netns: r.netns, members };
}

/**
 * The networks recorded in the state directory (of every network namespace: see `netns`),
 * with their live members; members whose process died are reclaimed on the way. Replaces
 * `docker network ls`.
 */
export async function listNetworks(options: NetworkStateOptions = {}): Promise<NetworkInfo[]> {
  const dir = stateDirOf(options);
  return withStateLock(dir, () => networkNames(dir).map((n) => info(dir, record(dir, n))));
}

/** Options of {@link removeNetwork}. */
export interface RemoveNetworkOptions extends NetworkStateOptions {
  /**
   * Remove it even with live members (their veths leave the deleted bridge and lose their
   * connectivity), or when it was made in another network namespace (then only the state
   * is removed: the bridge and table are that namespace's). Default false.
   */
  force?: boolean;
}

/**
 * Removes a network: its NAT table (`nft delete table ip nsbox_net_NAME`), its bridge
 * (`ip link del nsbr-NAME`) and its state. Replaces `docker network rm NAME`. Needs what
 * {@link createNetwork} needs.
 * @throws `ERR_NSBOX_NETWORK_NOT_FOUND`; `ERR_NSBOX_NETWORK_IN_USE` while a member is live
 * (unless `force`); SysError from the deletions (a bridge or table already gone is no error).
 */
export async function removeNetwork(name: string, options: RemoveNetworkOptions = {}): Promise<void> {
  checkName(name);
  const dir = stateDirOf(options);
  const force = options.force ?? false;
  if (typeof force !== 'boolean') throw invalidArgType('options.force', 'of type boolean', force);
  await withStateLock(dir, async () => {
    const r = record(dir, name);
    const elsewhere = r.netns !== currentNetns();
    if (elsewhere && !force) here(r);
    const { members } = liveMembers(join(dir, name));
    if (members.length > 0 && !force)
      throw nsboxError(
        'ERR_NSBOX_NETWORK_IN_USE',
        `network '${name}' has ${members.length} live member(s): ${members.map((m) => m.name).join(', ')}`,
      );
    if (!elsewhere) {
      if (r.natTable) {
        const s = nftablesAt(-1);
        try {
          await s.commit([{ delete: { table: { family: 'ip', name: r.natTable } } }]);
        } catch (err) {
          if ((err as { code?: string }).code !== 'ENOENT') throw err;
        } finally {
          s.close();
        }
      }
      try {
        await deleteLink(r.bridge);
      } catch (err) {
        if ((err as { code?: string }).code !== 'ENODEV') throw err;
      }
    }
    rmSync(join(dir, name), { recursive: true, force: true });
  });
}

/** Options of {@link Network.join}. */
export interface JoinNetworkOptions {
  /** The member's address in the subnet (without prefix). Default: the first free one. */
  address?: string;
  /**
   * Direct-access protection for the member's address, as Docker 28 gives a container's: an
   * owned nf_tables table ({@link isolateAddress}, `nsbox_iso_<pid>_<n>`) drops packets for
   * the address that come in by any interface but the network's bridge, so a LAN host that
   * routes the subnet through this one, or another sandbox through its own link, reaches only
   * the member's published ports; replies are let in when the network has no NAT. Held until
   * {@link NetworkMember.leave} (or this process's death). Needs CAP_NET_ADMIN. Default true;
   * `false`: none, every port of the member reachable by whoever routes to it.
   */
  isolate?: boolean;
}

/** A named network, as {@link createNetwork} or {@link openNetwork} return it. Holds no resource. */
export class Network {
  readonly #dir: string;
  /** Its name. */
  readonly name: string;
  /** Its subnet, `ADDR/PREFIX`. */
  readonly subnet: string;
  /** The bridge's address: the members' default route. */
  readonly gateway: string;
  /** The bridge's name in the caller's network namespace. */
  readonly bridge: string;
  /** Its NAT table (family `ip`), or null. */
  readonly natTable: string | null;

  /** @internal */
  constructor(dir: string, r: NetworkRecord) {
    this.#dir = dir;
    this.name = r.name;
    this.subnet = r.subnet;
    this.gateway = r.gateway;
    this.bridge = r.bridge;
    this.natTable = r.natTable;
  }

  /** Its current record and live members (members whose process died are reclaimed). */
  async info(): Promise<NetworkInfo> {
    return withStateLock(this.#dir, () => info(this.#dir, record(this.#dir, this.name)));
  }

  /**
   * Makes `name` a member: claims an address (a flock held by this process until
   * {@link NetworkMember.leave}, or its death), writes the member's /etc/hosts and adds the
   * member to every other member's. Pass {@link NetworkMember.spawnOptions} to spawn.
   * Replaces the address allocation and /etc/hosts of `docker run --network NAME --name NAME`.
   * @throws `ERR_INVALID_ARG_VALUE` (a name that is no hostname, an address outside the
   * subnet); `ERR_NSBOX_NETWORK_NOT_FOUND` (removed meanwhile); `ERR_NSBOX_NETWORK_IN_USE`
   * (the name or the address is a live member's); `ERR_NSBOX_NETWORK_FULL`.
   */
  async join(name: string, options: JoinNetworkOptions = {}): Promise<NetworkMember> {
    if (typeof name !== 'string' || name.length > 253 || !HOST.test(name)) throw invalidArgValue('name', name, 'must be a hostname');
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
    const isolate = options.isolate ?? true;
    if (typeof isolate !== 'boolean') throw invalidArgType('options.isolate', 'of type boolean', isolate);
    const [first, end] = span(this.subnet);
    let wanted: number | undefined;
    if (options.address !== undefined) {
      const a = parseCidr('options.address', options.address, true);
      wanted = v4(a.text);
      if (a.family !== 4 || wanted <= first + 1 || wanted >= end - 1)
        throw invalidArgValue('options.address', options.address, `must be a host address of ${this.subnet} other than the gateway`);
    }
    const member = await withStateLock(this.#dir, () => {
      const r = record(this.#dir, this.name);
      here(r);
      const netDir = join(this.#dir, this.name);
      const { members } = liveMembers(netDir);
      if (members.some((m) => m.name === name))
        throw nsboxError('ERR_NSBOX_NETWORK_IN_USE', `'${name}' is a member of network '${this.name}' already`);
      const used = new Set(members.map((m) => v4(m.address)));
      // Host addresses after the gateway, up to the broadcast address (or the one asked for).
      const [from, to] = wanted !== undefined ? [wanted, wanted + 1] : [first + 2, end - 1];
      for (let n = from; n < to; n++) {
        if (used.has(n)) continue;
        const address = dotted(n);
        const p = memberPaths(netDir, address);
        const fd = native.lockFile(p.lock);
        if (fd < 0) continue; // claimed between our scan and now: not possible under the lock, but harmless
        const m: MemberRecord = { name, address, pid: process.pid };
        try {
          writeJson(p.json, m);
          rewriteHosts(
            netDir,
            [...members, m].sort((a, b) => v4(a.address) - v4(b.address)),
          );
        } catch (err) {
          rmSync(p.json, { force: true });
          rmSync(p.hosts, { force: true });
          native.close(fd);
          throw err;
        }
        return new NetworkMember(this, this.#dir, m, fd);
      }
      throw nsboxError(
        wanted !== undefined ? 'ERR_NSBOX_NETWORK_IN_USE' : 'ERR_NSBOX_NETWORK_FULL',
        wanted !== undefined
          ? `${dotted(wanted)} is a live member's address in network '${this.name}'`
          : `network '${this.name}' has no free address`,
      );
    });
    if (!isolate) return member;
    try {
      // The bridge is the way in: the other members' packets, bridged, reach the IPv4 hooks
      // with it as their input interface (br_netfilter), as Docker's `! -i BRIDGE`.
      member.hold(await isolateAddress({ address: member.address, inInterface: this.bridge, allowReplies: this.natTable === null }));
    } catch (err) {
      await member.leave();
      throw err;
    }
    return member;
  }
}
