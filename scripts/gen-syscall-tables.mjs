#!/usr/bin/env node
// Generates src/security/seccomp/tables/*.ts, the syscall name → number tables of the
// seccomp compiler, from the kernel's own syscall tables:
//
//   x86_64, x32  arch/x86/entry/syscalls/syscall_64.tbl   (abi common|64, common|x32)
//   x86 (i386)   arch/x86/entry/syscalls/syscall_32.tbl   (abi i386)
//   aarch64      scripts/syscall.tbl (6.11+, the generic table) with the abis that
//                arch/arm64/kernel/Makefile.syscalls enables: common,64,renameat,rlimit,memfd_secret
//   arm (EABI)   arch/arm/tools/syscall.tbl                (abi common|eabi; oabi left out)
//
// Usage:
//   node scripts/gen-syscall-tables.mjs /path/to/linux-source-6.12
//
// Where the trees come from (Debian 12): `linux-source-6.12` from bookworm-backports (a
// tarball under /usr/src); extract only the files above, e.g.
//   tar -xJf /usr/src/linux-source-6.12.tar.xz --wildcards \
//     'linux-source-6.12/arch/x86/entry/syscalls/*.tbl' 'linux-source-6.12/scripts/syscall.tbl' \
//     'linux-source-6.12/arch/arm/tools/syscall.tbl' 'linux-source-6.12/arch/arm64/kernel/Makefile.syscalls' \
//     'linux-source-6.12/Makefile'
// bookworm proper only has linux-source-6.1, whose arm64 numbers live in a header instead of
// scripts/syscall.tbl: use the backport. The kernel version is read from the tree's Makefile
// and written into the generated files' header.
//
// Syscalls newer than that tree come from NEWER below, a short hand-checked list: each
// number was read from the uapi headers of Debian's linux-libc-dev 7.3.4-1~bpo13+1
// (usr/lib/linux/uapi/{x86,arm64,arm}/asm/unistd_*.h, where they carry the same unified number
// on every architecture and __X32_SYSCALL_BIT on x32), and the ones up to 6.18 were seen to
// exist on a 6.18 kernel (syscall(nr) not ENOSYS).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const X32_SYSCALL_BIT = 0x40000000;
const ARM_NR_BASE = 0x0f0000;

/** Syscalls newer than linux 6.12, [name, unified number, first kernel release]. */
const NEWER = [
  ['setxattrat', 463, '6.13'],
  ['getxattrat', 464, '6.13'],
  ['listxattrat', 465, '6.13'],
  ['removexattrat', 466, '6.13'],
  ['open_tree_attr', 467, '6.15'],
  ['file_getattr', 468, '6.17'],
  ['file_setattr', 469, '6.17'],
  // Absent on 6.18 (ENOSYS there), present in linux-libc-dev 7.3.4's headers.
  ['listns', 470, '6.19'],
  ['rseq_slice_yield', 471, '7.x'],
  ['fchroot', 472, '7.x'],
];

/** x86_64-only syscalls newer than linux 6.12 (x32 too, with its bit), same format. */
const NEWER_X86_64 = [
  // arch/x86/entry/syscalls/syscall_64.tbl `336 common uprobe`; ENXIO (not ENOSYS) outside a uprobe on 6.18.
  ['uprobe', 336, '6.16'],
];

/** ARM private syscalls (arch/arm/include/uapi/asm/unistd.h, __ARM_NR_BASE + n): not in syscall.tbl. */
const ARM_PRIVATE = [
  ['breakpoint', 1],
  ['cacheflush', 2],
  ['usr26', 3],
  ['usr32', 4],
  ['set_tls', 5],
  ['get_tls', 6],
];

const src = process.argv[2];
if (!src) {
  console.error('usage: node scripts/gen-syscall-tables.mjs /path/to/linux-source-6.x');
  process.exit(2);
}

function kernelVersion(tree) {
  const mk = readFileSync(join(tree, 'Makefile'), 'utf8');
  const get = (k) => /^(\S+)\s*=\s*(\S*)/m.exec(mk.split('\n').find((l) => l.startsWith(`${k} `)) ?? '')?.[2] ?? '';
  return `${get('VERSION')}.${get('PATCHLEVEL')}.${get('SUBLEVEL')}${get('EXTRAVERSION')}`;
}

/** Rows `nr abi name [entry...]` of a .tbl file whose abi is in `abis`. */
function readTable(file, abis) {
  const out = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const t = line.replace(/#.*/, '').trim();
    if (!t) continue;
    const [nr, abi, name] = t.split(/\s+/);
    if (!abis.includes(abi)) continue;
    const n = Number(nr);
    if (!Number.isInteger(n) || !name) throw new Error(`${file}: bad line ${line}`);
    if (out.has(name) && out.get(name) !== n) throw new Error(`${file}: ${name} twice`);
    out.set(name, n);
  }
  return out;
}

function arm64Abis(tree) {
  const mk = readFileSync(join(tree, 'arch/arm64/kernel/Makefile.syscalls'), 'utf8');
  const extra = /^syscall_abis_64\s*\+=\s*(.*)$/m.exec(mk)?.[1].trim().split(/\s+/) ?? [];
  return ['common', '64', ...extra];
}

const version = kernelVersion(src);
const tbl64 = join(src, 'arch/x86/entry/syscalls/syscall_64.tbl');
const tables = {
  x86_64: readTable(tbl64, ['common', '64']),
  x32: new Map([...readTable(tbl64, ['common', 'x32'])].map(([k, v]) => [k, v + X32_SYSCALL_BIT])),
  x86: readTable(join(src, 'arch/x86/entry/syscalls/syscall_32.tbl'), ['i386']),
  aarch64: readTable(join(src, 'scripts/syscall.tbl'), arm64Abis(src)),
  arm: readTable(join(src, 'arch/arm/tools/syscall.tbl'), ['common', 'eabi']),
};
for (const [name, n] of ARM_PRIVATE) tables.arm.set(name, ARM_NR_BASE + n);
for (const [arch, table] of Object.entries(tables)) {
  const base = arch === 'x32' ? X32_SYSCALL_BIT : 0;
  for (const [name, n] of [...NEWER, ...(arch === 'x86_64' || arch === 'x32' ? NEWER_X86_64 : [])]) {
    if (table.has(name) && table.get(name) !== base + n) throw new Error(`${arch}: ${name} is ${table.get(name)} in the tree, not ${n}`);
    table.set(name, base + n);
  }
}

const AUDIT = { x86_64: 0xc000003e, x32: 0xc000003e, x86: 0x40000003, aarch64: 0xc00000b7, arm: 0x40000028 };
const out = join(dirname(fileURLToPath(import.meta.url)), '../src/security/seccomp/tables');
mkdirSync(out, { recursive: true });
for (const [arch, table] of Object.entries(tables)) {
  const rows = [...table].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
  // A JSON text, by number: JSON.parse is the fastest way for V8 to build the table cold.
  const body = JSON.stringify(Object.fromEntries(rows));
  const newer = [...NEWER, ...(arch === 'x86_64' || arch === 'x32' ? NEWER_X86_64 : [])]
    .map(([n, nr, k]) => `${n} ${nr} (${k})`)
    .join(', ');
  const text = `// GENERATED by scripts/gen-syscall-tables.mjs from linux ${version}; do not edit.
// Syscalls after ${version}, hand-checked in the script: ${newer}.
/** The kernel release whose tables generated this file. */
export const KERNEL = '${version}';
/** AUDIT_ARCH_* of ${arch} (seccomp_data.arch). */
export const AUDIT_ARCH = 0x${AUDIT[arch].toString(16)};
/** ${rows.length} syscalls of ${arch}: a JSON object of name → number, in number order. */
export const TABLE =
  '${body}';
`;
  writeFileSync(join(out, `${arch}.ts`), text);
  console.log(`${arch}: ${rows.length} syscalls, highest ${rows.at(-1)[0]} ${rows.at(-1)[1]}`);
}
