// A consumer of the packed nsbox, type-checked by scripts/consumer-check.sh (never run): every
// public entry point, with the types a user would write. `tsc --noEmit --strict` must be clean.
import { type Features, features, type NsboxErrorCode, SysError } from 'nsbox';
import { type Cgroup, type CgroupLimits, cgroup, createCgroup, type MemoryStats } from 'nsbox/cgroups';
import { bind, type MountInfoEntry, mount, mountinfo, mountTmpfs, openTree, resolveInRoot, umount } from 'nsbox/fs';
import { addAddress, connectToHost, type HostConnection, type Link, links, type NewHostConnection, type VethSpec } from 'nsbox/net';
import {
  createNamespace,
  type ExitStatus,
  type Namespace,
  type NsboxChild,
  openNamespace,
  type SpawnOptions,
  setns,
  spawn,
  type ThreadNamespaces,
  unshare,
} from 'nsbox/namespaces';
import { type CapabilityName, capabilities, compileSeccomp, defaultSeccompProfile, hardened, type SecurityOptions } from 'nsbox/security';
import { inNamespaces, type IsolatedOptions, runIsolated, skipReason, type TestNetns, useCgroup, useNetns } from 'nsbox/testing';

export async function main(): Promise<void> {
  const f: Features = features();
  const options: SpawnOptions = { namespaces: ['user', 'pid', 'uts', 'net'], hostname: 'box', ...hardened() };
  const child: NsboxChild = spawn('sh', ['-c', 'echo $$'], options);
  const out: string[] = [];
  for await (const chunk of child.stdout!.setEncoding('utf8')) out.push(String(chunk));
  const status: ExitStatus = await child.exited;
  const code: number | null = status.code;
  const signal: NodeJS.Signals | null = status.signal;

  const limits: CgroupLimits = { memory: { max: '64M' }, pids: { max: 32 } };
  const cg: Cgroup = await createCgroup(`nsbox-consumer/${child.pid}`, { limits });
  const stats: MemoryStats = cg.memoryStats();
  await cg.remove();
  const root: Cgroup = cgroup('');

  const ns: Namespace = createNamespace('net');
  const mine: Namespace = openNamespace('mnt');
  ns.close();
  const back: ThreadNamespaces = unshare(['uts']);
  back.restore();
  using joined = setns(mine);

  mountTmpfs('/mnt', { size: '16M' });
  bind('/etc', '/mnt', { readOnly: true, recursive: true });
  umount('/mnt', { lazy: true });
  const mounts: MountInfoEntry[] = mountinfo();
  using tree = openTree('/etc', { recursive: true });
  using handle = resolveInRoot('/srv/root', 'etc/passwd');

  const all: Link[] = await links({ netns: child.pid });
  const veth: VethSpec = { kind: 'veth', name: 'v0', peer: { name: 'v1' } };
  await addAddress('v0', '10.0.0.1/24', { netns: ns });
  const conn: HostConnection = await connectToHost(child, { hostAddress: '10.200.0.1/30', childAddress: '10.200.0.2/30' });
  const fresh: NewHostConnection = await connectToHost('new', { hostAddress: '10.201.0.1/30', childAddress: '10.201.0.2/30' });
  const freshNs: Namespace = fresh.netns;
  // @ts-expect-error only connectToHost('new', …) returns a namespace
  const noNs: NewHostConnection = await connectToHost(child, { hostAddress: '10.202.0.1/30', childAddress: '10.202.0.2/30' });

  const caps: CapabilityName[] = capabilities().effective;
  const sec: SecurityOptions = { capabilities: { bounding: ['CAP_NET_BIND_SERVICE'] }, noNewPrivileges: true };
  const bpf = compileSeccomp(defaultSeccompProfile);

  const iso: IsolatedOptions = { namespaces: ['user', 'pid', 'net'], hostname: 'box', timeout: 5000 };
  const pid1: number = await inNamespaces(iso, (n: number) => process.pid + n, 0);
  const fromModule: string = await runIsolated<(a: string) => string>(new URL('./probe.js', import.meta.url), 'probe', ['x']);
  const why: string | false = skipReason('netns', 'cgroup:memory', 'landlock>=3');
  const tns: TestNetns = await useNetns((fn) => void fn);
  const tcg: Cgroup = await useCgroup({ after: (fn: () => Promise<void>) => void fn }, { limits: { pids: { max: 8 } } });
  // @ts-expect-error the arguments must match the function's parameters
  await inNamespaces(iso, (n: number) => n, 'not a number');
  // @ts-expect-error stdio is runIsolated's own
  await inNamespaces({ stdio: 'inherit' }, () => 1);
  // @ts-expect-error not a requirement
  skipReason('rooot');
  console.log(pid1, fromModule, why, tns.namespace, tcg.path);

  // The types are nsbox's own, not `any`: each misuse below must be an error.
  // @ts-expect-error 'users' is not a namespace type
  spawn('sh', { namespaces: ['users'] });
  // @ts-expect-error flags are the kernel's names ('nosuid', …), not mount(8) options
  mount('tmpfs', '/b', { fstype: 'tmpfs', flags: ['no-suid'] });
  // @ts-expect-error createCgroup returns a Promise<Cgroup>, not a Cgroup
  const notYet: Cgroup = createCgroup('x');

  try {
    spawn('nosuch');
  } catch (err) {
    if (err instanceof SysError) {
      const c: NsboxErrorCode | string = err.code;
      const n: number = err.errno;
      console.log(c, n, err.syscall, err.step);
    }
  }
  console.log(
    notYet,
    f,
    out,
    code,
    signal,
    stats,
    root,
    joined,
    mounts,
    tree,
    handle,
    all,
    veth,
    conn,
    fresh,
    freshNs,
    noNs,
    caps,
    sec,
    bpf,
  );
}
