// `npm run prebuild [-- --arch arm64]`: builds the addon with prebuildify (N-API, stripped,
// tagged glibc) into prebuilds/linux-<arch>/, where node-gyp-build finds it before trying a
// source build. The build runs in a scratch copy of binding.gyp and csrc/, so the checkout's
// own build/ (what the tests load) is never replaced by a stripped or foreign-arch addon.
// `--arch arm64` on an x64 host cross-compiles with Debian's g++-aarch64-linux-gnu.
// Like scripts/node-gyp.mjs, it uses this Node's installed headers when they exist, so no
// download from nodejs.org is needed.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { arch as hostArch, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const archAt = argv.indexOf('--arch');
const arch = archAt >= 0 ? argv[archAt + 1] : hostArch();
if (arch !== hostArch() && !(arch === 'arm64' && hostArch() === 'x64')) {
  console.error(`prebuild: cannot build for ${arch} on ${hostArch()} (only x64 -> arm64 cross builds are set up)`);
  process.exit(2);
}

const env = { ...process.env, PREBUILD_NODE_GYP: join(root, 'node_modules/.bin/node-gyp') };
const prefix = dirname(dirname(process.execPath));
if (!env.npm_config_nodedir && existsSync(join(prefix, 'include/node/common.gypi'))) env.npm_config_nodedir = prefix;
const args = ['--napi', '--strip', '--tag-libc', '--arch', arch];
const triple = arch === hostArch() ? '' : 'aarch64-linux-gnu';
if (triple) {
  Object.assign(env, {
    CC: `${triple}-gcc`,
    CXX: `${triple}-g++`,
    LINK: `${triple}-g++`,
    AR: `${triple}-ar`,
    CC_host: 'gcc',
    CXX_host: 'g++',
  });
  args.push('--strip-bin', `${triple}-strip`);
}

const work = mkdtempSync(join(tmpdir(), 'nsbox-prebuild-'));
try {
  for (const f of ['binding.gyp', 'csrc', 'package.json']) cpSync(join(root, f), join(work, f), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(work, 'node_modules'));
  args.push('--cwd', work, '--out', root);
  execFileSync(process.execPath, [join(root, 'node_modules/prebuildify/bin.js'), ...args], { env, stdio: 'inherit' });
  checkChildObjects(join(work, 'build/Release/obj.target/nsbox_child/csrc'));
} finally {
  rmSync(work, { recursive: true, force: true });
}

// As test/unit/native-child.test.ts does for the local build: the objects of the code that runs
// between clone3 and exec reference only each other (a cross compiler may add calls of its
// own, e.g. memcpy for a struct copy, or arm64's outline atomics).
function checkChildObjects(dir) {
  const nm = (file, flag) =>
    execFileSync(triple ? `${triple}-nm` : 'nm', [flag, file], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim().split(/\s+/).pop())
      .filter(Boolean);
  const objects = readdirSync(dir)
    .filter((f) => f.endsWith('.o'))
    .map((f) => join(dir, f));
  const defined = new Set(objects.flatMap((o) => nm(o, '--defined-only')));
  const foreign = objects.flatMap((o) => nm(o, '-u').filter((s) => !defined.has(s)));
  if (objects.length < 4 || foreign.length) {
    throw new Error(`prebuild: the child's objects (${objects.length}) reference symbols outside themselves: ${foreign.join(' ')}`);
  }
  console.log(`prebuild: ${arch}: the child's ${objects.length} objects reference nothing outside themselves`);
}
