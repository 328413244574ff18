/**
 * When a spawn's command must be exec'd through the exec stub (csrc/init_image.cc): the
 * process that makes the command's execve(2) is a copy of Node (CLONE_VM or a fork), so its
 * /proc/self/exe is Node's binary. An image whose program is `#!/proc/self/exe` (or a path
 * to it) has the kernel execute that binary inside the sandbox, with the ELF loader the image
 * provides: code of the image's then runs holding the host's node file and, once no node
 * process runs it any more (ETXTBSY ends), can open it for writing — runc's CVE-2019-5736.
 * The stub, a sealed memfd, makes that execve instead: its /proc/self/exe is a file nothing
 * can write. It costs an execve(2), so it is used only where the command could write Node's
 * binary: in a mount namespace other than Node's (otherwise it reaches the file by its path
 * anyway), where its ids would pass the file's permissions.
 * @internal
 * @module
 */
import { accessSync, constants, statSync } from 'node:fs';
import { K } from '../native.js';

interface ExeFacts {
  uid: number;
  gid: number;
  mode: number;
  /** On a read-only mount: no one writes it through Node's own mount of it. */
  readOnly: boolean;
}

let exe: ExeFacts | undefined;

/** Node's binary as the kernel has it (the inode /proc/self/exe leads to): read once. */
function exeFacts(): ExeFacts {
  if (exe) return exe;
  const st = statSync('/proc/self/exe');
  let readOnly = false;
  try {
    accessSync('/proc/self/exe', constants.W_OK);
  } catch (err) {
    readOnly = (err as NodeJS.ErrnoException).code === 'EROFS';
  }
  exe = { uid: st.uid, gid: st.gid, mode: st.mode, readOnly };
  return exe;
}

/** Whether `id` is an outside id of a map in /proc/PID/uid_map's text form ("inside outside count" lines). */
function mapsOutside(map: string, id: number): boolean {
  for (const line of map.split('\n')) {
    const [, outside, count] = line.trim().split(/\s+/).map(Number);
    if (outside !== undefined && count !== undefined && id >= outside && id < outside + count) return true;
  }
  return false;
}

/** Whether an ambient set keeps CAP_DAC_OVERRIDE or CAP_FOWNER for a command of another uid (CommandUserns 'ours'). */
export function dacAmbient(ambient: bigint | undefined): boolean {
  const dac = (1n << BigInt(K.CAP.CAP_DAC_OVERRIDE!)) | (1n << BigInt(K.CAP.CAP_FOWNER!));
  return ((ambient ?? 0n) & dac) !== 0n;
}

/** The command's user namespace as far as the check needs it. */
export type CommandUserns =
  /** Node's own: `uid` is the command's (after `uid`), `dacCaps` whether it may keep CAP_DAC_OVERRIDE or CAP_FOWNER. */
  | { kind: 'ours'; uid: number; dacCaps: boolean }
  /** One nsbox makes, with these maps (text form). */
  | { kind: 'new'; uidMap: string; gidMap: string }
  /** One joined: its maps are not looked at. */
  | { kind: 'joined' };

/**
 * Whether the command, in a mount namespace other than Node's (`otherMounts`), could open
 * Node's binary for writing, so that its execve must be the exec stub's. Conservative: true
 * unless its ids are known to fail the file's permissions (or the file is on a read-only
 * mount).
 */
export function needsExecStub(otherMounts: boolean, userns: CommandUserns): boolean {
  if (!otherMounts) return false;
  const f = exeFacts();
  if (f.readOnly) return false;
  // A user namespace an unprivileged caller can join is one of its uid's (it needs
  // CAP_SYS_ADMIN there): it maps only that uid and its subordinate ids, never root's. So a
  // binary of root's, writable by no group or other, is out of reach; root joins anything.
  if (userns.kind === 'joined') return process.geteuid!() === 0 || f.uid !== 0 || (f.mode & 0o022) !== 0;
  if (userns.kind === 'ours') return userns.uid === 0 || userns.dacCaps || userns.uid === f.uid || (f.mode & 0o022) !== 0;
  // Root of a user namespace has its capabilities over an inode only when the inode's owner
  // (and group) are mapped in it: then it may write or chmod the file.
  return mapsOutside(userns.uidMap, f.uid) || (mapsOutside(userns.gidMap, f.gid) && (f.mode & 0o020) !== 0) || (f.mode & 0o002) !== 0;
}
