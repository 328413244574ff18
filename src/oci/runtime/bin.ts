#!/usr/bin/env node
/**
 * The bin npm links as `nsbox-oci`: scripts/bundle-oci.mjs links this file and what it imports
 * (the command line, not any command) into `dist/oci-runtime/nsbox-oci.cjs`, and each command
 * module with what it imports into `dist/oci-runtime/MODULE.cjs`. This file runs the command
 * line and loads the one command's file asked for, through V8's code cache (linked.ts): a
 * command parses only its own code, and `state` only a few small modules.
 * @internal
 * @module
 */
import { fileURLToPath } from 'node:url';
import { run } from './cli.js';
import type { CommandMain } from './context.js';
import { loadLinked } from './linked.js';

run(async (module) => loadLinked(fileURLToPath(new URL(`../../oci-runtime/${module}.cjs`, import.meta.url))) as { main: CommandMain });
