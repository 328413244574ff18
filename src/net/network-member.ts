/**
 * A process's membership of a named network (network.ts): the claim on an address, the
 * member's /etc/hosts, and what spawn needs to make the member.
 * @module
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { handleClosed } from '../errors.js';
import type { BindMount } from '../fs/container.js';
import { native } from '../native.js';
import type { Network } from './network.js';
import type { NatHandle } from './nft/nat.js';
import { liveMembers, memberPaths, readJson, rewriteHosts, withStateLock, type MemberRecord } from './network-state.js';
import type { SpawnNetworkOptions } from './spawn-network.js';

/** What {@link NetworkMember.spawnOptions} gives spawn. */
export interface MemberSpawnOptions {
  /** The member's name. */
  hostname: string;
  /** A veth on the network's bridge: the member's address inside, a default route via the gateway. */
  network: SpawnNetworkOptions;
  /** The member's hosts file, bound read-only on /etc/hosts. */
  mounts: BindMount[];
}

const live = new Set<NetworkMember>();

/**
 * A process's membership of a network: an address claimed by a flock this process holds, and
 * the member's /etc/hosts. Leave it when the member's process has exited; if this process
 * dies first, the next command that takes the network's lock reclaims the address.
 */
export class NetworkMember {
  #fd: number;
  #isolation: NatHandle | undefined;
  readonly #dir: string;
  /** The network. */
  readonly network: Network;
  /** The member's name: its entry in every member's /etc/hosts (and its hostname). */
  readonly name: string;
  /** Its address (without prefix). */
  readonly address: string;
  /** Its /etc/hosts on the host: bind it read-only over the member's /etc/hosts. */
  readonly hostsFile: string;

  /** @internal */
  constructor(network: Network, dir: string, m: MemberRecord, fd: number) {
    this.network = network;
    this.#dir = dir;
    this.#fd = fd;
    this.name = m.name;
    this.address = m.address;
    this.hostsFile = memberPaths(join(dir, network.name), m.address).hosts;
    live.add(this);
  }

  /** The address's direct-access protection (`JoinNetworkOptions.isolate`), held until leave. @internal */
  hold(isolation: NatHandle): void {
    this.#isolation = isolation;
  }

  /** The table of its direct-access protection (`nsbox_iso_<pid>_<n>`), as `nft list tables` names it; undefined with `isolate: false` or once left. */
  get isolationTable(): string | undefined {
    return this.#isolation?.table;
  }

  /** True once it has left. */
  get left(): boolean {
    return this.#fd < 0;
  }

  /**
   * What to give spawn so the child is this member: `hostname`, `network` (a veth whose host
   * end is a port of the bridge, the member's address inside, a default route via the
   * gateway; needs `'net'` in `namespaces` and root) and `mounts` (the hosts file bound
   * read-only on /etc/hosts; needs a container root). Merge `mounts` with your own.
   * @throws `ERR_HANDLE_CLOSED` after {@link NetworkMember.leave}.
   */
  spawnOptions(): MemberSpawnOptions {
    if (this.#fd < 0) throw handleClosed('NetworkMember');
    const prefix = this.network.subnet.split('/')[1];
    return {
      hostname: this.name,
      network: {
        lo: true,
        veth: { bridge: this.network.bridge, childAddress: `${this.address}/${prefix}`, gateway: this.network.gateway },
      },
      mounts: [{ type: 'bind', source: this.hostsFile, target: '/etc/hosts', readOnly: true }],
    };
  }

  /**
   * Leaves the network: removes the address's direct-access protection, frees the address,
   * removes the hosts file and the member's entry from the others'. Idempotent. Call it once
   * the member's process has exited.
   */
  async leave(): Promise<void> {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    live.delete(this);
    const isolation = this.#isolation;
    this.#isolation = undefined;
    await isolation?.close();
    const netDir = join(this.#dir, this.network.name);
    await withStateLock(this.#dir, () => {
      const p = memberPaths(netDir, this.address);
      rmSync(p.json, { force: true });
      rmSync(p.hosts, { force: true });
      rmSync(p.lock, { force: true });
      native.close(fd);
      if (readJson(join(netDir, 'network.json'))) rewriteHosts(netDir, liveMembers(netDir).members);
    });
  }

  /** Same as {@link NetworkMember.leave}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.leave();
  }
}
