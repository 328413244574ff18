/**
 * What the CLI adds to a kernel refusal it can explain: the flag that led to it and what to
 * do instead (rootless limits: namespaces without a user namespace, ids outside the map, a
 * network namespace made outside the command's user namespace). Pure: the caller passes
 * what it knows about the process.
 * @module
 */
import type { IdMapping } from '../index.js';
import type { RunArgs } from './args.js';

/** The process facts a hint depends on. */
export interface HintContext {
  euid: number;
  egid: number;
  /** uid_map / gid_map text of a joined user namespace, when it could be read. */
  joinedUidMap?: string | undefined;
  joinedGidMap?: string | undefined;
}

/** The flag to name first, and the hint that follows the error. */
export interface RunHint {
  flag: string;
  hint: string;
}

const ranges = (m: readonly IdMapping[]) =>
  m.map((r) => ((r.count ?? 1) === 1 ? `${r.inside}` : `${r.inside}-${r.inside + (r.count ?? 1) - 1}`)).join(', ');

/** `0 1000 1\n1 100000 65536` (a /proc map) → the inside ranges. */
const mapRanges = (text: string) =>
  ranges(
    text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/).map(Number))
      .map(([inside, outside, count]) => ({ inside: inside!, outside: outside!, count: count! })),
  );

/** Which ids --uid (or --gid) can name, in words. */
function mappedIds(kind: 'uid' | 'gid', run: RunArgs, ctx: HintContext): string {
  const given = kind === 'uid' ? run.uidMap : run.gidMap;
  if (given) return `the --map-${kind} lines map ${ranges(given)}`;
  if (run.join.some((j) => j.kind === 'user')) {
    const text = kind === 'uid' ? ctx.joinedUidMap : ctx.joinedGidMap;
    return text !== undefined
      ? `the joined user namespace maps ${mapRanges(text)}`
      : `only the ${kind}s the joined user namespace maps exist`;
  }
  if ((kind === 'uid' ? ctx.euid : ctx.egid) === 0) return `nsbox maps ${kind}s 0-65535 by default`;
  return `only ${kind} 0 is mapped (your ${kind} ${kind === 'uid' ? ctx.euid : ctx.egid})`;
}

/**
 * The hint for `err`, a failure of `nsbox run` with `run`, when the CLI can name its flag;
 * else undefined.
 */
export function runHint(err: unknown, run: RunArgs, ctx: HintContext): RunHint | undefined {
  const e = err as { code?: unknown; syscall?: unknown; step?: unknown };
  if (typeof e?.code !== 'string') return undefined;
  const newUser = run.namespaces.includes('user') || run.join.some((j) => j.kind === 'user');
  const root = ctx.euid === 0;

  // A credential change inside: the id must be mapped in the user namespace.
  for (const kind of ['uid', 'gid'] as const) {
    if (e.step !== kind || run[kind] === undefined) continue;
    const flag = `--${kind} ${run[kind]}`;
    const sub = kind === 'uid' ? '/etc/subuid' : '/etc/subgid';
    if (e.code === 'EINVAL') {
      return {
        flag,
        hint:
          `${kind} ${run[kind]} is not mapped in the user namespace: ${mappedIds(kind, run, ctx)}. ` +
          (run.join.some((j) => j.kind === 'user')
            ? `A joined namespace's map is fixed: give --${kind} an id it maps`
            : root
              ? `Map it with --map-${kind} INSIDE:OUTSIDE:COUNT`
              : `Map it with --map-${kind} INSIDE:OUTSIDE:COUNT (beyond your own ${kind}: new${kind}map and a range in ${sub}), or run nsbox as root`),
      };
    }
    if (e.code === 'EPERM' && !newUser) {
      return {
        flag,
        hint: `changing the ${kind} needs CAP_SET${kind.toUpperCase()}: keep the new user namespace (no --share user, 'user' in --namespaces) or run nsbox as root`,
      };
    }
  }

  if (e.step === 'cwd' && run.cwd !== undefined && ['ENOENT', 'ENOTDIR', 'EACCES', 'ELOOP'].includes(e.code)) {
    const where = run.namespaces.includes('mnt') ? "inside the command's root (after its mounts, as its user)" : "as the command's user";
    return { flag: `--cwd ${run.cwd}`, hint: `the directory is looked up ${where}: give one that exists there, or mount it with --volume` };
  }

  if (e.code !== 'EPERM' || root) return undefined;

  // clone3 refused: new namespaces without a user namespace, or user namespaces disabled.
  if (e.step === 'clone' || e.syscall === 'clone3') {
    const others = run.namespaces.filter((k) => k !== 'user');
    if (!newUser && others.length > 0) {
      const flag = run.share?.includes('user') ? '--share user' : `--namespaces ${run.namespaces.join(',')}`;
      return {
        flag,
        hint:
          `new ${others.join(', ')} namespace${others.length > 1 ? 's' : ''} without a new user namespace need${others.length > 1 ? '' : 's'} root (CAP_SYS_ADMIN). ` +
          `Keep the user namespace (${run.share?.includes('user') ? 'drop --share user' : "add 'user' to --namespaces"}: nsbox then maps your uid to 0 in it), or run nsbox as root`,
      };
    }
    if (run.namespaces.includes('user')) {
      return {
        flag: '--namespaces user',
        hint:
          'this host does not let unprivileged users create user namespaces (sysctl user.max_user_namespaces, ' +
          'kernel.unprivileged_userns_clone or kernel.apparmor_restrict_unprivileged_userns); run nsbox as root',
      };
    }
  }

  // --net none|veth: what the CLI sets up from outside the command's user namespace.
  const netStep = e.step === undefined || /net|veth|link/.test(String(e.step)) || String(e.syscall).startsWith('RTM_');
  if (run.net !== undefined && run.net.mode !== 'host' && netStep) {
    const flag = `--net ${run.net.mode}`;
    return {
      flag,
      hint:
        run.net.mode === 'veth'
          ? "a veth pair has its host end in the host's network namespace, and making it needs root (CAP_NET_ADMIN there). Run nsbox as root, or use --share net (the host's network) or no --net (a new network namespace, lo down)"
          : "this network namespace is made outside the command's user namespace, which needs root (CAP_SYS_ADMIN). Run nsbox as root, or leave --net out (a new network namespace with lo down)",
    };
  }
  return undefined;
}
