// Plan serialisation: every PlanBuilder step gives exactly the words and strings that
// csrc/plan.h documents for its opcode. The opcode numbers, the version and the header size
// are read from plan.h itself (not from the addon), so the TS side is checked against the
// document the C++ parser follows.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { K } from '../../src/native.js';
import { PlanBuilder, type SerializedPlan, type StepInfo } from '../../src/namespaces/plan.js';

const planH = readFileSync(new URL('../../csrc/plan.h', import.meta.url), 'utf8');
const enumBody = planH.slice(planH.indexOf('enum Op : int32_t {'), planH.indexOf('OP_MAX_'));
/** plan.h's opcodes: OP_SETNS = 1 → { SETNS: 1 }. */
const OPS = Object.fromEntries([...enumBody.matchAll(/^\s*OP_([A-Z_]+) = (\d+),/gm)].map((m) => [m[1]!, Number(m[2])]));
const VERSION = Number(/kPlanVersion = (\d+);/.exec(planH)![1]);
const HEADER_WORDS = Number(/kHeaderWords = (\d+);/.exec(planH)![1]);
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface Step {
  op: number;
  args: number[];
}

/** Reads a plan back as plan.h describes it; fails on any word left over. */
function parse(p: SerializedPlan): { header: number[]; steps: Step[] } {
  const w = [...p.ops];
  const header = w.slice(0, HEADER_WORDS);
  const steps: Step[] = [];
  let i = HEADER_WORDS;
  for (let n = 0; n < header[4]!; n++) {
    const op = w[i]!;
    const nargs = w[i + 1]!;
    steps.push({ op, args: w.slice(i + 2, i + 2 + nargs) });
    i += 2 + nargs;
  }
  expect(i, 'words after the last step').toBe(w.length);
  return { header, steps };
}

/** The NUL-terminated string at byte offset `off` of the plan's string buffer. */
function str(p: SerializedPlan, off: number): string {
  expect(off).toBeGreaterThanOrEqual(0);
  const end = p.strings.indexOf(0, off);
  expect(end, `string at ${off} is NUL-terminated`).toBeGreaterThanOrEqual(off);
  return p.strings.toString('utf8', off, end);
}

/**
 * Expected arguments: a number is that word; a string is a string argument (the word is its
 * offset, and the buffer holds it there); null is an absent string (-1).
 */
type Arg = number | string | null;

function expectStep(build: (b: PlanBuilder) => unknown, op: string, args: Arg[], info: Partial<StepInfo> = {}): void {
  const b = new PlanBuilder();
  build(b);
  const p = b.build();
  const { header, steps } = parse(p);
  expect(header).toEqual([VERSION, 0, 0, -1, 1]);
  expect(steps).toHaveLength(1);
  const [s] = steps;
  expect(s!.op, op).toBe(OPS[op]);
  expect(s!.args, `${op} argument count`).toHaveLength(args.length);
  args.forEach((a, i) => {
    if (typeof a === 'string') expect(str(p, s!.args[i]!), `${op} arg ${i}`).toBe(a);
    else expect(s!.args[i], `${op} arg ${i}`).toBe(a === null ? -1 : a);
  });
  expect(p.steps).toHaveLength(1);
  expect(p.steps[0]).toMatchObject(info);
}

describe('the wire format of csrc/plan.h', () => {
  test('plan.h is parsed: version, header size and a full opcode table', () => {
    expect(VERSION).toBeGreaterThan(0);
    expect(HEADER_WORDS).toBe(5);
    expect(Object.keys(OPS).length).toBeGreaterThan(30);
  });

  test("the addon's opcode table and version are plan.h's", () => {
    expect({ ...K.OP }).toEqual(OPS);
    expect(K.PLAN_VERSION).toBe(VERSION);
  });

  test('header: version, clone flags as two words (low first), cgroup fd, step count', () => {
    const b = new PlanBuilder();
    b.cloneFlags = 2 ** 33 + 0x10000000; // bit 33 (CLONE_CLEAR_SIGHAND's word) and CLONE_NEWUSER
    b.cgroupFd = 7;
    b.setsid().setpgid(0);
    const p = b.build();
    expect(parse(p).header).toEqual([VERSION, 0x10000000, 2, 7, 2]);
  });

  test('an empty plan: the header alone, no strings', () => {
    const p = new PlanBuilder().build();
    expect([...p.ops]).toEqual([VERSION, 0, 0, -1, 0]);
    expect(p.strings.length).toBe(0);
    expect(p.steps).toEqual([]);
  });

  test('strings: byte offsets (not characters) into one buffer of NUL-terminated UTF-8, in order', () => {
    const b = new PlanBuilder().sethostname('é').setdomainname('x').chdir('/ü/d', true);
    const p = b.build();
    const { steps } = parse(p);
    expect(steps.map((s) => s.args[0])).toEqual([0, 3, 5]); // 'é' is 2 bytes + NUL
    expect(p.strings).toEqual(Buffer.from('é\0x\0/ü/d\0', 'utf8'));
  });
});

describe('every step, word for word', () => {
  const covered = new Set<string>();
  const step = (op: string, build: (b: PlanBuilder) => unknown, args: Arg[], info: Partial<StepInfo> = {}) => {
    covered.add(op);
    test(`${op} ${JSON.stringify(args)}`, () => expectStep(build, op, args, info));
  };

  step('SETNS', (b) => b.setns(5, K.CLONE_NEWNET!, 'net'), [5, K.CLONE_NEWNET!], { step: 'setns:net', syscall: 'setns' });
  step('UNSHARE', (b) => b.unshare(K.CLONE_NEWNS! | K.CLONE_NEWUTS!), [K.CLONE_NEWNS! | K.CLONE_NEWUTS!], {
    step: 'unshare',
    syscall: 'unshare',
  });
  step('USERNS_SYNC', (b) => b.usernsSync(), [], { step: 'idmap' });
  step('FORK', (b) => b.fork(K.CLONE_NEWPID!), [K.CLONE_NEWPID!], { step: 'fork', syscall: 'clone3' });
  step('FORK', (b) => b.fork(K.CLONE_NEWPID!, true), [K.CLONE_NEWPID!, 1], { step: 'fork', syscall: 'clone3' });
  step('SETSID', (b) => b.setsid(), [], { step: 'setsid' });
  step('SETPGID', (b) => b.setpgid(0), [0], { step: 'setpgid' });
  step('SETHOSTNAME', (b) => b.sethostname('box'), ['box'], { step: 'hostname', syscall: 'sethostname' });
  step('SETDOMAINNAME', (b) => b.setdomainname('example'), ['example'], { step: 'domainname' });
  step('SETGROUPS', (b) => b.setgroups([10, 20, 4294967294]), [3, 10, 20, -2], { step: 'groups', syscall: 'setgroups' });
  step('SETGID', (b) => b.setgid(1000), [1000], { step: 'gid', syscall: 'setresgid' });
  step('SETUID', (b) => b.setuid(1000), [1000], { step: 'uid', syscall: 'setresuid' });
  step('CHDIR', (b) => b.chdir('/work', true), ['/work', 1], { step: 'cwd', syscall: 'chdir', path: '/work' });
  step('CHDIR', (b) => b.chdir('/work'), ['/work', 0]);
  step('CHDIR', (b) => b.chdir('/work', true, true), ['/work', 3]);
  step(
    'FDS',
    (b) =>
      b.fds([
        [0, 21],
        [1, 22],
        [2, 22],
      ]),
    [3, 0, 21, 1, 22, 2, 22],
    { step: 'stdio', syscall: 'dup3' },
  );
  step('PDEATHSIG', (b) => b.pdeathsig(9), [9], { step: 'die-with-parent', syscall: 'prctl' });
  step('EXEC', (b) => b.exec('ls', true, ['ls', '-l'], ['A=1']), ['ls', 1, 2, 'ls', '-l', 1, 'A=1'], {
    step: 'exec',
    syscall: 'execve',
    path: 'ls',
  });
  step('EXEC', (b) => b.exec('/bin/true', false, [], []), ['/bin/true', 0, 0, 0]);
  step('FS_BASE', (b) => b.fsBase('/run/stage'), ['/run/stage'], { step: 'rootfs', syscall: 'mount', path: '/run/stage' });
  step('MOUNT', (b) => b.mount('tmpfs', '/tmp', 'tmpfs', 6, 'mode=1777', 3, 'rootfs'), ['tmpfs', '/tmp', 'tmpfs', 6, 'mode=1777', 3], {
    step: 'rootfs',
    syscall: 'mount',
    path: '/tmp',
  });
  step('MOUNT', (b) => b.mount(null, '/x', null, 17, null, 128, 'mounts', '/shown'), [null, '/x', null, 17, null, 128], {
    step: 'mounts',
    path: '/shown',
  });
  step('MKNOD', (b) => b.mknod('/dev/null', 0o20666, 1, 3), ['/dev/null', 0o20666, 1, 3], {
    step: 'dev',
    syscall: 'mknodat',
    path: '/dev/null',
  });
  step('SYMLINK', (b) => b.symlink('/proc/self/fd', '/dev/fd', 'dev'), ['/proc/self/fd', '/dev/fd'], {
    step: 'dev',
    syscall: 'symlinkat',
    path: '/dev/fd',
  });
  step('WRITE_FILE', (b) => b.writeFile('/etc/hostname', 'box\n', 0o644, 'rootfs'), ['/etc/hostname', 'box\n', 0o644], {
    step: 'rootfs',
    syscall: 'write',
  });
  step('WRITE_FILE', (b) => b.writeFile('/etc/hostname', '', 0o644, 'etc', true), ['/etc/hostname', '', 0o644 | K.PLAN_WRITE_NODENAME]);
  step('SETATTR', (b) => b.setattr('/', 1, 0, 32, 'readonly'), ['/', 1, 0, 32], { step: 'readonly', syscall: 'mount_setattr', path: '/' });
  step('PIVOT', (b) => b.pivot(), [0], { step: 'pivot_root', syscall: 'pivot_root' });
  step('PIVOT', (b) => b.pivot(true), [1]);
  step('MKDIR', (b) => b.mkdir('/a/b', 0o755, 'mounts'), ['/a/b', 0o755], { step: 'mounts', syscall: 'mkdirat', path: '/a/b' });
  step('MKDIR', (b) => b.mkdir('/a/b', 0o700, 'mounts', 100000), ['/a/b', 0o700, 100000, 100000], { syscall: 'fchownat' });
  step('PROPAGATION', (b) => b.propagation(K.MS_PRIVATE!), [K.MS_PRIVATE!], { step: 'propagation', syscall: 'mount', path: '/' });
  step('LOCK', (b) => b.lock('0 0 1\n', '0 0 1\n'), ['0 0 1\n', '0 0 1\n'], { step: 'lock-mounts', syscall: 'unshare' });
  step('LOCK', (b) => b.lock('0 0 1\n', '0 0 1\n', {}), ['0 0 1\n', '0 0 1\n', 1, '', '']);
  step('LOCK', (b) => b.lock('0 0 1\n', '0 0 1\n', { sysfsMasks: ['/sys/a', '/sys/b'] }), ['0 0 1\n', '0 0 1\n', 2, '/sys/a:/sys/b', '']);
  step(
    'LOCK',
    (b) => b.lock('0 0 1\n', '0 0 1\n', { sysctl: [['/proc/sys/net/a/b', '1 2']] }),
    ['0 0 1\n', '0 0 1\n', 1, '', 'net/a/b\n1 2\n'],
    {
      paths: ['/proc/sys/net/a/b'],
    },
  );
  step('LOCK', (b) => b.userOnly('0 1000 1\n', '0 1000 1\n'), ['0 1000 1\n', '0 1000 1\n', 3, '', ''], {
    step: 'userns',
    syscall: 'unshare',
  });
  step('PIN', (b) => b.pin(K.CLONE_NEWNS!), [K.CLONE_NEWNS!], { step: 'template', syscall: 'open' });
  step('PIN', (b) => b.pin(K.CLONE_NEWUSER!), [K.CLONE_NEWUSER!]);
  step('ENTER', (b) => b.enter(7, K.CLONE_NEWUSER!, 'user'), [7, K.CLONE_NEWUSER!], { step: 'setns:user', syscall: 'setns' });
  step('ENTER', (b) => b.enter(8, K.CLONE_NEWNS!, 'mnt'), [8, K.CLONE_NEWNS!], { step: 'setns:mnt', syscall: 'setns' });
  step('EXIT_PIN', (b) => b.exitPin(), [], { step: 'exit-pin', syscall: 'ioctl' });
  step('NETWORK', (b) => b.network(true, false), [1, 0], { step: 'network', syscall: 'ioctl' });
  step('NETWORK', (b) => b.network(false, true), [0, 1]);
  step('TERMINAL', (b) => b.terminal('stdin'), [0, 0], { step: 'terminal', syscall: 'ioctl' });
  step('TERMINAL', (b) => b.terminal('new', 24 | (80 << 16)), [1, 24 | (80 << 16)], {
    step: 'terminal',
    syscall: 'ioctl',
    path: '/dev/ptmx',
  });
  step('TERMINAL', (b) => b.terminal('console', 24 | (80 << 16), { uid: 1000, gid: 100 }), [2, 24 | (80 << 16), 1000, 100], {
    step: 'terminal',
    syscall: 'ioctl',
    path: '/dev/ptmx',
    paths: ['/dev/console'],
  });
  step('TERMINAL', (b) => b.terminal('console'), [2, 0, -1, -1]);
  step('DUMPABLE', (b) => b.dumpable(true), [1], { step: 'dumpable', syscall: 'prctl' });
  step('DUMPABLE', (b) => b.dumpable(false), [0]);
  step('KEYRING', (b) => b.keyring(), [], { step: 'session-keyring', syscall: 'keyctl' });
  step('NO_TIOCSTI', (b) => b.noTiocsti(), [], { step: 'no-tiocsti', syscall: 'seccomp' });
  step('NO_NEW_PRIVS', (b) => b.noNewPrivs(), [], { step: 'no-new-privileges', syscall: 'prctl' });
  // 64-bit masks: low word first; a low word with bit 31 set is a negative int32.
  step('CAP_BOUND', (b) => b.capBound((1n << 40n) | 1n, 40), [1, 1 << 8, 40], { step: 'capabilities', syscall: 'prctl' });
  step('CAPSET', (b) => b.capset(0xffffffffn, 1n << 32n, 0n, (1n << 63n) | 2n, 40), [-1, 0, 0, 1, 0, 0, 2, -(2 ** 31), 40], {
    step: 'capabilities',
    syscall: 'capset',
  });
  step('UMASK', (b) => b.umask(0o027), [0o027], { step: 'umask', syscall: 'umask' });
  step('PERSONALITY', (b) => b.personality(0x0040000), [0x0040000], { step: 'personality', syscall: 'personality' });
  step('SYSCTL', (b) => b.sysctl('/proc/sys/net/ipv4/ip_forward', '1', true), ['/proc/sys/net/ipv4/ip_forward', '1', 1], {
    step: 'sysctl',
    syscall: 'open',
    path: '/proc/sys/net/ipv4/ip_forward',
  });
  step('PARENT', (b) => b.parent(), [], { step: 'rlimits', syscall: 'prlimit64' });
  step('INIT', (b) => b.init(), [], { step: 'init', syscall: 'clone' });
  step('INIT', (b) => b.init(true), [1], { step: 'init', syscall: 'clone' });
  step('INIT', (b) => b.init(false, true), [0, 1], { step: 'init', syscall: 'clone' });
  step('GATE', (b) => b.gate('/run/c1.gate'), ['/run/c1.gate'], { step: 'start-gate', syscall: 'accept4', path: '/run/c1.gate' });
  step(
    'HOOK',
    (b) =>
      b.hook(
        'createContainer',
        2,
        { path: '/bin/hook', argv: ['hook', '-x'], env: ['A=1'], timeout: 1500, before: '{"pid":', after: '}', pid: true },
        K.HOOK_HOST!,
      ),
    [2, K.HOOK_HOST!, 1500, 1, '{"pid":', '}', '/bin/hook', 2, 'hook', '-x', 1, 'A=1'],
    { step: 'hooks.createContainer[2]', syscall: 'execve', path: '/bin/hook', hook: { timeout: 1500 } },
  );
  step(
    'LANDLOCK',
    (b) =>
      b.landlock({
        abi: 6,
        handledFs: 2 ** 33 + 3,
        handledNet: 3,
        scoped: 1,
        flags: 0,
        fs: [{ path: '/usr', optional: true, access: 2 ** 32 + 5 }],
        net: [{ port: 443, access: 2 }],
      }),
    [3, 2, 3, 0, 1, 0, 0, 1, 1, '/usr', 1, 5, 1, 443, 2, 0],
    { step: 'landlock', syscall: 'landlock_restrict_self', paths: ['/usr', undefined] },
  );

  test.skipIf(!LE)('SECCOMP: flags, n, then (code | jt << 16 | jf << 24, k) per instruction [host order; skipped on big-endian]', () => {
    covered.add('SECCOMP');
    const prog = Buffer.alloc(16);
    prog.writeUInt16LE(0x20, 0); // BPF_LD|BPF_W|BPF_ABS
    prog.writeUInt8(0, 2);
    prog.writeUInt8(0, 3);
    prog.writeUInt32LE(4, 4); // offsetof(struct seccomp_data, arch)
    prog.writeUInt16LE(0x15, 8); // BPF_JMP|BPF_JEQ|BPF_K
    prog.writeUInt8(1, 10);
    prog.writeUInt8(2, 11);
    prog.writeUInt32LE(0xc000003e, 12); // AUDIT_ARCH_X86_64: a k with bit 31 set
    expectStep((b) => b.seccomp(8, prog), 'SECCOMP', [8, 2, 0x20, 4, 0x15 | (1 << 16) | (2 << 24), 0xc000003e | 0], {
      step: 'seccomp',
      syscall: 'seccomp',
    });
  });

  test('steps keep their order, and each keeps its own report', () => {
    const p = new PlanBuilder().unshare(K.CLONE_NEWNS!).sethostname('a').exec('x', true, ['x'], []).build();
    expect(parse(p).steps.map((s) => s.op)).toEqual([OPS.UNSHARE, OPS.SETHOSTNAME, OPS.EXEC]);
    expect(p.steps.map((s) => s.step)).toEqual(['unshare', 'hostname', 'exec']);
  });

  test('every opcode plan.h documents has a builder tested above', () => {
    // Registered while the tests were collected, so complete here (SECCOMP aside: it is
    // added when its test runs, which may be skipped on big-endian).
    expect([...covered, 'SECCOMP'].filter((v, i, a) => a.indexOf(v) === i).sort()).toEqual(Object.keys(OPS).sort());
  });
});
