/// <reference types="node" preserve="true" />
/**
 * `nsbox/net`: network namespaces by name (interoperable with `ip netns`), and rtnetlink in
 * TypeScript against a chosen namespace — links, addresses, routes, change events — plus a
 * one-call veth connection of a namespace to the host and TCP sockets inside a namespace;
 * nf_tables over netlink (tables, chains, rules, atomic transactions), outbound NAT and
 * published ports; named networks (a bridge, NAT, addresses and /etc/hosts per member) that
 * containers join by name.
 * Every call takes `{ netns }` (a Namespace handle, a pid, or a /run/netns name; default:
 * the caller's) and returns a Promise; none touches the calling thread's namespaces.
 * See docs/net.md for the `ip` command each call replaces.
 * @module
 */
export { createNetns, openNetns, listNetns, deleteNetns } from './netns.js';
export { links, link, addLink, setLink, deleteLink } from './link.js';
export { addresses, addAddress, deleteAddress } from './address.js';
export { routes, addRoute, replaceRoute, deleteRoute } from './route.js';
export { neighbours, addNeighbour, replaceNeighbour, deleteNeighbour } from './neighbour.js';
export { events, type EventsOptions, type NetEventIterator } from './events.js';
export type { MonitorOptions, MonitorIterator } from './monitor.js';
export { nftEvents, type NftEventsOptions, type NftEventIterator } from './nft/events.js';
export {
  connectToHost,
  connectToBridge,
  loUp,
  type ConnectOptions,
  type HostConnection,
  type NewHostConnection,
  type BridgeConnectOptions,
  type BridgeConnection,
} from './connect.js';
export { listenTcpIn, connectTcpIn } from './sockets.js';
export { forwardPort, PortForwarder, type ForwardPortOptions } from './forward.js';
export { openNftables, NftSession } from './nft/session.js';
export {
  masquerade,
  publishPort,
  publishPorts,
  NatHandle,
  type MasqueradeOptions,
  type PublishPortSpec,
  type PublishPortOptions,
  type PublishPortsOptions,
} from './nft/nat.js';
export { isolateAddress, type IsolateAddressOptions } from './nft/isolate.js';
export { publishedPorts, type PublishedPort } from './nft/published.js';
export type {
  NftFamily,
  NftHook,
  NftChainType,
  NftVerdict,
  NftRegister,
  NftMetaKey,
  NftCtKey,
  NftCmpOp,
  NftPayloadBase,
  NftNatFlag,
  NftFibFlag,
  NftFibResult,
  NftMetaExpr,
  NftPayloadExpr,
  NftCmpExpr,
  NftBitwiseExpr,
  NftImmediateExpr,
  NftVerdictExpr,
  NftNatExpr,
  NftMasqExpr,
  NftFibExpr,
  NftCtExpr,
  NftCounterExpr,
  NftLookupExpr,
  NftOtherExpr,
  NftExpr,
  NftTableSpec,
  NftTable,
  NftChainSpec,
  NftChain,
  NftRuleSpec,
  NftRule,
  NftTableRef,
  NftChainRef,
  NftRuleRef,
  NftOp,
  NftListQuery,
  NftEvent,
  NftTableEvent,
  NftChainEvent,
  NftRuleEvent,
  NftGenerationEvent,
} from './nft/types.js';
export { NetlinkDecodeError } from '../errors.js';
export type {
  IfIndex,
  NetnsTarget,
  NetnsOptions,
  IfName,
  MacvlanMode,
  OperState,
  Scope,
  LinkBase,
  VethLink,
  BridgeLink,
  DummyLink,
  MacvlanLink,
  VlanLink,
  DeviceLink,
  OtherLink,
  Link,
  LinkSpecBase,
  VethPeerSpec,
  VethSpec,
  BridgeSpec,
  DummySpec,
  MacvlanSpec,
  VlanSpec,
  LinkSpec,
  LinkChanges,
  Address,
  AddressOptions,
  Route,
  RouteSpec,
  RouteQuery,
  NetEvent,
  LinkEvent,
  AddressEvent,
  RouteEvent,
  IpvlanMode,
  IpvlanLink,
  VxlanLink,
  IpvlanSpec,
  VxlanSpec,
  Neighbour,
  NeighbourState,
  NeighbourOptions,
} from './types.js';
export type { SpawnMoveLink, SpawnNetworkOptions, SpawnVethLink, SpawnVethOptions } from './spawn-network.js';
export {
  createNetwork,
  openNetwork,
  listNetworks,
  removeNetwork,
  Network,
  type NetworkStateOptions,
  type CreateNetworkOptions,
  type RemoveNetworkOptions,
  type JoinNetworkOptions,
  type NetworkInfo,
  type NetworkMemberInfo,
} from './network.js';
export { NetworkMember, type MemberSpawnOptions } from './network-member.js';
