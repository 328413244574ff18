#!/usr/bin/env node
/**
 * The bin npm links as `nsbox`: scripts/bundle.mjs links this file into
 * `dist/nsbox-cli/nsbox.cjs`, the command line (main.ts, run.ts and what they import
 * statically) into `cli.cjs`, and the modules only some runs need (network.ts, the option
 * modules) into `rest.cjs`. This file is only the loader: it runs `cli.cjs` through V8's code
 * cache (src/oci/runtime/linked.ts, shared with nsbox-oci), which loads `rest.cjs` the same
 * way when a run first needs it; `nsbox run` compiles almost nothing, and a plain run never
 * reads the rest.
 * Node's own start-up is then most of what a short run costs (docs/performance.md, "`nsbox
 * run` start-up"). `NSBOX_CODE_CACHE=0` turns the cache off.
 * @internal
 * @module
 */
import { fileURLToPath } from 'node:url';
import { loadLinked } from '../oci/runtime/linked.js';
import type { ranCommand as RanCommand, start as Start } from './main.js';

// The code cache is written by the first runs that reach a command (main.ts ranCommand).
const cli = loadLinked(
  fileURLToPath(new URL('../nsbox-cli/cli.cjs', import.meta.url)),
  process.env.NSBOX_CODE_CACHE !== '0',
  undefined,
  () => cli.ranCommand(),
) as { start: typeof Start; ranCommand: typeof RanCommand };
cli.start();
