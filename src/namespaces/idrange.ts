/**
 * The host ids of a root caller's sandboxes. When root creates a user namespace without
 * giving maps, the sandbox's ids 0..65535 map to a block of 65,536 host ids that no other
 * live nsbox sandbox on the host holds (podman's `--userns=auto`, systemd-nspawn's
 * `--private-users=pick`): root inside is an unprivileged, unshared uid outside, so no owner
 * check on a host object (files, sysctls, cgroups, keys, signals) passes by accident.
 *
 * A block is claimed with flock(2) on `/run/nsbox/idmap/<block>`, held by an fd of the
 * spawning process (O_CLOEXEC, never seen by the child) until the child has exited; a crash
 * releases it with the process. Blocks that overlap a range in /etc/subuid or /etc/subgid
 * are never used.
 * @module
 */
import { mkdirSync } from 'node:fs';
import { nsboxError } from '../errors.js';
import { native } from '../native.js';
import { readTextFile } from '../pathstat.js';

/** First host id of the pool (0x70000000): above systemd-nspawn's and useradd's ranges. */
export const AUTO_ID_FIRST = 0x7000_0000;
/** Ids per sandbox: a full 16-bit range, as podman and systemd give a container. */
export const AUTO_ID_COUNT = 65_536;
/** Blocks in the pool (the last ends at 0x7fff0000, below 2^31). */
export const AUTO_ID_BLOCKS = 4095;
const LOCK_DIR = '/run/nsbox/idmap';

/** A claimed block of host ids. */
export interface IdRange {
  /** First host id. */
  readonly base: number;
  /** Number of ids. */
  readonly count: number;
  /** Releases the claim (idempotent). */
  release(): void;
}

/** A non-empty run of ASCII digits (no regular expression: its first use compiles it). */
function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

let reserved: Array<[number, number]> | undefined;
/** The [first, end) host id ranges of /etc/subuid and /etc/subgid. Read once. */
function subidRanges(): Array<[number, number]> {
  if (reserved) return reserved;
  reserved = [];
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    let text = '';
    try {
      text = readTextFile(file);
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const [, first, count] = line.split(':');
      if (first !== undefined && count !== undefined && isDigits(first) && isDigits(count)) {
        reserved.push([Number(first), Number(first) + Number(count)]);
      }
    }
  }
  return reserved;
}

/**
 * Claims a free block of {@link AUTO_ID_COUNT} host ids for one sandbox. Root only.
 * @throws `ERR_NSBOX_NO_ID_RANGE` when every block is held; SysError from open/flock.
 */
export function claimIdRange(): IdRange {
  // The lock directory is made when a lock file's open finds it missing (below), not first:
  // a recursive mkdir of what exists is a cold path of Node's own in every short run.
  // Where the search starts only spreads the claims (flock decides who holds a block, and a
  // block's ids are no secret: /proc/PID/uid_map shows them), so Math.random: node:crypto's
  // randomInt costs ~5 ms of a short `nsbox run` (loading the module and seeding OpenSSL).
  const start = Math.floor(Math.random() * AUTO_ID_BLOCKS);
  for (let i = 0; i < AUTO_ID_BLOCKS; i++) {
    const block = (start + i) % AUTO_ID_BLOCKS;
    const base = AUTO_ID_FIRST + block * AUTO_ID_COUNT;
    if (subidRanges().some(([a, b]) => base < b && a < base + AUTO_ID_COUNT)) continue;
    let fd: number;
    try {
      fd = native.lockFile(`${LOCK_DIR}/${block}`);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
      mkdirSync(LOCK_DIR, { recursive: true, mode: 0o700 }); // removed while we ran
      fd = native.lockFile(`${LOCK_DIR}/${block}`);
    }
    if (fd < 0) continue;
    let held = true;
    return {
      base,
      count: AUTO_ID_COUNT,
      release() {
        if (!held) return;
        held = false;
        native.close(fd);
      },
    };
  }
  throw nsboxError('ERR_NSBOX_NO_ID_RANGE', `every one of the ${AUTO_ID_BLOCKS} uid ranges nsbox gives sandboxes is in use (${LOCK_DIR})`);
}
