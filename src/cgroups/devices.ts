/**
 * A cgroup's device filter: the BPF_CGROUP_DEVICE program that cgroup v2 uses instead of
 * v1's devices.allow/deny (Documentation/admin-guide/cgroup-v2.rst, "Device controller").
 * {@link Cgroup.setDeviceRules} compiles rules (./device-filter.ts), loads and attaches.
 * @module
 */
import { native } from '../native.js';
import { SysError, outOfRange, withHint } from '../errors.js';
import type { CgroupLocation } from './files.js';
import { MAX_DEVICE_INSNS, checkDeviceRules, deviceProgram, encodeProgram } from './device-filter.js';

const PRIV_HINT =
  'a cgroup device program needs CAP_SYS_ADMIN (or CAP_BPF and CAP_NET_ADMIN) in the initial user namespace (bpf(2)); inside a user namespace (rootless) the kernel refuses it, and runtimes such as runc and crun skip device rules there';

function sysError(errno: number, syscall: string, cg: CgroupLocation, extra: { kernelMessage?: string } = {}): SysError {
  const err = new SysError(errno, syscall, { path: cg.directory, cgroup: cg.path, ...extra });
  return err.code === 'EPERM' ? withHint(err, PRIV_HINT) : err;
}

function rethrow(err: unknown, cg: CgroupLocation): never {
  if (err instanceof SysError) {
    const out = sysError(err.errno, err.syscall, cg);
    Object.defineProperty(out, 'cause', { value: err, writable: true, configurable: true, enumerable: false });
    throw out;
  }
  throw err;
}

/**
 * Loads `insns` (struct bpf_insn[] bytes) as a device program; the fd, or a SysError
 * (`syscall` 'BPF_PROG_LOAD') whose `kernelMessage` is the end of the verifier's log.
 * Exposed for tests of the error path. @internal
 */
export function loadDeviceProgram(insns: Buffer, cg: CgroupLocation): number {
  const [fd, errno, log] = native.bpfLoadDeviceProgram(insns);
  if (fd >= 0) return fd;
  const lines = log
    .trim()
    .split('\n')
    .filter((l) => l !== '');
  const excerpt = lines.slice(-4).join('; ');
  throw sysError(errno, 'BPF_PROG_LOAD', cg, excerpt === '' ? {} : { kernelMessage: excerpt });
}

/** Compiles, loads and attaches `rules` to `cg`, replacing the device programs attached before. @internal */
export function setDeviceRules(cg: CgroupLocation, rules: unknown, name = 'rules'): void {
  const checked = checkDeviceRules(name, rules);
  const insns = deviceProgram(checked);
  if (insns.length > MAX_DEVICE_INSNS)
    throw outOfRange(
      `${name}.length`,
      `at most ${Math.floor((MAX_DEVICE_INSNS - 12) / 4)} rules (a program of ${MAX_DEVICE_INSNS} instructions)`,
      checked.length,
    );
  const fd = loadDeviceProgram(encodeProgram(insns), cg);
  try {
    native.bpfSetDevicePrograms(cg.directory, fd);
  } catch (err) {
    rethrow(err, cg);
  } finally {
    native.close(fd);
  }
}

/** Ids of the device programs attached to `cg` itself (`bpftool cgroup show DIR`). @internal */
export function devicePrograms(cg: CgroupLocation): number[] {
  try {
    return native.bpfQueryDevicePrograms(cg.directory);
  } catch (err) {
    return rethrow(err, cg);
  }
}
