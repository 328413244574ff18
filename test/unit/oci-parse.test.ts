// nsbox/oci's config.json parser without privileges: every error names the JSON path of the bad
// field, with the project's misuse codes, before any syscall; unknown fields are ignored.
import { describe, expect, test } from 'vitest';
import { defaultSpec, loadBundle, parseConfig } from '../../src/oci/index.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests edit parsed JSON freely
type Json = any;

const base = () => JSON.parse(JSON.stringify({ ...defaultSpec(), process: { ...defaultSpec().process, terminal: false } }));

/** Applies `edit` to a copy of runc's default spec, parses it, and returns the error. */
function errorOf(edit: (c: Json) => void): { code: string; jsonPath: string; message: string } {
  const c = base();
  edit(c);
  try {
    parseConfig(c);
  } catch (e) {
    return e as { code: string; jsonPath: string; message: string };
  }
  throw new Error('no error');
}

describe('parseConfig', () => {
  test("runc's default spec, as object, JSON text and Buffer, parses to the same value", () => {
    const c = base();
    const a = parseConfig(c);
    expect(parseConfig(JSON.stringify(c))).toEqual(a);
    expect(parseConfig(Buffer.from(JSON.stringify(c)))).toEqual(a);
    expect(a.linux?.namespaces?.map((n) => n.type)).toEqual(['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup']);
    expect(defaultSpec({ rootless: true })).toMatchObject({ linux: { uidMappings: [{ containerID: 0, size: 1 }] } });
    expect(parseConfig(defaultSpec({ rootless: true })).linux?.namespaces?.at(-1)).toEqual({ type: 'user' });
  });

  test('unknown properties are ignored (config.md), null is absent', () => {
    const c = base();
    c.someFutureField = { x: 1 };
    c.process.someFutureField = 1;
    c.linux.namespaces[0].future = true;
    c.domainname = null;
    const out = parseConfig(c);
    expect(out).not.toHaveProperty('someFutureField');
    expect(out.process).not.toHaveProperty('someFutureField');
    expect(out.linux?.namespaces?.[0]).toEqual({ type: 'pid' });
    expect(out).not.toHaveProperty('domainname');
  });

  test.each([
    ['1.0.0', true],
    ['1.0.2-dev', true],
    ['1.1.0', true],
    ['1.2.1', true],
    ['1.3.0', false],
    ['0.6.0', false],
    ['2.0.0', false],
    ['1.2', false],
  ])('ociVersion %s accepted: %s', (v, ok) => {
    const e = () => parseConfig({ ...base(), ociVersion: v });
    if (ok) expect(e).not.toThrow();
    else expect(e).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', jsonPath: 'ociVersion' }));
  });

  const cases: Array<[string, (c: Json) => void, string, string]> = [
    ['ociVersion missing', (c) => delete c.ociVersion, 'ociVersion', 'ERR_INVALID_ARG_VALUE'],
    ['ociVersion a number', (c) => (c.ociVersion = 1), 'ociVersion', 'ERR_INVALID_ARG_TYPE'],
    ['root.path missing', (c) => delete c.root.path, 'root.path', 'ERR_INVALID_ARG_VALUE'],
    ['root.readonly a string', (c) => (c.root.readonly = 'yes'), 'root.readonly', 'ERR_INVALID_ARG_TYPE'],
    ['a namespace type', (c) => (c.linux.namespaces[2].type = 'net'), 'linux.namespaces[2].type', 'ERR_INVALID_ARG_VALUE'],
    [
      'a namespace path relative',
      (c) => (c.linux.namespaces[1].path = 'proc/1/ns/net'),
      'linux.namespaces[1].path',
      'ERR_INVALID_ARG_VALUE',
    ],
    ['namespaces not an array', (c) => (c.linux.namespaces = { type: 'pid' }), 'linux.namespaces', 'ERR_INVALID_ARG_TYPE'],
    ['a mount without destination', (c) => delete c.mounts[3].destination, 'mounts[3].destination', 'ERR_INVALID_ARG_VALUE'],
    ['a mount option not a string', (c) => (c.mounts[1].options[2] = 755), 'mounts[1].options[2]', 'ERR_INVALID_ARG_TYPE'],
    ['process.cwd relative', (c) => (c.process.cwd = 'home'), 'process.cwd', 'ERR_INVALID_ARG_VALUE'],
    ['process.user missing', (c) => delete c.process.user, 'process.user', 'ERR_INVALID_ARG_VALUE'],
    ['process.user.uid negative', (c) => (c.process.user.uid = -1), 'process.user.uid', 'ERR_INVALID_ARG_VALUE'],
    ['process.user.gid a float', (c) => (c.process.user.gid = 1.5), 'process.user.gid', 'ERR_INVALID_ARG_TYPE'],
    ['additionalGids', (c) => (c.process.user.additionalGids = [1, 'x']), 'process.user.additionalGids[1]', 'ERR_INVALID_ARG_TYPE'],
    ['an env entry', (c) => (c.process.env[1] = null), 'process.env[1]', 'ERR_INVALID_ARG_TYPE'],
    ['an arg with NUL', (c) => (c.process.args = ['sh\0']), 'process.args[0]', 'ERR_INVALID_ARG_VALUE'],
    ['an rlimit without hard', (c) => delete c.process.rlimits[0].hard, 'process.rlimits[0].hard', 'ERR_INVALID_ARG_VALUE'],
    ['a capability list', (c) => (c.process.capabilities.bounding = 'CAP_KILL'), 'process.capabilities.bounding', 'ERR_INVALID_ARG_TYPE'],
    ['oomScoreAdj', (c) => (c.process.oomScoreAdj = 2000), 'process.oomScoreAdj', 'ERR_INVALID_ARG_VALUE'],
    ['ioPriority class', (c) => (c.process.ioPriority = { class: 'RT' }), 'process.ioPriority.class', 'ERR_INVALID_ARG_VALUE'],
    [
      'a uid mapping',
      (c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 1000 }]),
      'linux.uidMappings[0].size',
      'ERR_INVALID_ARG_VALUE',
    ],
    ['a device type', (c) => (c.linux.devices = [{ type: 'x', path: '/dev/x' }]), 'linux.devices[0].type', 'ERR_INVALID_ARG_VALUE'],
    ['a device rule', (c) => (c.linux.resources.devices[0].allow = 'no'), 'linux.resources.devices[0].allow', 'ERR_INVALID_ARG_TYPE'],
    ['memory.limit', (c) => (c.linux.resources.memory = { limit: '1g' }), 'linux.resources.memory.limit', 'ERR_INVALID_ARG_TYPE'],
    [
      'a throttle rate',
      (c) => (c.linux.resources.blockIO = { throttleReadBpsDevice: [{ major: 8, minor: 0 }] }),
      'linux.resources.blockIO.throttleReadBpsDevice[0].rate',
      'ERR_INVALID_ARG_VALUE',
    ],
    [
      'a unified value',
      (c) => (c.linux.resources.unified = { 'memory.max': 1 }),
      'linux.resources.unified["memory.max"]',
      'ERR_INVALID_ARG_TYPE',
    ],
    [
      'a sysctl value',
      (c) => (c.linux.sysctl = { 'net.ipv4.ip_forward': 1 }),
      'linux.sysctl["net.ipv4.ip_forward"]',
      'ERR_INVALID_ARG_TYPE',
    ],
    [
      'seccomp.defaultAction',
      (c) => (c.linux.seccomp = { defaultAction: 'ALLOW' }),
      'linux.seccomp.defaultAction',
      'ERR_INVALID_ARG_VALUE',
    ],
    [
      'a seccomp arg op',
      (c) =>
        (c.linux.seccomp = {
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'EQ' }] }],
        }),
      'linux.seccomp.syscalls[0].args[0].op',
      'ERR_INVALID_ARG_VALUE',
    ],
    ['rootfsPropagation', (c) => (c.linux.rootfsPropagation = 'rprivat'), 'linux.rootfsPropagation', 'ERR_INVALID_ARG_VALUE'],
    ['a masked path', (c) => (c.linux.maskedPaths[4] = 'proc/kcore'), 'linux.maskedPaths[4]', 'ERR_INVALID_ARG_VALUE'],
    ['personality.domain', (c) => (c.linux.personality = { domain: 'LINUX64' }), 'linux.personality.domain', 'ERR_INVALID_ARG_VALUE'],
    ['a hook path', (c) => (c.hooks = { poststart: [{ path: 'x' }] }), 'hooks.poststart[0].path', 'ERR_INVALID_ARG_VALUE'],
    ['an annotation value', (c) => (c.annotations = { a: 1 }), 'annotations.a', 'ERR_INVALID_ARG_TYPE'],
    ['hostname', (c) => (c.hostname = ['x']), 'hostname', 'ERR_INVALID_ARG_TYPE'],
    ['a windows section', (c) => (c.windows = {}), 'windows', 'ERR_INVALID_ARG_VALUE'],
  ];
  test.each(cases)('%s: the error names %s', (_, edit, path, code) => {
    const err = errorOf(edit);
    expect(err).toMatchObject({ code, jsonPath: path });
    expect(err.message.startsWith(`config.json: ${path} `)).toBe(true);
  });

  test('text that is not JSON, and JSON that is not an object', () => {
    expect(() => parseConfig('{')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', jsonPath: '' }));
    expect(() => parseConfig('[]')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', jsonPath: '' }));
    expect(() => parseConfig(null as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  test('loadBundle: a missing config.json is ENOENT with its path', async () => {
    await expect(loadBundle('/nonexistent-nsbox-bundle')).rejects.toMatchObject({
      code: 'ENOENT',
      path: '/nonexistent-nsbox-bundle/config.json',
    });
    await expect(loadBundle('' as string)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });
});
