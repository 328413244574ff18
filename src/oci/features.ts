/**
 * `features()`: the runtime-spec Features structure (features.md, features-linux.md) for
 * nsbox, built from the tables the parser and the mapper use, so it cannot drift from them.
 * @module
 */
import { readFileSync } from 'node:fs';
import { K } from '../native.js';
import { FLAG_BITS } from '../security/seccomp/profile.js';
import { ARCHES } from '../security/seccomp/arch.js';
import { MOUNT_OPTIONS } from './mounts.js';
import { HOOKS_AROUND_SPAWN } from './spawn-options.js';
import { OCI_NAMESPACE_TYPES, OCI_VERSION_MAX, OCI_VERSION_MIN, SECCOMP_ACTIONS, SECCOMP_OPERATORS } from './parse.js';

/** The Features structure (runtime-spec features.md) as nsbox fills it. */
export interface OciFeatures {
  /** The oldest config.json version accepted. */
  ociVersionMin: string;
  /** The newest config.json version accepted. */
  ociVersionMax: string;
  /** Hooks that can be honoured: poststart and poststop (run by the caller with runHooks). */
  hooks: string[];
  /** Mount options honoured (runc's vocabulary, less those refused). */
  mountOptions: string[];
  /** Linux features. */
  linux: {
    /** Namespace kinds. */
    namespaces: string[];
    /** Capability names. */
    capabilities: string[];
    /** cgroup support: v2 only, no systemd driver. */
    cgroup: {
      /** cgroup v1: never. */
      v1: boolean;
      /** cgroup v2. */
      v2: boolean;
      /** systemd's cgroup driver: no. */
      systemd: boolean;
      /** systemd's user cgroup driver: no. */
      systemdUser: boolean;
      /** rdma.max. */
      rdma: boolean;
    };
    /** seccomp support. */
    seccomp: {
      /** Always. */
      enabled: boolean;
      /** `SCMP_ACT_*`. */
      actions: string[];
      /** `SCMP_CMP_*`. */
      operators: string[];
      /** `SCMP_ARCH_*`. */
      archs: string[];
      /** `SECCOMP_FILTER_FLAG_*` recognised. */
      knownFlags: string[];
      /** `SECCOMP_FILTER_FLAG_*` applied. */
      supportedFlags: string[];
    };
    /** AppArmor: not supported. */
    apparmor: {
      /** false. */
      enabled: boolean;
    };
    /** SELinux: not supported. */
    selinux: {
      /** false. */
      enabled: boolean;
    };
    /** Intel RDT: not supported. */
    intelRdt: {
      /** false. */
      enabled: boolean;
    };
    /** idmapped mounts with per-mount `uidMappings`/`gidMappings`: not supported (the `idmap` option is). */
    mountExtensions: {
      /** Per-mount id maps. */
      idmap: {
        /** false. */
        enabled: boolean;
      };
    };
    /** Moving network devices in (`linux.netDevices`, by a runtime that splits create from start). */
    netDevices: {
      /** true. */
      enabled: boolean;
    };
  };
  /** nsbox's own metadata. */
  annotations: Record<string, string>;
  /** config.json annotations that change nsbox's behaviour: none. */
  potentiallyUnsafeConfigAnnotations: string[];
}

let version: string | undefined;

/**
 * What nsbox supports of the runtime spec, as the Features structure `runc features` prints:
 * the versions, mount options, namespaces, capabilities, cgroup and seccomp support, derived
 * from the tables {@link parseConfig} and {@link toSpawnOptions} use. A fresh object on each
 * call; reads package.json once.
 */
export function features(): OciFeatures {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  const caps = Object.entries(K.CAP)
    .sort((a, b) => a[1] - b[1])
    .map(([name]) => name);
  return {
    ociVersionMin: OCI_VERSION_MIN,
    ociVersionMax: OCI_VERSION_MAX,
    hooks: [...HOOKS_AROUND_SPAWN],
    mountOptions: Object.entries(MOUNT_OPTIONS)
      .filter(([, op]) => op.k !== 'refuse')
      .map(([name]) => name)
      .sort(),
    linux: {
      namespaces: [...OCI_NAMESPACE_TYPES],
      capabilities: caps,
      cgroup: { v1: false, v2: true, systemd: false, systemdUser: false, rdma: true },
      seccomp: {
        enabled: true,
        actions: [...SECCOMP_ACTIONS],
        operators: [...SECCOMP_OPERATORS],
        archs: Object.keys(ARCHES),
        knownFlags: Object.keys(FLAG_BITS),
        supportedFlags: Object.keys(FLAG_BITS),
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
      netDevices: { enabled: true },
    },
    annotations: { 'org.nsbox.version': version },
    potentiallyUnsafeConfigAnnotations: [],
  };
}
