/**
 * The command line of `nsbox-oci`, parsed as runc's (urfave/cli) is: global flags before the
 * command, then the command's flags and arguments; `--flag value`, `--flag=value`, `-f value`,
 * Go's single-dash long form (`-bundle value`), `--` ending the flags. Each command's table
 * gives its help text too. Pure: no syscalls.
 * @internal
 * @module
 */
import { UsageError } from './errors.js';

/** One flag: a boolean, a value, or a value that may repeat (`--env A=1 --env B=2`). */
export interface FlagSpec {
  name: string;
  short?: string;
  kind: 'bool' | 'value' | 'list';
  /** The value's placeholder in help. */
  meta?: string;
  help: string;
}

/** One command. `module` is the file under commands/ that runs it (imported only when used). */
export interface CommandSpec {
  name: string;
  module: string;
  args: string;
  summary: string;
  /** More help, after the flags. */
  more?: string;
  flags: FlagSpec[];
  /** Positional arguments: at least `min`, at most `max`. */
  min: number;
  max: number;
  /** Flags end at the first argument (exec: the command and its own flags follow the ID). */
  flagsFirst?: boolean;
}

export type Flags = Record<string, string | boolean | string[] | undefined>;

const b = (name: string, help: string, short?: string): FlagSpec => ({ name, kind: 'bool', help, ...(short && { short }) });
const v = (name: string, meta: string, help: string, short?: string): FlagSpec => ({
  name,
  kind: 'value',
  meta,
  help,
  ...(short && { short }),
});
const l = (name: string, meta: string, help: string, short?: string): FlagSpec => ({
  name,
  kind: 'list',
  meta,
  help,
  ...(short && { short }),
});

const BUNDLE = v('bundle', 'DIR', 'the bundle: DIR/config.json and its root (default: the current directory)', 'b');
const CONSOLE = v('console-socket', 'PATH', "a unix socket to send the pty's master to (SCM_RIGHTS), for process.terminal");
const PID_FILE = v('pid-file', 'FILE', "write the container process's pid to FILE (atomically)");
const PRESERVE = v('preserve-fds', 'N', 'pass fds 3 to 3+N-1 of this command on to the container process (default 0)');
const NO_PIVOT = b('no-pivot', 'refused: nsbox always enters the root with pivot_root(2)');
const NO_KEYRING = b('no-new-keyring', 'keep the session keyring instead of a new anonymous one');
const FORMAT = v('format', 'table|json', 'output format (default table)', 'f');

/** Every command, in the order of `--help`. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'create',
    module: 'create',
    args: '<container-id>',
    summary: 'create a container: everything set up, its process waiting for start',
    more: "The process inherits this command's stdin, stdout and stderr. The create command exits once the container waits;\nrun `start` to let it exec process.args.",
    flags: [BUNDLE, CONSOLE, PID_FILE, PRESERVE, NO_PIVOT, NO_KEYRING],
    min: 1,
    max: 1,
  },
  { name: 'start', module: 'start', args: '<container-id>', summary: 'run process.args in a created container', flags: [], min: 1, max: 1 },
  {
    name: 'run',
    module: 'run',
    args: '<container-id>',
    summary: 'create and start a container; without --detach, wait for it, delete it and exit with its status',
    flags: [
      BUNDLE,
      CONSOLE,
      b('detach', 'exit once the container runs', 'd'),
      b('keep', 'do not delete the container after it exits'),
      PID_FILE,
      PRESERVE,
      NO_PIVOT,
      NO_KEYRING,
    ],
    min: 1,
    max: 1,
  },
  { name: 'state', module: 'query', args: '<container-id>', summary: "print a container's state (JSON)", flags: [], min: 1, max: 1 },
  {
    name: 'list',
    module: 'query',
    args: '',
    summary: 'list the containers under --root',
    flags: [FORMAT, b('quiet', 'print only the container ids', 'q')],
    min: 0,
    max: 0,
  },
  {
    name: 'ps',
    module: 'query',
    args: '<container-id>',
    summary: "list the processes in a container's cgroup",
    flags: [FORMAT],
    min: 1,
    max: 1,
  },
  {
    name: 'kill',
    module: 'kill',
    args: '<container-id> [signal]',
    summary: "send a signal (default SIGTERM) to a container's process",
    more: 'SIGNAL is a name with or without SIG (TERM, SIGKILL) or a number (9).',
    flags: [b('all', 'signal every process in the container (its cgroup)', 'a')],
    min: 1,
    max: 2,
  },
  {
    name: 'delete',
    module: 'delete',
    args: '<container-id>',
    summary: 'delete a stopped container: its cgroup, its state, then the poststop hooks',
    flags: [b('force', 'kill it first (SIGKILL) if it is not stopped', 'f')],
    min: 1,
    max: 1,
  },
  {
    name: 'pause',
    module: 'freeze',
    args: '<container-id>',
    summary: 'freeze every process in the container (cgroup.freeze)',
    flags: [],
    min: 1,
    max: 1,
  },
  { name: 'resume', module: 'freeze', args: '<container-id>', summary: 'thaw a paused container', flags: [], min: 1, max: 1 },
  {
    name: 'update',
    module: 'update',
    args: '<container-id>',
    summary: "change a running container's cgroup limits",
    more: 'FILE holds linux.resources as config.json has it (LinuxResources), translated to cgroup v2 as at create.',
    flags: [v('resources', 'FILE', 'the new resources (JSON); - reads stdin', 'r')],
    min: 1,
    max: 1,
  },
  {
    name: 'exec',
    module: 'exec',
    args: '<container-id> [command [args...]]',
    summary: 'run a new process in a running container (its namespaces and cgroup)',
    more: "Without --process, the command follows the ID; the rest of the process is the container's config.json process.",
    flags: [
      v('process', 'FILE', 'a process.json (the config.json process object) to run instead of the command', 'p'),
      b('detach', 'exit once the process runs', 'd'),
      PID_FILE,
      v('cwd', 'DIR', 'working directory in the container'),
      l('env', 'KEY=VALUE', 'set an environment variable (repeatable)', 'e'),
      v('user', 'USER[:GROUP]', "run as this user: a uid or a name of the container's /etc/passwd, a gid or a name of its /etc/group", 'u'),
      l('additional-gids', 'GID', 'an additional group (repeatable)', 'g'),
      l('cap', 'CAP', 'add a capability to the bounding, effective, permitted and inheritable sets (repeatable)', 'c'),
      b('no-new-privs', 'set no_new_privs'),
      b('tty', 'allocate a pseudo-terminal', 't'),
      CONSOLE,
      PRESERVE,
      v('process-label', 'LABEL', 'refused: nsbox applies no SELinux label'),
      v('apparmor', 'PROFILE', 'refused: nsbox applies no AppArmor profile'),
    ],
    min: 1,
    max: Number.POSITIVE_INFINITY,
    flagsFirst: true,
  },
  {
    name: 'spec',
    module: 'spec',
    args: '',
    summary: 'write a default config.json (as `runc spec`) into the bundle; refuses to overwrite one',
    flags: [BUNDLE, b('rootless', 'a spec for an unprivileged user (a user namespace mapping your ids to 0)')],
    min: 0,
    max: 0,
  },
  {
    name: 'features',
    module: 'spec',
    args: '',
    summary: 'print what this runtime supports (runtime-spec features.md JSON)',
    flags: [],
    min: 0,
    max: 0,
  },
];

/** The global flags, before the command. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  v('root', 'DIR', 'where container state lives (default /run/nsbox-oci; $XDG_RUNTIME_DIR/nsbox-oci when not root)'),
  v('log', 'FILE', 'append log lines (errors, warnings; debug with --debug) to FILE'),
  v('log-format', 'text|json', 'format of the --log lines (default text)'),
  b('debug', 'log debug lines too'),
  b('systemd-cgroup', 'refused: nsbox-oci has no systemd cgroup driver'),
  v('rootless', 'true|false|auto', 'accepted for runc compatibility: nsbox-oci works out rootless mode itself'),
  b('version', 'print the version', 'v'),
  b('help', 'show help', 'h'),
];

export interface Parsed {
  flags: Flags;
  args: string[];
}

/**
 * Parses `argv` against `flags`. With `stopAtArg`, the first argument that is not a flag
 * ends the flags (and, for the global flags, is the command).
 * @throws UsageError for an unknown flag or a missing value.
 */
export function parseFlags(argv: readonly string[], flags: readonly FlagSpec[], stopAtArg: boolean): Parsed {
  const out: Flags = {};
  const args: string[] = [];
  const withHelp = flags.some((f) => f.name === 'help') ? flags : [...flags, b('help', 'show help', 'h')];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      if (stopAtArg) {
        args.push(...argv.slice(i));
        break;
      }
      args.push(a);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const spec = withHelp.find((f) => f.name === name || f.short === name);
    if (spec === undefined) throw new UsageError(`flag provided but not defined: -${name}`);
    let value: string | undefined = eq < 0 ? undefined : body.slice(eq + 1);
    if (spec.kind === 'bool') {
      if (value !== undefined && !['true', 'false', '1', '0'].includes(value))
        throw new UsageError(`invalid boolean value "${value}" for -${name}`);
      out[spec.name] = value === undefined || value === 'true' || value === '1';
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: -${name}`);
      value = argv[++i]!;
    }
    if (spec.kind === 'list') out[spec.name] = [...((out[spec.name] as string[] | undefined) ?? []), value];
    else out[spec.name] = value;
  }
  return { flags: out, args };
}

/** Parses a command's flags and checks its argument count. */
export function parseCommand(cmd: CommandSpec, argv: readonly string[]): Parsed {
  const p = parseFlags(argv, cmd.flags, cmd.flagsFirst === true);
  if (p.flags.help) return p;
  if (p.args.length < cmd.min)
    throw new UsageError(`"${cmd.name}" requires ${cmd.min === cmd.max ? 'exactly' : 'at least'} ${cmd.min} argument(s): ${cmd.args}`);
  if (p.args.length > cmd.max) throw new UsageError(`"${cmd.name}" takes at most ${cmd.max} argument(s): ${cmd.args}`);
  return p;
}

function flagLines(flags: readonly FlagSpec[]): string {
  const rows = flags.map((f) => {
    const names = `--${f.name}${f.short ? `, -${f.short}` : ''}${f.kind === 'bool' ? '' : ` ${f.meta}`}`;
    return [names, f.kind === 'list' ? `${f.help}` : f.help] as const;
  });
  const w = Math.max(...rows.map((r) => r[0].length), 0) + 2;
  return rows.map(([n, h]) => `   ${n.padEnd(w)}${h}`).join('\n');
}

/** `nsbox-oci --help`. */
export function globalHelp(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length)) + 3;
  return [
    'nsbox-oci: an OCI runtime (runtime-spec 1.2, the runc command line) on nsbox',
    '',
    'Usage: nsbox-oci [global options] command [command options] [arguments...]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `   ${c.name.padEnd(w)}${c.summary}`),
    '',
    'Global options:',
    flagLines(GLOBAL_FLAGS),
    '',
    "Run 'nsbox-oci COMMAND --help' for a command's options. Errors exit with status 1. See docs/oci.md.",
    '',
  ].join('\n');
}

/** `nsbox-oci COMMAND --help`. */
export function commandHelp(cmd: CommandSpec): string {
  return [
    `nsbox-oci ${cmd.name}: ${cmd.summary}`,
    '',
    `Usage: nsbox-oci [global options] ${cmd.name}${cmd.flags.length ? ' [command options]' : ''}${cmd.args ? ` ${cmd.args}` : ''}`,
    ...(cmd.more ? ['', cmd.more] : []),
    ...(cmd.flags.length ? ['', 'Options:', flagLines(cmd.flags)] : []),
    '',
  ].join('\n');
}
