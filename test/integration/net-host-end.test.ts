// The host side of a sandbox's link — a veth's host end, a bridge nsbox makes — is hardened
// before it comes up (src/net/host-end.ts): otherwise the kernel's defaults for a new interface
// let the command, root of its own network namespace with CAP_NET_RAW there, change the host's
// own network. Found in review (2026-11-30): one IPv6 router advertisement from inside gave the
// host routes (a prefix, a default route) through the sandbox; a forged source address reached
// the host's services and the LAN.
//
// The witness: the command sends router advertisements (an on-link, autonomous prefix in
// 2001:db8::/32, the documentation range; router lifetime 0, so never a default route) and UDP
// datagrams with a forged source to a socket of the host's, on nsbox's veth and, as the
// control, on a second veth the test makes with ip(8) (the kernel's defaults at both ends).
// The host's routing table and that socket show what arrived: on the control link both work.
import { createSocket } from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect } from 'vitest';
import { connectToBridge, connectToHost, createNamespace, deleteLink, spawn } from '../../src/index.js';
import { isRoot, onPath, testIf } from '../helpers/env.js';

const rtest = testIf(
  isRoot && onPath('ip') && onPath('nsenter') && onPath('python3'),
  'needs root (a veth to the host), iproute2, nsenter and python3',
);

const SENDER = `
import socket, struct, sys, time
port = int(sys.argv[1])
links = [a.split(',') for a in sys.argv[2:]]  # ifname,hostaddr,forged,prefix
print('ready', flush=True)
sys.stdin.readline()
# Each link's link-local address must have left DAD (tentative) to be a source: /proc/net/if_inet6.
for _ in range(500):
    rows = [l.split() for l in open('/proc/net/if_inet6')]
    if all(any(r[5] == l[0] and r[0].startswith('fe80') and not int(r[4], 16) & 0x40 for r in rows) for l in links): break
    time.sleep(0.01)
s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
real = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3):
    for ifname, host, forged, prefix in links:
        idx = socket.if_nametoindex(ifname)
        ra = struct.pack('!BBHBBHII', 134, 0, 0, 64, 0, 0, 0, 0)
        pio = struct.pack('!BBBBIII', 3, 4, 64, 0xC0, 600, 300, 0) + socket.inet_pton(socket.AF_INET6, prefix)
        s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
        s6.sendto(ra + pio, ('ff02::1', 0, 0, idx))
        udp = struct.pack('!HHHH', 40000, port, 8 + 6, 0) + b'forged'
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, socket.inet_aton(forged), socket.inet_aton(host))
        s4.sendto(ip + udp, (host, 0))
        real.sendto(b'real', (host, port))
    time.sleep(0.05)
print('sent', flush=True)
sys.stdin.readline()  # alive (and the links with it) until the host has looked
`;

const HOST = '10.231.0.1';
const CHILD = '10.231.0.2';
const CTL_HOST = '10.235.0.1';
const CTL_CHILD = '10.235.0.2';

const sysctl = (family: 4 | 6, ifname: string, name: string) =>
  readFileSync(`/proc/sys/net/ipv${family}/conf/${ifname}/${name}`, 'utf8').trim();

/** Resolves once `word` has been printed on `stream`. */
function printed(stream: NodeJS.ReadableStream, word: string): Promise<void> {
  let out = '';
  return new Promise((resolve) => {
    const on = (d: Buffer) => {
      out += d;
      if (!out.includes(word)) return;
      stream.off('data', on);
      resolve();
    };
    stream.on('data', on);
  });
}

describe('the host end of a veth, and a bridge nsbox makes, are hardened before they come up', () => {
  const made: string[] = [];
  afterAll(async () => {
    for (const i of made) await deleteLink(i).catch(() => undefined);
  });

  rtest(
    "a router advertisement and a forged source from inside change nothing of the host's (control: a veth of ip's defaults)",
    async () => {
      const from = new Set<string>();
      const server = createSocket('udp4');
      server.on('message', (_m, r) => from.add(r.address));
      await new Promise<void>((r) => server.bind(0, '0.0.0.0', r));
      const ctl = `nsbxc${process.pid % 100000}`;
      const child = spawn(
        'python3',
        ['-c', SENDER, String(server.address().port), `eth0,${HOST},192.0.2.77,2001:db8:77::`, `ctl1,${CTL_HOST},192.0.2.78,2001:db8:78::`],
        {
          namespaces: ['user', 'net'],
          network: { veth: { hostAddress: `${HOST}/30`, childAddress: `${CHILD}/30` } },
          stdio: ['pipe', 'pipe', 'inherit'],
        },
      );
      made.push(ctl);
      try {
        const hostIf = child.veth!.hostIf;
        expect([sysctl(6, hostIf, 'disable_ipv6'), sysctl(4, hostIf, 'rp_filter'), sysctl(4, hostIf, 'accept_redirects')]).toEqual([
          '1',
          '1',
          '0',
        ]);
        await printed(child.stdout!, 'ready');
        // The control link: made by ip(8), so the kernel's defaults on the host's side.
        execFileSync('ip', ['link', 'add', ctl, 'type', 'veth', 'peer', 'name', 'ctl1', 'netns', String(child.pid)]);
        execFileSync('ip', ['addr', 'add', `${CTL_HOST}/30`, 'dev', ctl]);
        execFileSync('ip', ['link', 'set', ctl, 'up']);
        execFileSync('nsenter', ['-t', String(child.pid), '-n', 'sh', '-c', `ip addr add ${CTL_CHILD}/30 dev ctl1 && ip link set ctl1 up`]);
        // The kernel takes router advertisements on a link once its own link-local address has left DAD.
        for (
          let i = 0;
          i < 300 && !/inet6 fe80::\S+ scope link\s*$/m.test(execFileSync('ip', ['-6', 'addr', 'show', 'dev', ctl], { encoding: 'utf8' }));
          i++
        )
          await new Promise((r) => setTimeout(r, 20));
        const sent = printed(child.stdout!, 'sent');
        child.stdin!.write('go\n');
        await sent;
        await new Promise((r) => setTimeout(r, 200));
        const routes = execFileSync('ip', ['-6', 'route', 'show'], { encoding: 'utf8' });
        // Control: the prefix advertised on ip's veth became a route of the host's; the forged source arrived.
        expect(routes).toMatch(new RegExp(`^2001:db8:78::/64 dev ${ctl} `, 'm'));
        expect(from).toContain('192.0.2.78');
        // nsbox's veth: neither.
        expect(routes).not.toContain('2001:db8:77');
        expect(from).not.toContain('192.0.2.77');
        expect(from).toContain(CHILD);
      } finally {
        child.kill('SIGKILL');
        await child.exited;
        server.close();
      }
    },
    30000,
  );

  rtest(
    'connectToHost (a namespace, and new), connectToBridge (a bridge it makes): the same sysctls; an IPv6 link keeps IPv6, without router advertisements',
    async () => {
      const ns = createNamespace('net');
      try {
        const a = await connectToHost(ns, { hostAddress: '10.232.0.1/30', childAddress: '10.232.0.2/30' });
        expect([sysctl(6, a.hostIf, 'disable_ipv6'), sysctl(4, a.hostIf, 'rp_filter'), sysctl(4, a.hostIf, 'accept_redirects')]).toEqual([
          '1',
          '1',
          '0',
        ]);
        const b = await connectToHost('new', { hostAddress: 'fd00:233::1/64', childAddress: 'fd00:233::2/64' });
        try {
          expect(['disable_ipv6', 'accept_ra', 'autoconf', 'accept_redirects'].map((n) => sysctl(6, b.hostIf, n))).toEqual([
            '0',
            '0',
            '0',
            '0',
          ]);
          expect(execFileSync('ip', ['-j', 'link', 'show', b.hostIf], { encoding: 'utf8' })).toContain('"UP"');
        } finally {
          b.netns.close();
        }
        // 'new' over IPv4: the IPv6 sysctl is written and the IPv4 settings sent in the same
        // native trip that makes the namespace (csrc/ns_make.cc WriteHost), before it is up.
        const d = await connectToHost('new', { hostAddress: '10.232.4.1/30', childAddress: '10.232.4.2/30' });
        try {
          expect([sysctl(6, d.hostIf, 'disable_ipv6'), sysctl(4, d.hostIf, 'rp_filter'), sysctl(4, d.hostIf, 'accept_redirects')]).toEqual([
            '1',
            '1',
            '0',
          ]);
          expect(sysctl(4, d.hostIf, 'accept_source_route')).toBe('0');
          expect(execFileSync('ip', ['-j', 'link', 'show', d.hostIf], { encoding: 'utf8' })).toContain('"UP"');
          expect(execFileSync('ip', ['-6', 'addr', 'show', 'dev', d.hostIf], { encoding: 'utf8' })).toBe('');
        } finally {
          d.netns.close();
        }
        const ns2 = createNamespace('net');
        try {
          const br = 'nsbxtbr0';
          made.push(br);
          const c = await connectToBridge(ns2, { bridge: br, bridgeAddress: '10.234.0.1/24', childAddress: '10.234.0.2/24' });
          expect(c.bridgeCreated).toBe(true);
          expect([sysctl(6, br, 'disable_ipv6'), sysctl(4, br, 'rp_filter'), sysctl(6, c.hostIf, 'disable_ipv6')]).toEqual(['1', '1', '1']);
          expect(execFileSync('ip', ['-j', 'link', 'show', br], { encoding: 'utf8' })).toContain('"UP"');
        } finally {
          ns2.close();
        }
      } finally {
        ns.close();
      }
    },
  );
});
