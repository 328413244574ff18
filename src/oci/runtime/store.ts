/**
 * The state store under `--root`: one directory per container, `ROOT/ID/`, mode 0700,
 * holding `state.json` (written atomically: a temporary file renamed over it), the start
 * gate's socket, and `lock` (flock(2), taken by the commands that change the container:
 * lock.ts). Reading needs no lock and no addon: `state` and `list` stay cheap.
 * @internal
 * @module
 */
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { OciHooks, OciSpec } from '../types.js';
import { RuntimeError } from './errors.js';

/** What the runtime keeps about a container; the status is never stored, always derived. */
export interface ContainerRecord {
  /** The runtime-spec version of the config it was created from. */
  ociVersion: string;
  id: string;
  /** The container process, in the runtime's pid namespace. */
  pid: number;
  /** Its start time (/proc/PID/stat field 22): with the pid, it names exactly that process. */
  startTime: string;
  /** The bundle, absolute. */
  bundle: string;
  /** The root filesystem, absolute. */
  rootfs: string;
  /** RFC 3339, UTC. */
  created: string;
  /** The user who created it. */
  owner: string;
  annotations?: Record<string, string>;
  /** Its cgroup v2 path (`/nsbox-oci/web1`), when it has one. */
  cgroup?: string;
  /** That cgroup's directory under the v2 mount (read without the addon). */
  cgroupDir?: string;
  /** True when create made that cgroup (delete removes it then). */
  cgroupOwned?: boolean;
  /** The start gate's socket: present while the process waits for `start`. */
  gate?: string;
  /** The config's hooks that run after create (poststart, poststop). */
  hooks?: OciHooks;
  /** config.json as created: `exec` takes its process defaults from here, as runc does. */
  config: OciSpec;
}

/** runc's rule: letters, digits, `_`, `+`, `-`, `.`; not `.` or `..`. */
const ID = /^[\w+\-.]+$/;

/** Checks a container id. @throws RuntimeError naming it. */
export function checkId(id: string | undefined): string {
  if (id === undefined || id === '') throw new RuntimeError('container ID cannot be empty');
  if (!ID.test(id) || id === '.' || id === '..') throw new RuntimeError(`invalid container ID format: ${id}`);
  return id;
}

/** The default `--root`: /run/nsbox-oci as root, else $XDG_RUNTIME_DIR/nsbox-oci (or /tmp/nsbox-oci-UID). */
export function defaultRoot(): string {
  if (process.geteuid!() === 0) return '/run/nsbox-oci';
  const xdg = process.env.XDG_RUNTIME_DIR;
  return xdg ? join(xdg, 'nsbox-oci') : `/tmp/nsbox-oci-${process.geteuid!()}`;
}

/** The container store at one `--root`. */
export class Store {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  /** The start gate's socket path of `id`. */
  gatePath(id: string): string {
    return join(this.dir(id), 'gate');
  }

  /**
   * Makes `ROOT/ID/` (0700) for a new container: mkdir(2) is atomic, so of two creates of
   * one ID exactly one gets it. @throws RuntimeError `container ID already exists`.
   */
  claim(id: string): string {
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    this.#checkRoot();
    try {
      mkdirSync(this.dir(id), { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new RuntimeError(`container ${id} already exists`);
      throw err;
    }
    return this.dir(id);
  }

  /**
   * The root must be a directory of ours that nobody else can write (it may be under /tmp,
   * where another user could have made it first, or a symlink to elsewhere).
   */
  #checkRoot(): void {
    const st = lstatSync(this.root);
    if (!st.isDirectory() || st.uid !== process.geteuid!() || (st.mode & 0o022) !== 0)
      throw new RuntimeError(
        `--root ${this.root}: must be a directory owned by uid ${process.geteuid!()} that only it can write (mode 0700 when nsbox-oci makes it)`,
      );
  }

  /** Reads `ROOT/ID/state.json`. @throws RuntimeError `container ID does not exist`. */
  read(id: string): ContainerRecord {
    let text: string;
    try {
      text = readFileSync(join(this.dir(id), 'state.json'), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new RuntimeError(`container ${id} does not exist`);
      throw err;
    }
    return JSON.parse(text) as ContainerRecord;
  }

  /** True when `ROOT/ID/` exists (with or without a state.json: a create in progress, or one that failed). */
  has(id: string): boolean {
    try {
      return statSync(this.dir(id)).isDirectory();
    } catch {
      return false;
    }
  }

  /** Writes state.json atomically (a temporary file in the same directory, then rename(2)). */
  write(rec: ContainerRecord): void {
    writeAtomic(join(this.dir(rec.id), 'state.json'), `${JSON.stringify(rec)}\n`, 0o600);
  }

  /** The ids of every container directory under the root, sorted. */
  ids(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names.filter((n) => ID.test(n) && n !== '.' && n !== '..').sort();
  }

  /** Removes `ROOT/ID/` and everything in it. */
  remove(id: string): void {
    const dir = this.dir(id);
    // What a container directory holds, files only (state.json, lock, the gate's socket), with
    // one unlink(2) each; fs.rmSync's general walk (a module of its own to load) for anything
    // else, or when the directory is gone already.
    try {
      for (const name of readdirSync(dir)) unlinkSync(join(dir, name));
      rmdirSync(dir);
    } catch {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Writes `file` atomically: a temporary file next to it, then rename(2) over it. */
export function writeAtomic(file: string, text: string, mode = 0o644): void {
  const tmp = join(dirname(file), `.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, text, { mode, flag: 'wx' });
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // not made
    }
    throw err;
  }
}
