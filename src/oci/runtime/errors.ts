/**
 * The runtime command's own failure: a message for stderr and the `--log`, exit status 1
 * (runc's). Anything else thrown (a SysError, a config error) is printed by its message too.
 * @internal
 * @module
 */

/** A failure the runtime explains in its own words (`container web1 does not exist`). */
export class RuntimeError extends Error {
  override name = 'RuntimeError';
}

/** A bad command line: the message, then `Try 'nsbox-oci COMMAND --help'`. */
export class UsageError extends Error {
  override name = 'UsageError';
}
