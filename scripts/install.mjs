// `npm install` hook: use a prebuild from prebuilds/ when one matches this platform (as
// node-gyp-build does), else build the addon from csrc/ with node-gyp.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeGyp } from './node-gyp.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
try {
  require('node-gyp-build')(root);
} catch {
  nodeGyp(root, ['rebuild']);
}
