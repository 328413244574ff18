/**
 * What the security flags of `nsbox run` become as spawn options: Docker's defaults
 * (capabilities, no_new_privs, the default seccomp profile) unless weakened explicitly.
 * @module
 */
import { readFileSync } from 'node:fs';
import { allCapabilities, capabilities, DEFAULT_CAPABILITIES } from '../security/capabilities.js';
import * as lazyLandlock from '../security/landlock.js';
import { defaultSeccompProfile } from '../security/seccomp/filter.js';
import type { SeccompProfile } from '../security/seccomp/profile.js';
import type { SpawnOptions } from '../namespaces/options.js';
import { UsageError, type RunArgs } from './args.js';
import { capabilitySet } from './security-args.js';

function profileFile(path: string): SeccompProfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--seccomp: cannot read '${path}': ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as SeccompProfile;
  } catch (err) {
    throw new UsageError(`--seccomp: '${path}' is not JSON: ${(err as Error).message}`);
  }
}

/** The security spawn options of `run` (validated again by spawn). */
export function securityOptions(run: RunArgs): SpawnOptions {
  const s = run.security;
  const userns = run.namespaces.includes('user') || run.join.some((j) => j.kind === 'user');
  // Root without a user namespace (`--share user`) is host root: CAP_MKNOD would let it make a
  // node of any host device (a disk) on its /dev or root, and nsbox run has no device cgroup
  // to refuse the open, as Docker has. Out of the defaults there; `--cap-add MKNOD` puts it back.
  const hostRoot = process.geteuid!() === 0 && !userns;
  const defaults = hostRoot ? DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_MKNOD') : DEFAULT_CAPABILITIES;
  // Every capability, for --privileged and --cap-add ALL: in a user namespace of its own the
  // command can hold them all; host root only what this process holds (a bounding set without
  // CAP_SYS_RESOURCE, as on this project's VM, made `--share user --privileged` EPERM at capset).
  const caps = capabilitySet(s, defaults, hostRoot ? capabilities('self').permitted : allCapabilities());
  const o: SpawnOptions = { noNewPrivileges: !s.allowNewPrivileges && !s.privileged };
  // An unprivileged caller outside any user namespace holds no capability to keep or drop
  // (and could not change its bounding set): the sets apply to root and to user namespaces.
  if (process.geteuid!() === 0 || userns) o.capabilities = { bounding: caps, effective: caps, permitted: caps };
  const seccomp = s.seccomp ?? 'default';
  if (!s.privileged && seccomp !== 'unconfined') o.seccomp = seccomp === 'default' ? defaultSeccompProfile : profileFile(seccomp);
  if (s.ulimits.length > 0) o.rlimits = s.ulimits;
  if (Object.keys(s.sysctl).length > 0) o.sysctl = s.sysctl;
  if (s.oomScoreAdj !== undefined) o.oomScoreAdj = s.oomScoreAdj;
  if (s.umask !== undefined) o.umask = s.umask;
  const ll = s.landlock;
  if (ll.read.length + ll.write.length + ll.connect.length + ll.bind.length > 0) {
    const root = run.rootfs !== undefined && run.rootfs !== 'host' ? run.rootfs : run.layers.at(-1);
    o.landlock = lazyLandlock.landlockForCommand({ ...ll, command: run.command, ...(root !== undefined && { root }) });
  }
  return o;
}
