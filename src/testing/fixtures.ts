/**
 * Per-test kernel objects — a network namespace, a veth pair between two, a mount namespace
 * with a scratch tmpfs, a cgroup — each removed after the test, whether it passed or failed.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cgroup } from '../cgroups/cgroup.js';
import { createCgroup, type CreateCgroupOptions } from '../cgroups/create.js';
import { invalidArgType, invalidArgValue } from '../errors.js';
import { mountTmpfs, type TmpfsOptions } from '../fs/filesystems.js';
import { setPropagation } from '../fs/mount.js';
import { createNamespace, type Namespace } from '../namespaces/namespace.js';
import { addAddress, addresses, deleteAddress } from '../net/address.js';
import { loUp } from '../net/connect.js';
import { addLink, deleteLink, link, links, setLink } from '../net/link.js';
import { addRoute, deleteRoute, routes } from '../net/route.js';
import type { Address, IfIndex, Link, LinkChanges, LinkSpec, NetnsOptions, Route, RouteQuery, RouteSpec } from '../net/types.js';
import type { InNamespaceOptions } from '../fs/flags.js';
import { type CleanupHook, checkHook, register } from './hooks.js';
import { delegatedCgroup, enableInParent } from './cgroup-parent.js';

/** A short random suffix for names (interfaces allow 15 bytes). */
const rand = () => randomBytes(3).toString('hex');

/**
 * A fresh network namespace (only `lo`, up) for one test, held by an fd (no /run/netns name,
 * so nothing is left on disk), with the rtnetlink calls of `nsbox/net` bound to it:
 * `ns.addLink(spec)` is `addLink(spec, { netns: ns.namespace })`. Made by {@link useNetns}.
 */
export class TestNetns implements AsyncDisposable {
  /** The namespace: pass it as `{ netns }` to any nsbox/net call, or as `join: { net }` to spawn. */
  readonly namespace: Namespace;

  /** @internal */
  constructor(namespace: Namespace) {
    this.namespace = namespace;
  }

  /** `{ netns: this.namespace }`, the options object every nsbox/net call takes. */
  get options(): NetnsOptions {
    return { netns: this.namespace };
  }
  /** {@link links} in this namespace (`ip -n NS link`). */
  links(): Promise<Link[]> {
    return links(this.options);
  }
  /** {@link link} in this namespace. */
  link(ref: string | IfIndex): Promise<Link> {
    return link(ref, this.options);
  }
  /** {@link addLink} in this namespace (a veth peer's own `netns` still applies to the peer). */
  addLink(spec: LinkSpec): Promise<Link> {
    return addLink(spec, this.options);
  }
  /** {@link setLink} in this namespace. */
  setLink(ref: string | IfIndex, changes: LinkChanges): Promise<void> {
    return setLink(ref, changes, this.options);
  }
  /** {@link deleteLink} in this namespace. */
  deleteLink(ref: string | IfIndex): Promise<void> {
    return deleteLink(ref, this.options);
  }
  /** {@link addresses} in this namespace. */
  addresses(): Promise<Address[]> {
    return addresses(this.options);
  }
  /** {@link addAddress} in this namespace. */
  addAddress(dev: string | IfIndex, address: string): Promise<void> {
    return addAddress(dev, address, this.options);
  }
  /** {@link deleteAddress} in this namespace. */
  deleteAddress(dev: string | IfIndex, address: string): Promise<void> {
    return deleteAddress(dev, address, this.options);
  }
  /** {@link routes} in this namespace. */
  routes(query: Omit<RouteQuery, 'netns'> = {}): Promise<Route[]> {
    return routes({ ...query, ...this.options });
  }
  /** {@link addRoute} in this namespace. */
  addRoute(route: RouteSpec): Promise<void> {
    return addRoute(route, this.options);
  }
  /** {@link deleteRoute} in this namespace. */
  deleteRoute(route: RouteSpec): Promise<void> {
    return deleteRoute(route, this.options);
  }
  /**
   * Closes the namespace's fd. The kernel then destroys it, and every link in it (a veth's peer
   * elsewhere with it), once no process, fd or mount holds it any more. Idempotent.
   */
  async remove(): Promise<void> {
    this.namespace.close();
  }
  /** `await using ns = await useNetns()`: {@link TestNetns.remove}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove();
  }
}

/**
 * A fresh network namespace with `lo` up, removed after the test (see {@link CleanupHook}):
 * `const ns = await useNetns(onTestFinished)` in vitest, `await useNetns(t)` in node:test.
 * Replaces `ip netns add X; ip -n X link set lo up` … `ip netns del X`.
 *
 * Needs CAP_SYS_ADMIN (root): the namespace is made on a dedicated native thread
 * (createNamespace), and acting in it from outside means entering it. Rootless, run the code
 * inside instead: {@link inNamespaces} with `namespaces: ['user', 'net']`. `skipReason('netns')`
 * says which applies. Does not touch the calling thread.
 * @throws `ERR_INVALID_ARG_TYPE` for a bad hook; SysError `EPERM` (syscall `'unshare'`) without privileges.
 */
export async function useNetns(cleanup?: CleanupHook): Promise<TestNetns> {
  const hook = checkHook(cleanup);
  const ns = new TestNetns(createNamespace('net'));
  try {
    await loUp(ns.namespace);
  } catch (err) {
    await ns.remove();
    throw err;
  }
  register(hook, () => ns.remove());
  return ns;
}

/** Options of {@link useVeth}. */
export interface VethFixtureOptions {
  /** Name of the end in namespace `a`. Default: `va` and a random suffix. */
  name?: string;
  /** Name of the end in namespace `b`. Default: `vb` and the same suffix. */
  peerName?: string;
  /** Addresses (CIDR) for the `a` end and the `b` end, e.g. `['10.0.0.1/24', '10.0.0.2/24']`. */
  addresses?: [string, string];
  /** Bring both ends up. Default true. */
  up?: boolean;
}

/**
 * Two fresh network namespaces joined by a veth pair (made by {@link useVeth}): `a.name` lives
 * in `a`, `b.name` in `b`. `remove()` removes both namespaces, and the pair with them.
 */
export class TestVeth implements AsyncDisposable {
  /** The first namespace and its end's name. */
  readonly a: TestNetns;
  /** The second namespace. */
  readonly b: TestNetns;
  /** The end in `a`. */
  readonly name: string;
  /** The end in `b`. */
  readonly peerName: string;

  /** @internal */
  constructor(a: TestNetns, b: TestNetns, name: string, peerName: string) {
    this.a = a;
    this.b = b;
    this.name = name;
    this.peerName = peerName;
  }
  /** Removes both namespaces (and so the pair). Idempotent. */
  async remove(): Promise<void> {
    await this.a.remove();
    await this.b.remove();
  }
  /** `await using veth = await useVeth()`: {@link TestVeth.remove}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove();
  }
}

/**
 * Two fresh network namespaces (`lo` up in each) and a veth pair between them, ends up and
 * addressed as asked, removed after the test (see {@link CleanupHook}). Replaces
 * `ip netns add A; ip netns add B; ip -n A link add va type veth peer name vb netns B; …`.
 * Needs root, as {@link useNetns}. If any step fails, what was made is removed.
 * @throws as {@link useNetns} and {@link addLink}/{@link addAddress}.
 */
export async function useVeth(cleanup?: CleanupHook, options: VethFixtureOptions = {}): Promise<TestVeth> {
  const hook = checkHook(cleanup);
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
  const { addresses: addrs, up = true } = options;
  if (addrs !== undefined && (!Array.isArray(addrs) || addrs.length !== 2))
    throw invalidArgValue('options.addresses', addrs, 'must be two addresses, one for each end');
  const suffix = rand();
  const name = options.name ?? `va${suffix}`;
  const peerName = options.peerName ?? `vb${suffix}`;
  const a = await useNetns();
  let b: TestNetns | undefined;
  try {
    b = await useNetns();
    await a.addLink({ kind: 'veth', name, peer: { name: peerName, netns: b.namespace } });
    if (addrs) {
      await a.addAddress(name, addrs[0]);
      await b.addAddress(peerName, addrs[1]);
    }
    if (up) {
      await a.setLink(name, { up: true });
      await b.setLink(peerName, { up: true });
    }
  } catch (err) {
    await a.remove();
    await b?.remove();
    throw err;
  }
  const veth = new TestVeth(a, b, name, peerName);
  register(hook, () => veth.remove());
  return veth;
}

/**
 * A private mount namespace with a scratch tmpfs (made by {@link useMountns}): mounts made in it
 * (`{ namespace: m.namespace }` on the nsbox/fs calls, or a process spawned with
 * `join: { mnt: m.namespace }`) are invisible to the host and go with it.
 */
export class TestMountns implements AsyncDisposable {
  /** The mount namespace (a copy of the caller's, propagation private). */
  readonly namespace: Namespace;
  /** The scratch directory: an empty tmpfs inside the namespace, an empty directory outside. */
  readonly path: string;

  /** @internal */
  constructor(namespace: Namespace, path: string) {
    this.namespace = namespace;
    this.path = path;
  }
  /** `{ namespace: this.namespace }`, the option the nsbox/fs calls take. */
  get options(): InNamespaceOptions {
    return { namespace: this.namespace };
  }
  /**
   * Closes the namespace's fd (its mounts go once no process holds it: kill what you joined to
   * it first) and removes the scratch directory. Idempotent.
   */
  async remove(): Promise<void> {
    this.namespace.close();
    try {
      rmdirSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  /** `await using m = await useMountns()`: {@link TestMountns.remove}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove();
  }
}

/**
 * A new mount namespace (a private copy of the caller's: `unshare --mount --propagation
 * private`) with a tmpfs on a fresh directory under the temp dir, removed after the test (see
 * {@link CleanupHook}). Needs CAP_SYS_ADMIN (root); rootless, use {@link inNamespaces} with
 * `namespaces: ['user', 'mnt']`. Does not touch the calling thread.
 * @throws `ERR_INVALID_ARG_TYPE` for a bad hook; SysError `EPERM` without privileges.
 */
export async function useMountns(cleanup?: CleanupHook, options: TmpfsOptions = {}): Promise<TestMountns> {
  const hook = checkHook(cleanup);
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-scratch-'));
  let ns: Namespace | undefined;
  try {
    ns = createNamespace('mnt');
    setPropagation('/', 'rprivate', { namespace: ns });
    mountTmpfs(dir, { ...options, namespace: ns });
  } catch (err) {
    ns?.close();
    rmdirSync(dir);
    throw err;
  }
  const m = new TestMountns(ns, dir);
  register(hook, () => m.remove());
  return m;
}

/** Options of {@link useCgroup}. */
export interface CgroupFixtureOptions extends Omit<CreateCgroupOptions, 'recursive'> {
  /**
   * The parent: a path as `cgroup()` takes it. Default: the delegated parent
   * {@link skipReason}`('cgroup')` finds — `$NSBOX_TEST_CGROUP`, else the v2 root when this
   * process may write there (root), else this process's own cgroup when it is delegated to it.
   */
  parent?: string;
  /**
   * Controllers the test cgroup must be able to use (`['memory', 'pids']`): enabled in the
   * parent's cgroup.subtree_control when they are not yet (and left enabled, as systemd
   * leaves a delegation). Controllers named in `limits` are added to these.
   */
  use?: string[];
}

/**
 * A new cgroup v2 under a delegated parent (`nsbox-test-` and a random suffix), removed after
 * the test (see {@link CleanupHook}): every process in it killed and reaped, then the
 * directory removed, children first (`Cgroup.remove({ recursive: true })`). Spawn into it with
 * `spawn(…, { cgroup })` or `inNamespaces({ cgroup }, …)`.
 *
 * Needs write access to the parent: root, or a subtree delegated to this user (systemd's
 * `Delegate=yes`); `skipReason('cgroup')` says when there is none.
 * @throws `ERR_NSBOX_UNSUPPORTED` when there is no delegated parent; as {@link createCgroup}.
 */
export async function useCgroup(cleanup?: CleanupHook, options: CgroupFixtureOptions = {}): Promise<Cgroup> {
  const hook = checkHook(cleanup);
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options);
  const { parent: parentPath, use, ...create } = options;
  const parent = delegatedCgroup(parentPath);
  const wanted = new Set([...(use ?? []), ...Object.keys(create.limits ?? {})]);
  enableInParent(parent, [...wanted]);
  const cg = await createCgroup(`${parent.directory}/nsbox-test-${rand()}${rand()}`, create);
  register(hook, () => cg.remove({ recursive: true }));
  return cg;
}
