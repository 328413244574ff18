// Runs node-gyp with this Node's own headers when they are installed beside it (Debian's
// nodejs, NodeSource and most distributions put them in <prefix>/include/node), so a build
// needs no download: machines without access to nodejs.org build too. An explicit
// npm_config_nodedir (or --nodedir) still wins.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** Runs `node-gyp <args…>` in `cwd`, inheriting stdio; throws if it fails. */
export function nodeGyp(cwd, args) {
  const prefix = dirname(dirname(process.execPath));
  const local = existsSync(join(prefix, 'include/node/common.gypi'));
  const extra = local && !process.env.npm_config_nodedir && !args.some((a) => a.startsWith('--nodedir')) ? [`--nodedir=${prefix}`] : [];
  // Our devDependency in a checkout; npm's own node-gyp (npm_config_node_gyp) when nsbox is
  // installed as a dependency.
  let bin = process.env.npm_config_node_gyp;
  try {
    bin = require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    if (!bin) throw new Error('nsbox: node-gyp not found; install it (npm i -g node-gyp) to build the addon');
  }
  execFileSync(process.execPath, [bin, ...args, ...extra], { cwd, stdio: 'inherit' });
}

if (import.meta.url === `file://${process.argv[1]}`) nodeGyp(process.cwd(), process.argv.slice(2));
