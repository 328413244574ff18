/**
 * The on-disk state of named networks: one directory per network under the state directory
 * (`/run/nsbox/networks` for root, `$XDG_RUNTIME_DIR/nsbox/networks` for a user), every
 * change made under one flock(2) on `<dir>/lock`, every JSON file replaced atomically
 * (written beside it, then renamed), and each member's claim held as a flock on its own
 * file by the process that joined — so a member whose process died is found and reclaimed
 * by the next command that takes the lock, as src/namespaces/idrange.ts claims id blocks.
 * @internal
 * @module
 */
import {
  chmodSync,
  statSync,
  constants as fsc,
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { native } from '../native.js';
import type { NetworkInfo } from './network.js';

/** What network.json holds: a network as {@link NetworkInfo} describes it, without its members. */
export type NetworkRecord = { version: 1 } & Omit<NetworkInfo, 'members'>;

/** What members/ADDR.json holds. */
export interface MemberRecord {
  name: string;
  address: string;
  /** The process holding the claim (for `ls`; liveness is the flock, not the pid). */
  pid: number;
}

const ROOT_STATE_DIR = '/run/nsbox/networks';

/**
 * Lets anyone search (not list) `dir`: the members' hosts files under it are bind-mounted by
 * containers whose root is an unprivileged host uid (spawn's id block), and the bind's source
 * is looked up with their credentials. /run/nsbox/idmap, made 0700 beside it, stays private.
 */
function searchable(dir: string): void {
  const st = statSync(dir);
  if ((st.mode & 0o001) === 0 && st.uid === process.geteuid!()) chmodSync(dir, (st.mode & 0o7777) | 0o011);
}

/** The default state directory of this process's networks. */
export function defaultStateDir(): string {
  if (process.geteuid!() === 0) return ROOT_STATE_DIR;
  const xdg = process.env.XDG_RUNTIME_DIR;
  return join(xdg?.startsWith('/') ? xdg : `/run/user/${process.geteuid!()}`, 'nsbox/networks');
}

/** The caller's network namespace, as `net:[INODE]`. */
export function currentNetns(): string {
  return readlinkSync('/proc/thread-self/ns/net');
}

/**
 * Takes the state directory's lock (flock LOCK_EX on `<dir>/lock`, polled without blocking
 * the event loop), runs `fn`, and releases it. The lock is held by an O_CLOEXEC fd, so a
 * process that dies holding it releases it.
 */
export async function withStateLock<T>(dir: string, fn: () => T | Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (dir === ROOT_STATE_DIR) searchable('/run/nsbox');
  let fd = native.lockFile(join(dir, 'lock'));
  for (let wait = 1; fd < 0; wait = Math.min(wait * 2, 50)) {
    await sleep(wait);
    fd = native.lockFile(join(dir, 'lock'));
  }
  try {
    return await fn();
  } finally {
    native.close(fd);
  }
}

/** Writes `data` as JSON to `path` atomically: a file beside it, then rename(2). */
export function writeJson(path: string, data: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, path);
}

/** Reads a JSON file, or undefined if it is not there. */
export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** The names of the networks recorded in `dir`. */
export function networkNames(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return [];
    throw err;
  }
  return entries.filter((e) => e !== 'lock' && !e.includes('.') && readJson(join(dir, e, 'network.json')) !== undefined).sort();
}

/** A member's files. */
export const memberPaths = (netDir: string, address: string) => ({
  json: join(netDir, 'members', `${address}.json`),
  lock: join(netDir, 'members', `${address}.lock`),
  hosts: join(netDir, 'hosts', address),
});

/**
 * The members of a network whose claim is still held, in address order. A member whose
 * process died (its lock file can be locked) is reclaimed: its files are removed, which frees
 * its address and takes its name out of the others' /etc/hosts at the next rewrite. Call
 * with the state lock held. Returns whether any member was reclaimed too.
 */
export function liveMembers(netDir: string): { members: MemberRecord[]; reclaimed: boolean } {
  const dir = join(netDir, 'members');
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return { members: [], reclaimed: false };
    throw err;
  }
  const members: MemberRecord[] = [];
  let reclaimed = false;
  for (const f of files) {
    const m = readJson<MemberRecord>(join(dir, f));
    if (!m) continue;
    const p = memberPaths(netDir, m.address);
    const fd = native.lockFile(p.lock);
    if (fd < 0) {
      members.push(m);
      continue;
    }
    // Nobody holds it: the member's process is gone. Remove its files while holding the lock.
    rmSync(p.json, { force: true });
    rmSync(p.hosts, { force: true });
    unlinkSync(p.lock);
    native.close(fd);
    reclaimed = true;
  }
  members.sort((a, b) => addressOrder(a.address) - addressOrder(b.address));
  return { members, reclaimed };
}

function addressOrder(a: string): number {
  return a.split('.').reduce((n, b) => n * 256 + Number(b), 0);
}

/** The /etc/hosts of a network member: localhost, then every member (itself included). */
export function hostsText(members: readonly MemberRecord[]): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const m of members) lines.push(`${m.address}\t${m.name}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Rewrites every live member's hosts file in place (the same inode: it is bind-mounted into
 * the member, so a rename would leave the member with the old file), as Docker updates a
 * container's /etc/hosts: written from offset 0, then truncated to its length.
 */
export function rewriteHosts(netDir: string, members: readonly MemberRecord[]): void {
  const text = Buffer.from(hostsText(members));
  for (const m of members) {
    const fd = openSync(memberPaths(netDir, m.address).hosts, fsc.O_RDWR | fsc.O_CREAT | fsc.O_NOFOLLOW, 0o644);
    try {
      writeSync(fd, text, 0, text.length, 0);
      ftruncateSync(fd, text.length);
    } finally {
      closeSync(fd);
    }
  }
}
