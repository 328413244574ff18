// The default seccomp profile is read only when something looks into it (src/security/seccomp/
// filter.ts): a spawn that compares against it or finds its filter in a store never reads or
// parses default.json, which `nsbox run` would otherwise pay at every start-up
// (docs/performance.md, "`nsbox run` start-up"). Each test gets a fresh copy of the module.
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import type { CompiledSeccomp, SeccompStore } from '../../src/security/seccomp/filter.js';
import type { SeccompProfile } from '../../src/security/seccomp/profile.js';

type Filter = typeof import('../../src/security/seccomp/filter.js');
const FILE = new URL('../../src/security/profiles/default.json', import.meta.url);
let m: Filter;
beforeEach(async () => {
  vi.resetModules();
  m = await import('../../src/security/seccomp/filter.js');
});

/** Whether the proxy's target is still empty: inspect's showProxy looks at it without a trap. */
const unread = (p: object) => inspect(p, { showProxy: true, depth: 0 }).startsWith('Proxy [ {},');

const deepFrozen = (v: unknown): boolean =>
  typeof v !== 'object' || v === null || (Object.isFrozen(v) && Object.values(v).every(deepFrozen));

const stub: CompiledSeccomp = Object.freeze({
  program: new Uint8Array(8),
  instructions: 1,
  flags: 0,
  notify: false,
  notifySyscalls: [],
  unknown: [],
});

describe('defaultSeccompProfile, read on first look', () => {
  test('an identity check and a store hit read nothing; the store key names the file, not its text', () => {
    const keys: string[] = [];
    const store: SeccompStore = {
      get: (k) => {
        keys.push(k);
        return stub;
      },
      set: () => {},
    };
    const p = m.defaultSeccompProfile;
    expect(p === m.defaultSeccompProfile).toBe(true);
    m.setSeccompStore(store);
    try {
      expect(m.compileSeccomp(p, { arch: 'x64', capabilities: ['CAP_CHOWN'] })).toBe(stub);
    } finally {
      m.setSeccompStore(undefined);
    }
    expect(unread(p)).toBe(true);
    expect(keys).toHaveLength(1);
    const size = readFileSync(FILE).length;
    expect(keys[0]).toMatch(new RegExp(`^x64\\|\\["CAP_CHOWN"\\]\\|[^|]+\\|nsbox default profile ${size} `));
    expect(keys[0]).not.toContain('syscalls');
  });

  test('the first look reads it: the file as parsed, deep-frozen, one object for every look', () => {
    const p = m.defaultSeccompProfile;
    const file = JSON.parse(readFileSync(FILE, 'utf8')) as SeccompProfile;
    expect(p.defaultAction).toBe(file.defaultAction);
    expect(unread(p)).toBe(false);
    expect(JSON.parse(JSON.stringify(p))).toEqual(file);
    expect(Object.keys(p)).toEqual(Object.keys(file));
    expect({ ...p }).toEqual(file);
    expect(deepFrozen(p)).toBe(true);
    expect(p.syscalls).toBe(m.defaultSeccompProfile.syscalls);
    expect(() => {
      (p as { defaultAction: string }).defaultAction = 'SCMP_ACT_ALLOW';
    }).toThrow(TypeError);
    expect(p.defaultAction).toBe(file.defaultAction);
  });

  test('compiled without a store, it gives the filter its text gives', () => {
    const file = JSON.parse(readFileSync(FILE, 'utf8')) as SeccompProfile;
    const a = m.compileSeccomp(m.defaultSeccompProfile, { arch: 'x64' });
    const b = m.compileSeccomp(file, { arch: 'x64' });
    expect(Buffer.from(a.program).equals(Buffer.from(b.program))).toBe(true);
    expect(a.flags).toBe(b.flags);
    expect(a.unknown).toEqual(b.unknown);
  });

  test('another profile with the same text has a key of its own (its JSON), as before', () => {
    const keys: string[] = [];
    m.setSeccompStore({
      get: (k) => {
        keys.push(k);
        return undefined;
      },
      set: () => {},
    });
    try {
      m.compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW' }, { arch: 'x64', capabilities: [] });
    } finally {
      m.setSeccompStore(undefined);
    }
    expect(keys[0]).toMatch(/\|\{"defaultAction":"SCMP_ACT_ALLOW"\}$/);
  });
});
