/**
 * Compiled seccomp filters kept under `--root` (`ROOT/@seccomp/`), so that `create` compiles
 * a profile once per build of nsbox-oci rather than once per container: podman hands every
 * create the same profile, and compiling it is a noticeable part of create's time under the
 * qemu guest's emulation (docs/performance.md).
 *
 * An entry holds the build that wrote it (scripts/bundle.mjs gives every build of the
 * linked files its own id), the exact key compileSeccomp asked for (the profile's JSON text
 * and the options) and the program. It is used only when all of that matches and the file is
 * this user's own (or, read-only, the store's owner's: `owner`), in a directory of that user's
 * that nobody else can write; anything else
 * (another build, another key, a file not ours, a malformed one) is compiled again and
 * written anew (a temporary file renamed over the old). Without a build id (tsc's unlinked
 * modules) there is no store. `@seccomp` is no valid container id, so no command mistakes it
 * for a container.
 * @internal
 * @module
 */
import { mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../../native.js';
import { isDirectory, statPath } from '../../pathstat.js';
import { ownDirectory } from '../../user-cache.js';
import type { CompiledSeccomp, SeccompStore } from '../../security/seccomp/filter.js';

/** Replaced by scripts/bundle.mjs with the build's id. */
declare const __NSBOX_BUILD__: string | undefined;
const BUILD = typeof __NSBOX_BUILD__ === 'string' ? __NSBOX_BUILD__ : undefined;

/** What an entry says about its program, before the key and the program itself. */
interface Meta {
  v: 1;
  build: string;
  keyBytes: number;
  instructions: number;
  flags: number;
  notify: boolean;
  notifySyscalls: string[];
  unknown: string[];
}

/**
 * FNV-1a, 64 bits as two 32-bit halves, of the key's length and of at most ~2,048 of its
 * characters, evenly spaced: a file name for a key, not its identity (the key itself is
 * compared in full, so two keys that share a name only take turns in one file). All of a
 * 16 kB key costs ~1.5 ms in a process's first, interpreted run: most of a cache hit.
 */
function fileName(key: string): string {
  let a = Math.imul(0x811c9dc5 ^ key.length, 0x01000193);
  let b = 0x050c5d1f;
  const step = Math.max(1, key.length >> 11);
  for (let i = 0; i < key.length; i += step) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (a >>> 7);
  }
  return `${(a >>> 0).toString(16).padStart(8, '0')}${(b >>> 0).toString(16).padStart(8, '0')}.bpf`;
}

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/**
 * The entry's program, if its first line checks out: the file held exactly the key (checked
 * natively, with the key's UTF-8 length `keyBytes`) and `program` is a copy of what followed.
 */
function parse(metaLine: string, keyBytes: number, program: Uint8Array, build: string): CompiledSeccomp | undefined {
  const m = JSON.parse(metaLine) as Partial<Meta>;
  if (m.v !== 1 || m.build !== build || m.keyBytes !== keyBytes) return undefined;
  const n = m.instructions;
  if (!Number.isInteger(n) || n! < 1 || n! > 4096 || program.length !== n! * 8) return undefined;
  if (!Number.isInteger(m.flags) || typeof m.notify !== 'boolean' || !strings(m.notifySyscalls) || !strings(m.unknown)) return undefined;
  return Object.freeze({
    program,
    instructions: n!,
    flags: m.flags!,
    notify: m.notify,
    notifySyscalls: Object.freeze(m.notifySyscalls),
    unknown: Object.freeze(m.unknown),
  });
}

/**
 * The store under `root` (the runtime's `--root`, already checked), or undefined without a
 * build id. `build`: this build's id (a test's own). `owner`: a uid besides this user's whose
 * store is read (never written: the `nsbox` bin's, beside root's global install).
 */
export function seccompCache(root: string, build: string | undefined = BUILD, owner?: number): SeccompStore | undefined {
  if (build === undefined) return undefined;
  const dir = join(root, '@seccomp');
  const euid = process.geteuid!();
  const by = owner ?? euid;
  return {
    get(key) {
      // Natively (csrc/startup_files.cc): no fs.Stats, no Buffer read through node:fs and no
      // Buffer methods on a spawn's path, each a cold path of Node's own in a short-lived process.
      try {
        const d = statPath(dir, false);
        if (!isDirectory(d) || (d!.uid !== euid && d!.uid !== by) || (d!.mode & 0o022) !== 0) return undefined;
        const entry = native.readSeccompEntry(join(dir, fileName(key)), key, d!.uid);
        return entry === undefined ? undefined : parse(...entry, build);
      } catch {
        return undefined; // unreadable: compiled again
      }
    },
    set(key, c) {
      if (by !== euid) return; // another user's store: read, never written
      const file = join(dir, fileName(key));
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        // Readable by other users (the bin's store beside a global install is theirs to read;
        // the runtime's --root is private itself): a compiled profile is no secret.
        mkdirSync(dir, { mode: 0o755, recursive: true });
        if (!ownDirectory(dir)) return;
        const k = Buffer.from(key);
        const meta: Meta = {
          v: 1,
          build,
          keyBytes: k.length,
          instructions: c.instructions,
          flags: c.flags,
          notify: c.notify,
          notifySyscalls: [...c.notifySyscalls],
          unknown: [...c.unknown],
        };
        const program = Buffer.from(c.program.buffer, c.program.byteOffset, c.program.byteLength);
        writeFileSync(tmp, Buffer.concat([Buffer.from(`${JSON.stringify(meta)}\n`), k, Buffer.from('\n'), program]), {
          mode: 0o644,
          flag: 'wx',
        });
        renameSync(tmp, file);
      } catch {
        try {
          unlinkSync(tmp);
        } catch {
          // not made
        }
      }
    },
  };
}
