// The child of spawn runs right after clone3(2) sharing Node's memory: its code must not
// call into libc (no strlen/memcpy a compiler put in, no lazy PLT resolution). The objects
// of the nsbox_child library may only reference each other, and the addon is BIND_NOW.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const objDir = join(root, 'build', 'Release', 'obj.target', 'nsbox_child', 'csrc');
const addon = join(root, 'build', 'Release', 'nsbox.node');
const built = existsSync(objDir) && existsSync(addon);
if (!built) console.log(`skip native-child: no local build in ${objDir} (a prebuilt addon is in use)`);

function symbols(file: string, flag: string): string[] {
  return execFileSync('nm', [flag, file], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/).pop()!)
    .filter(Boolean);
}

describe.skipIf(!built)('the spawn child is libc-free', () => {
  it('its objects reference nothing outside themselves', () => {
    const objects = readdirSync(objDir)
      .filter((f) => f.endsWith('.o'))
      .map((f) => join(objDir, f));
    expect(objects.length).toBeGreaterThanOrEqual(4);
    const defined = new Set(objects.flatMap((o) => symbols(o, '--defined-only')));
    const foreign = objects.flatMap((o) =>
      symbols(o, '-u')
        .filter((s) => !defined.has(s))
        .map((s) => `${o}: ${s}`),
    );
    expect(foreign).toEqual([]);
  });

  it('the addon is linked with BIND_NOW (no lazy resolver in the child)', () => {
    const dyn = execFileSync('readelf', ['-d', addon], { encoding: 'utf8' });
    expect(dyn).toMatch(/\(FLAGS\)\s+BIND_NOW|FLAGS_1\)\s+Flags:.*NOW/);
  });
});

// The init image (csrc/init_image.cc) is the section nsbox_init_text copied behind an ELF
// header into a memfd: its code may only reach itself. Every relocation in the section must
// be PC-relative and name a symbol defined in the section (a call or load out of it would land
// nowhere in the copy); no string or vector constant may come from .rodata.
describe.skipIf(!built)('the init image section is self-contained', () => {
  it('every relocation of nsbox_init_text is PC-relative to a symbol of that section', () => {
    const obj = join(objDir, 'init_image.o');
    const table = execFileSync('objdump', ['-t', obj], { encoding: 'utf8' });
    const inSection = new Set(
      table
        .split('\n')
        .filter((l) => /\snsbox_init_text\s/.test(l))
        .map((l) => l.trim().split(/\s+/).pop()!),
    );
    expect([...inSection]).toEqual(expect.arrayContaining(['nsbox_init_entry', 'nsbox_init_main', '_ZN5nsbox8InitLoopEl']));
    const relocs = execFileSync('objdump', ['-r', '-j', 'nsbox_init_text', obj], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => /^[0-9a-f]{8,16}\s+R_/.test(l))
      .map((l) => {
        const [, type, value] = l.trim().split(/\s+/);
        return { type: type!, symbol: value!.replace(/[+-]0x[0-9a-f]+$/, '') };
      });
    const bad = relocs.filter((r) => !inSection.has(r.symbol) || !/PC32|PLT32|CALL26|JUMP26|PREL/.test(r.type));
    expect(bad).toEqual([]);
  });
});
