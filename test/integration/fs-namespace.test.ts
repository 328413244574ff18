// Every direct call with { namespace }: it acts inside a mount namespace held by a handle,
// from a dedicated native thread; the host (this process) does not see the mount, a process
// in that namespace does (witnesses: its /proc/PID/mountinfo, and nsenter(1)).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect } from 'vitest';
import { bind, fsopen, mountTmpfs, openTree, resolveInRoot, umount, watchMounts } from '../../src/fs/index.js';
import { createNamespace, spawn, type Namespace, type NsboxChild } from '../../src/namespaces/index.js';
import { useMountns } from '../../src/testing/index.js';
import { nsId } from '../helpers/proc.js';
import { isRoot, rootTest, testIf, tools } from '../helpers/env.js';

const hostMounts = () => readFileSync('/proc/self/mountinfo', 'utf8');
const pointsOf = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[4]!);

// The hooks create a namespace (root only), so the whole group is skipped without root.
describe.skipIf(!isRoot)('{ namespace } [skipped without root]', () => {
  let ns: Namespace;
  let holder: NsboxChild;

  beforeEach(async ({ onTestFinished }) => {
    // A private copy of the mount tree (propagation cut, as unshare(1) does: on a host whose /
    // is shared, a mount made inside would propagate out), closed after the test.
    ns = (await useMountns(onTestFinished)).namespace;
    // A process inside the namespace: the witness, and a way to name it for nsenter.
    holder = spawn('sleep', ['30'], { join: { mnt: ns }, stdio: 'ignore' });
    onTestFinished(() => holder[Symbol.asyncDispose]()); // killed and reaped after the test, whatever the order
  });

  rootTest('mountTmpfs in a held mount namespace: invisible on the host, visible inside; umount there too', async () => {
    const host = hostMounts();
    const threadNs = nsId('self', 'mnt');
    const watch = watchMounts(holder.pid!);
    const seen = watch.next();
    mountTmpfs('/mnt', { size: '1M', namespace: ns });
    expect(hostMounts()).toBe(host);
    expect(nsId('self', 'mnt')).toBe(threadNs); // the JS thread never moved
    const inside = pointsOf(readFileSync(`/proc/${holder.pid}/mountinfo`, 'utf8'));
    expect(inside.at(-1)).toBe('/mnt');
    expect((await seen).value!.at(-1)).toMatchObject({ mountPoint: '/mnt', fsType: 'tmpfs' });
    await watch.return!();
    umount('/mnt', { namespace: ns });
    expect(pointsOf(readFileSync(`/proc/${holder.pid}/mountinfo`, 'utf8'))).not.toContain('/mnt');
    expect(hostMounts()).toBe(host);
  });

  testIf(tools.nsenter, 'nsenter(1) is not installed')('nsenter --mount sees what bind() and attach() made there', () => {
    const host = hostMounts();
    mountTmpfs('/mnt', { namespace: ns });
    bind('/mnt', '/media', { readOnly: true, namespace: ns });
    {
      using ctx = fsopen('tmpfs');
      ctx.set('source', 'nsbox-attached').create();
      using m = ctx.mount();
      m.attach('/srv', { namespace: ns });
    }
    const out = execFileSync('nsenter', [`--mount=/proc/${holder.pid}/ns/mnt`, 'findmnt', '-J', '-l', '-o', 'TARGET,SOURCE,OPTIONS'], {
      encoding: 'utf8',
    });
    const fsList = (JSON.parse(out) as { filesystems: { target: string; source: string; options: string }[] }).filesystems;
    expect(fsList.find((f) => f.target === '/media')!.options.split(',')).toContain('ro');
    expect(fsList.find((f) => f.target === '/srv')!.source).toBe('nsbox-attached');
    expect(hostMounts()).toBe(host);
    // openTree and resolveInRoot also resolve their paths in the namespace.
    using tree = openTree('/srv', { namespace: ns });
    using h = resolveInRoot('/', 'srv', { namespace: ns });
    expect(h.closed).toBe(false);
    expect(tree.closed).toBe(false);
  });

  rootTest('a non-mount namespace handle is ERR_INVALID_ARG_VALUE, before any syscall', () => {
    const net = createNamespace('net');
    try {
      expect(() => mountTmpfs('/mnt', { namespace: net })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    } finally {
      net.close();
    }
    const closed = createNamespace('mnt');
    closed.close();
    expect(() => umount('/mnt', { namespace: closed })).toThrow(expect.objectContaining({ code: 'ERR_HANDLE_CLOSED' }));
  });
});
