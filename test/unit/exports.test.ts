// The public surface: each entry point exports exactly the names listed here, values and
// types alike. Adding an export means adding it here (and documenting it); an internal
// helper that leaks fails the test.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import * as nsbox from '../../src/index.js';
import * as cgroups from '../../src/cgroups/index.js';
import * as fs from '../../src/fs/index.js';
import * as namespaces from '../../src/namespaces/index.js';
import * as net from '../../src/net/index.js';
import * as security from '../../src/security/index.js';
import * as oci from '../../src/oci/index.js';
import * as testing from '../../src/testing/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Runtime (value) exports of each module. */
const VALUES = {
  namespaces: [
    'NAMESPACE_FILES',
    'NAMESPACE_TYPES',
    'Namespace',
    'NamespacePool',
    'NsboxChild',
    'Pty',
    'ThreadNamespaces',
    'createNamespace',
    'isNamespaceType',
    'namespacePool',
    'openNamespace',
    'openNamespacePath',
    'openStartGate',
    'startGateNamespaces',
    'openStartGateSync',
    'openPty',
    'persistNamespace',
    'SandboxTemplate',
    'sendFd',
    'setns',
    'spawn',
    'spawnAsync',
    'template',
    'unpersistNamespace',
    'unshare',
    'withNamespaces',
  ],
  cgroups: ['Cgroup', 'cgroup', 'createCgroup', 'currentCgroup', 'findCgroup2'],
  fs: [
    'DetachedMount',
    'FsContext',
    'MASKED_PATHS',
    'PathHandle',
    'READONLY_PATHS',
    'bind',
    'cgroup2Spec',
    'devptsSpec',
    'fsopen',
    'mount',
    'mountCgroup2',
    'mountDevpts',
    'mountMqueue',
    'mountOverlay',
    'mountProc',
    'mountSysfs',
    'mountTmpfs',
    'mountinfo',
    'mqueueSpec',
    'openTree',
    'overlaySpec',
    'parseMountinfo',
    'procSpec',
    'remount',
    'resolveInRoot',
    'setPropagation',
    'sysfsSpec',
    'tmpfsSpec',
    'umount',
    'watchMounts',
  ],
  net: [
    'NatHandle',
    'NetlinkDecodeError',
    'Network',
    'NetworkMember',
    'NftSession',
    'addAddress',
    'addLink',
    'addNeighbour',
    'addRoute',
    'addresses',
    'connectTcpIn',
    'connectToBridge',
    'connectToHost',
    'createNetns',
    'createNetwork',
    'deleteAddress',
    'deleteLink',
    'deleteNeighbour',
    'deleteNetns',
    'deleteRoute',
    'events',
    'nftEvents',
    'forwardPort',
    'PortForwarder',
    'isolateAddress',
    'link',
    'links',
    'listNetns',
    'listNetworks',
    'listenTcpIn',
    'loUp',
    'masquerade',
    'neighbours',
    'openNetns',
    'openNetwork',
    'openNftables',
    'publishPort',
    'publishPorts',
    'publishedPorts',
    'removeNetwork',
    'replaceNeighbour',
    'replaceRoute',
    'routes',
    'setLink',
  ],
  security: [
    'DEFAULT_CAPABILITIES',
    'SeccompNotification',
    'SeccompNotifier',
    'allCapabilities',
    'capabilities',
    'capabilityNames',
    'capabilityNumber',
    'compileSeccomp',
    'defaultSeccompProfile',
    'disassemble',
    'hardened',
    'landlockAbi',
    'landlockForCommand',
    'lastCap',
    'syscallName',
    'syscallNumber',
  ],
} as const;
/** What `nsbox` adds to the union of the modules. */
const ROOT_VALUES = ['SysError', 'features'];

/** Type-only exports of each module. */
const TYPES = {
  namespaces: [
    'CreatableNamespaceType',
    'ExitStatus',
    'IdMapping',
    'NamespaceFile',
    'NamespacePoolOptions',
    'NamespaceType',
    'OpenNamespaceOptions',
    'PersistNamespaceOptions',
    'PtyOptions',
    'PtySize',
    'SendFdOptions',
    'SetgroupsPolicy',
    'SpawnHook',
    'SpawnHooks',
    'SpawnOptions',
    'StartGateNamespacesOptions',
    'StartGateSyncOptions',
    'StartGateOptions',
    'StdioOptions',
    'StdioSource',
    'TemplateOptions',
    'TemplateSpawnOptions',
    'TerminalOption',
    'ThreadNamespaceType',
    'TimeOffsets',
  ],
  cgroups: [
    'Bytes',
    'Cgroup2Mount',
    'CgroupEventKind',
    'CgroupEventMap',
    'CgroupEvents',
    'CgroupLimitValues',
    'CgroupLimits',
    'CgroupStat',
    'CgroupType',
    'CpuLimits',
    'CpuStats',
    'CpusetLimits',
    'CreateCgroupOptions',
    'CurrentCgroup',
    'DeviceRule',
    'HugetlbSizeLimits',
    'HugetlbSizeStats',
    'IoDeviceLimit',
    'IoDeviceStats',
    'IoLimits',
    'LimitValue',
    'MemoryEvents',
    'MemoryLimits',
    'MemoryStats',
    'PidsEvents',
    'PidsLimits',
    'PidsStats',
    'Pressure',
    'PressureEvent',
    'PressureKind',
    'PressureLine',
    'PressureTriggerOptions',
    'RemoveCgroupOptions',
  ],
  fs: [
    'BindMount',
    'BindOptions',
    'Cgroup2Options',
    'ContainerMount',
    'DevptsOptions',
    'FilesystemOptions',
    'FsMountOptions',
    'FsSysError',
    'InNamespaceOptions',
    'MountAttr',
    'MountDataValue',
    'MountFlag',
    'MountInfoEntry',
    'MountOptions',
    'MountPropagation',
    'MountSpec',
    'OpenTreeOptions',
    'OverlayOptions',
    'OverlayRootfs',
    'ProcOptions',
    'Propagation',
    'RemountOptions',
    'ResolveFlag',
    'ResolveOptions',
    'RootfsSpec',
    'SetAttrOptions',
    'Size',
    'SpecialMount',
    'DeviceNode',
    'TmpfsMount',
    'TmpfsOptions',
    'UmountOptions',
    'WatchMountsOptions',
  ],
  net: [
    'Address',
    'AddressEvent',
    'AddressOptions',
    'BridgeConnectOptions',
    'BridgeConnection',
    'BridgeLink',
    'BridgeSpec',
    'ConnectOptions',
    'DeviceLink',
    'DummyLink',
    'DummySpec',
    'EventsOptions',
    'MonitorOptions',
    'ForwardPortOptions',
    'MonitorIterator',
    'NftEventsOptions',
    'NftEventIterator',
    'HostConnection',
    'NewHostConnection',
    'IfIndex',
    'IfName',
    'IpvlanLink',
    'IpvlanMode',
    'IpvlanSpec',
    'Link',
    'LinkBase',
    'LinkChanges',
    'LinkEvent',
    'LinkSpec',
    'LinkSpecBase',
    'MacvlanLink',
    'MacvlanMode',
    'MacvlanSpec',
    'MasqueradeOptions',
    'CreateNetworkOptions',
    'JoinNetworkOptions',
    'NetworkInfo',
    'NetworkMemberInfo',
    'MemberSpawnOptions',
    'NetworkStateOptions',
    'RemoveNetworkOptions',
    'Neighbour',
    'NeighbourOptions',
    'NeighbourState',
    'NetEvent',
    'NetEventIterator',
    'NetnsOptions',
    'NetnsTarget',
    'NftBitwiseExpr',
    'NftChain',
    'NftChainRef',
    'NftChainSpec',
    'NftChainType',
    'NftCmpExpr',
    'NftCmpOp',
    'NftCounterExpr',
    'NftCtExpr',
    'NftCtKey',
    'NftExpr',
    'NftFamily',
    'NftFibExpr',
    'NftFibFlag',
    'NftFibResult',
    'NftHook',
    'NftImmediateExpr',
    'NftListQuery',
    'NftEvent',
    'NftTableEvent',
    'NftChainEvent',
    'NftRuleEvent',
    'NftGenerationEvent',
    'NftLookupExpr',
    'NftMasqExpr',
    'NftMetaExpr',
    'NftMetaKey',
    'NftNatExpr',
    'NftNatFlag',
    'NftOp',
    'NftOtherExpr',
    'NftPayloadBase',
    'NftPayloadExpr',
    'NftRegister',
    'NftRule',
    'NftRuleRef',
    'NftRuleSpec',
    'NftTable',
    'NftTableRef',
    'NftTableSpec',
    'NftVerdict',
    'NftVerdictExpr',
    'OperState',
    'OtherLink',
    'PublishPortOptions',
    'PublishPortSpec',
    'PublishPortsOptions',
    'PublishedPort',
    'IsolateAddressOptions',
    'Route',
    'RouteEvent',
    'RouteQuery',
    'RouteSpec',
    'Scope',
    'SpawnNetworkOptions',
    'SpawnVethLink',
    'SpawnMoveLink',
    'SpawnVethOptions',
    'VethLink',
    'VethPeerSpec',
    'VethSpec',
    'VlanLink',
    'VlanSpec',
    'VxlanLink',
    'VxlanSpec',
  ],
  security: [
    'AddFdOptions',
    'CapabilityName',
    'CompileSeccompOptions',
    'CompiledSeccomp',
    'LinuxCapabilities',
    'Personality',
    'ProcessCapabilities',
    'Rlimit',
    'NativeArch',
    'SeccompAction',
    'SeccompArchMapEntry',
    'SeccompArg',
    'SeccompOperator',
    'SeccompRuleFilter',
    'SeccompProfile',
    'SeccompSyscallRule',
    'SecurityOptions',
    'LandlockCommandOptions',
    'LandlockFsAccess',
    'LandlockFsAccessName',
    'LandlockFsRule',
    'LandlockNetAccess',
    'LandlockNetRule',
    'LandlockRuleset',
    'LandlockScope',
  ],
} as const;
const ROOT_TYPES = ['CapabilitySets', 'Features', 'NsboxErrorCode', 'SysErrorContext'];

/** nsbox/oci: a layer over the modules, not re-exported from `nsbox` (its features() is the runtime spec's). */
const OCI_VALUES = [
  'OCI_NAMESPACE_TYPES',
  'SECCOMP_FD_NAME',
  'blkioWeightToIoWeight',
  'containerProcessState',
  'defaultSpec',
  'deriveStatus',
  'features',
  'loadBundle',
  'moveNetDevices',
  'parseConfig',
  'prepareCgroup',
  'runHooks',
  'sharesToWeight',
  'toSpawnOptions',
  'translateResources',
];
const OCI_TYPES = [
  'CgroupResourcePlan',
  'CgroupWrite',
  'ContainerFacts',
  'DefaultSpecOptions',
  'HookError',
  'OciBlockDevice',
  'OciBlockIO',
  'OciBox',
  'OciBundle',
  'OciCgroupPlan',
  'OciContainerProcessState',
  'OciCpu',
  'OciDevice',
  'OciDeviceCgroup',
  'OciDeviceFilter',
  'OciFeatures',
  'OciHook',
  'OciHooks',
  'OciHugepageLimit',
  'OciIdMapping',
  'OciIoPriority',
  'OciLinux',
  'OciMemory',
  'OciMount',
  'OciNamespace',
  'OciNamespaceType',
  'OciNetDevicePlan',
  'OciProcess',
  'OciResources',
  'OciRlimit',
  'OciRoot',
  'OciScheduler',
  'OciSpawn',
  'OciSpec',
  'OciState',
  'OciStatus',
  'OciThrottleDevice',
  'OciUser',
  'OciWeightDevice',
  'RunHooksOptions',
  'ToSpawnOptionsOptions',
  'TranslateOptions',
  'HookContainer',
];

/** nsbox/testing: helpers for tests, not re-exported from `nsbox` (it is no kernel module). */
const TESTING_VALUES = [
  'TestMountns',
  'TestNetns',
  'TestVeth',
  'inNamespaces',
  'runIsolated',
  'skipReason',
  'skipUnless',
  'useCgroup',
  'useMountns',
  'useNetns',
  'useVeth',
];
const TESTING_TYPES = [
  'CgroupFixtureOptions',
  'CleanupHook',
  'IsolatedError',
  'IsolatedOptions',
  'Requirement',
  'TestLike',
  'VethFixtureOptions',
];

const MODULES = { namespaces, cgroups, fs, net, security } as const;
type ModuleName = keyof typeof MODULES;
const NAMES = Object.keys(MODULES) as ModuleName[];

const sorted = (xs: Iterable<string>) => [...xs].sort();
const allModuleValues = NAMES.flatMap((m) => VALUES[m]);
const allModuleTypes = NAMES.flatMap((m) => TYPES[m]);

/** Names nsbox uses internally; none may be reachable from a public entry point. */
const INTERNAL = [
  'kFd',
  'CLONE_FLAG',
  'typeOfFlag',
  'native',
  'K',
  'invalidArgType',
  'invalidArgValue',
  'outOfRange',
  'handleClosed',
  'nsboxError',
  'checkPath',
  'checkPid',
  'readProc',
  'toSysError',
  'fromFsError',
  'findHelper',
  'adoptNamespaceFd',
  'threadNamespaceError',
  'NETNS_RUN_DIR',
  'prepareNetnsRunDir',
  'PlanBuilder',
  'resolveIdMaps',
  'signalNumber',
  'unknownSignal',
  'abortError',
  'NSBOX_ERROR_CODES',
  'checkNetnsName',
  'checkStdio',
  'prepareStdio',
  'releaseStdio',
  'wrapEnd',
  'EXTRA_ERRNOS',
  'NativeBinding',
  'NativeConstants',
  'NativeFeatures',
  'SpawnMaps',
  'ChildInit',
  'ProcTarget',
  'PreparedStdio',
  'StepInfo',
  'SerializedPlan',
  'IdMapOptions',
  'compileLimits',
  'readLimits',
  'eventFile',
  'pressureFile',
  'triggerSpec',
  'checkSignal',
  'cpusToMax',
  'resolveCgroup',
  'v2Mount',
  'controllerError',
  'WatchIterator',
  'waitFor',
  'bytesText',
  'parseMax',
  'readCg',
  'writeCg',
  'NativeCgroupWatch',
  'LimitWrite',
  'CgroupLocation',
  'NL',
  'RtnlSocket',
  'MessageWriter',
  'splitMessages',
  'parseAttrs',
  'holdNetns',
  'withRtnl',
  'resolveIndex',
  'NativeNetlinkSocket',
  'encodeNewLink',
  'decodeLink',
  'checkLandlock',
  'resolveLandlock',
  'FS_RIGHTS',
  'ResolvedLandlock',
  'LandlockRight',
  'elfInterpreter',
  'shebang',
  'checkDeviceRules',
  'planDeviceRules',
  'deviceProgram',
  'encodeProgram',
  'listProgram',
  'loadDeviceProgram',
  'MAX_DEVICE_INSNS',
  'EOP',
  'BpfInsn',
  'DEFAULT_DEVICES',
  'MOUNT_OPTIONS',
  'MOUNT_TYPES',
  'mapMount',
  'NAMESPACE_NAME',
  'SECCOMP_ACTIONS',
  'SECCOMP_OPERATORS',
  'OCI_VERSION_MIN',
  'OCI_VERSION_MAX',
  'ConfigError',
  'HOOKS_AROUND_SPAWN',
  'typeError',
  'valueError',
  'unsupported',
  'BOOTSTRAP',
  'EncodedError',
  'register',
  'checkHook',
  'delegatedCgroup',
  'findDelegatedCgroup',
  'enableInParent',
  'decodeError',
];

describe('runtime exports', () => {
  test.each(NAMES)('nsbox/%s exports exactly its listed values', (m) => {
    expect(sorted(Object.keys(MODULES[m]))).toEqual(sorted(VALUES[m]));
  });

  test("nsbox exports the modules' values plus its own, nothing else", () => {
    expect(sorted(Object.keys(nsbox))).toEqual(sorted([...allModuleValues, ...ROOT_VALUES]));
  });

  test('nsbox re-exports every module export as the same object', () => {
    const root = nsbox as Record<string, unknown>;
    for (const m of NAMES) {
      for (const [name, value] of Object.entries(MODULES[m])) expect(root[name], `${m}.${name}`).toBe(value);
    }
  });

  test('nsbox/oci exports exactly its listed values, none of them from nsbox', () => {
    expect(sorted(Object.keys(oci))).toEqual(sorted(OCI_VALUES));
    expect(nsbox).not.toHaveProperty('toSpawnOptions');
  });

  test('nsbox/testing exports exactly its listed values, none of them from nsbox', () => {
    expect(sorted(Object.keys(testing))).toEqual(sorted(TESTING_VALUES));
    expect(nsbox).not.toHaveProperty('runIsolated');
  });

  test('no internal helper is reachable', () => {
    for (const mod of [nsbox, oci, testing, ...Object.values(MODULES)]) {
      for (const name of INTERNAL) expect(Object.keys(mod)).not.toContain(name);
    }
  });
});

describe('type-level exports (TypeScript compiler as the witness)', () => {
  const files = {
    nsbox: 'src/index.ts',
    namespaces: 'src/namespaces/index.ts',
    cgroups: 'src/cgroups/index.ts',
    fs: 'src/fs/index.ts',
    net: 'src/net/index.ts',
    security: 'src/security/index.ts',
    oci: 'src/oci/index.ts',
    testing: 'src/testing/index.ts',
  } as const;
  const program = ts.createProgram(
    Object.values(files).map((f) => root + f),
    {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noEmit: true,
      types: ['node'],
      lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
    },
  );
  const checker = program.getTypeChecker();
  function exportsOf(file: string): { values: string[]; types: string[] } {
    const sf = program.getSourceFile(root + file)!;
    const symbol = checker.getSymbolAtLocation(sf)!;
    const values: string[] = [];
    const types: string[] = [];
    for (const s of checker.getExportsOfModule(symbol)) {
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      // A class is both; count it as a value. A type-only re-export resolves to a type symbol.
      (target.flags & ts.SymbolFlags.Value ? values : types).push(s.name);
    }
    return { values: sorted(values), types: sorted(types) };
  }

  test.each(NAMES)('nsbox/%s: values and types', (m) => {
    expect(exportsOf(files[m])).toEqual({ values: sorted(VALUES[m]), types: sorted(TYPES[m]) });
  });

  test('nsbox/oci: values and types', () => {
    expect(exportsOf(files.oci)).toEqual({ values: sorted(OCI_VALUES), types: sorted(OCI_TYPES) });
  });

  test('nsbox/testing: values and types', () => {
    expect(exportsOf(files.testing)).toEqual({ values: sorted(TESTING_VALUES), types: sorted(TESTING_TYPES) });
  });

  test('nsbox: the union of the modules plus its own', () => {
    expect(exportsOf(files.nsbox)).toEqual({
      values: sorted([...allModuleValues, ...ROOT_VALUES]),
      types: sorted([...allModuleTypes, ...ROOT_TYPES]),
    });
  });

  test('no internal name, value or type, is exported', () => {
    for (const f of Object.values(files)) {
      const { values, types } = exportsOf(f);
      for (const name of INTERNAL) expect([...values, ...types], `${f} exports ${name}`).not.toContain(name);
    }
  });
});

test('nsbox/testing imports no test framework (it is for every one, and none is a dependency)', () => {
  const dir = `${root}src/testing/`;
  for (const f of readdirSync(dir)) {
    const text = readFileSync(dir + f, 'utf8');
    const specifiers = [...text.matchAll(/\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'/g)].map((m) => m[1] ?? m[2]);
    expect(
      specifiers.filter((s) => /^(vitest|jest|mocha|node:test|@vitest\/)/.test(s!)),
      f,
    ).toEqual([]);
  }
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { dependencies: Record<string, string> };
  expect(Object.keys(pkg.dependencies)).not.toContain('vitest');
});

test('package.json "exports" and typedoc.json name exactly these entry points', () => {
  const pkg = JSON.parse(readFileSync(root + 'package.json', 'utf8')) as { exports: Record<string, unknown> };
  const entries = [...NAMES, 'oci', 'testing'];
  expect(sorted(Object.keys(pkg.exports))).toEqual(sorted(['.', './package.json', ...entries.map((m) => `./${m}`)]));
  const typedoc = JSON.parse(readFileSync(root + 'typedoc.json', 'utf8')) as { entryPoints: string[] };
  expect(sorted(typedoc.entryPoints)).toEqual(sorted(['src/index.ts', ...entries.map((m) => `src/${m}/index.ts`)]));
});
