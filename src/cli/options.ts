/**
 * The option table of `nsbox run` (which the parser accepts and `--help` lists) and the
 * help text made from it. Pure.
 * @module
 */
import { NAMESPACE_TYPES, type NamespaceType } from '../namespaces/types.js';
import { SECURITY_OPTIONS, type SecurityOptionName } from './security-args.js';
import { DEFAULT_VETH_POOL } from './values.js';

/** The namespaces `nsbox run` creates when `--namespaces` is not given. */
export const DEFAULT_NAMESPACES: readonly NamespaceType[] = Object.freeze(['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup'] as const);

/** Every option name `nsbox run` accepts (without the leading `--`). */
export type OptionName =
  | 'namespaces'
  | 'share'
  | 'join'
  | 'hostname'
  | 'domainname'
  | 'uid'
  | 'gid'
  | 'groups'
  | 'map-uid'
  | 'map-gid'
  | 'env'
  | 'unsetenv'
  | 'clearenv'
  | 'cwd'
  | 'argv0'
  | 'die-with-parent'
  | 'no-die-with-parent'
  | 'new-session'
  | 'no-init'
  | 'timeout'
  | 'rootfs'
  | 'layer'
  | 'volume'
  | 'tmpfs'
  | 'read-only'
  | 'no-lock-mounts'
  | 'net'
  | 'no-nat'
  | 'publish'
  | 'network'
  | 'memory'
  | 'pids'
  | 'cpus'
  | 'cgroup-parent'
  | 'help'
  | 'version'
  | SecurityOptionName;

/** One row of the option table. */
export interface OptionSpec {
  /** Long name, without `--`. */
  readonly name: OptionName;
  /** Other spellings (with their dashes), e.g. `-h`, `--chdir`. */
  readonly aliases?: readonly string[];
  /** The value's placeholder in `--help`; absent for flags. */
  readonly value?: string;
  /** May be given more than once. */
  readonly repeatable?: boolean;
  /** What `--help` says about it. */
  readonly help: string;
}

/** The option table of `nsbox run`: the parser accepts exactly these, `--help` lists them all. */
export const OPTIONS: readonly OptionSpec[] = Object.freeze([
  {
    name: 'namespaces',
    value: 'LIST',
    help: `New namespaces, comma-separated, from ${NAMESPACE_TYPES.join(',')}; 'none' for none. Default: ${DEFAULT_NAMESPACES.join(',')}.`,
  },
  {
    name: 'share',
    value: 'KIND',
    repeatable: true,
    help: "Do not create namespace KIND: removes it from the list (as bwrap's --share-net).",
  },
  {
    name: 'join',
    value: 'KIND=PID|PATH',
    repeatable: true,
    help: 'Join an existing namespace: /proc/PID/ns/KIND, or an nsfs file such as /run/netns/NAME (as nsenter). A joined kind is dropped from the default list.',
  },
  {
    name: 'hostname',
    value: 'NAME',
    help: "Hostname inside (needs a new or joined uts namespace). A container root's /etc/hostname always says what hostname(1) does: NAME, else the uts namespace's own name.",
  },
  { name: 'domainname', value: 'NAME', help: 'NIS domain name inside (needs a new or joined uts namespace).' },
  { name: 'uid', value: 'N', help: 'Run as uid N inside (it must be mapped). Default: 0 in a new user namespace, else unchanged.' },
  { name: 'gid', value: 'N', help: 'Run as gid N inside (it must be mapped).' },
  {
    name: 'groups',
    value: 'GID,...',
    help: "Supplementary gids, comma-separated ('' for none); needs setgroups allowed (root, or --map-gid through newgidmap).",
  },
  {
    name: 'map-uid',
    value: 'INSIDE:OUTSIDE:COUNT',
    repeatable: true,
    help: 'A uid_map line of the new user namespace. Default: 0:<your euid>:1. More than your own uid needs root, or newuidmap and /etc/subuid ranges.',
  },
  {
    name: 'map-gid',
    value: 'INSIDE:OUTSIDE:COUNT',
    repeatable: true,
    help: 'A gid_map line of the new user namespace. Default: 0:<your egid>:1 (newgidmap as for --map-uid).',
  },
  { name: 'env', value: 'K=V', repeatable: true, help: 'Set an environment variable.' },
  { name: 'unsetenv', value: 'K', repeatable: true, help: 'Remove an environment variable.' },
  { name: 'clearenv', help: 'Start from an empty environment (before --env/--unsetenv apply).' },
  {
    name: 'cwd',
    aliases: ['--chdir'],
    value: 'DIR',
    help: "Working directory of the command, resolved inside its root (an error if it is not there). Default: nsbox's own directory where the new root has that path (as bwrap: e.g. /usr/share, or a --volume bound at the same path), else /; without a mount namespace, nsbox's own.",
  },
  { name: 'argv0', value: 'NAME', help: 'argv[0] the command sees (the program run is still COMMAND).' },
  { name: 'die-with-parent', help: 'Kill the command (SIGKILL) if nsbox dies. On by default; the flag exists for bwrap users.' },
  { name: 'no-die-with-parent', help: 'Let the command outlive nsbox (e.g. when nsbox itself is SIGKILLed).' },
  { name: 'new-session', help: 'Run the command in a new session (setsid), without the controlling terminal.' },
  {
    name: 'no-init',
    help: 'In a new pid namespace, run COMMAND itself as PID 1, without the init that otherwise forwards signals to it and reaps orphans (as unshare --fork --pid).',
  },
  { name: 'timeout', value: 'MS', help: 'Kill the command with SIGKILL after MS milliseconds (nsbox then exits 137).' },
  {
    name: 'rootfs',
    value: 'DIR|host',
    help: "The command's root directory, entered with pivot_root (needs a mount namespace). Default with a mount namespace: 'host', a tmpfs root with the host's /usr, /bin, /sbin, /lib*, /etc read-only. Also mounts /proc, /sys (ro), /dev, /dev/pts, /dev/shm, masked paths, /etc/hostname, /etc/hosts, /etc/resolv.conf.",
  },
  {
    name: 'layer',
    value: 'DIR',
    repeatable: true,
    help: 'An overlay root: the layers, bottom first, with a throw-away writable layer on top (instead of --rootfs).',
  },
  {
    name: 'volume',
    value: 'SRC:DST[:ro|rw][,idmap]',
    repeatable: true,
    help: "Bind the host path SRC to DST inside, read-write or read-only (ro). idmap (root only): an idmapped mount through the container's user namespace, so files keep their host owners inside (host root's files are root's inside, and what the container's root writes there belongs to host root: trusted volumes only).",
  },
  { name: 'tmpfs', value: 'DST', repeatable: true, help: 'Mount a fresh tmpfs on DST inside.' },
  { name: 'read-only', help: 'Make the root read-only (/dev, /proc and tmpfs mounts stay writable).' },
  {
    name: 'no-lock-mounts',
    help: "Do not lock the container's mounts. By default COMMAND runs in a user and mount namespace nested in the ones that built its root, so the kernel locks every mount: masks, read-only paths, ':ro' volumes and --read-only cannot be undone from inside, and COMMAND has no capabilities over its uts and ipc namespaces. With this flag it gets them, and can unmount or remount everything made for it: for trusted commands only.",
  },
  {
    name: 'net',
    value: 'none|host|veth[:ADDR/PREFIX]',
    help: `Networking. 'none': a new network namespace of COMMAND's own (its user namespace owns it: ping and ip work inside, /sys/class/net shows it) with only lo, up; no root needed. 'host': the host's (as --share net). 'veth': the same, joined to the host by a veth pair made before COMMAND starts: eth0 inside with ADDR/PREFIX (IPv4, prefix at most 30; refused when the host routes it already), the prefix's first other address on the host end (nsbx…), lo up, a default route via the host end; needs root. Without ADDR/PREFIX: the first /30 of ${DEFAULT_VETH_POOL} that no route of the host's and no other nsbox run holds (10.200.0.2 when free), held for the run. Only the host end reaches COMMAND's address: packets for it from anywhere else (the LAN routing it through the host, another sandbox) are dropped; --publish is the way in. The veth goes away with COMMAND's network namespace. Without --net a new network namespace has lo down.`,
  },
  {
    name: 'no-nat',
    help: "With --net veth: no outbound NAT. By default, as root, the command's address is masqueraded behind the host's (as Docker's default bridge), in an nf_tables table owned by nsbox's socket that goes away with nsbox, even when it is killed. Without root there is no NAT (nor a veth).",
  },
  {
    name: 'publish',
    aliases: ['-p'],
    value: '[IP:]HOSTPORT:PORT[/udp]',
    repeatable: true,
    help: "Forward connections to HOSTPORT on the host's addresses (or on IP only) to PORT of the command (TCP, or UDP with /udp), as docker run -p, for as long as nsbox runs. With --net veth or --network (root): DNAT rules in the kernel, the client's address kept; on a loopback IP (127.0.0.1:…), which DNAT cannot serve, a userspace forwarder in nsbox to the command's address (the command sees the host end's); a host port another nsbox run publishes already is refused. With --net none (root or not): a userspace forwarder in nsbox to 127.0.0.1:PORT inside the command's network namespace, as rootlesskit's; the command sees connections come from 127.0.0.1.",
  },
  {
    name: 'network',
    value: 'NAME',
    help: "Join the named network made by 'nsbox network create NAME' (instead of --net): eth0 on its bridge with a free address of its subnet, a default route via the bridge, outbound NAT if the network has it, and an /etc/hosts naming every member, this one as its --hostname (default: a generated name), kept up to date as members come and go. Needs root and a container root (a mount namespace).",
  },
  {
    name: 'memory',
    value: 'SIZE',
    help: "Run the command in a new cgroup v2 with memory.max SIZE (bytes, or with K, M, G: '64M'). The cgroup is removed afterwards. --memory, --pids and --cpus need their controller in cgroup v2 and, without root, a delegated cgroup (systemd-run --user -p Delegate=yes --scope nsbox run ...).",
  },
  { name: 'pids', value: 'N', help: 'Run the command in a new cgroup v2 with pids.max N (processes and threads).' },
  { name: 'cpus', value: 'N', help: "Run the command in a new cgroup v2 with cpu.max N CPUs' worth of time ('0.5': 50 ms per 100 ms)." },
  {
    name: 'cgroup-parent',
    value: 'PATH',
    help: "Where --memory/--pids/--cpus make their cgroup: a cgroup v2 path relative to the v2 mount, or a directory in it. Default: nsbox's own cgroup. Alone, it runs the command in a new cgroup there without limits.",
  },
  ...SECURITY_OPTIONS,
  { name: 'help', aliases: ['-h'], help: 'Print this help and exit.' },
  { name: 'version', help: "Print nsbox's version and exit." },
] satisfies OptionSpec[]);

/** The text of `nsbox --help`: usage, every option of {@link OPTIONS}, notes and examples. */
export function helpText(): string {
  const rows = OPTIONS.map((o) => {
    const names = [`--${o.name}`, ...(o.aliases ?? [])].join(', ') + (o.value ? ` ${o.value}` : '');
    return [names, o.help + (o.repeatable ? ' Repeatable.' : '')] as const;
  });
  const width = Math.max(...rows.map(([n]) => n.length)) + 2;
  const opts = rows.map(([n, h]) => `  ${n.padEnd(width)}${h}`).join('\n');
  return `Usage: nsbox run [options] [--] COMMAND [ARGS...]
       nsbox network create NAME [--subnet CIDR] [--no-nat] | rm [--force] NAME | ls
       nsbox --help | --version

Runs COMMAND in new and/or joined Linux namespaces, as unshare(1) and bwrap(1) do, with
stdin, stdout and stderr passed through. Without root, nsbox makes a user namespace first
and maps your uid and gid to 0 inside it. As root, ids 0-65535 inside map to a block of
65536 unprivileged host ids of their own (never host root, unless --map-uid 0:0:N says so).
The container's mounts are locked against COMMAND (see --no-lock-mounts), it gets a new
session keyring, and ioctl TIOCSTI/TIOCLINUX on a terminal fail with EPERM. COMMAND runs
with Docker's default capabilities, no_new_privs and nsbox's default seccomp profile
(see --cap-add, --seccomp, --allow-new-privileges, --privileged).

Options:
${opts}

Options end at '--' or at the first argument that is not an option.

Networks: 'nsbox network create NAME' makes a bridge (nsbr-NAME) with a subnet (default
the first free 10.89.N.0/24) and outbound NAT (a table 'ip nsbox_net_NAME'), recorded under
/run/nsbox/networks; 'nsbox network rm NAME' removes them; 'nsbox network ls' lists the
networks and their live members. Root only.

Exit status: COMMAND's own; 128+N if a signal N killed it; 125 if nsbox itself failed
(bad option, a namespace could not be made or joined); 126 if COMMAND is not executable;
127 if it was not found. An error an option caused names that option first and says what
to do instead (e.g. '--share user: ... run nsbox as root').

Signals: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH sent to nsbox are
passed to COMMAND. In a new pid namespace an init made by nsbox is PID 1 and COMMAND is its
child (as under bwrap, or docker run --init): the init passes every signal it gets on to
COMMAND, reaps orphaned processes, and exits with COMMAND's status, so Ctrl-C and SIGTERM
stop a plain 'sleep'. With --no-init COMMAND is PID 1 itself, which ignores every signal it
has no handler for (pid_namespaces(7)), as under unshare --fork --pid. A terminal's Ctrl-C
reaches COMMAND directly (same process group) and through nsbox as well. Unless
--no-die-with-parent, COMMAND is SIGKILLed if nsbox dies.

Examples:
  nsbox run --hostname box -- sh -c 'echo $$; id -u; hostname'
  nsbox run --share net -- curl -sI https://example.org
  nsbox run --namespaces user,net -- ip link
  nsbox run --net veth:10.200.0.2/30 -- ping -c1 10.200.0.1             (as root)
  nsbox run --net veth --publish 8080:80 -- busybox httpd -f -p 80     (as root)
  nsbox run --net none -p 127.0.0.1:8080:80 -- busybox httpd -f -p 80  (rootless too)
  nsbox network create app && nsbox run --network app --hostname web -- sh
  nsbox run --join net=/run/netns/blue --namespaces none -- ip addr      (as root)
  nsbox run --map-uid 0:1000:1 --map-uid 1:100000:65536 \\
            --map-gid 0:1000:1 --map-gid 1:100000:65536 -- id            (newuidmap)
  nsbox run --clearenv --env PATH=/usr/bin:/bin --cwd / --timeout 5000 -- env
  nsbox run --layer /images/base --layer /images/app --volume /srv/data:/data:ro -- sh
  nsbox run --rootfs /srv/busybox --read-only --tmpfs /tmp -- sh
  nsbox run --cap-drop ALL --cap-add NET_BIND_SERVICE --ulimit nofile=1024 -- id
  nsbox run --landlock-read /usr --landlock-write /tmp -- sh -c 'ls /tmp; cat /etc/passwd'
`;
}
