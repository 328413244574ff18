/**
 * The CLI's words for the library's errors: a bad option the spawn validation found speaks in
 * `nsbox run` flags, not in spawn option paths, and ends like a usage error.
 * @module
 */

/** Spawn option paths (prefixes) → the flags that set them. */
const FLAG_OF: ReadonlyArray<readonly [RegExp, string]> = [
  [/^options\.rootfs\.layers/, '--layer'],
  [/^options\.rootfs/, '--rootfs'],
  [/^options\.mounts\[\d+\]\.source/, '--volume (its source)'],
  [/^options\.mounts\[\d+\]\.target/, '--volume/--tmpfs (the target)'],
  [/^options\.mounts/, '--volume/--tmpfs'],
  [/^options\.readOnlyRoot/, '--read-only'],
  [/^options\.uidMap/, '--map-uid'],
  [/^options\.gidMap/, '--map-gid'],
  [/^options\.uid\b/, '--uid'],
  [/^options\.gid\b/, '--gid'],
  [/^options\.groups/, '--groups'],
  [/^options\.hostname/, '--hostname'],
  [/^options\.domainname/, '--domainname'],
  [/^options\.cwd/, '--cwd'],
  [/^options\.env/, '--env'],
  [/^options\.timeout/, '--timeout'],
  [/^options\.join/, '--join'],
  [/^options\.namespaces/, '--namespaces'],
  [/^options\.capabilities/, '--cap-add/--cap-drop'],
  [/^options\.seccomp/, '--seccomp'],
  [/^options\.rlimits/, '--ulimit'],
  [/^options\.sysctl/, '--sysctl'],
  [/^options\.umask/, '--umask'],
  [/^options\.oomScoreAdj/, '--oom-score-adj'],
  [/^options\.landlock/, '--landlock-*'],
  [/^options\.cgroup/, '--cgroup-parent'],
];

const ARG_ERROR = /^The (?:property|argument) '([^']+)' (.*?)\.?(?: Received (.*))?$/s;

/**
 * The text to print for `err`, and whether it is a usage error (the `Try 'nsbox --help'`
 * line follows). An ERR_INVALID_ARG_* / ERR_OUT_OF_RANGE about a spawn option becomes
 * `--flag: <value> <reason>`; anything else is printed as it is.
 */
export function cliMessage(err: unknown): { text: string; usage: boolean } {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (e?.code !== 'ERR_INVALID_ARG_VALUE' && e?.code !== 'ERR_INVALID_ARG_TYPE' && e?.code !== 'ERR_OUT_OF_RANGE')
    return { text: message, usage: false };
  const m = ARG_ERROR.exec(message);
  const flag = m ? FLAG_OF.find(([re]) => re.test(m[1]!))?.[1] : undefined;
  if (!m || !flag) return { text: message, usage: true };
  const reason = m[2]!.replace(/^(must be|is)\s/, (w) => w);
  return { text: m[3] !== undefined ? `${flag}: ${m[3]} ${reason}` : `${flag}: ${reason}`, usage: true };
}
