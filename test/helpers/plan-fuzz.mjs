// Runs in its own Node process (test/unit/plan-fuzz.test.ts), so a crash shows as a signal.
//   node plan-fuzz.mjs fuzz SEED ITERATIONS   random and mutated plans through native.spawn
//   node plan-fuzz.mjs targeted                plans with one word out of bounds
//   node plan-fuzz.mjs dead-answer DIR         the answer to MSG_MAPS cannot be sent
// Prints one JSON line: counts, and every violation (an untyped error, a bad result shape).
//
// A plan the parser accepts really runs, so what is fed is chosen by an oracle: a plan whose
// framing or some step is certainly invalid (it must be refused), or one whose steps can only
// touch the child itself (no mount, hostname or sysctl step, and every string in the buffer
// harmless: the exec target is /bin/true or `true`). Anything else is skipped.
import { closeSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { K, native } from '../../dist/native.js';
import { PlanBuilder } from '../../dist/namespaces/plan.js';

const OP = K.OP;
const NS =
  K.CLONE_NEWNS | K.CLONE_NEWUTS | K.CLONE_NEWIPC | K.CLONE_NEWUSER | K.CLONE_NEWPID | K.CLONE_NEWNET | K.CLONE_NEWCGROUP | K.CLONE_NEWTIME;
// Steps that act on the child alone, whatever their arguments (once the parser accepts them).
const SAFE = new Set(
  [
    'SETNS',
    'UNSHARE',
    'USERNS_SYNC',
    'FORK',
    'SETSID',
    'SETPGID',
    'SETGROUPS',
    'SETGID',
    'SETUID',
    'CHDIR',
    'FDS',
    'PDEATHSIG',
    'EXEC',
    'DUMPABLE',
    'KEYRING',
    'NO_TIOCSTI',
    'NO_NEW_PRIVS',
    'CAP_BOUND',
    'CAPSET',
    'UMASK',
    'PERSONALITY',
    'SECCOMP',
    'LANDLOCK',
    'PARENT',
  ].map((n) => OP[n]),
);
// Steps that could reach the host: fed only with an argument count or a string they cannot take.
const UNSAFE_NARGS = new Map(
  [
    ['SETHOSTNAME', [1]],
    ['SETDOMAINNAME', [1]],
    ['FS_BASE', [1]],
    ['MOUNT', [6]],
    ['MKNOD', [4]],
    ['SYMLINK', [2]],
    ['WRITE_FILE', [3]],
    ['SETATTR', [4]],
    ['PIVOT', [1]],
    ['MKDIR', [2, 4]],
    ['PROPAGATION', [1]],
    ['LOCK', [2]],
    ['SYSCTL', [3]],
  ].map(([n, v]) => [OP[n], v]),
);
// Argument positions that are string offsets, for the unsafe steps (MOUNT's 0, 2, 4 may be -1).
const STRING_ARGS = new Map(
  [
    ['SETHOSTNAME', [0]],
    ['SETDOMAINNAME', [0]],
    ['FS_BASE', [0]],
    ['MOUNT', [1]],
    ['MKNOD', [0]],
    ['SYMLINK', [0, 1]],
    ['WRITE_FILE', [0, 1]],
    ['SETATTR', [0]],
    ['MKDIR', [0]],
    ['LOCK', [0, 1]],
    ['SYSCTL', [0, 1]],
  ].map(([n, v]) => [OP[n], v]),
);
const KNOWN = new Set(Object.values(OP));

let seed = 1;
function rnd(n) {
  // xorshift32: the same seed gives the same plans.
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}
const pick = (a) => a[rnd(a.length)];
const INTERESTING = [
  0,
  1,
  -1,
  -2,
  2,
  3,
  7,
  8,
  63,
  64,
  65,
  255,
  256,
  257,
  4095,
  4096,
  4097,
  0xfff,
  0x1000,
  0xfffff,
  0x100000,
  65535,
  65536,
  0x7fffffff,
  -0x80000000,
  0x100,
  0x200,
  0x400,
  0x800,
  0x8000,
  0x10000,
  0x80000,
  1 << 20,
  (1 << 20) - 1,
  0o7777,
  0o20666,
];
// Clone flags a plan may never set (sched.h): CLONE_VM, FS, FILES, SIGHAND, PIDFD, PTRACE,
// VFORK, PARENT, THREAD, SYSVSEM, SETTLS, PARENT_SETTID, CHILD_CLEARTID, DETACHED, UNTRACED,
// CHILD_SETTID, IO; in the high word CLEAR_SIGHAND and INTO_CGROUP.
const BAD_CLONE = [
  0x100,
  0x200,
  0x400,
  0x800,
  0x1000,
  0x2000,
  0x4000,
  0x8000,
  0x10000,
  0x40000,
  0x80000,
  0x100000,
  0x200000,
  0x400000,
  0x800000,
  0x1000000,
  0x80000000 | 0,
];
const BAD_CLONE_HI = [1, 2, 4];

// Framing as plan.h defines it, and the certainly-invalid steps.
function judge(ops, strings) {
  if (ops.length < 5 || ops[0] !== K.PLAN_VERSION) return 'reject';
  if ((ops[1] >>> 0) & ~NS || ops[2] !== 0) return 'reject';
  const n = ops[4];
  if (n < 0 || n > 4096) return 'reject';
  let i = 5;
  let allSafe = true;
  let bad = false;
  for (let k = 0; k < n; k++) {
    if (i + 2 > ops.length) return 'reject';
    const op = ops[i],
      nargs = ops[i + 1];
    if (nargs < 0 || i + 2 + nargs > ops.length) return 'reject';
    const a = ops.subarray(i + 2, i + 2 + nargs);
    if (!KNOWN.has(op)) bad = true;
    else if (UNSAFE_NARGS.has(op)) {
      allSafe = false;
      if (!UNSAFE_NARGS.get(op).includes(nargs)) bad = true;
      else for (const j of STRING_ARGS.get(op) ?? []) if (!validString(strings, a[j])) bad = true;
    } else if (!SAFE.has(op)) allSafe = false;
    i += 2 + nargs;
  }
  if (i !== ops.length) return 'reject';
  if (bad) return 'reject';
  return allSafe ? 'may-run' : 'skip';
}
function validString(strings, off) {
  return off >= 0 && off < strings.length && strings.indexOf(0, off) >= 0;
}

const devNull = openSync('/dev/null', 'r+');
function bases() {
  const out = [];
  const p1 = new PlanBuilder();
  p1.fds([
    [0, devNull],
    [1, devNull],
    [2, devNull],
  ]).exec('/bin/true', false, ['true'], ['A=1']);
  out.push(p1.build());
  const p2 = new PlanBuilder();
  p2.setsid().setpgid(0).umask(0o22).personality(0).noNewPrivs().capBound(0n, 40).setgroups([0, 1]).setgid(0).setuid(0);
  p2.capset(0n, 0n, 0n, 0n, 40)
    .fds([
      [0, devNull],
      [1, devNull],
      [2, devNull],
    ])
    .chdir('/')
    .pdeathsig(9);
  // seccomp: one instruction, RET ALLOW.
  p2.seccomp(0, new Uint8Array([6, 0, 0, 0, 0, 0, 0xff, 0x7f])).exec('true', true, ['true', 'x'], ['PATH=/usr/bin:/bin']);
  out.push(p2.build());
  const p3 = new PlanBuilder();
  p3.keyring().noTiocsti().dumpable(true).unshare(K.CLONE_NEWUTS).fork(0).parent();
  p3.landlock({ handledFs: 1, handledNet: 0, scoped: 0, flags: 0, fs: [{ path: '/', optional: true, access: 1 }], net: [] });
  p3.fds([[0, devNull]]).exec('/bin/true', false, ['true'], []);
  out.push(p3.build());
  // Steps that reach the host: only their refused variants are fed.
  const p4 = new PlanBuilder();
  p4.sethostname('x').fsBase('/tmp/x').mount('tmpfs', '/newroot', 'tmpfs', 0, 'mode=0755', 0, 'rootfs');
  p4.mknod('/dev/null', 0o20666, 1, 3).symlink('/proc/self/fd', '/dev/fd', 'dev').writeFile('/x', 'y', 0o644, 'etc');
  p4.setattr('/', 1, 0, 1, 'ro').mkdir('/a', 1, 'm', 0).propagation(K.MS_PRIVATE).pivot(true).lock('0 0 1', '0 0 1');
  p4.sysctl('/proc/sys/kernel/x', '1', false).exec('/bin/true', false, ['true'], []);
  out.push(p4.build());
  return out;
}

function mutate(base) {
  let ops = Int32Array.from(base.ops);
  let strings = Buffer.from(base.strings);
  const times = 1 + rnd(3);
  for (let t = 0; t < times; t++) {
    const w = rnd(ops.length);
    switch (rnd(11)) {
      case 0:
        ops[w] ^= 1 << rnd(32);
        break;
      case 1:
        ops[w] = pick(INTERESTING);
        break;
      case 2:
        ops = ops.slice(0, rnd(ops.length + 1));
        break;
      case 3:
        ops = Int32Array.from([...ops, ...Array.from({ length: 1 + rnd(4) }, () => pick(INTERESTING))]);
        break;
      case 4:
        if (ops.length > 4) ops[4] += pick([-1, 1, 2, 4096, -4097]);
        break;
      case 5:
        ops[1] = pick(BAD_CLONE);
        break;
      case 6:
        ops[2] = pick(BAD_CLONE_HI);
        break;
      case 7:
        ops[w] = strings.length + rnd(8);
        break; // a string offset at or past the end
      case 8:
        strings = strings.subarray(0, rnd(strings.length + 1));
        break;
      case 9:
        strings = Buffer.from(strings.toString('latin1').replace(/\0/g, 'A'), 'latin1');
        break;
      default:
        ops[w] = rnd(0x100000000) | 0;
        break;
    }
  }
  return { ops, strings };
}

function randomPlan() {
  const len = 5 + rnd(24);
  const ops = new Int32Array(len);
  for (let i = 0; i < len; i++) ops[i] = rnd(4) === 0 ? rnd(0x100000000) | 0 : pick(INTERESTING);
  ops[0] = K.PLAN_VERSION;
  ops[4] = rnd(4);
  if (len > 5) ops[5] = 1 + rnd(40);
  return { ops, strings: Buffer.from('/bin/true\0true\0A=1\0') };
}

function typedCode(e) {
  return e instanceof TypeError && (e.code === 'ERR_INVALID_ARG_VALUE' || e.code === 'ERR_INVALID_ARG_TYPE');
}

// A SysError-shaped failure, or a started child (reaped here at once).
function checkResult(r, violations, label) {
  if (r === null || typeof r !== 'object') return violations.push(`${label}: result ${r}`);
  if (r.ok === true) {
    if (!Number.isInteger(r.pidfd) || r.pidfd < 0 || !(r.pid > 0)) violations.push(`${label}: bad ok result ${JSON.stringify(r)}`);
    else native.killReap(r.pidfd);
    if (r.listener !== undefined) closeSync(r.listener);
    return;
  }
  if (r.ok !== false || !Number.isInteger(r.step) || !Number.isInteger(r.errno) || r.errno <= 0 || typeof r.pid !== 'number')
    violations.push(`${label}: bad failure result ${JSON.stringify(r)}`);
}

function children() {
  let out = '';
  for (const t of readdirSync('/proc/self/task')) out += readFileSync(`/proc/self/task/${t}/children`, 'utf8');
  return out.trim();
}

function fuzz(iterations) {
  const start = { fds: readdirSync('/proc/self/fd').length };
  const counts = { fed: 0, rejected: 0, ran: 0, failed: 0, skipped: 0 };
  const violations = [];
  const all = bases();
  for (let it = 0; it < iterations && violations.length < 20; it++) {
    const plan = rnd(5) === 0 ? randomPlan() : mutate(pick(all));
    const verdict = judge(plan.ops, plan.strings);
    if (verdict === 'skip') {
      counts.skipped++;
      continue;
    }
    counts.fed++;
    const label = `#${it} ${verdict} [${Array.from(plan.ops).join(',')}]`;
    const maps = rnd(8) === 0 ? { mode: 'direct', uidMap: '', gidMap: '', denySetgroups: false } : null;
    let r;
    try {
      r = native.spawn(plan.ops, plan.strings, maps, rnd(8) === 0 ? { oomScoreAdj: 0 } : undefined);
    } catch (e) {
      if (typedCode(e)) counts.rejected++;
      else violations.push(`${label}: threw ${e?.code} ${e?.message}`);
      continue;
    }
    if (verdict === 'reject') violations.push(`${label}: accepted a plan that must be refused`);
    if (r?.ok) counts.ran++;
    else counts.failed++;
    checkResult(r, violations, label);
  }
  const left = children();
  if (left) violations.push(`children left: ${left}`);
  const fds = readdirSync('/proc/self/fd').length;
  if (fds !== start.fds) violations.push(`fds: ${start.fds} before, ${fds} after`);
  return { counts, violations };
}

// The parent's answer to MSG_MAPS cannot be sent: the id-map helper (RunHelper) kills the
// child first, so sendmsg(2) fails with EPIPE. spawn must report that, the child reaped,
// never a started child that is already dead.
function deadAnswer(dir) {
  const script = `${dir}/kill-helper.sh`;
  writeFileSync(script, '#!/bin/sh\nkill -9 "$1"\nexit 0\n', { mode: 0o755 });
  const p = new PlanBuilder();
  p.usernsSync().fds([]).exec('/bin/true', false, ['true'], []);
  const plan = p.build();
  const maps = { mode: 'helper', uidMap: '', gidMap: '', denySetgroups: false, uidHelper: [script], gidHelper: [script] };
  const r = native.spawn(plan.ops, plan.strings, maps);
  if (r.ok) native.killReap(r.pidfd);
  return { result: r, children: children() };
}

// Plans the parser must refuse, each a real plan with one word out of bounds. Every one
// starts with a chdir that fails, so a parser that let it through runs nothing after it.
// A hook for the targeted cases: one of its words is made wrong (the parser refuses the plan).
const HOOK = { path: '/bin/true', argv: ['true'], env: [], timeout: 0, before: '', after: '', pid: false };

function targeted() {
  const M = K.PLAN_MOUNT;
  const build = (f, edit) => {
    const p = new PlanBuilder();
    p.chdir('/nonexistent-nsbox-plan-fuzz');
    f(p);
    p.exec('/bin/true', false, ['true'], []);
    const plan = p.build();
    if (edit) edit(plan.ops);
    return plan;
  };
  const cases = {
    'clone CLONE_FILES': build(
      () => {},
      (o) => (o[1] |= 0x400),
    ),
    'clone CLONE_FS': build(
      () => {},
      (o) => (o[1] |= 0x200),
    ),
    'clone CLONE_SETTLS': build(
      () => {},
      (o) => (o[1] |= 0x80000),
    ),
    'clone CLONE_PARENT': build(
      () => {},
      (o) => (o[1] |= 0x8000),
    ),
    'clone CLONE_SYSVSEM': build(
      () => {},
      (o) => (o[1] |= 0x40000),
    ),
    'clone high word': build(
      () => {},
      (o) => (o[2] = 2),
    ),
    'cgroup fd -2': build(
      () => {},
      (o) => (o[3] = -2),
    ),
    'cgroup fd 1<<30': build(
      () => {},
      (o) => (o[3] = 1 << 30),
    ),
    'unshare CLONE_FILES': build((p) => p.unshare(0x400)),
    'fork CLONE_VM': build((p) => p.fork(0x100)),
    'setns two types': build((p) => p.setns(0, K.CLONE_NEWNS | K.CLONE_NEWUTS, 'x')),
    'setns CLONE_FILES': build((p) => p.setns(0, 0x400, 'x')),
    'setns fd 1<<30': build((p) => p.setns(1 << 30, K.CLONE_NEWNET, 'net')),
    'fds target 1<<30': build((p) => p.fds([[1 << 30, 0]])),
    'fds source 1<<30': build((p) => p.fds([[0, 1 << 30]])),
    'fds duplicate target': build((p) =>
      p.fds([
        [1, 0],
        [1, 2],
      ]),
    ),
    'pdeathsig 0': build((p) => p.pdeathsig(0)),
    'pdeathsig 65': build((p) => p.pdeathsig(65)),
    'setuid -1': build((p) => p.setuid(-1)),
    'setgid -1': build((p) => p.setgid(-1)),
    'setgroups -1': build((p) => p.setgroups([1, -1])),
    'setgroups 65537': build((p) => p.setgroups(new Array(65537).fill(1))),
    'setpgid -1': build((p) => p.setpgid(-1)),
    'personality query': build((p) => p.personality(-1)),
    // Bit 0 search PATH, bit 1 the exec stub: nothing above.
    'exec flags 4': build(
      () => {},
      (o) => (o[o.length - 4] = 4),
    ),
    'mount unknown mode bit': build((p) => p.mount('tmpfs', '/x', 'tmpfs', 0, null, 4096, 'm')),
    'mount tree 8': build((p) => p.mount(null, '/x', null, 8, null, M.MNT_FROM_TREE, 'm')),
    'mount tree -1': build((p) => p.mount(null, '/x', null, -1, null, M.MNT_FROM_TREE, 'm')),
    'mount fd -1': build((p) => p.mount(null, '/x', null, -1, null, M.MNT_FROM_FD, 'm')),
    'mount tree and fd': build((p) => p.mount(null, '/x', null, 0, null, M.MNT_FROM_TREE | M.MNT_FROM_FD, 'm')),
    'mount unknown MS flag': build((p) => p.mount('tmpfs', '/x', 'tmpfs', 1 << 30, null, 0, 'm')),
    'mount source -2': build(
      (p) => p.mount('tmpfs', '/x', 'tmpfs', 0, null, 0, 'm'),
      (o) => (o[o.indexOf(K.OP.MOUNT) + 2] = -2),
    ),
    'mknod major 4096': build((p) => p.mknod('/dev/x', 0o20666, 4096, 0)),
    'mknod minor 1<<20': build((p) => p.mknod('/dev/x', 0o20666, 1, 1 << 20)),
    'mknod mode 0o170000': build((p) => p.mknod('/dev/x', 0o170666, 1, 3)),
    'mknod mode bits': build((p) => p.mknod('/dev/x', 0o20666 | 0o100000000, 1, 3)),
    'write file mode 0o10000': build((p) => p.writeFile('/x', 'y', 0o10000, 'w')),
    'setattr MOUNT_ATTR_IDMAP': build((p) => p.setattr('/', 0x100000, 0, 0, 's')),
    'setattr mode MNT_MKDIR': build((p) => p.setattr('/', 1, 0, M.MNT_MKDIR, 's')),
    'propagation MS_REC': build((p) => p.propagation(K.MS_REC)),
    'propagation two': build((p) => p.propagation(K.MS_PRIVATE | K.MS_SHARED)),
    'mkdir owner -1': build((p) => p.mkdir('/x', 0, 'm', -1)),
    'mkdir mode bit': build((p) => p.mkdir('/x', M.MNT_MKDIR, 'm')),
    'hook where 3': build((p) => p.hook('k', 0, HOOK, 3)),
    'hook index -1': build((p) => p.hook('k', -1, HOOK, K.HOOK_HERE)),
    'hook timeout -1': build((p) => p.hook('k', 0, { ...HOOK, timeout: -1 }, K.HOOK_HERE)),
    'hook pid 2': build(
      (p) => p.hook('k', 0, HOOK, K.HOOK_HERE),
      (o) => (o[o.indexOf(K.OP.HOOK) + 5] = 2),
    ),
    'hook relative path': build((p) => p.hook('k', 0, { ...HOOK, path: 'true' }, K.HOOK_HERE)),
    'hook host without a container': build((p) => p.hook('k', 0, HOOK, K.HOOK_HOST)),
    'hook host after pivot_root': build((p) => p.fsBase('/nonexistent').pivot().hook('k', 0, HOOK, K.HOOK_HOST)),
    'hook caller after the gate': build((p) => p.gate('/nonexistent/g').hook('k', 0, HOOK, K.HOOK_CALLER)),
    'hook argc past the end': build(
      (p) => p.hook('k', 0, HOOK, K.HOOK_HERE),
      (o) => (o[o.indexOf(K.OP.HOOK) + 9] = 5),
    ),
  };
  const out = {};
  for (const [name, plan] of Object.entries(cases)) {
    try {
      const r = native.spawn(plan.ops, plan.strings, null);
      if (r.ok) native.killReap(r.pidfd);
      out[name] = `accepted: ${r.ok ? 'ran' : `failed at step ${r.step}`}`;
    } catch (e) {
      out[name] = e?.code ?? String(e);
    }
  }
  return { results: out, children: children() };
}

const [mode, seedArg, itArg] = process.argv.slice(2);
if (mode === 'fuzz') {
  seed = Number(seedArg) || 1;
  process.stdout.write(`${JSON.stringify(fuzz(Number(itArg) || 1000))}\n`);
} else if (mode === 'targeted') {
  process.stdout.write(`${JSON.stringify(targeted())}\n`);
} else if (mode === 'dead-answer') {
  process.stdout.write(`${JSON.stringify(deadAnswer(seedArg))}\n`);
} else {
  throw new Error(`unknown mode ${mode}`);
}
