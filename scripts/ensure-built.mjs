// Builds what `npm test` needs when it is missing or older than its sources:
// the addon (node-gyp), dist/ (tsc) and the linked bins (scripts/bundle.mjs).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { nodeGyp } from './node-gyp.mjs';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const newest = (dir) => {
  let t = 0;
  for (const e of readdirSync(join(root, dir), { withFileTypes: true, recursive: true })) {
    if (e.isFile()) t = Math.max(t, statSync(join(e.parentPath ?? e.path, e.name)).mtimeMs);
  }
  return t;
};
const mtime = (f) => (existsSync(join(root, f)) ? statSync(join(root, f)).mtimeMs : 0);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

const addon = 'build/Release/nsbox.node';
if (mtime(addon) < Math.max(newest('csrc'), mtime('binding.gyp'))) {
  console.log('nsbox: building the native addon');
  nodeGyp(root, ['rebuild']);
}
if (mtime('dist/index.js') < newest('src')) {
  console.log('nsbox: compiling TypeScript');
  run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
}
// The linked bins of nsbox and nsbox-oci (package.json's bin), made from dist/ by scripts/bundle.mjs.
if (Math.min(mtime('dist/oci-runtime/nsbox-oci.cjs'), mtime('dist/nsbox-cli/nsbox.cjs')) < mtime('dist/index.js')) {
  console.log('nsbox: linking nsbox and nsbox-oci');
  run(process.execPath, [join(root, 'scripts/bundle.mjs')]);
}
