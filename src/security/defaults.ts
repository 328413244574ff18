/**
 * Docker's default capability set (moby daemon/pkg/oci/caps/defaults.go), which `nsbox run`
 * and `hardened()` use. A leaf module (no imports) so the seccomp compiler can use it
 * without loading the addon.
 * @internal
 * @module
 */
export const DOCKER_CAPABILITIES: readonly string[] = Object.freeze([
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
]);
