#!/usr/bin/env node
/**
 * The `nsbox` command: `nsbox run [options] -- COMMAND [ARGS...]` runs a program in new
 * and/or joined namespaces, like unshare(1) and bwrap(1), on nsbox's public API only.
 * See `nsbox --help` and README.md.
 *
 * This is tsc's unlinked program, ES modules loaded one by one. npm links the bin
 * `dist/nsbox-cli/nsbox.cjs` (src/cli/bin.ts, scripts/bundle.mjs), which runs the same
 * modules linked into one CommonJS file through V8's code cache, and starts much faster.
 * @module
 */
import { start } from './cli/main.js';

start();
