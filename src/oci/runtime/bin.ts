#!/usr/bin/env node
/**
 * The bin npm links as `nsbox-oci`: scripts/bundle-oci.mjs links this file into
 * `dist/oci-runtime/nsbox-oci.cjs`, the command line (cli.ts, args.ts) into `cli.cjs`, and
 * each command module with what it imports into `MODULE.cjs`. This file is only the loader:
 * it runs the command line and the one command asked for from their linked files, through
 * V8's code cache (linked.ts), so a call compiles almost nothing and `state` parses only a
 * few small modules.
 * @internal
 * @module
 */
import { fileURLToPath } from 'node:url';
import type { run as Run } from './cli.js';
import type { CommandMain } from './context.js';
import { loadLinked } from './linked.js';

const linked = (name: string): string => fileURLToPath(new URL(`../../oci-runtime/${name}.cjs`, import.meta.url));
const { run } = loadLinked(linked('cli')) as { run: typeof Run };
run(async (module) => loadLinked(linked(module)) as { main: CommandMain });
